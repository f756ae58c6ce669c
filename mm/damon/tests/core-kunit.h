/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit suite of the DAMON core, included by core.c so that it can reach
 * the file's static helpers.
 *
 * Addresses are written in pages (damon_test_pg()), so every test holds for
 * any %DAMON_MIN_REGION the kernel is built with.
 */

#ifdef CONFIG_DAMON_KUNIT_TEST

#ifndef _DAMON_CORE_KUNIT_H
#define _DAMON_CORE_KUNIT_H

#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/prandom.h>
#include <linux/sched/task.h>
#include <linux/sort.h>

#include "kunit-common.h"

/* A target with regions [pages[0], pages[1]), [pages[2], pages[3]), ... */
static struct damon_target *damon_test_target(struct kunit *test,
					      const unsigned long *pages,
					      unsigned int nr_pages)
{
	struct damon_target *t = damon_new_target();

	KUNIT_ASSERT_NOT_NULL(test, t);
	damon_test_add_regions(test, t, pages, nr_pages);
	return t;
}

static void damon_test_new_region(struct kunit *test)
{
	struct damon_target *t = damon_new_target();
	struct damon_region *r;

	KUNIT_ASSERT_NOT_NULL(test, t);
	r = damon_new_region(damon_test_pg(1), damon_test_pg(4));
	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_EXPECT_EQ(test, r->ar.start, damon_test_pg(1));
	KUNIT_EXPECT_EQ(test, r->ar.end, damon_test_pg(4));
	KUNIT_EXPECT_EQ(test, damon_sz_region(r), damon_test_pg(3));
	KUNIT_EXPECT_EQ(test, r->nr_accesses, 0);
	KUNIT_EXPECT_EQ(test, r->nr_accesses_bp, 0);
	KUNIT_EXPECT_EQ(test, r->last_nr_accesses, 0);
	KUNIT_EXPECT_EQ(test, r->age, 0);

	damon_add_region(r, t);
	KUNIT_EXPECT_EQ(test, damon_nr_regions(t), 1);
	KUNIT_EXPECT_PTR_EQ(test, damon_first_region(t), r);
	KUNIT_EXPECT_PTR_EQ(test, damon_last_region(t), r);
	damon_free_target(t);
}

static void damon_test_region_links(struct kunit *test)
{
	const unsigned long pages[] = { 0, 1, 2, 3, 5, 8 };
	struct damon_target *t = damon_test_target(test, pages, 6);
	struct damon_region *first, *mid, *last, *r;
	unsigned int i = 0;

	damon_test_expect_regions(test, t, pages, 6);
	first = damon_first_region(t);
	last = damon_last_region(t);
	mid = damon_next_region(first);
	KUNIT_EXPECT_PTR_EQ(test, damon_next_region(mid), last);
	KUNIT_EXPECT_PTR_EQ(test, damon_prev_region(last), mid);
	KUNIT_EXPECT_PTR_EQ(test, damon_prev_region(mid), first);

	r = mid;
	damon_for_each_region_from(r, t)
		i++;
	KUNIT_EXPECT_EQ(test, i, 2);
	damon_free_target(t);
}

static void damon_test_insert_region(struct kunit *test)
{
	const unsigned long pages[] = { 0, 1, 4, 5 };
	const unsigned long want[] = { 0, 1, 2, 3, 4, 5 };
	struct damon_target *t = damon_test_target(test, pages, 4);
	struct damon_region *r;

	r = damon_new_region(damon_test_pg(2), damon_test_pg(3));
	KUNIT_ASSERT_NOT_NULL(test, r);
	damon_insert_region(r, damon_first_region(t), damon_last_region(t), t);
	damon_test_expect_regions(test, t, want, 6);
	damon_free_target(t);
}

static void damon_test_destroy_region(struct kunit *test)
{
	const unsigned long pages[] = { 0, 1, 2, 3, 4, 5 };
	const unsigned long want[] = { 0, 1, 4, 5 };
	struct damon_target *t = damon_test_target(test, pages, 6);
	struct damon_region *r, *next;

	damon_destroy_region(damon_next_region(damon_first_region(t)), t);
	damon_test_expect_regions(test, t, want, 4);

	damon_for_each_region_safe(r, next, t)
		damon_destroy_region(r, t);
	KUNIT_EXPECT_EQ(test, damon_nr_regions(t), 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&t->regions_list));
	damon_free_target(t);
}

static void damon_test_targets(struct kunit *test)
{
	const unsigned long pages[] = { 0, 3, 7, 9 };
	struct damon_ctx *ctx = damon_new_ctx();
	struct damon_target *t, *t2, *iter;
	unsigned int nr = 0;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	KUNIT_EXPECT_TRUE(test, damon_targets_empty(ctx));

	t = damon_new_target();
	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_EXPECT_NULL(test, t->pid);
	KUNIT_EXPECT_EQ(test, damon_nr_regions(t), 0);
	damon_add_target(ctx, t);
	t2 = damon_test_target(test, pages, 4);
	damon_add_target(ctx, t2);
	KUNIT_EXPECT_FALSE(test, damon_targets_empty(ctx));

	damon_for_each_target(iter, ctx) {
		KUNIT_EXPECT_PTR_EQ(test, iter, nr ? t2 : t);
		nr++;
	}
	KUNIT_EXPECT_EQ(test, nr, 2);

	damon_destroy_target(t);
	KUNIT_EXPECT_PTR_EQ(test, list_first_entry(&ctx->adaptive_targets,
						   struct damon_target, list), t2);
	/* t2 and its regions go with the context. */
	damon_destroy_ctx(ctx);
}

static void damon_test_ctx_defaults(struct kunit *test)
{
	struct damon_ctx *ctx = damon_new_ctx();

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	KUNIT_EXPECT_EQ(test, ctx->attrs.sample_interval, 5000);
	KUNIT_EXPECT_EQ(test, ctx->attrs.aggr_interval, 100000);
	KUNIT_EXPECT_EQ(test, ctx->attrs.ops_update_interval, 60000000);
	KUNIT_EXPECT_EQ(test, ctx->attrs.min_nr_regions, 10);
	KUNIT_EXPECT_EQ(test, ctx->attrs.max_nr_regions, 1000);
	KUNIT_EXPECT_TRUE(test, list_empty(&ctx->schemes));
	KUNIT_EXPECT_NULL(test, ctx->kdamond);
	damon_destroy_ctx(ctx);
}

/* Set @ranges (in pages) on a target holding @pages, expect @want. */
static void damon_test_set(struct kunit *test,
			   const unsigned long *pages, unsigned int nr_pages,
			   const unsigned long *ranges, unsigned int nr_ranges,
			   const unsigned long *want, unsigned int nr_want)
{
	struct damon_target *t = damon_test_target(test, pages, nr_pages);
	struct damon_addr_range ar[8];
	unsigned int i;

	KUNIT_ASSERT_LE(test, nr_ranges, ARRAY_SIZE(ar));
	for (i = 0; i < nr_ranges; i++) {
		ar[i].start = damon_test_pg(ranges[i * 2]);
		ar[i].end = damon_test_pg(ranges[i * 2 + 1]);
	}
	KUNIT_EXPECT_EQ(test, damon_set_regions(t, ar, nr_ranges), 0);
	damon_test_expect_regions(test, t, want, nr_want);
	damon_free_target(t);
}

static void damon_test_set_regions_empty_target(struct kunit *test)
{
	const unsigned long ranges[] = { 2, 5, 9, 10 };

	damon_test_set(test, NULL, 0, ranges, 2, ranges, 4);
}

static void damon_test_set_regions_no_range(struct kunit *test)
{
	const unsigned long pages[] = { 0, 2, 4, 6 };

	damon_test_set(test, pages, 4, NULL, 0, NULL, 0);
}

static void damon_test_set_regions_same(struct kunit *test)
{
	const unsigned long pages[] = { 0, 2, 2, 6, 8, 9 };
	const unsigned long ranges[] = { 0, 6, 8, 9 };

	damon_test_set(test, pages, 6, ranges, 2, pages, 6);
}

static void damon_test_set_regions_adjacent(struct kunit *test)
{
	const unsigned long ranges[] = { 0, 2, 2, 4, 4, 5 };
	const unsigned long pages[] = { 1, 3 };
	const unsigned long want[] = { 0, 2, 2, 4, 4, 5 };

	/* One region spanning two touching ranges ends up in the first. */
	damon_test_set(test, pages, 2, ranges, 3, want, 6);
}

static void damon_test_set_regions_trim_and_stretch(struct kunit *test)
{
	/* The range cuts into the first region and stops short of the last. */
	const unsigned long pages[] = { 0, 4, 4, 6, 6, 12 };
	const unsigned long ranges[] = { 2, 9 };
	const unsigned long want[] = { 2, 4, 4, 6, 6, 9 };
	/* The range reaches past both ends of the regions. */
	const unsigned long pages2[] = { 3, 4, 5, 6 };
	const unsigned long ranges2[] = { 1, 8 };
	const unsigned long want2[] = { 1, 4, 4, 5, 5, 8 };

	damon_test_set(test, pages, 6, ranges, 1, want, 6);
	damon_test_set(test, pages2, 4, ranges2, 1, want2, 6);
}

static void damon_test_set_regions_drop_and_fill(struct kunit *test)
{
	/*
	 * [0, 1) and [20, 21) touch no range and go; the hole [3, 5) gets a
	 * new region while [5, 6), the last one in the first range, stretches
	 * to its end; [10, 12) is trimmed to the second range and the third
	 * range, with nothing in it, gets a region of its own.
	 */
	const unsigned long pages[] = { 0, 1, 2, 3, 5, 6, 10, 12, 20, 21 };
	const unsigned long ranges[] = { 2, 8, 11, 12, 14, 16 };
	const unsigned long want[] = { 2, 3, 3, 5, 5, 8, 11, 12, 14, 16 };

	damon_test_set(test, pages, 10, ranges, 3, want, 10);
}

static void damon_test_set_regions_spanning(struct kunit *test)
{
	/* One region reaching over three ranges is cut down to the first. */
	const unsigned long pages[] = { 0, 10 };
	const unsigned long ranges[] = { 1, 2, 4, 5, 7, 8 };

	damon_test_set(test, pages, 2, ranges, 3, ranges, 6);
}

static void damon_test_set_regions_keeps_history(struct kunit *test)
{
	const unsigned long pages[] = { 0, 2, 4, 6 };
	struct damon_target *t = damon_test_target(test, pages, 4);
	struct damon_addr_range ar = {
		.start = damon_test_pg(1), .end = damon_test_pg(8),
	};
	struct damon_region *r;

	damon_first_region(t)->nr_accesses = 3;
	damon_first_region(t)->age = 7;
	damon_last_region(t)->nr_accesses = 5;
	KUNIT_ASSERT_EQ(test, damon_set_regions(t, &ar, 1), 0);
	KUNIT_ASSERT_EQ(test, damon_nr_regions(t), 3);

	r = damon_first_region(t);
	KUNIT_EXPECT_EQ(test, r->nr_accesses, 3);
	KUNIT_EXPECT_EQ(test, r->age, 7);
	r = damon_next_region(r);
	KUNIT_EXPECT_EQ(test, r->ar.start, damon_test_pg(2));
	KUNIT_EXPECT_EQ(test, r->nr_accesses, 0);
	KUNIT_EXPECT_EQ(test, damon_last_region(t)->nr_accesses, 5);
	damon_free_target(t);
}

static void damon_test_set_regions_alignment(struct kunit *test)
{
	const unsigned long half = DAMON_MIN_REGION / 2;
	struct damon_addr_range ar[] = {
		/* Widened to [1, 3) pages. */
		{ damon_test_pg(1) + 1, damon_test_pg(3) - 1 },
		/* Widened to [2, 4); the page it shares stays with the first. */
		{ damon_test_pg(3) - 1, damon_test_pg(3) + half },
		/* Inside the page the previous range took: nothing is left. */
		{ damon_test_pg(3) + half + 1, damon_test_pg(3) + half + 2 },
	};
	const unsigned long want[] = { 1, 3, 3, 4 };
	struct damon_target *t = damon_new_target();

	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_EXPECT_EQ(test, damon_set_regions(t, ar, ARRAY_SIZE(ar)), 0);
	damon_test_expect_regions(test, t, want, 4);
	damon_free_target(t);
}

static void damon_test_set_regions_invalid(struct kunit *test)
{
	const unsigned long pages[] = { 0, 2, 4, 6 };
	struct damon_target *t = damon_test_target(test, pages, 4);
	struct damon_addr_range overlap[] = {
		{ damon_test_pg(0), damon_test_pg(3) },
		{ damon_test_pg(2), damon_test_pg(5) },
	};
	struct damon_addr_range unsorted[] = {
		{ damon_test_pg(4), damon_test_pg(5) },
		{ damon_test_pg(0), damon_test_pg(1) },
	};
	struct damon_addr_range empty = { damon_test_pg(3), damon_test_pg(3) };
	struct damon_addr_range inverted = { damon_test_pg(5), damon_test_pg(1) };

	KUNIT_EXPECT_EQ(test, damon_set_regions(t, overlap, 2), -EINVAL);
	KUNIT_EXPECT_EQ(test, damon_set_regions(t, unsorted, 2), -EINVAL);
	KUNIT_EXPECT_EQ(test, damon_set_regions(t, &empty, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, damon_set_regions(t, &inverted, 1), -EINVAL);
	damon_test_expect_regions(test, t, pages, 4);
	damon_free_target(t);
}

/*
 * Random regions and ranges: the result must be sane and cover exactly the
 * ranges, and every region that survived must sit inside a range.
 */
static void damon_test_set_regions_random(struct kunit *test)
{
	struct damon_addr_range ar[8];
	struct damon_target *t;
	struct damon_region *r;
	struct rnd_state rnd;
	unsigned long pos, covered, want;
	unsigned int round, i, nr;

	prandom_seed_state(&rnd, 42);
	for (round = 0; round < 200; round++) {
		t = damon_new_target();
		KUNIT_ASSERT_NOT_NULL(test, t);
		for (pos = prandom_u32_state(&rnd) % 4; pos < 64;) {
			unsigned long len = 1 + prandom_u32_state(&rnd) % 8;

			r = damon_new_region(damon_test_pg(pos),
					     damon_test_pg(pos + len));
			KUNIT_ASSERT_NOT_NULL(test, r);
			damon_add_region(r, t);
			pos += len + prandom_u32_state(&rnd) % 3;
		}

		nr = prandom_u32_state(&rnd) % ARRAY_SIZE(ar);
		want = 0;
		for (i = 0, pos = 0; i < nr; i++) {
			ar[i].start = damon_test_pg(pos + prandom_u32_state(&rnd) % 5);
			ar[i].end = ar[i].start +
				damon_test_pg(1 + prandom_u32_state(&rnd) % 10);
			pos = ar[i].end / DAMON_MIN_REGION;
			want += ar[i].end - ar[i].start;
		}

		KUNIT_ASSERT_EQ(test, damon_set_regions(t, ar, nr), 0);
		damon_test_expect_sane(test, t);
		covered = 0;
		i = 0;
		damon_for_each_region(r, t) {
			while (i < nr && ar[i].end <= r->ar.start)
				i++;
			KUNIT_ASSERT_LT_MSG(test, i, nr,
					    "round %u: region past all ranges",
					    round);
			KUNIT_EXPECT_GE(test, r->ar.start, ar[i].start);
			KUNIT_EXPECT_LE(test, r->ar.end, ar[i].end);
			covered += damon_sz_region(r);
		}
		KUNIT_EXPECT_EQ_MSG(test, covered, want, "round %u", round);
		damon_free_target(t);
	}
}

DAMON_KUNIT_SUITE(damon_test, "damon",
		  /* Regions, targets and contexts */
		  KUNIT_CASE(damon_test_new_region),
		  KUNIT_CASE(damon_test_region_links),
		  KUNIT_CASE(damon_test_insert_region),
		  KUNIT_CASE(damon_test_destroy_region),
		  KUNIT_CASE(damon_test_targets),
		  KUNIT_CASE(damon_test_ctx_defaults),

		  /* damon_set_regions(): hand-written ranges */
		  KUNIT_CASE(damon_test_set_regions_empty_target),
		  KUNIT_CASE(damon_test_set_regions_no_range),
		  KUNIT_CASE(damon_test_set_regions_same),
		  KUNIT_CASE(damon_test_set_regions_adjacent),

		  /* damon_set_regions(): reshaping what is there */
		  KUNIT_CASE(damon_test_set_regions_trim_and_stretch),
		  KUNIT_CASE(damon_test_set_regions_drop_and_fill),
		  KUNIT_CASE(damon_test_set_regions_spanning),
		  KUNIT_CASE(damon_test_set_regions_keeps_history),

		  /* damon_set_regions(): bad, unaligned and random input */
		  KUNIT_CASE(damon_test_set_regions_alignment),
		  KUNIT_CASE(damon_test_set_regions_invalid),
		  KUNIT_CASE(damon_test_set_regions_random));

/*
 * === The monitoring engine ===
 *
 * Attributes, the adaptive regions (merge, split, access rate) and the
 * kdamond with its damon_call() requests.  The kdamond tests drive a fake
 * operations set, so they need no address space and run the same whichever
 * real sets the kernel has.
 */

/* Monitoring attributes; intervals in microseconds. */
static struct damon_attrs damon_test_attrs(unsigned long sample,
					   unsigned long aggr,
					   unsigned long min_nr_regions,
					   unsigned long max_nr_regions)
{
	return (struct damon_attrs){
		.sample_interval = sample,
		.aggr_interval = aggr,
		.ops_update_interval = 60 * USEC_PER_SEC,
		.min_nr_regions = min_nr_regions,
		.max_nr_regions = max_nr_regions,
	};
}

/*
 * A context with one empty target.  It goes with all its regions when the
 * test ends, even one an assertion cut short, so nothing leaks into the
 * kmemleak report.
 */
static struct damon_ctx *damon_test_new_ctx(struct kunit *test,
					    struct damon_target **tp)
{
	struct damon_ctx *ctx = damon_new_ctx();
	struct damon_target *t;
	int err;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	err = kunit_add_action_or_reset(test, damon_test_destroy_ctx, ctx);
	KUNIT_ASSERT_EQ(test, err, 0);
	t = damon_new_target();
	KUNIT_ASSERT_NOT_NULL(test, t);
	damon_add_target(ctx, t);
	*tp = t;
	return ctx;
}

/* A region of a test layout; addresses in pages. */
struct damon_test_region {
	unsigned long start, end;
	unsigned int nr_accesses, nr_accesses_bp, last_nr_accesses, age;
};

/* Append the regions of @spec, with their counters, to @t. */
static void damon_test_add(struct kunit *test, struct damon_target *t,
			   const struct damon_test_region *spec,
			   unsigned int nr)
{
	struct damon_region *r;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		r = damon_new_region(damon_test_pg(spec[i].start),
				     damon_test_pg(spec[i].end));
		KUNIT_ASSERT_NOT_NULL(test, r);
		r->nr_accesses = spec[i].nr_accesses;
		r->nr_accesses_bp = spec[i].nr_accesses_bp;
		r->last_nr_accesses = spec[i].last_nr_accesses;
		r->age = spec[i].age;
		damon_add_region(r, t);
	}
}

/* @r has the range and the counters @want describes. */
static void damon_test_expect_region(struct kunit *test,
				     struct damon_region *r,
				     const struct damon_test_region *want)
{
	unsigned long start = want->start, end = want->end;

	KUNIT_EXPECT_EQ_MSG(test, r->ar.start, damon_test_pg(start),
			    "start of region [%lu, %lu)", start, end);
	KUNIT_EXPECT_EQ_MSG(test, r->ar.end, damon_test_pg(end),
			    "end of region [%lu, %lu)", start, end);
	KUNIT_EXPECT_EQ_MSG(test, r->nr_accesses, want->nr_accesses,
			    "nr_accesses of region [%lu, %lu)", start, end);
	KUNIT_EXPECT_EQ_MSG(test, r->nr_accesses_bp, want->nr_accesses_bp,
			    "nr_accesses_bp of region [%lu, %lu)", start, end);
	KUNIT_EXPECT_EQ_MSG(test, r->last_nr_accesses, want->last_nr_accesses,
			    "last_nr_accesses of region [%lu, %lu)", start, end);
	KUNIT_EXPECT_EQ_MSG(test, r->age, want->age,
			    "age of region [%lu, %lu)", start, end);
}

/* The regions of @t are exactly @want, ranges and counters. */
static void damon_test_expect_layout(struct kunit *test,
				     struct damon_target *t,
				     const struct damon_test_region *want,
				     unsigned int nr)
{
	struct damon_region *r;
	unsigned int i = 0;

	damon_test_expect_sane(test, t);
	KUNIT_ASSERT_EQ(test, damon_nr_regions(t), nr);
	damon_for_each_region(r, t)
		damon_test_expect_region(test, r, &want[i++]);
}

/*
 * Whether the regions of @t are sorted, aligned, counted right and tile
 * [@start, @end) with neither hole nor overlap; the first violation is
 * reported, once, so that a loop over many regions does not flood the log.
 */
static bool damon_test_check_tiling(struct kunit *test, struct damon_target *t,
				    unsigned long start, unsigned long end,
				    const char *when)
{
	struct damon_region *r;
	unsigned long pos = start;
	unsigned int nr = 0;

	damon_for_each_region(r, t) {
		if (r->ar.start != pos || r->ar.end <= r->ar.start ||
		    !IS_ALIGNED(r->ar.start, DAMON_MIN_REGION) ||
		    !IS_ALIGNED(r->ar.end, DAMON_MIN_REGION)) {
			KUNIT_FAIL(test,
				   "%s: region %u is [%#lx, %#lx), not aligned, empty, or not at %#lx",
				   when, nr, r->ar.start, r->ar.end, pos);
			return false;
		}
		pos = r->ar.end;
		nr++;
	}
	if (pos != end || nr != damon_nr_regions(t)) {
		KUNIT_FAIL(test, "%s: %u regions (nr_regions %u) cover up to %#lx, not %#lx",
			   when, nr, damon_nr_regions(t), pos, end);
		return false;
	}
	return true;
}

/* --- damon_set_attrs() --- */

static void damon_test_set_attrs_invalid(struct kunit *test)
{
	struct damon_attrs bad[] = {
		/* Too few regions to adapt with. */
		damon_test_attrs(5000, 100000, 2, 1000),
		damon_test_attrs(5000, 100000, 0, 1000),
		/* A minimum above the maximum. */
		damon_test_attrs(5000, 100000, 11, 10),
		/* No aggregation interval, with or without sampling. */
		damon_test_attrs(0, 0, 10, 1000),
		damon_test_attrs(5000, 0, 10, 1000),
		/* More than one aggregation per sample. */
		damon_test_attrs(100001, 100000, 10, 1000),
	};
	const struct damon_test_region spec = {
		.start = 0, .end = 4, .nr_accesses = 10,
		.nr_accesses_bp = 100000, .last_nr_accesses = 4, .age = 6,
	};
	struct damon_attrs before, ok;
	struct damon_target *t;
	struct damon_ctx *ctx = damon_test_new_ctx(test, &t);
	unsigned int i;

	damon_test_add(test, t, &spec, 1);
	ctx->passed_sample_intervals = 7;
	ctx->next_aggregation_sis = 27;
	ctx->next_ops_update_sis = 12007;
	before = ctx->attrs;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		KUNIT_EXPECT_EQ_MSG(test, damon_set_attrs(ctx, &bad[i]),
				    -EINVAL, "bad attrs %u accepted", i);
		KUNIT_EXPECT_MEMEQ_MSG(test, &ctx->attrs, &before,
				       sizeof(before),
				       "bad attrs %u changed the attributes", i);
		KUNIT_EXPECT_EQ_MSG(test, ctx->next_aggregation_sis, 27,
				    "bad attrs %u moved the aggregation", i);
		KUNIT_EXPECT_EQ_MSG(test, ctx->next_ops_update_sis, 12007,
				    "bad attrs %u moved the ops update", i);
		damon_test_expect_layout(test, t, &spec, 1);
	}

	/* The edges of what is valid are accepted. */
	ok = damon_test_attrs(5000, 100000, 3, 3);
	KUNIT_EXPECT_EQ(test, damon_set_attrs(ctx, &ok), 0);
	KUNIT_EXPECT_MEMEQ(test, &ctx->attrs, &ok, sizeof(ok));
	ok = damon_test_attrs(100000, 100000, 3, 1000);
	KUNIT_EXPECT_EQ(test, damon_set_attrs(ctx, &ok), 0);
	KUNIT_EXPECT_EQ(test, damon_max_nr_accesses(&ctx->attrs), 1);
}

static void damon_test_set_attrs_rescale(struct kunit *test)
{
	const struct damon_test_region spec[] = {
		{ 0, 4, 10, 100000, 4, 6 },
		{ 4, 10, 20, 200000, 20, 1 },
	};
	/*
	 * Twice the aggregation: twice the samples, half the age.  The
	 * aggregation under way starts over, so its count goes.
	 */
	const struct damon_test_region longer_aggr[] = {
		{ 0, 4, 0, 200000, 8, 3 },
		{ 4, 10, 0, 400000, 40, 0 },
	};
	/* Twice the sampling: half the samples, same age. */
	const struct damon_test_region longer_sample[] = {
		{ 0, 4, 0, 100000, 4, 3 },
		{ 4, 10, 0, 200000, 20, 0 },
	};
	/* 50 samples over a quarter of the aggregation interval. */
	const struct damon_test_region shorter[] = {
		{ 0, 4, 0, 250000, 10, 12 },
		{ 4, 10, 0, 500000, 50, 0 },
	};
	struct damon_attrs attrs = damon_test_attrs(5000, 100000, 10, 1000);
	struct damon_target *t;
	struct damon_ctx *ctx = damon_test_new_ctx(test, &t);
	unsigned long next_update;

	/* The defaults again: 20 samples per aggregation, nothing moves. */
	KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	damon_test_add(test, t, spec, ARRAY_SIZE(spec));
	ctx->passed_sample_intervals = 7;
	next_update = ctx->next_ops_update_sis;

	attrs = damon_test_attrs(5000, 200000, 10, 1000);
	KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	damon_test_expect_layout(test, t, longer_aggr, ARRAY_SIZE(longer_aggr));
	/* The running kdamond would go on from the sample it is at. */
	KUNIT_EXPECT_EQ(test, ctx->next_aggregation_sis, 7 + 40);
	/* Same sampling and update intervals: the update stays due. */
	KUNIT_EXPECT_EQ(test, ctx->next_ops_update_sis, next_update);

	attrs = damon_test_attrs(10000, 200000, 10, 1000);
	KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	damon_test_expect_layout(test, t, longer_sample,
				 ARRAY_SIZE(longer_sample));
	KUNIT_EXPECT_EQ(test, ctx->next_aggregation_sis, 7 + 20);
	KUNIT_EXPECT_EQ(test, ctx->next_ops_update_sis, 7 + 6000);

	/* Only the region bounds change: there is nothing to rescale. */
	attrs = damon_test_attrs(10000, 200000, 5, 50);
	KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	damon_test_expect_layout(test, t, longer_sample,
				 ARRAY_SIZE(longer_sample));

	attrs = damon_test_attrs(1000, 50000, 5, 50);
	KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	damon_test_expect_layout(test, t, shorter, ARRAY_SIZE(shorter));
	KUNIT_EXPECT_EQ(test, ctx->next_aggregation_sis, 7 + 50);
}

/* --- Splitting and merging regions --- */

static void damon_test_split_region_at(struct kunit *test)
{
	const struct damon_test_region spec[] = {
		{ 0, 10, 5, 50000, 3, 7 },
		{ 20, 30, 1, 10000, 2, 9 },
	};
	const struct damon_test_region want[] = {
		{ 0, 3, 5, 50000, 3, 7 },
		{ 3, 10, 5, 50000, 3, 7 },
		{ 20, 30, 1, 10000, 2, 9 },
	};
	const struct damon_test_region want2[] = {
		{ 0, 3, 5, 50000, 3, 7 },
		{ 3, 10, 5, 50000, 3, 7 },
		{ 20, 29, 1, 10000, 2, 9 },
		{ 29, 30, 1, 10000, 2, 9 },
	};
	struct damon_target *t;

	damon_test_new_ctx(test, &t);
	damon_test_add(test, t, spec, ARRAY_SIZE(spec));

	/* A region with a neighbour: the new part goes right after it. */
	damon_split_region_at(t, damon_first_region(t), damon_test_pg(3));
	damon_test_expect_layout(test, t, want, ARRAY_SIZE(want));

	/* The last region, one page off its end. */
	damon_split_region_at(t, damon_last_region(t), damon_test_pg(9));
	damon_test_expect_layout(test, t, want2, ARRAY_SIZE(want2));
}

static void damon_test_merge_two_regions(struct kunit *test)
{
	const struct damon_test_region spec[] = {
		{ 0, 10, 10, 100000, 6, 4 },
		{ 10, 40, 2, 20000, 10, 8 },
		{ 50, 60, 9, 90000, 9, 9 },
		{ 60, 63, 1, 10000, 1, 1 },
		{ 63, 64, 2, 20000, 2, 2 },
	};
	/*
	 * Weighted by size: (10 * 10 + 2 * 30) / 40 accesses, and so on;
	 * the mean is rounded down.
	 */
	const struct damon_test_region want[] = {
		{ 0, 40, 4, 40000, 9, 7 },
		{ 50, 60, 9, 90000, 9, 9 },
		{ 60, 64, 1, 12500, 1, 1 },
	};
	struct damon_target *t;
	struct damon_region *r;

	damon_test_new_ctx(test, &t);
	damon_test_add(test, t, spec, ARRAY_SIZE(spec));
	r = damon_first_region(t);
	damon_merge_two_regions(t, r, damon_next_region(r));
	r = damon_last_region(t);
	damon_merge_two_regions(t, damon_prev_region(r), r);
	damon_test_expect_layout(test, t, want, ARRAY_SIZE(want));
}

static void damon_test_merge_regions_of_thres(struct kunit *test)
{
	/* [3, 4) and [5, 6) are close in count but not neighbours. */
	const struct damon_test_region spec[] = {
		{ 0, 1, 5, 50000, 5, 3 },
		{ 1, 2, 6, 60000, 6, 3 },
		{ 2, 3, 20, 200000, 20, 3 },
		{ 3, 4, 22, 220000, 22, 3 },
		{ 5, 6, 22, 220000, 22, 3 },
	};
	const struct damon_test_region want[] = {
		{ 0, 2, 5, 55000, 5, 3 },
		{ 2, 4, 21, 210000, 21, 3 },
		{ 5, 6, 22, 220000, 22, 3 },
	};
	/* With no threshold, only equal counts merge. */
	const struct damon_test_region spec0[] = {
		{ 0, 1, 7, 70000, 7, 1 },
		{ 1, 2, 7, 70000, 7, 1 },
		{ 2, 3, 8, 80000, 8, 1 },
	};
	const struct damon_test_region want0[] = {
		{ 0, 2, 7, 70000, 7, 1 },
		{ 2, 3, 8, 80000, 8, 1 },
	};
	struct damon_target *t, *t0;

	damon_test_new_ctx(test, &t);
	damon_test_add(test, t, spec, ARRAY_SIZE(spec));
	damon_merge_regions_of(t, 2, ULONG_MAX, false);
	damon_test_expect_layout(test, t, want, ARRAY_SIZE(want));

	damon_test_new_ctx(test, &t0);
	damon_test_add(test, t0, spec0, ARRAY_SIZE(spec0));
	damon_merge_regions_of(t0, 0, ULONG_MAX, false);
	damon_test_expect_layout(test, t0, want0, ARRAY_SIZE(want0));
}

static void damon_test_merge_regions_of_sz_limit(struct kunit *test)
{
	const struct damon_test_region spec[] = {
		{ 0, 1, 3, 30000, 3, 0 },
		{ 1, 2, 3, 30000, 3, 0 },
		{ 2, 3, 3, 30000, 3, 0 },
		{ 3, 4, 3, 30000, 3, 0 },
		{ 4, 5, 3, 30000, 3, 0 },
	};
	/* A merge may reach the limit, not pass it. */
	const struct damon_test_region want[] = {
		{ 0, 2, 3, 30000, 3, 0 },
		{ 2, 4, 3, 30000, 3, 0 },
		{ 4, 5, 3, 30000, 3, 0 },
	};
	const struct damon_test_region want_all[] = {
		{ 0, 5, 3, 30000, 3, 0 },
	};
	struct damon_target *t;

	damon_test_new_ctx(test, &t);
	damon_test_add(test, t, spec, ARRAY_SIZE(spec));
	damon_merge_regions_of(t, 0, damon_test_pg(2) - 1, false);
	damon_test_expect_layout(test, t, spec, ARRAY_SIZE(spec));
	damon_merge_regions_of(t, 0, damon_test_pg(2), false);
	damon_test_expect_layout(test, t, want, ARRAY_SIZE(want));
	damon_merge_regions_of(t, 0, damon_test_pg(5), false);
	damon_test_expect_layout(test, t, want_all, ARRAY_SIZE(want_all));
}

static void damon_test_merge_regions_of_age(struct kunit *test)
{
	/*
	 * With a threshold of 2: a steady count ages, a count that moved by
	 * exactly the threshold too, one that moved by more (either way)
	 * starts over.
	 */
	const struct damon_test_region spec[] = {
		{ 0, 1, 10, 100000, 10, 3 },
		{ 1, 2, 11, 110000, 5, 9 },
		{ 2, 3, 30, 300000, 28, 1 },
		{ 3, 4, 30, 300000, 33, 5 },
	};
	const struct damon_test_region aged[] = {
		{ 0, 1, 10, 100000, 10, 4 },
		{ 1, 2, 11, 110000, 5, 0 },
		{ 2, 3, 30, 300000, 28, 2 },
		{ 3, 4, 30, 300000, 33, 0 },
	};
	/* Merged after ageing: the means of the new ages. */
	const struct damon_test_region merged[] = {
		{ 0, 2, 10, 105000, 7, 2 },
		{ 2, 4, 30, 300000, 30, 1 },
	};
	/* Merged without ageing: the means of the old ones. */
	const struct damon_test_region unaged[] = {
		{ 0, 2, 10, 105000, 7, 6 },
		{ 2, 4, 30, 300000, 30, 3 },
	};
	struct damon_target *t, *t2, *t3;

	/* A page-sized limit keeps every region apart, to see each age. */
	damon_test_new_ctx(test, &t);
	damon_test_add(test, t, spec, ARRAY_SIZE(spec));
	damon_merge_regions_of(t, 2, damon_test_pg(1), true);
	damon_test_expect_layout(test, t, aged, ARRAY_SIZE(aged));

	damon_test_new_ctx(test, &t2);
	damon_test_add(test, t2, spec, ARRAY_SIZE(spec));
	damon_merge_regions_of(t2, 2, ULONG_MAX, true);
	damon_test_expect_layout(test, t2, merged, ARRAY_SIZE(merged));

	damon_test_new_ctx(test, &t3);
	damon_test_add(test, t3, spec, ARRAY_SIZE(spec));
	damon_merge_regions_of(t3, 2, ULONG_MAX, false);
	damon_test_expect_layout(test, t3, unaged, ARRAY_SIZE(unaged));
}

/*
 * Sixteen one-page regions counting 0, 0, 10, 10, ..., 70, 70 out of 100
 * samples, steady since the last aggregation and of age 0.
 */
static struct damon_ctx *damon_test_staircase(struct kunit *test,
					      unsigned long max_nr_regions,
					      struct damon_target **tp)
{
	struct damon_attrs attrs = damon_test_attrs(1000, 100000, 3,
						    max_nr_regions);
	struct damon_test_region spec[16];
	struct damon_ctx *ctx = damon_test_new_ctx(test, tp);
	unsigned int i;

	KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	for (i = 0; i < ARRAY_SIZE(spec); i++) {
		spec[i] = (struct damon_test_region){
			.start = i, .end = i + 1,
			.nr_accesses = i / 2 * 10,
			.nr_accesses_bp = i / 2 * 100000,
			.last_nr_accesses = i / 2 * 10,
		};
	}
	damon_test_add(test, *tp, spec, ARRAY_SIZE(spec));
	return ctx;
}

static void damon_test_merge_regions_thres_doubling(struct kunit *test)
{
	/* Equal pairs merge at the first threshold, 0, and that is enough. */
	const struct damon_test_region pairs[] = {
		{ 0, 2, 0, 0, 0, 1 },
		{ 2, 4, 10, 100000, 10, 1 },
		{ 4, 6, 20, 200000, 20, 1 },
		{ 6, 8, 30, 300000, 30, 1 },
		{ 8, 10, 40, 400000, 40, 1 },
		{ 10, 12, 50, 500000, 50, 1 },
		{ 12, 14, 60, 600000, 60, 1 },
		{ 14, 16, 70, 700000, 70, 1 },
	};
	/*
	 * One region fewer allowed: thresholds 1, 2, 4 and 8 change nothing,
	 * 16 merges runs of neighbours whose running means stay within 16.
	 * Ages move once, not once per threshold.
	 */
	const struct damon_test_region runs[] = {
		{ 0, 6, 10, 100000, 10, 1 },
		{ 6, 12, 40, 400000, 40, 1 },
		{ 12, 16, 65, 650000, 65, 1 },
	};
	/*
	 * Under the maximum from the start: one pass at the threshold given.
	 * Each run of four is merged one region at a time, so its means are
	 * of means: (0 * 2 + 10) / 3 = 3, then (3 * 3 + 10) / 4 = 4 accesses.
	 */
	const struct damon_test_region once[] = {
		{ 0, 4, 4, 49999, 4, 1 },
		{ 4, 8, 24, 249999, 24, 1 },
		{ 8, 12, 44, 449999, 44, 1 },
		{ 12, 16, 64, 649999, 64, 1 },
	};
	struct damon_target *t;
	struct damon_ctx *ctx;

	ctx = damon_test_staircase(test, 8, &t);
	kdamond_merge_regions(ctx, 0, ULONG_MAX);
	damon_test_expect_layout(test, t, pairs, ARRAY_SIZE(pairs));

	ctx = damon_test_staircase(test, 7, &t);
	kdamond_merge_regions(ctx, 0, ULONG_MAX);
	damon_test_expect_layout(test, t, runs, ARRAY_SIZE(runs));

	ctx = damon_test_staircase(test, 1000, &t);
	kdamond_merge_regions(ctx, 10, ULONG_MAX);
	damon_test_expect_layout(test, t, once, ARRAY_SIZE(once));
}

static void damon_test_merge_regions_gives_up(struct kunit *test)
{
	struct damon_target *t;
	struct damon_ctx *ctx = damon_test_staircase(test, 3, &t);
	struct damon_region *r;

	/*
	 * The size limit forbids every merge: once the threshold passed the
	 * highest possible count the loop must end, over the maximum or not.
	 */
	kdamond_merge_regions(ctx, 0, damon_test_pg(1));
	KUNIT_EXPECT_EQ(test, damon_nr_regions(t), 16);
	damon_for_each_region(r, t)
		KUNIT_EXPECT_EQ(test, r->age, 1);
}

static void damon_test_merge_regions_counts_all_targets(struct kunit *test)
{
	const struct damon_test_region spec[] = {
		{ 0, 1, 0, 0, 0, 0 },
		{ 1, 2, 0, 0, 0, 0 },
		{ 2, 3, 10, 100000, 10, 0 },
		{ 3, 4, 10, 100000, 10, 0 },
	};
	const struct damon_test_region want[] = {
		{ 0, 4, 5, 50000, 5, 1 },
	};
	struct damon_attrs attrs = damon_test_attrs(1000, 100000, 3, 3);
	struct damon_target *t, *t2;
	struct damon_ctx *ctx = damon_test_new_ctx(test, &t);

	KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	t2 = damon_new_target();
	KUNIT_ASSERT_NOT_NULL(test, t2);
	damon_add_target(ctx, t2);
	damon_test_add(test, t, spec, ARRAY_SIZE(spec));
	damon_test_add(test, t2, spec, ARRAY_SIZE(spec));

	/*
	 * Two regions per target after the first pass, four in all, over
	 * the maximum of three although each target alone is under it.
	 */
	kdamond_merge_regions(ctx, 0, ULONG_MAX);
	damon_test_expect_layout(test, t, want, ARRAY_SIZE(want));
	damon_test_expect_layout(test, t2, want, ARRAY_SIZE(want));
}

/*
 * Whether @t holds the regions @orig described before a split into up to
 * @nr_pieces pieces: each original tiled by aligned pieces keeping its
 * counters, every cut between 10% and 90% of what was left to cut, and
 * exactly @nr_pieces pieces where the original is big enough for every cut
 * to land past its start (10 pages for two pieces, 100 for three).  The
 * size of the first piece of @orig[0] goes to @first_cut.
 */
static bool damon_test_check_pieces(struct kunit *test, struct damon_target *t,
				    const struct damon_test_region *orig,
				    unsigned int nr_orig,
				    unsigned int nr_pieces,
				    unsigned long *first_cut)
{
	unsigned long sure = nr_pieces == 2 ? 10 : 100;
	unsigned long pos, end, left, sz;
	struct damon_region *r;
	unsigned int i, pieces, nr = 0;

	r = list_first_entry(&t->regions_list, struct damon_region, list);
	for (i = 0; i < nr_orig; i++) {
		pos = damon_test_pg(orig[i].start);
		end = damon_test_pg(orig[i].end);
		left = end - pos;
		for (pieces = 0; pos < end; pieces++, nr++) {
			if (&r->list == &t->regions_list ||
			    r->ar.start != pos || r->ar.end <= pos ||
			    r->ar.end > end ||
			    !IS_ALIGNED(r->ar.end, DAMON_MIN_REGION)) {
				KUNIT_FAIL(test,
					   "[%lu, %lu) pages: piece %u is not a part starting at %#lx",
					   orig[i].start, orig[i].end, pieces,
					   pos);
				return false;
			}
			sz = damon_sz_region(r);
			if (r->ar.end < end &&
			    (sz < ALIGN_DOWN(left / 10, DAMON_MIN_REGION) ||
			     sz > left / 10 * 9)) {
				KUNIT_FAIL(test, "[%lu, %lu) pages: cut %#lx bytes off %#lx",
					   orig[i].start, orig[i].end, sz, left);
				return false;
			}
			if (r->nr_accesses != orig[i].nr_accesses ||
			    r->nr_accesses_bp != orig[i].nr_accesses_bp ||
			    r->last_nr_accesses != orig[i].last_nr_accesses ||
			    r->age != orig[i].age) {
				KUNIT_FAIL(test, "[%lu, %lu) pages: piece %u lost the counters",
					   orig[i].start, orig[i].end, pieces);
				return false;
			}
			if (!i && !pieces && first_cut)
				*first_cut = sz;
			left -= sz;
			pos = r->ar.end;
			r = damon_next_region(r);
		}
		if (pieces > nr_pieces ||
		    (orig[i].end - orig[i].start >= sure &&
		     pieces != nr_pieces)) {
			KUNIT_FAIL(test, "[%lu, %lu) pages: %u pieces, expected %s%u",
				   orig[i].start, orig[i].end, pieces,
				   orig[i].end - orig[i].start >= sure ?
				   "" : "at most ", nr_pieces);
			return false;
		}
	}
	if (&r->list != &t->regions_list || nr != damon_nr_regions(t)) {
		KUNIT_FAIL(test, "%u regions besides the pieces; nr_regions %u for %u pieces",
			   damon_nr_regions(t) - nr, damon_nr_regions(t), nr);
		return false;
	}
	return true;
}

static void damon_test_split_regions_of(struct kunit *test)
{
	/* Big, medium, tiny and a single page; gaps between them. */
	const struct damon_test_region spec[] = {
		{ 0, 100, 1, 10000, 2, 3 },
		{ 200, 250, 4, 40000, 5, 6 },
		{ 300, 302, 7, 70000, 8, 9 },
		{ 400, 401, 10, 100000, 11, 12 },
		{ 500, 1500, 13, 130000, 14, 15 },
	};
	unsigned long cut, seen = 0;
	struct damon_region *r, *next;
	struct damon_target *t;
	unsigned int i, nr_pieces;
	bool ok;

	damon_test_new_ctx(test, &t);
	for (i = 0; i < 400; i++) {
		nr_pieces = i % 2 ? 3 : 2;
		damon_for_each_region_safe(r, next, t)
			damon_destroy_region(r, t);
		damon_test_add(test, t, spec, ARRAY_SIZE(spec));
		damon_split_regions_of(t, nr_pieces);
		ok = damon_test_check_pieces(test, t, spec, ARRAY_SIZE(spec),
					     nr_pieces, &cut);
		KUNIT_ASSERT_TRUE_MSG(test, ok, "split %u, into %u pieces", i,
				      nr_pieces);
		if (nr_pieces == 2)
			seen |= BIT(cut / damon_test_pg(10));
	}
	/*
	 * In 200 two-piece splits of the 100-page region, each of the nine
	 * cut points, one every 10 pages, shows up but with a probability
	 * of about 1e-9 per run: a split that is not random, or that misses
	 * the 10% or the 90% end, shows here.
	 */
	KUNIT_EXPECT_EQ_MSG(test, seen, GENMASK(9, 1),
			    "cut points seen, a bit per 10 pages: %#lx", seen);
}

static void damon_test_split_regions_count(struct kunit *test)
{
	static const struct {
		unsigned int nr_regions, last, max, want, want_last;
		const char *why;
	} cases[] = {
		{ 10, 0, 30, 20, 20, "count moved since the last split: 2" },
		{ 9, 9, 30, 27, 27, "steady and under a third: 3" },
		{ 10, 10, 30, 20, 20, "steady but a third (30 / 3): 2" },
		{ 15, 0, 30, 30, 30, "half the maximum still splits: 2" },
		{ 16, 7, 30, 16, 7, "over half the maximum: none" },
	};
	struct damon_test_region spec[16];
	struct damon_attrs attrs;
	struct damon_target *t;
	struct damon_ctx *ctx;
	unsigned int c, i, last;
	bool ok;

	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		ctx = damon_test_new_ctx(test, &t);
		attrs = damon_test_attrs(5000, 100000, 3, cases[c].max);
		KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
		for (i = 0; i < cases[c].nr_regions; i++)
			spec[i] = (struct damon_test_region){
				.start = i * 1000, .end = (i + 1) * 1000,
				.nr_accesses = i, .nr_accesses_bp = i * 10000,
				.last_nr_accesses = i, .age = i,
			};
		damon_test_add(test, t, spec, cases[c].nr_regions);
		last = cases[c].last;
		kdamond_split_regions(ctx, &last);
		KUNIT_EXPECT_EQ_MSG(test, damon_nr_regions(t), cases[c].want,
				    "%s", cases[c].why);
		KUNIT_EXPECT_EQ_MSG(test, last, cases[c].want_last,
				    "%s", cases[c].why);
		ok = damon_test_check_pieces(test, t, spec, cases[c].nr_regions,
					     cases[c].want / cases[c].nr_regions,
					     NULL);
		KUNIT_EXPECT_TRUE_MSG(test, ok, "%s", cases[c].why);
	}
}

/* --- nr_accesses_bp --- */

/* Whether sample @j of a window of @window samples, @nr of them accessed, is. */
static bool damon_test_accessed(unsigned int layout, unsigned int j,
				unsigned int nr, unsigned int window)
{
	switch (layout) {
	case 0:		/* All at the start of the window. */
		return j < nr;
	case 1:		/* All at its end. */
		return j >= window - nr;
	default:	/* Spread as evenly as whole samples allow. */
		return (j + 1) * nr / window > j * nr / window;
	}
}

/*
 * One aggregation window of @ctx's only region, @nr samples of it accessed
 * as @layout places them, then the aggregation boundary.  With @steady (the
 * window before had the same pattern), the moving sum must also follow the
 * pattern sample by sample.
 */
static void damon_test_access_window(struct kunit *test, struct damon_ctx *ctx,
				     unsigned int layout, unsigned int nr,
				     bool steady)
{
	unsigned int window = damon_max_nr_accesses(&ctx->attrs);
	struct damon_target *t;
	struct damon_region *r;
	unsigned int j, bp;
	bool accessed;

	t = list_first_entry(&ctx->adaptive_targets, struct damon_target, list);
	r = damon_first_region(t);

	for (j = 0; j < window; j++) {
		accessed = damon_test_accessed(layout, j, nr, window);
		damon_update_region_access_rate(r, accessed, &ctx->attrs);
		bp = r->nr_accesses_bp;
		/*
		 * Steady and spread, the moving sum is within one sample of
		 * the full window count at every sample, give or take what
		 * rounding the drop up costs.
		 */
		if (!steady || layout != 2)
			continue;
		KUNIT_EXPECT_GE_MSG(test, bp + 10000 + window, nr * 10000,
				    "steady %u of %u, sample %u", nr, window, j);
		KUNIT_EXPECT_LE_MSG(test, bp, nr * 10000 + 10000,
				    "steady %u of %u, sample %u", nr, window, j);
	}
	/*
	 * At the boundary it is the window count, less what rounding the
	 * per-sample drop up took when the window does not divide 10000,
	 * and exactly that once the window is reset.
	 */
	KUNIT_EXPECT_EQ_MSG(test, r->nr_accesses, nr, "%u of %u, layout %u",
			    nr, window, layout);
	KUNIT_EXPECT_LE_MSG(test, r->nr_accesses_bp, nr * 10000,
			    "%u of %u, layout %u", nr, window, layout);
	KUNIT_EXPECT_GT_MSG(test,
			    r->nr_accesses_bp + (10000 % window ? window : 1),
			    nr * 10000, "%u of %u, layout %u", nr, window,
			    layout);
	kdamond_reset_aggregated(ctx);
	KUNIT_EXPECT_EQ(test, r->nr_accesses, 0);
	KUNIT_EXPECT_EQ(test, r->last_nr_accesses, nr);
	KUNIT_EXPECT_EQ(test, r->nr_accesses_bp, nr * 10000);
}

static void damon_test_update_access_rate(struct kunit *test)
{
	/* 20 samples per window divide 10000; 7 do not, and round. */
	struct damon_attrs attrs[] = {
		damon_test_attrs(5000, 100000, 3, 100),
		damon_test_attrs(10000, 70000, 3, 100),
	};
	/* Accessed samples per window, ~0U for all of them; steady runs. */
	const unsigned int pattern[] = {
		5, 5, 5, ~0U, ~0U, 0, 0, 3, 3, 3, ~0U, 1, 1,
	};
	const struct damon_test_region spec = { .start = 0, .end = 10 };
	unsigned int a, layout, w, window;
	struct damon_target *t;
	struct damon_ctx *ctx;
	bool steady;

	for (a = 0; a < ARRAY_SIZE(attrs); a++) {
		for (layout = 0; layout < 3; layout++) {
			ctx = damon_test_new_ctx(test, &t);
			KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs[a]),
					0);
			damon_test_add(test, t, &spec, 1);
			window = damon_max_nr_accesses(&ctx->attrs);
			for (w = 0; w < ARRAY_SIZE(pattern); w++) {
				steady = w && pattern[w] == pattern[w - 1];
				damon_test_access_window(test, ctx, layout,
							 min(pattern[w], window),
							 steady);
			}
		}
	}
}

/*
 * nr_accesses_bp is a count of accessed samples in a window, in basis
 * points: it can never honestly exceed the samples in a window, 10000 times
 * the maximum nr_accesses, whatever the pattern and at every sample.
 */
static void damon_test_update_access_rate_bounded(struct kunit *test)
{
	struct damon_attrs attrs[] = {
		damon_test_attrs(5000, 100000, 3, 100),
		damon_test_attrs(10000, 70000, 3, 100),
		damon_test_attrs(3000, 1000000, 3, 100),
	};
	/* The worst case: a window of less than all, then one of all. */
	const unsigned int pattern[] = { 0, ~0U, 5, ~0U, 1, ~0U, ~0U };
	const struct damon_test_region spec = { .start = 0, .end = 10 };
	unsigned int a, w, j, window, max_bp, at;
	struct damon_target *t;
	bool accessed;
	struct damon_region *r;
	struct damon_ctx *ctx;

	for (a = 0; a < ARRAY_SIZE(attrs); a++) {
		ctx = damon_test_new_ctx(test, &t);
		KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs[a]), 0);
		damon_test_add(test, t, &spec, 1);
		r = damon_first_region(t);
		window = damon_max_nr_accesses(&ctx->attrs);
		for (w = 0; w < ARRAY_SIZE(pattern); w++) {
			max_bp = 0;
			at = 0;
			for (j = 0; j < window; j++) {
				accessed = j < pattern[w];
				damon_update_region_access_rate(r, accessed,
								&ctx->attrs);
				if (r->nr_accesses_bp > max_bp) {
					max_bp = r->nr_accesses_bp;
					at = j;
				}
			}
			KUNIT_EXPECT_LE_MSG(test, max_bp, window * 10000,
					    "window %u of %u samples reached %u bp at sample %u, after %u accessed samples the window before",
					    w, window, max_bp, at,
					    w ? min(pattern[w - 1], window) : 0);
			kdamond_reset_aggregated(ctx);
		}
	}
}

/* --- The adaptive regions as a whole --- */

/*
 * Random access counts through rounds of what the kdamond does at every
 * aggregation: merge, reset, split.  A big enough target of contiguous
 * memory must always end up between min_nr_regions and max_nr_regions
 * regions, still tiling it, with sane counters.
 */
static void damon_test_adaptive_regions_random(struct kunit *test)
{
	const unsigned long nr_pages = 100000;
	static const struct {
		unsigned long min, max;
	} bounds[] = {
		{ 10, 1000 },
		{ 3, 20 },
		{ 50, 200 },
	};
	struct damon_test_region spec;
	struct damon_attrs attrs;
	unsigned int b, i, round, last, max_acc, seen, zone[8];
	unsigned long min_nr, max_nr, nr;
	struct damon_target *t;
	struct damon_region *r;
	struct damon_ctx *ctx;
	struct rnd_state rnd;
	char when[64];
	bool ok;

	prandom_seed_state(&rnd, 20241112);
	for (b = 0; b < ARRAY_SIZE(bounds); b++) {
		min_nr = bounds[b].min;
		max_nr = bounds[b].max;
		ctx = damon_test_new_ctx(test, &t);
		attrs = damon_test_attrs(5000, 100000, min_nr, max_nr);
		KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
		max_acc = damon_max_nr_accesses(&ctx->attrs);
		for (i = 0; i < min_nr; i++) {
			spec = (struct damon_test_region){
				.start = nr_pages * i / min_nr,
				.end = nr_pages * (i + 1) / min_nr,
			};
			damon_test_add(test, t, &spec, 1);
		}
		last = 0;
		for (round = 0; round < 40; round++) {
			/*
			 * Odd rounds: noise.  Even ones: eight zones of
			 * their own level, a little noise on top, which
			 * leaves the merge something to find.
			 */
			for (i = 0; i < ARRAY_SIZE(zone); i++)
				zone[i] = prandom_u32_state(&rnd) % (max_acc + 1);
			seen = 0;
			damon_for_each_region(r, t) {
				if (round % 2)
					nr = prandom_u32_state(&rnd) % (max_acc + 1);
				else
					nr = min(max_acc, zone[r->ar.start * 8 /
						 damon_test_pg(nr_pages)] +
						 prandom_u32_state(&rnd) % 3);
				r->nr_accesses = nr;
				seen = max_t(unsigned int, seen, nr);
			}

			kdamond_merge_regions(ctx, seen / 10,
					      damon_region_sz_limit(ctx));
			snprintf(when, sizeof(when), "bounds %u round %u merge",
				 b, round);
			ok = damon_test_check_tiling(test, t, 0,
						     damon_test_pg(nr_pages),
						     when);
			KUNIT_ASSERT_TRUE(test, ok);
			nr = damon_nr_regions(t);
			KUNIT_EXPECT_GE_MSG(test, nr, min_nr, "%s", when);
			KUNIT_EXPECT_LE_MSG(test, nr, max_nr, "%s", when);
			damon_for_each_region(r, t) {
				if (r->nr_accesses <= max_acc &&
				    r->age <= round + 1)
					continue;
				KUNIT_FAIL(test, "%s: nr_accesses %u of %u, age %u",
					   when, r->nr_accesses, max_acc,
					   r->age);
				break;
			}

			kdamond_reset_aggregated(ctx);
			damon_for_each_region(r, t) {
				if (!r->nr_accesses &&
				    r->last_nr_accesses <= max_acc &&
				    r->nr_accesses_bp ==
				    r->last_nr_accesses * 10000)
					continue;
				KUNIT_FAIL(test, "%s: reset left %u accesses, %u last, %u bp",
					   when, r->nr_accesses,
					   r->last_nr_accesses,
					   r->nr_accesses_bp);
				break;
			}

			kdamond_split_regions(ctx, &last);
			snprintf(when, sizeof(when), "bounds %u round %u split",
				 b, round);
			ok = damon_test_check_tiling(test, t, 0,
						     damon_test_pg(nr_pages),
						     when);
			KUNIT_ASSERT_TRUE(test, ok);
			nr = damon_nr_regions(t);
			KUNIT_EXPECT_GE_MSG(test, nr, min_nr, "%s", when);
			KUNIT_EXPECT_LE_MSG(test, nr, max_nr, "%s", when);
		}
	}
}

/* --- Operations sets --- */

/*
 * A fake operations set.  The kdamond tests use it to see what the kdamond
 * calls, and when; it has one target-independent piece of memory,
 * [0, DAMON_TEST_FAKE_PAGES) pages, whose lower half is hot.
 */
#define DAMON_TEST_FAKE_PAGES	1000

static struct {
	atomic_t init, prepare, check, update, reset, cleanup;
	/* What target_valid() answers: all targets valid, or only this. */
	atomic_t all_valid;
	struct damon_target *valid_target;
	struct task_struct *init_task;
} damon_test_seen;

static void damon_test_ops_init(struct damon_ctx *ctx)
{
	struct damon_addr_range ar = {
		.start = 0, .end = damon_test_pg(DAMON_TEST_FAKE_PAGES),
	};
	struct damon_target *t;

	WRITE_ONCE(damon_test_seen.init_task, current);
	damon_for_each_target(t, ctx)
		damon_set_regions(t, &ar, 1);
	atomic_inc(&damon_test_seen.init);
}

static bool damon_test_ops_target_valid(struct damon_target *t)
{
	return atomic_read(&damon_test_seen.all_valid) ||
		t == READ_ONCE(damon_test_seen.valid_target);
}

static void damon_test_ops_update(struct damon_ctx *ctx)
{
	atomic_inc(&damon_test_seen.update);
}

static void damon_test_ops_prepare(struct damon_ctx *ctx)
{
	struct damon_target *t;
	struct damon_region *r;

	damon_for_each_target(t, ctx) {
		damon_for_each_region(r, t)
			r->sampling_addr = damon_rand(r->ar.start, r->ar.end);
	}
	atomic_inc(&damon_test_seen.prepare);
}

static unsigned int damon_test_ops_check(struct damon_ctx *ctx)
{
	unsigned long hot_end = damon_test_pg(DAMON_TEST_FAKE_PAGES / 2);
	unsigned int max_nr = 0;
	struct damon_target *t;
	struct damon_region *r;
	bool hot;

	damon_for_each_target(t, ctx) {
		damon_for_each_region(r, t) {
			hot = r->sampling_addr < hot_end;
			damon_update_region_access_rate(r, hot, &ctx->attrs);
			max_nr = max(max_nr, r->nr_accesses);
		}
	}
	atomic_inc(&damon_test_seen.check);
	return max_nr;
}

static void damon_test_ops_reset(struct damon_ctx *ctx)
{
	atomic_inc(&damon_test_seen.reset);
}

static void damon_test_ops_cleanup(struct damon_ctx *ctx)
{
	atomic_inc(&damon_test_seen.cleanup);
}

static const struct damon_operations damon_test_ops = {
	.id = DAMON_OPS_PADDR,
	.init = damon_test_ops_init,
	.target_valid = damon_test_ops_target_valid,
	.update = damon_test_ops_update,
	.cleanup = damon_test_ops_cleanup,
	.prepare_access_checks = damon_test_ops_prepare,
	.check_accesses = damon_test_ops_check,
	.reset_aggregated = damon_test_ops_reset,
};

static bool damon_test_ops_equal(const struct damon_operations *a,
				 const struct damon_operations *b)
{
	return a->id == b->id && a->target_needs_pid == b->target_needs_pid &&
		a->max_nr_targets == b->max_nr_targets && a->init == b->init &&
		a->target_valid == b->target_valid &&
		a->update == b->update && a->cleanup == b->cleanup &&
		a->prepare_access_checks == b->prepare_access_checks &&
		a->check_accesses == b->check_accesses &&
		a->reset_aggregated == b->reset_aggregated &&
		a->get_scheme_score == b->get_scheme_score &&
		a->apply_scheme == b->apply_scheme;
}

static void damon_test_register_ops_invalid(struct kunit *test)
{
	struct damon_operations ops = damon_test_ops, before;
	struct damon_target *t;
	struct damon_ctx *ctx = damon_test_new_ctx(test, &t);
	int id;

	/* Ids past the table. */
	ops.id = NR_DAMON_OPS;
	KUNIT_EXPECT_EQ(test, damon_register_ops(&ops), -EINVAL);
	ops.id = NR_DAMON_OPS + 10;
	KUNIT_EXPECT_EQ(test, damon_register_ops(&ops), -EINVAL);
	KUNIT_EXPECT_FALSE(test, damon_is_registered_ops(NR_DAMON_OPS));
	KUNIT_EXPECT_EQ(test, damon_select_ops(ctx, NR_DAMON_OPS), -EINVAL);
	KUNIT_EXPECT_NULL(test, ctx->ops.init);

	/*
	 * Whatever the boot registered (which depends on the config) can be
	 * neither replaced nor shadowed.
	 */
	for (id = 0; id < NR_DAMON_OPS; id++) {
		if (!damon_is_registered_ops(id))
			continue;
		KUNIT_ASSERT_EQ(test, damon_select_ops(ctx, id), 0);
		before = ctx->ops;
		ops.id = id;
		KUNIT_EXPECT_EQ_MSG(test, damon_register_ops(&ops), -EINVAL,
				    "ops %d registered twice", id);
		KUNIT_ASSERT_EQ(test, damon_select_ops(ctx, id), 0);
		KUNIT_EXPECT_TRUE_MSG(test,
				      damon_test_ops_equal(&ctx->ops, &before),
				      "ops %d replaced", id);
	}
	/* What this context runs with is not the set's to clean up. */
	ctx->ops = (struct damon_operations){};
}

/*
 * There is no unregistering, so the test borrows one slot of the registry
 * and puts back what it found, real set or none, however the test ends.
 * Nothing else looks at the registry while the KUnit suites run at boot.
 */
static struct damon_operations damon_test_saved_ops;
static bool damon_test_saved_registered;

static void damon_test_restore_ops(void *unused)
{
	mutex_lock(&damon_ops_lock);
	damon_registered_ops[DAMON_OPS_PADDR] = damon_test_saved_ops;
	damon_ops_registered[DAMON_OPS_PADDR] = damon_test_saved_registered;
	mutex_unlock(&damon_ops_lock);
}

static void damon_test_register_ops(struct kunit *test)
{
	struct damon_operations ops = damon_test_ops, other = damon_test_ops;
	struct damon_target *t;
	struct damon_ctx *ctx = damon_test_new_ctx(test, &t);
	int err;

	mutex_lock(&damon_ops_lock);
	damon_test_saved_ops = damon_registered_ops[DAMON_OPS_PADDR];
	damon_test_saved_registered = damon_ops_registered[DAMON_OPS_PADDR];
	mutex_unlock(&damon_ops_lock);
	err = kunit_add_action_or_reset(test, damon_test_restore_ops, NULL);
	KUNIT_ASSERT_EQ(test, err, 0);
	mutex_lock(&damon_ops_lock);
	damon_ops_registered[DAMON_OPS_PADDR] = false;
	mutex_unlock(&damon_ops_lock);

	KUNIT_EXPECT_FALSE(test, damon_is_registered_ops(DAMON_OPS_PADDR));
	KUNIT_EXPECT_EQ(test, damon_select_ops(ctx, DAMON_OPS_PADDR), -EINVAL);
	KUNIT_EXPECT_NULL(test, ctx->ops.init);

	KUNIT_EXPECT_EQ(test, damon_register_ops(&ops), 0);
	KUNIT_EXPECT_TRUE(test, damon_is_registered_ops(DAMON_OPS_PADDR));
	/* The set is copied: what the caller does with its struct is moot. */
	ops.init = NULL;
	KUNIT_EXPECT_EQ(test, damon_select_ops(ctx, DAMON_OPS_PADDR), 0);
	KUNIT_EXPECT_TRUE(test, damon_test_ops_equal(&ctx->ops,
						     &damon_test_ops));

	/* The first registration stays. */
	other.init = NULL;
	KUNIT_EXPECT_EQ(test, damon_register_ops(&other), -EINVAL);
	ctx->ops = (struct damon_operations){};
	KUNIT_EXPECT_EQ(test, damon_select_ops(ctx, DAMON_OPS_PADDR), 0);
	KUNIT_EXPECT_TRUE(test, damon_test_ops_equal(&ctx->ops,
						     &damon_test_ops));
	ctx->ops = (struct damon_operations){};
}

/* --- The kdamond --- */

/*
 * Wait for @cond, polling every millisecond or so, for up to @ms
 * milliseconds: emulated guests are slow, so bounds are generous.
 * Evaluates to whether @cond came true.
 */
#define damon_test_wait_for(cond, ms)					\
({									\
	unsigned long __deadline = jiffies + msecs_to_jiffies(ms);	\
	bool __met;							\
									\
	for (;;) {							\
		__met = (cond);						\
		if (__met || time_after(jiffies, __deadline))		\
			break;						\
		usleep_range(1000, 2000);				\
	}								\
	__met;								\
})

/*
 * A context run by the fake operations set, with a reference to its last
 * kdamond, so that a test can check the thread itself is gone.
 */
struct damon_test_engine {
	struct damon_ctx *ctx;
	struct damon_target *target;
	struct task_struct *kdamond;
	/* A thread may still use ctx: better leak it than free it. */
	bool leak;
};

/* Wait for the last kdamond of @e to have exited; false if it did not. */
static bool damon_test_engine_join(struct damon_test_engine *e)
{
	struct task_struct *task = e->kdamond;

	if (!task)
		return true;
	if (!damon_test_wait_for(READ_ONCE(task->exit_state), 10000)) {
		e->leak = true;
		return false;
	}
	put_task_struct(task);
	e->kdamond = NULL;
	return true;
}

static void damon_test_engine_release(void *data)
{
	struct damon_test_engine *e = data;

	if (damon_is_running(e->ctx))
		damon_stop(&e->ctx, 1);
	damon_test_engine_join(e);
	if (e->kdamond)
		put_task_struct(e->kdamond);
	if (!e->leak)
		damon_destroy_ctx(e->ctx);
}

static struct damon_test_engine *damon_test_engine_new(struct kunit *test)
{
	struct damon_attrs attrs = damon_test_attrs(1000, 10000, 3, 100);
	struct damon_test_engine *e;
	int err;

	/* Everything happens fast: 1 ms samples, 10 ms aggregations. */
	attrs.ops_update_interval = 50000;
	e = kunit_kzalloc(test, sizeof(*e), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, e);
	e->ctx = damon_new_ctx();
	KUNIT_ASSERT_NOT_NULL(test, e->ctx);
	err = kunit_add_action_or_reset(test, damon_test_engine_release, e);
	KUNIT_ASSERT_EQ(test, err, 0);
	e->target = damon_new_target();
	KUNIT_ASSERT_NOT_NULL(test, e->target);
	damon_add_target(e->ctx, e->target);
	KUNIT_ASSERT_EQ(test, damon_set_attrs(e->ctx, &attrs), 0);
	e->ctx->ops = damon_test_ops;

	atomic_set(&damon_test_seen.init, 0);
	atomic_set(&damon_test_seen.prepare, 0);
	atomic_set(&damon_test_seen.check, 0);
	atomic_set(&damon_test_seen.update, 0);
	atomic_set(&damon_test_seen.reset, 0);
	atomic_set(&damon_test_seen.cleanup, 0);
	atomic_set(&damon_test_seen.all_valid, 1);
	WRITE_ONCE(damon_test_seen.valid_target, NULL);
	WRITE_ONCE(damon_test_seen.init_task, NULL);
	return e;
}

/*
 * damon_start() on the contexts of @es, keeping a reference to each kdamond
 * and, if @wait, waiting for each to be in kdamond_fn(): stopping one
 * earlier is another test, damon_test_kdamond_stop_right_after_start().
 */
static int __damon_test_engine_start(struct damon_test_engine **es, int nr,
				     bool exclusive, bool wait)
{
	int inits = atomic_read(&damon_test_seen.init);
	struct damon_ctx *ctxs[2];
	struct damon_ctx *ctx;
	int i, err;

	if (WARN_ON(nr > ARRAY_SIZE(ctxs)))
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		if (!damon_is_running(es[i]->ctx))
			damon_test_engine_join(es[i]);
		ctxs[i] = es[i]->ctx;
	}
	err = damon_start(ctxs, nr, exclusive);
	for (i = 0; i < nr; i++) {
		ctx = es[i]->ctx;
		mutex_lock(&ctx->kdamond_lock);
		if (ctx->kdamond && ctx->kdamond != es[i]->kdamond) {
			if (es[i]->kdamond)
				put_task_struct(es[i]->kdamond);
			es[i]->kdamond = get_task_struct(ctx->kdamond);
		}
		mutex_unlock(&ctx->kdamond_lock);
	}
	if (err || !wait)
		return err;
	/* init is the first thing kdamond_fn() does. */
	if (!damon_test_wait_for(atomic_read(&damon_test_seen.init) >=
				 inits + nr, 10000))
		err = -ETIMEDOUT;
	return err;
}

static int damon_test_engine_start(struct damon_test_engine **es, int nr,
				   bool exclusive)
{
	return __damon_test_engine_start(es, nr, exclusive, true);
}

/*
 * A repeated request outlives the test function if the kdamond does: kept
 * in memory the test frees only after stopping the kdamond, for KUnit
 * releases in reverse order and this comes before damon_test_engine_new().
 */
static struct damon_call_control *
damon_test_repeat_control(struct kunit *test)
{
	struct damon_call_control *control;

	control = kunit_kzalloc(test, sizeof(*control), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, control);
	control->repeat = true;
	return control;
}

static void damon_test_expect_no_regions(struct kunit *test,
					 struct damon_ctx *ctx)
{
	struct damon_target *t;

	damon_for_each_target(t, ctx) {
		KUNIT_EXPECT_EQ(test, damon_nr_regions(t), 0);
		KUNIT_EXPECT_TRUE(test, list_empty(&t->regions_list));
	}
}

/*
 * A damon_call() function looking at the regions from inside the kdamond,
 * where they hold still: they must tile the fake memory, stay within the
 * maximum count and count no more accesses than there are samples.
 */
static int damon_test_inspect(void *data)
{
	unsigned long end = damon_test_pg(DAMON_TEST_FAKE_PAGES);
	struct damon_ctx *ctx = data;
	unsigned int max_acc = damon_max_nr_accesses(&ctx->attrs);
	unsigned long pos;
	struct damon_target *t;
	struct damon_region *r;
	unsigned int nr;

	if (!damon_test_call_owns(ctx))
		return -ESRCH;
	damon_for_each_target(t, ctx) {
		pos = 0;
		nr = 0;
		damon_for_each_region(r, t) {
			if (r->ar.start != pos || r->ar.end <= pos ||
			    !IS_ALIGNED(r->ar.end, DAMON_MIN_REGION))
				return -EFAULT;
			if (r->nr_accesses > max_acc ||
			    r->last_nr_accesses > max_acc)
				return -ERANGE;
			pos = r->ar.end;
			nr++;
		}
		if (pos != end || nr != damon_nr_regions(t) ||
		    nr > ctx->attrs.max_nr_regions)
			return -EFAULT;
	}
	return 0;
}

static void damon_test_kdamond_start_stop(struct kunit *test)
{
	struct damon_test_engine *e = damon_test_engine_new(test);
	struct damon_call_control control = {
		.fn = damon_test_inspect, .data = e->ctx,
	};
	int nr_running = damon_nr_running_ctxs();
	char comm[TASK_COMM_LEN];
	int check, prepare;
	bool ok;

	KUNIT_ASSERT_EQ(test, damon_test_engine_start(&e, 1, false), 0);
	KUNIT_EXPECT_TRUE(test, damon_is_running(e->ctx));
	KUNIT_ASSERT_NOT_NULL(test, e->kdamond);
	get_task_comm(comm, e->kdamond);
	KUNIT_EXPECT_EQ_MSG(test, strncmp(comm, "kdamond.", 8), 0,
			    "the kdamond is called %s", comm);
	KUNIT_EXPECT_EQ(test, damon_nr_running_ctxs(), nr_running + 1);
	/* A running context does not start twice. */
	KUNIT_EXPECT_EQ(test, damon_start(&e->ctx, 1, false), -EBUSY);
	KUNIT_EXPECT_EQ(test, damon_nr_running_ctxs(), nr_running + 1);

	/* A few aggregations, and an ops update every 50 samples. */
	ok = damon_test_wait_for(atomic_read(&damon_test_seen.reset) >= 3 &&
				 atomic_read(&damon_test_seen.update) >= 1,
				 10000);
	KUNIT_EXPECT_TRUE_MSG(test, ok, "%d aggregations, %d updates in 10 s",
			      atomic_read(&damon_test_seen.reset),
			      atomic_read(&damon_test_seen.update));
	KUNIT_EXPECT_EQ(test, atomic_read(&damon_test_seen.init), 1);
	KUNIT_EXPECT_PTR_EQ(test, READ_ONCE(damon_test_seen.init_task),
			    e->kdamond);
	/* Every check follows its preparation; aggregations are 10 checks. */
	check = atomic_read(&damon_test_seen.check);
	prepare = atomic_read(&damon_test_seen.prepare);
	KUNIT_EXPECT_GE(test, prepare, check);
	KUNIT_EXPECT_GE(test, check, 30);
	KUNIT_EXPECT_EQ(test, atomic_read(&damon_test_seen.cleanup), 0);

	KUNIT_EXPECT_EQ(test, damon_call(e->ctx, &control), 0);
	KUNIT_EXPECT_EQ_MSG(test, control.return_code, 0,
			    "-EFAULT: regions broken, -ERANGE: counts over the samples, -ESRCH: context not owned");

	KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), 0);
	KUNIT_EXPECT_FALSE(test, damon_is_running(e->ctx));
	KUNIT_EXPECT_NULL(test, e->ctx->kdamond);
	KUNIT_EXPECT_EQ(test, damon_nr_running_ctxs(), nr_running);
	KUNIT_EXPECT_EQ(test, atomic_read(&damon_test_seen.cleanup), 1);
	damon_test_expect_no_regions(test, e->ctx);
	/* What is not running cannot be stopped, nor called. */
	KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), -EPERM);
	KUNIT_EXPECT_EQ(test, damon_call(e->ctx, &control), -EINVAL);

	/* It starts again, from a fresh init. */
	check = atomic_read(&damon_test_seen.check);
	KUNIT_ASSERT_EQ(test, damon_test_engine_start(&e, 1, false), 0);
	ok = damon_test_wait_for(atomic_read(&damon_test_seen.check) >=
				 check + 5, 10000);
	KUNIT_EXPECT_TRUE(test, ok);
	KUNIT_EXPECT_EQ(test, atomic_read(&damon_test_seen.init), 2);
	KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&damon_test_seen.cleanup), 2);
	KUNIT_EXPECT_EQ(test, damon_nr_running_ctxs(), nr_running);
	damon_test_expect_no_regions(test, e->ctx);
}

static void damon_test_kdamond_stops_itself(struct kunit *test)
{
	struct damon_call_control *repeat = damon_test_repeat_control(test);
	struct damon_test_engine *e = damon_test_engine_new(test);
	int nr_running = damon_nr_running_ctxs();
	struct damon_call_control control = {
		.fn = damon_test_inspect, .data = e->ctx,
	};
	struct damon_target *t2 = damon_new_target();
	struct damon_target *t;
	int check, nr_targets = 0;
	bool ok;

	KUNIT_ASSERT_NOT_NULL(test, t2);
	damon_add_target(e->ctx, t2);
	KUNIT_ASSERT_EQ(test, damon_test_engine_start(&e, 1, false), 0);
	ok = damon_test_wait_for(atomic_read(&damon_test_seen.check) >= 5,
				 10000);
	KUNIT_EXPECT_TRUE(test, ok);

	/* One valid target is enough to go on. */
	WRITE_ONCE(damon_test_seen.valid_target, t2);
	atomic_set(&damon_test_seen.all_valid, 0);
	check = atomic_read(&damon_test_seen.check);
	ok = damon_test_wait_for(atomic_read(&damon_test_seen.check) >=
				 check + 5, 10000);
	KUNIT_EXPECT_TRUE_MSG(test, ok,
			      "stopped sampling with a valid target left");
	KUNIT_EXPECT_TRUE(test, damon_is_running(e->ctx));

	/* None left: it stops, frees the regions, cancels what is queued. */
	repeat->fn = damon_test_inspect;
	repeat->data = e->ctx;
	KUNIT_EXPECT_EQ(test, damon_call(e->ctx, repeat), 0);
	WRITE_ONCE(damon_test_seen.valid_target, NULL);
	ok = damon_test_wait_for(!damon_is_running(e->ctx), 10000);
	KUNIT_EXPECT_TRUE_MSG(test, ok,
			      "still running 10 s after its targets went invalid");
	KUNIT_ASSERT_TRUE_MSG(test, damon_test_engine_join(e),
			      "the kdamond thread does not exit");
	KUNIT_EXPECT_EQ(test, damon_nr_running_ctxs(), nr_running);
	KUNIT_EXPECT_EQ(test, atomic_read(&damon_test_seen.cleanup), 1);
	damon_test_expect_no_regions(test, e->ctx);
	damon_for_each_target(t, e->ctx)
		nr_targets++;
	KUNIT_EXPECT_EQ(test, nr_targets, 2);
	KUNIT_EXPECT_TRUE(test, repeat->canceled);
	KUNIT_EXPECT_TRUE(test, completion_done(&repeat->completion));
	KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), -EPERM);
	KUNIT_EXPECT_EQ(test, damon_call(e->ctx, &control), -EINVAL);
	KUNIT_EXPECT_TRUE(test, list_empty(&e->ctx->call_controls));
}

/*
 * damon_stop() right after damon_start() may reach the new thread before it
 * entered kdamond_fn().  The stop must still leave the context stopped and
 * the running count where it was, like any other stop.
 */
static void damon_test_kdamond_stop_right_after_start(struct kunit *test)
{
	struct damon_test_engine *e = damon_test_engine_new(test);
	int nr_running = damon_nr_running_ctxs();
	int i, inits;

	for (i = 0; i < 50; i++) {
		inits = atomic_read(&damon_test_seen.init);
		KUNIT_ASSERT_EQ(test,
				__damon_test_engine_start(&e, 1, false, false),
				0);
		KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), 0);
		if (damon_is_running(e->ctx)) {
			KUNIT_FAIL(test,
				   "start %d: still running after damon_stop() returned 0; kdamond_fn() ran %d times for this start; running count %d, was %d",
				   i, atomic_read(&damon_test_seen.init) - inits,
				   damon_nr_running_ctxs(), nr_running);
			return;
		}
		KUNIT_EXPECT_EQ(test, damon_nr_running_ctxs(), nr_running);
		KUNIT_ASSERT_TRUE(test, damon_test_engine_join(e));
	}
	KUNIT_EXPECT_EQ(test, damon_nr_running_ctxs(), nr_running);
}

static void damon_test_kdamond_exclusive(struct kunit *test)
{
	struct damon_test_engine *a, *b, *both[2];

	if (damon_nr_running_ctxs())
		kunit_skip(test, "other DAMON contexts are running");
	a = damon_test_engine_new(test);
	b = damon_test_engine_new(test);
	both[0] = a;
	both[1] = b;

	/* Nothing exclusive while something runs. */
	KUNIT_ASSERT_EQ(test, damon_test_engine_start(&a, 1, false), 0);
	KUNIT_EXPECT_EQ(test, damon_test_engine_start(&b, 1, true), -EBUSY);
	KUNIT_EXPECT_FALSE(test, damon_is_running(b->ctx));
	KUNIT_EXPECT_EQ(test, damon_stop(&a->ctx, 1), 0);

	/* Nothing at all while an exclusive group runs. */
	KUNIT_ASSERT_EQ(test, damon_test_engine_start(&a, 1, true), 0);
	KUNIT_EXPECT_EQ(test, damon_test_engine_start(&b, 1, false), -EBUSY);
	KUNIT_EXPECT_EQ(test, damon_test_engine_start(&b, 1, true), -EBUSY);
	KUNIT_EXPECT_FALSE(test, damon_is_running(b->ctx));
	KUNIT_EXPECT_EQ(test, damon_nr_running_ctxs(), 1);
	KUNIT_EXPECT_EQ(test, damon_stop(&a->ctx, 1), 0);

	/* Once it is over, anything goes again. */
	KUNIT_EXPECT_EQ(test, damon_test_engine_start(&b, 1, false), 0);
	KUNIT_EXPECT_EQ(test, damon_stop(&b->ctx, 1), 0);

	/* An exclusive group of two runs both. */
	KUNIT_ASSERT_EQ(test, damon_test_engine_start(both, 2, true), 0);
	KUNIT_EXPECT_TRUE(test, damon_is_running(a->ctx));
	KUNIT_EXPECT_TRUE(test, damon_is_running(b->ctx));
	KUNIT_EXPECT_EQ(test, damon_nr_running_ctxs(), 2);
	KUNIT_EXPECT_EQ(test, damon_stop(&a->ctx, 1), 0);
	/* The group is exclusive until its last context stops. */
	KUNIT_EXPECT_EQ(test, damon_test_engine_start(&a, 1, false), -EBUSY);
	KUNIT_EXPECT_EQ(test, damon_stop(&b->ctx, 1), 0);
	KUNIT_EXPECT_EQ(test, damon_nr_running_ctxs(), 0);
}

/* --- damon_call() --- */

/* What the functions given to damon_call() share with the test. */
struct damon_test_call {
	struct damon_ctx *ctx;
	atomic_t runs;
	/* Cleared by a run where it did not own ctx. */
	bool owned;
	int ret;
};

static int damon_test_call_fn(void *data)
{
	struct damon_test_call *call = data;

	if (!damon_test_call_owns(call->ctx))
		WRITE_ONCE(call->owned, false);
	atomic_inc(&call->runs);
	return call->ret;
}

static void damon_test_call_init(struct damon_test_call *call,
				 struct damon_ctx *ctx, int ret)
{
	call->ctx = ctx;
	atomic_set(&call->runs, 0);
	call->owned = true;
	call->ret = ret;
}

static void damon_test_call_basic(struct kunit *test)
{
	struct damon_test_engine *e = damon_test_engine_new(test);
	struct damon_test_call call;
	struct damon_call_control control = {
		.fn = damon_test_call_fn, .data = &call,
	};
	int i;

	damon_test_call_init(&call, e->ctx, 42);
	/* Not running: refused on the spot, and nothing stays queued. */
	KUNIT_EXPECT_EQ(test, damon_call(e->ctx, &control), -EINVAL);
	KUNIT_EXPECT_TRUE(test, list_empty(&e->ctx->call_controls));
	KUNIT_EXPECT_EQ(test, atomic_read(&call.runs), 0);

	KUNIT_ASSERT_EQ(test, damon_test_engine_start(&e, 1, false), 0);
	for (i = 0; i < 5; i++) {
		control.return_code = 0;
		KUNIT_EXPECT_EQ(test, damon_call(e->ctx, &control), 0);
		KUNIT_EXPECT_EQ(test, control.return_code, 42);
		KUNIT_EXPECT_FALSE(test, control.canceled);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&call.runs), 5);
	KUNIT_EXPECT_TRUE_MSG(test, call.owned,
			      "the function ran where it did not own the context");
	KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), 0);
}

static void damon_test_call_long_interval(struct kunit *test)
{
	struct damon_test_engine *e = damon_test_engine_new(test);
	struct damon_attrs attrs = damon_test_attrs(USEC_PER_SEC,
						    2 * USEC_PER_SEC, 3, 100);
	struct damon_test_call call;
	struct damon_call_control control = {
		.fn = damon_test_call_fn, .data = &call,
	};
	ktime_t start;
	s64 ms;
	int i;

	damon_test_call_init(&call, e->ctx, 0);
	KUNIT_ASSERT_EQ(test, damon_set_attrs(e->ctx, &attrs), 0);
	KUNIT_ASSERT_EQ(test, damon_test_engine_start(&e, 1, false), 0);
	/* Let the kdamond settle into sleeping out its first 1 s sample. */
	msleep(100);
	for (i = 0; i < 3; i++) {
		start = ktime_get();
		KUNIT_EXPECT_EQ(test, damon_call(e->ctx, &control), 0);
		ms = ktime_ms_delta(ktime_get(), start);
		KUNIT_EXPECT_LT_MSG(test, ms, 500,
				    "call %d waited for the 1 s sample", i);
		msleep(50);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&call.runs), 3);
	/* Stopping does not wait for the sample either. */
	start = ktime_get();
	KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), 0);
	KUNIT_EXPECT_LT(test, ktime_ms_delta(ktime_get(), start), 500);
}

/* In the kdamond: what a commit of 1 ms sampling would do to @data. */
static int damon_test_call_fast_fn(void *data)
{
	struct damon_attrs attrs = damon_test_attrs(1000, 10000, 3, 100);

	return damon_set_attrs(data, &attrs);
}

/*
 * A call that shortens the sampling interval ends the sample being slept
 * out: a kdamond left on an interval of hours by one commit must follow
 * the next commit back to milliseconds at once.
 */
static void damon_test_call_shortens_sample(struct kunit *test)
{
	struct damon_test_engine *e = damon_test_engine_new(test);
	struct damon_attrs attrs = damon_test_attrs(3600UL * USEC_PER_SEC,
						    3600UL * USEC_PER_SEC,
						    3, 100);
	struct damon_call_control control = {
		.fn = damon_test_call_fast_fn, .data = e->ctx,
	};
	bool sampling;
	int checks;

	KUNIT_ASSERT_EQ(test, damon_set_attrs(e->ctx, &attrs), 0);
	KUNIT_ASSERT_EQ(test, damon_test_engine_start(&e, 1, false), 0);
	msleep(100);
	checks = atomic_read(&damon_test_seen.check);
	KUNIT_EXPECT_EQ(test, damon_call(e->ctx, &control), 0);
	KUNIT_EXPECT_EQ(test, control.return_code, 0);
	sampling = damon_test_wait_for(atomic_read(&damon_test_seen.check) >=
				       checks + 3, 10000);
	KUNIT_EXPECT_TRUE_MSG(test, sampling,
			      "still sleeping out the hour-long sample");
	KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), 0);
}

/* What a function that stands in for a parked kdamond saw. */
struct damon_test_hold {
	struct damon_ctx *ctx;
	struct task_struct *runner;
	unsigned long passed_before, passed_after;
};

static int damon_test_call_hold_fn(void *data)
{
	struct damon_test_hold *h = data;

	h->runner = current;
	h->passed_before = READ_ONCE(h->ctx->passed_sample_intervals);
	/* Five sampling intervals: the kdamond's timer goes off meanwhile. */
	msleep(100);
	h->passed_after = READ_ONCE(h->ctx->passed_sample_intervals);
	return 0;
}

/*
 * A one-off call to a kdamond that sleeps between two samples runs at once
 * in the caller, and the kdamond stays asleep until it is done: no sample
 * passes while the function runs.  The kdamond may be busy at the moment
 * of a call, then the call goes to it: try a few times.
 */
static void damon_test_call_stands_in(struct kunit *test)
{
	struct damon_test_engine *e = damon_test_engine_new(test);
	struct damon_attrs attrs = damon_test_attrs(20000, 200000, 3, 100);
	struct damon_test_hold hold = { .ctx = e->ctx };
	struct damon_call_control control = {
		.fn = damon_test_call_hold_fn, .data = &hold,
	};
	int i, stood_in = 0;
	bool ok;

	KUNIT_ASSERT_EQ(test, damon_set_attrs(e->ctx, &attrs), 0);
	KUNIT_ASSERT_EQ(test, damon_test_engine_start(&e, 1, false), 0);
	for (i = 0; i < 10 && stood_in < 3; i++) {
		msleep(30);
		KUNIT_ASSERT_EQ(test, damon_call(e->ctx, &control), 0);
		if (hold.runner != current)
			continue;
		stood_in++;
		KUNIT_EXPECT_EQ_MSG(test, hold.passed_after,
				    hold.passed_before,
				    "the kdamond sampled while held asleep");
	}
	KUNIT_EXPECT_GE_MSG(test, stood_in, 1,
			    "no call of %d ran in the caller", i);
	/* Let go, it samples again. */
	i = atomic_read(&damon_test_seen.check) + 3;
	ok = damon_test_wait_for(atomic_read(&damon_test_seen.check) >= i,
				 10000);
	KUNIT_EXPECT_TRUE_MSG(test, ok, "no sampling after the calls");
	KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), 0);
}

#define DAMON_TEST_NR_CALLERS	4

/* Threads calling damon_call() over and over. */
struct damon_test_caller {
	struct damon_ctx *ctx;
	struct damon_test_call *call;
	int max_calls;
	int nr_ok, nr_canceled, nr_inval, nr_other;
	struct completion done;
};

struct damon_test_callers {
	struct damon_test_call call;
	struct damon_test_caller caller[DAMON_TEST_NR_CALLERS];
};

static int damon_test_caller_fn(void *data)
{
	struct damon_test_caller *c = data;
	struct damon_call_control control;
	int i, ret;

	for (i = 0; i < c->max_calls; i++) {
		control = (struct damon_call_control){
			.fn = damon_test_call_fn, .data = c->call,
		};
		ret = damon_call(c->ctx, &control);
		if (!ret)
			c->nr_ok++;
		else if (ret == -ECANCELED)
			c->nr_canceled++;
		else if (ret == -EINVAL)
			c->nr_inval++;
		else
			c->nr_other++;
		/* Not running any more: nothing else will get through. */
		if (ret == -EINVAL)
			break;
		cond_resched();
	}
	/* The last touch of *c: the test may free it from here on. */
	complete(&c->done);
	return 0;
}

static void damon_test_callers_launch(struct kunit *test,
				      struct damon_test_callers *cs,
				      struct damon_ctx *ctx, int max_calls)
{
	struct damon_test_caller *c;
	struct task_struct *task;
	int i;

	damon_test_call_init(&cs->call, ctx, 0);
	for (i = 0; i < DAMON_TEST_NR_CALLERS; i++) {
		c = &cs->caller[i];
		*c = (struct damon_test_caller){
			.ctx = ctx, .call = &cs->call, .max_calls = max_calls,
		};
		init_completion(&c->done);
		task = kthread_run(damon_test_caller_fn, c,
				   "damon_test_call.%d", i);
		if (IS_ERR(task)) {
			KUNIT_FAIL(test, "no caller thread: %ld",
				   PTR_ERR(task));
			complete(&c->done);
		}
	}
}

/*
 * Wait for the callers, 10 s at most in all.  One still waiting is a hang
 * that stopping the context must end (it cancels every request); if even
 * that fails, the threads may still write to @cs and to the context, so
 * both are leaked rather than freed.  Returns whether all are done.
 */
static bool damon_test_callers_join(struct kunit *test,
				    struct damon_test_callers *cs,
				    struct damon_test_engine *e)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(10000);
	long left;
	int i;

	for (i = 0; i < DAMON_TEST_NR_CALLERS; i++) {
		left = max_t(long, (long)(deadline - jiffies), 1);
		if (wait_for_completion_timeout(&cs->caller[i].done, left))
			continue;
		KUNIT_FAIL(test, "caller %d hangs in damon_call()", i);
		if (damon_is_running(e->ctx))
			damon_stop(&e->ctx, 1);
		if (!wait_for_completion_timeout(&cs->caller[i].done,
						 msecs_to_jiffies(10000))) {
			e->leak = true;
			return false;
		}
	}
	return true;
}

static void damon_test_call_concurrent(struct kunit *test)
{
	struct damon_test_engine *e = damon_test_engine_new(test);
	struct damon_test_callers *cs;
	struct damon_test_caller *c;
	int i, ok = 0;

	cs = kzalloc(sizeof(*cs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, cs);
	if (damon_test_engine_start(&e, 1, false)) {
		kfree(cs);
		KUNIT_FAIL_AND_ABORT(test, "damon_start() failed");
	}

	damon_test_callers_launch(test, cs, e->ctx, 20);
	if (!damon_test_callers_join(test, cs, e))
		return;
	for (i = 0; i < DAMON_TEST_NR_CALLERS; i++) {
		c = &cs->caller[i];
		KUNIT_EXPECT_EQ_MSG(test, c->nr_ok, 20,
				    "caller %d: %d canceled, %d invalid, %d other",
				    i, c->nr_canceled, c->nr_inval,
				    c->nr_other);
		ok += c->nr_ok;
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&cs->call.runs), ok);
	KUNIT_EXPECT_TRUE(test, cs->call.owned);
	kfree(cs);
	KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), 0);
}

static void damon_test_call_race_stop(struct kunit *test)
{
	struct damon_test_engine *e = damon_test_engine_new(test);
	struct damon_test_callers *cs;
	struct damon_test_caller *c;
	int round, i, nr_ok, canceled, inval;
	bool ok;

	cs = kzalloc(sizeof(*cs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, cs);
	/* Stop right away, then later and later into the calls. */
	for (round = 0; round < 3; round++) {
		if (damon_test_engine_start(&e, 1, false)) {
			KUNIT_FAIL(test, "damon_start() failed");
			break;
		}
		damon_test_callers_launch(test, cs, e->ctx, 100000);
		if (round) {
			ok = damon_test_wait_for(atomic_read(&cs->call.runs) >=
						 20 * round, 10000);
			KUNIT_EXPECT_TRUE(test, ok);
		}
		KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), 0);
		if (!damon_test_callers_join(test, cs, e))
			return;

		nr_ok = 0;
		canceled = 0;
		inval = 0;
		for (i = 0; i < DAMON_TEST_NR_CALLERS; i++) {
			c = &cs->caller[i];
			KUNIT_EXPECT_EQ_MSG(test, c->nr_other, 0,
					    "round %d caller %d", round, i);
			/* Each ends on the stopped context. */
			KUNIT_EXPECT_EQ_MSG(test, c->nr_inval, 1,
					    "round %d caller %d", round, i);
			nr_ok += c->nr_ok;
			canceled += c->nr_canceled;
			inval += c->nr_inval;
		}
		/* Each function ran exactly when its call said so. */
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&cs->call.runs), nr_ok,
				    "round %d: %d ok, %d canceled, %d invalid",
				    round, nr_ok, canceled, inval);
		KUNIT_EXPECT_TRUE(test, cs->call.owned);
		KUNIT_EXPECT_TRUE(test, list_empty(&e->ctx->call_controls));
	}
	kfree(cs);
}

static void damon_test_call_repeat(struct kunit *test)
{
	struct damon_call_control *control = damon_test_repeat_control(test);
	/* The function's data must outlive the kdamond too. */
	struct damon_test_call *call = kunit_kzalloc(test, sizeof(*call),
						     GFP_KERNEL);
	struct damon_test_engine *e = damon_test_engine_new(test);
	struct damon_test_call once_call;
	struct damon_call_control once = {
		.fn = damon_test_call_fn, .data = &once_call,
	};
	int runs;
	bool ok;

	KUNIT_ASSERT_NOT_NULL(test, call);
	damon_test_call_init(call, e->ctx, 7);
	control->fn = damon_test_call_fn;
	control->data = call;
	damon_test_call_init(&once_call, e->ctx, 8);
	KUNIT_ASSERT_EQ(test, damon_test_engine_start(&e, 1, false), 0);

	/* Queued, not run: it returns at once, and runs on and on. */
	KUNIT_EXPECT_EQ(test, damon_call(e->ctx, control), 0);
	ok = damon_test_wait_for(atomic_read(&call->runs) >= 5, 10000);
	KUNIT_EXPECT_TRUE_MSG(test, ok,
			      "a repeated function ran %d times in 10 s",
			      atomic_read(&call->runs));
	KUNIT_EXPECT_FALSE(test, completion_done(&control->completion));
	KUNIT_EXPECT_FALSE(test, control->canceled);
	KUNIT_EXPECT_EQ(test, control->return_code, 7);

	/* A one-off call goes through alongside. */
	KUNIT_EXPECT_EQ(test, damon_call(e->ctx, &once), 0);
	KUNIT_EXPECT_EQ(test, once.return_code, 8);
	KUNIT_EXPECT_EQ(test, atomic_read(&once_call.runs), 1);

	/* Stopping cancels it, and then it runs no more. */
	KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), 0);
	KUNIT_EXPECT_TRUE(test, control->canceled);
	KUNIT_EXPECT_TRUE(test, completion_done(&control->completion));
	KUNIT_EXPECT_TRUE(test, list_empty(&e->ctx->repeat_controls));
	runs = atomic_read(&call->runs);
	msleep(20);
	KUNIT_EXPECT_EQ(test, atomic_read(&call->runs), runs);
	KUNIT_EXPECT_TRUE(test, call->owned);
	KUNIT_EXPECT_EQ(test, atomic_read(&once_call.runs), 1);
}

/* What a function repeated after each aggregation saw, run by run. */
struct damon_test_aggr_call {
	struct damon_ctx *ctx;
	atomic_t runs;
	/* Aggregations the fake operations set saw reset at the last run. */
	int last_reset;
	/* 0, or the first thing a run found wrong (see the test). */
	int err;
};

static int damon_test_aggr_call_fn(void *data)
{
	struct damon_test_aggr_call *call = data;
	struct damon_ctx *ctx = call->ctx;
	unsigned int full = damon_max_nr_accesses(&ctx->attrs);
	unsigned long hot_end = damon_test_pg(DAMON_TEST_FAKE_PAGES / 2);
	int reset = atomic_read(&damon_test_seen.reset);
	struct damon_target *t;
	struct damon_region *r;
	int err = 0;

	if (current != ctx->kdamond)
		err = -ESRCH;
	/* Every aggregation once: the reset of the last one came between. */
	else if (atomic_read(&call->runs) && reset != call->last_reset + 1)
		err = -EAGAIN;
	damon_for_each_target(t, ctx) {
		damon_for_each_region(r, t) {
			/* The fake set finds every sample of the hot half. */
			if (r->ar.end <= hot_end && r->nr_accesses != full)
				err = err ?: -ERANGE;
			if (r->ar.start >= hot_end && r->nr_accesses)
				err = err ?: -ERANGE;
		}
	}
	if (err && !call->err)
		call->err = err;
	call->last_reset = reset;
	atomic_inc(&call->runs);
	return 0;
}

/*
 * A function repeated with after_aggregation runs once per aggregation, in
 * the kdamond, where the counts of the aggregation that ended are complete:
 * a region of the hot half saw all the samples, one of the cold half none.
 * Run at a sampling interval instead, it would find partial counts; run
 * after the reset, zeros.
 */
static void damon_test_call_after_aggregation(struct kunit *test)
{
	struct damon_call_control *control = damon_test_repeat_control(test);
	/* The function's data must outlive the kdamond too. */
	struct damon_test_aggr_call *call = kunit_kzalloc(test, sizeof(*call),
							  GFP_KERNEL);
	struct damon_test_engine *e = damon_test_engine_new(test);
	struct damon_test_call once_call;
	struct damon_call_control once = {
		.fn = damon_test_call_fn, .data = &once_call,
		.after_aggregation = true,
	};
	int runs, resets;
	bool ok;

	KUNIT_ASSERT_NOT_NULL(test, call);
	call->ctx = e->ctx;
	control->fn = damon_test_aggr_call_fn;
	control->data = call;
	control->after_aggregation = true;
	damon_test_call_init(&once_call, e->ctx, 8);
	KUNIT_ASSERT_EQ(test, damon_test_engine_start(&e, 1, false), 0);

	/* Without repeat, it is refused and nothing is queued. */
	KUNIT_EXPECT_EQ(test, damon_call(e->ctx, &once), -EINVAL);

	resets = atomic_read(&damon_test_seen.reset);
	KUNIT_EXPECT_EQ(test, damon_call(e->ctx, control), 0);
	ok = damon_test_wait_for(atomic_read(&call->runs) >= 10, 10000);
	KUNIT_EXPECT_TRUE_MSG(test, ok,
			      "ran %d times in 10 s, over %d aggregations",
			      atomic_read(&call->runs),
			      atomic_read(&damon_test_seen.reset) - resets);
	KUNIT_EXPECT_EQ_MSG(test, READ_ONCE(call->err), 0,
			    "-ESRCH: not in the kdamond, -EAGAIN: not once per aggregation, -ERANGE: counts not those of a whole aggregation");
	KUNIT_EXPECT_FALSE(test, control->canceled);
	KUNIT_EXPECT_FALSE(test, completion_done(&control->completion));

	KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), 0);
	KUNIT_EXPECT_TRUE(test, control->canceled);
	KUNIT_EXPECT_TRUE(test, completion_done(&control->completion));
	KUNIT_EXPECT_TRUE(test, list_empty(&e->ctx->aggr_controls));
	/* No more runs than aggregations, and the last one had its run. */
	runs = atomic_read(&call->runs);
	KUNIT_EXPECT_LE(test, runs,
			atomic_read(&damon_test_seen.reset) - resets);
	KUNIT_EXPECT_EQ(test, atomic_read(&damon_test_seen.reset),
			call->last_reset + 1);
	msleep(20);
	KUNIT_EXPECT_EQ(test, atomic_read(&call->runs), runs);
	KUNIT_EXPECT_EQ(test, atomic_read(&once_call.runs), 0);
	KUNIT_EXPECT_EQ(test, READ_ONCE(call->err), 0);
}

DAMON_KUNIT_SUITE(damon_engine_test, "damon-engine",
		  /* damon_set_attrs() */
		  KUNIT_CASE(damon_test_set_attrs_invalid),
		  KUNIT_CASE(damon_test_set_attrs_rescale),

		  /* Splitting and merging a pair of regions */
		  KUNIT_CASE(damon_test_split_region_at),
		  KUNIT_CASE(damon_test_merge_two_regions),

		  /* Merging all regions: what may merge */
		  KUNIT_CASE(damon_test_merge_regions_of_thres),
		  KUNIT_CASE(damon_test_merge_regions_of_sz_limit),
		  KUNIT_CASE(damon_test_merge_regions_of_age),

		  /* Merging all regions: down to the maximum count */
		  KUNIT_CASE(damon_test_merge_regions_thres_doubling),
		  KUNIT_CASE(damon_test_merge_regions_gives_up),
		  KUNIT_CASE(damon_test_merge_regions_counts_all_targets),

		  /* Splitting all regions */
		  KUNIT_CASE(damon_test_split_regions_of),
		  KUNIT_CASE(damon_test_split_regions_count),

		  /* Access rates, and the adaptive regions as a whole */
		  KUNIT_CASE(damon_test_update_access_rate),
		  KUNIT_CASE(damon_test_update_access_rate_bounded),
		  KUNIT_CASE(damon_test_adaptive_regions_random),

		  /* Registering operations sets */
		  KUNIT_CASE(damon_test_register_ops_invalid),
		  KUNIT_CASE(damon_test_register_ops),

		  /* The kdamond starting and stopping */
		  KUNIT_CASE(damon_test_kdamond_start_stop),
		  KUNIT_CASE(damon_test_kdamond_stops_itself),
		  KUNIT_CASE(damon_test_kdamond_stop_right_after_start),
		  KUNIT_CASE(damon_test_kdamond_exclusive),

		  /* damon_call(): one request at a time */
		  KUNIT_CASE(damon_test_call_basic),
		  KUNIT_CASE(damon_test_call_long_interval),
		  KUNIT_CASE(damon_test_call_shortens_sample),
		  KUNIT_CASE(damon_test_call_stands_in),

		  /* damon_call(): races, repeats and aggregations */
		  KUNIT_CASE(damon_test_call_concurrent),
		  KUNIT_CASE(damon_test_call_race_stop),
		  KUNIT_CASE(damon_test_call_repeat),
		  KUNIT_CASE(damon_test_call_after_aggregation));

/*
 * Benchmarks, not tests: they print figures and assert nothing about time.
 * Marked slow so that "make test" leaves them out; "make bench" runs them
 * on a kernel without debug options.
 */

static int damon_bench_call_fn(void *data)
{
	return 0;
}

/* A context that monitors nothing and never stops by itself. */
static struct damon_ctx *damon_bench_idle_ctx(struct kunit *test,
					      unsigned long sample_us)
{
	struct damon_ctx *ctx = damon_new_ctx();
	struct damon_attrs attrs;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	attrs = ctx->attrs;
	attrs.sample_interval = sample_us;
	attrs.aggr_interval = sample_us * 20;
	KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	return ctx;
}

static int damon_bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static void damon_bench_call_latency_at(struct kunit *test,
					unsigned long sample_us,
					unsigned int nr_calls)
{
	struct damon_ctx *ctx = damon_bench_idle_ctx(test, sample_us);
	struct damon_call_control control = { .fn = damon_bench_call_fn };
	u64 *lat;
	u64 start;
	unsigned int i;

	lat = kunit_kcalloc(test, nr_calls, sizeof(*lat), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, lat);
	KUNIT_ASSERT_EQ(test, damon_start(&ctx, 1, false), 0);
	/* Let the kdamond settle into its loop. */
	msleep(50);
	for (i = 0; i < nr_calls; i++) {
		start = ktime_get_ns();
		KUNIT_ASSERT_EQ(test, damon_call(ctx, &control), 0);
		lat[i] = ktime_get_ns() - start;
		/* Land at a different point of the sampling interval each time. */
		usleep_range(100 + 37 * (i % 7), 200 + 37 * (i % 7));
	}
	KUNIT_EXPECT_EQ(test, damon_stop(&ctx, 1), 0);
	damon_destroy_ctx(ctx);

	sort(lat, nr_calls, sizeof(*lat), damon_bench_cmp_u64, NULL);
	kunit_info(test,
		   "bench: damon_call sample_us=%lu calls=%u p50_us=%llu p90_us=%llu max_us=%llu\n",
		   sample_us, nr_calls, div_u64(lat[nr_calls / 2], 1000),
		   div_u64(lat[nr_calls * 9 / 10], 1000),
		   div_u64(lat[nr_calls - 1], 1000));
}

static void damon_bench_call_latency(struct kunit *test)
{
	damon_bench_call_latency_at(test, 5 * USEC_PER_MSEC, 200);
	damon_bench_call_latency_at(test, USEC_PER_SEC, 50);
}

DAMON_KUNIT_BENCH(damon_bench, "damon-bench",
		  KUNIT_CASE_SLOW(damon_bench_call_latency));

#endif	/* _DAMON_CORE_KUNIT_H */

#endif	/* CONFIG_DAMON_KUNIT_TEST */
