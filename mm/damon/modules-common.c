// SPDX-License-Identifier: GPL-2.0
/*
 * What the DAMON modules share: building a context from module parameters,
 * the "enabled", "commit_inputs" and "kdamond_pid" parameters, and the
 * read-only statistics the kdamond copies out.
 *
 * A context is built afresh from the parameters whenever they are used: to
 * start a kdamond, or to hand them to a running one, which takes them over
 * with damon_commit_ctx() through damon_call().  Parameters are checked
 * while the fresh context is built, before anything runs or changes, so a
 * bad one fails the write and leaves a running kdamond as it was.
 */

#define pr_fmt(fmt) "damon-modules: " fmt

#include <linux/err.h>
#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/overflow.h>

#include "modules-common.h"

/* === Building a context === */

/* What a walk of the System RAM resources finds. */
struct damon_module_ram {
	struct damon_addr_range biggest;
	struct damon_addr_range span;
};

static int damon_module_walk_ram(struct resource *res, void *arg)
{
	struct damon_module_ram *ram = arg;
	unsigned long start = res->start;
	/* The resource's end is inclusive; one at the very top stays in. */
	unsigned long end = res->end == ULONG_MAX ? ULONG_MAX : res->end + 1;

	if (end - start > ram->biggest.end - ram->biggest.start)
		ram->biggest = (struct damon_addr_range){ start, end };
	if (ram->span.start == ram->span.end) {
		ram->span = ram->biggest;
	} else {
		ram->span.start = min(ram->span.start, start);
		ram->span.end = max(ram->span.end, end);
	}
	return 0;
}

/*
 * Whether @r holds a whole page.  Regions are widened to page alignment,
 * so a range that holds none would have DAMON act on memory outside it.
 */
static bool damon_module_holds_page(const struct damon_addr_range *r)
{
	unsigned long first = ALIGN_DOWN(r->start, PAGE_SIZE);

	if (first != r->start && check_add_overflow(first, PAGE_SIZE, &first))
		return false;
	return first < r->end && r->end - first >= PAGE_SIZE;
}

/* The physical address range @m is to monitor, into @range. */
static int damon_module_region(struct damon_module *m,
			       struct damon_addr_range *range)
{
	struct damon_module_ram ram = {};

	if (m->region && (m->region->start || m->region->end)) {
		*range = *m->region;
	} else {
		walk_system_ram_res(0, ULONG_MAX, &ram, damon_module_walk_ram);
		*range = m->region ? ram.biggest : ram.span;
	}
	return damon_module_holds_page(range) ? 0 : -EINVAL;
}

/*
 * A context on the physical address space as the parameters of @m
 * describe it, not running.  Every parameter is checked here.
 */
static struct damon_ctx *damon_module_build_ctx(struct damon_module *m)
{
	struct damon_addr_range range;
	struct damon_target *t;
	struct damon_ctx *ctx;
	int err;

	/* Valid for the core, but a kdamond without a pause helps no one. */
	if (!m->attrs->sample_interval)
		return ERR_PTR(-EINVAL);
	err = damon_module_region(m, &range);
	if (err)
		return ERR_PTR(err);

	ctx = damon_new_ctx();
	if (!ctx)
		return ERR_PTR(-ENOMEM);
	err = damon_select_ops(ctx, DAMON_OPS_PADDR);
	if (err)
		goto free;
	/* Checks the intervals and the region counts. */
	err = damon_set_attrs(ctx, m->attrs);
	if (err)
		goto free;
	t = damon_new_target();
	if (!t) {
		err = -ENOMEM;
		goto free;
	}
	damon_add_target(ctx, t);
	err = damon_set_regions(t, &range, 1);
	if (err)
		goto free;
	if (m->add_schemes) {
		err = m->add_schemes(ctx);
		if (err)
			goto free;
	}
	return ctx;
free:
	damon_destroy_ctx(ctx);
	return ERR_PTR(err);
}

/**
 * damon_module_check_wmarks() - Check watermarks a module's parameters set.
 * @wmarks:	The watermarks.
 *
 * Return: 0, or -EINVAL unless high >= mid >= low.
 */
int damon_module_check_wmarks(const struct damos_watermarks *wmarks)
{
	if (wmarks->high < wmarks->mid || wmarks->mid < wmarks->low)
		return -EINVAL;
	return 0;
}

/* === Running === */

static bool damon_module_running(struct damon_module *m)
{
	lockdep_assert_held(&m->lock);
	return m->ctx && damon_is_running(m->ctx);
}

/*
 * In the kdamond of @data, a &struct damon_module, every sample or after
 * every aggregation.
 */
static int damon_module_copy_stats(void *data)
{
	struct damon_module *m = data;

	m->copy_stats(m->ctx);
	return 0;
}

static int damon_module_start(struct damon_module *m)
{
	struct damon_ctx *ctx;
	int err;

	lockdep_assert_held(&m->lock);
	if (damon_module_running(m))
		return 0;
	ctx = damon_module_build_ctx(m);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	err = damon_start(&ctx, 1, m->exclusive);
	if (err) {
		damon_destroy_ctx(ctx);
		return err;
	}
	/* The last context, if any, stopped by itself. */
	if (m->ctx)
		damon_destroy_ctx(m->ctx);
	m->ctx = ctx;
	if (m->copy_stats) {
		m->stats_control = (struct damon_call_control){
			.fn = damon_module_copy_stats,
			.data = m,
			.repeat = true,
			.after_aggregation = m->copy_stats_after_aggregation,
		};
		/* Fails only if the kdamond is gone already: nothing to copy. */
		damon_call(ctx, &m->stats_control);
	}
	return 0;
}

static void damon_module_stop(struct damon_module *m)
{
	lockdep_assert_held(&m->lock);
	if (!m->ctx)
		return;
	/* Stops it if it still runs, and waits until its kdamond let go. */
	damon_destroy_ctx(m->ctx);
	m->ctx = NULL;
}

/* The source and destination of a commit, for damon_module_commit_fn(). */
struct damon_module_commit {
	struct damon_ctx *dst;
	struct damon_ctx *src;
};

static int damon_module_commit_fn(void *data)
{
	struct damon_module_commit *commit = data;

	return damon_commit_ctx(commit->dst, commit->src);
}

/*
 * Apply the parameters of @m to its running kdamond.  Checked in full even
 * if none runs, so that bad parameters fail the write either way; if none
 * runs, they apply at the next start.
 */
static int damon_module_commit(struct damon_module *m)
{
	struct damon_module_commit commit = { .dst = m->ctx };
	struct damon_call_control control = {
		.fn = damon_module_commit_fn,
		.data = &commit,
	};
	int err = 0;

	lockdep_assert_held(&m->lock);
	commit.src = damon_module_build_ctx(m);
	if (IS_ERR(commit.src))
		return PTR_ERR(commit.src);
	if (m->ctx) {
		err = damon_call(m->ctx, &control);
		if (!err)
			err = control.return_code;
		/* The kdamond exited before it got to it: nothing to change. */
		else if (err == -EINVAL || err == -ECANCELED)
			err = 0;
	}
	damon_destroy_ctx(commit.src);
	return err;
}

/**
 * damon_module_init() - Let a module start kdamonds; its initcall.
 * @m:	The module.
 *
 * Until now "enabled" was only remembered, as set on the kernel command
 * line: start the kdamond now if it was set.
 *
 * Return: 0, or why the kdamond asked for could not start.
 */
int damon_module_init(struct damon_module *m)
{
	int err = 0;

	mutex_lock(&m->lock);
	m->initialized = true;
	if (m->enable_at_init)
		err = damon_module_start(m);
	mutex_unlock(&m->lock);
	return err;
}

/* === Parameters === */

static int damon_module_enabled_set(const char *val,
				    const struct kernel_param *kp)
{
	struct damon_module *m = kp->arg;
	bool enable;
	int err;

	/* A bare "enabled" on the command line means Y, as for any bool. */
	err = kstrtobool(val ? val : "1", &enable);
	if (err)
		return err;
	mutex_lock(&m->lock);
	if (!m->initialized)
		m->enable_at_init = enable;
	else if (enable)
		err = damon_module_start(m);
	else
		damon_module_stop(m);
	mutex_unlock(&m->lock);
	return err;
}

static int damon_module_enabled_get(char *buf, const struct kernel_param *kp)
{
	struct damon_module *m = kp->arg;
	bool enabled;

	mutex_lock(&m->lock);
	enabled = m->initialized ? damon_module_running(m) : m->enable_at_init;
	mutex_unlock(&m->lock);
	return scnprintf(buf, PAGE_SIZE, "%c\n", enabled ? 'Y' : 'N');
}

/* "enabled": Y starts the kdamond, N stops it; reads N once it exited. */
const struct kernel_param_ops damon_module_enabled_ops = {
	.flags = KERNEL_PARAM_OPS_FL_NOARG,
	.set = damon_module_enabled_set,
	.get = damon_module_enabled_get,
};

static int damon_module_commit_inputs_set(const char *val,
					  const struct kernel_param *kp)
{
	struct damon_module *m = kp->arg;
	bool commit;
	int err;

	err = kstrtobool(val, &commit);
	if (err || !commit)
		return err;
	mutex_lock(&m->lock);
	/* Before the initcall nothing runs, and "enabled" reads them later. */
	if (m->initialized)
		err = damon_module_commit(m);
	mutex_unlock(&m->lock);
	return err;
}

/* The commit is done when the write returns: nothing is ever pending. */
static int damon_module_commit_inputs_get(char *buf,
					  const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "N\n");
}

/* "commit_inputs": Y applies the parameters to the running kdamond. */
const struct kernel_param_ops damon_module_commit_inputs_ops = {
	.set = damon_module_commit_inputs_set,
	.get = damon_module_commit_inputs_get,
};

/* Read-only parameters may still be named on the command line. */
static int damon_module_readonly_set(const char *val,
				     const struct kernel_param *kp)
{
	return -EPERM;
}

static int damon_module_kdamond_pid_get(char *buf,
					const struct kernel_param *kp)
{
	struct damon_module *m = kp->arg;
	int pid = -1;

	mutex_lock(&m->lock);
	if (m->ctx)
		pid = damon_kdamond_pid(m->ctx);
	mutex_unlock(&m->lock);
	return scnprintf(buf, PAGE_SIZE, "%d\n", pid);
}

/* "kdamond_pid": the pid of the kdamond, -1 while none runs. */
const struct kernel_param_ops damon_module_kdamond_pid_ops = {
	.set = damon_module_readonly_set,
	.get = damon_module_kdamond_pid_get,
};

static int damon_module_stat_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%lu\n",
			 READ_ONCE(*(unsigned long *)kp->arg));
}

/* A statistic: an unsigned long the kdamond WRITE_ONCE()s. */
const struct kernel_param_ops damon_module_stat_ops = {
	.set = damon_module_readonly_set,
	.get = damon_module_stat_get,
};
