// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON sample: working set size estimation.
 *
 * Monitors the process of damon_sample_wsse.target_pid while
 * damon_sample_wsse.enable is set, and logs after every aggregation
 * interval the total size of the regions found accessed in it.  Monitoring
 * ends when the process exits, and enable reads N from then on.
 */

#define pr_fmt(fmt) "damon_sample_wsse: " fmt

#include <linux/damon.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>

#include "common.h"

#ifdef MODULE_PARAM_PREFIX
#undef MODULE_PARAM_PREFIX
#endif
#define MODULE_PARAM_PREFIX "damon_sample_wsse."

/* The process to monitor; read when monitoring is enabled. */
static int target_pid __read_mostly;
module_param(target_pid, int, 0600);

/*
 * Bounds of the region count, read when monitoring is enabled: more
 * regions see finer, at a higher cost.  Equal bounds pin the count, which
 * is how the overhead of a given count is measured.
 */
static unsigned long min_nr_regions __read_mostly = 10;
module_param(min_nr_regions, ulong, 0600);
static unsigned long max_nr_regions __read_mostly = 1000;
module_param(max_nr_regions, ulong, 0600);

/* The context, or NULL while monitoring is off; the switch's. */
static struct damon_ctx *ctx;

/*
 * Log the bytes the aggregation that just ended found accessed; run by the
 * kdamond after every aggregation interval.
 */
static int damon_sample_wsse_report(void *data)
{
	struct damon_ctx *c = data;
	struct damon_target *t;
	struct damon_region *r;
	unsigned long wss = 0;

	damon_for_each_target(t, c) {
		damon_for_each_region(r, t) {
			if (r->nr_accesses > 0)
				wss += damon_sz_region(r);
		}
	}
	pr_info("wss: %lu\n", wss);
	return 0;
}

static int damon_sample_wsse_start(void)
{
	struct damon_attrs attrs;
	int err;

	err = damon_sample_new_proc_ctx(target_pid, &ctx);
	if (err)
		return err;
	attrs = ctx->attrs;
	attrs.min_nr_regions = min_nr_regions;
	attrs.max_nr_regions = max_nr_regions;
	err = damon_set_attrs(ctx, &attrs);
	if (err)
		return err;

	return damon_start(&ctx, 1, true);
}

static struct damon_sample_switch damon_sample_wsse_switch = {
	.ctxs = &ctx,
	.nr_ctxs = 1,
	.start = damon_sample_wsse_start,
	.report = damon_sample_wsse_report,
};

/*
 * Whether monitoring runs; writing it starts or stops monitoring.  Set on
 * the kernel command line, it takes effect once the kernel is up.
 */
module_param_cb(enable, &damon_sample_enable_ops, &damon_sample_wsse_switch,
		0600);
MODULE_PARM_DESC(enable, "Enable or disable DAMON_SAMPLE_WSSE");

static int __init damon_sample_wsse_init(void)
{
	return damon_sample_init(&damon_sample_wsse_switch);
}

module_init(damon_sample_wsse_init);
