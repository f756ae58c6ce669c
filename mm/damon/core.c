// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON core: monitoring contexts, their targets and regions.
 *
 * This file owns the data model every other part of DAMON builds on.  It
 * never looks at page tables; that is the business of the operations sets.
 */

#define pr_fmt(fmt) "damon: " fmt

#include <linux/damon.h>
#include <linux/delay.h>
#include <linux/init.h>
#include <linux/kthread.h>
#include <linux/math64.h>
#include <linux/overflow.h>
#include <linux/pid.h>
#include <linux/prandom.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#define CREATE_TRACE_POINTS
#include <trace/events/damon.h>

#include "core.h"

/* === Data === */

/* Regions are small, numerous and short-lived: give them their own cache. */
static struct kmem_cache *damon_region_cache __ro_after_init;

/* Operations sets by id. */
static struct damon_operations damon_registered_ops[NR_DAMON_OPS];
static bool damon_ops_registered[NR_DAMON_OPS];
/* Protects damon_registered_ops and damon_ops_registered. */
static DEFINE_MUTEX(damon_ops_lock);

/* Running kdamonds, and whether they were started as an exclusive group. */
static int damon_nr_running;
static bool damon_running_exclusive;
/* Protects damon_nr_running and damon_running_exclusive. */
static DEFINE_MUTEX(damon_lock);

/* What a new context monitors with until told otherwise. */
static const struct damon_attrs damon_default_attrs = {
	.sample_interval = DAMON_DEFAULT_SAMPLE_INTERVAL,
	.aggr_interval = DAMON_DEFAULT_AGGR_INTERVAL,
	.ops_update_interval = DAMON_DEFAULT_OPS_UPDATE_INTERVAL,
	.min_nr_regions = DAMON_DEFAULT_MIN_NR_REGIONS,
	.max_nr_regions = DAMON_DEFAULT_MAX_NR_REGIONS,
};

/*
 * How often a waiter for a kdamond looks whether the kdamond died without
 * getting to its exit path (an oops), in jiffies.
 */
#define DAMON_DEAD_CHECK_JIFFIES	(HZ / 10)

/* Highest end a region can have: ALIGN() of anything above wraps to 0. */
#define DAMON_MAX_REGION_END	ALIGN_DOWN(ULONG_MAX, DAMON_MIN_REGION)

/* === Arithmetic === */

/**
 * damon_mul_div() - Multiply and divide without overflowing in between.
 * @a:	Multiplicand.
 * @b:	Multiplier.
 * @c:	Divisor.
 *
 * Every knob of DAMON takes any unsigned long, so a product of two of them
 * may not fit in 64 bits even where the quotient does.
 *
 * Return: @a * @b / @c rounded down, or U64_MAX if that does not fit or
 * @c is 0.
 */
u64 damon_mul_div(u64 a, u64 b, u64 c)
{
	u64 q, r, hi, lo;

	if (!c)
		return U64_MAX;
	q = div64_u64(b, c);
	r = b - q * c;
	if (q && a > U64_MAX / q)
		return U64_MAX;
	hi = a * q;
	/* @r < @c, so the quotient is below @a: the division cannot trap. */
	lo = mul_u64_u64_div_u64(a, r, c);
	return hi > U64_MAX - lo ? U64_MAX : hi + lo;
}

/* The time @us microseconds from now, or KTIME_MAX if beyond counting. */
static ktime_t damon_deadline_us(unsigned long us)
{
	ktime_t now = ktime_get();
	u64 ns;

	if (check_mul_overflow((u64)us, (u64)NSEC_PER_USEC, &ns) ||
	    ns > (u64)(KTIME_MAX - now))
		return KTIME_MAX;
	return ktime_add_ns(now, ns);
}

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
 * A new region for [@start, @end): from @pool if there is one, else freshly
 * allocated.  NULL if there is none.
 */
static struct damon_region *damon_take_region(struct list_head *pool,
					      unsigned long start,
					      unsigned long end)
{
	struct damon_region *r;

	if (!pool)
		return damon_new_region(start, end);
	r = list_first_entry_or_null(pool, struct damon_region, list);
	if (!r)
		return NULL;
	list_del(&r->list);
	*r = (struct damon_region) {
		.ar = { .start = start, .end = end },
		.list = LIST_HEAD_INIT(r->list),
	};
	return r;
}

/*
 * Make the regions of @t cover exactly [@start, @end), taking over the part
 * of the list starting at *@pos.  Regions ending at or before @start are
 * covered by no range, so they go.  The first and the last overlapping
 * region are stretched or trimmed to the range edges, which keeps their
 * access history; a gap between two of them gets a new region, from @pool
 * if given.  *@pos is left at the first region not yet looked at.
 *
 * Each existing region leads to at most one new region, the fill of the gap
 * before it, and a range no region overlaps to one: that bounds what @pool
 * must hold.
 */
static int damon_fit_range(struct damon_target *t, struct damon_region **pos,
			   unsigned long start, unsigned long end,
			   struct list_head *pool)
{
	struct damon_region *r = *pos, *last = NULL, *fill;
	int err = 0;

	while (r && r->ar.end <= start)
		r = damon_drop_region(r, t);

	for (; r && r->ar.start < end; r = damon_region_after(r, t)) {
		if (!last) {
			r->ar.start = start;
		} else if (r->ar.start > last->ar.end) {
			fill = damon_take_region(pool, last->ar.end,
						 r->ar.start);
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
		fill = damon_take_region(pool, start, end);
		if (fill)
			damon_add_region_before(fill, r, t);
		else
			err = -ENOMEM;
	}
	*pos = r;
	return err;
}

/*
 * Widen @ar to %DAMON_MIN_REGION alignment, leaving what lies below
 * @covered to the ranges before it.  Return whether anything is left.
 */
static bool damon_align_range(const struct damon_addr_range *ar,
			      unsigned long covered, unsigned long *start,
			      unsigned long *end)
{
	*start = max(ALIGN_DOWN(ar->start, DAMON_MIN_REGION), covered);
	*end = ar->end > DAMON_MAX_REGION_END ? DAMON_MAX_REGION_END :
		ALIGN(ar->end, DAMON_MIN_REGION);
	return *start < *end;
}

/*
 * How many new regions fitting @t, or no region if NULL, to @ranges takes:
 * a dry run of __damon_set_regions(), which damon_fit_range() follows step
 * by step.
 */
static unsigned long damon_count_fills(struct damon_target *t,
				       struct damon_addr_range *ranges,
				       unsigned int nr_ranges)
{
	struct damon_region *r = NULL, *last;
	unsigned long start, end, covered = 0, nr = 0;
	unsigned int i;

	if (t && !list_empty(&t->regions_list))
		r = damon_first_region(t);
	for (i = 0; i < nr_ranges; i++) {
		if (!damon_align_range(&ranges[i], covered, &start, &end))
			continue;
		while (r && r->ar.end <= start)
			r = damon_region_after(r, t);
		for (last = NULL; r && r->ar.start < end;
		     r = damon_region_after(r, t)) {
			if (last && r->ar.start > last->ar.end)
				nr++;
			last = r;
			if (r->ar.end >= end) {
				r = damon_region_after(r, t);
				break;
			}
		}
		if (!last)
			nr++;
		covered = end;
	}
	return nr;
}

/* damon_set_regions(), with the new regions taken from @pool if given. */
static int __damon_set_regions(struct damon_target *t,
			       struct damon_addr_range *ranges,
			       unsigned int nr_ranges, struct list_head *pool)
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
		if (!damon_align_range(&ranges[i], covered, &start, &end))
			continue;
		err = damon_fit_range(t, &r, start, end, pool);
		if (err)
			return err;
		covered = end;
	}
	while (r)
		r = damon_drop_region(r, t);
	return 0;
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
	return __damon_set_regions(t, ranges, nr_ranges, NULL);
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
 *
 * Context: @ctx is not running, or its kdamond calls this.
 */
void damon_add_target(struct damon_ctx *ctx, struct damon_target *t)
{
	damon_assert_owned(ctx);
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
 * damon_free_target() - Free a target, its regions and its pid reference.
 * @t:	The target, which must not be on a context's list.
 */
void damon_free_target(struct damon_target *t)
{
	struct damon_region *r, *next;

	damon_for_each_region_safe(r, next, t)
		damon_destroy_region(r, t);
	put_pid(t->pid);
	kfree(t);
}

/**
 * damon_destroy_target() - Remove a target from its context and free it.
 * @t:	The target.
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
 * between 10 and 1000 regions; no operations set (the id is
 * %NR_DAMON_OPS until one is selected), no targets, no schemes.
 *
 * Return: the new context, or NULL if out of memory.
 */
struct damon_ctx *damon_new_ctx(void)
{
	struct damon_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return NULL;
	ctx->attrs = damon_default_attrs;
	ctx->ops.id = NR_DAMON_OPS;
	INIT_LIST_HEAD(&ctx->adaptive_targets);
	INIT_LIST_HEAD(&ctx->schemes);
	mutex_init(&ctx->kdamond_lock);
	INIT_LIST_HEAD(&ctx->call_controls);
	INIT_LIST_HEAD(&ctx->repeat_controls);
	INIT_LIST_HEAD(&ctx->aggr_controls);
	spin_lock_init(&ctx->call_controls_lock);
	init_completion(&ctx->kdamond_exited);
	complete_all(&ctx->kdamond_exited);
	return ctx;
}

/**
 * damon_destroy_ctx() - Free a context with its targets.
 * @ctx:	The context.
 *
 * A running context is stopped first, and one that stopped by itself is
 * waited for until its kdamond let go of it.
 */
void damon_destroy_ctx(struct damon_ctx *ctx)
{
	struct damon_target *t, *next;
	struct damos *s, *next_s;

	damon_stop(&ctx, 1);
	damon_wait_kdamond(ctx, &ctx->kdamond_exited);
	damon_for_each_target_safe(t, next, ctx)
		damon_destroy_target(t);
	damon_for_each_scheme_safe(s, next_s, ctx)
		damon_destroy_scheme(s);
	mutex_destroy(&ctx->kdamond_lock);
	kfree(ctx);
}

/*
 * A goal tunes nothing without @aggrs, and cannot without a share to reach
 * and room for the sampling interval.
 */
static bool damon_valid_intervals_goal(const struct damon_intervals_goal *g)
{
	if (g->min_sample_us > g->max_sample_us)
		return false;
	return !g->aggrs || (g->access_bp && g->max_sample_us);
}

static bool damon_valid_attrs(const struct damon_attrs *attrs)
{
	return damon_valid_intervals_goal(&attrs->intervals_goal) &&
		attrs->min_nr_regions >= 3 &&
		attrs->min_nr_regions <= attrs->max_nr_regions &&
		attrs->max_nr_regions <= DAMON_MAX_NR_REGIONS &&
		attrs->aggr_interval &&
		attrs->sample_interval <= attrs->aggr_interval &&
		attrs->aggr_interval / max(attrs->sample_interval, 1UL) <=
		DAMON_MAX_AGGR_SAMPLES;
}

/* Rescale @value, counted in units of @from, to units of @to. */
static unsigned int damon_rescale(unsigned int value, unsigned long from,
				  unsigned long to)
{
	return min_t(u64, damon_mul_div(value, from, max(to, 1UL)), UINT_MAX);
}

/*
 * Keep what the regions learned meaningful across new intervals: access
 * counts are relative to the samples per aggregation, ages count
 * aggregation intervals.  The aggregation under way starts over, so what
 * it counted so far goes: kept, it would land in a window that already
 * holds as many samples as the new intervals allow.
 */
static void damon_rescale_regions(struct damon_ctx *ctx,
				  const struct damon_attrs *old,
				  const struct damon_attrs *new)
{
	unsigned int old_max = damon_max_nr_accesses(old);
	unsigned int new_max = damon_max_nr_accesses(new);
	struct damon_target *t;
	struct damon_region *r;

	damon_for_each_target(t, ctx) {
		damon_for_each_region(r, t) {
			r->nr_accesses = 0;
			r->last_nr_accesses = damon_rescale(r->last_nr_accesses,
							    new_max, old_max);
			r->nr_accesses_bp = damon_rescale(r->nr_accesses_bp,
							  new_max, old_max);
			r->age = damon_rescale(r->age, old->aggr_interval,
					       new->aggr_interval);
		}
	}
}

/**
 * damon_set_attrs() - Set the monitoring attributes of a context.
 * @ctx:	The context.
 * @attrs:	The new attributes.
 *
 * The access counts and ages the regions have so far are rescaled to the
 * new intervals, so that a change does not read as a change of the access
 * pattern; a change of the sampling or aggregation interval starts a new
 * aggregation, dropping the partial counts of the current one.
 *
 * Context: @ctx is not running, or its kdamond calls this (through
 * damon_call(), for a caller outside of it).
 *
 * Return: 0, or -EINVAL if @attrs asks for fewer than three regions, for a
 * minimum above the maximum, for more than %DAMON_MAX_NR_REGIONS, for a
 * zero aggregation interval, for a sampling interval longer than the
 * aggregation interval or for more than %DAMON_MAX_AGGR_SAMPLES samples
 * per aggregation, or for an intervals goal with a minimum sampling
 * interval above its maximum, or that tunes (a non-zero aggrs) without an
 * access_bp or a maximum sampling interval.  Nothing changes on error.
 */
int damon_set_attrs(struct damon_ctx *ctx, struct damon_attrs *attrs)
{
	unsigned long sample = max(attrs->sample_interval, 1UL), update;
	bool new_window, new_update;

	damon_assert_owned(ctx);
	if (!damon_valid_attrs(attrs))
		return -EINVAL;

	new_window = attrs->sample_interval != ctx->attrs.sample_interval ||
		attrs->aggr_interval != ctx->attrs.aggr_interval;
	new_update = attrs->sample_interval != ctx->attrs.sample_interval ||
		attrs->ops_update_interval != ctx->attrs.ops_update_interval;
	if (new_window) {
		damon_rescale_regions(ctx, &ctx->attrs, attrs);
		/* A running kdamond picks the new window up from here. */
		ctx->next_aggregation_sis = ctx->passed_sample_intervals +
			damon_max_nr_accesses(attrs);
	}
	if (new_update) {
		update = attrs->ops_update_interval / sample;
		ctx->next_ops_update_sis = damon_due_sis(ctx, update);
	}
	ctx->attrs = *attrs;
	return 0;
}

/* === Operations sets === */

/**
 * damon_register_ops() - Make an operations set available to contexts.
 * @ops:	The set; @ops->id says which.  It is copied.
 *
 * Return: 0, or -EINVAL if the id is out of range or already registered.
 */
int damon_register_ops(struct damon_operations *ops)
{
	int err = 0;

	if (ops->id >= NR_DAMON_OPS)
		return -EINVAL;
	mutex_lock(&damon_ops_lock);
	if (damon_ops_registered[ops->id]) {
		err = -EINVAL;
	} else {
		damon_registered_ops[ops->id] = *ops;
		damon_ops_registered[ops->id] = true;
	}
	mutex_unlock(&damon_ops_lock);
	return err;
}

/* Copy the registered set of @id into @ops; -EINVAL if there is none. */
static int damon_select_ops_of(struct damon_operations *ops,
			       enum damon_ops_id id)
{
	int err = -EINVAL;

	if (id >= NR_DAMON_OPS)
		return -EINVAL;
	mutex_lock(&damon_ops_lock);
	if (damon_ops_registered[id]) {
		*ops = damon_registered_ops[id];
		err = 0;
	}
	mutex_unlock(&damon_ops_lock);
	return err;
}

/**
 * damon_is_registered_ops() - Tell whether an operations set is available.
 * @id:	Identifier of the set.
 *
 * Return: true if the set of @id has been registered.
 */
bool damon_is_registered_ops(enum damon_ops_id id)
{
	struct damon_operations ops;

	return !damon_select_ops_of(&ops, id);
}

/**
 * damon_select_ops() - Give a context a registered operations set.
 * @ctx:	The context.
 * @id:		Identifier of the set.
 *
 * Context: @ctx is not running, or its kdamond calls this, as
 * damon_commit_ctx() does when the set changes.
 *
 * Return: 0, or -EINVAL if no set of @id is registered.
 */
int damon_select_ops(struct damon_ctx *ctx, enum damon_ops_id id)
{
	damon_assert_owned(ctx);
	return damon_select_ops_of(&ctx->ops, id);
}

/* === Adaptive regions === */

/* Sizes of all regions of all targets, over the minimum region count. */
static unsigned long damon_region_sz_limit(struct damon_ctx *ctx)
{
	struct damon_target *t;
	struct damon_region *r;
	unsigned long sz = 0;

	damon_for_each_target(t, ctx)
		damon_for_each_region(r, t)
			sz = size_add(sz, damon_sz_region(r));
	sz /= max(ctx->attrs.min_nr_regions, 1UL);
	return max(sz, DAMON_MIN_REGION);
}

/**
 * damon_update_region_access_rate() - Count one sample into a region.
 * @r:		The region.
 * @accessed:	Whether the sample found the region accessed.
 * @attrs:	Attributes of the region's context.
 *
 * For operations sets, from &damon_operations.check_accesses.
 * &damon_region.nr_accesses_bp is a moving sum over one aggregation window:
 * each sample drops one window-th of what the last full window counted and
 * adds what it saw itself, so on a steady pattern it equals the count of a
 * full window at every sample.
 */
void damon_update_region_access_rate(struct damon_region *r, bool accessed,
				     struct damon_attrs *attrs)
{
	unsigned int window = damon_max_nr_accesses(attrs);
	/* Rounded up, so the sum never passes window * 10000. */
	u64 drop = DIV_ROUND_UP_ULL((u64)r->last_nr_accesses * 10000, window);

	r->nr_accesses_bp -= min_t(u64, drop, r->nr_accesses_bp);
	if (accessed) {
		r->nr_accesses_bp += 10000;
		r->nr_accesses++;
	}
}

/*
 * Size-weighted mean of @a (over @sz_a bytes) and @b (over @sz_b bytes) of
 * two neighbours, rounded down.  Counted up from the lower value, as the
 * plain sum of products overflows for regions of terabytes.
 */
static unsigned int damon_weighted(unsigned int a, unsigned long sz_a,
				   unsigned int b, unsigned long sz_b)
{
	/* Neighbours: the sum is a span of the address space. */
	unsigned long sz = sz_a + sz_b;

	if (a >= b)
		return b + mul_u64_u64_div_u64(a - b, sz_a, sz);
	return a + mul_u64_u64_div_u64(b - a, sz_b, sz);
}

/* Fold @r into @l, its left neighbour, and free @r. */
static void damon_merge_two_regions(struct damon_target *t,
				    struct damon_region *l,
				    struct damon_region *r)
{
	unsigned long sz_l = damon_sz_region(l), sz_r = damon_sz_region(r);

	l->nr_accesses = damon_weighted(l->nr_accesses, sz_l,
					r->nr_accesses, sz_r);
	l->nr_accesses_bp = damon_weighted(l->nr_accesses_bp, sz_l,
					   r->nr_accesses_bp, sz_r);
	l->last_nr_accesses = damon_weighted(l->last_nr_accesses, sz_l,
					     r->last_nr_accesses, sz_r);
	l->age = damon_weighted(l->age, sz_l, r->age, sz_r);
	l->ar.end = r->ar.end;
	damon_destroy_region(r, t);
}

/*
 * Merge neighbours of @t whose access counts differ by at most @thres, as
 * long as the result stays within @sz_limit.  With @age, first age each
 * region, or restart its age if its count moved by more than @thres since
 * the last aggregation.
 */
static void damon_merge_regions_of(struct damon_target *t, unsigned int thres,
				   unsigned long sz_limit, bool age)
{
	struct damon_region *r, *next, *prev = NULL;

	damon_for_each_region_safe(r, next, t) {
		if (age) {
			int moved = (int)r->nr_accesses - (int)r->last_nr_accesses;

			r->age = abs(moved) > thres ? 0 : r->age + 1;
		}

		if (prev && prev->ar.end == r->ar.start &&
		    abs((int)prev->nr_accesses - (int)r->nr_accesses) <= thres &&
		    damon_sz_region(prev) + damon_sz_region(r) <= sz_limit)
			damon_merge_two_regions(t, prev, r);
		else
			prev = r;
	}
}

static unsigned int damon_nr_regions_of_ctx(struct damon_ctx *ctx)
{
	struct damon_target *t;
	unsigned int nr = 0;

	damon_for_each_target(t, ctx)
		nr += damon_nr_regions(t);
	return nr;
}

/*
 * Merge regions of similar access counts.  The threshold starts at a tenth
 * of the highest count and doubles while there are still more regions than
 * allowed, up to the highest count possible, at which every pair the size
 * limit lets merge does; ages advance only in the first round.
 */
static void kdamond_merge_regions(struct damon_ctx *ctx, unsigned int thres,
				  unsigned long sz_limit)
{
	unsigned int max_thres = damon_max_nr_accesses(&ctx->attrs);
	struct damon_target *t;
	bool age = true;

	for (;;) {
		damon_for_each_target(t, ctx)
			damon_merge_regions_of(t, thres, sz_limit, age);
		age = false;
		if (damon_nr_regions_of_ctx(ctx) <= ctx->attrs.max_nr_regions ||
		    thres >= max_thres)
			break;
		/* Below @max_thres, so doubling cannot wrap. */
		thres = thres ? min(thres * 2, max_thres) : 1;
		cond_resched();
	}
}

/**
 * damon_split_region_at() - Cut a region in two.
 * @t:		The target owning @r.
 * @r:		The region; it keeps the lower part.
 * @sz_r:	Size of the lower part; within (0, size of @r).
 *
 * Both parts keep the access history of @r.
 *
 * Return: the upper part, or NULL if out of memory (@r is unchanged then).
 */
struct damon_region *damon_split_region_at(struct damon_target *t,
					   struct damon_region *r,
					   unsigned long sz_r)
{
	struct damon_region *upper;

	upper = damon_new_region(r->ar.start + sz_r, r->ar.end);
	if (!upper)
		return NULL;
	upper->nr_accesses = r->nr_accesses;
	upper->nr_accesses_bp = r->nr_accesses_bp;
	upper->last_nr_accesses = r->last_nr_accesses;
	upper->age = r->age;
	r->ar.end = upper->ar.start;
	damon_insert_region(upper, r, damon_next_region(r), t);
	return upper;
}

/*
 * Cut every region of @t into up to @nr_pieces parts at random points
 * between 10% and 90% of what is left, so that boundaries can move to
 * where the access pattern really changes.
 */
static void damon_split_regions_of(struct damon_target *t,
				   unsigned int nr_pieces)
{
	struct damon_region *r, *next;
	unsigned long sz, cut;
	unsigned int i;

	damon_for_each_region_safe(r, next, t) {
		for (i = 1; i < nr_pieces; i++) {
			sz = damon_sz_region(r);
			if (sz < 2 * DAMON_MIN_REGION)
				break;
			cut = ALIGN_DOWN(mult_frac(sz, damon_rand(1, 10), 10),
					 DAMON_MIN_REGION);
			if (!cut || cut >= sz)
				continue;
			/* Keep cutting the upper part, which is new. */
			r = damon_split_region_at(t, r, cut);
			if (!r)
				break;
		}
	}
}

/*
 * Split to give the merge something to adapt with, but never beyond the
 * maximum: in two while at most half of it is used, in three while under
 * a third and the count has not moved since the last split.
 */
static void kdamond_split_regions(struct damon_ctx *ctx,
				  unsigned int *last_nr_regions)
{
	unsigned int nr_regions = damon_nr_regions_of_ctx(ctx);
	unsigned int nr_pieces = 2;
	struct damon_target *t;

	if (nr_regions > ctx->attrs.max_nr_regions / 2)
		return;
	if (nr_regions == *last_nr_regions &&
	    nr_regions < ctx->attrs.max_nr_regions / 3)
		nr_pieces = 3;
	damon_for_each_target(t, ctx)
		damon_split_regions_of(t, nr_pieces);
	*last_nr_regions = damon_nr_regions_of_ctx(ctx);
}

/* === Intervals auto-tuning === */

/*
 * Share of the possible access events the aggregation that just ended saw,
 * in basis points: the size-weighted mean of the regions' counts over the
 * samples of a window.  Kept as a running mean, since products of counts
 * and sizes overflow.
 */
static unsigned long damon_aggr_access_bp(struct damon_ctx *ctx)
{
	unsigned int window = damon_max_nr_accesses(&ctx->attrs);
	unsigned long mean = 0, seen = 0, sz, bp;
	struct damon_target *t;
	struct damon_region *r;

	damon_for_each_target(t, ctx) {
		damon_for_each_region(r, t) {
			sz = damon_sz_region(r);
			bp = min(r->nr_accesses, window) * 10000UL / window;
			seen = size_add(seen, sz);
			/* @sz <= @seen: the quotients fit. */
			if (bp >= mean)
				mean += mul_u64_u64_div_u64(bp - mean, sz, seen);
			else
				mean -= mul_u64_u64_div_u64(mean - bp, sz, seen);
		}
	}
	return mean;
}

/*
 * The next aggregation interval, from the last one and @score_bp, the share
 * of access events seen over the goal's, in basis points of the goal.  Too
 * few events: longer, up to twice as long at none; too many: shorter, down
 * to half.
 */
static unsigned long damon_tuned_aggr_interval(unsigned long last,
					       unsigned long score_bp)
{
	unsigned long factor;

	if (score_bp < 10000)
		factor = 20000 - score_bp;
	else
		factor = 10000 - min(score_bp - 10000, 5000UL);
	return clamp_t(u64, damon_mul_div(last, factor, 10000), 1, ULONG_MAX);
}

/*
 * Tune the intervals of @ctx toward its goal, from @access_bp, the mean share
 * of access events of the last aggregations.  The sample:aggr ratio stays,
 * so counts mean what they meant, and the sampling interval stays within
 * the goal's bounds.
 */
static void damon_tune_intervals(struct damon_ctx *ctx, unsigned long access_bp)
{
	const struct damon_intervals_goal *goal = &ctx->attrs.intervals_goal;
	unsigned long ratio = damon_max_nr_accesses(&ctx->attrs);
	struct damon_attrs attrs = ctx->attrs;
	unsigned long score, aggr, sample;

	score = min_t(u64, damon_mul_div(access_bp, 10000, goal->access_bp),
		      ULONG_MAX);
	aggr = damon_tuned_aggr_interval(attrs.aggr_interval, score);
	sample = clamp(aggr / ratio, max(goal->min_sample_us, 1UL),
		       goal->max_sample_us);
	/* A window never holds more samples than before: it stays valid. */
	sample = min(sample, ULONG_MAX / ratio);
	attrs.sample_interval = sample;
	attrs.aggr_interval = sample * ratio;
	if (attrs.sample_interval == ctx->attrs.sample_interval &&
	    attrs.aggr_interval == ctx->attrs.aggr_interval)
		return;
	WARN_ON_ONCE(damon_set_attrs(ctx, &attrs));
}

/*
 * Count the aggregation that just ended toward the intervals goal, before
 * its counts are reset.  Return whether tuning is due, the goal's aggrs
 * being counted, with the mean share of access events in *@access_bp.
 */
static bool kdamond_count_access(struct damon_ctx *ctx,
				 unsigned long *access_bp)
{
	const struct damon_intervals_goal *goal = &ctx->attrs.intervals_goal;

	if (!goal->aggrs)
		return false;
	ctx->tune_access_bp += damon_aggr_access_bp(ctx);
	if (++ctx->tune_aggrs < goal->aggrs)
		return false;
	*access_bp = div64_ul(ctx->tune_access_bp, ctx->tune_aggrs);
	ctx->tune_aggrs = 0;
	ctx->tune_access_bp = 0;
	return true;
}

/* Report the finished aggregation and start a new one. */
static void kdamond_reset_aggregated(struct damon_ctx *ctx)
{
	struct damon_target *t;
	struct damon_region *r;
	unsigned int ti = 0;

	damon_for_each_target(t, ctx) {
		damon_for_each_region(r, t) {
			trace_damon_aggregated(ti, r, damon_nr_regions(t));
			r->last_nr_accesses = r->nr_accesses;
			/* Exact at the boundary: no rounding drift builds up. */
			r->nr_accesses_bp = r->nr_accesses * 10000;
			r->nr_accesses = 0;
		}
		ti++;
	}
}

/* === Committing a context === */

/*
 * Whether @dst gets the operations set @src names, or keeps its own: it
 * keeps a set of the same id, which may be one it was given by hand, and
 * its kdamond need not clean the set up and start it over.
 */
static bool damon_commit_replaces_ops(struct damon_ctx *dst,
				      struct damon_ctx *src)
{
	return dst->ops.id != src->ops.id;
}

/* Whether damon_set_regions() would take the regions of @t as ranges. */
static bool damon_valid_target_regions(struct damon_target *t)
{
	struct damon_region *r;
	unsigned long prev_end = 0;

	damon_for_each_region(r, t) {
		if (r->ar.start >= r->ar.end || r->ar.start < prev_end)
			return false;
		prev_end = r->ar.end;
	}
	return true;
}

/*
 * Check everything damon_commit_ctx() could refuse before it changes
 * anything, so that bad input leaves @dst as it was.
 */
static int damon_check_commit(struct damon_ctx *dst, struct damon_ctx *src)
{
	struct damon_operations ops = dst->ops;
	struct damon_target *t;
	unsigned int nr_targets = 0;

	/* No set to take, even if @dst has none either. */
	if (!damon_valid_attrs(&src->attrs) || src->ops.id >= NR_DAMON_OPS)
		return -EINVAL;
	/* Judge the targets by the set the commit will leave in place. */
	if (damon_commit_replaces_ops(dst, src) &&
	    damon_select_ops_of(&ops, src->ops.id))
		return -EINVAL;
	damon_for_each_target(t, src) {
		if (ops.target_needs_pid != !!t->pid)
			return -EINVAL;
		if (!damon_valid_target_regions(t))
			return -EINVAL;
		nr_targets++;
	}
	if (ops.max_nr_targets && nr_targets > ops.max_nr_targets)
		return -EINVAL;
	return damon_check_commit_schemes(src);
}

/**
 * struct damon_commit_prep - What damon_commit_ctx() allocates up front.
 * @targets:	New targets, for those of the source beyond the destination's.
 * @regions:	Regions for damon_fit_range() to fill holes with.
 * @ranges:	Room for the regions of every target of the source, as ranges.
 * @schemes:	What committing the schemes needs.
 *
 * All of it is allocated before anything changes, so that a commit either
 * fails with the destination as it was or does all it was asked.
 */
struct damon_commit_prep {
	struct list_head targets;
	struct list_head regions;
	struct damon_addr_range *ranges;
	struct damos_commit_prep schemes;
};

static void damon_commit_prep_free(struct damon_commit_prep *prep)
{
	struct damon_target *t, *next_t;
	struct damon_region *r, *next_r;

	list_for_each_entry_safe(t, next_t, &prep->targets, list)
		damon_destroy_target(t);
	list_for_each_entry_safe(r, next_r, &prep->regions, list)
		kmem_cache_free(damon_region_cache, r);
	kvfree(prep->ranges);
	damos_commit_prep_free(&prep->schemes);
}

/*
 * Allocate what committing @src to @dst needs.  Targets pair up by
 * position; a paired target of the same process keeps its regions, so
 * fitting it to the ranges @src gives may take new regions to fill holes
 * with, and so does a target of another process, or a new one, that
 * starts with none: damon_count_fills() counts them exactly.
 */
static int damon_commit_prepare(struct damon_ctx *dst, struct damon_ctx *src,
				struct damon_commit_prep *prep)
{
	struct list_head *pos = &dst->adaptive_targets;
	unsigned long nr_ranges = 0, nr_fills = 0;
	struct damon_target *dst_t, *src_t, *t;
	struct damon_addr_range *ranges;
	struct damon_region *r;
	unsigned int i;
	int err;

	INIT_LIST_HEAD(&prep->targets);
	INIT_LIST_HEAD(&prep->regions);
	prep->ranges = NULL;
	err = damos_commit_prepare(dst, src, &prep->schemes);
	if (err)
		return err;

	damon_for_each_target(src_t, src)
		nr_ranges += damon_nr_regions(src_t);
	if (nr_ranges) {
		prep->ranges = kvmalloc_array(nr_ranges, sizeof(*prep->ranges),
					      GFP_KERNEL);
		if (!prep->ranges)
			goto nomem;
	}
	ranges = prep->ranges;
	damon_for_each_target(src_t, src) {
		dst_t = NULL;
		if (list_is_last(pos, &dst->adaptive_targets)) {
			t = damon_new_target();
			if (!t)
				goto nomem;
			list_add_tail(&t->list, &prep->targets);
		} else {
			dst_t = list_entry(pos->next, struct damon_target, list);
			pos = &dst_t->list;
		}
		if (!damon_nr_regions(src_t))
			continue;
		i = 0;
		damon_for_each_region(r, src_t)
			ranges[i++] = r->ar;
		if (dst_t && dst_t->pid != src_t->pid)
			dst_t = NULL;
		nr_fills += damon_count_fills(dst_t, ranges, i);
		ranges += i;
	}
	for (; nr_fills; nr_fills--) {
		r = damon_new_region(0, 0);
		if (!r)
			goto nomem;
		list_add(&r->list, &prep->regions);
	}
	return 0;
nomem:
	damon_commit_prep_free(prep);
	return -ENOMEM;
}

/*
 * Make @dst monitor what @src describes.  A target of another process
 * starts over; one of the same process keeps its regions unless @src
 * gives regions, which are then fitted with their history kept.
 */
static void damon_commit_target(struct damon_target *dst,
				struct damon_target *src,
				struct damon_commit_prep *prep,
				unsigned long *nr_ranges_used)
{
	struct damon_addr_range *ranges = prep->ranges + *nr_ranges_used;
	struct damon_region *r, *next;
	unsigned int i;

	if (dst->pid != src->pid) {
		damon_for_each_region_safe(r, next, dst)
			damon_destroy_region(r, dst);
		put_pid(dst->pid);
		dst->pid = get_pid(src->pid);
	}
	if (!damon_nr_regions(src))
		return;
	/* damon_commit_prepare() wrote them, and counted the fills. */
	i = damon_nr_regions(src);
	*nr_ranges_used += i;
	/* Cannot fail: checked, and the pool holds enough regions. */
	WARN_ON_ONCE(__damon_set_regions(dst, ranges, i, &prep->regions));
}

static void damon_commit_targets(struct damon_ctx *dst, struct damon_ctx *src,
				 struct damon_commit_prep *prep)
{
	struct damon_target *dst_t, *src_t, *next;
	struct list_head *pos = &dst->adaptive_targets;
	unsigned long nr_ranges_used = 0;

	/* Pair the targets up by position. */
	damon_for_each_target(src_t, src) {
		if (list_is_last(pos, &dst->adaptive_targets)) {
			dst_t = list_first_entry(&prep->targets,
						 struct damon_target, list);
			list_move_tail(&dst_t->list, &dst->adaptive_targets);
		} else {
			dst_t = list_entry(pos->next, struct damon_target, list);
		}
		pos = &dst_t->list;
		damon_commit_target(dst_t, src_t, prep, &nr_ranges_used);
	}
	/* Targets @src no longer has. */
	while (!list_is_last(pos, &dst->adaptive_targets)) {
		next = list_entry(pos->next, struct damon_target, list);
		damon_destroy_target(next);
	}
}

/**
 * damon_commit_ctx() - Make a context monitor what another one describes.
 * @dst:	The context to change; running or not.
 * @src:	The description: attributes, operations set, targets and
 *		their regions, schemes.  It is not changed.
 *
 * What still applies is kept: a target of the same process keeps its
 * regions and their access history, regions given in @src are fitted with
 * damon_set_regions(), and counts are rescaled to new intervals.  Targets
 * and schemes pair up by their position in the lists.  If @dst runs, its
 * kdamond then builds the regions of the targets that have none with
 * &damon_operations.init.
 *
 * Everything that can fail is checked or allocated before anything of
 * @dst changes: the commit is all or nothing.
 *
 * Context: @dst is not running, or its kdamond calls this (through
 * damon_call(), for a caller outside of it, which may run the function
 * itself for the kdamond).
 *
 * Return: 0; -EINVAL if @src is not valid (bad attributes, no or an
 * unregistered operations set, a target without a process where one is
 * needed or with one where not, regions that are empty, unsorted or
 * overlapping, more targets than the operations set takes, bad schemes);
 * or -ENOMEM.  On error @dst is unchanged.
 */
int damon_commit_ctx(struct damon_ctx *dst, struct damon_ctx *src)
{
	bool running = damon_ctx_runs_here(dst);
	struct damon_commit_prep prep;
	int err;

	damon_assert_owned(dst);
	err = damon_check_commit(dst, src);
	if (err)
		return err;
	err = damon_commit_prepare(dst, src, &prep);
	if (err)
		return err;

	if (damon_commit_replaces_ops(dst, src)) {
		if (running && dst->ops.cleanup)
			dst->ops.cleanup(dst);
		/* Cannot fail: damon_check_commit() found it registered. */
		damon_select_ops(dst, src->ops.id);
	}
	/* Cannot fail either: damon_check_commit() checked the attributes. */
	WARN_ON_ONCE(damon_set_attrs(dst, &src->attrs));
	damon_commit_targets(dst, src, &prep);
	damos_commit_prepared(dst, src, &prep.schemes);
	damon_commit_prep_free(&prep);
	if (running) {
		if (dst->ops.init)
			dst->ops.init(dst);
		dst->sz_limit = damon_region_sz_limit(dst);
	}
	return 0;
}

/* === The kdamond === */

/*
 * Run the damon_call() requests queued so far, or cancel every request if
 * @cancel.  A repeated request moves to @ctx->repeat_controls, which the
 * kdamond owns and runs once per sampling interval, after this first run;
 * one that asks for aggregations moves to @ctx->aggr_controls without a
 * run, as the aggregation under way is only partly counted.  The request
 * running is @ctx->call_running, where whoever reaps a kdamond that died
 * in it finds it to cancel.
 */
static void kdamond_call(struct damon_ctx *ctx, bool cancel)
{
	struct damon_call_control *control, *next;
	struct list_head *queue = &ctx->call_controls;
	unsigned long nr;
	LIST_HEAD(todo);

	if (cancel) {
		spin_lock(&ctx->call_controls_lock);
		list_splice_init(&ctx->call_controls, &todo);
		control = ctx->call_running;
		ctx->call_running = NULL;
		spin_unlock(&ctx->call_controls_lock);
		list_splice_init(&ctx->repeat_controls, &todo);
		list_splice_init(&ctx->aggr_controls, &todo);
		if (control)
			list_add(&control->list, &todo);
		list_for_each_entry_safe(control, next, &todo, list) {
			control->canceled = true;
			list_del_init(&control->list);
			complete(&control->completion);
		}
		return;
	}

	spin_lock(&ctx->call_controls_lock);
	nr = list_count_nodes(&ctx->call_controls);
	spin_unlock(&ctx->call_controls_lock);
	/* Those that come meanwhile wait for the next round. */
	for (; nr; nr--) {
		spin_lock(&ctx->call_controls_lock);
		/* A killed caller may have taken its request back. */
		control = list_first_entry_or_null(queue, typeof(*control),
						   list);
		if (!control) {
			spin_unlock(&ctx->call_controls_lock);
			break;
		}
		list_del_init(&control->list);
		if (control->after_aggregation) {
			spin_unlock(&ctx->call_controls_lock);
			list_add_tail(&control->list, &ctx->aggr_controls);
			continue;
		}
		ctx->call_running = control;
		spin_unlock(&ctx->call_controls_lock);

		control->return_code = control->fn(control->data);

		spin_lock(&ctx->call_controls_lock);
		ctx->call_running = NULL;
		spin_unlock(&ctx->call_controls_lock);
		if (control->repeat)
			list_add_tail(&control->list, &ctx->repeat_controls);
		else
			complete(&control->completion);
	}
}

/* Run the repeated requests of @controls, the kdamond's own list. */
static void kdamond_call_repeats(struct list_head *controls)
{
	struct damon_call_control *control;

	list_for_each_entry(control, controls, list)
		control->return_code = control->fn(control->data);
}

static bool kdamond_call_pending(struct damon_ctx *ctx)
{
	bool pending;

	spin_lock(&ctx->call_controls_lock);
	pending = !list_empty(&ctx->call_controls);
	spin_unlock(&ctx->call_controls_lock);
	return pending;
}

static bool kdamond_should_stop(struct damon_ctx *ctx)
{
	return READ_ONCE(ctx->kdamond_stop);
}

/*
 * Park before sleeping between two samples: until kdamond_unpark(), a
 * damon_call() caller may run its function itself instead of waking us and
 * waiting to be woken back, two cross-CPU wakeups that cost more than most
 * functions under emulation.
 */
static void kdamond_park(struct damon_ctx *ctx, bool inactive)
{
	spin_lock(&ctx->call_controls_lock);
	ctx->kdamond_parked = true;
	ctx->kdamond_parked_inactive = inactive;
	spin_unlock(&ctx->call_controls_lock);
}

/*
 * Wait for a stand-in to finish, and take the context back.  A stand-in
 * that died in the function (it oopsed) left the context half changed:
 * stop then, rather than sleep forever.
 *
 * Return: whether a stand-in ran a function while we were parked.
 */
static bool kdamond_unpark(struct damon_ctx *ctx)
{
	struct task_struct *stand_in;
	bool ran;

	spin_lock(&ctx->call_controls_lock);
	while ((stand_in = ctx->call_stand_in)) {
		if (READ_ONCE(stand_in->flags) & PF_EXITING) {
			WRITE_ONCE(ctx->kdamond_stop, true);
			break;
		}
		ctx->kdamond_waits_stand_in = true;
		set_current_state(TASK_IDLE);
		spin_unlock(&ctx->call_controls_lock);
		/* Woken by the stand-in; the timeout is for a dead one. */
		schedule_timeout(HZ);
		spin_lock(&ctx->call_controls_lock);
	}
	ctx->kdamond_waits_stand_in = false;
	ctx->kdamond_parked = false;
	ran = ctx->call_ran_parked;
	ctx->call_ran_parked = false;
	spin_unlock(&ctx->call_controls_lock);
	return ran;
}

/*
 * Sleep until @deadline, idle so as not to count as load, serving
 * damon_call() requests as they come: a caller wakes us, so it waits for
 * its function to run, not for the sampling interval to pass.  A walk whose
 * caller was killed is canceled at once, and so is any walk while
 * @inactive, as no scheme would apply before the deadline.
 */
static void kdamond_sleep_until(struct damon_ctx *ctx, ktime_t deadline,
				bool inactive)
{
	unsigned long sample = ctx->attrs.sample_interval;
	u64 slack = min(sample / 20, 50UL) * NSEC_PER_USEC;
	bool called = false;

	for (;;) {
		set_current_state(TASK_IDLE);
		if (kdamond_should_stop(ctx))
			break;
		if (kdamond_call_pending(ctx) || called) {
			__set_current_state(TASK_RUNNING);
			if (!called)
				kdamond_call(ctx, false);
			called = false;
			/*
			 * A commit may have shortened the wait: one sleeping
			 * out an interval of hours must not keep the new
			 * interval of milliseconds waiting.
			 */
			if (inactive)
				break;
			if (ctx->attrs.sample_interval != sample) {
				sample = ctx->attrs.sample_interval;
				deadline = min(deadline,
					       damon_deadline_us(sample));
			}
			continue;
		}
		if (READ_ONCE(ctx->walk_control) &&
		    (inactive || damos_walk_aborted(ctx))) {
			__set_current_state(TASK_RUNNING);
			damos_walk_cancel(ctx);
			continue;
		}
		if (ktime_after(ktime_get(), deadline))
			break;
		/* Too far to count: sleep until woken. */
		kdamond_park(ctx, inactive);
		schedule_hrtimeout_range(deadline == KTIME_MAX ? NULL :
					 &deadline, slack, HRTIMER_MODE_ABS);
		called = kdamond_unpark(ctx);
	}
	__set_current_state(TASK_RUNNING);
}

/*
 * Whether some target can still be monitored.  Without a way to tell, the
 * operations set monitors something that cannot go away, like physical
 * memory: keep going.
 */
static bool kdamond_has_target(struct damon_ctx *ctx)
{
	bool (*valid)(struct damon_target *t) = ctx->ops.target_valid;
	struct damon_target *t;

	damon_for_each_target(t, ctx)
		if (!valid || valid(t))
			return true;
	return !valid;
}

static void kdamond_init_intervals(struct damon_ctx *ctx)
{
	unsigned long sample = max(ctx->attrs.sample_interval, 1UL);

	ctx->passed_sample_intervals = 0;
	ctx->tune_aggrs = 0;
	ctx->tune_access_bp = 0;
	ctx->next_aggregation_sis = damon_max_nr_accesses(&ctx->attrs);
	ctx->next_ops_update_sis = ctx->attrs.ops_update_interval / sample;
}

/*
 * Let go of @ctx, as the kdamond or for a kdamond that died.  No request can
 * be queued once ->kdamond is NULL: cancel the rest under the same lock, so
 * that none slips in between.
 */
static void kdamond_release_ctx(struct damon_ctx *ctx, bool dead)
{
	lockdep_assert_held(&ctx->kdamond_lock);
	ctx->kdamond = NULL;
	/* Only a stand-in that died in its function is left to forget. */
	spin_lock(&ctx->call_controls_lock);
	ctx->call_stand_in = NULL;
	ctx->kdamond_parked = false;
	ctx->kdamond_parked_inactive = false;
	ctx->kdamond_waits_stand_in = false;
	ctx->call_ran_parked = false;
	spin_unlock(&ctx->call_controls_lock);
	kdamond_call(ctx, true);
	/* A dead kdamond may have left the schemes half changed. */
	if (dead)
		damos_walk_abandon(ctx);
	else
		damos_walk_cancel(ctx);
}

/* The kdamond no longer counts as running; called with damon_lock held. */
static void kdamond_uncount(void)
{
	lockdep_assert_held(&damon_lock);
	if (!--damon_nr_running)
		damon_running_exclusive = false;
}

/*
 * A kdamond that died inside its loop, by an oops, never reaches its exit
 * path, and everyone waiting for it would wait forever.  If that is what
 * happened, do for it what the exit path does, touching nothing but the
 * requests; the regions stay until the context is destroyed or started
 * again.
 */
static void damon_reap_dead_kdamond(struct damon_ctx *ctx)
{
	struct task_struct *task;

	/* The order damon_start() takes them in. */
	mutex_lock(&damon_lock);
	mutex_lock(&ctx->kdamond_lock);
	task = ctx->kdamond;
	/* A kdamond that exits normally drops ->kdamond before it exits. */
	if (!task || !(READ_ONCE(task->flags) & PF_EXITING)) {
		mutex_unlock(&ctx->kdamond_lock);
		mutex_unlock(&damon_lock);
		return;
	}
	kdamond_uncount();
	kdamond_release_ctx(ctx, true);
	mutex_unlock(&ctx->kdamond_lock);
	mutex_unlock(&damon_lock);

	pr_err("kdamond (%d) died in its loop; its context is stopped\n",
	       task->pid);
	put_task_struct(task);
	complete_all(&ctx->kdamond_exited);
}

/**
 * damon_wait_kdamond() - Wait for something a kdamond completes.
 * @ctx:	The kdamond's context.
 * @done:	What the kdamond of @ctx completes, or cancels on its way out.
 *
 * Returns even if the kdamond died without its exit path: the wait then
 * does what the exit path does, which completes @done.
 */
void damon_wait_kdamond(struct damon_ctx *ctx, struct completion *done)
{
	while (!wait_for_completion_timeout(done, DAMON_DEAD_CHECK_JIFFIES))
		damon_reap_dead_kdamond(ctx);
}

/**
 * damon_wait_kdamond_killable() - damon_wait_kdamond(), until killed.
 * @ctx:	The kdamond's context.
 * @done:	What the kdamond of @ctx completes.
 *
 * Return: 0 once @done completed, or -EINTR if a fatal signal came first.
 */
int damon_wait_kdamond_killable(struct damon_ctx *ctx, struct completion *done)
{
	long ret, period = DAMON_DEAD_CHECK_JIFFIES;

	for (;;) {
		ret = wait_for_completion_killable_timeout(done, period);
		if (ret > 0)
			return 0;
		if (ret < 0)
			return -EINTR;
		damon_reap_dead_kdamond(ctx);
	}
}

/**
 * damon_wake_kdamond() - Wake the kdamond of a context, if it runs.
 * @ctx:	The context.
 */
void damon_wake_kdamond(struct damon_ctx *ctx)
{
	mutex_lock(&ctx->kdamond_lock);
	if (ctx->kdamond)
		wake_up_process(ctx->kdamond);
	mutex_unlock(&ctx->kdamond_lock);
}

static int kdamond_fn(void *data)
{
	struct damon_ctx *ctx = data;
	unsigned int max_nr_accesses = 0, last_nr_regions = 0;
	struct damon_target *t;
	struct damon_region *r, *next;
	unsigned long wait_us, update, access_bp;
	ktime_t deadline;
	bool aggregated, tune;

	pr_debug("kdamond (%d) starts\n", current->pid);

	if (ctx->ops.init)
		ctx->ops.init(ctx);
	kdamond_init_intervals(ctx);
	kdamond_init_schemes(ctx);
	ctx->sz_limit = damon_region_sz_limit(ctx);

	while (!kdamond_should_stop(ctx) && kdamond_has_target(ctx)) {
		/* A zero sampling interval must not hog the CPU. */
		cond_resched();
		wait_us = kdamond_wmarks_wait_us(ctx);
		if (wait_us) {
			/* No scheme would apply: no walk can finish. */
			damos_walk_cancel(ctx);
			/* Prepared long before the next check would come. */
			damon_for_each_target(t, ctx)
				damon_for_each_region(r, t)
					r->sampling_armed = false;
			wait_us = max(wait_us, ctx->attrs.sample_interval);
			kdamond_sleep_until(ctx, damon_deadline_us(wait_us), true);
			continue;
		}
		deadline = damon_deadline_us(ctx->attrs.sample_interval);
		if (ctx->ops.prepare_access_checks)
			ctx->ops.prepare_access_checks(ctx);
		kdamond_call_repeats(&ctx->repeat_controls);
		kdamond_sleep_until(ctx, deadline, false);
		if (kdamond_should_stop(ctx))
			break;
		ctx->passed_sample_intervals++;

		if (ctx->ops.check_accesses)
			max_nr_accesses = ctx->ops.check_accesses(ctx);

		aggregated = ctx->passed_sample_intervals >=
			ctx->next_aggregation_sis;
		if (aggregated)
			kdamond_merge_regions(ctx, max_nr_accesses / 10,
					      ctx->sz_limit);
		kdamond_apply_schemes(ctx);
		if (aggregated) {
			kdamond_call_repeats(&ctx->aggr_controls);
			tune = kdamond_count_access(ctx, &access_bp);
			kdamond_reset_aggregated(ctx);
			kdamond_split_regions(ctx, &last_nr_regions);
			if (ctx->ops.reset_aggregated)
				ctx->ops.reset_aggregated(ctx);
			ctx->next_aggregation_sis = ctx->passed_sample_intervals +
				damon_max_nr_accesses(&ctx->attrs);
			/* Between aggregations, like any change of intervals. */
			if (tune)
				damon_tune_intervals(ctx, access_bp);
		}

		if (ctx->passed_sample_intervals >= ctx->next_ops_update_sis) {
			update = ctx->attrs.ops_update_interval /
				max(ctx->attrs.sample_interval, 1UL);
			ctx->next_ops_update_sis = damon_due_sis(ctx, update);
			if (ctx->ops.update)
				ctx->ops.update(ctx);
			ctx->sz_limit = damon_region_sz_limit(ctx);
		}
	}

	damon_for_each_target(t, ctx) {
		damon_for_each_region_safe(r, next, t)
			damon_destroy_region(r, t);
	}
	if (ctx->ops.cleanup)
		ctx->ops.cleanup(ctx);

	/*
	 * Uncounted before ->kdamond goes: once it is NULL, damon_start()
	 * may wait for the exit with damon_lock held.
	 */
	mutex_lock(&damon_lock);
	kdamond_uncount();
	mutex_unlock(&damon_lock);
	mutex_lock(&ctx->kdamond_lock);
	kdamond_release_ctx(ctx, false);
	mutex_unlock(&ctx->kdamond_lock);
	/* Our own reference; the thread still holds its own. */
	put_task_struct(current);
	pr_debug("kdamond (%d) finishes\n", current->pid);
	/* The last touch of @ctx: it may be freed as soon as this is seen. */
	complete_all(&ctx->kdamond_exited);
	return 0;
}

/* === Public interface: running contexts === */

static int __damon_start(struct damon_ctx *ctx)
{
	struct task_struct *kdamond;
	int err = 0;

	mutex_lock(&ctx->kdamond_lock);
	if (ctx->kdamond) {
		err = -EBUSY;
		goto out;
	}
	/* A context that stopped by itself may still be on its way out. */
	wait_for_completion(&ctx->kdamond_exited);
	reinit_completion(&ctx->kdamond_exited);
	ctx->kdamond_stop = false;
	/*
	 * Nothing ever kthread_stop()s a kdamond, so kdamond_fn() always
	 * runs, and its exit path is the one place that lets go of @ctx.
	 */
	kdamond = kthread_create(kdamond_fn, ctx, "kdamond.%d",
				 damon_nr_running);
	if (IS_ERR(kdamond)) {
		err = PTR_ERR(kdamond);
		complete_all(&ctx->kdamond_exited);
		goto out;
	}
	/*
	 * Taken before the thread runs, so that it holds even if the thread
	 * dies at once; dropped by whoever lets go of @ctx for the kdamond.
	 */
	ctx->kdamond = get_task_struct(kdamond);
	damon_nr_running++;
	wake_up_process(kdamond);
out:
	mutex_unlock(&ctx->kdamond_lock);
	return err;
}

/**
 * damon_start() - Start monitoring with a group of contexts.
 * @ctxs:	The contexts.
 * @nr_ctxs:	Number of entries in @ctxs.
 * @exclusive:	Let no other context run while these do.
 *
 * Each context gets its kdamond thread, named "kdamond.N".  A context
 * stops when damon_stop() is called on it or when none of its targets is
 * valid any more.
 *
 * Return: 0, -EINVAL if a context's attributes are not valid (see
 * damon_set_attrs()), or -EBUSY if an exclusive group is running, if
 * @exclusive is asked while anything runs, or if a context already runs.
 * On -EBUSY the contexts started before the failing one keep running.
 */
int damon_start(struct damon_ctx **ctxs, int nr_ctxs, bool exclusive)
{
	int i, err = 0;

	/* Attributes set without damon_set_attrs() must not reach a kdamond. */
	for (i = 0; i < nr_ctxs; i++)
		if (!damon_valid_attrs(&ctxs[i]->attrs))
			return -EINVAL;
	mutex_lock(&damon_lock);
	if (damon_running_exclusive || (exclusive && damon_nr_running)) {
		mutex_unlock(&damon_lock);
		return -EBUSY;
	}
	for (i = 0; i < nr_ctxs && !err; i++)
		err = __damon_start(ctxs[i]);
	damon_running_exclusive = exclusive && damon_nr_running;
	mutex_unlock(&damon_lock);
	return err;
}

static int __damon_stop(struct damon_ctx *ctx)
{
	int err = 0;

	mutex_lock(&ctx->kdamond_lock);
	if (ctx->kdamond) {
		WRITE_ONCE(ctx->kdamond_stop, true);
		wake_up_process(ctx->kdamond);
	} else {
		err = -EPERM;
	}
	mutex_unlock(&ctx->kdamond_lock);
	if (!err)
		damon_wait_kdamond(ctx, &ctx->kdamond_exited);
	return err;
}

/**
 * damon_stop() - Stop monitoring with a group of contexts.
 * @ctxs:	The contexts.
 * @nr_ctxs:	Number of entries in @ctxs.
 *
 * Returns once every kdamond of @ctxs is done with its context, after it
 * canceled the damon_call() requests it had not served.  Any number of
 * callers may stop a context at once.
 *
 * Return: 0, or -EPERM if a context was not running (the others are still
 * stopped).
 */
int damon_stop(struct damon_ctx **ctxs, int nr_ctxs)
{
	int i, err = 0, ret;

	for (i = 0; i < nr_ctxs; i++) {
		ret = __damon_stop(ctxs[i]);
		if (ret && !err)
			err = ret;
	}
	return err;
}

/**
 * damon_nr_running_ctxs() - Count the running kdamonds.
 *
 * Return: the number of contexts whose kdamond runs.
 */
int damon_nr_running_ctxs(void)
{
	guard(mutex)(&damon_lock);
	return damon_nr_running;
}

/**
 * damon_is_running() - Tell whether a context's kdamond runs.
 * @ctx:	The context.
 *
 * Return: true if @ctx has a kdamond.
 */
bool damon_is_running(struct damon_ctx *ctx)
{
	bool running;

	damon_reap_dead_kdamond(ctx);
	mutex_lock(&ctx->kdamond_lock);
	running = !!ctx->kdamond;
	mutex_unlock(&ctx->kdamond_lock);
	return running;
}

/**
 * damon_kdamond_pid() - Tell the process id of a context's kdamond.
 * @ctx:	The context.
 *
 * Return: the pid of the kdamond of @ctx, or -1 if it is not running.
 */
int damon_kdamond_pid(struct damon_ctx *ctx)
{
	int pid = -1;

	damon_reap_dead_kdamond(ctx);
	mutex_lock(&ctx->kdamond_lock);
	if (ctx->kdamond)
		pid = ctx->kdamond->pid;
	mutex_unlock(&ctx->kdamond_lock);
	return pid;
}

/*
 * Run @control's function for the parked kdamond of @ctx, which stays
 * asleep until we are done: it cannot exit meanwhile, so its task is still
 * there to wake.  It wakes on its own at the end of its sleep and then
 * sees what the function changed, as after a function of its own; it is
 * woken now only if that sleep must end early, or if it woke already and
 * waits for us.
 */
static int damon_call_parked(struct damon_ctx *ctx,
			     struct damon_call_control *control)
{
	unsigned long sample = ctx->attrs.sample_interval;

	control->return_code = control->fn(control->data);
	spin_lock(&ctx->call_controls_lock);
	ctx->call_stand_in = NULL;
	ctx->call_ran_parked = true;
	if (ctx->kdamond_waits_stand_in || ctx->kdamond_parked_inactive ||
	    ctx->attrs.sample_interval != sample)
		wake_up_process(ctx->kdamond);
	spin_unlock(&ctx->call_controls_lock);
	put_task_struct(current);
	return 0;
}

/**
 * damon_call() - Run a function in a context's kdamond.
 * @ctx:	The context.
 * @control:	The function, its argument, and where the result goes.
 *
 * The kdamond is woken for the request, so the wait is for @control->fn
 * itself rather than for the sampling interval to pass.  Any number of
 * callers may wait at once; their functions run in the order they came.
 * With @control->repeat the function runs at every sampling interval until
 * the kdamond stops, and damon_call() returns once it is queued; with
 * @control->after_aggregation as well, it runs at the end of every
 * aggregation interval instead, where the results of the aggregation are
 * complete (see &struct damon_call_control), the first time at the end of
 * the aggregation under way.  While watermarks keep the schemes inactive,
 * the kdamond does not aggregate and such a function does not run.
 *
 * The function runs where the kdamond owns the context, so it may read
 * and change the context freely (for example with damon_set_attrs()).
 * That is in the kdamond, or, if the kdamond sleeps between two samples
 * and no request is queued, in the caller at once while the kdamond is
 * held asleep: a synchronous request then costs no wakeup and no context
 * switch.  Either way it must not take locks the caller holds.
 * A caller that gets a fatal signal while its function waits to run takes
 * the request back.
 *
 * Return: 0 once the function ran, with its result in
 * @control->return_code (a repeated one: once it is queued); -EINVAL if
 * @ctx is not running or @control asks for @after_aggregation without
 * @repeat (nothing is queued then); -ECANCELED if the kdamond stopped
 * before running it, or died while running it; -EINTR if the caller was
 * killed while the request was still queued.
 */
int damon_call(struct damon_ctx *ctx, struct damon_call_control *control)
{
	struct damon_call_control *pos;
	bool withdrawn = false, stand_in;

	/* A one-off call would wait out an aggregation: nothing needs it. */
	if (control->after_aggregation && !control->repeat)
		return -EINVAL;
	init_completion(&control->completion);
	INIT_LIST_HEAD(&control->list);
	control->canceled = false;

	mutex_lock(&ctx->kdamond_lock);
	if (!ctx->kdamond) {
		mutex_unlock(&ctx->kdamond_lock);
		return -EINVAL;
	}
	spin_lock(&ctx->call_controls_lock);
	/* Nothing queued ahead, no other stand-in: the order is kept. */
	stand_in = !control->repeat && ctx->kdamond_parked &&
		!ctx->call_stand_in && list_empty(&ctx->call_controls);
	if (stand_in)
		ctx->call_stand_in = get_task_struct(current);
	else
		list_add_tail(&control->list, &ctx->call_controls);
	spin_unlock(&ctx->call_controls_lock);
	if (!stand_in)
		wake_up_process(ctx->kdamond);
	mutex_unlock(&ctx->kdamond_lock);

	if (stand_in)
		return damon_call_parked(ctx, control);
	if (control->repeat)
		return 0;
	if (damon_wait_kdamond_killable(ctx, &control->completion)) {
		/* Unless the kdamond took it already, it is still queued. */
		spin_lock(&ctx->call_controls_lock);
		list_for_each_entry(pos, &ctx->call_controls, list) {
			if (pos == control) {
				list_del_init(&control->list);
				withdrawn = true;
				break;
			}
		}
		spin_unlock(&ctx->call_controls_lock);
		if (withdrawn)
			return -EINTR;
		damon_wait_kdamond(ctx, &control->completion);
	}
	return control->canceled ? -ECANCELED : 0;
}

/* === Random numbers === */

/*
 * Sampling wants evenly spread numbers, not unpredictable ones, and the
 * CRNG costs a ChaCha block every few numbers: 44% of the kdamond's time at
 * 1000 regions under emulation.  A Tausworthe generator per CPU instead,
 * seeded from the CRNG.
 */
static DEFINE_PER_CPU(struct rnd_state, damon_rnd_state);

/**
 * damon_rand() - Pick a random number in a range.
 * @lo:	Lowest number to pick.
 * @hi:	First number past the range; above @lo.
 *
 * For sampling addresses and split points: evenly spread, but not fit for
 * anything that must be hard to guess.
 *
 * Return: a number in [@lo, @hi).
 */
unsigned long damon_rand(unsigned long lo, unsigned long hi)
{
	struct rnd_state *state = get_cpu_ptr(&damon_rnd_state);
	unsigned long span = hi - lo;
	u64 x = prandom_u32_state(state);

	if (span > U32_MAX)
		x = x << 32 | prandom_u32_state(state);
	put_cpu_ptr(&damon_rnd_state);
	/* Scaled rather than taken modulo: no division on the hot path. */
	if (span > U32_MAX)
		return lo + mul_u64_u64_shr(x, span, 64);
	return lo + ((x * span) >> 32);
}

/* === Initialization === */

static int __init damon_init(void)
{
	damon_region_cache = KMEM_CACHE(damon_region, SLAB_PANIC);
	prandom_seed_full_state(&damon_rnd_state);
	return 0;
}
subsys_initcall(damon_init);

#include "tests/core-kunit.h"
#include "tests/commit-kunit.h"
#include "tests/edges-kunit.h"
