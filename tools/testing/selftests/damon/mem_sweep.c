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
 * Then, as access_memory does, one phase per <duration_ms> <indexes> pair:
 * for <duration_ms> milliseconds it sweeps the listed buffers over and over,
 * writing one byte every 4 KiB (past the first word); "none" makes an idle
 * phase and a duration of 0 a phase that lasts until the program is
 * killed.  After each sweep it flushes its TLB by write-protecting a
 * scratch area (see access_memory.c): DAMON clears Accessed bits without a
 * flush, and under emulation (QEMU TCG) the translations of a process that
 * is not switched out stay cached for good, so accesses would go unseen.
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
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define STRIDE		4096UL
#define MAX_BUFFERS	16
#define SCRATCH_PAGES	64
/* Where a sweep writes in each page: past the page's number. */
#define SWEEP_OFFSET	64

struct buffer {
	char kind;		/* 'a', 'f' or 'F' */
	unsigned long sz;
	char *addr;
};

struct phase {
	unsigned long duration_ms;
	int nr_idxs;
	int idxs[MAX_BUFFERS];
};

static struct buffer buffers[MAX_BUFFERS];
static int nr_buffers;
static char *scratch;
static unsigned long scratch_sz;

static void print_usage_and_exit(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-d <dir>] <a|f|F><MiB>... -- <duration_ms> <idx>[,<idx>...]...\n"
		"  a: anonymous, f: file-backed, F: file-backed and activated\n"
		"  <idx> list \"none\": sleep; <duration_ms> 0: until killed\n",
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

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void parse_idxs(const char *s, struct phase *p, const char *prog)
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
		    p->nr_idxs >= MAX_BUFFERS)
			print_usage_and_exit(prog);
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

static void sweep(struct buffer *b, char val)
{
	unsigned long off;

	/* Atomic stores: the compiler may neither drop nor merge them. */
	for (off = SWEEP_OFFSET; off < b->sz; off += STRIDE)
		__atomic_store_n(&b->addr[off], val, __ATOMIC_RELAXED);
}

static void flush_tlb(void)
{
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
				sweep(&buffers[p->idxs[i]], val);
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
	if (!nr_buffers || sep >= argc || (argc - sep - 1) < 2 ||
	    (argc - sep - 1) % 2)
		print_usage_and_exit(prog);
	nr_phases = (argc - sep - 1) / 2;
	phases = calloc(nr_phases, sizeof(*phases));
	if (!phases)
		die("calloc");
	for (i = 0; i < nr_phases; i++) {
		phases[i].duration_ms = parse_ulong(argv[sep + 1 + 2 * i], prog);
		parse_idxs(argv[sep + 2 + 2 * i], &phases[i], prog);
	}

	scratch_sz = SCRATCH_PAGES * sysconf(_SC_PAGESIZE);
	scratch = mmap(NULL, scratch_sz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (scratch == MAP_FAILED)
		die("mmap");
	/* Present, writable entries, so that mprotect() has work. */
	memset(scratch, 1, scratch_sz);

	printf("pid %d\n", getpid());
	for (i = 0; i < nr_buffers; i++) {
		map_buffer(&buffers[i], dir);
		printf("buffer %d 0x%lx-0x%lx\n", i,
		       (unsigned long)buffers[i].addr,
		       (unsigned long)buffers[i].addr + buffers[i].sz);
	}
	printf("ready\n");
	fflush(stdout);

	for (i = 0; i < nr_phases; i++)
		run_phase(i, &phases[i]);
	printf("done\n");
	fflush(stdout);
	return 0;
}
