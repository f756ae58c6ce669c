/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the DAMON KUnit suites share: addresses written in pages, targets
 * built from and compared with lists of page numbers, cleanup actions,
 * pages mapped into the test thread's own mm, and the macros that define
 * and register each suite.
 *
 * The suites are included by different files (core.c, schemes.c, vaddr.c,
 * paddr.c) to reach their static functions, and each includes this header,
 * so everything here is static inline: a suite that does not use a helper
 * leaves no unused copy behind.
 */

#ifndef _DAMON_KUNIT_COMMON_H
#define _DAMON_KUNIT_COMMON_H

#include <kunit/test.h>
#include <linux/damon.h>
#include <linux/err.h>
#include <linux/mman.h>
#include <linux/uaccess.h>

/*
 * The address of page @nr.  Tests write addresses in pages so that they hold
 * for any %DAMON_MIN_REGION, which is also the size of a page.
 */
static inline unsigned long damon_test_pg(unsigned long nr)
{
	return nr * DAMON_MIN_REGION;
}

/*
 * Append to @t the regions [pages[0], pages[1]), [pages[2], pages[3]), and
 * so on, in pages; an odd last entry is ignored.
 */
static inline void damon_test_add_regions(struct kunit *test,
					  struct damon_target *t,
					  const unsigned long *pages,
					  unsigned int nr_pages)
{
	struct damon_region *r;
	unsigned int i;

	for (i = 0; i + 1 < nr_pages; i += 2) {
		r = damon_new_region(damon_test_pg(pages[i]),
				     damon_test_pg(pages[i + 1]));
		KUNIT_ASSERT_NOT_NULL(test, r);
		damon_add_region(r, t);
	}
}

/* The regions of @t are sorted, disjoint, non-empty, aligned and counted. */
static inline void damon_test_expect_sane(struct kunit *test,
					  struct damon_target *t)
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

/*
 * The regions of @t are sane and exactly @pages, written as for
 * damon_test_add_regions().
 */
static inline void damon_test_expect_regions(struct kunit *test,
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

/* A kunit_add_action() that destroys a context, stopping it if it runs. */
static inline void damon_test_destroy_ctx(void *ctx)
{
	damon_destroy_ctx(ctx);
}

/* A kunit_add_action() that frees a target that is on no context. */
static inline void damon_test_free_target(void *t)
{
	damon_free_target(t);
}

/*
 * Map @nr_pages anonymous pages into the test thread's own mm, which KUnit
 * gives it, until the test ends.  Return their address.
 */
static inline unsigned long damon_test_mmap(struct kunit *test,
					    unsigned long nr_pages)
{
	unsigned long addr;

	addr = kunit_vm_mmap(test, NULL, 0, nr_pages * PAGE_SIZE,
			     PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, !addr || IS_ERR_VALUE(addr));
	return addr;
}

/*
 * Whether a damon_call() function runs where it owns @ctx: in its kdamond,
 * or standing in for it while it is parked between two samples.
 */
static inline bool damon_test_call_owns(struct damon_ctx *ctx)
{
	if (current == READ_ONCE(ctx->kdamond))
		return true;
	return READ_ONCE(ctx->call_stand_in) == current &&
		READ_ONCE(ctx->kdamond_parked);
}

/* Write to @uaddr of the test's mm: its page is faulted in, and young. */
static inline void damon_test_touch(struct kunit *test, unsigned long uaddr)
{
	char c = 1;

	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)uaddr, &c, 1), 0);
}

/*
 * Every DAMON suite ends with one of the macros below: each defines the
 * table @prefix_cases of the cases given after @suite_name (no trailing
 * comma: the macro ends the table), the suite @prefix_suite, and registers
 * it.  kunit.filter_glob, .kunitconfig and tools/damon select suites by
 * @suite_name, so a name must not change.
 */
#define __DAMON_KUNIT_SUITE(prefix, suite_name, init_fn, suite_speed, ...) \
	static struct kunit_case prefix##_cases[] = { __VA_ARGS__, {} }; \
	static struct kunit_suite prefix##_suite = {			\
		.name = suite_name,					\
		.init = init_fn,					\
		.attr.speed = suite_speed,				\
		.test_cases = prefix##_cases,				\
	};								\
	kunit_test_suite(prefix##_suite)

/* A suite of tests. */
#define DAMON_KUNIT_SUITE(prefix, suite_name, ...)			\
	__DAMON_KUNIT_SUITE(prefix, suite_name, NULL, KUNIT_SPEED_UNSET, \
			    __VA_ARGS__)

/* A suite of tests whose every case @init_fn prepares for. */
#define DAMON_KUNIT_SUITE_INIT(prefix, suite_name, init_fn, ...)	\
	__DAMON_KUNIT_SUITE(prefix, suite_name, init_fn, KUNIT_SPEED_UNSET, \
			    __VA_ARGS__)

/*
 * A suite of benchmarks, marked slow as a whole so that a run filtering on
 * kunit.filter=speed>slow, as "make test" does, leaves it out.
 */
#define DAMON_KUNIT_BENCH(prefix, suite_name, ...)			\
	__DAMON_KUNIT_SUITE(prefix, suite_name, NULL, KUNIT_SPEED_SLOW,	\
			    __VA_ARGS__)

#endif /* _DAMON_KUNIT_COMMON_H */
