// SPDX-License-Identifier: GPL-2.0
/*
 * A workload with a known access pattern, for the DAMON selftests.
 *
 *   access_memory [-n] <nr_buffers> <MiB each> <duration_ms> <idx>[,<idx>...]
 *                 [<duration_ms> <idx>[,<idx>...]]...
 *
 * Maps <nr_buffers> anonymous buffers of <MiB each> MiB, writes every page
 * of them once and lets them look idle again (MADV_COLD).  Then it runs
 * one phase per <duration_ms> <indexes> pair, sweeping the listed buffers
 * and flushing its TLB after each sweep (see sweep.h), unless -n is given.
 *
 * So that a test can relate DAMON's output to the buffers, it prints at
 * start, and flushes:
 *
 *   pid <pid>
 *   buffer <idx> <start>-<end>          (hexadecimal, end exclusive)
 *   ready
 *
 * then a line per phase (see sweep.h), and "done".  Besides the buffers,
 * the loop touches only its stack and its own text.
 */

#define _GNU_SOURCE
#include <stdbool.h>

#include "sweep.h"

#ifndef MADV_COLD
#define MADV_COLD	20
#endif

static char *buffers[MAX_BUFFERS];
static unsigned long buffer_sz;

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

static void touch(char *buf, unsigned long sz, char val)
{
	unsigned long off;

	/* Atomic stores: the compiler may neither drop nor merge them. */
	for (off = 0; off < sz; off += STRIDE)
		__atomic_store_n(&buf[off], val, __ATOMIC_RELAXED);
}

static void sweep_buffer(int idx, char val)
{
	touch(buffers[idx], buffer_sz, val);
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
	if (argc < 5)
		print_usage_and_exit(prog);
	nr_buffers = parse_ulong(argv[1], prog);
	mib = parse_ulong(argv[2], prog);
	if (nr_buffers < 1 || nr_buffers > MAX_BUFFERS || !mib ||
	    mib > (1UL << 20))
		print_usage_and_exit(prog);
	buffer_sz = mib << 20;
	phases = parse_phases(argv + 3, argc - 3, nr_buffers, &nr_phases,
			      prog);

	if (flush)
		init_flush_tlb();

	printf("pid %d\n", getpid());
	for (i = 0; i < nr_buffers; i++) {
		buffers[i] = mmap(NULL, buffer_sz, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
				  -1, 0);
		if (buffers[i] == MAP_FAILED)
			die("mmap");
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

	run_phases(phases, nr_phases);
	return 0;
}
