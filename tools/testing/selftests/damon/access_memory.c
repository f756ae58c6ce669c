// SPDX-License-Identifier: GPL-2.0
/*
 * A workload with a known access pattern, for the DAMON selftests.
 *
 *   access_memory [-n] <nr_buffers> <MiB each> <duration_ms> <idx>[,<idx>...]
 *                 [<duration_ms> <idx>[,<idx>...]]...
 *
 * Maps <nr_buffers> anonymous buffers of <MiB each> MiB, writes every page
 * of them once and lets them look idle again (MADV_COLD).  Then it runs
 * one phase per <duration_ms> <indexes> pair: for <duration_ms>
 * milliseconds it sweeps the listed buffers, one after the other and over
 * and over, writing one byte every 4 KiB.  An index list of "none" makes
 * an idle phase (it sleeps), and a duration of 0 makes the phase last
 * until the program is killed.
 *
 * After each sweep it flushes its TLB, unless -n is given.  DAMON clears
 * the Accessed bit of a sampled page table entry without flushing the TLB
 * (as reclaim does on x86): the bit is set again only when the CPU walks
 * the page table anew, which a context switch or the TLB's limited reach
 * make happen soon on real machines.  Under emulation (QEMU TCG) the TLB
 * can hold every translation of the buffers, and a process alone on its
 * CPU is not switched out, so the accesses could stay unseen for good.
 * Write-protecting a scratch area of more pages than the kernel flushes
 * one by one (33 on x86) makes it flush the whole TLB, as a context switch
 * would.
 *
 * So that a test can relate DAMON's output to the buffers, it prints at
 * start, and flushes:
 *
 *   pid <pid>
 *   buffer <idx> <start>-<end>          (hexadecimal, end exclusive)
 *   ready
 *
 * and after each phase:
 *
 *   phase <n> sweeps <nr> sweep_us min <us> avg <us> max <us>
 *
 * where a sweep is one pass over all of the phase's buffers.  Besides the
 * buffers, the loop touches only its stack and its own text.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_COLD
#define MADV_COLD	20
#endif

#define STRIDE		4096UL
#define MAX_BUFFERS	64
/* Pages of the scratch area; more than a ranged TLB flush handles. */
#define SCRATCH_PAGES	64

struct phase {
	unsigned long duration_ms;
	int nr_idxs;
	int idxs[MAX_BUFFERS];
};

static char *buffers[MAX_BUFFERS];
static unsigned long buffer_sz;
static char *scratch;
static unsigned long scratch_sz;

static void print_usage_and_exit(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-n] <nr_buffers> <MiB each> <duration_ms> <idx>[,<idx>...]\n"
		"       [<duration_ms> <idx>[,<idx>...]]...\n"
		"  <idx> list \"none\": sleep; <duration_ms> 0: until killed\n"
		"  -n: do not flush the TLB after each sweep\n",
		prog);
	exit(2);
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
	if (!copy) {
		perror("strdup");
		exit(1);
	}
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

static unsigned long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

static void touch(char *buf, unsigned long sz, char val)
{
	unsigned long off;

	/* Atomic stores: the compiler may neither drop nor merge them. */
	for (off = 0; off < sz; off += STRIDE)
		__atomic_store_n(&buf[off], val, __ATOMIC_RELAXED);
}

/* Flush this CPU's TLB; see the comment at the top. */
static void flush_tlb(void)
{
	if (!scratch)
		return;
	if (mprotect(scratch, scratch_sz, PROT_READ) ||
	    mprotect(scratch, scratch_sz, PROT_READ | PROT_WRITE)) {
		perror("mprotect");
		exit(1);
	}
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
				touch(buffers[p->idxs[i]], buffer_sz, val);
			val++;
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

int main(int argc, char *argv[])
{
	const char *prog = argv[0];
	bool flush = true;
	struct phase *phases;
	int nr_buffers, nr_phases, i;
	unsigned long mib;

	if (argc > 1 && !strcmp(argv[1], "-n")) {
		flush = false;
		argv++;
		argc--;
	}
	if (argc < 5 || (argc - 3) % 2)
		print_usage_and_exit(prog);
	nr_buffers = parse_ulong(argv[1], prog);
	mib = parse_ulong(argv[2], prog);
	if (nr_buffers < 1 || nr_buffers > MAX_BUFFERS || !mib ||
	    mib > (1UL << 20))
		print_usage_and_exit(prog);
	buffer_sz = mib << 20;

	nr_phases = (argc - 3) / 2;
	phases = calloc(nr_phases, sizeof(*phases));
	if (!phases) {
		perror("calloc");
		return 1;
	}
	for (i = 0; i < nr_phases; i++) {
		phases[i].duration_ms = parse_ulong(argv[3 + 2 * i], prog);
		parse_idxs(argv[4 + 2 * i], nr_buffers, &phases[i], prog);
	}

	if (flush) {
		scratch_sz = SCRATCH_PAGES * sysconf(_SC_PAGESIZE);
		scratch = mmap(NULL, scratch_sz, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
			       -1, 0);
		if (scratch == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		/* Present, writable entries, so that mprotect() has work. */
		touch(scratch, scratch_sz, 1);
	}

	printf("pid %d\n", getpid());
	for (i = 0; i < nr_buffers; i++) {
		buffers[i] = mmap(NULL, buffer_sz, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
				  -1, 0);
		if (buffers[i] == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		/* Populated already; make sure of private, written pages. */
		touch(buffers[i], buffer_sz, 0);
		/*
		 * Clear the Accessed bits that populating set, so that what
		 * the phases leave alone looks idle from the start.  Only a
		 * hint: kernels without MADV_COLD just fail it.
		 */
		madvise(buffers[i], buffer_sz, MADV_COLD);
		printf("buffer %d 0x%lx-0x%lx\n", i, (unsigned long)buffers[i],
		       (unsigned long)buffers[i] + buffer_sz);
	}
	printf("ready\n");
	fflush(stdout);

	for (i = 0; i < nr_phases; i++)
		run_phase(i, &phases[i]);
	printf("done\n");
	fflush(stdout);
	return 0;
}
