// SPDX-License-Identifier: GPL-2.0
/*
 * Workload of the stock-vs-ours benchmark: known access patterns, with the
 * truth about them logged on CLOCK_MONOTONIC, the clock the damon trace
 * events are stamped with once trace_clock is "mono".
 *
 *   pattern [-g] [-n] [-p ms] [-i MiB] stairs   <nr_buffers> <MiB each> <phase_ms> <nr_phases>
 *   pattern [-g] [-n] [-p ms] [-i MiB] zigzag   <MiB each> <phase_ms> <nr_phases>
 *   pattern [-g] [-n] [-i MiB] gradient <nr_buffers> <MiB each>
 *
 * stairs sweeps one buffer at a time, the next one every phase (wrapping
 * around); zigzag is stairs with two large buffers.  gradient runs until
 * killed and sweeps buffer i on every 2^i-th pass only, so that the
 * buffers are hot to different degrees and DAMON keeps many regions; on
 * SIGUSR2 it reports how far it got, which tells what monitoring costs
 * the monitored.
 *
 * Every buffer is populated, written once and handed to MADV_COLD before
 * the phases, so that what a phase leaves alone looks idle.  A sweep
 * writes one byte per 4 KiB page; after each sweep the TLB is flushed by
 * write-protecting a scratch area larger than what x86 flushes page by
 * page: DAMON clears Accessed bits without a TLB flush, and under QEMU TCG
 * nothing else would make the CPU walk the page tables again.  -n leaves
 * that out, for a hot set that stays in the TLB.
 *
 * -p paces the sweeps of stairs and zigzag: one starts every that many
 * milliseconds (or at once if the last one ended later), so that a page of
 * the hot buffer is touched at that period rather than as often as the CPU
 * can, as a hot set of a real program is; how often a sample finds a page
 * accessed then depends on the sampling interval.  -i maps an idle buffer of
 * that many MiB besides, populated like the others and never swept: memory
 * a program keeps but does not use, which makes the hot set a smaller share
 * of the whole.
 *
 * The phases start on SIGUSR1 (or at once with -g), so that the monitor
 * can be set up on a process whose memory is already in place.  Output,
 * flushed line by line:
 *
 *   pid <pid>
 *   buffer <idx> <start>-<end>             hexadecimal, end exclusive
 *   idle <start>-<end>                     the -i buffer
 *   ready
 *   phase <n> <mono ns> hot <idx>          at the start of each phase
 *   stall <n> <from ns> <to ns>            a sweep ended STALL_MS or more
 *                                          after the previous one (more
 *                                          than the -p period)
 *   sweeps <n> <count> avg_us <us>         at the end of each phase
 *   end <mono ns>
 *   passes <count> <mono ns>               gradient, on SIGUSR2
 *
 * and then it sleeps until killed: a monitor stops by itself once its
 * target exits, and a run should end with it still up.
 */

#define _GNU_SOURCE
#include <signal.h>
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
#define MAX_BUFFERS	32
/* More pages than x86 invalidates one at a time (33): a full flush. */
#define SCRATCH_PAGES	64
/*
 * A sweep takes a few milliseconds; one this late means the workload did
 * not run (a busy emulator host), and its buffer was not hot meanwhile.
 */
#define STALL_MS	50

/* Set by SIGUSR2: the gradient loop is to report its pass count. */
static volatile sig_atomic_t report_passes;

static char *buffers[MAX_BUFFERS];
static unsigned long buffer_sz;
static char *scratch;
static unsigned long scratch_sz;
/* -p: nanoseconds from the start of one sweep to the start of the next. */
static unsigned long long pace_ns;

static void print_usage(void)
{
	fprintf(stderr,
		"usage: pattern [options] stairs <nr_buffers> <MiB> <phase_ms> <nr_phases>\n"
		"       pattern [options] zigzag <MiB> <phase_ms> <nr_phases>\n"
		"       pattern [options] gradient <nr_buffers> <MiB>\n"
		"  -g: start at once instead of waiting for SIGUSR1\n"
		"  -n: do not flush the TLB after each sweep\n"
		"  -p ms: start a sweep of stairs or zigzag every ms milliseconds\n"
		"  -i MiB: map an idle buffer of MiB besides\n");
	exit(2);
}

static unsigned long arg_ulong(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (end == s || *end)
		print_usage();
	return v;
}

static unsigned long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sweep(char *buf, char val)
{
	unsigned long off;

	/* Atomic stores: the compiler may neither drop nor merge them. */
	for (off = 0; off < buffer_sz; off += STRIDE)
		__atomic_store_n(&buf[off], val, __ATOMIC_RELAXED);
}

static int no_flush;

static void flush_tlb(void)
{
	if (no_flush)
		return;
	if (mprotect(scratch, scratch_sz, PROT_READ) ||
	    mprotect(scratch, scratch_sz, PROT_READ | PROT_WRITE)) {
		perror("mprotect");
		exit(1);
	}
}

static char *map_populated(unsigned long sz)
{
	char *p = mmap(NULL, sz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

/* Sleep until @t on the monotonic clock. */
static void sleep_until(unsigned long long t)
{
	struct timespec ts = {
		.tv_sec = t / 1000000000ULL,
		.tv_nsec = t % 1000000000ULL,
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
		;
}

/* Sweep buffer @idx for @ms milliseconds as phase @n, logging both ends. */
static void run_phase(int n, int idx, unsigned long ms)
{
	unsigned long long start = mono_ns(), end = start + ms * 1000000ULL;
	unsigned long long now = start, prev, next = start, sweeps = 0;
	char val = 1;

	printf("phase %d %llu hot %d\n", n, start, idx);
	fflush(stdout);
	while (now < end) {
		sweep(buffers[idx], val++);
		flush_tlb();
		sweeps++;
		prev = now;
		now = mono_ns();
		if (now - prev >= pace_ns + STALL_MS * 1000000ULL)
			printf("stall %d %llu %llu\n", n, prev, now);
		if (!pace_ns)
			continue;
		/* Late: start the next one now rather than catch up. */
		next = next + pace_ns > now ? next + pace_ns : now;
		sleep_until(next < end ? next : end);
		if (next >= end)
			now = mono_ns();
	}
	printf("sweeps %d %llu avg_us %llu\n", n, sweeps,
	       (now - start) / 1000 / sweeps);
	fflush(stdout);
}

static void on_sigusr2(int sig)
{
	report_passes = 1;
}

static void run_gradient(int nr_buffers)
{
	struct sigaction sa = { .sa_handler = on_sigusr2 };
	unsigned long pass;
	int i;

	sigaction(SIGUSR2, &sa, NULL);
	for (pass = 1; ; pass++) {
		for (i = 0; i < nr_buffers; i++)
			if (!(pass & ((1UL << i) - 1)))
				sweep(buffers[i], pass);
		flush_tlb();
		if (report_passes) {
			report_passes = 0;
			printf("passes %lu %llu\n", pass, mono_ns());
			fflush(stdout);
		}
	}
}

int main(int argc, char *argv[])
{
	unsigned long mib, phase_ms = 0, nr_phases = 0, idle_mib = 0;
	int nr_buffers, i, go = 0, sig;
	const char *mode;
	sigset_t set;

	for (; argc > 1 && argv[1][0] == '-'; argv++, argc--) {
		if (!strcmp(argv[1], "-g"))
			go = 1;
		else if (!strcmp(argv[1], "-n"))
			no_flush = 1;
		else if (!strcmp(argv[1], "-p") && argc > 2)
			pace_ns = arg_ulong(argv[2]) * 1000000ULL;
		else if (!strcmp(argv[1], "-i") && argc > 2)
			idle_mib = arg_ulong(argv[2]);
		else
			print_usage();
		/* The option's value. */
		if (!strcmp(argv[1], "-p") || !strcmp(argv[1], "-i")) {
			argv++;
			argc--;
		}
	}
	if (argc < 2)
		print_usage();
	mode = argv[1];
	if (!strcmp(mode, "stairs") && argc == 6) {
		nr_buffers = arg_ulong(argv[2]);
		mib = arg_ulong(argv[3]);
		phase_ms = arg_ulong(argv[4]);
		nr_phases = arg_ulong(argv[5]);
	} else if (!strcmp(mode, "zigzag") && argc == 5) {
		nr_buffers = 2;
		mib = arg_ulong(argv[2]);
		phase_ms = arg_ulong(argv[3]);
		nr_phases = arg_ulong(argv[4]);
	} else if (!strcmp(mode, "gradient") && argc == 4) {
		nr_buffers = arg_ulong(argv[2]);
		mib = arg_ulong(argv[3]);
	} else {
		print_usage();
	}
	if (nr_buffers < 1 || nr_buffers > MAX_BUFFERS || !mib ||
	    mib > (1UL << 20) || idle_mib > (1UL << 20))
		print_usage();
	buffer_sz = mib << 20;

	/* Block SIGUSR1 before telling anyone our pid: no lost wake-up. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);

	scratch_sz = SCRATCH_PAGES * sysconf(_SC_PAGESIZE);
	scratch = map_populated(scratch_sz);
	memset(scratch, 1, scratch_sz);

	printf("pid %d\n", getpid());
	for (i = 0; i < nr_buffers; i++) {
		buffers[i] = map_populated(buffer_sz);
		sweep(buffers[i], 0);
		/* Clear the Accessed bits populating set; a hint only. */
		madvise(buffers[i], buffer_sz, MADV_COLD);
		printf("buffer %d 0x%lx-0x%lx\n", i, (unsigned long)buffers[i],
		       (unsigned long)buffers[i] + buffer_sz);
	}
	if (idle_mib) {
		char *idle = map_populated(idle_mib << 20);

		memset(idle, 1, idle_mib << 20);
		madvise(idle, idle_mib << 20, MADV_COLD);
		printf("idle 0x%lx-0x%lx\n", (unsigned long)idle,
		       (unsigned long)idle + (idle_mib << 20));
	}
	printf("ready\n");
	fflush(stdout);
	if (!go && sigwait(&set, &sig)) {
		perror("sigwait");
		return 1;
	}

	if (!strcmp(mode, "gradient"))
		run_gradient(nr_buffers);
	for (i = 0; i < (int)nr_phases; i++)
		run_phase(i, i % nr_buffers, phase_ms);
	printf("end %llu\n", mono_ns());
	fflush(stdout);
	for (;;)
		pause();
}
