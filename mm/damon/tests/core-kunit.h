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
#include <linux/prandom.h>

static unsigned long damon_test_pg(unsigned long nr)
{
	return nr * DAMON_MIN_REGION;
}

/* A target with regions [pages[0], pages[1]), [pages[2], pages[3]), ... */
static struct damon_target *damon_test_target(struct kunit *test,
					      const unsigned long *pages,
					      unsigned int nr_pages)
{
	struct damon_target *t = damon_new_target();
	struct damon_region *r;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, t);
	for (i = 0; i + 1 < nr_pages; i += 2) {
		r = damon_new_region(damon_test_pg(pages[i]),
				     damon_test_pg(pages[i + 1]));
		KUNIT_ASSERT_NOT_NULL(test, r);
		damon_add_region(r, t);
	}
	return t;
}

/* Regions sorted, disjoint, non-empty, aligned, and counted right. */
static void damon_test_expect_sane(struct kunit *test, struct damon_target *t)
{
	struct damon_region *r;
	unsigned long prev_end = 0;
	unsigned int nr = 0;

	damon_for_each_region(r, t) {
		KUNIT_EXPECT_LT_MSG(test, r->ar.start, r->ar.end,
				    "region %u is empty or inverted", nr);
		KUNIT_EXPECT_GE_MSG(test, r->ar.start, prev_end,
				    "region %u overlaps or is out of order", nr);
		KUNIT_EXPECT_TRUE_MSG(test,
				      IS_ALIGNED(r->ar.start, DAMON_MIN_REGION) &&
				      IS_ALIGNED(r->ar.end, DAMON_MIN_REGION),
				      "region %u is not aligned", nr);
		prev_end = r->ar.end;
		nr++;
	}
	KUNIT_EXPECT_EQ(test, damon_nr_regions(t), nr);
}

/* The regions of @t are exactly @pages, given as in damon_test_target(). */
static void damon_test_expect_regions(struct kunit *test,
				      struct damon_target *t,
				      const unsigned long *pages,
				      unsigned int nr_pages)
{
	struct damon_region *r;
	unsigned int i = 0;

	damon_test_expect_sane(test, t);
	KUNIT_ASSERT_EQ(test, damon_nr_regions(t), nr_pages / 2);
	damon_for_each_region(r, t) {
		KUNIT_EXPECT_EQ_MSG(test, r->ar.start, damon_test_pg(pages[i]),
				    "start of region %u", i / 2);
		KUNIT_EXPECT_EQ_MSG(test, r->ar.end, damon_test_pg(pages[i + 1]),
				    "end of region %u", i / 2);
		i += 2;
	}
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

static struct kunit_case damon_test_cases[] = {
	KUNIT_CASE(damon_test_new_region),
	KUNIT_CASE(damon_test_region_links),
	KUNIT_CASE(damon_test_insert_region),
	KUNIT_CASE(damon_test_destroy_region),
	KUNIT_CASE(damon_test_targets),
	KUNIT_CASE(damon_test_ctx_defaults),
	KUNIT_CASE(damon_test_set_regions_empty_target),
	KUNIT_CASE(damon_test_set_regions_no_range),
	KUNIT_CASE(damon_test_set_regions_same),
	KUNIT_CASE(damon_test_set_regions_adjacent),
	KUNIT_CASE(damon_test_set_regions_trim_and_stretch),
	KUNIT_CASE(damon_test_set_regions_drop_and_fill),
	KUNIT_CASE(damon_test_set_regions_spanning),
	KUNIT_CASE(damon_test_set_regions_keeps_history),
	KUNIT_CASE(damon_test_set_regions_alignment),
	KUNIT_CASE(damon_test_set_regions_invalid),
	KUNIT_CASE(damon_test_set_regions_random),
	{},
};

static struct kunit_suite damon_test_suite = {
	.name = "damon",
	.test_cases = damon_test_cases,
};

kunit_test_suite(damon_test_suite);

#endif	/* _DAMON_CORE_KUNIT_H */

#endif	/* CONFIG_DAMON_KUNIT_TEST */
