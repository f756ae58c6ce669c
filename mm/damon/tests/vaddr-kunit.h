/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit suites of the DAMON virtual address operations, included by vaddr.c
 * so that they can reach the file's static helpers.
 *
 * "damon-operations" checks the search for the three initial regions on
 * synthetic maple trees shaped like mm->mm_mt, against hand-written layouts
 * and, for random ones, against the linear walk and an obvious model, the
 * even split of the initial regions, and the reading and clearing of
 * Accessed bits on pages the test maps into its own mm.  Addresses are
 * written in pages.
 *
 * "damon-operations-bench" is no test but a benchmark: it prints how long the
 * gap tree search and the linear walk take on large trees, and what a
 * sample costs through DAMON's helpers against the bare page table walk,
 * and asserts nothing about time.  It is marked slow, so that a run filtering on
 * kunit.filter=speed>slow leaves it out.
 */

#ifdef CONFIG_DAMON_VADDR_KUNIT_TEST

#ifndef _DAMON_VADDR_KUNIT_H
#define _DAMON_VADDR_KUNIT_H

#include <kunit/test.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/prandom.h>
#include <asm/tlbflush.h>

#include "kunit-common.h"

/* === Helpers === */

/* One of the two implementations of the three regions search. */
typedef int (*damon_test_va_search_fn)(struct maple_tree *mt,
				       struct damon_addr_range *ranges);

static const struct {
	const char *name;
	damon_test_va_search_fn fn;
} damon_test_va_searches[] = {
	{ "gap tree", damon_va_three_regions_mt },
	{ "linear", damon_va_three_regions_linear },
};

KUNIT_DEFINE_ACTION_WRAPPER(damon_test_va_destroy_tree, mtree_destroy,
			    struct maple_tree *);

/* An empty tree with the flags of mm->mm_mt, destroyed with the test. */
static struct maple_tree *damon_test_va_new_tree(struct kunit *test)
{
	struct maple_tree *mt = kunit_kzalloc(test, sizeof(*mt), GFP_KERNEL);
	int err;

	KUNIT_ASSERT_NOT_NULL(test, mt);
	mt_init_flags(mt, MT_FLAGS_ALLOC_RANGE);
	err = kunit_add_action_or_reset(test, damon_test_va_destroy_tree, mt);
	KUNIT_ASSERT_EQ(test, err, 0);
	return mt;
}

/* Map [@start, @end) in @mt, the way a VMA sits in mm->mm_mt. */
static void damon_test_va_map(struct kunit *test, struct maple_tree *mt,
			      unsigned long start, unsigned long end)
{
	KUNIT_ASSERT_EQ_MSG(test, mtree_store_range(mt, start, end - 1,
						    xa_mk_value(1), GFP_KERNEL),
			    0, "cannot map [%#lx, %#lx)", start, end);
}

/*
 * Readers of a maple tree hold its lock or the RCU read lock; lockdep checks
 * every rcu_dereference_check() of the walk for one of them.
 */
static int damon_test_va_search(struct maple_tree *mt,
				damon_test_va_search_fn fn,
				struct damon_addr_range *ranges)
{
	int nr;

	rcu_read_lock();
	nr = fn(mt, ranges);
	rcu_read_unlock();
	return nr;
}

static bool damon_test_va_same_ranges(const struct damon_addr_range *a,
				      const struct damon_addr_range *b, int nr)
{
	int i;

	for (i = 0; i < nr; i++) {
		if (a[i].start != b[i].start || a[i].end != b[i].end)
			return false;
	}
	return true;
}

/* === Three regions, hand-written layouts === */

/*
 * A layout: the mappings and the ranges both searches must find, as
 * [start, end) pairs in pages.  A zero end closes each list.
 */
struct damon_test_va_layout {
	const char *desc;
	unsigned long maps[20];
	unsigned long ranges[6];
};

static const struct damon_test_va_layout damon_test_va_layouts[] = {
	{
		.desc = "empty tree",
	}, {
		.desc = "one mapping",
		.maps = { 10, 20 },
		.ranges = { 10, 20 },
	}, {
		.desc = "one mapping at zero",
		.maps = { 0, 3 },
		.ranges = { 0, 3 },
	}, {
		.desc = "two mappings",
		.maps = { 10, 20, 30, 40 },
		.ranges = { 10, 20, 30, 40 },
	}, {
		.desc = "three mappings",
		.maps = { 10, 20, 30, 40, 45, 50 },
		.ranges = { 10, 20, 30, 40, 45, 50 },
	}, {
		.desc = "a one-page gap",
		.maps = { 0, 1, 2, 3 },
		.ranges = { 0, 1, 2, 3 },
	}, {
		.desc = "adjacent mappings, no gap",
		.maps = { 10, 20, 20, 25, 25, 40 },
		.ranges = { 10, 40 },
	}, {
		.desc = "adjacent mappings and one gap",
		.maps = { 10, 20, 20, 30, 40, 50 },
		.ranges = { 10, 30, 40, 50 },
	}, {
		.desc = "adjacent mappings around both gaps",
		.maps = { 0, 1, 1, 2, 5, 6, 6, 7, 9, 10, 10, 11 },
		.ranges = { 0, 2, 5, 7, 9, 11 },
	}, {
		/* Gaps of 1, 2, 3, 7, 3, 9 and 1 pages. */
		.desc = "many mappings",
		.maps = { 0, 1, 2, 4, 6, 7, 10, 12, 19, 20, 23, 25, 34, 35,
			  36, 40 },
		.ranges = { 0, 12, 19, 25, 34, 40 },
	}, {
		/* Gaps of 1, 1, 1 and 1 pages: the lowest two win. */
		.desc = "equal gaps",
		.maps = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 },
		.ranges = { 0, 1, 2, 3, 4, 9 },
	}, {
		/* Gaps of 5, 2, 5 and 5 pages. */
		.desc = "tie for the largest gap",
		.maps = { 0, 1, 6, 7, 9, 10, 15, 16, 21, 22 },
		.ranges = { 0, 1, 6, 10, 15, 22 },
	}, {
		/* Gaps of 3, 5, 8 and 5 pages: the second is the left 5. */
		.desc = "tie for the second gap across the largest",
		.maps = { 0, 1, 4, 5, 10, 11, 19, 20, 25, 26 },
		.ranges = { 0, 5, 10, 11, 19, 26 },
	}, {
		/* Gaps of 8, 3, 5 and 5 pages. */
		.desc = "tie for the second gap after the largest",
		.maps = { 0, 1, 9, 10, 13, 14, 19, 20, 25, 26 },
		.ranges = { 0, 1, 9, 14, 19, 26 },
	}, {
		/* Gaps of 5, 5, 3 and 8 pages. */
		.desc = "tie for the second gap before the largest",
		.maps = { 0, 1, 6, 7, 12, 13, 16, 17, 25, 26 },
		.ranges = { 0, 1, 6, 17, 25, 26 },
	}, {
		/* Gaps of 9, 1, 2, 1 and 8 pages. */
		.desc = "largest gaps at the edges",
		.maps = { 0, 2, 11, 12, 13, 14, 16, 17, 18, 19, 27, 30 },
		.ranges = { 0, 2, 11, 19, 27, 30 },
	}, {
		/* Gaps of 1, 9, 8 and 1 pages. */
		.desc = "largest gaps side by side in the middle",
		.maps = { 0, 1, 2, 3, 12, 13, 21, 22, 23, 24 },
		.ranges = { 0, 3, 12, 13, 21, 24 },
	}, {
		/* Gaps of 1, 2, 30, 2, 1, 20 and 1 pages. */
		.desc = "largest gaps apart in the middle",
		.maps = { 0, 1, 2, 3, 5, 6, 36, 37, 39, 40, 41, 42, 62, 63,
			  64, 65 },
		.ranges = { 0, 6, 36, 42, 62, 65 },
	}, {
		/* Program and heap, libraries, stack: the usual picture. */
		.desc = "process-like",
		.maps = { 0x555555554, 0x555555556, 0x555555560, 0x555555580,
			  0x7ffff7d80, 0x7ffff7fc0, 0x7ffff7fc2, 0x7ffff7ffe,
			  0x7ffffffde, 0x7ffffffff },
		.ranges = { 0x555555554, 0x555555580, 0x7ffff7d80, 0x7ffff7ffe,
			    0x7ffffffde, 0x7ffffffff },
	}, {
		/* The widest span the binary search on the size can see. */
		.desc = "mappings at both ends of the address space",
		.maps = { 0, 1, 3, 4, ULONG_MAX / PAGE_SIZE - 2,
			  ULONG_MAX / PAGE_SIZE },
		.ranges = { 0, 1, 3, 4, ULONG_MAX / PAGE_SIZE - 2,
			    ULONG_MAX / PAGE_SIZE },
	},
};

KUNIT_ARRAY_PARAM_DESC(damon_test_va_layouts, damon_test_va_layouts, desc);

static void damon_test_va_three_regions_layouts(struct kunit *test)
{
	const struct damon_test_va_layout *layout = test->param_value;
	struct damon_addr_range expect[3], got[3];
	struct maple_tree *mt = damon_test_va_new_tree(test);
	int i, nr, nr_expect = 0;

	for (i = 0; i < ARRAY_SIZE(layout->maps) && layout->maps[i + 1];
	     i += 2)
		damon_test_va_map(test, mt, damon_test_pg(layout->maps[i]),
				  damon_test_pg(layout->maps[i + 1]));
	for (i = 0; i < ARRAY_SIZE(layout->ranges) && layout->ranges[i + 1];
	     i += 2) {
		expect[nr_expect].start = damon_test_pg(layout->ranges[i]);
		expect[nr_expect++].end = damon_test_pg(layout->ranges[i + 1]);
	}

	for (i = 0; i < ARRAY_SIZE(damon_test_va_searches); i++) {
		nr = damon_test_va_search(mt, damon_test_va_searches[i].fn,
					  got);
		KUNIT_EXPECT_EQ_MSG(test, nr, nr_expect, "%s: number of ranges",
				    damon_test_va_searches[i].name);
		if (nr != nr_expect)
			continue;
		KUNIT_EXPECT_TRUE_MSG(test,
				      damon_test_va_same_ranges(got, expect, nr),
				      "%s: got [%#lx, %#lx) [%#lx, %#lx) [%#lx, %#lx)",
				      damon_test_va_searches[i].name,
				      got[0].start, got[0].end,
				      nr > 1 ? got[1].start : 0,
				      nr > 1 ? got[1].end : 0,
				      nr > 2 ? got[2].start : 0,
				      nr > 2 ? got[2].end : 0);
	}
}

/* === Three regions, random layouts === */

#define DAMON_TEST_VA_RANDOM_SEED	42
#define DAMON_TEST_VA_RANDOM_LAYOUTS	200
#define DAMON_TEST_VA_RANDOM_MAX_MAPS	300

/*
 * The three regions of @nr sorted, disjoint @maps, the obvious way: one pass
 * for the largest gap, one for the largest of the others, lowest first on
 * ties.
 */
static int damon_test_va_model(const struct damon_addr_range *maps, int nr,
			       struct damon_addr_range *ranges)
{
	int big[2] = { -1, -1 }, i, j, nr_gaps = 0;
	unsigned long sz, best;

	if (!nr)
		return 0;
	/* Gap i lies between maps[i - 1] and maps[i]. */
	for (j = 0; j < 2; j++) {
		best = 0;
		for (i = 1; i < nr; i++) {
			sz = maps[i].start - maps[i - 1].end;
			if (i != big[0] && sz > best) {
				best = sz;
				big[j] = i;
			}
		}
		if (big[j] > 0)
			nr_gaps++;
	}
	if (nr_gaps == 2 && big[1] < big[0])
		swap(big[0], big[1]);

	ranges[0].start = maps[0].start;
	for (i = 0; i < nr_gaps; i++) {
		ranges[i].end = maps[big[i] - 1].end;
		ranges[i + 1].start = maps[big[i]].start;
	}
	ranges[nr_gaps].end = maps[nr - 1].end;
	return nr_gaps + 1;
}

static void damon_test_va_check_random(struct kunit *test,
				       struct maple_tree *mt,
				       const struct damon_addr_range *maps,
				       int nr_maps, int layout)
{
	struct damon_addr_range expect[3], got[3];
	int i, nr, nr_expect;

	nr_expect = damon_test_va_model(maps, nr_maps, expect);
	for (i = 0; i < ARRAY_SIZE(damon_test_va_searches); i++) {
		nr = damon_test_va_search(mt, damon_test_va_searches[i].fn,
					  got);
		if (nr == nr_expect &&
		    damon_test_va_same_ranges(got, expect, nr))
			continue;
		KUNIT_FAIL(test,
			   "layout %d (%d mappings from %#lx to %#lx): %s found %d ranges, [%#lx, %#lx) ..., expected %d, [%#lx, %#lx) [%#lx, %#lx) [%#lx, %#lx)",
			   layout, nr_maps, maps[0].start,
			   maps[nr_maps - 1].end,
			   damon_test_va_searches[i].name, nr,
			   nr ? got[0].start : 0, nr ? got[0].end : 0,
			   nr_expect, expect[0].start, expect[0].end,
			   nr_expect > 1 ? expect[1].start : 0,
			   nr_expect > 1 ? expect[1].end : 0,
			   nr_expect > 2 ? expect[2].start : 0,
			   nr_expect > 2 ? expect[2].end : 0);
	}
}

/*
 * Random layouts, some with many equal gaps and adjacent mappings, some with
 * gaps of all sizes.  They are mapped in ascending order, in descending
 * order, or in ascending order with a quarter of them unmapped again, so the
 * tree gets its gaps from node splits, from the left and from erasures.
 */
static void damon_test_va_three_regions_random(struct kunit *test)
{
	static const unsigned long max_gaps[] = { 1, 4, 64, 1UL << 16 };
	struct maple_tree *mt = damon_test_va_new_tree(test);
	struct damon_addr_range *maps;
	unsigned long addr, max_gap;
	struct rnd_state rnd;
	int layout, i, n, nr_maps;

	maps = kunit_kcalloc(test, DAMON_TEST_VA_RANDOM_MAX_MAPS,
			     sizeof(*maps), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, maps);
	prandom_seed_state(&rnd, DAMON_TEST_VA_RANDOM_SEED);

	for (layout = 0; layout < DAMON_TEST_VA_RANDOM_LAYOUTS; layout++) {
		nr_maps = 1 + prandom_u32_state(&rnd) %
			DAMON_TEST_VA_RANDOM_MAX_MAPS;
		max_gap = max_gaps[prandom_u32_state(&rnd) %
				   ARRAY_SIZE(max_gaps)];
		addr = prandom_u32_state(&rnd) % (1UL << 20);
		for (i = 0; i < nr_maps; i++) {
			/* A quarter of the mappings touch their predecessor. */
			if (i && prandom_u32_state(&rnd) % 4)
				addr += 1 + prandom_u32_state(&rnd) % max_gap;
			maps[i].start = damon_test_pg(addr);
			addr += 1 + prandom_u32_state(&rnd) % 16;
			maps[i].end = damon_test_pg(addr);
		}

		for (i = 0; i < nr_maps; i++) {
			n = layout % 3 == 1 ? nr_maps - 1 - i : i;
			damon_test_va_map(test, mt, maps[n].start, maps[n].end);
		}
		if (layout % 3 == 2) {
			for (i = 0, n = 0; i < nr_maps; i++) {
				if (i && !(prandom_u32_state(&rnd) % 4))
					mtree_erase(mt, maps[i].start);
				else
					maps[n++] = maps[i];
			}
			nr_maps = n;
		}

		damon_test_va_check_random(test, mt, maps, nr_maps, layout);
		mtree_destroy(mt);
		mt_init_flags(mt, MT_FLAGS_ALLOC_RANGE);
		if (test->status == KUNIT_FAILURE)
			break;
	}
}

/* === Even split === */

/* A target with regions [pages[0], pages[1]), ..., freed with the test. */
static struct damon_target *damon_test_va_target(struct kunit *test,
						 const unsigned long *pages,
						 unsigned int nr_pages)
{
	struct damon_target *t = damon_new_target();
	int err;

	KUNIT_ASSERT_NOT_NULL(test, t);
	err = kunit_add_action_or_reset(test, damon_test_free_target, t);
	KUNIT_ASSERT_EQ(test, err, 0);
	damon_test_add_regions(test, t, pages, nr_pages);
	return t;
}

/* Split the one region [@start, @end) in @nr_pieces; expect @pages. */
static void damon_test_va_split(struct kunit *test, unsigned long start,
				unsigned long end, unsigned long nr_pieces,
				const unsigned long *pages,
				unsigned int nr_pages)
{
	unsigned long region[] = { start, end };
	struct damon_target *t;

	t = damon_test_va_target(test, region, ARRAY_SIZE(region));
	damon_va_split_evenly(t, damon_first_region(t), nr_pieces);
	damon_test_expect_regions(test, t, pages, nr_pages);
}

static void damon_test_va_split_evenly(struct kunit *test)
{
	static const unsigned long twelve_by_four[] = {
		0, 3, 3, 6, 6, 9, 9, 12,
	};
	static const unsigned long ten_by_three[] = {
		0, 3, 3, 6, 6, 10,
	};
	static const unsigned long hundred_by_seven[] = {
		100, 114, 114, 128, 128, 142, 142, 156, 156, 170, 170, 184,
		184, 200,
	};
	static const unsigned long four_by_four[] = {
		0, 1, 1, 2, 2, 3, 3, 4,
	};

	damon_test_va_split(test, 0, 12, 4, twelve_by_four,
			    ARRAY_SIZE(twelve_by_four));
	/* The last piece takes what the division leaves over. */
	damon_test_va_split(test, 0, 10, 3, ten_by_three,
			    ARRAY_SIZE(ten_by_three));
	damon_test_va_split(test, 100, 200, 7, hundred_by_seven,
			    ARRAY_SIZE(hundred_by_seven));
	damon_test_va_split(test, 0, 4, 4, four_by_four,
			    ARRAY_SIZE(four_by_four));
}

/* A piece size that is not a whole number of pages is rounded down. */
static void damon_test_va_split_evenly_aligned(struct kunit *test)
{
	static const unsigned long ten_by_four[] = {
		0, 2, 2, 4, 4, 6, 6, 10,
	};
	static const unsigned long seven_by_two[] = {
		1000, 1003, 1003, 1007,
	};

	damon_test_va_split(test, 0, 10, 4, ten_by_four,
			    ARRAY_SIZE(ten_by_four));
	damon_test_va_split(test, 1000, 1007, 2, seven_by_two,
			    ARRAY_SIZE(seven_by_two));
}

/* Many pieces of a large region, each of the same size. */
static void damon_test_va_split_evenly_many(struct kunit *test)
{
	static const unsigned long region[] = { 0, 1000 * 128 };
	struct damon_target *t;
	struct damon_region *r;
	unsigned long start = 0;

	t = damon_test_va_target(test, region, ARRAY_SIZE(region));

	damon_va_split_evenly(t, damon_first_region(t), 1000);
	KUNIT_ASSERT_EQ(test, damon_nr_regions(t), 1000);
	damon_for_each_region(r, t) {
		KUNIT_EXPECT_EQ(test, r->ar.start, start);
		KUNIT_EXPECT_EQ(test, damon_sz_region(r), damon_test_pg(128));
		start = r->ar.end;
	}
	KUNIT_EXPECT_EQ(test, start, damon_test_pg(1000 * 128));
}

/* Fewer pages than pieces, or a single piece: the region stays whole. */
static void damon_test_va_split_evenly_too_small(struct kunit *test)
{
	static const unsigned long three[] = { 0, 3 };
	static const unsigned long one[] = { 7, 8 };
	static const unsigned long ten[] = { 0, 10 };

	damon_test_va_split(test, 0, 3, 4, three, ARRAY_SIZE(three));
	damon_test_va_split(test, 7, 8, 2, one, ARRAY_SIZE(one));
	damon_test_va_split(test, 0, 10, 1, ten, ARRAY_SIZE(ten));
}

/* Pieces go in right after the split region, before its neighbours. */
static void damon_test_va_split_evenly_between(struct kunit *test)
{
	static const unsigned long regions[] = { 0, 5, 10, 20, 30, 35 };
	static const unsigned long expect[] = {
		0, 5, 10, 15, 15, 20, 30, 35,
	};
	struct damon_target *t;

	t = damon_test_va_target(test, regions, ARRAY_SIZE(regions));
	damon_va_split_evenly(t, damon_next_region(damon_first_region(t)), 2);
	damon_test_expect_regions(test, t, expect, ARRAY_SIZE(expect));
}

/*
 * damon_va_init_target() asks for damon_sz_region(r) / sz pieces of each of
 * the three regions, sz being their total size over min_nr_regions.  A
 * region smaller than that, such as the stack next to a large heap and
 * mmap area, asks for zero pieces, and must stay whole rather than divide
 * by zero.
 */
static void damon_test_va_split_evenly_zero_pieces(struct kunit *test)
{
	static const unsigned long stack[] = { 0x7ffffffde, 0x7ffffffff };

	damon_test_va_split(test, 0x7ffffffde, 0x7ffffffff, 0, stack,
			    ARRAY_SIZE(stack));
}

/*
 * Guards: the quota weights summed in an unsigned int, which wrapped to 0
 * (a divide error) or, cast to int, to -1 (INT_MIN / -1 traps too), and the
 * age of a region times a huge aggregation interval.
 */
static void damon_test_va_score_weights(struct kunit *test)
{
	static const unsigned int weights[][2] = {
		{ UINT_MAX, 1 }, { 1, UINT_MAX }, { UINT_MAX, UINT_MAX },
		{ 1U << 31, 1U << 31 }, { INT_MAX, 1 }, { 0, 0 }, { 0, UINT_MAX },
	};
	struct damon_ctx *ctx = damon_new_ctx();
	struct damos_access_pattern p = {};
	struct damos_watermarks w = {};
	struct damos_quota q = {};
	struct damon_region r = {};
	struct damos *s;
	int i, hot, cold;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	s = damon_new_scheme(&p, DAMOS_PAGEOUT, 0, &q, &w, NUMA_NO_NODE);
	if (!s)
		damon_destroy_ctx(ctx);
	KUNIT_ASSERT_NOT_NULL(test, s);
	for (i = 0; i < ARRAY_SIZE(weights); i++) {
		s->quota.weight_nr_accesses = weights[i][0];
		s->quota.weight_age = weights[i][1];
		ctx->attrs.aggr_interval = i % 2 ? ULONG_MAX : 100000;
		r.age = i % 2 ? UINT_MAX : 10;
		r.nr_accesses_bp = i % 3 ? 0 : UINT_MAX;
		hot = damon_hot_score(ctx, &r, s);
		cold = damon_cold_score(ctx, &r, s);
		KUNIT_EXPECT_GE(test, hot, 0);
		KUNIT_EXPECT_LE(test, hot, DAMOS_MAX_SCORE);
		KUNIT_EXPECT_EQ(test, hot + cold, DAMOS_MAX_SCORE);
	}
	/* Weighing only frequency, the hottest region scores the highest. */
	s->quota.weight_nr_accesses = UINT_MAX;
	s->quota.weight_age = 0;
	ctx->attrs.aggr_interval = 100000;
	r.nr_accesses_bp = UINT_MAX;
	KUNIT_EXPECT_EQ(test, damon_hot_score(ctx, &r, s), DAMOS_MAX_SCORE);
	damon_destroy_scheme(s);
	damon_destroy_ctx(ctx);
}

/* === Sampling on a real address space === */

/* What one check of @addr says, through the sampling pass's helpers. */
static bool damon_test_va_young(unsigned long addr)
{
	struct damon_va_lock lk = { .mm = current->mm };
	struct damon_va_probe probe = {};

	damon_va_access(&lk, addr, &probe);
	damon_va_unlock(&lk);
	return probe.young;
}

/* Clear the Accessed bit of @addr; whether it was set. */
static bool damon_test_va_mkold(unsigned long addr)
{
	struct damon_va_lock lk = { .mm = current->mm };
	struct damon_va_probe probe = { .clear = true };

	damon_va_access(&lk, addr, &probe);
	damon_va_unlock(&lk);
	return probe.young;
}

/*
 * A touched page reads accessed, a cleared one not, until it is touched
 * again; a page never touched, or an address nothing maps, reads as not
 * accessed.  The TLB is flushed before the second touch: the CPU sets no
 * Accessed bit again through an entry it still caches.  Clearing tells
 * whether the bit was set, which decides whether arming flushes the TLB.
 */
static void damon_test_va_sample_pages(struct kunit *test)
{
	unsigned long addr = damon_test_mmap(test, 4);

	KUNIT_EXPECT_FALSE(test, damon_test_va_young(addr));
	damon_test_touch(test, addr);
	KUNIT_EXPECT_TRUE(test, damon_test_va_young(addr));
	KUNIT_EXPECT_FALSE(test, damon_test_va_young(addr + PAGE_SIZE));

	KUNIT_EXPECT_TRUE(test, damon_test_va_mkold(addr));
	KUNIT_EXPECT_FALSE(test, damon_test_va_young(addr));
	KUNIT_EXPECT_FALSE(test, damon_test_va_mkold(addr));
	flush_tlb_mm(current->mm);
	damon_test_touch(test, addr + 10);
	KUNIT_EXPECT_TRUE(test, damon_test_va_young(addr));

	/* Clearing a page nobody faulted in is no fault either. */
	KUNIT_EXPECT_FALSE(test, damon_test_va_mkold(addr + 3 * PAGE_SIZE));
	KUNIT_EXPECT_FALSE(test, damon_test_va_young(addr + 3 * PAGE_SIZE));
	KUNIT_EXPECT_FALSE(test, damon_test_va_young(0));
}

/*
 * A pass locks the VMA it samples, not the whole mm, where the kernel has
 * VMA locks, and keeps it for the next address in the same VMA.  An
 * address nothing maps is looked up under mmap_lock.
 */
static void damon_test_va_sample_locks(struct kunit *test)
{
	unsigned long addr = damon_test_mmap(test, 4);
	struct damon_va_lock lk = { .mm = current->mm };
	struct vm_area_struct *vma;

	vma = damon_va_lock_vma(&lk, addr);
	KUNIT_ASSERT_NOT_NULL(test, vma);
	KUNIT_EXPECT_EQ(test, lk.mmap_locked,
			!IS_ENABLED(CONFIG_PER_VMA_LOCK));
	KUNIT_EXPECT_PTR_EQ(test, damon_va_lock_vma(&lk, addr + PAGE_SIZE),
			    vma);
	KUNIT_EXPECT_NULL(test, damon_va_lock_vma(&lk, 0));
	KUNIT_EXPECT_TRUE(test, lk.mmap_locked);
	/* Under mmap_lock, the next lookup needs no new lock. */
	KUNIT_EXPECT_PTR_EQ(test, damon_va_lock_vma(&lk, addr), vma);
	KUNIT_EXPECT_TRUE(test, lk.mmap_locked);
	damon_va_unlock(&lk);
	KUNIT_EXPECT_NULL(test, lk.vma);
	KUNIT_EXPECT_FALSE(test, lk.mmap_locked);
	/* Nothing is left locked: the mm can be changed. */
	KUNIT_EXPECT_FALSE(test, rwsem_is_locked(&current->mm->mmap_lock));
#ifdef CONFIG_PER_VMA_LOCK
	KUNIT_EXPECT_FALSE(test, rwsem_is_locked(&vma->vm_lock->lock));
#endif
}

DAMON_KUNIT_SUITE(damon_test_va, "damon-operations",
		  /* The three regions of an address space */
		  KUNIT_CASE_PARAM(damon_test_va_three_regions_layouts,
				   damon_test_va_layouts_gen_params),
		  KUNIT_CASE(damon_test_va_three_regions_random),

		  /* Even split of the initial regions */
		  KUNIT_CASE(damon_test_va_split_evenly),
		  KUNIT_CASE(damon_test_va_split_evenly_aligned),
		  KUNIT_CASE(damon_test_va_split_evenly_many),

		  /* Even split: what cannot be split as asked */
		  KUNIT_CASE(damon_test_va_split_evenly_too_small),
		  KUNIT_CASE(damon_test_va_split_evenly_between),
		  KUNIT_CASE(damon_test_va_split_evenly_zero_pieces),

		  /* Scores, and sampling pages of the test's own mm */
		  KUNIT_CASE(damon_test_va_score_weights),
		  KUNIT_CASE(damon_test_va_sample_pages),
		  KUNIT_CASE(damon_test_va_sample_locks));

/* === Benchmark === */

/*
 * Time a batch of calls for at least this long, this many times, and keep
 * the fastest.  Long, because an emulated guest that cannot calibrate its
 * TSC falls back to a jiffies clocksource, which ticks every 4 ms at HZ=250.
 */
#define DAMON_BENCH_VA_BATCH_NS		(200 * NSEC_PER_MSEC)
#define DAMON_BENCH_VA_BATCHES		3
#define DAMON_BENCH_VA_SEED		7

static const unsigned long damon_bench_va_sizes[] = { 1000, 10000, 60000 };

static void damon_bench_va_desc(const unsigned long *nr_maps, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "n=%lu", *nr_maps);
}

KUNIT_ARRAY_PARAM(damon_bench_va_sizes, damon_bench_va_sizes,
		  damon_bench_va_desc);

/* Nanoseconds that @reps calls of @fn on @mt take. */
static u64 damon_bench_va_batch(struct maple_tree *mt,
				damon_test_va_search_fn fn, unsigned long reps)
{
	struct damon_addr_range ranges[3];
	unsigned long i;
	u64 start;

	start = ktime_get_ns();
	for (i = 0; i < reps; i++) {
		damon_test_va_search(mt, fn, ranges);
		barrier_data(ranges);
	}
	return ktime_get_ns() - start;
}

/* Nanoseconds per call of @fn on @mt: the best of a few long batches. */
static u64 damon_bench_va_time(struct maple_tree *mt,
			       damon_test_va_search_fn fn)
{
	unsigned long reps = 1;
	u64 ns, best = U64_MAX;
	int i;

	while (damon_bench_va_batch(mt, fn, reps) < DAMON_BENCH_VA_BATCH_NS) {
		reps *= 2;
		cond_resched();
	}
	for (i = 0; i < DAMON_BENCH_VA_BATCHES; i++) {
		ns = damon_bench_va_batch(mt, fn, reps);
		best = min(best, ns);
		cond_resched();
	}
	return div64_u64(best, reps);
}

/*
 * A tree of n mappings of 1 to 16 pages, a quarter of them touching their
 * predecessor and the others after a gap of 1 to 64 pages.
 */
static void damon_bench_va_three_regions(struct kunit *test)
{
	unsigned long nr_maps = *(const unsigned long *)test->param_value;
	struct damon_addr_range fast[3], slow[3];
	struct maple_tree *mt = damon_test_va_new_tree(test);
	unsigned long addr = 0x100000, start, i;
	u64 tree_ns, linear_ns, ratio;
	struct rnd_state rnd;
	int nr;

	prandom_seed_state(&rnd, DAMON_BENCH_VA_SEED);
	for (i = 0; i < nr_maps; i++) {
		if (prandom_u32_state(&rnd) % 4)
			addr += 1 + prandom_u32_state(&rnd) % 64;
		start = addr;
		addr += 1 + prandom_u32_state(&rnd) % 16;
		damon_test_va_map(test, mt, damon_test_pg(start),
				  damon_test_pg(addr));
		if (!(i % 1024))
			cond_resched();
	}

	/* A benchmark of a wrong answer would be worth nothing. */
	nr = damon_test_va_search(mt, damon_va_three_regions_mt, fast);
	KUNIT_ASSERT_EQ(test, nr,
			damon_test_va_search(mt, damon_va_three_regions_linear,
					     slow));
	KUNIT_ASSERT_TRUE(test, damon_test_va_same_ranges(fast, slow, nr));

	tree_ns = damon_bench_va_time(mt, damon_va_three_regions_mt);
	linear_ns = damon_bench_va_time(mt, damon_va_three_regions_linear);
	ratio = div64_u64(linear_ns * 100, max(tree_ns, 1ULL));
	kunit_info(test,
		   "three_regions n=%lu gap_tree_ns=%llu linear_ns=%llu ratio=%llu.%02llu\n",
		   nr_maps, tree_ns, linear_ns, ratio / 100, ratio % 100);
}

/* === Benchmark: the cost of a sample === */

/*
 * What a region-sample costs at the least, next to what it costs through
 * DAMON's own helpers, on a mapping of the test thread's own mm as large as
 * the workload of the stock-vs-ours overhead test (256 MiB).
 *
 * The floor takes a random address in each of as many equal slices of the
 * mapping as there are regions, in address order as DAMON visits its
 * regions (so that the walks share as much of the page table and the
 * caches as DAMON's can), descends the page table to it and tests and
 * clears its Accessed bit: reading the last sample and arming the next in
 * one go, with mmap_lock held across the whole loop, no regions, no VMA
 * lookup and no counting.  The page table lock stays, as
 * clearing a bit of an entry that turned into a swap entry meanwhile would
 * corrupt it.
 *
 * DAMON's pass is damon_va_check_accesses() for one target whose mm is
 * known: a check of every region's sampling address, the count update, then
 * the arming of new addresses and the TLB flush (damon_vaddr.flush_tlb).
 * It cannot call the function itself: a KUnit thread is a kernel thread, so
 * the target's pid would give no mm.
 */
#define DAMON_BENCH_VA_SAMPLE_SZ	(256UL << 20)

struct damon_bench_va_sampling {
	unsigned long nr_regions;
	bool thp;
};

static const struct damon_bench_va_sampling damon_bench_va_samplings[] = {
	{ .nr_regions = 1000 }, { .nr_regions = 10000 },
	{ .nr_regions = 1000, .thp = true }, { .nr_regions = 10000, .thp = true },
};

static void damon_bench_va_sampling_desc(const struct damon_bench_va_sampling *p,
					 char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "regions=%lu pages=%s",
		 p->nr_regions, p->thp ? "thp" : "pte");
}

KUNIT_ARRAY_PARAM(damon_bench_va_samplings, damon_bench_va_samplings,
		  damon_bench_va_sampling_desc);

/* What one pass of either kind works on. */
struct damon_bench_va_pass {
	struct vm_area_struct *vma;	/* of the floor, under mmap_lock */
	struct damon_target *t;
	struct damon_attrs attrs;
	unsigned long start, nr_samples, sz_slice;
	unsigned long young;		/* Accessed bits found, kept live */
};

/* The PMD entry mapping @addr in @mm, or NULL: a plain descent. */
static pmd_t *damon_bench_va_pmd(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;

	if (pgd_none(pgdp_get(pgd)) || pgd_bad(pgdp_get(pgd)))
		return NULL;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(p4dp_get(p4d)) || p4d_bad(p4dp_get(p4d)))
		return NULL;
	pud = pud_offset(p4d, addr);
	if (pud_none(pudp_get(pud)) || pud_leaf(pudp_get(pud)) ||
	    pud_bad(pudp_get(pud)))
		return NULL;
	return pmd_offset(pud, addr);
}

/* Test and clear the Accessed bit mapping @addr of @vma. */
static bool damon_bench_va_floor_one(struct vm_area_struct *vma,
				     unsigned long addr)
{
	pmd_t *pmd = damon_bench_va_pmd(vma->vm_mm, addr);
	spinlock_t *ptl;	/* the page table lock */
	bool young = false;
	pte_t *pte;

	if (!pmd)
		return false;
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	if (pmd_trans_huge(pmdp_get_lockless(pmd))) {
		ptl = pmd_trans_huge_lock(pmd, vma);
		if (ptl) {
			young = pmdp_test_and_clear_young(vma, addr, pmd);
			spin_unlock(ptl);
			return young;
		}
	}
#endif
	pte = pte_offset_map_lock(vma->vm_mm, pmd, addr, &ptl);
	if (!pte)
		return false;
	if (pte_present(ptep_get(pte)))
		young = ptep_test_and_clear_young(vma, addr, pte);
	pte_unmap_unlock(pte, ptl);
	return young;
}

static void damon_bench_va_floor_pass(struct damon_bench_va_pass *p)
{
	unsigned long i, addr, slice = p->start;

	for (i = 0; i < p->nr_samples; i++, slice += p->sz_slice) {
		addr = damon_rand(slice, slice + p->sz_slice);
		p->young += damon_bench_va_floor_one(p->vma, addr);
	}
}

/* damon_va_check_accesses() for @p->t, on the test thread's mm. */
static void damon_bench_va_damon_pass(struct damon_bench_va_pass *p)
{
	struct damon_va_lock lk = { .mm = current->mm };
	struct damon_va_probe probe;
	struct damon_region *r;

	damon_for_each_region(r, p->t) {
		probe = (struct damon_va_probe){};
		damon_va_access(&lk, r->sampling_addr, &probe);
		r->sampling_armed = false;
		damon_update_region_access_rate(r, probe.young, &p->attrs);
		p->young += probe.young;
	}
	damon_va_unlock(&lk);
	damon_va_arm_target(p->t, current->mm, true);
}

/* Nanoseconds that @reps passes of @fn take. */
static u64 damon_bench_va_passes(struct damon_bench_va_pass *p,
				 void (*fn)(struct damon_bench_va_pass *),
				 unsigned long reps)
{
	unsigned long i;
	u64 start;

	start = ktime_get_ns();
	for (i = 0; i < reps; i++) {
		fn(p);
		cond_resched();
	}
	return ktime_get_ns() - start;
}

/*
 * Nanoseconds per sample of @fn: the best of a few long batches, as
 * damon_bench_va_time().
 */
static u64 damon_bench_va_sample_ns(struct damon_bench_va_pass *p,
				    void (*fn)(struct damon_bench_va_pass *))
{
	unsigned long reps = 1;
	u64 ns, best = U64_MAX;
	int i;

	while (damon_bench_va_passes(p, fn, reps) < DAMON_BENCH_VA_BATCH_NS)
		reps *= 2;
	for (i = 0; i < DAMON_BENCH_VA_BATCHES; i++) {
		ns = damon_bench_va_passes(p, fn, reps);
		best = min(best, ns);
	}
	return div64_u64(best, reps * p->nr_samples);
}

/*
 * Map and fault in the mapping, huge pages or small as asked, cut it into
 * the regions of a target, and time both kinds of pass.  Asserts only that
 * the mapping is in place.
 */
static void damon_bench_va_sampling(struct kunit *test)
{
	const struct damon_bench_va_sampling *param = test->param_value;
	struct damon_bench_va_pass p = {
		.attrs = { .sample_interval = 5000, .aggr_interval = 100000 },
		.nr_samples = param->nr_regions,
	};
	struct mm_struct *mm;
	unsigned long addr, nr_huge = 0;
	struct damon_region *r;
	u64 floor_ns = 0, damon_ns, ratio;
	pmd_t *pmd;
	int err;

	p.start = damon_test_mmap(test, DAMON_BENCH_VA_SAMPLE_SZ >> PAGE_SHIFT);
	mm = current->mm;
	/* Refused without THP: the faults below map small pages then. */
	do_madvise(mm, p.start, DAMON_BENCH_VA_SAMPLE_SZ,
		   param->thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	for (addr = p.start; addr < p.start + DAMON_BENCH_VA_SAMPLE_SZ;
	     addr += PAGE_SIZE) {
		damon_test_touch(test, addr);
		if (!(addr & (PMD_SIZE - 1)))
			cond_resched();
	}

	p.t = damon_new_target();
	KUNIT_ASSERT_NOT_NULL(test, p.t);
	err = kunit_add_action_or_reset(test, damon_test_free_target, p.t);
	KUNIT_ASSERT_EQ(test, err, 0);
	p.sz_slice = ALIGN_DOWN(DAMON_BENCH_VA_SAMPLE_SZ / param->nr_regions,
				PAGE_SIZE);
	for (addr = p.start; damon_nr_regions(p.t) < param->nr_regions;
	     addr += p.sz_slice) {
		r = damon_new_region(addr, addr + p.sz_slice);
		KUNIT_ASSERT_NOT_NULL(test, r);
		damon_add_region(r, p.t);
	}
	KUNIT_ASSERT_EQ(test, damon_nr_regions(p.t), param->nr_regions);

	mmap_read_lock(mm);
	p.vma = vma_lookup(mm, p.start);
	if (p.vma && p.vma->vm_end < p.start + DAMON_BENCH_VA_SAMPLE_SZ)
		p.vma = NULL;
	for (addr = p.start; p.vma && addr < p.vma->vm_end; addr += PMD_SIZE) {
		pmd = damon_bench_va_pmd(mm, addr);
		nr_huge += pmd && pmd_trans_huge(pmdp_get_lockless(pmd));
	}
	if (p.vma)
		floor_ns = damon_bench_va_sample_ns(&p, damon_bench_va_floor_pass);
	mmap_read_unlock(mm);
	KUNIT_ASSERT_NOT_NULL_MSG(test, p.vma, "the mapping is not one VMA");

	damon_va_arm_target(p.t, mm, true);
	damon_ns = damon_bench_va_sample_ns(&p, damon_bench_va_damon_pass);
	ratio = div64_u64(damon_ns * 100, max(floor_ns, 1ULL));
	kunit_info(test,
		   "sampling regions=%lu pages=%s huge_pct=%lu flush_tlb=%d floor_ns_per_sample=%llu damon_ns_per_sample=%llu ratio=%llu.%02llu\n",
		   param->nr_regions, param->thp ? "thp" : "pte",
		   nr_huge * 100 / (DAMON_BENCH_VA_SAMPLE_SZ / PMD_SIZE),
		   READ_ONCE(damon_va_flush_tlb), floor_ns, damon_ns,
		   ratio / 100, ratio % 100);
}

DAMON_KUNIT_BENCH(damon_bench_va, "damon-operations-bench",
		  KUNIT_CASE_PARAM_ATTR(damon_bench_va_three_regions,
					damon_bench_va_sizes_gen_params,
					{ .speed = KUNIT_SPEED_SLOW }),
		  KUNIT_CASE_PARAM_ATTR(damon_bench_va_sampling,
					damon_bench_va_samplings_gen_params,
					{ .speed = KUNIT_SPEED_SLOW }));

#endif	/* _DAMON_VADDR_KUNIT_H */

#endif	/* CONFIG_DAMON_VADDR_KUNIT_TEST */
