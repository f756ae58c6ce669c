/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit suite of the DAMON physical address operations, included by paddr.c
 * so that it can reach the file's static helpers.
 *
 * "damon-paddr" maps anonymous pages into the test thread's own mm, finds
 * their folios, and checks through physical addresses what the kdamond
 * would see and do: accesses through a mapping and through the folio's
 * idle flag, frames that hold no LRU folio, and the actions and filters of
 * schemes on a region covering the pages.
 */

#ifdef CONFIG_DAMON_PADDR_KUNIT_TEST

#ifndef _DAMON_PADDR_KUNIT_H
#define _DAMON_PADDR_KUNIT_H

#include <kunit/test.h>
#include <linux/io.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <asm/tlbflush.h>

#include "kunit-common.h"

/* A page the test maps, faults in and holds, with its physical address. */
struct damon_test_pa_page {
	unsigned long uaddr;
	struct page *page;
	unsigned long paddr;
};

static void damon_test_pa_put(void *data)
{
	put_page(data);
}

/* Map and fault in a page of the test's mm, and hold it until the end. */
static void damon_test_pa_map(struct kunit *test,
			      struct damon_test_pa_page *p)
{
	int err;

	p->uaddr = damon_test_mmap(test, 1);
	damon_test_touch(test, p->uaddr);
	KUNIT_ASSERT_EQ(test, get_user_pages_fast(p->uaddr, 1, FOLL_WRITE,
						  &p->page), 1);
	err = kunit_add_action_or_reset(test, damon_test_pa_put, p->page);
	KUNIT_ASSERT_EQ(test, err, 0);
	/* A new page waits in a per-CPU batch before it reaches the LRU. */
	lru_add_drain_all();
	KUNIT_ASSERT_TRUE(test, folio_test_lru(page_folio(p->page)));
	p->paddr = page_to_phys(p->page);
}

/* What a look at @paddr says, as the kdamond's check pass would see it. */
static bool damon_test_pa_sample(unsigned long paddr)
{
	struct damon_pa_seen seen = {};

	return damon_pa_accessed(&seen, PHYS_PFN(paddr));
}

/*
 * Start a new sample at @paddr, as the kdamond's prepare pass would; a
 * frame that holds no LRU folio has nothing to clear.  A folio here is one
 * the test mapped: the flush keeps the CPU from writing on through the
 * translation it cached as accessed.
 */
static void damon_test_pa_mkold(unsigned long paddr)
{
	struct folio *folio = damon_get_folio(PHYS_PFN(paddr));

	if (folio) {
		damon_pa_folio_mkold(folio);
		folio_put(folio);
		if (current->mm)
			flush_tlb_mm(current->mm);
	}
}

/*
 * A page reads accessed after a write through its mapping or a mark by the
 * page cache's path, and not after a clear alone.
 */
static void damon_test_pa_access(struct kunit *test)
{
	struct damon_test_pa_page p;

	damon_test_pa_map(test, &p);
	damon_test_pa_mkold(p.paddr);
	KUNIT_EXPECT_FALSE(test, damon_test_pa_sample(p.paddr));
	damon_test_touch(test, p.uaddr + 8);
	KUNIT_EXPECT_TRUE(test, damon_test_pa_sample(p.paddr));
	/* Looking does not clear: the next look sees the access still. */
	KUNIT_EXPECT_TRUE(test, damon_test_pa_sample(p.paddr + 100));

	damon_test_pa_mkold(p.paddr);
	KUNIT_EXPECT_FALSE(test, damon_test_pa_sample(p.paddr));
	folio_mark_accessed(page_folio(p.page));
	KUNIT_EXPECT_TRUE(test, damon_test_pa_sample(p.paddr));

	/* Clearing kept the access for reclaim in the folio's young flag. */
	damon_test_touch(test, p.uaddr);
	damon_test_pa_mkold(p.paddr);
	KUNIT_EXPECT_TRUE(test, folio_test_young(page_folio(p.page)));
}

/* Memory that is no LRU folio reads as not accessed and is left alone. */
static void damon_test_pa_not_lru(struct kunit *test)
{
	void *buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	struct page *page;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	page = virt_to_page(buf);
	/* Not an LRU folio: nothing below may be done to it. */
	KUNIT_ASSERT_NULL(test, damon_get_folio(page_to_pfn(page)));
	damon_test_pa_mkold(virt_to_phys(buf));
	KUNIT_EXPECT_FALSE(test, folio_test_idle(page_folio(page)));
	KUNIT_EXPECT_FALSE(test, damon_test_pa_sample(virt_to_phys(buf)));
	/* Past the end of memory, too. */
	KUNIT_EXPECT_FALSE(test, damon_test_pa_sample(ULONG_MAX & PAGE_MASK));
}

/* A scheme of @action over [@start, @end), applied once. */
static unsigned long damon_test_pa_apply_range(struct kunit *test,
					       unsigned long start,
					       unsigned long end,
					       enum damos_action action,
					       struct damos_filter *filter,
					       unsigned long *passed)
{
	struct damon_region r = { .ar.start = start, .ar.end = end };
	struct damos_access_pattern pattern = {};
	struct damos_watermarks wmarks = {};
	struct damos_quota quota = {};
	unsigned long applied = 0;
	struct damos *s;

	s = damon_new_scheme(&pattern, action, 0, &quota, &wmarks,
			     numa_node_id());
	if (s) {
		if (filter)
			damos_add_filter(s, filter);
		applied = damon_pa_apply_scheme(NULL, NULL, &r, s, passed);
		damon_destroy_scheme(s);
	} else if (filter) {
		damos_destroy_filter(filter);
	}
	KUNIT_ASSERT_NOT_NULL(test, s);
	lru_add_drain_all();
	return applied;
}

/* A scheme of @action over the page of @p, applied once. */
static unsigned long damon_test_pa_apply(struct kunit *test,
					 struct damon_test_pa_page *p,
					 enum damos_action action,
					 struct damos_filter *filter,
					 unsigned long *passed)
{
	unsigned long start = p->paddr & PAGE_MASK;

	return damon_test_pa_apply_range(test, start, start + PAGE_SIZE,
					 action, filter, passed);
}

/*
 * Free memory, holes and addresses past the last frame hold nothing to act
 * on, and a walk over them ends, up to the top of the address space.
 */
static void damon_test_pa_apply_empty(struct kunit *test)
{
	struct page *block = alloc_pages(GFP_KERNEL, 4);
	unsigned long start, passed, applied;

	KUNIT_ASSERT_NOT_NULL(test, block);
	start = page_to_phys(block);
	__free_pages(block, 4);
	applied = damon_test_pa_apply_range(test, start,
					    start + (PAGE_SIZE << 4),
					    DAMOS_PAGEOUT, NULL, &passed);
	KUNIT_EXPECT_EQ(test, applied, 0);
	KUNIT_EXPECT_EQ(test, passed, 0);
	applied = damon_test_pa_apply_range(test, PFN_PHYS(max_pfn),
					    ULONG_MAX, DAMOS_LRU_PRIO, NULL,
					    &passed);
	KUNIT_EXPECT_EQ(test, applied, 0);
	applied = damon_test_pa_apply_range(test,
					    ULONG_MAX - 3 * PAGE_SIZE - 5,
					    ULONG_MAX, DAMOS_PAGEOUT, NULL,
					    &passed);
	KUNIT_EXPECT_EQ(test, applied, 0);
	KUNIT_EXPECT_EQ(test, passed, 0);
}

static void damon_test_pa_lru_actions(struct kunit *test)
{
	struct damon_test_pa_page p;
	struct folio *folio;
	unsigned long passed;

	damon_test_pa_map(test, &p);
	folio = page_folio(p.page);
	KUNIT_EXPECT_EQ(test, damon_test_pa_apply(test, &p, DAMOS_LRU_PRIO,
						  NULL, &passed), PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, passed, PAGE_SIZE);
	KUNIT_EXPECT_TRUE(test, folio_test_active(folio));
	KUNIT_EXPECT_EQ(test, damon_test_pa_apply(test, &p, DAMOS_LRU_DEPRIO,
						  NULL, &passed), PAGE_SIZE);
	KUNIT_EXPECT_FALSE(test, folio_test_active(folio));

	/* stat does nothing; actions of virtual address spaces neither. */
	KUNIT_EXPECT_EQ(test, damon_test_pa_apply(test, &p, DAMOS_STAT, NULL,
						  &passed), 0);
	KUNIT_EXPECT_EQ(test, passed, PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, damon_test_pa_apply(test, &p, DAMOS_HUGEPAGE,
						  NULL, &passed), 0);
	KUNIT_EXPECT_EQ(test, passed, 0);

	/* Migrating to the node the page is on moves nothing. */
	KUNIT_EXPECT_EQ(test, damon_test_pa_apply(test, &p, DAMOS_MIGRATE_HOT,
						  NULL, &passed), 0);
	KUNIT_EXPECT_PTR_EQ(test, page_folio(p.page), folio);
	KUNIT_EXPECT_TRUE(test, folio_test_lru(folio));
}

/* Filters judge the folio: the action skips what they reject. */
static void damon_test_pa_filters(struct kunit *test)
{
	struct damon_test_pa_page p;
	struct damos_filter *f;
	struct folio *folio;
	unsigned long passed;

	damon_test_pa_map(test, &p);
	folio = page_folio(p.page);
	folio_deactivate(folio);
	lru_add_drain_all();

	f = damos_new_filter(DAMOS_FILTER_TYPE_ANON, true, false);
	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_EXPECT_EQ(test, damon_test_pa_apply(test, &p, DAMOS_LRU_PRIO, f,
						  &passed), 0);
	KUNIT_EXPECT_EQ(test, passed, 0);
	KUNIT_EXPECT_FALSE(test, folio_test_active(folio));

	/* A stat scheme with filters measures what they let through. */
	f = damos_new_filter(DAMOS_FILTER_TYPE_ANON, false, false);
	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_EXPECT_EQ(test, damon_test_pa_apply(test, &p, DAMOS_STAT, f,
						  &passed), 0);
	KUNIT_EXPECT_EQ(test, passed, PAGE_SIZE);

	/*
	 * Rejecting young folios: young since the last look, so rejected;
	 * then not, as each look starts a new sample.
	 */
	damon_test_pa_mkold(p.paddr);
	damon_test_touch(test, p.uaddr);
	f = damos_new_filter(DAMOS_FILTER_TYPE_YOUNG, true, false);
	KUNIT_ASSERT_NOT_NULL(test, f);
	damon_test_pa_apply(test, &p, DAMOS_STAT, f, &passed);
	KUNIT_EXPECT_EQ(test, passed, 0);
	flush_tlb_mm(current->mm);
	f = damos_new_filter(DAMOS_FILTER_TYPE_YOUNG, true, false);
	KUNIT_ASSERT_NOT_NULL(test, f);
	damon_test_pa_apply(test, &p, DAMOS_STAT, f, &passed);
	KUNIT_EXPECT_EQ(test, passed, PAGE_SIZE);
}

/* Cold-first actions and hot-first ones rank a hot region oppositely. */
static void damon_test_pa_scores(struct kunit *test)
{
	static const enum damos_action cold[] = {
		DAMOS_PAGEOUT, DAMOS_LRU_DEPRIO, DAMOS_MIGRATE_COLD,
	};
	static const enum damos_action hot[] = {
		DAMOS_LRU_PRIO, DAMOS_MIGRATE_HOT,
	};
	struct damon_ctx *ctx = damon_new_ctx();
	struct damos_access_pattern pattern = {};
	struct damos_watermarks wmarks = {};
	struct damos_quota quota = {};
	struct damon_region r = {};
	struct damos *s;
	int i, score;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	s = damon_new_scheme(&pattern, DAMOS_STAT, 0, &quota, &wmarks,
			     NUMA_NO_NODE);
	if (!s)
		damon_destroy_ctx(ctx);
	KUNIT_ASSERT_NOT_NULL(test, s);
	/* As hot as can be, for ten aggregations. */
	r.nr_accesses_bp = damon_max_nr_accesses(&ctx->attrs) * 10000;
	r.age = 10;
	for (i = 0; i < ARRAY_SIZE(cold); i++) {
		s->action = cold[i];
		score = damon_pa_ops.get_scheme_score(ctx, NULL, &r, s);
		KUNIT_EXPECT_LT(test, score, DAMOS_MAX_SCORE / 2);
	}
	for (i = 0; i < ARRAY_SIZE(hot); i++) {
		s->action = hot[i];
		score = damon_pa_ops.get_scheme_score(ctx, NULL, &r, s);
		KUNIT_EXPECT_GT(test, score, DAMOS_MAX_SCORE / 2);
	}
	damon_destroy_scheme(s);
	damon_destroy_ctx(ctx);
}

DAMON_KUNIT_SUITE(damon_test_pa, "damon-paddr",
		  /* What a sample sees */
		  KUNIT_CASE(damon_test_pa_access),
		  KUNIT_CASE(damon_test_pa_not_lru),

		  /* What schemes do, and how they score */
		  KUNIT_CASE(damon_test_pa_lru_actions),
		  KUNIT_CASE(damon_test_pa_apply_empty),
		  KUNIT_CASE(damon_test_pa_filters),
		  KUNIT_CASE(damon_test_pa_scores));

#endif	/* _DAMON_PADDR_KUNIT_H */

#endif	/* CONFIG_DAMON_PADDR_KUNIT_TEST */
