// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON sample: proactive reclamation of one process.
 *
 * While damon_sample_prcl.enable is set, a kdamond monitors the process of
 * damon_sample_prcl.target_pid and pages out, as MADV_PAGEOUT would, the
 * memory of it that no sample found accessed for five seconds.  A DAMOS
 * pageout scheme does the work, so what the process keeps using stays
 * resident; a function that damon_call() repeats after every aggregation
 * interval logs, after those in which the scheme was applied, to how much
 * memory, and how much of the process is still resident.  Monitoring ends
 * when the process exits, and enable reads N from then on.
 */

#define pr_fmt(fmt) "damon_sample_prcl: " fmt

#include <linux/damon.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/numa.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>

#include "common.h"

#ifdef MODULE_PARAM_PREFIX
#undef MODULE_PARAM_PREFIX
#endif
#define MODULE_PARAM_PREFIX "damon_sample_prcl."

/* === Parameters === */

/* The process to reclaim memory of; read when reclamation is enabled. */
static int target_pid __read_mostly;
module_param(target_pid, int, 0600);

/* === Internals === */

/*
 * Memory not accessed for this many aggregation intervals is cold: five
 * seconds at the default 100 ms.
 */
#define DAMON_SAMPLE_PRCL_COLD_AGE		50
/*
 * The scheme is tried on at most this many bytes per quota window of
 * DAMON_SAMPLE_PRCL_QUOTA_RESET_MS, the coldest regions first, so that a
 * big idle process is reclaimed over a few windows rather than in one long
 * pass of the kdamond.  The quota counts whole regions tried, not pages
 * paged out: what is swapped out already, or cannot be, counts too.
 */
#define DAMON_SAMPLE_PRCL_QUOTA_SZ		(128UL << 20)
#define DAMON_SAMPLE_PRCL_QUOTA_RESET_MS	1000

/* The context, or NULL while reclamation is off; the switch's. */
static struct damon_ctx *ctx;

/*
 * Bytes the scheme was applied to as of the last report; the kdamond's
 * while it runs.
 */
static unsigned long reported_sz;

/* Bytes of the process of @t resident in memory; 0 once it has none. */
static unsigned long damon_sample_prcl_rss(struct damon_target *t)
{
	struct task_struct *task = get_pid_task(t->pid, PIDTYPE_PID);
	struct mm_struct *mm;
	unsigned long rss = 0;

	if (!task)
		return 0;
	mm = get_task_mm(task);
	put_task_struct(task);
	if (mm) {
		rss = get_mm_rss(mm) << PAGE_SHIFT;
		mmput(mm);
	}
	return rss;
}

/*
 * After an aggregation in which the scheme was applied, log to how much
 * memory, and how much of the process is left resident.  The scheme counts
 * whole regions: memory paged out already counts again each time its
 * region is found cold again.
 */
static int damon_sample_prcl_report(void *data)
{
	struct damon_ctx *c = data;
	unsigned long sz = 0, rss = 0;
	struct damon_target *t;
	struct damos *s;

	damon_for_each_scheme(s, c)
		sz += s->stat.sz_applied;
	if (sz == reported_sz)
		return 0;
	damon_for_each_target(t, c)
		rss += damon_sample_prcl_rss(t);
	pr_info("pageout applied to %lu bytes (%lu in all), %lu bytes resident\n",
		sz - reported_sz, sz, rss);
	reported_sz = sz;
	return 0;
}

/* Add to @c the scheme paging out what stayed cold long enough. */
static int damon_sample_prcl_add_scheme(struct damon_ctx *c)
{
	struct damos_access_pattern cold = {
		.min_sz_region = PAGE_SIZE,
		.max_sz_region = ULONG_MAX,
		.min_nr_accesses = 0,
		.max_nr_accesses = 0,
		.min_age_region = DAMON_SAMPLE_PRCL_COLD_AGE,
		.max_age_region = UINT_MAX,
	};
	struct damos_quota quota = {
		.sz = DAMON_SAMPLE_PRCL_QUOTA_SZ,
		.reset_interval = DAMON_SAMPLE_PRCL_QUOTA_RESET_MS,
	};
	struct damos_watermarks wmarks = { .metric = DAMOS_WMARK_NONE };
	struct damos *scheme;

	scheme = damon_new_scheme(&cold, DAMOS_PAGEOUT, 0, &quota, &wmarks,
				  NUMA_NO_NODE);
	if (!scheme)
		return -ENOMEM;
	damon_add_scheme(c, scheme);
	return 0;
}

static int damon_sample_prcl_start(void)
{
	int err;

	err = damon_sample_new_proc_ctx(target_pid, &ctx);
	if (err)
		return err;
	err = damon_sample_prcl_add_scheme(ctx);
	if (err)
		return err;

	reported_sz = 0;
	/* Not exclusive: other DAMON users may watch the same memory. */
	return damon_start(&ctx, 1, false);
}

/* === Enable switch === */

static struct damon_sample_switch damon_sample_prcl_switch = {
	.ctxs = &ctx,
	.nr_ctxs = 1,
	.start = damon_sample_prcl_start,
	.report = damon_sample_prcl_report,
};

/*
 * Whether reclamation runs; writing it starts or stops the kdamond.  Set
 * on the kernel command line, it takes effect once the kernel is up.
 */
module_param_cb(enable, &damon_sample_enable_ops, &damon_sample_prcl_switch,
		0600);
MODULE_PARM_DESC(enable, "Enable or disable DAMON_SAMPLE_PRCL");

static int __init damon_sample_prcl_init(void)
{
	return damon_sample_init(&damon_sample_prcl_switch);
}

module_init(damon_sample_prcl_init);
