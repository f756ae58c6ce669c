// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON_STAT: cheap access statistics of all of physical memory.
 *
 * Monitors the span of System RAM with intervals that tune themselves to
 * the pace of the system, and publishes after every aggregation interval
 * the estimated memory bandwidth and the idle time of memory at each
 * percentile.  It only watches: it starts beside other kdamonds, not
 * exclusive.  Parameters under /sys/module/damon_stat/parameters/; see
 * Documentation/admin-guide/mm/damon/stat.rst.
 */

#define pr_fmt(fmt) "damon-stat: " fmt

#include <linux/damon.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/spinlock.h>
#include <linux/time64.h>

#include "modules-common.h"

#ifdef MODULE_PARAM_PREFIX
#undef MODULE_PARAM_PREFIX
#endif
#define MODULE_PARAM_PREFIX "damon_stat."

/* Percentiles 0 to 100 of memory_idle_ms_percentiles. */
#define DAMON_STAT_NR_PERCENTILES	101

static void damon_stat_update(struct damon_ctx *ctx);

/*
 * Intervals that start at 5 ms and 100 ms and are tuned so that an
 * aggregation sees 4% of the access events it could, averaged over 3
 * aggregations, with sampling between 5 ms and 10 s: busy memory is then
 * seen at a fine grain, and an idle system costs little.
 */
static struct damon_attrs damon_stat_attrs = {
	.intervals_goal = {
		.access_bp = 400,
		.aggrs = 3,
		.min_sample_us = 5 * USEC_PER_MSEC,
		.max_sample_us = 10 * USEC_PER_SEC,
	},
	.sample_interval = 5 * USEC_PER_MSEC,
	.aggr_interval = 100 * USEC_PER_MSEC,
	.ops_update_interval = 60 * USEC_PER_SEC,
	.min_nr_regions = 10,
	.max_nr_regions = 1000,
};

/* No region: all of physical memory. */
static struct damon_module damon_stat = {
	.attrs = &damon_stat_attrs,
	.copy_stats = damon_stat_update,
	.copy_stats_after_aggregation = true,
	.lock = __MUTEX_INITIALIZER(damon_stat.lock),
	.enable_at_init = IS_ENABLED(CONFIG_DAMON_STAT_ENABLED_DEFAULT),
};

DAMON_MODULE_PARAM_ENABLED(damon_stat);
/* Not in upstream's list, but tells which kdamond is ours, like the others. */
DAMON_MODULE_PARAM_KDAMOND_PID(damon_stat);

/*
 * Bytes per second the last aggregation saw accessed: each region's size
 * times the samples that found it accessed, over the aggregation interval.
 */
static unsigned long estimated_memory_bandwidth;
DAMON_MODULE_PARAM_STAT(estimated_memory_bandwidth,
			estimated_memory_bandwidth);

/* Protects damon_stat_idle_ms, which is published as a whole. */
static DEFINE_SPINLOCK(damon_stat_idle_lock);
/*
 * Idle time, in ms, of memory at each percentile by size, from the least
 * idle: the 50th is the idle time half of memory is at or below.
 */
static unsigned long damon_stat_idle_ms[DAMON_STAT_NR_PERCENTILES];

static int damon_stat_percentiles_get(char *buf, const struct kernel_param *kp)
{
	int i, len = 0;

	spin_lock(&damon_stat_idle_lock);
	for (i = 0; i < DAMON_STAT_NR_PERCENTILES; i++)
		len += scnprintf(buf + len, PAGE_SIZE - len, "%lu%c",
				 damon_stat_idle_ms[i],
				 i + 1 < DAMON_STAT_NR_PERCENTILES ? ',' : '\n');
	spin_unlock(&damon_stat_idle_lock);
	return len;
}

static int damon_stat_percentiles_set(const char *val,
				      const struct kernel_param *kp)
{
	return -EPERM;
}

static const struct kernel_param_ops damon_stat_percentiles_ops = {
	.set = damon_stat_percentiles_set,
	.get = damon_stat_percentiles_get,
};
module_param_cb(memory_idle_ms_percentiles, &damon_stat_percentiles_ops,
		NULL, 0400);

/* === Computing the statistics, in the kdamond === */

/* A region as the percentiles see it. */
struct damon_stat_region {
	unsigned long idle_ms;
	unsigned long sz;
};

static int damon_stat_cmp_idle(const void *a, const void *b)
{
	const struct damon_stat_region *ra = a, *rb = b;

	if (ra->idle_ms == rb->idle_ms)
		return 0;
	return ra->idle_ms < rb->idle_ms ? -1 : 1;
}

/* @per_aggr, an amount per aggregation of @aggr_us, per second. */
static unsigned long damon_stat_per_sec(unsigned long per_aggr,
					unsigned long aggr_us)
{
	unsigned long scaled;

	aggr_us = max(aggr_us, 1UL);
	if (!check_mul_overflow(per_aggr, USEC_PER_SEC, &scaled))
		return scaled / aggr_us;
	/* Too much to scale first: precision no longer matters. */
	per_aggr /= aggr_us;
	return per_aggr > ULONG_MAX / USEC_PER_SEC ? ULONG_MAX :
		per_aggr * USEC_PER_SEC;
}

/*
 * How long @r has been idle, in ms: its age in time if the aggregation
 * that just ended saw no access to it, else 0.
 */
static unsigned long damon_stat_idle_ms_of(struct damon_region *r,
					   unsigned long aggr_us)
{
	unsigned long us;

	if (r->nr_accesses)
		return 0;
	if (check_mul_overflow((unsigned long)r->age, aggr_us, &us))
		return ULONG_MAX / USEC_PER_MSEC;
	return us / USEC_PER_MSEC;
}

/*
 * The percentiles of @regions, sorted by idle time, into @idle_ms: for each
 * p, the idle time of the region holding the byte p% of @total bytes in.
 */
static void damon_stat_percentiles(struct damon_stat_region *regions,
				   unsigned int nr, unsigned long total,
				   unsigned long *idle_ms)
{
	unsigned long cum = regions[0].sz;
	unsigned int i = 0, p;

	for (p = 0; p < DAMON_STAT_NR_PERCENTILES; p++) {
		unsigned long threshold = mult_frac(total, p, 100);

		while (cum < threshold && i + 1 < nr)
			cum += regions[++i].sz;
		idle_ms[p] = regions[i].idle_ms;
	}
}

/*
 * Called in the kdamond at the end of every aggregation interval, with the
 * counts of the whole aggregation: publishes its results.
 */
static void damon_stat_update(struct damon_ctx *ctx)
{
	unsigned long aggr_us = ctx->attrs.aggr_interval;
	unsigned long sz, sz_accessed = 0, total = 0;
	struct damon_stat_region *regions;
	struct damon_target *t;
	struct damon_region *r;
	unsigned int nr = 0;

	damon_for_each_target(t, ctx)
		nr += damon_nr_regions(t);
	if (!nr)
		return;
	regions = kvmalloc_array(nr, sizeof(*regions), GFP_KERNEL);
	if (!regions)
		return;
	nr = 0;
	damon_for_each_target(t, ctx) {
		damon_for_each_region(r, t) {
			sz = damon_sz_region(r);
			regions[nr].sz = sz;
			regions[nr].idle_ms = damon_stat_idle_ms_of(r, aggr_us);
			nr++;
			/* Saturated: physical memory sizes never get close. */
			sz_accessed = size_add(sz_accessed,
					       size_mul(sz, r->nr_accesses));
			total = size_add(total, sz);
		}
	}
	sort(regions, nr, sizeof(*regions), damon_stat_cmp_idle, NULL);
	/* A reader sees all percentiles of one aggregation, or none. */
	spin_lock(&damon_stat_idle_lock);
	damon_stat_percentiles(regions, nr, total, damon_stat_idle_ms);
	spin_unlock(&damon_stat_idle_lock);
	kvfree(regions);
	WRITE_ONCE(estimated_memory_bandwidth,
		   damon_stat_per_sec(sz_accessed, aggr_us));
}

static int __init damon_stat_init(void)
{
	int err = damon_module_init(&damon_stat);

	if (err)
		pr_err("not started: %d\n", err);
	return 0;
}
module_init(damon_stat_init);
