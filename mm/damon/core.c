// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON core: monitoring contexts, their targets and regions.
 *
 * This file owns the data model every other part of DAMON builds on.  It
 * never looks at page tables; that is the business of the operations sets.
 */

#define pr_fmt(fmt) "damon: " fmt

#include <linux/damon.h>
#include <linux/init.h>
#include <linux/slab.h>

/* === Data === */

/* Regions are small, numerous and short-lived: give them their own cache. */
static struct kmem_cache *damon_region_cache __ro_after_init;

/* What a new context monitors with until told otherwise. */
static const struct damon_attrs damon_default_attrs = {
	.sample_interval = 5 * USEC_PER_MSEC,
	.aggr_interval = 100 * USEC_PER_MSEC,
	.ops_update_interval = 60 * USEC_PER_SEC,
	.min_nr_regions = 10,
	.max_nr_regions = 1000,
};

/* === Regions === */

/**
 * damon_new_region() - Allocate a region.
 * @start:	First address of the region.
 * @end:	First address past the region.
 *
 * The region starts with no access history.  It belongs to no target until
 * damon_add_region() or damon_insert_region() links it.
 *
 * Return: the new region, or NULL if out of memory.
 */
struct damon_region *damon_new_region(unsigned long start, unsigned long end)
{
	struct damon_region *r = kmem_cache_alloc(damon_region_cache,
						  GFP_KERNEL);

	if (r)
		*r = (struct damon_region) {
			.ar = { .start = start, .end = end },
			.list = LIST_HEAD_INIT(r->list),
		};
	return r;
}

/**
 * damon_add_region() - Append a region to a target.
 * @r:	The region; it must lie above every region @t already has.
 * @t:	The target.
 */
void damon_add_region(struct damon_region *r, struct damon_target *t)
{
	list_add_tail(&r->list, &t->regions_list);
	t->nr_regions++;
}

/**
 * damon_insert_region() - Link a region between two neighbours of a target.
 * @r:		The region.
 * @prev:	The region that will precede @r.
 * @next:	The region that will follow @r; @prev's successor.
 * @t:		The target owning @prev and @next.
 *
 * Used where a region is cut in two, so the caller already knows both
 * neighbours and the list stays sorted without a search.
 */
void damon_insert_region(struct damon_region *r, struct damon_region *prev,
			 struct damon_region *next, struct damon_target *t)
{
	__list_add(&r->list, &prev->list, &next->list);
	t->nr_regions++;
}

/* Link @r right before @pos, or at the end of @t when @pos is NULL. */
static void damon_add_region_before(struct damon_region *r,
				    struct damon_region *pos,
				    struct damon_target *t)
{
	list_add_tail(&r->list, pos ? &pos->list : &t->regions_list);
	t->nr_regions++;
}

/**
 * damon_destroy_region() - Unlink a region from its target and free it.
 * @r:	The region.
 * @t:	The target @r belongs to.
 */
void damon_destroy_region(struct damon_region *r, struct damon_target *t)
{
	list_del(&r->list);
	t->nr_regions--;
	kmem_cache_free(damon_region_cache, r);
}

/* The region after @r in @t, or NULL if @r is the last one. */
static struct damon_region *damon_region_after(struct damon_region *r,
					       struct damon_target *t)
{
	return list_is_last(&r->list, &t->regions_list) ? NULL :
		damon_next_region(r);
}

/* Destroy @r and return what followed it, like damon_region_after(). */
static struct damon_region *damon_drop_region(struct damon_region *r,
					      struct damon_target *t)
{
	struct damon_region *after = damon_region_after(r, t);

	damon_destroy_region(r, t);
	return after;
}

static int damon_check_ranges(struct damon_addr_range *ranges,
			      unsigned int nr_ranges)
{
	unsigned int i;

	for (i = 0; i < nr_ranges; i++) {
		if (ranges[i].start >= ranges[i].end)
			return -EINVAL;
		if (i && ranges[i].start < ranges[i - 1].end)
			return -EINVAL;
	}
	return 0;
}

/*
 * Make the regions of @t cover exactly [@start, @end), taking over the part
 * of the list starting at *@pos.  Regions ending at or before @start are
 * covered by no range, so they go.  The first and the last overlapping
 * region are stretched or trimmed to the range edges, which keeps their
 * access history; a gap between two of them gets a new region.  *@pos is
 * left at the first region not yet looked at.
 */
static int damon_fit_range(struct damon_target *t, struct damon_region **pos,
			   unsigned long start, unsigned long end)
{
	struct damon_region *r = *pos, *last = NULL, *fill;
	int err = 0;

	while (r && r->ar.end <= start)
		r = damon_drop_region(r, t);

	for (; r && r->ar.start < end; r = damon_region_after(r, t)) {
		if (!last) {
			r->ar.start = start;
		} else if (r->ar.start > last->ar.end) {
			fill = damon_new_region(last->ar.end, r->ar.start);
			if (!fill) {
				err = -ENOMEM;
				break;
			}
			damon_add_region_before(fill, r, t);
		}
		last = r;
		if (r->ar.end >= end) {
			/* The rest of @r belongs to no range, or the next. */
			r->ar.end = end;
			r = damon_region_after(r, t);
			break;
		}
	}

	if (!err && last) {
		last->ar.end = end;
	} else if (!err) {
		fill = damon_new_region(start, end);
		if (fill)
			damon_add_region_before(fill, r, t);
		else
			err = -ENOMEM;
	}
	*pos = r;
	return err;
}

/**
 * damon_set_regions() - Fit the regions of a target to a set of ranges.
 * @t:		The target.
 * @ranges:	Address ranges, sorted and disjoint.
 * @nr_ranges:	Number of entries in @ranges.
 *
 * Afterwards the regions of @t cover every range and nothing else.  Each
 * range is first widened to %DAMON_MIN_REGION alignment; where that makes
 * it overlap its predecessor, the overlap stays with the predecessor.
 * Existing regions that intersect a range are kept, with their access
 * history, and stretched or trimmed to the range's edges; the other
 * regions are destroyed, and parts of a range no region covers get new
 * regions.  So the monitoring results survive a change of the monitored
 * address space, such as a new mapping, as far as they still apply.
 *
 * Return: 0 on success, -EINVAL if @ranges is empty-ranged, unsorted or
 * overlapping (nothing is changed then), or -ENOMEM.  On -ENOMEM the
 * regions are still sorted and disjoint but may not cover every range.
 */
int damon_set_regions(struct damon_target *t, struct damon_addr_range *ranges,
		      unsigned int nr_ranges)
{
	struct damon_region *r;
	unsigned long start, end, covered = 0;
	unsigned int i;
	int err;

	err = damon_check_ranges(ranges, nr_ranges);
	if (err)
		return err;

	r = list_empty(&t->regions_list) ? NULL : damon_first_region(t);
	for (i = 0; i < nr_ranges; i++) {
		start = max(ALIGN_DOWN(ranges[i].start, DAMON_MIN_REGION),
			    covered);
		end = ALIGN(ranges[i].end, DAMON_MIN_REGION);
		if (start >= end)
			continue;
		err = damon_fit_range(t, &r, start, end);
		if (err)
			return err;
		covered = end;
	}
	while (r)
		r = damon_drop_region(r, t);
	return 0;
}

/* === Targets === */

/**
 * damon_new_target() - Allocate a target.
 *
 * The target has no regions and no process; set &damon_target.pid before
 * adding it to a context of an operations set that needs one.
 *
 * Return: the new target, or NULL if out of memory.
 */
struct damon_target *damon_new_target(void)
{
	struct damon_target *t = kmalloc(sizeof(*t), GFP_KERNEL);

	if (t)
		*t = (struct damon_target) {
			.regions_list = LIST_HEAD_INIT(t->regions_list),
			.list = LIST_HEAD_INIT(t->list),
		};
	return t;
}

/**
 * damon_add_target() - Make a context monitor a target.
 * @ctx:	The context.
 * @t:		The target, owned by @ctx from now on.
 */
void damon_add_target(struct damon_ctx *ctx, struct damon_target *t)
{
	list_add_tail(&t->list, &ctx->adaptive_targets);
}

/**
 * damon_targets_empty() - Tell whether a context has no target.
 * @ctx:	The context.
 *
 * Return: true if @ctx has no target.
 */
bool damon_targets_empty(struct damon_ctx *ctx)
{
	return list_empty(&ctx->adaptive_targets);
}

/**
 * damon_free_target() - Free a target and its regions.
 * @t:	The target, which must not be on a context's list.
 *
 * The reference to &damon_target.pid, if any, is the caller's to drop.
 */
void damon_free_target(struct damon_target *t)
{
	struct damon_region *r, *next;

	damon_for_each_region_safe(r, next, t)
		damon_destroy_region(r, t);
	kfree(t);
}

/**
 * damon_destroy_target() - Remove a target from its context and free it.
 * @t:	The target.
 *
 * Like damon_free_target(), the caller keeps the job of dropping the
 * reference to &damon_target.pid.
 */
void damon_destroy_target(struct damon_target *t)
{
	list_del(&t->list);
	damon_free_target(t);
}

/**
 * damon_nr_regions() - Count the regions of a target.
 * @t:	The target.
 *
 * Return: the number of regions @t has.
 */
unsigned int damon_nr_regions(struct damon_target *t)
{
	return t->nr_regions;
}

/* === Contexts === */

/**
 * damon_new_ctx() - Allocate a monitoring context.
 *
 * The context starts with the default attributes: a 5 ms sampling
 * interval, a 100 ms aggregation interval, a 60 s ops update interval and
 * between 10 and 1000 regions; no operations set, no targets, no schemes.
 *
 * Return: the new context, or NULL if out of memory.
 */
struct damon_ctx *damon_new_ctx(void)
{
	struct damon_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return NULL;
	ctx->attrs = damon_default_attrs;
	INIT_LIST_HEAD(&ctx->adaptive_targets);
	INIT_LIST_HEAD(&ctx->schemes);
	mutex_init(&ctx->kdamond_lock);
	return ctx;
}

/**
 * damon_destroy_ctx() - Free a context with its targets.
 * @ctx:	The context, which must not be running.
 *
 * The operations set's &damon_operations.cleanup runs first, so it can
 * still see the targets.
 */
void damon_destroy_ctx(struct damon_ctx *ctx)
{
	struct damon_target *t, *next;

	if (ctx->ops.cleanup)
		ctx->ops.cleanup(ctx);
	damon_for_each_target_safe(t, next, ctx)
		damon_destroy_target(t);
	mutex_destroy(&ctx->kdamond_lock);
	kfree(ctx);
}

/* === Initialization === */

static int __init damon_init(void)
{
	damon_region_cache = KMEM_CACHE(damon_region, SLAB_PANIC);
	return 0;
}
subsys_initcall(damon_init);

#include "tests/core-kunit.h"
