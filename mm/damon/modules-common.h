/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the DAMON modules (DAMON_RECLAIM, DAMON_LRU_SORT, DAMON_STAT) share.
 *
 * Each module runs one context on the physical address space, built from
 * its module parameters: "enabled" starts and stops it, "commit_inputs"
 * hands changed parameters to the running kdamond, "kdamond_pid" tells
 * which thread runs it, and read-only statistics are copied out of the
 * kdamond as it goes.  The module describes its parameters and schemes in
 * a &struct damon_module; the plumbing is here, once.
 */

#ifndef _MM_DAMON_MODULES_COMMON_H
#define _MM_DAMON_MODULES_COMMON_H

#include <linux/damon.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>

/**
 * struct damon_module - A DAMON module and the context it runs.
 * @exclusive:		Start the kdamond exclusive: no other kdamond may run
 *			beside it, and it cannot start beside another.
 * @attrs:		Monitoring attributes, as the parameters set them.
 * @region:		The physical address range to monitor, [start, end),
 *			as the parameters set it: both 0 for the biggest System
 *			RAM resource.  NULL for the span of all System RAM.
 * @add_schemes:	Check the module's own parameters and add the schemes
 *			they describe to a context being built; NULL if the
 *			module has none.  Return 0 or a negative error.
 * @copy_stats:		Copy results out of the running context; called in
 *			its kdamond at every sampling interval.  NULL if the
 *			module publishes none.
 * @copy_stats_after_aggregation: Call @copy_stats at the end of every
 *			aggregation interval instead, with the counts of the
 *			whole aggregation (see &damon_call_control).
 * @lock:		Serializes starting, stopping and committing, and
 *			protects @ctx.
 * @ctx:		The context last started, or NULL.  Protected by
 *			@lock; it stays put while its kdamond runs, so
 *			@copy_stats may use it.
 * @initialized:	The module's initcall ran: kdamonds can be started.
 * @enable_at_init:	"enabled" as set before the initcall, on the kernel
 *			command line.
 * @stats_control:	The repeated damon_call() running @copy_stats.
 *
 * The parameters of the attributes, the region, the quota and the
 * watermarks live in variables named after the module, <name>_attrs,
 * <name>_region, <name>_quota and <name>_wmarks, that the macros below
 * declare the parameters of.
 */
struct damon_module {
	bool exclusive;
	struct damon_attrs *attrs;
	struct damon_addr_range *region;
	int (*add_schemes)(struct damon_ctx *ctx);
	void (*copy_stats)(struct damon_ctx *ctx);
	bool copy_stats_after_aggregation;

	struct mutex lock;	/* see the kernel-doc above */
	struct damon_ctx *ctx;
	bool initialized;
	bool enable_at_init;
	struct damon_call_control stats_control;
};

/* The modules' default attributes, a new context's; each may override some. */
#define DAMON_MODULE_DEFAULT_ATTRS					\
	{								\
		.sample_interval = DAMON_DEFAULT_SAMPLE_INTERVAL,	\
		.aggr_interval = DAMON_DEFAULT_AGGR_INTERVAL,		\
		.ops_update_interval = DAMON_DEFAULT_OPS_UPDATE_INTERVAL, \
		.min_nr_regions = DAMON_DEFAULT_MIN_NR_REGIONS,		\
		.max_nr_regions = DAMON_DEFAULT_MAX_NR_REGIONS,		\
	}

extern const struct kernel_param_ops damon_module_enabled_ops;
extern const struct kernel_param_ops damon_module_commit_inputs_ops;
extern const struct kernel_param_ops damon_module_kdamond_pid_ops;
extern const struct kernel_param_ops damon_module_stat_ops;

/*
 * The parameter groups.  Each macro declares parameters of the module it
 * is used in (with that file's MODULE_PARAM_PREFIX).  @mod is the name of
 * the module's &struct damon_module, and the prefix of its variables.
 */

/* "enabled": Y starts the kdamond, N stops it; reads N once it exited. */
#define DAMON_MODULE_PARAM_ENABLED(mod)					\
	module_param_cb(enabled, &damon_module_enabled_ops, &(mod), 0600)

/* "commit_inputs": Y applies the parameters to the running kdamond. */
#define DAMON_MODULE_PARAM_COMMIT_INPUTS(mod)				\
	module_param_cb(commit_inputs, &damon_module_commit_inputs_ops,	\
			&(mod), 0600)

/* "kdamond_pid": the pid of the kdamond, -1 while none runs. */
#define DAMON_MODULE_PARAM_KDAMOND_PID(mod)				\
	module_param_cb(kdamond_pid, &damon_module_kdamond_pid_ops,	\
			&(mod), 0400)

/* The monitoring attributes of <mod>_attrs, in microseconds and regions. */
#define DAMON_MODULE_PARAMS_ATTRS(mod)					\
	module_param_named(sample_interval, mod##_attrs.sample_interval,	\
			   ulong, 0600);				\
	module_param_named(aggr_interval, mod##_attrs.aggr_interval,	\
			   ulong, 0600);				\
	module_param_named(min_nr_regions, mod##_attrs.min_nr_regions,	\
			   ulong, 0600);				\
	module_param_named(max_nr_regions, mod##_attrs.max_nr_regions,	\
			   ulong, 0600)

/* The monitored range of <mod>_region; both 0 for the biggest RAM. */
#define DAMON_MODULE_PARAMS_REGION(mod)					\
	module_param_named(monitor_region_start, mod##_region.start,	\
			   ulong, 0600);				\
	module_param_named(monitor_region_end, mod##_region.end,	\
			   ulong, 0600)

/* The time quota of <mod>_quota, a &struct damos_quota, and its window. */
#define DAMON_MODULE_PARAMS_QUOTA_TIME(mod)				\
	module_param_named(quota_ms, mod##_quota.ms, ulong, 0600);	\
	module_param_named(quota_reset_interval_ms,			\
			   mod##_quota.reset_interval, ulong, 0600)

/* <mod>_wmarks, a &struct damos_watermarks on free memory, per mille. */
#define DAMON_MODULE_PARAMS_WMARKS(mod)					\
	module_param_named(wmarks_interval, mod##_wmarks.interval, ulong,	\
			   0600);					\
	module_param_named(wmarks_high, mod##_wmarks.high, ulong, 0600);	\
	module_param_named(wmarks_mid, mod##_wmarks.mid, ulong, 0600);	\
	module_param_named(wmarks_low, mod##_wmarks.low, ulong, 0600)

/* A read-only statistic: an unsigned long the kdamond WRITE_ONCE()s. */
#define DAMON_MODULE_PARAM_STAT(name, var)				\
	module_param_cb(name, &damon_module_stat_ops, &(var), 0400)

int damon_module_init(struct damon_module *m);
int damon_module_check_wmarks(const struct damos_watermarks *wmarks);

#endif	/* _MM_DAMON_MODULES_COMMON_H */
