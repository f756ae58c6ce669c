/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit suite of the DAMON core at the edges of what its knobs accept.
 *
 * Every knob takes any unsigned long, so each product, sum, narrowing and
 * division of the core is tried here with the extremes: a case per failure
 * class, named after what it guards.  Included by core.c after
 * core-kunit.h, whose helpers and fake operations set it uses.
 */

#ifdef CONFIG_DAMON_KUNIT_TEST

#ifndef _DAMON_EDGES_KUNIT_H
#define _DAMON_EDGES_KUNIT_H

#include <kunit/test.h>
#include <linux/kthread.h>

#include "kunit-common.h"

/*
 * Guards: damon_max_nr_accesses() narrowing a window of 2^32 samples to 0,
 * which the access rate update then divided by.
 */
static void damon_edges_test_window_narrowing(struct kunit *test)
{
	struct damon_attrs attrs = damon_test_attrs(1, 1UL << 32, 3, 10);
	struct damon_target *t;
	struct damon_ctx *ctx = damon_test_new_ctx(test, &t);

	KUNIT_EXPECT_EQ(test, damon_max_nr_accesses(&attrs),
			DAMON_MAX_AGGR_SAMPLES);
	attrs.sample_interval = 0;
	attrs.aggr_interval = ULONG_MAX;
	KUNIT_EXPECT_EQ(test, damon_max_nr_accesses(&attrs),
			DAMON_MAX_AGGR_SAMPLES);

	/* Windows the counters cannot hold are refused. */
	attrs = damon_test_attrs(1, 1UL << 32, 3, 10);
	KUNIT_EXPECT_EQ(test, damon_set_attrs(ctx, &attrs), -EINVAL);
	attrs.aggr_interval = DAMON_MAX_AGGR_SAMPLES + 1UL;
	KUNIT_EXPECT_EQ(test, damon_set_attrs(ctx, &attrs), -EINVAL);
	attrs.sample_interval = 0;
	KUNIT_EXPECT_EQ(test, damon_set_attrs(ctx, &attrs), -EINVAL);
	attrs.aggr_interval = DAMON_MAX_AGGR_SAMPLES;
	KUNIT_EXPECT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	attrs.sample_interval = 1000;
	attrs.aggr_interval = 1000UL * DAMON_MAX_AGGR_SAMPLES;
	KUNIT_EXPECT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	/* A window of one sample, however long: no overflow either. */
	attrs.sample_interval = ULONG_MAX;
	attrs.aggr_interval = ULONG_MAX;
	KUNIT_EXPECT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	KUNIT_EXPECT_EQ(test, damon_max_nr_accesses(&ctx->attrs), 1);

	/* Region limits the memory could not hold are refused too. */
	attrs = damon_test_attrs(5000, 100000, 3, DAMON_MAX_NR_REGIONS + 1);
	KUNIT_EXPECT_EQ(test, damon_set_attrs(ctx, &attrs), -EINVAL);
	attrs.min_nr_regions = ULONG_MAX;
	attrs.max_nr_regions = ULONG_MAX;
	KUNIT_EXPECT_EQ(test, damon_set_attrs(ctx, &attrs), -EINVAL);
	attrs.min_nr_regions = 3;
	attrs.max_nr_regions = DAMON_MAX_NR_REGIONS;
	KUNIT_EXPECT_EQ(test, damon_set_attrs(ctx, &attrs), 0);

	/* And damon_start() refuses attributes set behind its back. */
	ctx->attrs.aggr_interval = 1UL << 32;
	ctx->attrs.sample_interval = 1;
	KUNIT_EXPECT_EQ(test, damon_start(&ctx, 1, false), -EINVAL);
	KUNIT_EXPECT_FALSE(test, damon_is_running(ctx));
}

/*
 * Guards: nr_accesses * 10000 in an unsigned int, which wraps for windows
 * above 429,496 samples.  At the longest window allowed, the moving sum
 * must still count a full window exactly.
 */
static void damon_edges_test_access_rate_longest_window(struct kunit *test)
{
	struct damon_attrs attrs = damon_test_attrs(1, DAMON_MAX_AGGR_SAMPLES,
						    3, 10);
	struct damon_region *r = damon_new_region(0, damon_test_pg(1));
	unsigned int full = DAMON_MAX_AGGR_SAMPLES * 10000;

	KUNIT_ASSERT_NOT_NULL(test, r);
	r->last_nr_accesses = DAMON_MAX_AGGR_SAMPLES;
	r->nr_accesses_bp = full;
	damon_update_region_access_rate(r, true, &attrs);
	KUNIT_EXPECT_EQ(test, r->nr_accesses_bp, full);
	damon_update_region_access_rate(r, false, &attrs);
	KUNIT_EXPECT_EQ(test, r->nr_accesses_bp, full - 10000);
	/* A count beyond the window, as only a buggy caller sets. */
	attrs.aggr_interval = 10;
	r->last_nr_accesses = UINT_MAX;
	damon_update_region_access_rate(r, false, &attrs);
	KUNIT_EXPECT_EQ(test, r->nr_accesses_bp, 0);
	kmem_cache_free(damon_region_cache, r);
}

/*
 * damon_rand() stays in its range at every width, down to a single number
 * and up to the whole address space, and spreads over it: each quarter of a
 * range gets a fair share of 4000 picks.
 */
static void damon_edges_test_rand(struct kunit *test)
{
	static const unsigned long spans[] = {
		1, 2, 3, 4096, U32_MAX, (unsigned long)U32_MAX + 1, ULONG_MAX,
	};
	unsigned long lo, span, x, quarters[4];
	int i, j;

	for (i = 0; i < ARRAY_SIZE(spans); i++) {
		span = spans[i];
		lo = ULONG_MAX - span;
		memset(quarters, 0, sizeof(quarters));
		for (j = 0; j < 4000; j++) {
			x = damon_rand(lo, lo + span);
			KUNIT_ASSERT_GE(test, x, lo);
			KUNIT_ASSERT_LT(test, x, lo + span);
			if (span >= 4)
				quarters[(x - lo) / (span / 4 + !!(span % 4))]++;
		}
		for (j = 0; span >= 4096 && j < 4; j++)
			KUNIT_EXPECT_GT_MSG(test, quarters[j], 800,
					    "span %lu quarter %d", span, j);
	}
	KUNIT_EXPECT_EQ(test, damon_rand(5, 6), 5);
}

/* Guards: products of two knobs overflowing before their division. */
static void damon_edges_test_mul_div(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, damon_mul_div(10, 20, 3), 66);
	KUNIT_EXPECT_EQ(test, damon_mul_div(U64_MAX, U64_MAX, U64_MAX),
			U64_MAX);
	KUNIT_EXPECT_EQ(test, damon_mul_div(U64_MAX, 2, 4), U64_MAX / 2);
	KUNIT_EXPECT_EQ(test, damon_mul_div(1ULL << 40, 1ULL << 40, 1ULL << 20),
			1ULL << 60);
	/* Quotients that do not fit saturate instead of trapping. */
	KUNIT_EXPECT_EQ(test, damon_mul_div(1ULL << 40, 1ULL << 40, 1),
			U64_MAX);
	KUNIT_EXPECT_EQ(test, damon_mul_div(U64_MAX, 3, 2), U64_MAX);
	KUNIT_EXPECT_EQ(test, damon_mul_div(5, 5, 0), U64_MAX);
	/* Ten hours of quota throughput: 2^45 bytes in 3.6e13 ns, per ms. */
	KUNIT_EXPECT_EQ(test, damon_mul_div(1ULL << 45, NSEC_PER_MSEC,
					    36000000000000ULL),
			div64_u64(1ULL << 45, 36000000));
}

/*
 * Guards: deadlines and due counts of intervals near ULONG_MAX, which
 * ktime_add_us() and plain additions wrapped into the past, so that the
 * kdamond spun instead of sleeping.
 */
static void damon_edges_test_saturating_time(struct kunit *test)
{
	struct damon_ctx ctx = { .passed_sample_intervals = ULONG_MAX - 5 };
	ktime_t now = ktime_get();

	KUNIT_EXPECT_EQ(test, damon_deadline_us(ULONG_MAX), KTIME_MAX);
	KUNIT_EXPECT_EQ(test, damon_deadline_us(1UL << 63), KTIME_MAX);
	KUNIT_EXPECT_TRUE(test, ktime_after(damon_deadline_us(1000), now));
	KUNIT_EXPECT_EQ(test, damon_due_sis(&ctx, 10), ULONG_MAX);
	KUNIT_EXPECT_EQ(test, damon_due_sis(&ctx, 5), ULONG_MAX);
	KUNIT_EXPECT_EQ(test, damon_due_sis(&ctx, 4), ULONG_MAX - 1);
	ctx.passed_sample_intervals = 5;
	KUNIT_EXPECT_EQ(test, damon_due_sis(&ctx, ULONG_MAX), ULONG_MAX);
	KUNIT_EXPECT_EQ(test, damon_due_sis(&ctx, 10), 15);
}

/*
 * Guards: size-weighted means of merged regions, whose products of counts
 * and terabyte sizes overflowed 64 bits.
 */
static void damon_edges_test_merge_huge(struct kunit *test)
{
	unsigned long half = 1UL << 62;
	struct damon_target *t = damon_new_target();
	struct damon_region *l, *r;

	KUNIT_ASSERT_NOT_NULL(test, t);
	l = damon_new_region(0, half);
	r = damon_new_region(half, 2 * half);
	KUNIT_ASSERT_NOT_NULL(test, l);
	KUNIT_ASSERT_NOT_NULL(test, r);
	damon_add_region(l, t);
	damon_add_region(r, t);
	l->nr_accesses_bp = UINT_MAX;
	r->nr_accesses_bp = UINT_MAX - 2;
	l->age = 0;
	r->age = UINT_MAX;
	l->last_nr_accesses = 7;
	r->last_nr_accesses = 8;
	damon_merge_two_regions(t, l, r);
	KUNIT_EXPECT_EQ(test, damon_nr_regions(t), 1);
	KUNIT_EXPECT_EQ(test, l->ar.end, 2 * half);
	KUNIT_EXPECT_EQ(test, l->nr_accesses_bp, UINT_MAX - 1);
	KUNIT_EXPECT_EQ(test, l->age, UINT_MAX / 2);
	KUNIT_EXPECT_EQ(test, l->last_nr_accesses, 7);
	damon_free_target(t);
}

/*
 * Guards: splitting a region of most of the address space, where
 * size * 9 / 10 overflowed and cut at a wrapped point.
 */
static void damon_edges_test_split_huge(struct kunit *test)
{
	struct damon_target *t = damon_new_target();
	struct damon_addr_range ar = { .start = 0, .end = ULONG_MAX };
	unsigned long sz = DAMON_MAX_REGION_END;
	struct damon_region *r;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, t);
	for (i = 0; i < 20; i++) {
		/* A range up to the very top keeps all its full pages. */
		KUNIT_ASSERT_EQ(test, damon_set_regions(t, &ar, 1), 0);
		KUNIT_ASSERT_EQ(test, damon_nr_regions(t), 1);
		KUNIT_EXPECT_EQ(test, damon_first_region(t)->ar.end, sz);
		damon_split_regions_of(t, 2);
		KUNIT_EXPECT_EQ(test, damon_nr_regions(t), 2);
		r = damon_first_region(t);
		/* The cut lies between 10% and 90% of the region. */
		KUNIT_EXPECT_GE(test, damon_sz_region(r), sz / 10 - PAGE_SIZE);
		KUNIT_EXPECT_LE(test, damon_sz_region(r),
				sz / 10 * 9 + PAGE_SIZE);
		damon_test_expect_sane(test, t);
		KUNIT_EXPECT_EQ(test, damon_last_region(t)->ar.end, sz);
		while (damon_nr_regions(t))
			damon_destroy_region(damon_first_region(t), t);
	}
	damon_free_target(t);
}

/*
 * Guards: the merge threshold doubling in an unsigned int, which wrapped to
 * 0 and looped forever while the region count stayed above the maximum.
 * Regions of a gapped target cannot merge at all: the loop must give up.
 */
static void damon_edges_test_merge_gives_up(struct kunit *test)
{
	struct damon_target *t;
	struct damon_ctx *ctx = damon_test_new_ctx(test, &t);
	struct damon_attrs attrs = damon_test_attrs(1, DAMON_MAX_AGGR_SAMPLES,
						    3, 3);
	struct damon_region *r;
	unsigned long i;

	KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	for (i = 0; i < 10; i++) {
		r = damon_new_region(damon_test_pg(2 * i),
				     damon_test_pg(2 * i + 1));
		KUNIT_ASSERT_NOT_NULL(test, r);
		r->nr_accesses = i % 2 ? DAMON_MAX_AGGR_SAMPLES : 0;
		damon_add_region(r, t);
	}
	kdamond_merge_regions(ctx, UINT_MAX, ULONG_MAX);
	KUNIT_EXPECT_EQ(test, damon_nr_regions(t), 10);
	kdamond_merge_regions(ctx, 0, ULONG_MAX);
	KUNIT_EXPECT_EQ(test, damon_nr_regions(t), 10);
}

/*
 * Guards: rescaling counts and ages to new intervals, whose product of an
 * age and an interval overflowed.
 */
static void damon_edges_test_rescale_huge(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, damon_rescale(UINT_MAX, ULONG_MAX, 1),
			UINT_MAX);
	KUNIT_EXPECT_EQ(test, damon_rescale(UINT_MAX, ULONG_MAX, ULONG_MAX),
			UINT_MAX);
	KUNIT_EXPECT_EQ(test, damon_rescale(3, ULONG_MAX, ULONG_MAX / 2), 6);
	KUNIT_EXPECT_EQ(test, damon_rescale(UINT_MAX, 1, ULONG_MAX), 0);
	KUNIT_EXPECT_EQ(test, damon_rescale(5, 7, 0), 35);
}

/*
 * Guards: a commit failing half way.  damon_commit_ctx() allocates the
 * regions that fill holes before it changes anything, as many as
 * damon_count_fills() counts; fitting must need exactly those.
 */
static void damon_edges_test_fill_bound(struct kunit *test)
{
	struct damon_addr_range ranges[8];
	struct damon_target *t = damon_new_target();
	struct damon_region *r, *next;
	unsigned long pos, len, need;
	unsigned int i, nr_ranges;
	struct rnd_state rnd;
	LIST_HEAD(pool);
	int round;

	KUNIT_ASSERT_NOT_NULL(test, t);
	prandom_seed_state(&rnd, 42);
	for (round = 0; round < 500; round++) {
		/* Random regions, then random ranges, over 64 pages. */
		for (pos = prandom_u32_state(&rnd) % 4; pos < 60;) {
			len = 1 + prandom_u32_state(&rnd) % 3;
			r = damon_new_region(damon_test_pg(pos),
					     damon_test_pg(pos + len));
			KUNIT_ASSERT_NOT_NULL(test, r);
			damon_add_region(r, t);
			pos += len + 1 + prandom_u32_state(&rnd) % 8;
		}
		nr_ranges = 0;
		for (pos = prandom_u32_state(&rnd) % 4;
		     pos < 60 && nr_ranges < ARRAY_SIZE(ranges);) {
			len = 1 + prandom_u32_state(&rnd) % 16;
			ranges[nr_ranges].start = damon_test_pg(pos);
			ranges[nr_ranges++].end = damon_test_pg(pos + len);
			pos += len + 1 + prandom_u32_state(&rnd) % 12;
		}
		need = damon_count_fills(t, ranges, nr_ranges);
		/* Each region leads to one fill at most, each range to one. */
		KUNIT_EXPECT_LE(test, need, damon_nr_regions(t) + nr_ranges);
		KUNIT_EXPECT_EQ(test, damon_count_fills(NULL, ranges, nr_ranges),
				nr_ranges);
		for (i = 0; i < need; i++) {
			r = damon_new_region(0, 0);
			KUNIT_ASSERT_NOT_NULL(test, r);
			list_add(&r->list, &pool);
		}
		KUNIT_EXPECT_EQ(test, __damon_set_regions(t, ranges, nr_ranges,
							  &pool), 0);
		KUNIT_EXPECT_TRUE(test, list_empty(&pool));
		damon_test_expect_sane(test, t);
		damon_for_each_region_safe(r, next, t)
			damon_destroy_region(r, t);
		list_for_each_entry_safe(r, next, &pool, list)
			kmem_cache_free(damon_region_cache, r);
		INIT_LIST_HEAD(&pool);
	}
	damon_free_target(t);
}

/* --- Intervals auto-tuning --- */

/* Goals that cannot tune are refused, as any invalid attribute is. */
static void damon_tuning_test_invalid_goal(struct kunit *test)
{
	struct damon_attrs attrs = damon_test_attrs(5000, 100000, 10, 1000);
	struct damon_intervals_goal *g = &attrs.intervals_goal;
	struct damon_target *t;
	struct damon_ctx *ctx = damon_test_new_ctx(test, &t);

	*g = (struct damon_intervals_goal){ 400, 3, 5000, 10000000 };
	KUNIT_EXPECT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	g->min_sample_us = g->max_sample_us + 1;
	KUNIT_EXPECT_EQ(test, damon_set_attrs(ctx, &attrs), -EINVAL);
	*g = (struct damon_intervals_goal){ 0, 3, 5000, 10000000 };
	KUNIT_EXPECT_EQ(test, damon_set_attrs(ctx, &attrs), -EINVAL);
	*g = (struct damon_intervals_goal){ 400, 3, 0, 0 };
	KUNIT_EXPECT_EQ(test, damon_set_attrs(ctx, &attrs), -EINVAL);
	/* Without aggrs it tunes nothing, whatever the rest says. */
	*g = (struct damon_intervals_goal){ 0, 0, 0, 0 };
	KUNIT_EXPECT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	*g = (struct damon_intervals_goal){ ULONG_MAX, 0, 0, ULONG_MAX };
	KUNIT_EXPECT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	KUNIT_EXPECT_EQ(test, ctx->attrs.intervals_goal.access_bp, ULONG_MAX);
}

/* One step of the feedback: twice as long at no event, half at twice. */
static void damon_tuning_test_feedback(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, damon_tuned_aggr_interval(100000, 0), 200000);
	KUNIT_EXPECT_EQ(test, damon_tuned_aggr_interval(100000, 5000), 150000);
	KUNIT_EXPECT_EQ(test, damon_tuned_aggr_interval(100000, 10000), 100000);
	KUNIT_EXPECT_EQ(test, damon_tuned_aggr_interval(100000, 12500), 75000);
	KUNIT_EXPECT_EQ(test, damon_tuned_aggr_interval(100000, 15000), 50000);
	KUNIT_EXPECT_EQ(test, damon_tuned_aggr_interval(100000, ULONG_MAX),
			50000);
	/* Saturated at the top, never 0 at the bottom. */
	KUNIT_EXPECT_EQ(test, damon_tuned_aggr_interval(ULONG_MAX, 0),
			ULONG_MAX);
	KUNIT_EXPECT_EQ(test, damon_tuned_aggr_interval(1, ULONG_MAX), 1);
}

/* The share of access events is a size-weighted mean, even of huge sizes. */
static void damon_tuning_test_access_bp(struct kunit *test)
{
	struct damon_attrs attrs = damon_test_attrs(5000, 100000, 3, 1000);
	struct damon_target *t;
	struct damon_ctx *ctx = damon_test_new_ctx(test, &t);
	const struct damon_test_region layout[] = {
		{ .start = 0, .end = 1, .nr_accesses = 20 },
		{ .start = 1, .end = 4, .nr_accesses = 0 },
	};
	struct damon_region *l, *r;

	KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	KUNIT_EXPECT_EQ(test, damon_aggr_access_bp(ctx), 0);
	damon_test_add(test, t, layout, ARRAY_SIZE(layout));
	KUNIT_EXPECT_EQ(test, damon_aggr_access_bp(ctx), 2500);
	while (damon_nr_regions(t))
		damon_destroy_region(damon_first_region(t), t);

	l = damon_new_region(0, 1UL << 62);
	r = damon_new_region(1UL << 62, 1UL << 63);
	KUNIT_ASSERT_NOT_NULL(test, l);
	KUNIT_ASSERT_NOT_NULL(test, r);
	damon_add_region(l, t);
	damon_add_region(r, t);
	l->nr_accesses = 20;
	r->nr_accesses = 10;
	KUNIT_EXPECT_EQ(test, damon_aggr_access_bp(ctx), 7500);
	/* Counts past the window, as a buggy operations set may give. */
	l->nr_accesses = UINT_MAX;
	r->nr_accesses = UINT_MAX;
	KUNIT_EXPECT_EQ(test, damon_aggr_access_bp(ctx), 10000);
}

/*
 * A workload whose share of access events grows with the aggregation
 * interval, one basis point per millisecond: the goal of 400 bp is met at
 * 400 ms.  The tuner must get there and stay, keeping the sample:aggr
 * ratio and the sampling interval within its bounds.
 */
static unsigned long damon_tuning_test_model(unsigned long aggr_us)
{
	return min(aggr_us / 1000, 10000UL);
}

static void damon_tuning_test_converges(struct kunit *test)
{
	struct damon_attrs attrs = damon_test_attrs(5000, 100000, 3, 1000);
	struct damon_target *t;
	struct damon_ctx *ctx = damon_test_new_ctx(test, &t);
	unsigned long aggr;
	int i;

	attrs.intervals_goal = (struct damon_intervals_goal){
		.access_bp = 400, .aggrs = 1,
		.min_sample_us = 1000, .max_sample_us = 1000000,
	};
	KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	for (i = 0; i < 40; i++) {
		aggr = ctx->attrs.aggr_interval;
		damon_tune_intervals(ctx, damon_tuning_test_model(aggr));
		KUNIT_EXPECT_EQ(test, ctx->attrs.aggr_interval,
				ctx->attrs.sample_interval * 20);
		KUNIT_EXPECT_GE(test, ctx->attrs.sample_interval, 1000);
		KUNIT_EXPECT_LE(test, ctx->attrs.sample_interval, 1000000);
	}
	aggr = ctx->attrs.aggr_interval;
	KUNIT_EXPECT_GE_MSG(test, aggr, 300000, "tuned to %lu us", aggr);
	KUNIT_EXPECT_LE_MSG(test, aggr, 500000, "tuned to %lu us", aggr);

	/* Nothing seen: up to the longest sampling interval, and it stays. */
	for (i = 0; i < 40; i++)
		damon_tune_intervals(ctx, 0);
	KUNIT_EXPECT_EQ(test, ctx->attrs.sample_interval, 1000000);
	KUNIT_EXPECT_EQ(test, ctx->attrs.aggr_interval, 20000000);
	/* Everything seen: down to the shortest. */
	for (i = 0; i < 40; i++)
		damon_tune_intervals(ctx, 10000);
	KUNIT_EXPECT_EQ(test, ctx->attrs.sample_interval, 1000);
	KUNIT_EXPECT_EQ(test, ctx->attrs.aggr_interval, 20000);
}

/* Unbounded goals at the extremes: no overflow, attributes stay valid. */
static void damon_tuning_test_extremes(struct kunit *test)
{
	struct damon_attrs attrs = damon_test_attrs(1, DAMON_MAX_AGGR_SAMPLES,
						    3, 1000);
	struct damon_target *t;
	struct damon_ctx *ctx = damon_test_new_ctx(test, &t);
	int i;

	attrs.intervals_goal = (struct damon_intervals_goal){
		.access_bp = ULONG_MAX, .aggrs = ULONG_MAX,
		.min_sample_us = 0, .max_sample_us = ULONG_MAX,
	};
	KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	for (i = 0; i < 80; i++) {
		damon_tune_intervals(ctx, 0);
		KUNIT_EXPECT_TRUE(test, damon_valid_attrs(&ctx->attrs));
	}
	KUNIT_EXPECT_EQ(test, damon_max_nr_accesses(&ctx->attrs),
			DAMON_MAX_AGGR_SAMPLES);
	KUNIT_EXPECT_GE(test, ctx->attrs.sample_interval,
			ULONG_MAX / DAMON_MAX_AGGR_SAMPLES / 2);
	ctx->attrs.intervals_goal.access_bp = 1;
	for (i = 0; i < 80; i++) {
		damon_tune_intervals(ctx, 10000);
		KUNIT_EXPECT_TRUE(test, damon_valid_attrs(&ctx->attrs));
	}
	KUNIT_EXPECT_EQ(test, ctx->attrs.sample_interval, 1);
}

/* --- A kdamond that dies --- */

/* How the fake kdamond of the death tests dies: inside a damon_call(). */
static int damon_edges_test_die(void *data)
{
	kthread_exit(0);
}

/*
 * Guards: a kdamond dying inside its loop (an oops) with ->kdamond still
 * set, after which damon_stop() and every damon_call() waited forever.
 */
static void damon_edges_test_kdamond_dies(struct kunit *test)
{
	struct damon_test_engine *e = damon_test_engine_new(test);
	struct damon_call_control die = { .fn = damon_edges_test_die };
	struct damon_call_control call = { .fn = damon_test_inspect };
	int nr_running = damon_nr_running_ctxs();
	int err;

	call.data = e->ctx;
	KUNIT_ASSERT_EQ(test, damon_test_engine_start(&e, 1, false), 0);
	KUNIT_EXPECT_EQ(test, damon_nr_running_ctxs(), nr_running + 1);

	/*
	 * A repeated call always runs in the kdamond, as a one-off could run
	 * in this thread for a parked kdamond.  One queued behind it is
	 * canceled rather than waited for, or refused if the death was seen
	 * already.
	 */
	die.repeat = true;
	KUNIT_EXPECT_EQ(test, damon_call(e->ctx, &die), 0);
	err = damon_call(e->ctx, &call);
	KUNIT_EXPECT_TRUE_MSG(test, err == -ECANCELED || err == -EINVAL,
			      "a call after the fatal one returned %d", err);
	KUNIT_EXPECT_FALSE(test, damon_is_running(e->ctx));
	KUNIT_EXPECT_EQ(test, damon_nr_running_ctxs(), nr_running);
	KUNIT_EXPECT_EQ(test, damon_kdamond_pid(e->ctx), -1);
	KUNIT_EXPECT_EQ(test, damon_call(e->ctx, &call), -EINVAL);
	KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), -EPERM);
	KUNIT_EXPECT_TRUE(test, damon_test_engine_join(e));

	/* The context starts again, and works. */
	KUNIT_ASSERT_EQ(test, damon_test_engine_start(&e, 1, false), 0);
	KUNIT_EXPECT_EQ(test, damon_call(e->ctx, &call), 0);
	KUNIT_EXPECT_EQ(test, call.return_code, 0);

	/* Stopped while it dies: the stop returns all the same. */
	KUNIT_EXPECT_EQ(test, damon_call(e->ctx, &die), 0);
	KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), 0);
	KUNIT_EXPECT_FALSE(test, damon_is_running(e->ctx));
	KUNIT_EXPECT_EQ(test, damon_nr_running_ctxs(), nr_running);
}

/*
 * Guards: a restart racing the kdamond's exit.  damon_start() waits for a
 * kdamond that let go of its context with damon_lock held, so the exit
 * must need no damon_lock from then on, or both wait forever.
 */
/* Whether damon_start() of @ctx got past -EBUSY, with its result. */
static bool damon_edges_restarted(struct damon_ctx *ctx, int *err)
{
	*err = damon_start(&ctx, 1, false);
	return *err != -EBUSY;
}

static void damon_edges_test_restart_at_exit(struct kunit *test)
{
	struct damon_test_engine *e = damon_test_engine_new(test);
	int nr_running = damon_nr_running_ctxs();
	struct damon_ctx *ctx = e->ctx;
	int i, err = 0;
	bool started;

	KUNIT_ASSERT_EQ(test, damon_test_engine_start(&e, 1, false), 0);
	for (i = 0; i < 20; i++) {
		/* It stops by itself; restart it as soon as it lets go. */
		atomic_set(&damon_test_seen.all_valid, 0);
		started = damon_test_wait_for(damon_edges_restarted(ctx, &err),
					      10000);
		atomic_set(&damon_test_seen.all_valid, 1);
		KUNIT_EXPECT_TRUE(test, started);
		KUNIT_EXPECT_EQ(test, err, 0);
	}
	damon_stop(&e->ctx, 1);
	KUNIT_EXPECT_EQ(test, damon_nr_running_ctxs(), nr_running);
}

DAMON_KUNIT_SUITE(damon_edges_test, "damon-edges",
		  /* Sampling windows, access rates and random numbers */
		  KUNIT_CASE(damon_edges_test_window_narrowing),
		  KUNIT_CASE(damon_edges_test_access_rate_longest_window),
		  KUNIT_CASE(damon_edges_test_rand),

		  /* Arithmetic on knobs and intervals near ULONG_MAX */
		  KUNIT_CASE(damon_edges_test_mul_div),
		  KUNIT_CASE(damon_edges_test_saturating_time),
		  KUNIT_CASE(damon_edges_test_rescale_huge),

		  /* Regions of huge sizes and counts */
		  KUNIT_CASE(damon_edges_test_merge_huge),
		  KUNIT_CASE(damon_edges_test_split_huge),
		  KUNIT_CASE(damon_edges_test_merge_gives_up),
		  KUNIT_CASE(damon_edges_test_fill_bound),

		  /* Intervals auto-tuning */
		  KUNIT_CASE(damon_tuning_test_invalid_goal),
		  KUNIT_CASE(damon_tuning_test_feedback),
		  KUNIT_CASE(damon_tuning_test_access_bp),
		  KUNIT_CASE(damon_tuning_test_converges),
		  KUNIT_CASE(damon_tuning_test_extremes),

		  /* A kdamond that dies or exits under its users */
		  KUNIT_CASE(damon_edges_test_kdamond_dies),
		  KUNIT_CASE(damon_edges_test_restart_at_exit));

#endif	/* _DAMON_EDGES_KUNIT_H */

#endif	/* CONFIG_DAMON_KUNIT_TEST */
