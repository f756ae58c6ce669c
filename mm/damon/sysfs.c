// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON sysfs interface: /sys/kernel/mm/damon/admin.
 *
 * The files describe kdamonds and their monitoring contexts; nothing
 * reaches DAMON until "on" or "commit" is written to a kdamond's state
 * file.  Then a context is built from the files under damon_sysfs_lock and
 * handed to the core: "on" starts a new kdamond with it, "commit" has the
 * running kdamond take it over through damon_call() and damon_commit_ctx(),
 * which checks all of it before changing anything.  So bad input fails
 * the write and leaves a running kdamond as it was.  Results flow back
 * into the files when a state command asks, or, every refresh_ms, when
 * the kdamond sees it is time.
 */

#define pr_fmt(fmt) "damon-sysfs: " fmt

#include <linux/damon.h>
#include <linux/jiffies.h>
#include <linux/kobject.h>
#include <linux/pid.h>
#include <linux/slab.h>

#include "sysfs-common.h"

/* === The tree === */

/*
 * Most numbered children a directory may have: enough for any real setup,
 * and few enough that a typo in an nr_* file costs no more than a moment.
 */
#define DAMON_SYSFS_MAX_KDAMONDS	256
#define DAMON_SYSFS_MAX_TARGETS		1024
#define DAMON_SYSFS_MAX_REGIONS		16384

/* A value file whose value is an unsigned long, any of them. */
#define DAMON_SYSFS_ULONG_FILE(_name, _def)				\
	DAMON_SYSFS_FILE(_name, 0600, DAMON_SYSFS_ULONG, 0, ULONG_MAX,	\
			 _def, NULL)

/* An nr_* file, creating up to _max numbered children. */
#define DAMON_SYSFS_NR_FILE(_name, _max)				\
	DAMON_SYSFS_FILE(_name, 0600, DAMON_SYSFS_NR, 0, _max, 0, NULL)

/* regions/<R>/ */
enum { DAMON_SYSFS_REGION_START, DAMON_SYSFS_REGION_END };

static const struct damon_sysfs_file damon_sysfs_region_files[] = {
	[DAMON_SYSFS_REGION_START] = DAMON_SYSFS_ULONG_FILE(start, 0),
	[DAMON_SYSFS_REGION_END] = DAMON_SYSFS_ULONG_FILE(end, 0),
};

static const struct damon_sysfs_type damon_sysfs_region_type = {
	.files = damon_sysfs_region_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_region_files),
};

/* targets/<T>/regions/ */
static const struct damon_sysfs_file damon_sysfs_regions_files[] = {
	DAMON_SYSFS_NR_FILE(nr_regions, DAMON_SYSFS_MAX_REGIONS),
};

static const struct damon_sysfs_type damon_sysfs_regions_type = {
	.name = "regions",
	.files = damon_sysfs_regions_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_regions_files),
	.child = &damon_sysfs_region_type,
};

/* targets/<T>/ */
enum { DAMON_SYSFS_TARGET_PID };
enum { DAMON_SYSFS_TARGET_REGIONS };

static const struct damon_sysfs_file damon_sysfs_target_files[] = {
	[DAMON_SYSFS_TARGET_PID] = DAMON_SYSFS_FILE(pid_target, 0600,
			DAMON_SYSFS_LONG, INT_MIN, INT_MAX, 0, NULL),
};

static const struct damon_sysfs_type * const damon_sysfs_target_subdirs[] = {
	[DAMON_SYSFS_TARGET_REGIONS] = &damon_sysfs_regions_type,
};

static const struct damon_sysfs_type damon_sysfs_target_type = {
	.files = damon_sysfs_target_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_target_files),
	.subdirs = damon_sysfs_target_subdirs,
	.nr_subdirs = ARRAY_SIZE(damon_sysfs_target_subdirs),
};

/* contexts/<C>/targets/ */
static const struct damon_sysfs_file damon_sysfs_targets_files[] = {
	DAMON_SYSFS_NR_FILE(nr_targets, DAMON_SYSFS_MAX_TARGETS),
};

static const struct damon_sysfs_type damon_sysfs_targets_type = {
	.name = "targets",
	.files = damon_sysfs_targets_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_targets_files),
	.child = &damon_sysfs_target_type,
};

/* monitoring_attrs/intervals/intervals_goal/: 0 aggrs is no tuning */
enum {
	DAMON_SYSFS_INTERVALS_GOAL_ACCESS_BP,
	DAMON_SYSFS_INTERVALS_GOAL_AGGRS,
	DAMON_SYSFS_INTERVALS_GOAL_MIN_SAMPLE,
	DAMON_SYSFS_INTERVALS_GOAL_MAX_SAMPLE,
};

static const struct damon_sysfs_file damon_sysfs_intervals_goal_files[] = {
	[DAMON_SYSFS_INTERVALS_GOAL_ACCESS_BP] =
		DAMON_SYSFS_ULONG_FILE(access_bp, 0),
	[DAMON_SYSFS_INTERVALS_GOAL_AGGRS] = DAMON_SYSFS_ULONG_FILE(aggrs, 0),
	[DAMON_SYSFS_INTERVALS_GOAL_MIN_SAMPLE] =
		DAMON_SYSFS_ULONG_FILE(min_sample_us, 0),
	[DAMON_SYSFS_INTERVALS_GOAL_MAX_SAMPLE] =
		DAMON_SYSFS_ULONG_FILE(max_sample_us, 0),
};

static const struct damon_sysfs_type damon_sysfs_intervals_goal_type = {
	.name = "intervals_goal",
	.files = damon_sysfs_intervals_goal_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_intervals_goal_files),
};

/* monitoring_attrs/intervals/, in microseconds */
enum {
	DAMON_SYSFS_INTERVALS_SAMPLE,
	DAMON_SYSFS_INTERVALS_AGGR,
	DAMON_SYSFS_INTERVALS_UPDATE,
};

enum { DAMON_SYSFS_INTERVALS_GOAL };

static const struct damon_sysfs_type * const damon_sysfs_intervals_subdirs[] = {
	[DAMON_SYSFS_INTERVALS_GOAL] = &damon_sysfs_intervals_goal_type,
};

static const struct damon_sysfs_file damon_sysfs_intervals_files[] = {
	[DAMON_SYSFS_INTERVALS_SAMPLE] = DAMON_SYSFS_ULONG_FILE(sample_us,
			DAMON_DEFAULT_SAMPLE_INTERVAL),
	[DAMON_SYSFS_INTERVALS_AGGR] = DAMON_SYSFS_ULONG_FILE(aggr_us,
			DAMON_DEFAULT_AGGR_INTERVAL),
	[DAMON_SYSFS_INTERVALS_UPDATE] = DAMON_SYSFS_ULONG_FILE(update_us,
			DAMON_DEFAULT_OPS_UPDATE_INTERVAL),
};

static const struct damon_sysfs_type damon_sysfs_intervals_type = {
	.name = "intervals",
	.files = damon_sysfs_intervals_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_intervals_files),
	.subdirs = damon_sysfs_intervals_subdirs,
	.nr_subdirs = ARRAY_SIZE(damon_sysfs_intervals_subdirs),
};

/* monitoring_attrs/nr_regions/ */
enum { DAMON_SYSFS_NR_REGIONS_MIN, DAMON_SYSFS_NR_REGIONS_MAX };

static const struct damon_sysfs_file damon_sysfs_nr_regions_files[] = {
	[DAMON_SYSFS_NR_REGIONS_MIN] = DAMON_SYSFS_ULONG_FILE(min,
			DAMON_DEFAULT_MIN_NR_REGIONS),
	[DAMON_SYSFS_NR_REGIONS_MAX] = DAMON_SYSFS_ULONG_FILE(max,
			DAMON_DEFAULT_MAX_NR_REGIONS),
};

static const struct damon_sysfs_type damon_sysfs_nr_regions_type = {
	.name = "nr_regions",
	.files = damon_sysfs_nr_regions_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_nr_regions_files),
};

/* contexts/<C>/monitoring_attrs/ */
enum { DAMON_SYSFS_ATTRS_INTERVALS, DAMON_SYSFS_ATTRS_NR_REGIONS };

static const struct damon_sysfs_type * const damon_sysfs_attrs_subdirs[] = {
	[DAMON_SYSFS_ATTRS_INTERVALS] = &damon_sysfs_intervals_type,
	[DAMON_SYSFS_ATTRS_NR_REGIONS] = &damon_sysfs_nr_regions_type,
};

static const struct damon_sysfs_type damon_sysfs_attrs_type = {
	.name = "monitoring_attrs",
	.subdirs = damon_sysfs_attrs_subdirs,
	.nr_subdirs = ARRAY_SIZE(damon_sysfs_attrs_subdirs),
};

/* contexts/<C>/ */

/* Keywords of the operations sets, indexed by &enum damon_ops_id. */
static const char * const damon_sysfs_ops_keywords[] = {
	[DAMON_OPS_VADDR] = "vaddr",
	[DAMON_OPS_FVADDR] = "fvaddr",
	[DAMON_OPS_PADDR] = "paddr",
	NULL
};

static ssize_t avail_operations_show(struct kobject *kobj,
				     struct kobj_attribute *attr, char *buf)
{
	enum damon_ops_id id;
	int len = 0;

	for (id = 0; id < NR_DAMON_OPS; id++)
		if (damon_is_registered_ops(id))
			len += sysfs_emit_at(buf, len, "%s\n",
					     damon_sysfs_ops_keywords[id]);
	return len;
}

enum { DAMON_SYSFS_CONTEXT_AVAIL_OPS, DAMON_SYSFS_CONTEXT_OPS };
enum {
	DAMON_SYSFS_CONTEXT_ATTRS,
	DAMON_SYSFS_CONTEXT_TARGETS,
	DAMON_SYSFS_CONTEXT_SCHEMES,
};

static const struct damon_sysfs_file damon_sysfs_context_files[] = {
	[DAMON_SYSFS_CONTEXT_AVAIL_OPS] =
		DAMON_SYSFS_CUSTOM_FILE(avail_operations, 0400,
					avail_operations_show, NULL),
	[DAMON_SYSFS_CONTEXT_OPS] = DAMON_SYSFS_FILE(operations, 0600,
			DAMON_SYSFS_KEYWORD, 0, 0, DAMON_OPS_VADDR,
			damon_sysfs_ops_keywords),
};

static const struct damon_sysfs_type * const damon_sysfs_context_subdirs[] = {
	[DAMON_SYSFS_CONTEXT_ATTRS] = &damon_sysfs_attrs_type,
	[DAMON_SYSFS_CONTEXT_TARGETS] = &damon_sysfs_targets_type,
	[DAMON_SYSFS_CONTEXT_SCHEMES] = &damon_sysfs_schemes_type,
};

static const struct damon_sysfs_type damon_sysfs_context_type = {
	.files = damon_sysfs_context_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_context_files),
	.subdirs = damon_sysfs_context_subdirs,
	.nr_subdirs = ARRAY_SIZE(damon_sysfs_context_subdirs),
};

/* kdamonds/<K>/contexts/: one context per kdamond. */
static const struct damon_sysfs_file damon_sysfs_contexts_files[] = {
	DAMON_SYSFS_NR_FILE(nr_contexts, 1),
};

static const struct damon_sysfs_type damon_sysfs_contexts_type = {
	.name = "contexts",
	.files = damon_sysfs_contexts_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_contexts_files),
	.child = &damon_sysfs_context_type,
};

/* kdamonds/<K>/: state and pid are below, with the commands. */
static ssize_t state_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf);
static ssize_t state_store(struct kobject *kobj, struct kobj_attribute *attr,
			   const char *buf, size_t count);
static ssize_t pid_show(struct kobject *kobj, struct kobj_attribute *attr,
			char *buf);

enum {
	DAMON_SYSFS_KDAMOND_STATE,
	DAMON_SYSFS_KDAMOND_PID,
	DAMON_SYSFS_KDAMOND_REFRESH_MS,
};

enum { DAMON_SYSFS_KDAMOND_CONTEXTS };

static const struct damon_sysfs_file damon_sysfs_kdamond_files[] = {
	[DAMON_SYSFS_KDAMOND_STATE] = DAMON_SYSFS_CUSTOM_FILE(state, 0600,
			state_show, state_store),
	[DAMON_SYSFS_KDAMOND_PID] =
		DAMON_SYSFS_CUSTOM_FILE(pid, 0400, pid_show, NULL),
	/* Read by the kdamond without the lock: see damon_sysfs_refresh(). */
	[DAMON_SYSFS_KDAMOND_REFRESH_MS] =
		DAMON_SYSFS_ULONG_FILE(refresh_ms, 0),
};

static const struct damon_sysfs_type * const damon_sysfs_kdamond_subdirs[] = {
	[DAMON_SYSFS_KDAMOND_CONTEXTS] = &damon_sysfs_contexts_type,
};

/**
 * struct damon_sysfs_kdamond - What a kdamond directory last started.
 * @ctx:	The context, kept after it stopped to show its state.
 * @node:	The kdamond directory, which stays while @ctx runs.
 * @refresh:	The repeated damon_call() request of damon_sysfs_refresh().
 * @last_refresh: get_jiffies_64() at the last refresh; the kdamond's.
 *
 * &damon_sysfs_node.private of the kdamond directory.  The kdamond may use
 * @refresh until it stopped, so this goes with @ctx, whose destruction
 * waits for that.
 */
struct damon_sysfs_kdamond {
	struct damon_ctx *ctx;
	struct damon_sysfs_node *node;
	struct damon_call_control refresh;
	u64 last_refresh;
};

static void damon_sysfs_kdamond_free(struct damon_sysfs_kdamond *kd)
{
	damon_destroy_ctx(kd->ctx);
	kfree(kd);
}

static void damon_sysfs_kdamond_release(struct damon_sysfs_node *kdamond)
{
	damon_sysfs_kdamond_free(kdamond->private);
}

/* The context a kdamond directory last started, or NULL. */
static struct damon_ctx *damon_sysfs_ctx_of(struct damon_sysfs_node *kdamond)
{
	struct damon_sysfs_kdamond *kd = kdamond->private;

	return kd ? kd->ctx : NULL;
}

static const struct damon_sysfs_type damon_sysfs_kdamond_type = {
	.files = damon_sysfs_kdamond_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_kdamond_files),
	.subdirs = damon_sysfs_kdamond_subdirs,
	.nr_subdirs = ARRAY_SIZE(damon_sysfs_kdamond_subdirs),
	.private_release = damon_sysfs_kdamond_release,
};

/* kdamonds/ */
static int damon_sysfs_kdamonds_may_resize(struct damon_sysfs_node *kdamonds)
{
	struct damon_ctx *ctx;
	unsigned int i;

	for (i = 0; i < kdamonds->nr_children; i++) {
		ctx = damon_sysfs_ctx_of(kdamonds->children[i]);
		if (ctx && damon_is_running(ctx))
			return -EBUSY;
	}
	return 0;
}

static const struct damon_sysfs_file damon_sysfs_kdamonds_files[] = {
	DAMON_SYSFS_NR_FILE(nr_kdamonds, DAMON_SYSFS_MAX_KDAMONDS),
};

static const struct damon_sysfs_type damon_sysfs_kdamonds_type = {
	.name = "kdamonds",
	.files = damon_sysfs_kdamonds_files,
	.nr_files = ARRAY_SIZE(damon_sysfs_kdamonds_files),
	.child = &damon_sysfs_kdamond_type,
	.may_resize = damon_sysfs_kdamonds_may_resize,
};

/* admin/ */
static const struct damon_sysfs_type * const damon_sysfs_admin_subdirs[] = {
	&damon_sysfs_kdamonds_type,
};

static const struct damon_sysfs_type damon_sysfs_admin_type = {
	.name = "admin",
	.subdirs = damon_sysfs_admin_subdirs,
	.nr_subdirs = ARRAY_SIZE(damon_sysfs_admin_subdirs),
};

/* === From the tree to a context === */

static struct damon_sysfs_node *
damon_sysfs_subdir(struct damon_sysfs_node *node, unsigned int idx)
{
	return node->subdirs[idx];
}

static int damon_sysfs_add_regions(struct damon_target *t,
				   struct damon_sysfs_node *regions)
{
	struct damon_sysfs_node *region;
	unsigned long start, end;
	struct damon_region *r;
	unsigned int i;

	for (i = 0; i < regions->nr_children; i++) {
		region = regions->children[i];
		start = damon_sysfs_val(region, DAMON_SYSFS_REGION_START);
		end = damon_sysfs_val(region, DAMON_SYSFS_REGION_END);
		r = damon_new_region(start, end);
		if (!r)
			return -ENOMEM;
		/* damon_commit_ctx() checks they are sorted and disjoint. */
		damon_add_region(r, t);
	}
	return 0;
}

static int damon_sysfs_add_targets(struct damon_ctx *ctx,
				   struct damon_sysfs_node *targets)
{
	struct damon_sysfs_node *target, *regions;
	struct damon_target *t;
	unsigned int i;
	int err, pid;

	for (i = 0; i < targets->nr_children; i++) {
		target = targets->children[i];
		t = damon_new_target();
		if (!t)
			return -ENOMEM;
		damon_add_target(ctx, t);
		if (damon_target_has_pid(ctx)) {
			pid = damon_sysfs_val(target, DAMON_SYSFS_TARGET_PID);
			t->pid = find_get_pid(pid);
			if (!t->pid)
				return -EINVAL;
		}
		regions = damon_sysfs_subdir(target,
					     DAMON_SYSFS_TARGET_REGIONS);
		err = damon_sysfs_add_regions(t, regions);
		if (err)
			return err;
	}
	return 0;
}

/* Fill @a from the monitoring_attrs directory @attrs. */
static void damon_sysfs_read_attrs(struct damon_sysfs_node *attrs,
				   struct damon_attrs *a)
{
	struct damon_sysfs_node *iv, *nr, *goal;

	iv = damon_sysfs_subdir(attrs, DAMON_SYSFS_ATTRS_INTERVALS);
	nr = damon_sysfs_subdir(attrs, DAMON_SYSFS_ATTRS_NR_REGIONS);
	goal = damon_sysfs_subdir(iv, DAMON_SYSFS_INTERVALS_GOAL);
	*a = (struct damon_attrs) {
		.sample_interval = damon_sysfs_val(iv,
					DAMON_SYSFS_INTERVALS_SAMPLE),
		.aggr_interval = damon_sysfs_val(iv,
					DAMON_SYSFS_INTERVALS_AGGR),
		.ops_update_interval = damon_sysfs_val(iv,
					DAMON_SYSFS_INTERVALS_UPDATE),
		.min_nr_regions = damon_sysfs_val(nr,
					DAMON_SYSFS_NR_REGIONS_MIN),
		.max_nr_regions = damon_sysfs_val(nr,
					DAMON_SYSFS_NR_REGIONS_MAX),
		.intervals_goal = {
			.access_bp = damon_sysfs_val(goal,
					DAMON_SYSFS_INTERVALS_GOAL_ACCESS_BP),
			.aggrs = damon_sysfs_val(goal,
					DAMON_SYSFS_INTERVALS_GOAL_AGGRS),
			.min_sample_us = damon_sysfs_val(goal,
					DAMON_SYSFS_INTERVALS_GOAL_MIN_SAMPLE),
			.max_sample_us = damon_sysfs_val(goal,
					DAMON_SYSFS_INTERVALS_GOAL_MAX_SAMPLE),
		},
	};
}

/*
 * Build the context the files below @kdamond describe: not a running one
 * but the description damon_commit_ctx() takes, so its checks are the only
 * ones and they are the same for "on" and "commit".  Only an operations set
 * that is not registered fails earlier, when it is selected.
 */
static int damon_sysfs_build_ctx(struct damon_sysfs_node *kdamond,
				 struct damon_ctx **ctxp)
{
	struct damon_sysfs_node *contexts, *context, *targets, *schemes;
	struct damon_ctx *ctx;
	int err;

	lockdep_assert_held(&damon_sysfs_lock);
	contexts = damon_sysfs_subdir(kdamond, DAMON_SYSFS_KDAMOND_CONTEXTS);
	if (contexts->nr_children != 1)
		return -EINVAL;
	context = contexts->children[0];
	targets = damon_sysfs_subdir(context, DAMON_SYSFS_CONTEXT_TARGETS);
	schemes = damon_sysfs_subdir(context, DAMON_SYSFS_CONTEXT_SCHEMES);

	ctx = damon_new_ctx();
	if (!ctx)
		return -ENOMEM;
	damon_sysfs_read_attrs(damon_sysfs_subdir(context,
						  DAMON_SYSFS_CONTEXT_ATTRS),
			       &ctx->attrs);
	/* What the targets need, a pid or not, is the set's to say. */
	err = damon_select_ops(ctx, damon_sysfs_val(context,
						    DAMON_SYSFS_CONTEXT_OPS));
	if (!err)
		err = damon_sysfs_add_targets(ctx, targets);
	if (!err)
		err = damon_sysfs_add_schemes(ctx, schemes);
	if (err) {
		damon_destroy_ctx(ctx);
		return err;
	}
	*ctxp = ctx;
	return 0;
}

/* === Commands === */

/**
 * damon_sysfs_schemes_of() - Find the schemes directory of a kdamond.
 * @kd:		The kdamond directory; damon_sysfs_lock is held.
 *
 * Return: the schemes directory of its context, or NULL if it has none.
 */
struct damon_sysfs_node *damon_sysfs_schemes_of(struct damon_sysfs_node *kd)
{
	struct damon_sysfs_node *contexts;

	lockdep_assert_held(&damon_sysfs_lock);
	contexts = damon_sysfs_subdir(kd, DAMON_SYSFS_KDAMOND_CONTEXTS);
	if (kd->removed || contexts->nr_children != 1)
		return NULL;
	return damon_sysfs_subdir(contexts->children[0],
				  DAMON_SYSFS_CONTEXT_SCHEMES);
}

/**
 * damon_sysfs_running_ctx() - Find the running context of a kdamond.
 * @kdamond:	The kdamond directory; damon_sysfs_lock is held.
 * @schemes:	Where to store its schemes directory.
 *
 * The context stays while the lock is held.
 *
 * Return: the context, or NULL if it does not run or has no directory.
 */
struct damon_ctx *damon_sysfs_running_ctx(struct damon_sysfs_node *kdamond,
					  struct damon_sysfs_node **schemes)
{
	struct damon_ctx *ctx = damon_sysfs_ctx_of(kdamond);

	*schemes = damon_sysfs_schemes_of(kdamond);
	if (!*schemes || !ctx || !damon_is_running(ctx))
		return NULL;
	return ctx;
}

/*
 * The intervals directory of a kdamond's context, or NULL if it has none;
 * damon_sysfs_lock is held.
 */
static struct damon_sysfs_node *
damon_sysfs_intervals_of(struct damon_sysfs_node *kdamond)
{
	struct damon_sysfs_node *contexts, *attrs;

	lockdep_assert_held(&damon_sysfs_lock);
	contexts = damon_sysfs_subdir(kdamond, DAMON_SYSFS_KDAMOND_CONTEXTS);
	if (kdamond->removed || contexts->nr_children != 1)
		return NULL;
	attrs = damon_sysfs_subdir(contexts->children[0],
				   DAMON_SYSFS_CONTEXT_ATTRS);
	return damon_sysfs_subdir(attrs, DAMON_SYSFS_ATTRS_INTERVALS);
}

/*
 * Copy the intervals @ctx works with, tuned or not, into @intervals: in the
 * kdamond of @ctx, with damon_sysfs_lock held for it, as for
 * damon_sysfs_set_schemes_results().
 */
static void damon_sysfs_set_intervals(struct damon_sysfs_node *intervals,
				      struct damon_ctx *ctx)
{
	damon_sysfs_set_val(intervals, DAMON_SYSFS_INTERVALS_SAMPLE,
			    ctx->attrs.sample_interval);
	damon_sysfs_set_val(intervals, DAMON_SYSFS_INTERVALS_AGGR,
			    ctx->attrs.aggr_interval);
}

/*
 * Copy what update_schemes_stats, update_schemes_effective_quotas and
 * update_tuned_intervals would into the files of @kd, if refresh_ms says
 * it is time.  The kdamond calls this at every sampling interval, so the
 * common case, not yet, is a read of refresh_ms and of jiffies.  Turning
 * @kd's kdamond off holds damon_sysfs_lock while it waits for the kdamond
 * to stop, so this only tries the lock, and tries again the next time.
 */
static int damon_sysfs_refresh(void *data)
{
	struct damon_sysfs_kdamond *kd = data;
	struct damon_sysfs_node *schemes, *intervals;
	unsigned long refresh_ms;
	u64 now;

	/* Written under the lock: the latest value takes effect at once. */
	refresh_ms =
		READ_ONCE(kd->node->vals[DAMON_SYSFS_KDAMOND_REFRESH_MS].num);
	if (!refresh_ms)
		return 0;
	/* Elapsed time in ms, not refresh_ms in jiffies: nothing overflows. */
	now = get_jiffies_64();
	if (jiffies64_to_msecs(now - kd->last_refresh) < refresh_ms)
		return 0;
	if (!mutex_trylock(&damon_sysfs_lock))
		return 0;
	schemes = damon_sysfs_schemes_of(kd->node);
	if (schemes)
		damon_sysfs_set_schemes_results(schemes, kd->ctx,
						DAMON_SYSFS_SCHEMES_STATS |
						DAMON_SYSFS_SCHEMES_QUOTAS);
	/* Untuned, they are as committed: leave what waits for a commit. */
	intervals = damon_sysfs_intervals_of(kd->node);
	if (intervals && kd->ctx->attrs.intervals_goal.aggrs)
		damon_sysfs_set_intervals(intervals, kd->ctx);
	mutex_unlock(&damon_sysfs_lock);
	kd->last_refresh = now;
	return 0;
}

/*
 * Start @kdamond's kdamond from its files; on success it is
 * &damon_sysfs_node.private of @kdamond.
 */
static int damon_sysfs_start(struct damon_sysfs_node *kdamond,
			     struct damon_ctx *desc)
{
	struct damon_sysfs_kdamond *kd;
	int err;

	kd = kzalloc(sizeof(*kd), GFP_KERNEL);
	if (!kd)
		return -ENOMEM;
	kd->ctx = damon_new_ctx();
	if (!kd->ctx) {
		kfree(kd);
		return -ENOMEM;
	}
	kd->node = kdamond;
	err = damon_commit_ctx(kd->ctx, desc);
	if (!err)
		err = damon_start(&kd->ctx, 1, false);
	if (err) {
		damon_sysfs_kdamond_free(kd);
		return err;
	}
	/*
	 * Queued whatever refresh_ms is, so that a later write of it takes
	 * effect.  This fails only if the kdamond stopped by itself already,
	 * and then there is nothing to refresh.
	 */
	kd->last_refresh = get_jiffies_64();
	kd->refresh = (struct damon_call_control) {
		.fn = damon_sysfs_refresh,
		.data = kd,
		.repeat = true,
	};
	damon_call(kd->ctx, &kd->refresh);
	kdamond->private = kd;
	return 0;
}

static int damon_sysfs_turn_on(struct damon_sysfs_node *kdamond)
{
	struct damon_sysfs_kdamond *old = kdamond->private;
	struct damon_ctx *desc;
	int err;

	/* A command still waits on the old context, or it still runs. */
	if (kdamond->users || (old && damon_is_running(old->ctx)))
		return -EBUSY;
	err = damon_sysfs_build_ctx(kdamond, &desc);
	if (err)
		return err;
	err = damon_sysfs_start(kdamond, desc);
	if (!err && old)
		damon_sysfs_kdamond_free(old);
	damon_destroy_ctx(desc);
	return err;
}

static int damon_sysfs_turn_off(struct damon_sysfs_node *kdamond)
{
	struct damon_ctx *ctx = damon_sysfs_ctx_of(kdamond);

	if (!ctx)
		return -EINVAL;
	return damon_stop(&ctx, 1);
}

/* What a commit hands to the kdamond. */
struct damon_sysfs_commit {
	struct damon_ctx *dst, *src;
};

static int damon_sysfs_commit_fn(void *data)
{
	struct damon_sysfs_commit *commit = data;

	return damon_commit_ctx(commit->dst, commit->src);
}

static int damon_sysfs_commit(struct damon_sysfs_node *kdamond)
{
	struct damon_sysfs_commit commit = {
		.dst = damon_sysfs_ctx_of(kdamond),
	};
	struct damon_call_control control = {
		.fn = damon_sysfs_commit_fn,
		.data = &commit,
	};
	int err;

	if (!commit.dst || !damon_is_running(commit.dst))
		return -EINVAL;
	err = damon_sysfs_build_ctx(kdamond, &commit.src);
	if (err)
		return err;
	/* -EINVAL, too, if the kdamond stopped by itself meanwhile. */
	err = damon_call(commit.dst, &control);
	if (!err)
		err = control.return_code;
	damon_destroy_ctx(commit.src);
	return err;
}

static int damon_sysfs_update_schemes_of(struct damon_sysfs_node *kdamond,
					 unsigned int what)
{
	struct damon_sysfs_node *schemes;
	struct damon_ctx *ctx = damon_sysfs_running_ctx(kdamond, &schemes);

	if (!ctx)
		return -EINVAL;
	return damon_sysfs_update_schemes(schemes, ctx, what);
}

static int damon_sysfs_update_stats(struct damon_sysfs_node *kdamond)
{
	return damon_sysfs_update_schemes_of(kdamond,
					     DAMON_SYSFS_SCHEMES_STATS);
}

static int damon_sysfs_update_quotas(struct damon_sysfs_node *kdamond)
{
	return damon_sysfs_update_schemes_of(kdamond,
					     DAMON_SYSFS_SCHEMES_QUOTAS);
}

static int damon_sysfs_commit_quota_goals(struct damon_sysfs_node *kdamond)
{
	struct damon_sysfs_node *schemes;
	struct damon_ctx *ctx = damon_sysfs_running_ctx(kdamond, &schemes);

	if (!ctx)
		return -EINVAL;
	return damon_sysfs_commit_goals(schemes, ctx);
}

/* What update_tuned_intervals has the kdamond copy. */
struct damon_sysfs_intervals {
	struct damon_sysfs_node *node;
	struct damon_ctx *ctx;
};

static int damon_sysfs_copy_intervals(void *data)
{
	struct damon_sysfs_intervals *iv = data;

	damon_sysfs_set_intervals(iv->node, iv->ctx);
	return 0;
}

static int damon_sysfs_update_tuned_intervals(struct damon_sysfs_node *kdamond)
{
	struct damon_sysfs_intervals iv = {
		.node = damon_sysfs_intervals_of(kdamond),
		.ctx = damon_sysfs_ctx_of(kdamond),
	};
	struct damon_call_control control = {
		.fn = damon_sysfs_copy_intervals,
		.data = &iv,
	};

	if (!iv.node || !iv.ctx)
		return -EINVAL;
	/* The kdamond writes the files, under the lock held here for it. */
	return damon_call(iv.ctx, &control);
}

static int damon_sysfs_update_tried_bytes(struct damon_sysfs_node *kdamond)
{
	return damon_sysfs_update_tried(kdamond, true);
}

static int damon_sysfs_update_tried_regions(struct damon_sysfs_node *kdamond)
{
	return damon_sysfs_update_tried(kdamond, false);
}

/*
 * The keywords of the state file, and what each does.  Most run under
 * damon_sysfs_lock; those that replace directories take it themselves.
 */
static const struct damon_sysfs_command {
	const char *keyword;
	int (*fn)(struct damon_sysfs_node *kdamond);
	bool unlocked;
} damon_sysfs_commands[] = {
	{ "on", damon_sysfs_turn_on },
	{ "off", damon_sysfs_turn_off },
	{ "commit", damon_sysfs_commit },
	{ "commit_schemes_quota_goals", damon_sysfs_commit_quota_goals },
	{ "update_schemes_stats", damon_sysfs_update_stats },
	{ "update_schemes_tried_bytes", damon_sysfs_update_tried_bytes, true },
	{ "update_schemes_tried_regions", damon_sysfs_update_tried_regions,
	  true },
	{ "clear_schemes_tried_regions", damon_sysfs_clear_tried, true },
	{ "update_schemes_effective_quotas", damon_sysfs_update_quotas },
	{ "update_tuned_intervals", damon_sysfs_update_tuned_intervals },
};

static ssize_t state_store(struct kobject *kobj, struct kobj_attribute *attr,
			   const char *buf, size_t count)
{
	struct damon_sysfs_node *kdamond = damon_sysfs_to_node(kobj);
	const struct damon_sysfs_command *cmd = NULL;
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(damon_sysfs_commands); i++)
		if (sysfs_streq(buf, damon_sysfs_commands[i].keyword))
			cmd = &damon_sysfs_commands[i];
	if (!cmd)
		return -EINVAL;
	if (cmd->unlocked) {
		err = cmd->fn(kdamond);
		return err ? err : count;
	}

	mutex_lock(&damon_sysfs_lock);
	if (kdamond->removed)
		err = -ENODEV;
	else
		err = cmd->fn(kdamond);
	mutex_unlock(&damon_sysfs_lock);
	return err ? err : count;
}

static ssize_t state_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	struct damon_sysfs_node *kdamond = damon_sysfs_to_node(kobj);
	struct damon_ctx *ctx;
	bool on;

	mutex_lock(&damon_sysfs_lock);
	ctx = damon_sysfs_ctx_of(kdamond);
	on = ctx && damon_is_running(ctx);
	mutex_unlock(&damon_sysfs_lock);
	return sysfs_emit(buf, "%s\n", on ? "on" : "off");
}

static ssize_t pid_show(struct kobject *kobj, struct kobj_attribute *attr,
			char *buf)
{
	struct damon_sysfs_node *kdamond = damon_sysfs_to_node(kobj);
	struct damon_ctx *ctx;
	int pid = -1;

	mutex_lock(&damon_sysfs_lock);
	ctx = damon_sysfs_ctx_of(kdamond);
	if (ctx)
		pid = damon_kdamond_pid(ctx);
	mutex_unlock(&damon_sysfs_lock);
	return sysfs_emit(buf, "%d\n", pid);
}

/* === Initialization === */

static int __init damon_sysfs_init(void)
{
	struct kobject *damon = kobject_create_and_add("damon", mm_kobj);
	struct damon_sysfs_node *admin = NULL;
	int err;

	if (!damon)
		return -ENOMEM;
	scoped_guard(mutex, &damon_sysfs_lock) {
		err = damon_sysfs_node_create(&damon_sysfs_admin_type, damon,
					      damon_sysfs_admin_type.name,
					      &admin);
		/* A half-built tree goes the way a removed directory does. */
		if (err && admin)
			damon_sysfs_node_mark_removed(admin);
	}
	if (!err)
		return 0;
	if (admin)
		damon_sysfs_node_put_tree(admin);
	kobject_put(damon);
	pr_err("cannot create the sysfs interface: %d\n", err);
	return err;
}
subsys_initcall(damon_sysfs_init);
