// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON_RECLAIM: proactive reclamation of memory left cold.
 *
 * Monitors physical memory and pages out regions that were not accessed
 * for min_age, within a quota of time and size per window, while free
 * memory is between the watermarks.  Parameters under
 * /sys/module/damon_reclaim/parameters/; see
 * Documentation/admin-guide/mm/damon/reclaim.rst.
 */

#define pr_fmt(fmt) "damon-reclaim: " fmt

#include <linux/damon.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/sizes.h>

#include "modules-common.h"

#ifdef MODULE_PARAM_PREFIX
#undef MODULE_PARAM_PREFIX
#endif
#define MODULE_PARAM_PREFIX "damon_reclaim."

static int damon_reclaim_add_schemes(struct damon_ctx *ctx);
static void damon_reclaim_copy_stats(struct damon_ctx *ctx);

/* Monitoring attributes and the monitored region. */
static struct damon_attrs damon_reclaim_attrs = DAMON_MODULE_DEFAULT_ATTRS;
static struct damon_addr_range damon_reclaim_region;

static struct damon_module damon_reclaim = {
	.exclusive = true,
	.attrs = &damon_reclaim_attrs,
	.region = &damon_reclaim_region,
	.add_schemes = damon_reclaim_add_schemes,
	.copy_stats = damon_reclaim_copy_stats,
	.lock = __MUTEX_INITIALIZER(damon_reclaim.lock),
};

DAMON_MODULE_PARAM_ENABLED(damon_reclaim);
DAMON_MODULE_PARAM_COMMIT_INPUTS(damon_reclaim);
DAMON_MODULE_PARAM_KDAMOND_PID(damon_reclaim);
DAMON_MODULE_PARAMS_ATTRS(damon_reclaim);
DAMON_MODULE_PARAMS_REGION(damon_reclaim);

/* === The scheme === */

/*
 * Memory unaccessed for min_age us is paged out, oldest first.  Per window
 * of quota_reset_interval_ms the scheme spends at most quota_ms of kdamond
 * time and quota_sz bytes; 0 lifts a limit.
 */
static unsigned long min_age __read_mostly = 120 * USEC_PER_SEC;
static struct damos_quota damon_reclaim_quota = {
	.reset_interval = 1000,
	.ms = 10,
	.sz = SZ_128M,
	.weight_age = 1,
};

module_param(min_age, ulong, 0600);
DAMON_MODULE_PARAMS_QUOTA_TIME(damon_reclaim);
module_param_named(quota_sz, damon_reclaim_quota.sz, ulong, 0600);

/*
 * What the quota is tuned toward; 0 leaves a goal out.  stall_us: memory
 * pressure stall time per window, more of it throttles reclaim and less
 * lets it grow.  feedback: the user's word on how reclaim goes, in basis
 * points of the goal of 10000, below which the quota grows.
 */
static struct {
	unsigned long stall_us;
	unsigned long feedback;
} damon_reclaim_tune;
module_param_named(quota_mem_pressure_us, damon_reclaim_tune.stall_us,
		   ulong, 0600);
module_param_named(quota_autotune_feedback, damon_reclaim_tune.feedback,
		   ulong, 0600);

/* Reclaim only while free memory, in per mille, is within these. */
static struct damos_watermarks damon_reclaim_wmarks = {
	.metric = DAMOS_WMARK_FREE_MEM_RATE,
	.interval = 5000000,
	.high = 500,
	.mid = 400,
	.low = 200,
};

DAMON_MODULE_PARAMS_WMARKS(damon_reclaim);

/* Leave anonymous memory alone. */
static bool skip_anon __read_mostly;
module_param(skip_anon, bool, 0600);

/* What the scheme did, since the kdamond started. */
static unsigned long nr_reclaim_tried_regions;
DAMON_MODULE_PARAM_STAT(nr_reclaim_tried_regions, nr_reclaim_tried_regions);
static unsigned long bytes_reclaim_tried_regions;
DAMON_MODULE_PARAM_STAT(bytes_reclaim_tried_regions,
			bytes_reclaim_tried_regions);
static unsigned long nr_reclaimed_regions;
DAMON_MODULE_PARAM_STAT(nr_reclaimed_regions, nr_reclaimed_regions);
static unsigned long bytes_reclaimed_regions;
DAMON_MODULE_PARAM_STAT(bytes_reclaimed_regions, bytes_reclaimed_regions);
static unsigned long nr_quota_exceeds;
DAMON_MODULE_PARAM_STAT(nr_quota_exceeds, nr_quota_exceeds);

static int damon_reclaim_add_goal(struct damos *s,
				  enum damos_quota_goal_metric metric,
				  unsigned long target, unsigned long value)
{
	struct damos_quota_goal *g = damos_new_quota_goal(metric, target);

	if (!g)
		return -ENOMEM;
	g->current_value = value;
	damos_add_quota_goal(&s->quota, g);
	return 0;
}

static int damon_reclaim_add_schemes(struct damon_ctx *ctx)
{
	/* Checked already, but a divisor is never trusted. */
	unsigned long aggr = max(ctx->attrs.aggr_interval, 1UL);
	struct damos_access_pattern pattern = {
		.min_sz_region = PAGE_SIZE,
		.max_sz_region = ULONG_MAX,
		.min_nr_accesses = 0,
		.max_nr_accesses = 0,
		.min_age_region = min(min_age / aggr, (unsigned long)UINT_MAX),
		.max_age_region = UINT_MAX,
	};
	struct damos_filter *f;
	struct damos *s;
	int err;

	err = damon_module_check_wmarks(&damon_reclaim_wmarks);
	if (err)
		return err;
	s = damon_new_scheme(&pattern, DAMOS_PAGEOUT, 0, &damon_reclaim_quota,
			     &damon_reclaim_wmarks, NUMA_NO_NODE);
	if (!s)
		return -ENOMEM;
	/* The context owns it from here: destroying the context frees it. */
	damon_add_scheme(ctx, s);

	if (damon_reclaim_tune.stall_us) {
		err = damon_reclaim_add_goal(s, DAMOS_QUOTA_SOME_MEM_PSI_US,
					     damon_reclaim_tune.stall_us, 0);
		if (err)
			return err;
	}
	if (damon_reclaim_tune.feedback) {
		err = damon_reclaim_add_goal(s, DAMOS_QUOTA_USER_INPUT, 10000,
					     damon_reclaim_tune.feedback);
		if (err)
			return err;
	}
	if (skip_anon) {
		f = damos_new_filter(DAMOS_FILTER_TYPE_ANON, true, false);
		if (!f)
			return -ENOMEM;
		damos_add_filter(s, f);
	}
	return 0;
}

static void damon_reclaim_copy_stats(struct damon_ctx *ctx)
{
	struct damos *s;

	damon_for_each_scheme(s, ctx) {
		WRITE_ONCE(nr_reclaim_tried_regions, s->stat.nr_tried);
		WRITE_ONCE(bytes_reclaim_tried_regions, s->stat.sz_tried);
		WRITE_ONCE(nr_reclaimed_regions, s->stat.nr_applied);
		WRITE_ONCE(bytes_reclaimed_regions, s->stat.sz_applied);
		WRITE_ONCE(nr_quota_exceeds, s->stat.qt_exceeds);
	}
}

static int __init damon_reclaim_init(void)
{
	int err = damon_module_init(&damon_reclaim);

	if (err)
		pr_err("not started: %d\n", err);
	return 0;
}
module_init(damon_reclaim_init);
