/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the two workloads of the DAMON selftests, access_memory and
 * mem_sweep, share: parsing their phases, flushing the TLB, and running
 * the phases.  Each program maps its buffers its own way and includes this
 * once; it defines print_usage_and_exit() and the sweep of one buffer.
 *
 * A phase is a <duration_ms> <idx>[,<idx>...] pair of arguments: for
 * <duration_ms> milliseconds the listed buffers are swept, one after the
 * other and over and over, writing one byte every 4 KiB.  An index list of
 * "none" makes an idle phase (the program sleeps), and a duration of 0 a
 * phase that lasts until the program is killed.  After each phase it
 * prints, and flushes:
 *
 *   phase <n> sweeps <nr> sweep_us min <us> avg <us> max <us>
 *
 * where a sweep is one pass over all of the phase's buffers.
 *
 * After each sweep the TLB is flushed.  DAMON clears the Accessed bit of a
 * sampled page table entry without flushing the TLB (as reclaim does on
 * x86): the bit is set again only when the CPU walks the page table anew,
 * which a context switch or the TLB's limited reach make happen soon on
 * real machines.  Under emulation (QEMU TCG) the TLB can hold every
 * translation of the buffers, and a process alone on its CPU is not
 * switched out, so the accesses could stay unseen for good.
 * Write-protecting a scratch area of more pages than the kernel flushes
 * one by one (33 on x86) makes it flush the whole TLB, as a context switch
 * would.
 */

#ifndef _DAMON_SELFTESTS_SWEEP_H
#define _DAMON_SELFTESTS_SWEEP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define STRIDE		4096UL
#define MAX_BUFFERS	64
/* Pages of the scratch area; more than a ranged TLB flush handles. */
#define SCRATCH_PAGES	64

struct phase {
	unsigned long duration_ms;
	int nr_idxs;
	int idxs[MAX_BUFFERS];
};

/* Defined by each program: print its usage and exit with status 2. */
static void print_usage_and_exit(const char *prog);

/* Defined by each program: write @val once every STRIDE of buffer @idx. */
static void sweep_buffer(int idx, char val);

static char *scratch;
static unsigned long scratch_sz;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static unsigned long parse_ulong(const char *s, const char *prog)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end)
		print_usage_and_exit(prog);
	return v;
}

static void parse_idxs(const char *s, int nr_buffers, struct phase *p,
		       const char *prog)
{
	char *copy, *tok, *save;

	p->nr_idxs = 0;
	if (!strcmp(s, "none"))
		return;
	copy = strdup(s);
	if (!copy)
		die("strdup");
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned long idx = parse_ulong(tok, prog);

		if (idx >= (unsigned long)nr_buffers ||
		    p->nr_idxs >= MAX_BUFFERS) {
			fprintf(stderr, "bad buffer index %s\n", tok);
			exit(2);
		}
		p->idxs[p->nr_idxs++] = idx;
	}
	free(copy);
	if (!p->nr_idxs)
		print_usage_and_exit(prog);
}

/*
 * The @nr_args arguments at @args, <duration_ms> <idx>[,<idx>...] pairs, as
 * phases over @nr_buffers buffers; their number in *@nr_phases.
 */
static struct phase *parse_phases(char **args, int nr_args,
				  int nr_buffers, int *nr_phases,
				  const char *prog)
{
	struct phase *phases;
	int i;

	if (nr_args < 2 || nr_args % 2)
		print_usage_and_exit(prog);
	*nr_phases = nr_args / 2;
	phases = calloc(*nr_phases, sizeof(*phases));
	if (!phases)
		die("calloc");
	for (i = 0; i < *nr_phases; i++) {
		phases[i].duration_ms = parse_ulong(args[2 * i], prog);
		parse_idxs(args[2 * i + 1], nr_buffers, &phases[i], prog);
	}
	return phases;
}

static unsigned long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

/* Map the scratch area that flush_tlb() write-protects. */
static void init_flush_tlb(void)
{
	scratch_sz = SCRATCH_PAGES * sysconf(_SC_PAGESIZE);
	scratch = mmap(NULL, scratch_sz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (scratch == MAP_FAILED)
		die("mmap");
	/* Present, writable entries, so that mprotect() has work. */
	memset(scratch, 1, scratch_sz);
}

/* Flush this CPU's TLB, if init_flush_tlb() was called. */
static void flush_tlb(void)
{
	if (!scratch)
		return;
	if (mprotect(scratch, scratch_sz, PROT_READ) ||
	    mprotect(scratch, scratch_sz, PROT_READ | PROT_WRITE))
		die("mprotect");
}

static void run_phase(int n, const struct phase *p)
{
	unsigned long long start = now_us(), end, t0, t1, d;
	unsigned long long min = ~0ULL, max = 0, sum = 0, sweeps = 0;
	char val = 1;
	int i;

	end = p->duration_ms ? start + p->duration_ms * 1000ULL : ~0ULL;
	if (!p->nr_idxs) {
		while (now_us() < end)
			usleep(p->duration_ms ? 10000 : 1000000);
	} else {
		t0 = start;
		while (t0 < end) {
			for (i = 0; i < p->nr_idxs; i++)
				sweep_buffer(p->idxs[i], val);
			/* A new value each sweep, never 0. */
			val = val == 127 ? 1 : val + 1;
			flush_tlb();
			t1 = now_us();
			d = t1 - t0;
			sum += d;
			sweeps++;
			if (d < min)
				min = d;
			if (d > max)
				max = d;
			t0 = t1;
		}
	}
	if (!sweeps)
		min = 0;
	printf("phase %d sweeps %llu sweep_us min %llu avg %llu max %llu\n",
	       n, sweeps, min, sweeps ? sum / sweeps : 0, max);
	fflush(stdout);
}

/* Run the phases, then say "done". */
static void run_phases(const struct phase *phases, int nr_phases)
{
	int i;

	for (i = 0; i < nr_phases; i++)
		run_phase(i, &phases[i]);
	printf("done\n");
	fflush(stdout);
}

#endif /* _DAMON_SELFTESTS_SWEEP_H */
