// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON-based operation schemes (DAMOS).
 *
 * A scheme names an access pattern and an action; at each of its apply
 * intervals the kdamond tries the action on every region whose size,
 * access frequency and age fit the pattern, within a quota per time
 * window, while the scheme's watermarks keep it active, and skipping the
 * memory its filters reject.  This file holds the scheme objects and what
 * the kdamond does with them; core.c calls in from its loop.
 */

#define pr_fmt(fmt) "damon: " fmt

#include <linux/damon.h>
#include <linux/jiffies.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/psi.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/vmstat.h>

#include <trace/events/damon.h>

#include "core.h"

/* === Objects === */

/*
 * The user-set fields of a quota and of watermarks.  A new scheme and a
 * commit both take these and nothing else: what the kdamond measured (the
 * charged window, the tuned size, the activation) is its own.
 */
static void damos_set_quota_knobs(struct damos_quota *q,
				  const struct damos_quota *knobs)
{
	q->ms = knobs->ms;
	q->sz = knobs->sz;
	q->reset_interval = knobs->reset_interval;
	q->weight_sz = knobs->weight_sz;
	q->weight_nr_accesses = knobs->weight_nr_accesses;
	q->weight_age = knobs->weight_age;
}

static void damos_set_wmarks_knobs(struct damos_watermarks *w,
				   const struct damos_watermarks *knobs)
{
	w->metric = knobs->metric;
	w->interval = knobs->interval;
	w->high = knobs->high;
	w->mid = knobs->mid;
	w->low = knobs->low;
}

/**
 * damon_new_scheme() - Allocate a scheme.
 * @pattern:		Which regions it applies to.
 * @action:		What it does to them.
 * @apply_interval_us:	How often it is applied; 0 for every aggregation.
 * @quota:		Its quota; the goals are not taken, add them with
 *			damos_add_quota_goal().
 * @wmarks:		Its watermarks.
 * @target_nid:		Destination node of the migrate actions.
 *
 * Return: the scheme, with no filters and zero statistics, or NULL if out
 * of memory.
 */
struct damos *
damon_new_scheme(struct damos_access_pattern *pattern, enum damos_action action,
		 unsigned long apply_interval_us, struct damos_quota *quota,
		 struct damos_watermarks *wmarks, int target_nid)
{
	struct damos *s = kmalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return NULL;
	/* Only the caller's settings: what the kdamond measures starts at 0. */
	*s = (struct damos) {
		.action = action,
		.pattern = *pattern,
		.apply_interval_us = apply_interval_us,
		.target_nid = target_nid,
	};
	damos_set_quota_knobs(&s->quota, quota);
	damos_set_wmarks_knobs(&s->wmarks, wmarks);
	s->wmarks.activated = wmarks->metric == DAMOS_WMARK_NONE;
	INIT_LIST_HEAD(&s->quota.goals);
	INIT_LIST_HEAD(&s->filters);
	INIT_LIST_HEAD(&s->list);
	return s;
}

/**
 * damon_add_scheme() - Append a scheme to a context.
 * @ctx:	The context.
 * @s:		The scheme.
 *
 * Context: @ctx is not running, or its kdamond calls this.
 */
void damon_add_scheme(struct damon_ctx *ctx, struct damos *s)
{
	damon_assert_owned(ctx);
	list_add_tail(&s->list, &ctx->schemes);
}

/**
 * damon_destroy_scheme() - Unlink and free a scheme with its filters and
 * quota goals.
 * @s:		The scheme.
 */
void damon_destroy_scheme(struct damos *s)
{
	struct damos_quota_goal *g;
	struct damos_filter *f;

	while ((f = list_first_entry_or_null(&s->filters, struct damos_filter,
					     list)))
		damos_destroy_filter(f);
	while ((g = list_first_entry_or_null(&s->quota.goals,
					     struct damos_quota_goal, list)))
		damos_destroy_quota_goal(g);
	list_del(&s->list);
	kfree(s);
}

/**
 * damon_set_schemes() - Replace the schemes of a context.
 * @ctx:	The context.
 * @schemes:	The new schemes, which @ctx takes over.
 * @nr_schemes:	Number of entries in @schemes.
 *
 * Context: @ctx is not running, or its kdamond calls this.
 */
void damon_set_schemes(struct damon_ctx *ctx, struct damos **schemes,
		       ssize_t nr_schemes)
{
	struct damos *s;

	damon_assert_owned(ctx);
	while ((s = list_first_entry_or_null(&ctx->schemes, struct damos,
					     list)))
		damon_destroy_scheme(s);
	while (nr_schemes-- > 0)
		damon_add_scheme(ctx, *schemes++);
}

/**
 * damos_new_filter() - Allocate a filter.
 * @type:	What it looks at; set the matching union member afterwards.
 * @matching:	Whether it is about memory with the property or without.
 * @allow:	Whether it allows or rejects that memory.
 *
 * Return: the filter, or NULL if out of memory.
 */
struct damos_filter *damos_new_filter(enum damos_filter_type type,
				      bool matching, bool allow)
{
	struct damos_filter *f = kmalloc(sizeof(*f), GFP_KERNEL);

	if (f) {
		*f = (struct damos_filter) {
			.type = type,
			.matching = matching,
			.allow = allow,
		};
		INIT_LIST_HEAD(&f->list);
	}
	return f;
}

/**
 * damos_add_filter() - Append a filter to a scheme.
 * @s:	The scheme.
 * @f:	The filter; it is looked at after those @s already has.
 */
void damos_add_filter(struct damos *s, struct damos_filter *f)
{
	list_add_tail(&f->list, &s->filters);
}

/**
 * damos_destroy_filter() - Unlink and free a filter.
 * @f:	The filter.
 */
void damos_destroy_filter(struct damos_filter *f)
{
	list_del(&f->list);
	kfree(f);
}

/**
 * damos_new_quota_goal() - Allocate a quota goal.
 * @metric:		What it measures.
 * @target_value:	The value to reach.
 *
 * Return: the goal, or NULL if out of memory.
 */
struct damos_quota_goal *
damos_new_quota_goal(enum damos_quota_goal_metric metric,
		     unsigned long target_value)
{
	struct damos_quota_goal *g = kmalloc(sizeof(*g), GFP_KERNEL);

	if (g) {
		*g = (struct damos_quota_goal) {
			.metric = metric,
			.target_value = target_value,
		};
		INIT_LIST_HEAD(&g->list);
	}
	return g;
}

/**
 * damos_add_quota_goal() - Append a goal to a quota.
 * @q:	The quota.
 * @g:	The goal.
 */
void damos_add_quota_goal(struct damos_quota *q, struct damos_quota_goal *g)
{
	list_add_tail(&g->list, &q->goals);
}

/**
 * damos_destroy_quota_goal() - Unlink and free a quota goal.
 * @g:	The goal.
 */
void damos_destroy_quota_goal(struct damos_quota_goal *g)
{
	list_del(&g->list);
	kfree(g);
}

/* === Committing === */

static bool damos_valid_wmarks(struct damos_watermarks *w)
{
	if (w->metric >= NR_DAMOS_WMARK_METRICS)
		return false;
	return w->metric == DAMOS_WMARK_NONE ||
		(w->high >= w->mid && w->mid >= w->low);
}

static bool damos_valid_filter(struct damos_filter *f)
{
	if (f->type >= NR_DAMOS_FILTER_TYPES)
		return false;
	return f->type != DAMOS_FILTER_TYPE_ADDR ||
		f->addr_range.start < f->addr_range.end;
}

static bool damos_valid_goal(struct damos_quota_goal *g)
{
	switch (g->metric) {
	case DAMOS_QUOTA_NODE_MEM_USED_BP:
	case DAMOS_QUOTA_NODE_MEM_FREE_BP:
		return damon_valid_nid(g->nid);
	default:
		return g->metric < NR_DAMOS_QUOTA_GOAL_METRICS;
	}
}

/**
 * damon_check_commit_schemes() - Check the schemes of a commit.
 * @src:	The context whose schemes are committed.
 *
 * Return: 0, or -EINVAL if a scheme has an unknown action, watermark
 * metric, goal metric or filter type, watermarks out of order, an empty
 * address filter, or a node that is not online with memory as the target
 * of a migration or of a per-node goal.
 */
int damon_check_commit_schemes(struct damon_ctx *src)
{
	struct damos_quota_goal *g;
	struct damos_filter *f;
	struct damos *s;

	damon_for_each_scheme(s, src) {
		if (s->action >= NR_DAMOS_ACTIONS ||
		    !damos_valid_wmarks(&s->wmarks))
			return -EINVAL;
		damos_for_each_quota_goal(g, &s->quota)
			if (!damos_valid_goal(g))
				return -EINVAL;
		if ((s->action == DAMOS_MIGRATE_HOT ||
		     s->action == DAMOS_MIGRATE_COLD) &&
		    !damon_valid_nid(s->target_nid))
			return -EINVAL;
		damos_for_each_filter(f, s)
			if (!damos_valid_filter(f))
				return -EINVAL;
	}
	return 0;
}

/*
 * Allocate @nr quota goals into @pool, for a commit to take from; nothing
 * if @nr is not positive.
 */
static int damos_alloc_goals(struct list_head *pool, long nr)
{
	struct damos_quota_goal *g;

	for (; nr > 0; nr--) {
		g = damos_new_quota_goal(DAMOS_QUOTA_USER_INPUT, 0);
		if (!g)
			return -ENOMEM;
		list_add_tail(&g->list, pool);
	}
	return 0;
}

/* Likewise for filters. */
static int damos_alloc_filters(struct list_head *pool, long nr)
{
	struct damos_filter *f;

	for (; nr > 0; nr--) {
		f = damos_new_filter(DAMOS_FILTER_TYPE_ANON, false, false);
		if (!f)
			return -ENOMEM;
		list_add_tail(&f->list, pool);
	}
	return 0;
}

static void damos_free_goals(struct list_head *pool)
{
	struct damos_quota_goal *g, *next;

	list_for_each_entry_safe(g, next, pool, list)
		damos_destroy_quota_goal(g);
}

static void damos_free_filters(struct list_head *pool)
{
	struct damos_filter *f, *next;

	list_for_each_entry_safe(f, next, pool, list)
		damos_destroy_filter(f);
}

/*
 * Give @dst the goals of @src, pairing them up by position and taking the
 * goals @dst lacks from @pool.  A goal that keeps its metric keeps what it
 * measured so far.
 */
static void damos_commit_goals(struct damos_quota *dst, struct damos_quota *src,
			       struct list_head *pool)
{
	struct damos_quota_goal *dst_g, *src_g, *next;
	struct list_head *pos = &dst->goals;

	damos_for_each_quota_goal(src_g, src) {
		if (list_is_last(pos, &dst->goals)) {
			dst_g = list_first_entry(pool, struct damos_quota_goal,
						 list);
			list_move_tail(&dst_g->list, &dst->goals);
			/* Seen as a new metric below: nothing measured. */
			dst_g->metric = NR_DAMOS_QUOTA_GOAL_METRICS;
		} else {
			dst_g = list_entry(pos->next, struct damos_quota_goal,
					   list);
		}
		pos = &dst_g->list;
		/* Another quantity: what was measured says nothing of it. */
		if (dst_g->metric != src_g->metric || dst_g->nid != src_g->nid) {
			dst_g->psi_total_seen = 0;
			dst_g->current_value = 0;
		}
		dst_g->metric = src_g->metric;
		dst_g->target_value = src_g->target_value;
		dst_g->nid = src_g->nid;
		if (src_g->metric == DAMOS_QUOTA_USER_INPUT)
			dst_g->current_value = src_g->current_value;
	}
	while (!list_is_last(pos, &dst->goals)) {
		next = list_entry(pos->next, struct damos_quota_goal, list);
		damos_destroy_quota_goal(next);
	}
}

/**
 * damos_commit_quota_goals() - Make a quota's goals those of another.
 * @dst:	The quota to change.
 * @src:	The quota whose goals to take; it is not changed.
 *
 * Goals pair up by position.  A goal that keeps its metric keeps what it
 * measured so far.
 *
 * Return: 0, or -EINVAL for a goal damon_commit_ctx() would refuse, or
 * -ENOMEM; on error @dst is unchanged.
 */
int damos_commit_quota_goals(struct damos_quota *dst, struct damos_quota *src)
{
	struct damos_quota_goal *g;
	LIST_HEAD(pool);
	int err;

	damos_for_each_quota_goal(g, src)
		if (!damos_valid_goal(g))
			return -EINVAL;
	err = damos_alloc_goals(&pool, (long)list_count_nodes(&src->goals) -
				(long)list_count_nodes(&dst->goals));
	if (!err)
		damos_commit_goals(dst, src, &pool);
	damos_free_goals(&pool);
	return err;
}

/* Give @dst the filters of @src, taking those it lacks from @pool. */
static void damos_commit_filters(struct damos *dst, struct damos *src,
				 struct list_head *pool)
{
	struct damos_filter *dst_f, *src_f, *next;
	struct list_head *pos = &dst->filters;
	struct list_head links;

	damos_for_each_filter(src_f, src) {
		if (list_is_last(pos, &dst->filters)) {
			dst_f = list_first_entry(pool, struct damos_filter, list);
			list_move_tail(&dst_f->list, &dst->filters);
		} else {
			dst_f = list_entry(pos->next, struct damos_filter, list);
		}
		pos = &dst_f->list;
		/* All a filter holds but its place in the list is the user's. */
		links = dst_f->list;
		*dst_f = *src_f;
		dst_f->list = links;
	}
	while (!list_is_last(pos, &dst->filters)) {
		next = list_entry(pos->next, struct damos_filter, list);
		damos_destroy_filter(next);
	}
}

/* Samples between two applications of @s. */
static unsigned long damos_apply_interval_sis(struct damon_ctx *ctx,
					      struct damos *s)
{
	unsigned long interval = s->apply_interval_us ?:
		ctx->attrs.aggr_interval;

	return max(interval / max(ctx->attrs.sample_interval, 1UL), 1UL);
}

/* Set when @s is applied next: one apply interval from now. */
static void damos_set_next_apply(struct damon_ctx *ctx, struct damos *s)
{
	s->apply_due_sis = damon_due_sis(ctx, damos_apply_interval_sis(ctx, s));
}

/*
 * Give @dst what @src describes, keeping its statistics and what its quota
 * and watermarks measured; goals and filters it lacks come from @prep.
 */
static void damos_commit(struct damon_ctx *ctx, struct damos *dst,
			 struct damos *src, struct damos_commit_prep *prep)
{
	struct damos_quota *q = &dst->quota;

	dst->pattern = src->pattern;
	dst->action = src->action;
	if (dst->apply_interval_us != src->apply_interval_us) {
		dst->apply_interval_us = src->apply_interval_us;
		damos_set_next_apply(ctx, dst);
	}
	damos_set_quota_knobs(q, &src->quota);
	damos_commit_goals(q, &src->quota, &prep->goals);
	/* A scheme keeps its activation unless what it watches changes. */
	if (dst->wmarks.metric != src->wmarks.metric)
		dst->wmarks.activated =
			src->wmarks.metric == DAMOS_WMARK_NONE;
	damos_set_wmarks_knobs(&dst->wmarks, &src->wmarks);
	dst->target_nid = src->target_nid;
	damos_commit_filters(dst, src, &prep->filters);
}

/**
 * damos_commit_prepare() - Allocate what committing schemes needs.
 * @dst:	The context whose schemes will change.
 * @src:	The context whose schemes will be taken.
 * @prep:	Where to keep the allocations.
 *
 * The schemes, goals and filters @src has beyond those @dst can reuse, so
 * that damos_commit_prepared() cannot fail.
 *
 * Return: 0, or -ENOMEM, and then @prep holds nothing.
 */
int damos_commit_prepare(struct damon_ctx *dst, struct damon_ctx *src,
			 struct damos_commit_prep *prep)
{
	struct list_head *pos = &dst->schemes;
	struct damos *src_s, *dst_s, *s;
	long nr_goals = 0, nr_filters = 0;
	struct damos_quota no_quota = {};
	int err = -ENOMEM;

	INIT_LIST_HEAD(&prep->schemes);
	INIT_LIST_HEAD(&prep->goals);
	INIT_LIST_HEAD(&prep->filters);
	damon_for_each_scheme(src_s, src) {
		nr_goals += list_count_nodes(&src_s->quota.goals);
		nr_filters += list_count_nodes(&src_s->filters);
		if (list_is_last(pos, &dst->schemes)) {
			s = damon_new_scheme(&src_s->pattern, src_s->action,
					     src_s->apply_interval_us,
					     &no_quota, &src_s->wmarks,
					     src_s->target_nid);
			if (!s)
				goto fail;
			list_add_tail(&s->list, &prep->schemes);
			continue;
		}
		dst_s = list_entry(pos->next, struct damos, list);
		pos = &dst_s->list;
		/* What a scheme has beyond @src's count it gives back. */
		nr_goals -= min(list_count_nodes(&dst_s->quota.goals),
				list_count_nodes(&src_s->quota.goals));
		nr_filters -= min(list_count_nodes(&dst_s->filters),
				  list_count_nodes(&src_s->filters));
	}
	err = damos_alloc_goals(&prep->goals, nr_goals);
	if (!err)
		err = damos_alloc_filters(&prep->filters, nr_filters);
	if (!err)
		return 0;
fail:
	damos_commit_prep_free(prep);
	return err;
}

/**
 * damos_commit_prep_free() - Free what a commit did not use.
 * @prep:	What damos_commit_prepare() allocated.
 */
void damos_commit_prep_free(struct damos_commit_prep *prep)
{
	struct damos *s, *next;

	list_for_each_entry_safe(s, next, &prep->schemes, list)
		damon_destroy_scheme(s);
	damos_free_goals(&prep->goals);
	damos_free_filters(&prep->filters);
}

/**
 * damos_commit_prepared() - Make a context's schemes those of another.
 * @dst:	The context to change; call from its kdamond if it runs.
 * @src:	The context whose schemes to take, checked with
 *		damon_check_commit_schemes(); it is not changed.
 * @prep:	What damos_commit_prepare() allocated for the two.
 *
 * Schemes pair up by position and keep their statistics.
 */
void damos_commit_prepared(struct damon_ctx *dst, struct damon_ctx *src,
			   struct damos_commit_prep *prep)
{
	struct damos *dst_s, *src_s, *next;
	struct list_head *pos = &dst->schemes;

	damon_for_each_scheme(src_s, src) {
		if (list_is_last(pos, &dst->schemes)) {
			dst_s = list_first_entry(&prep->schemes, struct damos,
						 list);
			list_move_tail(&dst_s->list, &dst->schemes);
			damos_set_next_apply(dst, dst_s);
		} else {
			dst_s = list_entry(pos->next, struct damos, list);
		}
		pos = &dst_s->list;
		damos_commit(dst, dst_s, src_s, prep);
	}
	while (!list_is_last(pos, &dst->schemes)) {
		next = list_entry(pos->next, struct damos, list);
		damon_destroy_scheme(next);
	}
}

/**
 * damon_commit_schemes() - Make a context's schemes those of another.
 * @dst:	The context to change.
 * @src:	The context whose schemes to take, checked with
 *		damon_check_commit_schemes(); it is not changed.
 *
 * Context: @dst is not running, or its kdamond calls this.
 *
 * Return: 0, or -ENOMEM, and then @dst is unchanged.
 */
int damon_commit_schemes(struct damon_ctx *dst, struct damon_ctx *src)
{
	struct damos_commit_prep prep;
	int err;

	damon_assert_owned(dst);
	err = damos_commit_prepare(dst, src, &prep);
	if (err)
		return err;
	damos_commit_prepared(dst, src, &prep);
	damos_commit_prep_free(&prep);
	return 0;
}

/* === Watermarks === */

static unsigned long damos_wmark_metric_value(enum damos_wmark_metric metric)
{
	switch (metric) {
	case DAMOS_WMARK_FREE_MEM_RATE:
		return global_zone_page_state(NR_FREE_PAGES) * 1000 /
			max(totalram_pages(), 1UL);
	default:
		return 0;
	}
}

/*
 * Update whether @s is active.  Return 0 if it is, or else how long to
 * wait before looking again.
 */
static unsigned long damos_wmarks_wait_us(struct damos *s)
{
	struct damos_watermarks *w = &s->wmarks;
	unsigned long value;

	if (w->metric == DAMOS_WMARK_NONE) {
		w->activated = true;
		return 0;
	}
	value = damos_wmark_metric_value(w->metric);
	/* Between @low and @high an inactive scheme waits for @mid. */
	if (value > w->high || value < w->low ||
	    (!w->activated && value >= w->mid)) {
		if (w->activated)
			pr_debug("scheme deactivated at %lu\n", value);
		w->activated = false;
		return max(w->interval, 1UL);
	}
	w->activated = true;
	return 0;
}

/**
 * kdamond_wmarks_wait_us() - Tell whether a context is deactivated.
 * @ctx:	The context, of the calling kdamond.
 *
 * A context with schemes that are all inactive has nothing to monitor for.
 *
 * Return: 0 if some scheme is active or there is none; else how long the
 * kdamond should sleep before looking again, in microseconds.
 */
unsigned long kdamond_wmarks_wait_us(struct damon_ctx *ctx)
{
	unsigned long wait, min_wait = ULONG_MAX;
	struct damos *s;
	bool active = list_empty(&ctx->schemes);

	damon_for_each_scheme(s, ctx) {
		wait = damos_wmarks_wait_us(s);
		if (!wait)
			active = true;
		min_wait = min(min_wait, wait);
	}
	return active ? 0 : min_wait;
}

/* === Quotas === */

/* Bytes per millisecond a time quota assumes before it measured any. */
#define DAMOS_GUESSED_THROUGHPUT	(256UL << 20)
/* Size quota a goal-tuned quota starts from, when no size quota is set. */
#define DAMOS_GOAL_START_SZ		SZ_1M
/*
 * The goal-tuned quota, in basis points of bytes, never goes below a region:
 * below, no region would pass, and growing back would take many windows.
 */
#define DAMOS_GOAL_FLOOR_BP		(10000UL * DAMON_MIN_REGION)

/*
 * Free (@free) or used memory of node @nid in basis points of its memory.
 * The node was valid at commit, but memory hotplug may have emptied it
 * since: an empty node has nothing used and nothing free.
 */
static unsigned long damos_node_mem_bp(int nid, bool free)
{
	struct sysinfo i;
	unsigned long part;

	if (!damon_valid_nid(nid))
		return 0;
#ifdef CONFIG_NUMA
	si_meminfo_node(&i, nid);
#else
	si_meminfo(&i);		/* node 0 is all there is */
#endif
	if (!i.totalram)
		return 0;
	part = free ? i.freeram : i.totalram - min(i.freeram, i.totalram);
	return damon_mul_div(part, 10000, i.totalram);
}

static unsigned long damos_goal_current(struct damos_quota_goal *g)
{
	bool free;

	switch (g->metric) {
#ifdef CONFIG_PSI
	case DAMOS_QUOTA_SOME_MEM_PSI_US: {
		u64 now = READ_ONCE(psi_system.total[PSI_AVGS][PSI_MEM_SOME]);

		/* The first reading has no window to measure over. */
		g->current_value = g->psi_total_seen ?
			div_u64(now - g->psi_total_seen, NSEC_PER_USEC) : 0;
		g->psi_total_seen = now;
		break;
	}
#endif
	case DAMOS_QUOTA_NODE_MEM_USED_BP:
	case DAMOS_QUOTA_NODE_MEM_FREE_BP:
		free = g->metric == DAMOS_QUOTA_NODE_MEM_FREE_BP;
		g->current_value = damos_node_mem_bp(g->nid, free);
		break;
	default:
		break;
	}
	return g->current_value;
}

/*
 * How far the goals are reached, in basis points: 10000 when the goal the
 * furthest past its target is just on it.
 */
static unsigned long damos_goals_score(struct damos_quota *q)
{
	unsigned long score = 0, cur, target;
	struct damos_quota_goal *g;

	damos_for_each_quota_goal(g, q) {
		cur = damos_goal_current(g);
		target = max(g->target_value, 1UL);
		score = max(score, mult_frac(min(cur, ULONG_MAX / 10000),
					     10000, target));
	}
	return score;
}

/*
 * One step of the feedback loop: grow the quota in proportion to how far
 * the goals are from their targets while under them, shrink it likewise
 * while over, down to the floor at twice the target.
 */
static unsigned long damos_feedback_next(unsigned long last,
					 unsigned long score)
{
	unsigned long delta;

	if (score < 10000) {
		delta = mult_frac(last, 10000 - score, 10000);
		if (last > ULONG_MAX / 2)
			return last;
		return last + delta;
	}
	delta = mult_frac(last, min(score - 10000, 10000UL), 10000);
	return max(last - delta, DAMOS_GOAL_FLOOR_BP);
}

/* Work out the effective size quota of a new window. */
static void damos_set_effective_quota(struct damos_quota *q)
{
	unsigned long esz = ULONG_MAX, throughput, start, score;

	if (!list_empty(&q->goals)) {
		start = min(q->sz ?: DAMOS_GOAL_START_SZ, ULONG_MAX / 10000);
		/* Measured even in the first window, to start the PSI deltas. */
		score = damos_goals_score(q);
		q->tuned_esz_bp = q->tuned_esz_bp ?
			damos_feedback_next(q->tuned_esz_bp, score) :
			start * 10000;
		/* Grown past @sz, it would take long to come back under. */
		if (q->sz)
			q->tuned_esz_bp = min(q->tuned_esz_bp, start * 10000);
		esz = q->tuned_esz_bp / 10000;
	}
	if (q->ms) {
		/* Bytes per millisecond; the product overflows after hours. */
		throughput = q->spent_ns ? min_t(u64, ULONG_MAX,
				damon_mul_div(q->spent_sz, NSEC_PER_MSEC,
					      q->spent_ns)) :
			DAMOS_GUESSED_THROUGHPUT;
		esz = min(esz, throughput > ULONG_MAX / q->ms ? ULONG_MAX :
			  throughput * q->ms);
	}
	if (q->sz)
		esz = min(esz, q->sz);
	/*
	 * Regions are charged in whole DAMON_MIN_REGION units: a quota below
	 * one would never let any through, and the scheme would stall for
	 * good.  Also, 0 would mean no limit.
	 */
	q->esz = max(esz, DAMON_MIN_REGION);
}

/* Length of a quota window in jiffies; one too long to count never ends. */
static unsigned long damos_quota_window_jiffies(struct damos_quota *q)
{
	/* msecs_to_jiffies() takes an unsigned int: don't let it truncate. */
	if (q->reset_interval >= UINT_MAX)
		return MAX_JIFFY_OFFSET;
	return msecs_to_jiffies(q->reset_interval);
}

static bool damos_has_quota(struct damos_quota *q)
{
	return q->ms || q->sz || !list_empty(&q->goals);
}

static bool damos_pattern_match(struct damon_region *r, struct damos *s)
{
	struct damos_access_pattern *p = &s->pattern;
	unsigned long sz = damon_sz_region(r);
	unsigned int nr_accesses = r->nr_accesses_bp / 10000;

	return sz >= p->min_sz_region && sz <= p->max_sz_region &&
		nr_accesses >= p->min_nr_accesses &&
		nr_accesses <= p->max_nr_accesses &&
		r->age >= p->min_age_region && r->age <= p->max_age_region;
}

static unsigned int damos_score(struct damon_ctx *ctx, struct damon_target *t,
				struct damon_region *r, struct damos *s)
{
	int score = ctx->ops.get_scheme_score(ctx, t, r, s);

	return clamp(score, 0, DAMOS_MAX_SCORE);
}

/*
 * Start a new window if the last one is over.  Return whether one started.
 */
static bool damos_adjust_quota(struct damon_ctx *ctx, struct damos *s)
{
	struct damos_quota *q = &s->quota;
	bool new_window = false;

	if (!damos_has_quota(q)) {
		q->esz = 0;
		return false;
	}
	if (!q->window_start || time_after_eq(jiffies, q->window_start +
			damos_quota_window_jiffies(q))) {
		if (q->window_start && q->esz && q->window_sz >= q->esz)
			s->stat.qt_exceeds++;
		q->window_start = jiffies;
		q->window_sz = 0;
		damos_set_effective_quota(q);
		new_window = true;
	}
	return new_window;
}

/* === Applying === */

/*
 * Whether @r is in the address range of @f.  A region that straddles an
 * edge of the range is split there first, and @r is left as the part
 * below the edge; the kdamond comes to the rest next.
 */
static bool damos_filter_addr_has(struct damon_target *t,
				  struct damon_region *r,
				  struct damos_filter *f)
{
	unsigned long start = ALIGN_DOWN(f->addr_range.start,
					 DAMON_MIN_REGION);
	unsigned long end = f->addr_range.end;

	/* Up to the top of the address space stays there, not at 0. */
	if (end <= ALIGN_DOWN(ULONG_MAX, DAMON_MIN_REGION))
		end = ALIGN(end, DAMON_MIN_REGION);

	if (r->ar.end <= start || r->ar.start >= end)
		return false;
	if (r->ar.start < start) {
		damon_split_region_at(t, r, start - r->ar.start);
		/* Out of memory: judge the whole region as out of range. */
		return false;
	}
	if (r->ar.end > end)
		damon_split_region_at(t, r, end - r->ar.start);
	return true;
}

/*
 * Whether the core's filters (addr, target) reject @r.  The first filter
 * that is about @r decides; the operations set's filters are its own.
 */
static bool damos_core_filter_out(struct damon_target *t,
				  unsigned int t_idx, struct damon_region *r,
				  struct damos *s)
{
	struct damos_filter *f;
	bool has;

	damos_for_each_filter(f, s) {
		switch (f->type) {
		case DAMOS_FILTER_TYPE_ADDR:
			has = damos_filter_addr_has(t, r, f);
			break;
		case DAMOS_FILTER_TYPE_TARGET:
			has = t_idx == f->target_idx;
			break;
		default:
			continue;
		}
		if (has == f->matching)
			return !f->allow;
	}
	return false;
}

/*
 * Where a scheme's pass is: which scheme, target, and pending walk, and
 * where it resumes: the regions before target @resume_idx, and those of it
 * below @resume_addr, are skipped; -1 for none.
 */
struct damos_pass {
	struct damos *s;
	unsigned int s_idx;
	struct damon_target *t;
	unsigned int t_idx;
	struct damos_walk_control *walk;
	int resume_idx;
	unsigned long resume_addr;
};

static bool damos_pass_skips(struct damos_pass *pass, unsigned int t_idx,
			     struct damon_region *r)
{
	if (pass->resume_idx < 0 || (int)t_idx > pass->resume_idx)
		return false;
	return (int)t_idx < pass->resume_idx ||
		r->ar.end <= pass->resume_addr;
}

/*
 * Find the lowest score that still fits the quota among the regions the
 * pass looks at: regions of higher scores go first.
 */
static void damos_set_min_score(struct damon_ctx *ctx, struct damos_pass *pass)
{
	struct damos *s = pass->s;
	struct damos_quota *q = &s->quota;
	unsigned long cumulated = 0;
	unsigned int t_idx = 0;
	struct damon_target *t;
	struct damon_region *r;
	int score;

	q->pass_min_score = 0;
	if (!q->esz || !ctx->ops.get_scheme_score || q->window_sz >= q->esz)
		return;
	memset(q->score_sz, 0, sizeof(q->score_sz));
	damon_for_each_target(t, ctx) {
		damon_for_each_region(r, t) {
			if (damos_pass_skips(pass, t_idx, r) ||
			    !damos_pattern_match(r, s))
				continue;
			score = damos_score(ctx, t, r, s);
			/* Saturated: fvaddr regions can be huge. */
			q->score_sz[score] = size_add(q->score_sz[score],
						      damon_sz_region(r));
		}
		t_idx++;
	}
	for (score = DAMOS_MAX_SCORE; score > 0; score--) {
		cumulated = size_add(cumulated, q->score_sz[score]);
		if (cumulated >= q->esz - q->window_sz)
			break;
	}
	q->pass_min_score = score;
}

static void damos_try_region(struct damon_ctx *ctx, struct damos_pass *pass,
			     struct damon_region *r)
{
	struct damos *s = pass->s;
	struct damon_target *t = pass->t;
	struct damos_walk_control *walk = pass->walk;
	struct damos_quota *q = &s->quota;
	unsigned long sz, applied = 0, passed = 0;
	ktime_t begin;

	if (!damos_pattern_match(r, s))
		return;
	if (damos_core_filter_out(t, pass->t_idx, r, s))
		return;
	if (q->esz) {
		if (q->window_sz >= q->esz)
			return;
		if (ctx->ops.get_scheme_score &&
		    damos_score(ctx, t, r, s) < q->pass_min_score)
			return;
		/* Charge no more than is left: split off what does not fit. */
		sz = ALIGN_DOWN(q->esz - q->window_sz, DAMON_MIN_REGION);
		if (!sz) {
			/* Out of quota here: the next window starts at @r. */
			q->window_sz = q->esz;
			q->resume_target = t;
			q->resume_addr = r->ar.start;
			return;
		}
		if (damon_sz_region(r) > sz &&
		    !damon_split_region_at(t, r, sz))
			return;
	}

	sz = damon_sz_region(r);
	trace_damos_before_apply(0, pass->s_idx, pass->t_idx, r,
				 damon_nr_regions(t));
	begin = ktime_get();
	if (ctx->ops.apply_scheme)
		applied = ctx->ops.apply_scheme(ctx, t, r, s, &passed);
	q->spent_ns += ktime_to_ns(ktime_sub(ktime_get(), begin));
	q->spent_sz += sz;
	q->window_sz += sz;
	if (q->esz && q->window_sz >= q->esz) {
		/* The next window starts where this one ran out. */
		q->resume_target = t;
		q->resume_addr = r->ar.end;
	}

	s->stat.nr_tried++;
	s->stat.sz_tried += sz;
	if (applied) {
		s->stat.nr_applied++;
		s->stat.sz_applied += applied;
	}
	s->stat.sz_ops_filter_passed += passed;
	/*
	 * Tried, the region is dealt with even if nothing came of it (free
	 * memory has nothing to page out): age it anew, or the same oldest
	 * regions would take the quota of every window.
	 */
	if (s->action != DAMOS_STAT)
		r->age = 0;
	if (walk)
		walk->walk_fn(walk->data, ctx, t, r, s, passed);
}

/* Split the region of @t that straddles @addr, if any, at @addr. */
static void damos_split_at(struct damon_target *t, unsigned long addr)
{
	struct damon_region *r;

	damon_for_each_region(r, t) {
		if (r->ar.start < addr && addr < r->ar.end) {
			damon_split_region_at(t, r, addr - r->ar.start);
			return;
		}
	}
}

/* One pass of a scheme over the regions of @ctx. */
static void damos_apply_scheme(struct damon_ctx *ctx, struct damos_pass *pass)
{
	struct damos_quota *q = &pass->s->quota;
	struct damon_region *r;

	/*
	 * A new window starts where the last one ran out, for fairness;
	 * regions merged since may straddle that point.
	 */
	pass->resume_idx = -1;
	if (damos_adjust_quota(ctx, pass->s)) {
		pass->t_idx = 0;
		damon_for_each_target(pass->t, ctx) {
			if (pass->t == q->resume_target) {
				pass->resume_idx = pass->t_idx;
				pass->resume_addr = q->resume_addr;
				damos_split_at(pass->t, q->resume_addr);
			}
			pass->t_idx++;
		}
		q->resume_target = NULL;
	}
	damos_set_min_score(ctx, pass);

	pass->t_idx = 0;
	damon_for_each_target(pass->t, ctx) {
		/*
		 * Not the _safe iterator: trying may split @r, and the part
		 * split off, linked right after it, is tried next.
		 */
		damon_for_each_region(r, pass->t) {
			if (!damos_pass_skips(pass, pass->t_idx, r))
				damos_try_region(ctx, pass, r);
		}
		pass->t_idx++;
	}
}

/* === damos_walk() === */

/* Take the pending walk, if any, off @ctx. */
static struct damos_walk_control *damos_walk_take(struct damon_ctx *ctx)
{
	struct damos_walk_control *control;

	spin_lock(&ctx->call_controls_lock);
	control = ctx->walk_control;
	WRITE_ONCE(ctx->walk_control, NULL);
	spin_unlock(&ctx->call_controls_lock);
	return control;
}

/* End the pending walk, if any; the kdamond's. */
static void damos_walk_finish(struct damon_ctx *ctx, bool canceled)
{
	struct damos_walk_control *control = damos_walk_take(ctx);
	struct damos *s;

	if (!control)
		return;
	damon_for_each_scheme(s, ctx)
		s->walk_done = false;
	control->canceled = canceled;
	complete(&control->completion);
}

/**
 * damos_walk_abandon() - Cancel the walk of a kdamond that died.
 * @ctx:	The context, whose kdamond died in its loop.
 *
 * Unlike damos_walk_cancel(), touches nothing but the walk: the schemes
 * may be half changed.  kdamond_init_schemes() resets them on a restart.
 */
void damos_walk_abandon(struct damon_ctx *ctx)
{
	struct damos_walk_control *control = damos_walk_take(ctx);

	if (!control)
		return;
	control->canceled = true;
	complete(&control->completion);
}

/**
 * damos_walk_cancel() - Cancel the pending damos_walk() of a context.
 * @ctx:	The context, of the calling kdamond.
 */
void damos_walk_cancel(struct damon_ctx *ctx)
{
	damos_walk_finish(ctx, true);
}

/**
 * damos_walk_aborted() - Tell whether the caller of the pending walk left.
 * @ctx:	The context, of the calling kdamond.
 *
 * Only the kdamond ends a walk while it lives, so the control it reads
 * stays valid.
 *
 * Return: true if there is a walk and its caller was killed.
 */
bool damos_walk_aborted(struct damon_ctx *ctx)
{
	struct damos_walk_control *control;

	/* Paired with damos_walk(): the control is set up before it shows. */
	control = smp_load_acquire(&ctx->walk_control);
	return control && READ_ONCE(control->abort);
}

/**
 * kdamond_init_schemes() - Prepare the schemes of a starting kdamond.
 * @ctx:	The context, of the calling kdamond.
 */
void kdamond_init_schemes(struct damon_ctx *ctx)
{
	struct damos *s;

	damon_for_each_scheme(s, ctx) {
		s->apply_due_sis = damos_apply_interval_sis(ctx, s);
		s->walk_done = false;
	}
}

/**
 * kdamond_apply_schemes() - Apply the schemes whose apply interval came.
 * @ctx:	The context, of the calling kdamond.
 *
 * A pending damos_walk() sees the regions of each pass; it is done once
 * every scheme finished a pass it saw, and canceled if there is none.
 */
void kdamond_apply_schemes(struct damon_ctx *ctx)
{
	struct damos_pass pass = {};
	bool walked = true;
	struct damos *s;

	spin_lock(&ctx->call_controls_lock);
	pass.walk = ctx->walk_control;
	spin_unlock(&ctx->call_controls_lock);

	/* A walk whose caller was killed ends; the schemes apply as due. */
	if (pass.walk && damos_walk_aborted(ctx)) {
		damos_walk_cancel(ctx);
		pass.walk = NULL;
	}
	if (list_empty(&ctx->schemes)) {
		if (pass.walk)
			damos_walk_cancel(ctx);
		return;
	}
	damon_for_each_scheme(s, ctx) {
		/* An inactive scheme has nothing to show: don't wait for it. */
		if (pass.walk && !s->wmarks.activated)
			s->walk_done = true;
		if (ctx->passed_sample_intervals >= s->apply_due_sis) {
			damos_set_next_apply(ctx, s);
			pass.s = s;
			/* An inactive scheme's pass tries nothing. */
			if (s->wmarks.activated)
				damos_apply_scheme(ctx, &pass);
			if (pass.walk)
				s->walk_done = true;
		}
		walked = walked && s->walk_done;
		pass.s_idx++;
	}
	if (pass.walk && walked)
		damos_walk_finish(ctx, false);
}

/**
 * damos_walk() - Visit the regions each scheme of a context is tried on.
 * @ctx:	The context; it must be running.
 * @control:	The function to call on each region, and its data.
 *
 * Waits until every scheme of @ctx has gone once through its regions,
 * starting after the call, and has @control->walk_fn called, inside the
 * kdamond, for each region the scheme's action is tried on.  One walk at a
 * time per context.
 *
 * Schemes deactivated by their watermarks are not waited for.  A caller
 * that gets a fatal signal has the kdamond cancel the walk.
 *
 * Return: 0 once every scheme made its pass; -EINVAL if @ctx is not
 * running; -EBUSY if another walk is pending; -ECANCELED if the kdamond
 * stopped, was deactivated by watermarks or has no schemes; -EINTR if the
 * caller was killed.
 */
int damos_walk(struct damon_ctx *ctx, struct damos_walk_control *control)
{
	int err = 0;

	init_completion(&control->completion);
	control->canceled = false;
	control->abort = false;

	mutex_lock(&ctx->kdamond_lock);
	if (!ctx->kdamond) {
		mutex_unlock(&ctx->kdamond_lock);
		return -EINVAL;
	}
	spin_lock(&ctx->call_controls_lock);
	if (ctx->walk_control) {
		err = -EBUSY;
	} else {
		/* Paired with damos_walk_aborted(), which reads unlocked. */
		smp_store_release(&ctx->walk_control, control);
	}
	spin_unlock(&ctx->call_controls_lock);
	/* A kdamond deactivated by watermarks cancels it at once. */
	if (!err)
		wake_up_process(ctx->kdamond);
	mutex_unlock(&ctx->kdamond_lock);
	if (err)
		return err;

	if (damon_wait_kdamond_killable(ctx, &control->completion)) {
		/* The kdamond may be calling walk_fn: let it end the walk. */
		WRITE_ONCE(control->abort, true);
		damon_wake_kdamond(ctx);
		damon_wait_kdamond(ctx, &control->completion);
		return -EINTR;
	}
	return control->canceled ? -ECANCELED : 0;
}

#include "tests/schemes-kunit.h"
