// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON sysfs interface: the schemes directories of a context, and the
 * state commands that read back what the schemes did.
 *
 * Configuration files become &struct damos when the context is built for
 * "on" or "commit" (sysfs.c).  The results (stats, effective quotas, tried
 * regions) are copied out of the kdamond when a state command asks, or
 * every refresh_ms: statistics and quotas by the kdamond itself, through
 * damon_call(), tried regions through damos_walk(), so each command
 * returns once its numbers are in place.
 */

#define pr_fmt(fmt) "damon-sysfs: " fmt

#include <linux/damon.h>
#include <linux/limits.h>
#include <linux/memcontrol.h>
#include <linux/numa.h>
#include <linux/slab.h>

#include "sysfs-common.h"

/* === The tree === */

#define DAMON_SYSFS_MAX_GOALS		64
#define DAMON_SYSFS_MAX_FILTERS		64

#define DAMON_SYSFS_RW(_name, _def)					\
	DAMON_SYSFS_FILE(_name, 0600, DAMON_SYSFS_ULONG, 0, ULONG_MAX,	\
			 _def, NULL)
#define DAMON_SYSFS_RO(_name)						\
	DAMON_SYSFS_FILE(_name, 0400, DAMON_SYSFS_ULONG, 0, ULONG_MAX, 0, \
			 NULL)
#define DAMON_SYSFS_KW(_name, _keywords, _def)				\
	DAMON_SYSFS_FILE(_name, 0600, DAMON_SYSFS_KEYWORD, 0, 0, _def,	\
			 _keywords)
#define DAMON_SYSFS_BOOL_FILE(_name)					\
	DAMON_SYSFS_FILE(_name, 0600, DAMON_SYSFS_BOOL, 0, 1, 0, NULL)

/* A directory of just min and max, for the access pattern. */
enum { DAMOS_SYSFS_RANGE_MIN, DAMOS_SYSFS_RANGE_MAX };

static const struct damon_sysfs_file damon_sysfs_range_files[] = {
	[DAMOS_SYSFS_RANGE_MIN] = DAMON_SYSFS_RW(min, 0),
	[DAMOS_SYSFS_RANGE_MAX] = DAMON_SYSFS_RW(max, 0),
};

#define DAMON_SYSFS_RANGE_TYPE(_var, _name)				\
	static const struct damon_sysfs_type _var = {			\
		.name = _name,						\
		.files = damon_sysfs_range_files,			\
		.nr_files = ARRAY_SIZE(damon_sysfs_range_files),	\
	}

DAMON_SYSFS_RANGE_TYPE(damon_sysfs_sz_range_type, "sz");
DAMON_SYSFS_RANGE_TYPE(damon_sysfs_nr_accesses_range_type, "nr_accesses");
DAMON_SYSFS_RANGE_TYPE(damon_sysfs_age_range_type, "age");

/* schemes/<S>/access_pattern/ */
enum {
	DAMOS_SYSFS_PATTERN_SZ,
	DAMOS_SYSFS_PATTERN_NR_ACCESSES,
	DAMOS_SYSFS_PATTERN_AGE,
};

static const struct damon_sysfs_type * const damon_sysfs_pattern_subdirs[] = {
	[DAMOS_SYSFS_PATTERN_SZ] = &damon_sysfs_sz_range_type,
	[DAMOS_SYSFS_PATTERN_NR_ACCESSES] = &damon_sysfs_nr_accesses_range_type,
	[DAMOS_SYSFS_PATTERN_AGE] = &damon_sysfs_age_range_type,
};

static const struct damon_sysfs_type damon_sysfs_pattern_type = {
	.name = "access_pattern",
	.subdirs = damon_sysfs_pattern_subdirs,
	.nr_subdirs = ARRAY_SIZE(damon_sysfs_pattern_subdirs),
};

/* schemes/<S>/quotas/weights/, in per mille */
enum {
	DAMOS_SYSFS_WEIGHTS_SZ,
	DAMOS_SYSFS_WEIGHTS_NR_ACCESSES,
	DAMOS_SYSFS_WEIGHTS_AGE,
};

static const struct damon_sysfs_file damon_sysfs_weights_files[] = {
	[DAMOS_SYSFS_WEIGHTS_SZ] = DAMON_SYSFS_RW(sz_permil, 0),
	[DAMOS_SYSFS_WEIGHTS_NR_ACCESSES] =
		DAMON_SYSFS_RW(nr_accesses_permil, 0),
	[DAMOS_SYSFS_WEIGHTS_AGE] = DAMON_SYSFS_RW(age_permil, 0),
};

static const struct damon_sysfs_type damon_sysfs_weights_type = {
	.name = "weights",
	.files = damon_sysfs_weights_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_weights_files),
};

/* schemes/<S>/quotas/goals/<G>/ */
static const char * const damon_sysfs_goal_metric_keywords[] = {
	[DAMOS_QUOTA_USER_INPUT] = "user_input",
	[DAMOS_QUOTA_SOME_MEM_PSI_US] = "some_mem_psi_us",
	[DAMOS_QUOTA_NODE_MEM_USED_BP] = "node_mem_used_bp",
	[DAMOS_QUOTA_NODE_MEM_FREE_BP] = "node_mem_free_bp",
	NULL
};

enum {
	DAMOS_SYSFS_GOAL_METRIC,
	DAMOS_SYSFS_GOAL_TARGET,
	DAMOS_SYSFS_GOAL_CURRENT,
	DAMOS_SYSFS_GOAL_NID,
};

static const struct damon_sysfs_file damon_sysfs_goal_files[] = {
	[DAMOS_SYSFS_GOAL_METRIC] = DAMON_SYSFS_KW(target_metric,
			damon_sysfs_goal_metric_keywords,
			DAMOS_QUOTA_USER_INPUT),
	[DAMOS_SYSFS_GOAL_TARGET] = DAMON_SYSFS_RW(target_value, 0),
	[DAMOS_SYSFS_GOAL_CURRENT] = DAMON_SYSFS_RW(current_value, 0),
	/* Checked against the online nodes at on/commit, not here. */
	[DAMOS_SYSFS_GOAL_NID] = DAMON_SYSFS_FILE(nid, 0600, DAMON_SYSFS_LONG,
			NUMA_NO_NODE, INT_MAX, 0, NULL),
};

static const struct damon_sysfs_type damon_sysfs_goal_type = {
	.files = damon_sysfs_goal_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_goal_files),
};

/* schemes/<S>/quotas/goals/ */
static const struct damon_sysfs_file damon_sysfs_goals_files[] = {
	DAMON_SYSFS_FILE(nr_goals, 0600, DAMON_SYSFS_NR, 0,
			 DAMON_SYSFS_MAX_GOALS, 0, NULL),
};

static const struct damon_sysfs_type damon_sysfs_goals_type = {
	.name = "goals",
	.files = damon_sysfs_goals_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_goals_files),
	.child = &damon_sysfs_goal_type,
};

/* schemes/<S>/quotas/ */
enum {
	DAMOS_SYSFS_QUOTAS_MS,
	DAMOS_SYSFS_QUOTAS_BYTES,
	DAMOS_SYSFS_QUOTAS_RESET_MS,
	DAMOS_SYSFS_QUOTAS_EFFECTIVE,
};

enum { DAMOS_SYSFS_QUOTAS_WEIGHTS, DAMOS_SYSFS_QUOTAS_GOALS };

static const struct damon_sysfs_file damon_sysfs_quotas_files[] = {
	[DAMOS_SYSFS_QUOTAS_MS] = DAMON_SYSFS_RW(ms, 0),
	[DAMOS_SYSFS_QUOTAS_BYTES] = DAMON_SYSFS_RW(bytes, 0),
	[DAMOS_SYSFS_QUOTAS_RESET_MS] = DAMON_SYSFS_RW(reset_interval_ms, 0),
	[DAMOS_SYSFS_QUOTAS_EFFECTIVE] = DAMON_SYSFS_RO(effective_bytes),
};

static const struct damon_sysfs_type * const damon_sysfs_quotas_subdirs[] = {
	[DAMOS_SYSFS_QUOTAS_WEIGHTS] = &damon_sysfs_weights_type,
	[DAMOS_SYSFS_QUOTAS_GOALS] = &damon_sysfs_goals_type,
};

static const struct damon_sysfs_type damon_sysfs_quotas_type = {
	.name = "quotas",
	.files = damon_sysfs_quotas_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_quotas_files),
	.subdirs = damon_sysfs_quotas_subdirs,
	.nr_subdirs = ARRAY_SIZE(damon_sysfs_quotas_subdirs),
};

/* schemes/<S>/watermarks/ */
static const char * const damon_sysfs_wmark_metric_keywords[] = {
	[DAMOS_WMARK_NONE] = "none",
	[DAMOS_WMARK_FREE_MEM_RATE] = "free_mem_rate",
	NULL
};

enum {
	DAMOS_SYSFS_WMARKS_METRIC,
	DAMOS_SYSFS_WMARKS_INTERVAL,
	DAMOS_SYSFS_WMARKS_HIGH,
	DAMOS_SYSFS_WMARKS_MID,
	DAMOS_SYSFS_WMARKS_LOW,
};

static const struct damon_sysfs_file damon_sysfs_wmarks_files[] = {
	[DAMOS_SYSFS_WMARKS_METRIC] = DAMON_SYSFS_KW(metric,
			damon_sysfs_wmark_metric_keywords, DAMOS_WMARK_NONE),
	[DAMOS_SYSFS_WMARKS_INTERVAL] = DAMON_SYSFS_RW(interval_us, 0),
	[DAMOS_SYSFS_WMARKS_HIGH] = DAMON_SYSFS_RW(high, 0),
	[DAMOS_SYSFS_WMARKS_MID] = DAMON_SYSFS_RW(mid, 0),
	[DAMOS_SYSFS_WMARKS_LOW] = DAMON_SYSFS_RW(low, 0),
};

static const struct damon_sysfs_type damon_sysfs_wmarks_type = {
	.name = "watermarks",
	.files = damon_sysfs_wmarks_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_wmarks_files),
};

/* schemes/<S>/filters/<F>/ */
static const char * const damon_sysfs_filter_type_keywords[] = {
	[DAMOS_FILTER_TYPE_ANON] = "anon",
	[DAMOS_FILTER_TYPE_MEMCG] = "memcg",
	[DAMOS_FILTER_TYPE_YOUNG] = "young",
	[DAMOS_FILTER_TYPE_ADDR] = "addr",
	[DAMOS_FILTER_TYPE_TARGET] = "target",
	NULL
};

enum {
	DAMOS_SYSFS_FILTER_TYPE,
	DAMOS_SYSFS_FILTER_MATCHING,
	DAMOS_SYSFS_FILTER_ALLOW,
	DAMOS_SYSFS_FILTER_MEMCG_PATH,
	DAMOS_SYSFS_FILTER_ADDR_START,
	DAMOS_SYSFS_FILTER_ADDR_END,
	DAMOS_SYSFS_FILTER_TARGET_IDX,
};

static const struct damon_sysfs_file damon_sysfs_filter_files[] = {
	[DAMOS_SYSFS_FILTER_TYPE] = DAMON_SYSFS_KW(type,
			damon_sysfs_filter_type_keywords,
			DAMOS_FILTER_TYPE_ANON),
	[DAMOS_SYSFS_FILTER_MATCHING] = DAMON_SYSFS_BOOL_FILE(matching),
	[DAMOS_SYSFS_FILTER_ALLOW] = DAMON_SYSFS_BOOL_FILE(allow),
	/* Read back with a newline, within a page. */
	[DAMOS_SYSFS_FILTER_MEMCG_PATH] = DAMON_SYSFS_FILE(memcg_path, 0600,
			DAMON_SYSFS_STRING, 0, PATH_MAX - 2, 0, NULL),
	[DAMOS_SYSFS_FILTER_ADDR_START] = DAMON_SYSFS_RW(addr_start, 0),
	[DAMOS_SYSFS_FILTER_ADDR_END] = DAMON_SYSFS_RW(addr_end, 0),
	[DAMOS_SYSFS_FILTER_TARGET_IDX] = DAMON_SYSFS_FILE(damon_target_idx,
			0600, DAMON_SYSFS_ULONG, 0, INT_MAX, 0, NULL),
};

static const struct damon_sysfs_type damon_sysfs_filter_type = {
	.files = damon_sysfs_filter_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_filter_files),
};

/* schemes/<S>/filters/ */
static const struct damon_sysfs_file damon_sysfs_filters_files[] = {
	DAMON_SYSFS_FILE(nr_filters, 0600, DAMON_SYSFS_NR, 0,
			 DAMON_SYSFS_MAX_FILTERS, 0, NULL),
};

static const struct damon_sysfs_type damon_sysfs_filters_type = {
	.name = "filters",
	.files = damon_sysfs_filters_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_filters_files),
	.child = &damon_sysfs_filter_type,
};

/* schemes/<S>/stats/, in the order of &struct damos_stat */
enum {
	DAMOS_SYSFS_STATS_NR_TRIED,
	DAMOS_SYSFS_STATS_SZ_TRIED,
	DAMOS_SYSFS_STATS_NR_APPLIED,
	DAMOS_SYSFS_STATS_SZ_APPLIED,
	DAMOS_SYSFS_STATS_SZ_OPS_FILTER_PASSED,
	DAMOS_SYSFS_STATS_QT_EXCEEDS,
};

static const struct damon_sysfs_file damon_sysfs_stats_files[] = {
	[DAMOS_SYSFS_STATS_NR_TRIED] = DAMON_SYSFS_RO(nr_tried),
	[DAMOS_SYSFS_STATS_SZ_TRIED] = DAMON_SYSFS_RO(sz_tried),
	[DAMOS_SYSFS_STATS_NR_APPLIED] = DAMON_SYSFS_RO(nr_applied),
	[DAMOS_SYSFS_STATS_SZ_APPLIED] = DAMON_SYSFS_RO(sz_applied),
	[DAMOS_SYSFS_STATS_SZ_OPS_FILTER_PASSED] =
		DAMON_SYSFS_RO(sz_ops_filter_passed),
	[DAMOS_SYSFS_STATS_QT_EXCEEDS] = DAMON_SYSFS_RO(qt_exceeds),
};

static const struct damon_sysfs_type damon_sysfs_stats_type = {
	.name = "stats",
	.files = damon_sysfs_stats_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_stats_files),
};

/* schemes/<S>/tried_regions/<R>/ */
enum {
	DAMOS_SYSFS_TRIED_START,
	DAMOS_SYSFS_TRIED_END,
	DAMOS_SYSFS_TRIED_NR_ACCESSES,
	DAMOS_SYSFS_TRIED_AGE,
	DAMOS_SYSFS_TRIED_SZ_FILTER_PASSED,
	DAMOS_SYSFS_NR_TRIED_FILES,
};

static const struct damon_sysfs_file damon_sysfs_tried_region_files[] = {
	[DAMOS_SYSFS_TRIED_START] = DAMON_SYSFS_RO(start),
	[DAMOS_SYSFS_TRIED_END] = DAMON_SYSFS_RO(end),
	[DAMOS_SYSFS_TRIED_NR_ACCESSES] = DAMON_SYSFS_RO(nr_accesses),
	[DAMOS_SYSFS_TRIED_AGE] = DAMON_SYSFS_RO(age),
	[DAMOS_SYSFS_TRIED_SZ_FILTER_PASSED] = DAMON_SYSFS_RO(sz_filter_passed),
};

static const struct damon_sysfs_type damon_sysfs_tried_region_type = {
	.files = damon_sysfs_tried_region_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_tried_region_files),
};

/* schemes/<S>/tried_regions/: the children are the kernel's to make. */
enum { DAMOS_SYSFS_TRIED_TOTAL_BYTES };

static const struct damon_sysfs_file damon_sysfs_tried_regions_files[] = {
	[DAMOS_SYSFS_TRIED_TOTAL_BYTES] = DAMON_SYSFS_RO(total_bytes),
};

static const struct damon_sysfs_type damon_sysfs_tried_regions_type = {
	.name = "tried_regions",
	.files = damon_sysfs_tried_regions_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_tried_regions_files),
	.child = &damon_sysfs_tried_region_type,
};

/* schemes/<S>/ */
static const char * const damon_sysfs_action_keywords[] = {
	[DAMOS_WILLNEED] = "willneed",
	[DAMOS_COLD] = "cold",
	[DAMOS_PAGEOUT] = "pageout",
	[DAMOS_HUGEPAGE] = "hugepage",
	[DAMOS_NOHUGEPAGE] = "nohugepage",
	[DAMOS_LRU_PRIO] = "lru_prio",
	[DAMOS_LRU_DEPRIO] = "lru_deprio",
	[DAMOS_MIGRATE_HOT] = "migrate_hot",
	[DAMOS_MIGRATE_COLD] = "migrate_cold",
	[DAMOS_STAT] = "stat",
	NULL
};

enum {
	DAMOS_SYSFS_SCHEME_ACTION,
	DAMOS_SYSFS_SCHEME_APPLY_INTERVAL,
	DAMOS_SYSFS_SCHEME_TARGET_NID,
};

enum {
	DAMOS_SYSFS_SCHEME_PATTERN,
	DAMOS_SYSFS_SCHEME_QUOTAS,
	DAMOS_SYSFS_SCHEME_WMARKS,
	DAMOS_SYSFS_SCHEME_FILTERS,
	DAMOS_SYSFS_SCHEME_STATS,
	DAMOS_SYSFS_SCHEME_TRIED_REGIONS,
};

static const struct damon_sysfs_file damon_sysfs_scheme_files[] = {
	[DAMOS_SYSFS_SCHEME_ACTION] = DAMON_SYSFS_KW(action,
			damon_sysfs_action_keywords, DAMOS_STAT),
	[DAMOS_SYSFS_SCHEME_APPLY_INTERVAL] =
		DAMON_SYSFS_RW(apply_interval_us, 0),
	[DAMOS_SYSFS_SCHEME_TARGET_NID] = DAMON_SYSFS_FILE(target_nid, 0600,
			DAMON_SYSFS_LONG, NUMA_NO_NODE, INT_MAX, NUMA_NO_NODE,
			NULL),
};

static const struct damon_sysfs_type * const damon_sysfs_scheme_subdirs[] = {
	[DAMOS_SYSFS_SCHEME_PATTERN] = &damon_sysfs_pattern_type,
	[DAMOS_SYSFS_SCHEME_QUOTAS] = &damon_sysfs_quotas_type,
	[DAMOS_SYSFS_SCHEME_WMARKS] = &damon_sysfs_wmarks_type,
	[DAMOS_SYSFS_SCHEME_FILTERS] = &damon_sysfs_filters_type,
	[DAMOS_SYSFS_SCHEME_STATS] = &damon_sysfs_stats_type,
	[DAMOS_SYSFS_SCHEME_TRIED_REGIONS] = &damon_sysfs_tried_regions_type,
};

static const struct damon_sysfs_type damon_sysfs_scheme_type = {
	.files = damon_sysfs_scheme_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_scheme_files),
	.subdirs = damon_sysfs_scheme_subdirs,
	.nr_subdirs = ARRAY_SIZE(damon_sysfs_scheme_subdirs),
};

/* contexts/<C>/schemes/ */
static const struct damon_sysfs_file damon_sysfs_schemes_files[] = {
	DAMON_SYSFS_FILE(nr_schemes, 0600, DAMON_SYSFS_NR, 0,
			 DAMON_SYSFS_MAX_SCHEMES, 0, NULL),
};

const struct damon_sysfs_type damon_sysfs_schemes_type = {
	.name = "schemes",
	.files = damon_sysfs_schemes_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_schemes_files),
	.child = &damon_sysfs_scheme_type,
};

/* === From the tree to schemes === */

/* Subdirectory @idx of the directory of scheme @i of @schemes. */
static struct damon_sysfs_node *
damon_sysfs_scheme_subdir(struct damon_sysfs_node *schemes, unsigned int i,
			  unsigned int idx)
{
	return schemes->children[i]->subdirs[idx];
}

#ifdef CONFIG_MEMCG
/* The id of the memory cgroup at @path, as cgroup_path() writes it. */
static int damon_sysfs_memcg_id(const char *path, unsigned short *id)
{
	char *buf __free(kfree) = kmalloc(PATH_MAX, GFP_KERNEL);
	struct mem_cgroup *memcg = NULL;

	if (!buf)
		return -ENOMEM;
	while ((memcg = mem_cgroup_iter(NULL, memcg, NULL))) {
		/* Offline cgroups keep a path but no longer own memory. */
		if (!mem_cgroup_online(memcg))
			continue;
		cgroup_path(memcg->css.cgroup, buf, PATH_MAX);
		if (strcmp(buf, path))
			continue;
		*id = mem_cgroup_id(memcg);
		mem_cgroup_iter_break(NULL, memcg);
		return 0;
	}
	return -EINVAL;
}
#else
static int damon_sysfs_memcg_id(const char *path, unsigned short *id)
{
	return -EINVAL;
}
#endif

static int damon_sysfs_add_filters(struct damos *s,
				   struct damon_sysfs_node *filters)
{
	unsigned long start, end, target_idx;
	struct damon_sysfs_node *node;
	bool matching, allow;
	struct damos_filter *f;
	const char *path;
	unsigned int i;
	int err, type;

	for (i = 0; i < filters->nr_children; i++) {
		node = filters->children[i];
		type = damon_sysfs_val(node, DAMOS_SYSFS_FILTER_TYPE);
		matching = damon_sysfs_val(node, DAMOS_SYSFS_FILTER_MATCHING);
		allow = damon_sysfs_val(node, DAMOS_SYSFS_FILTER_ALLOW);
		path = damon_sysfs_str(node, DAMOS_SYSFS_FILTER_MEMCG_PATH);
		start = damon_sysfs_val(node, DAMOS_SYSFS_FILTER_ADDR_START);
		end = damon_sysfs_val(node, DAMOS_SYSFS_FILTER_ADDR_END);
		target_idx = damon_sysfs_val(node,
					     DAMOS_SYSFS_FILTER_TARGET_IDX);
		f = damos_new_filter(type, matching, allow);
		if (!f)
			return -ENOMEM;
		damos_add_filter(s, f);
		switch (f->type) {
		case DAMOS_FILTER_TYPE_MEMCG:
			err = damon_sysfs_memcg_id(path, &f->memcg_id);
			if (err)
				return err;
			break;
		case DAMOS_FILTER_TYPE_ADDR:
			f->addr_range.start = start;
			f->addr_range.end = end;
			break;
		case DAMOS_FILTER_TYPE_TARGET:
			f->target_idx = target_idx;
			break;
		default:
			break;
		}
	}
	return 0;
}

static int damon_sysfs_add_goals(struct damos_quota *q,
				 struct damon_sysfs_node *goals)
{
	unsigned long metric, target;
	struct damon_sysfs_node *node;
	struct damos_quota_goal *g;
	unsigned int i;

	for (i = 0; i < goals->nr_children; i++) {
		node = goals->children[i];
		metric = damon_sysfs_val(node, DAMOS_SYSFS_GOAL_METRIC);
		target = damon_sysfs_val(node, DAMOS_SYSFS_GOAL_TARGET);
		g = damos_new_quota_goal(metric, target);
		if (!g)
			return -ENOMEM;
		g->current_value =
			damon_sysfs_val(node, DAMOS_SYSFS_GOAL_CURRENT);
		g->nid = (long)damon_sysfs_val(node, DAMOS_SYSFS_GOAL_NID);
		damos_add_quota_goal(q, g);
	}
	return 0;
}

static struct damos *damon_sysfs_new_scheme(struct damon_sysfs_node *node)
{
	struct damon_sysfs_node *pattern =
		node->subdirs[DAMOS_SYSFS_SCHEME_PATTERN];
	struct damon_sysfs_node *quotas =
		node->subdirs[DAMOS_SYSFS_SCHEME_QUOTAS];
	struct damon_sysfs_node *weights =
		quotas->subdirs[DAMOS_SYSFS_QUOTAS_WEIGHTS];
	struct damon_sysfs_node *wmarks =
		node->subdirs[DAMOS_SYSFS_SCHEME_WMARKS];
	struct damon_sysfs_node *sz = pattern->subdirs[DAMOS_SYSFS_PATTERN_SZ];
	struct damon_sysfs_node *nr =
		pattern->subdirs[DAMOS_SYSFS_PATTERN_NR_ACCESSES];
	struct damon_sysfs_node *age =
		pattern->subdirs[DAMOS_SYSFS_PATTERN_AGE];
	struct damos_access_pattern p = {
		.min_sz_region = damon_sysfs_val(sz, DAMOS_SYSFS_RANGE_MIN),
		.max_sz_region = damon_sysfs_val(sz, DAMOS_SYSFS_RANGE_MAX),
		.min_nr_accesses = damon_sysfs_uint(nr, DAMOS_SYSFS_RANGE_MIN),
		.max_nr_accesses = damon_sysfs_uint(nr, DAMOS_SYSFS_RANGE_MAX),
		.min_age_region = damon_sysfs_uint(age, DAMOS_SYSFS_RANGE_MIN),
		.max_age_region = damon_sysfs_uint(age, DAMOS_SYSFS_RANGE_MAX),
	};
	struct damos_quota q = {
		.ms = damon_sysfs_val(quotas, DAMOS_SYSFS_QUOTAS_MS),
		.sz = damon_sysfs_val(quotas, DAMOS_SYSFS_QUOTAS_BYTES),
		.reset_interval = damon_sysfs_val(quotas,
						  DAMOS_SYSFS_QUOTAS_RESET_MS),
		.weight_sz = damon_sysfs_uint(weights, DAMOS_SYSFS_WEIGHTS_SZ),
		.weight_nr_accesses = damon_sysfs_uint(weights,
				DAMOS_SYSFS_WEIGHTS_NR_ACCESSES),
		.weight_age = damon_sysfs_uint(weights,
					       DAMOS_SYSFS_WEIGHTS_AGE),
	};
	struct damos_watermarks w = {
		.metric = damon_sysfs_val(wmarks, DAMOS_SYSFS_WMARKS_METRIC),
		.interval = damon_sysfs_val(wmarks,
					    DAMOS_SYSFS_WMARKS_INTERVAL),
		.high = damon_sysfs_val(wmarks, DAMOS_SYSFS_WMARKS_HIGH),
		.mid = damon_sysfs_val(wmarks, DAMOS_SYSFS_WMARKS_MID),
		.low = damon_sysfs_val(wmarks, DAMOS_SYSFS_WMARKS_LOW),
	};

	enum damos_action action =
		damon_sysfs_val(node, DAMOS_SYSFS_SCHEME_ACTION);
	unsigned long apply_interval_us =
		damon_sysfs_val(node, DAMOS_SYSFS_SCHEME_APPLY_INTERVAL);
	int target_nid = damon_sysfs_val(node, DAMOS_SYSFS_SCHEME_TARGET_NID);

	return damon_new_scheme(&p, action, apply_interval_us, &q, &w,
				target_nid);
}

/**
 * damon_sysfs_add_schemes() - Give a context the schemes of a directory.
 * @ctx:	The context being built.
 * @schemes:	The schemes directory of the context's files.
 *
 * Called under damon_sysfs_lock.
 *
 * Return: 0, -ENOMEM, or -EINVAL if a memcg filter names no cgroup.
 */
int damon_sysfs_add_schemes(struct damon_ctx *ctx,
			    struct damon_sysfs_node *schemes)
{
	struct damon_sysfs_node *node, *quotas, *goals, *filters;
	unsigned int i;
	struct damos *s;
	int err;

	lockdep_assert_held(&damon_sysfs_lock);
	for (i = 0; i < schemes->nr_children; i++) {
		node = schemes->children[i];
		s = damon_sysfs_new_scheme(node);
		if (!s)
			return -ENOMEM;
		damon_add_scheme(ctx, s);
		quotas = node->subdirs[DAMOS_SYSFS_SCHEME_QUOTAS];
		goals = quotas->subdirs[DAMOS_SYSFS_QUOTAS_GOALS];
		filters = node->subdirs[DAMOS_SYSFS_SCHEME_FILTERS];
		err = damon_sysfs_add_goals(&s->quota, goals);
		if (err)
			return err;
		err = damon_sysfs_add_filters(s, filters);
		if (err)
			return err;
	}
	return 0;
}

/* === Reading results === */

static void damon_sysfs_set_stats(struct damon_sysfs_node *stats,
				  struct damos_stat *stat)
{
	damon_sysfs_set_val(stats, DAMOS_SYSFS_STATS_NR_TRIED, stat->nr_tried);
	damon_sysfs_set_val(stats, DAMOS_SYSFS_STATS_SZ_TRIED, stat->sz_tried);
	damon_sysfs_set_val(stats, DAMOS_SYSFS_STATS_NR_APPLIED,
			    stat->nr_applied);
	damon_sysfs_set_val(stats, DAMOS_SYSFS_STATS_SZ_APPLIED,
			    stat->sz_applied);
	damon_sysfs_set_val(stats, DAMOS_SYSFS_STATS_SZ_OPS_FILTER_PASSED,
			    stat->sz_ops_filter_passed);
	damon_sysfs_set_val(stats, DAMOS_SYSFS_STATS_QT_EXCEEDS,
			    stat->qt_exceeds);
}

/**
 * damon_sysfs_set_schemes_results() - Copy scheme results into the files.
 * @schemes:	The schemes directory.
 * @ctx:	The running context the directory was committed to.
 * @what:	Which results: &enum damon_sysfs_schemes_result flags.
 *
 * Scheme directory i gets the results of the context's scheme i; schemes
 * beyond the smaller of the two counts are left out.  Called in the
 * kdamond of @ctx, which owns the schemes, with damon_sysfs_lock held for
 * it: by the kdamond itself, or by whoever waits in damon_call() for it
 * (lockdep cannot tell, so this does not assert it).
 */
void damon_sysfs_set_schemes_results(struct damon_sysfs_node *schemes,
				     struct damon_ctx *ctx, unsigned int what)
{
	struct damon_sysfs_node *node, *stats, *quotas;
	unsigned int i = 0;
	struct damos *s;

	damon_for_each_scheme(s, ctx) {
		if (i == schemes->nr_children)
			break;
		node = schemes->children[i++];
		stats = node->subdirs[DAMOS_SYSFS_SCHEME_STATS];
		quotas = node->subdirs[DAMOS_SYSFS_SCHEME_QUOTAS];
		if (what & DAMON_SYSFS_SCHEMES_STATS)
			damon_sysfs_set_stats(stats, &s->stat);
		if (what & DAMON_SYSFS_SCHEMES_QUOTAS)
			damon_sysfs_set_val(quotas,
					    DAMOS_SYSFS_QUOTAS_EFFECTIVE,
					    s->quota.esz);
	}
}

/* What a state command has the kdamond copy. */
struct damon_sysfs_results {
	struct damon_sysfs_node *schemes;
	struct damon_ctx *ctx;
	unsigned int what;
};

static int damon_sysfs_copy_results(void *data)
{
	struct damon_sysfs_results *res = data;

	damon_sysfs_set_schemes_results(res->schemes, res->ctx, res->what);
	return 0;
}

/**
 * damon_sysfs_update_schemes() - Have the kdamond copy scheme results.
 * @schemes:	The schemes directory; damon_sysfs_lock is held.
 * @ctx:	The running context the directory was committed to.
 * @what:	Which results: &enum damon_sysfs_schemes_result flags.
 *
 * The kdamond writes them into the files itself, under the lock held here
 * for it while this waits (see damon_sysfs_set_schemes_results()).
 *
 * Return: 0, or what damon_call() returned.
 */
int damon_sysfs_update_schemes(struct damon_sysfs_node *schemes,
			       struct damon_ctx *ctx, unsigned int what)
{
	struct damon_sysfs_results res = {
		.schemes = schemes,
		.ctx = ctx,
		.what = what,
	};
	struct damon_call_control control = {
		.fn = damon_sysfs_copy_results,
		.data = &res,
	};

	lockdep_assert_held(&damon_sysfs_lock);
	if (!schemes->nr_children)
		return 0;
	return damon_call(ctx, &control);
}

/* The goals of each scheme, for commit_schemes_quota_goals. */
struct damon_sysfs_goals {
	struct damon_ctx *ctx;
	unsigned int nr;
	struct damos_quota *quotas;
};

static int damon_sysfs_commit_goals_fn(void *data)
{
	struct damon_sysfs_goals *goals = data;
	unsigned int i = 0;
	struct damos *s;
	int err;

	damon_for_each_scheme(s, goals->ctx) {
		if (i == goals->nr)
			break;
		err = damos_commit_quota_goals(&s->quota, &goals->quotas[i++]);
		if (err)
			return err;
	}
	return 0;
}

/**
 * damon_sysfs_commit_goals() - Commit just the quota goals of the schemes.
 * @schemes:	The schemes directory; damon_sysfs_lock is held.
 * @ctx:	The running context the directory was committed to.
 *
 * Cheaper than a whole commit, for feeding user_input goals often.
 *
 * Return: 0, -ENOMEM, or what damon_call() returned.
 */
int damon_sysfs_commit_goals(struct damon_sysfs_node *schemes,
			     struct damon_ctx *ctx)
{
	struct damon_sysfs_goals goals = {
		.ctx = ctx,
		.nr = schemes->nr_children,
	};
	struct damon_call_control control = {
		.fn = damon_sysfs_commit_goals_fn,
		.data = &goals,
	};
	struct damos_quota_goal *g, *next;
	struct damon_sysfs_node *quotas, *dir;
	unsigned int i;
	int err = 0;

	lockdep_assert_held(&damon_sysfs_lock);
	if (!goals.nr)
		return 0;
	goals.quotas = kcalloc(goals.nr, sizeof(*goals.quotas), GFP_KERNEL);
	if (!goals.quotas)
		return -ENOMEM;
	for (i = 0; i < goals.nr; i++)
		INIT_LIST_HEAD(&goals.quotas[i].goals);
	for (i = 0; !err && i < goals.nr; i++) {
		quotas = damon_sysfs_scheme_subdir(schemes, i,
						   DAMOS_SYSFS_SCHEME_QUOTAS);
		dir = quotas->subdirs[DAMOS_SYSFS_QUOTAS_GOALS];
		err = damon_sysfs_add_goals(&goals.quotas[i], dir);
	}
	if (!err)
		err = damon_call(ctx, &control);
	if (!err)
		err = control.return_code;
	for (i = 0; i < goals.nr; i++)
		damos_for_each_quota_goal_safe(g, next, &goals.quotas[i])
			damos_destroy_quota_goal(g);
	kfree(goals.quotas);
	return err;
}

/* One tried region, as the files show it. */
struct damon_sysfs_tried_region {
	unsigned long vals[DAMOS_SYSFS_NR_TRIED_FILES];
};

/* What a walk collects for one scheme. */
struct damon_sysfs_tried {
	struct damon_sysfs_node *node;	/* its tried_regions, referenced */
	struct damon_sysfs_tried_region *regions;
	unsigned int nr, size;
	unsigned long total_bytes;
};

struct damon_sysfs_walk {
	bool bytes_only;
	bool nomem;
	unsigned int nr;
	struct damon_sysfs_tried *tried;
};

static void damon_sysfs_walk_fn(void *data, struct damon_ctx *ctx,
				struct damon_target *t, struct damon_region *r,
				struct damos *s, unsigned long sz_filter_passed)
{
	struct damon_sysfs_walk *walk = data;
	struct damon_sysfs_tried_region *tr;
	struct damon_sysfs_tried *tried;
	unsigned int i = 0, size;
	struct damos *pos;

	damon_for_each_scheme(pos, ctx) {
		if (pos == s)
			break;
		i++;
	}
	if (i >= walk->nr)
		return;
	tried = &walk->tried[i];
	tried->total_bytes += damon_sz_region(r);
	if (walk->bytes_only)
		return;
	if (tried->nr == tried->size) {
		size = max(tried->size * 2, 16U);
		/* Up to every region of the context: maybe megabytes. */
		tr = kvrealloc(tried->regions, array_size(size, sizeof(*tr)),
			       GFP_KERNEL | __GFP_NOWARN);
		if (!tr) {
			walk->nomem = true;
			return;
		}
		tried->regions = tr;
		tried->size = size;
	}
	tr = &tried->regions[tried->nr++];
	tr->vals[DAMOS_SYSFS_TRIED_START] = r->ar.start;
	tr->vals[DAMOS_SYSFS_TRIED_END] = r->ar.end;
	tr->vals[DAMOS_SYSFS_TRIED_NR_ACCESSES] = r->nr_accesses_bp / 10000;
	tr->vals[DAMOS_SYSFS_TRIED_AGE] = r->age;
	tr->vals[DAMOS_SYSFS_TRIED_SZ_FILTER_PASSED] = sz_filter_passed;
}

/* The tried_regions directory of scheme @i of @schemes. */
static struct damon_sysfs_node *
damon_sysfs_tried_regions_of(struct damon_sysfs_node *schemes, unsigned int i)
{
	return damon_sysfs_scheme_subdir(schemes, i,
					 DAMOS_SYSFS_SCHEME_TRIED_REGIONS);
}

/* Fill the tried_regions directory of @tried; without the lock held. */
static int damon_sysfs_fill_tried(struct damon_sysfs_tried *tried)
{
	struct damon_sysfs_node *node = tried->node;
	unsigned int i, j;
	int err;

	err = damon_sysfs_set_nr_children(node, tried->nr);
	if (err)
		return err;
	mutex_lock(&damon_sysfs_lock);
	/* Someone else may have changed it since; then theirs stands. */
	if (!node->removed && node->nr_children == tried->nr) {
		for (i = 0; i < tried->nr; i++)
			for (j = 0; j < DAMOS_SYSFS_NR_TRIED_FILES; j++)
				damon_sysfs_set_val(node->children[i], j,
						    tried->regions[i].vals[j]);
		damon_sysfs_set_val(node, DAMOS_SYSFS_TRIED_TOTAL_BYTES,
				    tried->total_bytes);
	}
	mutex_unlock(&damon_sysfs_lock);
	return 0;
}

/**
 * damon_sysfs_update_tried() - Show the regions the schemes are tried on.
 * @kdamond:	The kdamond directory.
 * @bytes_only:	Fill only tried_regions/total_bytes.
 *
 * Waits, through damos_walk(), for each scheme's next pass and fills the
 * tried_regions directories with what it saw.  Called without
 * damon_sysfs_lock, and waits without it too, which may take an apply
 * interval: the rest of the tree stays usable, and "off" cancels the walk.
 * The context stays meanwhile, as a user of @kdamond; directories removed
 * meanwhile are left alone.
 *
 * Return: 0, -ENOMEM, -EINVAL if the kdamond is not running, or what
 * damos_walk() returned.
 */
int damon_sysfs_update_tried(struct damon_sysfs_node *kdamond,
			     bool bytes_only)
{
	struct damon_sysfs_node *schemes;
	struct damon_ctx *ctx;
	struct damon_sysfs_walk walk = { .bytes_only = bytes_only };
	struct damos_walk_control control = {
		.walk_fn = damon_sysfs_walk_fn,
		.data = &walk,
	};
	struct damon_sysfs_tried *tried;
	unsigned int i;
	int err = 0;

	mutex_lock(&damon_sysfs_lock);
	ctx = damon_sysfs_running_ctx(kdamond, &schemes);
	if (!ctx) {
		mutex_unlock(&damon_sysfs_lock);
		return -EINVAL;
	}
	walk.nr = schemes->nr_children;
	walk.tried = kcalloc(max(walk.nr, 1U), sizeof(*walk.tried),
			     GFP_KERNEL);
	if (!walk.tried) {
		mutex_unlock(&damon_sysfs_lock);
		return -ENOMEM;
	}
	for (i = 0; i < walk.nr; i++) {
		tried = &walk.tried[i];
		tried->node = damon_sysfs_tried_regions_of(schemes, i);
		kobject_get(&tried->node->kobj);
	}
	kdamond->users++;
	kobject_get(&kdamond->kobj);
	mutex_unlock(&damon_sysfs_lock);

	if (walk.nr)
		err = damos_walk(ctx, &control);
	if (!err && walk.nomem)
		err = -ENOMEM;

	mutex_lock(&damon_sysfs_lock);
	kdamond->users--;
	for (i = 0; !err && bytes_only && i < walk.nr; i++) {
		tried = &walk.tried[i];
		if (!tried->node->removed)
			damon_sysfs_set_val(tried->node,
					    DAMOS_SYSFS_TRIED_TOTAL_BYTES,
					    tried->total_bytes);
	}
	mutex_unlock(&damon_sysfs_lock);
	kobject_put(&kdamond->kobj);

	for (i = 0; i < walk.nr; i++) {
		tried = &walk.tried[i];
		if (!err && !bytes_only)
			damon_sysfs_fill_tried(tried);
		kobject_put(&tried->node->kobj);
		kvfree(tried->regions);
	}
	kfree(walk.tried);
	return err;
}

/**
 * damon_sysfs_clear_tried() - Empty the tried_regions directories.
 * @kdamond:	The kdamond directory.
 *
 * Called without damon_sysfs_lock.  The kdamond need not run.
 *
 * Return: 0, or -ENOMEM.
 */
int damon_sysfs_clear_tried(struct damon_sysfs_node *kdamond)
{
	struct damon_sysfs_tried tried = {};
	struct damon_sysfs_node **nodes, *schemes;
	unsigned int i, nr = 0;
	int err = 0;

	mutex_lock(&damon_sysfs_lock);
	schemes = damon_sysfs_schemes_of(kdamond);
	if (schemes)
		nr = schemes->nr_children;
	nodes = kcalloc(max(nr, 1U), sizeof(*nodes), GFP_KERNEL);
	if (!nodes) {
		mutex_unlock(&damon_sysfs_lock);
		return -ENOMEM;
	}
	for (i = 0; i < nr; i++) {
		nodes[i] = damon_sysfs_tried_regions_of(schemes, i);
		kobject_get(&nodes[i]->kobj);
	}
	mutex_unlock(&damon_sysfs_lock);

	for (i = 0; i < nr; i++) {
		tried.node = nodes[i];
		if (damon_sysfs_fill_tried(&tried) == -ENOMEM)
			err = -ENOMEM;
		kobject_put(&nodes[i]->kobj);
	}
	kfree(nodes);
	return err;
}
