// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON_LRU_SORT: sort the LRU lists by what DAMON sees.
 *
 * Monitors physical memory and moves pages of regions found hot to the
 * head of their LRU list (lru_prio) and pages of regions left cold to its
 * tail (lru_deprio), so that reclaim, when it comes, finds the right pages
 * first.  Each within a time quota per window, while free memory is
 * between the watermarks.  Parameters under
 * /sys/module/damon_lru_sort/parameters/; see
 * Documentation/admin-guide/mm/damon/lru_sort.rst.
 */

#define pr_fmt(fmt) "damon-lru-sort: " fmt

#include <linux/damon.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>

#include "modules-common.h"

#ifdef MODULE_PARAM_PREFIX
#undef MODULE_PARAM_PREFIX
#endif
#define MODULE_PARAM_PREFIX "damon_lru_sort."

static int damon_lru_sort_add_schemes(struct damon_ctx *ctx);
static void damon_lru_sort_copy_stats(struct damon_ctx *ctx);

/* Monitoring attributes and the monitored region. */
static struct damon_attrs damon_lru_sort_attrs = DAMON_MODULE_DEFAULT_ATTRS;
static struct damon_addr_range damon_lru_sort_region;

static struct damon_module damon_lru_sort = {
	.exclusive = true,
	.attrs = &damon_lru_sort_attrs,
	.region = &damon_lru_sort_region,
	.add_schemes = damon_lru_sort_add_schemes,
	.copy_stats = damon_lru_sort_copy_stats,
	.lock = __MUTEX_INITIALIZER(damon_lru_sort.lock),
};

DAMON_MODULE_PARAM_ENABLED(damon_lru_sort);
DAMON_MODULE_PARAM_COMMIT_INPUTS(damon_lru_sort);
DAMON_MODULE_PARAM_KDAMOND_PID(damon_lru_sort);
DAMON_MODULE_PARAMS_ATTRS(damon_lru_sort);
DAMON_MODULE_PARAMS_REGION(damon_lru_sort);

/* === The schemes === */

/*
 * Where hot and cold begin.  hot_permil: access frequency, in per mille of
 * the highest possible, from which a region is hot (above 1000 none is).
 * cold_us: time without an access after which a region is cold.
 */
static struct {
	unsigned long hot_permil;
	unsigned long cold_us;
} damon_lru_sort_thres = {
	.hot_permil = 500,
	.cold_us = 120000000,
};
module_param_named(hot_thres_access_freq, damon_lru_sort_thres.hot_permil,
		   ulong, 0600);
module_param_named(cold_min_age, damon_lru_sort_thres.cold_us, ulong, 0600);

/*
 * Time (ms) each scheme may spend per window of reset_interval ms; 0 for
 * no limit.  The quota of the CPU this takes, not of the memory moved.
 */
static struct damos_quota damon_lru_sort_quota = {
	.ms = 10,
	.reset_interval = 1000,
};

DAMON_MODULE_PARAMS_QUOTA_TIME(damon_lru_sort);

/* Sort only while free memory, in per mille, is within these. */
static struct damos_watermarks damon_lru_sort_wmarks = {
	.metric = DAMOS_WMARK_FREE_MEM_RATE,
	.interval = 5000000,
	.high = 200,
	.mid = 150,
	.low = 50,
};

DAMON_MODULE_PARAMS_WMARKS(damon_lru_sort);

/* What the schemes did, since the kdamond started. */
static unsigned long nr_lru_prio_tried_regions;
DAMON_MODULE_PARAM_STAT(nr_lru_prio_tried_regions, nr_lru_prio_tried_regions);
static unsigned long bytes_lru_prio_tried_regions;
DAMON_MODULE_PARAM_STAT(bytes_lru_prio_tried_regions,
			bytes_lru_prio_tried_regions);
static unsigned long nr_lru_prioritized_regions;
DAMON_MODULE_PARAM_STAT(nr_lru_prioritized_regions,
			nr_lru_prioritized_regions);
static unsigned long bytes_lru_prioritized_regions;
DAMON_MODULE_PARAM_STAT(bytes_lru_prioritized_regions,
			bytes_lru_prioritized_regions);
static unsigned long nr_lru_prio_quota_exceeds;
DAMON_MODULE_PARAM_STAT(nr_lru_prio_quota_exceeds, nr_lru_prio_quota_exceeds);

static unsigned long nr_lru_deprio_tried_regions;
DAMON_MODULE_PARAM_STAT(nr_lru_deprio_tried_regions,
			nr_lru_deprio_tried_regions);
static unsigned long bytes_lru_deprio_tried_regions;
DAMON_MODULE_PARAM_STAT(bytes_lru_deprio_tried_regions,
			bytes_lru_deprio_tried_regions);
static unsigned long nr_lru_deprioritized_regions;
DAMON_MODULE_PARAM_STAT(nr_lru_deprioritized_regions,
			nr_lru_deprioritized_regions);
static unsigned long bytes_lru_deprioritized_regions;
DAMON_MODULE_PARAM_STAT(bytes_lru_deprioritized_regions,
			bytes_lru_deprioritized_regions);
static unsigned long nr_lru_deprio_quota_exceeds;
DAMON_MODULE_PARAM_STAT(nr_lru_deprio_quota_exceeds,
			nr_lru_deprio_quota_exceeds);

/*
 * The same counters under the names Linux 6.12 gave them, which scripts
 * written for it read.
 */
DAMON_MODULE_PARAM_STAT(nr_lru_sort_tried_hot_regions,
			nr_lru_prio_tried_regions);
DAMON_MODULE_PARAM_STAT(bytes_lru_sort_tried_hot_regions,
			bytes_lru_prio_tried_regions);
DAMON_MODULE_PARAM_STAT(nr_lru_sorted_hot_regions,
			nr_lru_prioritized_regions);
DAMON_MODULE_PARAM_STAT(bytes_lru_sorted_hot_regions,
			bytes_lru_prioritized_regions);
DAMON_MODULE_PARAM_STAT(nr_hot_quota_exceeds, nr_lru_prio_quota_exceeds);
DAMON_MODULE_PARAM_STAT(nr_lru_sort_tried_cold_regions,
			nr_lru_deprio_tried_regions);
DAMON_MODULE_PARAM_STAT(bytes_lru_sort_tried_cold_regions,
			bytes_lru_deprio_tried_regions);
DAMON_MODULE_PARAM_STAT(nr_lru_sorted_cold_regions,
			nr_lru_deprioritized_regions);
DAMON_MODULE_PARAM_STAT(bytes_lru_sorted_cold_regions,
			bytes_lru_deprioritized_regions);
DAMON_MODULE_PARAM_STAT(nr_cold_quota_exceeds, nr_lru_deprio_quota_exceeds);

/*
 * One scheme of the module, with the weights of its quota: which of the
 * regions it matches go first when they are more than the quota allows.
 */
static struct damos *
damon_lru_sort_new_scheme(struct damon_ctx *ctx,
			  struct damos_access_pattern *pattern,
			  enum damos_action action,
			  unsigned int weight_nr_accesses, unsigned int weight_age)
{
	struct damos *s = damon_new_scheme(pattern, action, 0,
					   &damon_lru_sort_quota,
					   &damon_lru_sort_wmarks,
					   NUMA_NO_NODE);

	if (!s)
		return NULL;
	s->quota.weight_sz = 0;
	s->quota.weight_nr_accesses = weight_nr_accesses;
	s->quota.weight_age = weight_age;
	/* The context owns it from here: destroying the context frees it. */
	damon_add_scheme(ctx, s);
	return s;
}

static int damon_lru_sort_add_schemes(struct damon_ctx *ctx)
{
	unsigned int max_nr = damon_max_nr_accesses(&ctx->attrs);
	/* Checked already, but a divisor is never trusted. */
	unsigned long aggr = max(ctx->attrs.aggr_interval, 1UL);
	/* Above 1000 per mille is above the maximum: no region is hot. */
	unsigned int hot_min = damon_lru_sort_thres.hot_permil > 1000 ? max_nr + 1 :
		mult_frac(max_nr, (unsigned int)damon_lru_sort_thres.hot_permil, 1000);
	struct damos_access_pattern hot = {
		.min_sz_region = PAGE_SIZE,
		.max_sz_region = ULONG_MAX,
		.min_nr_accesses = hot_min,
		.max_nr_accesses = UINT_MAX,
		.min_age_region = 0,
		.max_age_region = UINT_MAX,
	};
	struct damos_access_pattern cold = {
		.min_sz_region = PAGE_SIZE,
		.max_sz_region = ULONG_MAX,
		.min_nr_accesses = 0,
		.max_nr_accesses = 0,
		.min_age_region = min(damon_lru_sort_thres.cold_us / aggr,
				      (unsigned long)UINT_MAX),
		.max_age_region = UINT_MAX,
	};
	int err;

	err = damon_module_check_wmarks(&damon_lru_sort_wmarks);
	if (err)
		return err;
	/* The most frequently accessed first, and the oldest cold first. */
	if (!damon_lru_sort_new_scheme(ctx, &hot, DAMOS_LRU_PRIO, 1, 0) ||
	    !damon_lru_sort_new_scheme(ctx, &cold, DAMOS_LRU_DEPRIO, 0, 1))
		return -ENOMEM;
	return 0;
}

static void damon_lru_sort_copy_stats(struct damon_ctx *ctx)
{
	struct damos *s;

	damon_for_each_scheme(s, ctx) {
		if (s->action == DAMOS_LRU_PRIO) {
			WRITE_ONCE(nr_lru_prio_tried_regions, s->stat.nr_tried);
			WRITE_ONCE(bytes_lru_prio_tried_regions,
				   s->stat.sz_tried);
			WRITE_ONCE(nr_lru_prioritized_regions,
				   s->stat.nr_applied);
			WRITE_ONCE(bytes_lru_prioritized_regions,
				   s->stat.sz_applied);
			WRITE_ONCE(nr_lru_prio_quota_exceeds,
				   s->stat.qt_exceeds);
		} else {
			WRITE_ONCE(nr_lru_deprio_tried_regions,
				   s->stat.nr_tried);
			WRITE_ONCE(bytes_lru_deprio_tried_regions,
				   s->stat.sz_tried);
			WRITE_ONCE(nr_lru_deprioritized_regions,
				   s->stat.nr_applied);
			WRITE_ONCE(bytes_lru_deprioritized_regions,
				   s->stat.sz_applied);
			WRITE_ONCE(nr_lru_deprio_quota_exceeds,
				   s->stat.qt_exceeds);
		}
	}
}

static int __init damon_lru_sort_init(void)
{
	int err = damon_module_init(&damon_lru_sort);

	if (err)
		pr_err("not started: %d\n", err);
	return 0;
}
module_init(damon_lru_sort_init);
