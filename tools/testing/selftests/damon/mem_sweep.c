// SPDX-License-Identifier: GPL-2.0
/*
 * A workload of anonymous and file-backed buffers with a known access
 * pattern, for the selftests of physical address monitoring and of the
 * DAMON modules.
 *
 *   mem_sweep [-d <dir>] <buffer>... -- <duration_ms> <idx>[,<idx>...]
 *             [<duration_ms> <idx>[,<idx>...]]...
 *
 * A <buffer> is a<MiB> (private anonymous memory), f<MiB> (a shared
 * mapping of a new file in <dir>, /tmp by default, unlinked at once) or
 * F<MiB> (the same, then read twice with read(), which puts its pages on
 * the active list).  Every page is written once, its first word with a
 * number of its own and the rest with zeros: the page is neither zero-
 * filled nor filled with one value, so reclaim has to swap it out for real
 * (it drops zero-filled pages and zram stores same-filled ones for free),
 * and it compresses well, which keeps zram fast.
 *
 * Then, as access_memory does, it runs one phase per <duration_ms>
 * <indexes> pair, sweeping the listed buffers (past the first word of each
 * page) and flushing its TLB after each sweep: see sweep.h.
 *
 * It prints, and flushes:
 *
 *   pid <pid>
 *   buffer <idx> <start>-<end>          (hexadecimal, end exclusive)
 *   ready
 *   phase <n> sweeps <nr> sweep_us min <us> avg <us> max <us>
 *   done
 */

#define _GNU_SOURCE
#include <fcntl.h>

#include "sweep.h"

/* Where a sweep writes in each page: past the page's number. */
#define SWEEP_OFFSET	64

struct buffer {
	char kind;		/* 'a', 'f' or 'F' */
	unsigned long sz;
	char *addr;
};

static struct buffer buffers[MAX_BUFFERS];
static int nr_buffers;

static void print_usage_and_exit(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-d <dir>] <a|f|F><MiB>... -- <duration_ms> <idx>[,<idx>...]...\n"
		"  a: anonymous, f: file-backed, F: file-backed and activated\n"
		"  <idx> list \"none\": sleep; <duration_ms> 0: until killed\n",
		prog);
	exit(2);
}

/* Read the whole file twice: the second look at a page activates it. */
static void activate(int fd, unsigned long sz)
{
	static char chunk[1 << 16];
	unsigned long off;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (off = 0; off < sz; off += sizeof(chunk)) {
			if (pread(fd, chunk, sizeof(chunk), off) < 0)
				die("pread");
		}
	}
}

static void map_buffer(struct buffer *b, const char *dir)
{
	unsigned long off;
	char path[4096];
	int fd;

	if (b->kind == 'a') {
		b->addr = mmap(NULL, b->sz, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (b->addr == MAP_FAILED)
			die("mmap");
		for (off = 0; off < b->sz; off += STRIDE)
			*(unsigned long *)(b->addr + off) = off / STRIDE + 1;
		return;
	}
	snprintf(path, sizeof(path), "%s/mem_sweep.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		die("mkstemp");
	unlink(path);
	if (ftruncate(fd, b->sz))
		die("ftruncate");
	b->addr = mmap(NULL, b->sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (b->addr == MAP_FAILED)
		die("mmap");
	for (off = 0; off < b->sz; off += STRIDE)
		*(unsigned long *)(b->addr + off) = off / STRIDE + 1;
	if (b->kind == 'F')
		activate(fd, b->sz);
	close(fd);
}

static void sweep_buffer(int idx, char val)
{
	struct buffer *b = &buffers[idx];
	unsigned long off;

	/* Atomic stores: the compiler may neither drop nor merge them. */
	for (off = SWEEP_OFFSET; off < b->sz; off += STRIDE)
		__atomic_store_n(&b->addr[off], val, __ATOMIC_RELAXED);
}

int main(int argc, char *argv[])
{
	const char *prog = argv[0], *dir = "/tmp";
	struct phase *phases;
	int i, sep, nr_phases;

	i = 1;
	if (argc > 2 && !strcmp(argv[1], "-d")) {
		dir = argv[2];
		i = 3;
	}
	for (sep = i; sep < argc && strcmp(argv[sep], "--"); sep++) {
		const char *arg = argv[sep];
		unsigned long mib;

		if (nr_buffers >= MAX_BUFFERS || !arg[0] ||
		    !strchr("afF", arg[0]))
			print_usage_and_exit(prog);
		mib = parse_ulong(arg + 1, prog);
		if (!mib || mib > (1UL << 20))
			print_usage_and_exit(prog);
		buffers[nr_buffers].kind = arg[0];
		buffers[nr_buffers].sz = mib << 20;
		nr_buffers++;
	}
	if (!nr_buffers || sep >= argc)
		print_usage_and_exit(prog);
	phases = parse_phases(argv + sep + 1, argc - sep - 1, nr_buffers,
			      &nr_phases, prog);

	init_flush_tlb();

	printf("pid %d\n", getpid());
	for (i = 0; i < nr_buffers; i++) {
		map_buffer(&buffers[i], dir);
		printf("buffer %d 0x%lx-0x%lx\n", i,
		       (unsigned long)buffers[i].addr,
		       (unsigned long)buffers[i].addr + buffers[i].sz);
	}
	printf("ready\n");
	fflush(stdout);

	run_phases(phases, nr_phases);
	return 0;
}
