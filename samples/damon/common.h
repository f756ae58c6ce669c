/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the DAMON samples share: a context with one target, or with a
 * process as its target, to build on, and the enable parameter that starts
 * and stops a sample's kdamonds.
 *
 * The samples are built in, so enable can be set on the kernel command
 * line, long before DAMON can start a kdamond: until the sample's initcall
 * ran, the switch only notes what was asked, and the initcall acts on it.
 * Reading enable tells whether the kdamonds really run, whatever was
 * written last: a kdamond ends by itself once its target process exits.
 *
 * Writes and reads of the parameters of built-in code take the parameter
 * lock, and so does damon_sample_init(): that serializes everything below.
 */

#ifndef _SAMPLES_DAMON_COMMON_H
#define _SAMPLES_DAMON_COMMON_H

#include <linux/damon.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/printk.h>

/**
 * damon_sample_new_ctx() - Make a context with one target.
 * @ops:	The operations set of the context.
 * @ctxp:	Where to store the context.
 * @targetp:	Where to store its target, for the caller to point at what
 *		to monitor.
 *
 * Nothing is stored, and nothing is left behind, on failure.
 *
 * Return: 0, -ENOMEM, or -EINVAL if @ops is not registered.
 */
static inline int damon_sample_new_ctx(enum damon_ops_id ops,
				       struct damon_ctx **ctxp,
				       struct damon_target **targetp)
{
	struct damon_ctx *ctx = damon_new_ctx();
	struct damon_target *target;
	int err = -ENOMEM;

	if (!ctx)
		return err;
	target = damon_new_target();
	if (target) {
		damon_add_target(ctx, target);
		err = damon_select_ops(ctx, ops);
	}
	if (err) {
		damon_destroy_ctx(ctx);
		return err;
	}
	*ctxp = ctx;
	*targetp = target;
	return 0;
}

/**
 * damon_sample_new_proc_ctx() - Make a context that monitors one process.
 * @pid:	The process, in the pid namespace of the caller.
 * @ctxp:	Where to store the context.
 *
 * Nothing is stored, and nothing is left behind, on failure.
 *
 * Return: 0, -ENOMEM, or -EINVAL if no process has @pid.
 */
static inline int damon_sample_new_proc_ctx(int pid, struct damon_ctx **ctxp)
{
	struct damon_target *target;
	struct damon_ctx *ctx;
	int err;

	err = damon_sample_new_ctx(DAMON_OPS_VADDR, &ctx, &target);
	if (err)
		return err;
	/* The target owns the reference from here on. */
	target->pid = find_get_pid(pid);
	if (!target->pid) {
		damon_destroy_ctx(ctx);
		return -EINVAL;
	}
	*ctxp = ctx;
	return 0;
}

/**
 * struct damon_sample_switch - The on/off switch of a DAMON sample.
 * @ctxs:	The sample's contexts; NULLs while it is off.
 * @nr_ctxs:	The number of @ctxs.
 * @start:	Fills @ctxs and starts their kdamonds.  Returns 0 or an
 *		error; the contexts it leaves in @ctxs then are freed for it.
 * @report:	If set, run by the kdamond of the first context after every
 *		aggregation interval once @start succeeded, with that context
 *		as argument; what it returns is ignored.
 * @report_control: The damon_call() request that repeats @report.
 * @enable:	What the kernel command line asked, for the initcall.
 * @initialized: Whether the initcall ran: before, no kdamond can start.
 *
 * Give one as the argument of an enable parameter of
 * &damon_sample_enable_ops, and to damon_sample_init() in the initcall.
 */
struct damon_sample_switch {
	struct damon_ctx **ctxs;
	int nr_ctxs;
	int (*start)(void);
	int (*report)(void *ctx);
	struct damon_call_control report_control;
	bool enable;
	bool initialized;
};

/* Stop the kdamonds of @sw, if any still run, and free its contexts. */
static inline void damon_sample_off(struct damon_sample_switch *sw)
{
	int i;

	for (i = 0; i < sw->nr_ctxs; i++) {
		/* A running kdamond is stopped before its context goes. */
		if (sw->ctxs[i])
			damon_destroy_ctx(sw->ctxs[i]);
		sw->ctxs[i] = NULL;
	}
}

/* Whether every kdamond of @sw runs. */
static inline bool damon_sample_running(struct damon_sample_switch *sw)
{
	int i;

	for (i = 0; i < sw->nr_ctxs; i++) {
		if (!sw->ctxs[i] || !damon_is_running(sw->ctxs[i]))
			return false;
	}
	return true;
}

static inline int damon_sample_on(struct damon_sample_switch *sw)
{
	int err;

	if (damon_sample_running(sw))
		return 0;
	/* Contexts of which a kdamond ended by itself make way for new ones. */
	damon_sample_off(sw);
	err = sw->start();
	if (err) {
		damon_sample_off(sw);
		return err;
	}
	pr_info("start\n");
	if (sw->report) {
		sw->report_control = (struct damon_call_control) {
			.fn = sw->report,
			.data = sw->ctxs[0],
			.repeat = true,
			.after_aggregation = true,
		};
		/* Fails only if the kdamond ended already: nothing to report. */
		damon_call(sw->ctxs[0], &sw->report_control);
	}
	return 0;
}

static inline int damon_sample_enable_set(const char *val,
					  const struct kernel_param *kp)
{
	struct damon_sample_switch *sw = kp->arg;
	bool on;
	int err;

	err = kstrtobool(val, &on);
	if (err)
		return err;
	if (!sw->initialized) {
		sw->enable = on;
		return 0;
	}
	if (on)
		return damon_sample_on(sw);
	if (sw->ctxs[0])
		pr_info("stop\n");
	damon_sample_off(sw);
	return 0;
}

static inline int damon_sample_enable_get(char *buffer,
					  const struct kernel_param *kp)
{
	struct damon_sample_switch *sw = kp->arg;
	bool on = sw->initialized ? damon_sample_running(sw) : sw->enable;

	return sprintf(buffer, "%c\n", on ? 'Y' : 'N');
}

static const struct kernel_param_ops damon_sample_enable_ops = {
	.set = damon_sample_enable_set,
	.get = damon_sample_enable_get,
};

/*
 * For the initcall of a sample: kdamonds can start from now on; start
 * those of @sw if the kernel command line asked for it.
 */
static inline int damon_sample_init(struct damon_sample_switch *sw)
{
	int err = 0;

	kernel_param_lock(THIS_MODULE);
	sw->initialized = true;
	if (sw->enable)
		err = damon_sample_on(sw);
	kernel_param_unlock(THIS_MODULE);
	return err;
}

#endif /* _SAMPLES_DAMON_COMMON_H */
