// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON sample: memory tiering between two NUMA nodes.
 *
 * Node 0 is the fast tier and node 1 the slow one.  While
 * damon_sample_mtier.enable is set, two kdamonds watch the physical memory
 * of one node each: the one on node 1 promotes what is accessed there to
 * node 0, as long as node 0 is used below node0_mem_used_bp; the one on
 * node 0 demotes what was not accessed for a while to node 1, once node
 * 0's free memory runs below node0_mem_free_bp.  Both speeds are quota
 * goals: DAMOS tunes how much each scheme may migrate per quota window by
 * how far node 0 is from its goal.
 */

#define pr_fmt(fmt) "damon_sample_mtier: " fmt

#include <linux/damon.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/memory_hotplug.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/pfn.h>

#include "common.h"

#ifdef MODULE_PARAM_PREFIX
#undef MODULE_PARAM_PREFIX
#endif
#define MODULE_PARAM_PREFIX "damon_sample_mtier."

/* === Parameters, read when tiering is enabled === */

/*
 * Physical address ranges of the nodes, [start, end).  A node whose start
 * and end are both 0 is taken at the span the kernel knows for it.
 */
static unsigned long node0_start_addr __read_mostly;
module_param(node0_start_addr, ulong, 0600);
static unsigned long node0_end_addr __read_mostly;
module_param(node0_end_addr, ulong, 0600);
static unsigned long node1_start_addr __read_mostly;
module_param(node1_start_addr, ulong, 0600);
static unsigned long node1_end_addr __read_mostly;
module_param(node1_end_addr, ulong, 0600);

/* Promote to node 0 while it is used below this, in bp of its memory. */
static unsigned long node0_mem_used_bp __read_mostly = 9970;
module_param(node0_mem_used_bp, ulong, 0600);

/* Demote from node 0 while its free memory is below this, in bp. */
static unsigned long node0_mem_free_bp __read_mostly = 50;
module_param(node0_mem_free_bp, ulong, 0600);

/* === Internals === */

/* Memory not accessed for this many aggregation intervals is cold. */
#define DAMON_SAMPLE_MTIER_COLD_AGE		20
/* Length of a quota window, in milliseconds. */
#define DAMON_SAMPLE_MTIER_QUOTA_RESET_MS	1000
/* Time each kdamond may spend migrating per window, in milliseconds. */
#define DAMON_SAMPLE_MTIER_QUOTA_MS		100

/*
 * The promoting context (on node 1) and the demoting one (on node 0), or
 * NULLs while tiering is off; the switch's.
 */
static struct damon_ctx *ctxs[2];

/*
 * Work out the monitoring range of node @nid from its parameters @start and
 * @end.  Return 0, or -EINVAL if the node has no memory or the range is
 * empty or inverted.
 */
static int damon_sample_mtier_node_range(int nid, unsigned long start,
					 unsigned long end,
					 struct damon_addr_range *range)
{
	if (!node_state(nid, N_MEMORY))
		return -EINVAL;
	if (!start && !end) {
		/* Memory hotplug may be resizing the node right now. */
		get_online_mems();
		start = PFN_PHYS(node_start_pfn(nid));
		end = PFN_PHYS(node_end_pfn(nid));
		put_online_mems();
	}
	if (start >= end)
		return -EINVAL;
	range->start = start;
	range->end = end;
	return 0;
}

/*
 * Make in *@ctxp a context that monitors @range of the physical address
 * space and migrates to @target_nid what matches @pattern with @action, as
 * fast as a goal of @metric on node 0 with @goal_bp as target asks for.
 * Return 0, -EINVAL if the physical address space cannot be monitored, or
 * -ENOMEM; on failure, the context may be left in *@ctxp for the switch to
 * free.
 */
static int damon_sample_mtier_new_ctx(struct damon_ctx **ctxp,
				      struct damon_addr_range *range,
				      struct damos_access_pattern *pattern,
				      enum damos_action action, int target_nid,
				      enum damos_quota_goal_metric metric,
				      unsigned long goal_bp)
{
	struct damos_quota quota = {
		.ms = DAMON_SAMPLE_MTIER_QUOTA_MS,
		.reset_interval = DAMON_SAMPLE_MTIER_QUOTA_RESET_MS,
		/* Frequency and age weigh alike in which regions go first. */
		.weight_nr_accesses = 100,
		.weight_age = 100,
	};
	struct damos_watermarks wmarks = { .metric = DAMOS_WMARK_NONE };
	struct damos_quota_goal *goal;
	struct damon_target *target;
	struct damos *scheme;
	int err;

	err = damon_sample_new_ctx(DAMON_OPS_PADDR, ctxp, &target);
	if (!err)
		err = damon_set_regions(target, range, 1);
	if (err)
		return err;

	scheme = damon_new_scheme(pattern, action, 0, &quota, &wmarks,
				  target_nid);
	if (!scheme)
		return -ENOMEM;
	damon_add_scheme(*ctxp, scheme);
	goal = damos_new_quota_goal(metric, goal_bp);
	if (!goal)
		return -ENOMEM;
	goal->nid = 0;
	damos_add_quota_goal(&scheme->quota, goal);
	return 0;
}

static int damon_sample_mtier_start(void)
{
	struct damos_access_pattern hot = {
		.min_sz_region = PAGE_SIZE,
		.max_sz_region = ULONG_MAX,
		.min_nr_accesses = 1,
		.max_nr_accesses = UINT_MAX,
		.max_age_region = UINT_MAX,
	};
	struct damos_access_pattern cold = {
		.min_sz_region = PAGE_SIZE,
		.max_sz_region = ULONG_MAX,
		.min_age_region = DAMON_SAMPLE_MTIER_COLD_AGE,
		.max_age_region = UINT_MAX,
	};
	struct damon_addr_range node0, node1;
	int err;

	/* Migration needs both nodes: check them before anything runs. */
	err = damon_sample_mtier_node_range(0, node0_start_addr,
					    node0_end_addr, &node0);
	if (!err)
		err = damon_sample_mtier_node_range(1, node1_start_addr,
						    node1_end_addr, &node1);
	if (err)
		return err;

	err = damon_sample_mtier_new_ctx(&ctxs[0], &node1, &hot,
					 DAMOS_MIGRATE_HOT, 0,
					 DAMOS_QUOTA_NODE_MEM_USED_BP,
					 node0_mem_used_bp);
	if (!err)
		err = damon_sample_mtier_new_ctx(&ctxs[1], &node0, &cold,
						 DAMOS_MIGRATE_COLD, 1,
						 DAMOS_QUOTA_NODE_MEM_FREE_BP,
						 node0_mem_free_bp);
	if (err)
		return err;
	/* Not exclusive: other DAMON users may watch the same memory. */
	return damon_start(ctxs, ARRAY_SIZE(ctxs), false);
}

/* === Enable switch === */

static struct damon_sample_switch damon_sample_mtier_switch = {
	.ctxs = ctxs,
	.nr_ctxs = ARRAY_SIZE(ctxs),
	.start = damon_sample_mtier_start,
};

/*
 * Whether tiering runs; writing it starts or stops both kdamonds.  Set on
 * the kernel command line, it takes effect once the kernel is up.
 */
module_param_cb(enable, &damon_sample_enable_ops, &damon_sample_mtier_switch,
		0600);
MODULE_PARM_DESC(enable, "Enable or disable DAMON_SAMPLE_MTIER");

static int __init damon_sample_mtier_init(void)
{
	return damon_sample_init(&damon_sample_mtier_switch);
}

module_init(damon_sample_mtier_init);
