/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit suite of damon_commit_ctx(), included by core.c after the core
 * suite, whose helpers it shares: addresses in pages (damon_test_pg()),
 * region layouts (struct damon_test_region) and the fake operations set
 * with the kdamond harness around it (struct damon_test_engine).
 */

#ifdef CONFIG_DAMON_KUNIT_TEST

#ifndef _DAMON_COMMIT_KUNIT_H
#define _DAMON_COMMIT_KUNIT_H

#include <kunit/test.h>
#include <linux/kthread.h>
#include <linux/pid.h>
#include <linux/sched/task.h>

#include "kunit-common.h"

/* === Fixtures === */

/*
 * Two distinct processes to monitor: the test's own thread (a) and
 * kthreadd (b).  The test holds a reference to each pid, so that their
 * counts can be checked to the last reference the targets take and drop.
 */
struct damon_commit_test_env {
	struct pid *a, *b;
	unsigned int base_a, base_b;
};

static void damon_commit_test_env_release(void *data)
{
	struct damon_commit_test_env *env = data;

	put_pid(env->b);
	put_pid(env->a);
}

static struct damon_commit_test_env *damon_commit_test_env(struct kunit *test)
{
	struct damon_commit_test_env *env;
	int err;

	env = kunit_kzalloc(test, sizeof(*env), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, env);
	/*
	 * Two processes whose pid references nobody else takes or drops
	 * while the test runs: init, still running initcalls when the
	 * suite runs at boot, and kthreadd.  A new thread would not do,
	 * the test's own included: the fork path drops a temporary
	 * reference to its pid only some time after it started.
	 */
	env->a = find_get_pid(1);
	env->b = find_get_pid(2);
	KUNIT_ASSERT_NOT_NULL(test, env->a);
	KUNIT_ASSERT_NOT_NULL(test, env->b);
	err = kunit_add_action_or_reset(test, damon_commit_test_env_release,
					env);
	KUNIT_ASSERT_EQ(test, err, 0);
	KUNIT_ASSERT_PTR_NE(test, env->a, env->b);
	env->base_a = refcount_read(&env->a->count);
	env->base_b = refcount_read(&env->b->count);
	return env;
}

/* Exactly @nr_a targets hold a reference to pid a, and @nr_b to pid b. */
static void damon_commit_test_expect_refs(struct kunit *test,
					  struct damon_commit_test_env *env,
					  unsigned int nr_a, unsigned int nr_b)
{
	KUNIT_EXPECT_EQ_MSG(test, refcount_read(&env->a->count),
			    env->base_a + nr_a, "references to pid a");
	KUNIT_EXPECT_EQ_MSG(test, refcount_read(&env->b->count),
			    env->base_b + nr_b, "references to pid b");
}

/* A stopped context, destroyed when the test ends or on release. */
static struct damon_ctx *damon_commit_test_ctx(struct kunit *test)
{
	struct damon_ctx *ctx = damon_new_ctx();
	int err;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	err = kunit_add_action_or_reset(test, damon_test_destroy_ctx, ctx);
	KUNIT_ASSERT_EQ(test, err, 0);
	return ctx;
}

static void damon_commit_test_release(struct kunit *test,
				      struct damon_ctx *ctx)
{
	kunit_release_action(test, damon_test_destroy_ctx, ctx);
}

/* Append a target of @pid, with a reference of its own, and @spec. */
static struct damon_target *
damon_commit_test_add_target(struct kunit *test, struct damon_ctx *ctx,
			     struct pid *pid,
			     const struct damon_test_region *spec,
			     unsigned int nr)
{
	struct damon_target *t = damon_new_target();

	KUNIT_ASSERT_NOT_NULL(test, t);
	t->pid = get_pid(pid);
	damon_add_target(ctx, t);
	damon_test_add(test, t, spec, nr);
	return t;
}

/* The @n-th target of @ctx, counting from 0. */
static struct damon_target *damon_commit_test_nth(struct kunit *test,
						  struct damon_ctx *ctx,
						  unsigned int n)
{
	struct damon_target *t;
	unsigned int i = 0;

	damon_for_each_target(t, ctx) {
		if (i++ == n)
			return t;
	}
	KUNIT_FAIL_AND_ABORT(test, "no target %u", n);
	return NULL;
}

static unsigned int damon_commit_test_nr_targets(struct damon_ctx *ctx)
{
	return list_count_nodes(&ctx->adaptive_targets);
}

/* Drop every region of @t. */
static void damon_commit_test_clear(struct damon_target *t)
{
	struct damon_region *r, *next;

	damon_for_each_region_safe(r, next, t)
		damon_destroy_region(r, t);
}

/*
 * The virtual address operations sets, which vaddr.c registers at boot.
 * The suite can also run in a kernel without them; the tests that need
 * them are skipped there.
 */
static void damon_commit_test_need_vaddr(struct kunit *test)
{
	if (!IS_ENABLED(CONFIG_DAMON_VADDR))
		kunit_skip(test, "needs CONFIG_DAMON_VADDR");
	KUNIT_ASSERT_TRUE_MSG(test, damon_is_registered_ops(DAMON_OPS_VADDR),
			      "vaddr is not registered");
	KUNIT_ASSERT_TRUE_MSG(test, damon_is_registered_ops(DAMON_OPS_FVADDR),
			      "fvaddr is not registered");
}

/* The fake set of the core suite, as a virtual address set: with pids. */
static struct damon_operations damon_commit_test_fake_ops(void)
{
	struct damon_operations ops = damon_test_ops;

	ops.id = DAMON_OPS_FVADDR;
	ops.target_needs_pid = true;
	return ops;
}

/* The fake set as a physical address set: no pids, one target. */
static const struct damon_operations damon_commit_test_pidless_ops = {
	.id = DAMON_OPS_PADDR,
	.max_nr_targets = 1,
	.init = damon_test_ops_init,
	.update = damon_test_ops_update,
	.cleanup = damon_test_ops_cleanup,
	.prepare_access_checks = damon_test_ops_prepare,
	.check_accesses = damon_test_ops_check,
	.reset_aggregated = damon_test_ops_reset,
};

/*
 * A fake set that counts on its own, to tell from the core suite's fake
 * set which one a running context uses after switching.
 */
static struct {
	atomic_t init, check, cleanup;
} damon_commit_test_seen;

static void damon_commit_test_ops2_init(struct damon_ctx *ctx)
{
	struct damon_addr_range ar = {
		.start = 0, .end = damon_test_pg(DAMON_TEST_FAKE_PAGES),
	};
	struct damon_target *t;

	damon_for_each_target(t, ctx)
		damon_set_regions(t, &ar, 1);
	atomic_inc(&damon_commit_test_seen.init);
}

static unsigned int damon_commit_test_ops2_check(struct damon_ctx *ctx)
{
	atomic_inc(&damon_commit_test_seen.check);
	return damon_test_ops_check(ctx);
}

static void damon_commit_test_ops2_cleanup(struct damon_ctx *ctx)
{
	atomic_inc(&damon_commit_test_seen.cleanup);
}

static const struct damon_operations damon_commit_test_ops2 = {
	.id = DAMON_OPS_PADDR,
	.target_needs_pid = true,
	.init = damon_commit_test_ops2_init,
	.target_valid = damon_test_ops_target_valid,
	.update = damon_test_ops_update,
	.cleanup = damon_commit_test_ops2_cleanup,
	.prepare_access_checks = damon_test_ops_prepare,
	.check_accesses = damon_commit_test_ops2_check,
	.reset_aggregated = damon_test_ops_reset,
};

/*
 * The paddr slot of the registry, borrowed as in the core suite: what it
 * held is put back however the test ends.
 */
static struct damon_operations damon_commit_test_saved_ops;
static bool damon_commit_test_saved_registered;

static void damon_commit_test_restore_paddr(void *unused)
{
	mutex_lock(&damon_ops_lock);
	damon_registered_ops[DAMON_OPS_PADDR] = damon_commit_test_saved_ops;
	damon_ops_registered[DAMON_OPS_PADDR] =
		damon_commit_test_saved_registered;
	mutex_unlock(&damon_ops_lock);
}

/* Let the slot hold @ops, or nothing if NULL, until the test ends. */
static void damon_commit_test_borrow_paddr(struct kunit *test,
					   const struct damon_operations *ops)
{
	int err;

	mutex_lock(&damon_ops_lock);
	damon_commit_test_saved_ops = damon_registered_ops[DAMON_OPS_PADDR];
	damon_commit_test_saved_registered =
		damon_ops_registered[DAMON_OPS_PADDR];
	mutex_unlock(&damon_ops_lock);
	err = kunit_add_action_or_reset(test, damon_commit_test_restore_paddr,
					NULL);
	KUNIT_ASSERT_EQ(test, err, 0);
	mutex_lock(&damon_ops_lock);
	if (ops)
		damon_registered_ops[DAMON_OPS_PADDR] = *ops;
	damon_ops_registered[DAMON_OPS_PADDR] = !!ops;
	mutex_unlock(&damon_ops_lock);
}

/* Change what the borrowed slot holds. */
static void damon_commit_test_set_paddr(const struct damon_operations *ops)
{
	mutex_lock(&damon_ops_lock);
	if (ops)
		damon_registered_ops[DAMON_OPS_PADDR] = *ops;
	damon_ops_registered[DAMON_OPS_PADDR] = !!ops;
	mutex_unlock(&damon_ops_lock);
}

/* === Snapshots of a context === */

#define DAMON_COMMIT_TEST_MAX_TARGETS	8
#define DAMON_COMMIT_TEST_MAX_REGIONS	512

struct damon_commit_test_region {
	unsigned long start, end;
	unsigned int nr_accesses, nr_accesses_bp, last_nr_accesses, age;
};

/*
 * Everything of a context damon_commit_ctx() could change.  Taken with no
 * allocation and no KUnit call, so that a kdamond can take one too.
 */
struct damon_commit_test_snap {
	struct damon_attrs attrs;
	struct damon_operations ops;
	unsigned long passed, next_aggregation_sis, next_ops_update_sis;
	unsigned long sz_limit;
	unsigned int nr_targets;
	struct damon_target *targets[DAMON_COMMIT_TEST_MAX_TARGETS];
	struct pid *pids[DAMON_COMMIT_TEST_MAX_TARGETS];
	unsigned int target_nr_regions[DAMON_COMMIT_TEST_MAX_TARGETS];
	unsigned int nr_regions;
	struct damon_commit_test_region regions[DAMON_COMMIT_TEST_MAX_REGIONS];
	bool overflow;
};

static struct damon_commit_test_snap *
damon_commit_test_snap_new(struct kunit *test)
{
	struct damon_commit_test_snap *s;

	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	return s;
}

static void damon_commit_test_snap(struct damon_commit_test_snap *s,
				   struct damon_ctx *ctx)
{
	struct damon_commit_test_region *sr;
	struct damon_target *t;
	struct damon_region *r;
	unsigned int ti = 0;

	s->attrs = ctx->attrs;
	s->ops = ctx->ops;
	s->passed = ctx->passed_sample_intervals;
	s->next_aggregation_sis = ctx->next_aggregation_sis;
	s->next_ops_update_sis = ctx->next_ops_update_sis;
	s->sz_limit = ctx->sz_limit;
	s->nr_regions = 0;
	s->overflow = false;
	damon_for_each_target(t, ctx) {
		if (ti >= DAMON_COMMIT_TEST_MAX_TARGETS) {
			s->overflow = true;
			break;
		}
		s->targets[ti] = t;
		s->pids[ti] = t->pid;
		s->target_nr_regions[ti] = damon_nr_regions(t);
		ti++;
		damon_for_each_region(r, t) {
			if (s->nr_regions >= DAMON_COMMIT_TEST_MAX_REGIONS) {
				s->overflow = true;
				break;
			}
			sr = &s->regions[s->nr_regions++];
			sr->start = r->ar.start;
			sr->end = r->ar.end;
			sr->nr_accesses = r->nr_accesses;
			sr->nr_accesses_bp = r->nr_accesses_bp;
			sr->last_nr_accesses = r->last_nr_accesses;
			sr->age = r->age;
		}
	}
	s->nr_targets = ti;
}

static void damon_commit_test_expect_same(struct kunit *test,
					  const struct damon_commit_test_snap *want,
					  const struct damon_commit_test_snap *got,
					  const char *what, int idx)
{
	const struct damon_commit_test_region *w, *g;
	unsigned int i;

	KUNIT_ASSERT_FALSE_MSG(test, want->overflow || got->overflow,
			       "%s %d: snapshot too small", what, idx);
	KUNIT_EXPECT_MEMEQ_MSG(test, &got->attrs, &want->attrs,
			       sizeof(want->attrs), "%s %d: attrs changed",
			       what, idx);
	KUNIT_EXPECT_TRUE_MSG(test, damon_test_ops_equal(&got->ops, &want->ops),
			      "%s %d: ops changed", what, idx);
	KUNIT_EXPECT_EQ_MSG(test, got->passed, want->passed,
			    "%s %d: passed_sample_intervals", what, idx);
	KUNIT_EXPECT_EQ_MSG(test, got->next_aggregation_sis,
			    want->next_aggregation_sis,
			    "%s %d: next_aggregation_sis", what, idx);
	KUNIT_EXPECT_EQ_MSG(test, got->next_ops_update_sis,
			    want->next_ops_update_sis,
			    "%s %d: next_ops_update_sis", what, idx);
	KUNIT_EXPECT_EQ_MSG(test, got->sz_limit, want->sz_limit,
			    "%s %d: sz_limit", what, idx);
	KUNIT_ASSERT_EQ_MSG(test, got->nr_targets, want->nr_targets,
			    "%s %d: number of targets", what, idx);
	for (i = 0; i < got->nr_targets; i++) {
		KUNIT_EXPECT_PTR_EQ_MSG(test, got->targets[i], want->targets[i],
					"%s %d: target %u replaced", what, idx,
					i);
		KUNIT_EXPECT_PTR_EQ_MSG(test, got->pids[i], want->pids[i],
					"%s %d: pid of target %u", what, idx,
					i);
		KUNIT_EXPECT_EQ_MSG(test, got->target_nr_regions[i],
				    want->target_nr_regions[i],
				    "%s %d: nr_regions of target %u", what,
				    idx, i);
	}
	KUNIT_ASSERT_EQ_MSG(test, got->nr_regions, want->nr_regions,
			    "%s %d: number of regions", what, idx);
	for (i = 0; i < got->nr_regions; i++) {
		w = &want->regions[i];
		g = &got->regions[i];
		if (!memcmp(w, g, sizeof(*w)))
			continue;
		KUNIT_FAIL(test,
			   "%s %d: region %u is [%#lx, %#lx) %u %u %u %u, was [%#lx, %#lx) %u %u %u %u",
			   what, idx, i, g->start, g->end, g->nr_accesses,
			   g->nr_accesses_bp, g->last_nr_accesses, g->age,
			   w->start, w->end, w->nr_accesses, w->nr_accesses_bp,
			   w->last_nr_accesses, w->age);
		break;
	}
}

/*
 * Commit @src, which is not valid, into the stopped @dst: -EINVAL, and
 * neither context nor any pid reference changed.
 */
static void damon_commit_test_refused(struct kunit *test,
				      struct damon_commit_test_env *env,
				      struct damon_ctx *dst,
				      struct damon_ctx *src,
				      const char *what, int idx)
{
	struct damon_commit_test_snap *dst_before, *dst_after;
	struct damon_commit_test_snap *src_before, *src_after;
	unsigned int refs_a = refcount_read(&env->a->count);
	unsigned int refs_b = refcount_read(&env->b->count);

	dst_before = damon_commit_test_snap_new(test);
	dst_after = damon_commit_test_snap_new(test);
	src_before = damon_commit_test_snap_new(test);
	src_after = damon_commit_test_snap_new(test);
	damon_commit_test_snap(dst_before, dst);
	damon_commit_test_snap(src_before, src);

	KUNIT_EXPECT_EQ_MSG(test, damon_commit_ctx(dst, src), -EINVAL,
			    "%s %d: not refused", what, idx);

	damon_commit_test_snap(dst_after, dst);
	damon_commit_test_snap(src_after, src);
	damon_commit_test_expect_same(test, dst_before, dst_after, what, idx);
	damon_commit_test_expect_same(test, src_before, src_after, what, idx);
	KUNIT_EXPECT_EQ_MSG(test, refcount_read(&env->a->count), refs_a,
			    "%s %d: references to pid a", what, idx);
	KUNIT_EXPECT_EQ_MSG(test, refcount_read(&env->b->count), refs_b,
			    "%s %d: references to pid b", what, idx);
	kunit_kfree(test, dst_before);
	kunit_kfree(test, dst_after);
	kunit_kfree(test, src_before);
	kunit_kfree(test, src_after);
}

/* Commit the valid @src into the stopped @dst; @src stays as it was. */
static void damon_commit_test_accepted(struct kunit *test,
				       struct damon_ctx *dst,
				       struct damon_ctx *src,
				       const char *what, int idx)
{
	struct damon_commit_test_snap *before, *after;

	before = damon_commit_test_snap_new(test);
	after = damon_commit_test_snap_new(test);
	damon_commit_test_snap(before, src);
	KUNIT_EXPECT_EQ_MSG(test, damon_commit_ctx(dst, src), 0,
			    "%s %d: refused", what, idx);
	damon_commit_test_snap(after, src);
	damon_commit_test_expect_same(test, before, after, what, idx);
	kunit_kfree(test, before);
	kunit_kfree(test, after);
}

/*
 * The destination most tests start from: vaddr, 20 samples per
 * aggregation, two targets with an access history.
 */
static const struct damon_test_region damon_commit_test_regions0[] = {
	{ 0, 4, 10, 100000, 4, 6 },
	{ 4, 10, 20, 200000, 20, 1 },
	{ 12, 16, 3, 30000, 5, 9 },
	{ 20, 24, 7, 70000, 7, 2 },
};

static const struct damon_test_region damon_commit_test_regions1[] = {
	{ 100, 110, 1, 10000, 2, 3 },
};

static struct damon_ctx *damon_commit_test_dst(struct kunit *test,
					       struct damon_commit_test_env *env)
{
	struct damon_attrs attrs = damon_test_attrs(5000, 100000, 10, 1000);
	struct damon_ctx *ctx = damon_commit_test_ctx(test);

	KUNIT_ASSERT_EQ(test, damon_select_ops(ctx, DAMON_OPS_VADDR), 0);
	KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	damon_commit_test_add_target(test, ctx, env->a,
				     damon_commit_test_regions0,
				     ARRAY_SIZE(damon_commit_test_regions0));
	damon_commit_test_add_target(test, ctx, env->b,
				     damon_commit_test_regions1,
				     ARRAY_SIZE(damon_commit_test_regions1));
	return ctx;
}

/*
 * A valid description that differs from damon_commit_test_dst() in
 * everything, so that a partly applied commit shows: fvaddr, other
 * intervals, the pids swapped, a third target, other regions.
 */
static struct damon_ctx *damon_commit_test_src(struct kunit *test,
					       struct damon_commit_test_env *env)
{
	const struct damon_test_region r0[] = { { 1, 3 } };
	/* Touching regions are fine. */
	const struct damon_test_region r2[] = { { 50, 60 }, { 60, 64 } };
	struct damon_attrs attrs = damon_test_attrs(10000, 400000, 5, 500);
	struct damon_ctx *ctx = damon_commit_test_ctx(test);

	KUNIT_ASSERT_EQ(test, damon_select_ops(ctx, DAMON_OPS_FVADDR), 0);
	KUNIT_ASSERT_EQ(test, damon_set_attrs(ctx, &attrs), 0);
	damon_commit_test_add_target(test, ctx, env->b, r0, ARRAY_SIZE(r0));
	damon_commit_test_add_target(test, ctx, env->a, NULL, 0);
	damon_commit_test_add_target(test, ctx, env->b, r2, ARRAY_SIZE(r2));
	return ctx;
}

/* === Invalid descriptions === */

static void damon_commit_test_invalid_attrs(struct kunit *test)
{
	struct damon_attrs bad[] = {
		/* Too few regions to adapt with. */
		damon_test_attrs(5000, 100000, 2, 1000),
		damon_test_attrs(5000, 100000, 0, 1000),
		/* A minimum above the maximum. */
		damon_test_attrs(5000, 100000, 11, 10),
		/* No aggregation interval, with or without sampling. */
		damon_test_attrs(0, 0, 10, 1000),
		damon_test_attrs(5000, 0, 10, 1000),
		/* A sample longer than the aggregation. */
		damon_test_attrs(100001, 100000, 10, 1000),
	};
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	struct damon_ctx *dst, *src;
	struct damon_attrs good;
	unsigned int i;

	damon_commit_test_need_vaddr(test);
	dst = damon_commit_test_dst(test, env);
	src = damon_commit_test_src(test, env);
	good = src->attrs;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		src->attrs = bad[i];
		damon_commit_test_refused(test, env, dst, src, "bad attrs", i);
	}

	/* Only the attributes were wrong. */
	src->attrs = good;
	damon_commit_test_accepted(test, dst, src, "good attrs", 0);
	KUNIT_EXPECT_MEMEQ(test, &dst->attrs, &good, sizeof(good));
	KUNIT_EXPECT_EQ(test, dst->ops.id, DAMON_OPS_FVADDR);
	KUNIT_EXPECT_EQ(test, damon_commit_test_nr_targets(dst), 3);
	damon_commit_test_release(test, src);
	damon_commit_test_release(test, dst);
	damon_commit_test_expect_refs(test, env, 0, 0);
}

static void damon_commit_test_invalid_ops(struct kunit *test)
{
	const struct damon_test_region r[] = { { 0, 8 } };
	const struct damon_test_region want[] = { { 0, 8 } };
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	struct damon_attrs attrs = damon_test_attrs(5000, 100000, 10, 1000);
	struct damon_ctx *dst, *src;
	struct damon_target *t;

	damon_commit_test_need_vaddr(test);
	dst = damon_commit_test_dst(test, env);
	/*
	 * A description that would be valid for a set without pids, one
	 * target and no target_valid: only the registry can refuse it.
	 */
	src = damon_commit_test_ctx(test);
	src->ops = (struct damon_operations){ .id = DAMON_OPS_PADDR };
	KUNIT_ASSERT_EQ(test, damon_set_attrs(src, &attrs), 0);
	damon_commit_test_add_target(test, src, NULL, r, ARRAY_SIZE(r));

	damon_commit_test_borrow_paddr(test, NULL);
	damon_commit_test_refused(test, env, dst, src, "unregistered paddr", 0);
	src->ops.id = NR_DAMON_OPS;
	damon_commit_test_refused(test, env, dst, src, "ops id out of range",
				  NR_DAMON_OPS);

	/* Registered, the same description goes through. */
	damon_commit_test_set_paddr(&damon_commit_test_pidless_ops);
	src->ops.id = DAMON_OPS_PADDR;
	damon_commit_test_accepted(test, dst, src, "registered paddr", 0);
	KUNIT_EXPECT_TRUE(test,
			  damon_test_ops_equal(&dst->ops,
					       &damon_commit_test_pidless_ops));
	KUNIT_ASSERT_EQ(test, damon_commit_test_nr_targets(dst), 1);
	t = damon_commit_test_nth(test, dst, 0);
	KUNIT_EXPECT_NULL(test, t->pid);
	damon_test_expect_layout(test, t, want, ARRAY_SIZE(want));
	damon_commit_test_expect_refs(test, env, 0, 0);
}

static void damon_commit_test_invalid_pid(struct kunit *test)
{
	const struct damon_test_region r[] = { { 0, 8 } };
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	struct damon_attrs attrs = damon_test_attrs(5000, 100000, 10, 1000);
	struct damon_ctx *dst, *src, *pidless;
	struct damon_target *t;
	unsigned int i;

	damon_commit_test_need_vaddr(test);
	dst = damon_commit_test_dst(test, env);
	src = damon_commit_test_src(test, env);

	/* A target without a process, in fvaddr, then in vaddr. */
	for (i = 0; i < 3; i++) {
		t = damon_commit_test_nth(test, src, i);
		put_pid(t->pid);
		t->pid = NULL;
		damon_commit_test_refused(test, env, dst, src,
					  "fvaddr target without pid", i);
		KUNIT_ASSERT_EQ(test, damon_select_ops(src, DAMON_OPS_VADDR),
				0);
		damon_commit_test_refused(test, env, dst, src,
					  "vaddr target without pid", i);
		KUNIT_ASSERT_EQ(test, damon_select_ops(src, DAMON_OPS_FVADDR),
				0);
		t->pid = get_pid(i == 1 ? env->a : env->b);
	}

	/* A target with a process, for a set without any. */
	damon_commit_test_borrow_paddr(test, &damon_commit_test_pidless_ops);
	pidless = damon_commit_test_ctx(test);
	KUNIT_ASSERT_EQ(test, damon_select_ops(pidless, DAMON_OPS_PADDR), 0);
	KUNIT_ASSERT_EQ(test, damon_set_attrs(pidless, &attrs), 0);
	t = damon_commit_test_add_target(test, pidless, env->a, r,
					 ARRAY_SIZE(r));
	damon_commit_test_refused(test, env, dst, pidless,
				  "pidless set target with pid", 0);
	put_pid(t->pid);
	t->pid = NULL;
	damon_commit_test_accepted(test, dst, pidless, "pidless set", 0);
	/* Only src holds pids now. */
	damon_commit_test_expect_refs(test, env, 1, 2);

	/* The pids put back, the first description is fine. */
	damon_commit_test_accepted(test, dst, src, "fvaddr with pids", 0);
	KUNIT_EXPECT_EQ(test, damon_commit_test_nr_targets(dst), 3);
	damon_commit_test_expect_refs(test, env, 2, 4);
	damon_commit_test_release(test, src);
	damon_commit_test_release(test, dst);
	damon_commit_test_expect_refs(test, env, 0, 0);
}

/* Region lists damon_set_regions() would refuse, in pages. */
static const struct {
	const char *what;
	unsigned int nr;
	struct damon_test_region r[3];
} damon_commit_test_bad_regions[] = {
	{ "empty", 1, { { 5, 5 } } },
	{ "inverted", 1, { { 6, 2 } } },
	{ "overlapping", 2, { { 0, 4 }, { 3, 8 } } },
	{ "unsorted", 2, { { 10, 12 }, { 0, 2 } } },
	{ "duplicate", 2, { { 0, 4 }, { 0, 4 } } },
	{ "empty in the middle", 3, { { 0, 4 }, { 6, 6 }, { 8, 9 } } },
	{ "inverted at the end", 3, { { 0, 4 }, { 6, 7 }, { 9, 8 } } },
};

static void damon_commit_test_invalid_regions(struct kunit *test)
{
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	struct damon_ctx *dst, *src;
	struct damon_target *t;
	unsigned int i, ti;
	const char *what;

	damon_commit_test_need_vaddr(test);
	dst = damon_commit_test_dst(test, env);
	/* In any target, also after valid ones that would change dst. */
	for (i = 0; i < ARRAY_SIZE(damon_commit_test_bad_regions); i++) {
		what = damon_commit_test_bad_regions[i].what;
		for (ti = 0; ti < 3; ti++) {
			src = damon_commit_test_src(test, env);
			t = damon_commit_test_nth(test, src, ti);
			damon_commit_test_clear(t);
			damon_test_add(test, t,
				       damon_commit_test_bad_regions[i].r,
				       damon_commit_test_bad_regions[i].nr);
			damon_commit_test_refused(test, env, dst, src, what,
						  ti);
			damon_commit_test_release(test, src);
		}
	}
	damon_commit_test_expect_refs(test, env, 1, 1);

	src = damon_commit_test_src(test, env);
	damon_commit_test_accepted(test, dst, src, "valid regions", 0);
	damon_commit_test_release(test, src);
	damon_commit_test_release(test, dst);
	damon_commit_test_expect_refs(test, env, 0, 0);
}

/*
 * There is one physical address space.  Which check refuses two targets
 * depends on the registry: if the id is not registered, that comes first.
 */
static void damon_commit_test_paddr_targets(struct kunit *test)
{
	const struct damon_test_region r[] = { { 0, 8 } };
	const struct damon_test_region r1[] = { { 8, 9 } };
	const struct damon_test_region hist[] = { { 0, 8, 3, 30000, 4, 5 } };
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	struct damon_attrs attrs = damon_test_attrs(5000, 100000, 10, 1000);
	struct damon_ctx *dst, *src;
	struct damon_target *t;

	/*
	 * A context with a paddr set of its own, registered or not: the
	 * same id needs no registry, so only the count can refuse.
	 */
	dst = damon_commit_test_ctx(test);
	dst->ops = damon_commit_test_pidless_ops;
	KUNIT_ASSERT_EQ(test, damon_set_attrs(dst, &attrs), 0);
	damon_commit_test_add_target(test, dst, NULL, hist, ARRAY_SIZE(hist));
	src = damon_commit_test_ctx(test);
	src->ops = (struct damon_operations){ .id = DAMON_OPS_PADDR };
	KUNIT_ASSERT_EQ(test, damon_set_attrs(src, &attrs), 0);
	damon_commit_test_add_target(test, src, NULL, NULL, 0);
	t = damon_commit_test_add_target(test, src, NULL, r1, ARRAY_SIZE(r1));
	damon_commit_test_refused(test, env, dst, src, "two paddr targets", 0);
	damon_destroy_target(t);
	damon_commit_test_accepted(test, dst, src, "one paddr target", 0);
	/* Its own set stays, and so does the history of the target. */
	KUNIT_EXPECT_TRUE(test,
			  damon_test_ops_equal(&dst->ops,
					       &damon_commit_test_pidless_ops));
	KUNIT_ASSERT_EQ(test, damon_commit_test_nr_targets(dst), 1);
	damon_test_expect_layout(test, damon_commit_test_nth(test, dst, 0),
				 hist, ARRAY_SIZE(hist));
	damon_commit_test_release(test, src);
	damon_commit_test_release(test, dst);

	/* From vaddr, with paddr first unregistered, then registered. */
	damon_commit_test_need_vaddr(test);
	dst = damon_commit_test_dst(test, env);
	src = damon_commit_test_ctx(test);
	src->ops = (struct damon_operations){ .id = DAMON_OPS_PADDR };
	KUNIT_ASSERT_EQ(test, damon_set_attrs(src, &attrs), 0);
	damon_commit_test_add_target(test, src, NULL, r, ARRAY_SIZE(r));
	t = damon_commit_test_add_target(test, src, NULL, r1, ARRAY_SIZE(r1));
	damon_commit_test_borrow_paddr(test, NULL);
	damon_commit_test_refused(test, env, dst, src,
				  "two targets, paddr unregistered", 0);
	damon_commit_test_set_paddr(&damon_commit_test_pidless_ops);
	damon_commit_test_refused(test, env, dst, src,
				  "two targets, paddr registered", 0);
	damon_destroy_target(t);
	damon_commit_test_accepted(test, dst, src, "one target", 0);
	KUNIT_EXPECT_TRUE(test,
			  damon_test_ops_equal(&dst->ops,
					       &damon_commit_test_pidless_ops));
	KUNIT_ASSERT_EQ(test, damon_commit_test_nr_targets(dst), 1);
	t = damon_commit_test_nth(test, dst, 0);
	KUNIT_EXPECT_NULL(test, t->pid);
	damon_test_expect_regions(test, t, (const unsigned long[]){ 0, 8 }, 2);
	damon_commit_test_expect_refs(test, env, 0, 0);
}

/*
 * What targets a set takes is what the set says, not what its callbacks
 * suggest: a set that can tell a target gone (target_valid) need not want
 * pids, and takes any number of targets unless it says otherwise.  The
 * registered sets say what their address spaces are.
 */
static void damon_commit_test_ops_properties(struct kunit *test)
{
	const struct damon_test_region r[] = { { 0, 8 } };
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	struct damon_attrs attrs = damon_test_attrs(5000, 100000, 10, 1000);
	struct damon_ctx *dst, *src;
	unsigned int i;

	if (damon_is_registered_ops(DAMON_OPS_PADDR)) {
		src = damon_commit_test_ctx(test);
		KUNIT_ASSERT_EQ(test, damon_select_ops(src, DAMON_OPS_PADDR),
				0);
		KUNIT_EXPECT_FALSE(test, src->ops.target_needs_pid);
		KUNIT_EXPECT_EQ(test, src->ops.max_nr_targets, 1);
		damon_commit_test_release(test, src);
	}
	if (IS_ENABLED(CONFIG_DAMON_VADDR)) {
		damon_commit_test_need_vaddr(test);
		src = damon_commit_test_ctx(test);
		KUNIT_ASSERT_EQ(test, damon_select_ops(src, DAMON_OPS_VADDR),
				0);
		KUNIT_EXPECT_TRUE(test, src->ops.target_needs_pid);
		KUNIT_EXPECT_EQ(test, src->ops.max_nr_targets, 0);
		KUNIT_ASSERT_EQ(test, damon_select_ops(src, DAMON_OPS_FVADDR),
				0);
		KUNIT_EXPECT_TRUE(test, src->ops.target_needs_pid);
		KUNIT_EXPECT_EQ(test, src->ops.max_nr_targets, 0);
		damon_commit_test_release(test, src);
	}

	/* The core suite's set: a target_valid, no pids, no limit. */
	damon_commit_test_borrow_paddr(test, &damon_test_ops);
	src = damon_commit_test_ctx(test);
	KUNIT_ASSERT_EQ(test, damon_select_ops(src, DAMON_OPS_PADDR), 0);
	KUNIT_ASSERT_NOT_NULL(test, src->ops.target_valid);
	KUNIT_ASSERT_EQ(test, damon_set_attrs(src, &attrs), 0);
	for (i = 0; i < 3; i++)
		damon_commit_test_add_target(test, src, NULL, r,
					     ARRAY_SIZE(r));
	dst = damon_commit_test_ctx(test);
	damon_commit_test_accepted(test, dst, src, "targets without pids", 0);
	KUNIT_EXPECT_EQ(test, damon_commit_test_nr_targets(dst), 3);
	damon_commit_test_add_target(test, src, env->a, r, ARRAY_SIZE(r));
	damon_commit_test_refused(test, env, dst, src, "a target with a pid",
				  0);
	damon_commit_test_release(test, src);
	damon_commit_test_release(test, dst);
	damon_commit_test_expect_refs(test, env, 0, 0);
}

/*
 * Whether a target needs a process is a property of the operations set
 * named by the id, whatever callbacks the description's &damon_ctx.ops
 * happens to hold: the commit selects the set by id, and never uses the
 * callbacks of the description.  These descriptions are given the id of
 * vaddr by hand, and no callbacks at all.
 */
static struct damon_ctx *damon_commit_test_vaddr_by_id(struct kunit *test,
						       struct pid *pid)
{
	const struct damon_test_region r[] = { { 0, 8 } };
	struct damon_attrs attrs = damon_test_attrs(5000, 100000, 10, 1000);
	struct damon_ctx *src = damon_commit_test_ctx(test);

	src->ops = (struct damon_operations){ .id = DAMON_OPS_VADDR };
	KUNIT_ASSERT_EQ(test, damon_set_attrs(src, &attrs), 0);
	damon_commit_test_add_target(test, src, pid, r, ARRAY_SIZE(r));
	return src;
}

static void damon_commit_test_ops_by_id_no_pid(struct kunit *test)
{
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	struct damon_ctx *dst, *src;

	damon_commit_test_need_vaddr(test);
	dst = damon_commit_test_dst(test, env);
	src = damon_commit_test_vaddr_by_id(test, NULL);
	damon_commit_test_refused(test, env, dst, src,
				  "vaddr by id, target without pid", 0);
}

static void damon_commit_test_ops_by_id_pid(struct kunit *test)
{
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	struct damon_ctx *dst, *src, *vaddr;

	damon_commit_test_need_vaddr(test);
	vaddr = damon_commit_test_ctx(test);
	KUNIT_ASSERT_EQ(test, damon_select_ops(vaddr, DAMON_OPS_VADDR), 0);
	dst = damon_commit_test_dst(test, env);
	src = damon_commit_test_vaddr_by_id(test, env->b);
	damon_commit_test_accepted(test, dst, src,
				   "vaddr by id, target with pid", 0);
	KUNIT_EXPECT_TRUE(test, damon_test_ops_equal(&dst->ops, &vaddr->ops));
	KUNIT_EXPECT_EQ(test, damon_commit_test_nr_targets(dst), 1);
	KUNIT_EXPECT_PTR_EQ(test, damon_commit_test_nth(test, dst, 0)->pid,
			    env->b);
}

/* === Valid descriptions, stopped contexts === */

static void damon_commit_test_same_pid_keeps(struct kunit *test)
{
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	struct damon_commit_test_snap *before, *after;
	struct damon_ctx *dst, *src;

	damon_commit_test_need_vaddr(test);
	dst = damon_commit_test_dst(test, env);
	src = damon_commit_test_ctx(test);
	KUNIT_ASSERT_EQ(test, damon_select_ops(src, DAMON_OPS_VADDR), 0);
	src->attrs = dst->attrs;
	damon_commit_test_add_target(test, src, env->a, NULL, 0);
	damon_commit_test_add_target(test, src, env->b, NULL, 0);

	/* The same processes, no regions, same attributes: nothing moves. */
	before = damon_commit_test_snap_new(test);
	after = damon_commit_test_snap_new(test);
	damon_commit_test_snap(before, dst);
	damon_commit_test_accepted(test, dst, src, "same description", 0);
	damon_commit_test_snap(after, dst);
	damon_commit_test_expect_same(test, before, after, "same pids", 0);
	damon_test_expect_layout(test, damon_commit_test_nth(test, dst, 0),
				 damon_commit_test_regions0,
				 ARRAY_SIZE(damon_commit_test_regions0));
	damon_test_expect_layout(test, damon_commit_test_nth(test, dst, 1),
				 damon_commit_test_regions1,
				 ARRAY_SIZE(damon_commit_test_regions1));
	damon_commit_test_expect_refs(test, env, 2, 2);

	/* Again: committing is idempotent. */
	damon_commit_test_accepted(test, dst, src, "same description", 1);
	damon_commit_test_snap(after, dst);
	damon_commit_test_expect_same(test, before, after, "same pids", 1);
	/* And a context describes itself. */
	KUNIT_EXPECT_EQ(test, damon_commit_ctx(dst, dst), 0);
	damon_commit_test_snap(after, dst);
	damon_commit_test_expect_same(test, before, after, "itself", 2);
	damon_commit_test_release(test, src);
	damon_commit_test_release(test, dst);
	damon_commit_test_expect_refs(test, env, 0, 0);
}

static void damon_commit_test_rescale(struct kunit *test)
{
	/*
	 * 40 samples per aggregation instead of 20, 4 times as long; the
	 * aggregation under way starts over without its partial counts.
	 */
	const struct damon_test_region want0[] = {
		{ 0, 4, 0, 200000, 8, 1 },
		{ 4, 10, 0, 400000, 40, 0 },
		{ 12, 16, 0, 60000, 10, 2 },
		{ 20, 24, 0, 140000, 14, 0 },
	};
	const struct damon_test_region want1[] = {
		{ 100, 110, 0, 20000, 4, 0 },
	};
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	struct damon_attrs attrs = damon_test_attrs(10000, 400000, 5, 500);
	struct damon_operations ops;
	struct damon_ctx *dst, *src;
	struct damon_target *t0, *t1;

	damon_commit_test_need_vaddr(test);
	dst = damon_commit_test_dst(test, env);
	dst->passed_sample_intervals = 7;
	ops = dst->ops;
	t0 = damon_commit_test_nth(test, dst, 0);
	t1 = damon_commit_test_nth(test, dst, 1);
	src = damon_commit_test_ctx(test);
	KUNIT_ASSERT_EQ(test, damon_select_ops(src, DAMON_OPS_VADDR), 0);
	attrs.ops_update_interval = 2 * USEC_PER_SEC;
	KUNIT_ASSERT_EQ(test, damon_set_attrs(src, &attrs), 0);
	damon_commit_test_add_target(test, src, env->a, NULL, 0);
	damon_commit_test_add_target(test, src, env->b, NULL, 0);

	damon_commit_test_accepted(test, dst, src, "new intervals", 0);
	KUNIT_EXPECT_MEMEQ(test, &dst->attrs, &attrs, sizeof(attrs));
	KUNIT_EXPECT_TRUE(test, damon_test_ops_equal(&dst->ops, &ops));
	KUNIT_EXPECT_EQ(test, dst->next_aggregation_sis, 7 + 40);
	KUNIT_EXPECT_EQ(test, dst->next_ops_update_sis, 7 + 200);
	KUNIT_EXPECT_PTR_EQ(test, damon_commit_test_nth(test, dst, 0), t0);
	KUNIT_EXPECT_PTR_EQ(test, damon_commit_test_nth(test, dst, 1), t1);
	damon_test_expect_layout(test, t0, want0, ARRAY_SIZE(want0));
	damon_test_expect_layout(test, t1, want1, ARRAY_SIZE(want1));

	/* Only the region bounds change: nothing to rescale. */
	attrs.min_nr_regions = 3;
	attrs.max_nr_regions = 3;
	src->attrs = attrs;
	damon_commit_test_accepted(test, dst, src, "new region bounds", 0);
	KUNIT_EXPECT_MEMEQ(test, &dst->attrs, &attrs, sizeof(attrs));
	damon_test_expect_layout(test, t0, want0, ARRAY_SIZE(want0));
	damon_test_expect_layout(test, t1, want1, ARRAY_SIZE(want1));
	damon_commit_test_release(test, src);
	damon_commit_test_release(test, dst);
	damon_commit_test_expect_refs(test, env, 0, 0);
}

static void damon_commit_test_fit_regions(struct kunit *test)
{
	/*
	 * [0, 4) is trimmed, [4, 10) kept, [12, 16) stretched both ways,
	 * [20, 24) meets no range and goes, [30, 32) is new; the second
	 * target gets the range it has.
	 */
	const struct damon_test_region r0[] = {
		{ 2, 10 }, { 11, 18 }, { 30, 32 },
	};
	const struct damon_test_region want0[] = {
		{ 2, 4, 10, 100000, 4, 6 },
		{ 4, 10, 20, 200000, 20, 1 },
		{ 11, 18, 3, 30000, 5, 9 },
		{ 30, 32, 0, 0, 0, 0 },
	};
	const struct damon_test_region r1[] = { { 100, 110 } };
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	struct damon_ctx *dst, *src;
	struct damon_region *first;
	struct damon_target *t0;

	damon_commit_test_need_vaddr(test);
	dst = damon_commit_test_dst(test, env);
	t0 = damon_commit_test_nth(test, dst, 0);
	first = damon_first_region(t0);
	src = damon_commit_test_ctx(test);
	KUNIT_ASSERT_EQ(test, damon_select_ops(src, DAMON_OPS_VADDR), 0);
	src->attrs = dst->attrs;
	damon_commit_test_add_target(test, src, env->a, r0, ARRAY_SIZE(r0));
	damon_commit_test_add_target(test, src, env->b, r1, ARRAY_SIZE(r1));

	damon_commit_test_accepted(test, dst, src, "fit regions", 0);
	KUNIT_EXPECT_PTR_EQ(test, damon_commit_test_nth(test, dst, 0), t0);
	KUNIT_EXPECT_PTR_EQ(test, damon_first_region(t0), first);
	damon_test_expect_layout(test, t0, want0, ARRAY_SIZE(want0));
	damon_test_expect_layout(test, damon_commit_test_nth(test, dst, 1),
				 damon_commit_test_regions1,
				 ARRAY_SIZE(damon_commit_test_regions1));
	damon_commit_test_expect_refs(test, env, 2, 2);
	damon_commit_test_release(test, src);
	damon_commit_test_release(test, dst);
	damon_commit_test_expect_refs(test, env, 0, 0);
}

static void damon_commit_test_new_pid(struct kunit *test)
{
	/* Where the old regions were: no history for another process. */
	const struct damon_test_region r0[] = { { 2, 10 } };
	const struct damon_test_region want0[] = { { 2, 10 } };
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	struct damon_ctx *dst, *src;
	struct damon_target *t0, *t1;

	damon_commit_test_need_vaddr(test);
	dst = damon_commit_test_dst(test, env);
	t0 = damon_commit_test_nth(test, dst, 0);
	t1 = damon_commit_test_nth(test, dst, 1);
	src = damon_commit_test_ctx(test);
	KUNIT_ASSERT_EQ(test, damon_select_ops(src, DAMON_OPS_VADDR), 0);
	src->attrs = dst->attrs;
	damon_commit_test_add_target(test, src, env->b, r0, ARRAY_SIZE(r0));
	damon_commit_test_add_target(test, src, env->a, NULL, 0);
	damon_commit_test_expect_refs(test, env, 2, 2);

	damon_commit_test_accepted(test, dst, src, "pids swapped", 0);
	KUNIT_ASSERT_EQ(test, damon_commit_test_nr_targets(dst), 2);
	KUNIT_EXPECT_PTR_EQ(test, damon_commit_test_nth(test, dst, 0), t0);
	KUNIT_EXPECT_PTR_EQ(test, damon_commit_test_nth(test, dst, 1), t1);
	KUNIT_EXPECT_PTR_EQ(test, t0->pid, env->b);
	KUNIT_EXPECT_PTR_EQ(test, t1->pid, env->a);
	damon_test_expect_layout(test, t0, want0, ARRAY_SIZE(want0));
	damon_test_expect_layout(test, t1, NULL, 0);
	/* Each target dropped its old reference and took one of its own. */
	damon_commit_test_expect_refs(test, env, 2, 2);
	damon_commit_test_release(test, src);
	damon_commit_test_expect_refs(test, env, 1, 1);
	damon_commit_test_release(test, dst);
	damon_commit_test_expect_refs(test, env, 0, 0);
}

static void damon_commit_test_targets_added_removed(struct kunit *test)
{
	const struct damon_test_region r2[] = { { 0, 8 } };
	const struct damon_test_region r3[] = { { 8, 9 }, { 10, 12 } };
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	struct damon_ctx *dst, *src, *src1, *src0;
	struct damon_target *t0, *t1;

	damon_commit_test_need_vaddr(test);
	dst = damon_commit_test_dst(test, env);
	t0 = damon_commit_test_nth(test, dst, 0);
	t1 = damon_commit_test_nth(test, dst, 1);
	src = damon_commit_test_ctx(test);
	KUNIT_ASSERT_EQ(test, damon_select_ops(src, DAMON_OPS_VADDR), 0);
	src->attrs = dst->attrs;
	damon_commit_test_add_target(test, src, env->a, NULL, 0);
	damon_commit_test_add_target(test, src, env->b, NULL, 0);
	damon_commit_test_add_target(test, src, env->a, r2, ARRAY_SIZE(r2));
	damon_commit_test_add_target(test, src, env->b, r3, ARRAY_SIZE(r3));

	/* Two more targets, at the end, with the regions given. */
	damon_commit_test_accepted(test, dst, src, "four targets", 0);
	KUNIT_ASSERT_EQ(test, damon_commit_test_nr_targets(dst), 4);
	KUNIT_EXPECT_PTR_EQ(test, damon_commit_test_nth(test, dst, 0), t0);
	KUNIT_EXPECT_PTR_EQ(test, damon_commit_test_nth(test, dst, 1), t1);
	damon_test_expect_layout(test, t0, damon_commit_test_regions0,
				 ARRAY_SIZE(damon_commit_test_regions0));
	damon_test_expect_layout(test, t1, damon_commit_test_regions1,
				 ARRAY_SIZE(damon_commit_test_regions1));
	KUNIT_EXPECT_PTR_EQ(test, damon_commit_test_nth(test, dst, 2)->pid,
			    env->a);
	damon_test_expect_layout(test, damon_commit_test_nth(test, dst, 2),
				 r2, ARRAY_SIZE(r2));
	KUNIT_EXPECT_PTR_EQ(test, damon_commit_test_nth(test, dst, 3)->pid,
			    env->b);
	damon_test_expect_layout(test, damon_commit_test_nth(test, dst, 3),
				 r3, ARRAY_SIZE(r3));
	damon_commit_test_expect_refs(test, env, 4, 4);

	/* Down to the first target: the others go, with their references. */
	src1 = damon_commit_test_ctx(test);
	KUNIT_ASSERT_EQ(test, damon_select_ops(src1, DAMON_OPS_VADDR), 0);
	src1->attrs = dst->attrs;
	damon_commit_test_add_target(test, src1, env->a, NULL, 0);
	damon_commit_test_accepted(test, dst, src1, "one target", 0);
	KUNIT_ASSERT_EQ(test, damon_commit_test_nr_targets(dst), 1);
	KUNIT_EXPECT_PTR_EQ(test, damon_commit_test_nth(test, dst, 0), t0);
	damon_test_expect_layout(test, t0, damon_commit_test_regions0,
				 ARRAY_SIZE(damon_commit_test_regions0));
	/* a: dst, two in src, one in src1; b: two in src. */
	damon_commit_test_expect_refs(test, env, 4, 2);

	/* And to none. */
	src0 = damon_commit_test_ctx(test);
	KUNIT_ASSERT_EQ(test, damon_select_ops(src0, DAMON_OPS_VADDR), 0);
	src0->attrs = dst->attrs;
	damon_commit_test_accepted(test, dst, src0, "no target", 0);
	KUNIT_EXPECT_TRUE(test, damon_targets_empty(dst));
	damon_commit_test_expect_refs(test, env, 3, 2);

	damon_commit_test_release(test, src0);
	damon_commit_test_release(test, src1);
	damon_commit_test_release(test, src);
	damon_commit_test_release(test, dst);
	damon_commit_test_expect_refs(test, env, 0, 0);
}

static void damon_commit_test_select_ops(struct kunit *test)
{
	const struct damon_test_region r[] = { { 0, 10 } };
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	struct damon_attrs attrs = damon_test_attrs(5000, 100000, 10, 1000);
	struct damon_ctx *vaddr, *fvaddr, *dst, *dst2, *src_f, *src_v;
	struct damon_ctx *dst3, *src_none;
	struct damon_target *t;

	damon_commit_test_need_vaddr(test);
	vaddr = damon_commit_test_ctx(test);
	KUNIT_ASSERT_EQ(test, damon_select_ops(vaddr, DAMON_OPS_VADDR), 0);
	fvaddr = damon_commit_test_ctx(test);
	KUNIT_ASSERT_EQ(test, damon_select_ops(fvaddr, DAMON_OPS_FVADDR), 0);

	src_f = damon_commit_test_ctx(test);
	KUNIT_ASSERT_EQ(test, damon_select_ops(src_f, DAMON_OPS_FVADDR), 0);
	KUNIT_ASSERT_EQ(test, damon_set_attrs(src_f, &attrs), 0);
	damon_commit_test_add_target(test, src_f, env->a, r, ARRAY_SIZE(r));
	src_v = damon_commit_test_ctx(test);
	KUNIT_ASSERT_EQ(test, damon_select_ops(src_v, DAMON_OPS_VADDR), 0);
	KUNIT_ASSERT_EQ(test, damon_set_attrs(src_v, &attrs), 0);
	damon_commit_test_add_target(test, src_v, env->a, NULL, 0);

	/* A new context gets the registered set the description names. */
	dst = damon_commit_test_ctx(test);
	damon_commit_test_accepted(test, dst, src_f, "to fvaddr", 0);
	KUNIT_EXPECT_TRUE(test, damon_test_ops_equal(&dst->ops, &fvaddr->ops));
	KUNIT_ASSERT_EQ(test, damon_commit_test_nr_targets(dst), 1);
	t = damon_commit_test_nth(test, dst, 0);
	KUNIT_EXPECT_PTR_EQ(test, t->pid, env->a);
	damon_test_expect_layout(test, t, r, ARRAY_SIZE(r));

	/* And switches; the target of the same process keeps its regions. */
	damon_commit_test_accepted(test, dst, src_v, "to vaddr", 0);
	KUNIT_EXPECT_TRUE(test, damon_test_ops_equal(&dst->ops, &vaddr->ops));
	KUNIT_EXPECT_PTR_EQ(test, damon_commit_test_nth(test, dst, 0), t);
	damon_test_expect_layout(test, t, r, ARRAY_SIZE(r));

	/* A new context has no set, which no id stands for. */
	dst2 = damon_commit_test_ctx(test);
	KUNIT_ASSERT_EQ(test, dst2->ops.id, NR_DAMON_OPS);
	damon_commit_test_accepted(test, dst2, src_v, "new ctx to vaddr", 0);
	KUNIT_EXPECT_TRUE(test, damon_test_ops_equal(&dst2->ops,
						     &vaddr->ops));
	damon_commit_test_expect_refs(test, env, 4, 0);

	/* A description without a set gives none, even to a new context. */
	src_none = damon_commit_test_ctx(test);
	KUNIT_ASSERT_EQ(test, damon_set_attrs(src_none, &attrs), 0);
	dst3 = damon_commit_test_ctx(test);
	damon_commit_test_refused(test, env, dst3, src_none, "no set, new", 0);
	damon_commit_test_refused(test, env, dst2, src_none, "no set, vaddr",
				  0);
}

/* A stopped context gets no init: its kdamond calls that when it starts. */
static void damon_commit_test_stopped_no_init(struct kunit *test)
{
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	struct damon_operations ops = damon_commit_test_fake_ops();
	struct damon_ctx *dst, *src;
	int inits = atomic_read(&damon_test_seen.init);

	dst = damon_commit_test_ctx(test);
	dst->ops = ops;
	src = damon_commit_test_ctx(test);
	src->ops = ops;
	damon_commit_test_add_target(test, src, env->a, NULL, 0);
	damon_commit_test_add_target(test, src, env->b, NULL, 0);

	damon_commit_test_accepted(test, dst, src, "stopped fake", 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&damon_test_seen.init), inits);
	KUNIT_EXPECT_TRUE(test, damon_test_ops_equal(&dst->ops, &ops));
	KUNIT_ASSERT_EQ(test, damon_commit_test_nr_targets(dst), 2);
	damon_test_expect_layout(test, damon_commit_test_nth(test, dst, 0),
				 NULL, 0);
	damon_test_expect_layout(test, damon_commit_test_nth(test, dst, 1),
				 NULL, 0);
	KUNIT_EXPECT_EQ(test, dst->sz_limit, 0);
	damon_commit_test_expect_refs(test, env, 2, 2);
}

/* === Running contexts === */

/* A commit from inside the kdamond, with the context seen around it. */
struct damon_commit_test_call {
	struct damon_ctx *dst, *src;
	/* The core fake set's init and cleanup calls, before and after. */
	int inits, inits_after, cleanups, cleanups_after;
	struct damon_commit_test_snap *before, *after;
};

static int damon_commit_test_call_fn(void *data)
{
	struct damon_commit_test_call *call = data;
	int err;

	if (!damon_test_call_owns(call->dst))
		return -ESRCH;
	damon_commit_test_snap(call->before, call->dst);
	call->inits = atomic_read(&damon_test_seen.init);
	call->cleanups = atomic_read(&damon_test_seen.cleanup);
	err = damon_commit_ctx(call->dst, call->src);
	call->inits_after = atomic_read(&damon_test_seen.init);
	call->cleanups_after = atomic_read(&damon_test_seen.cleanup);
	damon_commit_test_snap(call->after, call->dst);
	return err;
}

static struct damon_commit_test_call *
damon_commit_test_call_new(struct kunit *test, struct damon_ctx *dst)
{
	struct damon_commit_test_call *call;

	call = kunit_kzalloc(test, sizeof(*call), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, call);
	call->dst = dst;
	call->before = damon_commit_test_snap_new(test);
	call->after = damon_commit_test_snap_new(test);
	return call;
}

/* Commit @src into the running context of @call; the kdamond's answer. */
static int damon_commit_test_call(struct kunit *test,
				  struct damon_commit_test_call *call,
				  struct damon_ctx *src)
{
	struct damon_call_control control = {
		.fn = damon_commit_test_call_fn, .data = call,
	};

	call->src = src;
	KUNIT_ASSERT_EQ(test, damon_call(call->dst, &control), 0);
	KUNIT_ASSERT_FALSE(test, control.canceled);
	return control.return_code;
}

/* Where a kdamond is in its count of samples, aggregations and updates. */
struct damon_commit_test_probe {
	struct damon_ctx *ctx;
	unsigned long passed, next_aggregation_sis, next_ops_update_sis;
	int resets, updates, checks;
};

static int damon_commit_test_probe_fn(void *data)
{
	struct damon_commit_test_probe *p = data;

	if (!damon_test_call_owns(p->ctx))
		return -ESRCH;
	p->passed = p->ctx->passed_sample_intervals;
	p->next_aggregation_sis = p->ctx->next_aggregation_sis;
	p->next_ops_update_sis = p->ctx->next_ops_update_sis;
	p->resets = atomic_read(&damon_test_seen.reset);
	p->updates = atomic_read(&damon_test_seen.update);
	p->checks = atomic_read(&damon_test_seen.check);
	return 0;
}

static void damon_commit_test_probe(struct kunit *test, struct damon_ctx *ctx,
				    struct damon_commit_test_probe *p)
{
	struct damon_call_control control = {
		.fn = damon_commit_test_probe_fn, .data = p,
	};

	p->ctx = ctx;
	KUNIT_ASSERT_EQ(test, damon_call(ctx, &control), 0);
	KUNIT_ASSERT_EQ(test, control.return_code, 0);
}

/*
 * Over @samples samples the kdamond counted @nr events that come every
 * @period samples: as many as fit, give or take one a boundary cuts.
 */
static void damon_commit_test_expect_period(struct kunit *test,
					    unsigned long samples, int nr,
					    unsigned long period,
					    const char *what)
{
	KUNIT_EXPECT_TRUE_MSG(test, nr * period + period > samples &&
			      nr * period < samples + period,
			      "%d %s in %lu samples, not one per %lu", nr,
			      what, samples, period);
}

/* A region covering the fake memory with no history, as init builds it. */
static const struct damon_commit_test_region damon_commit_test_fresh = {
	.start = 0, .end = DAMON_TEST_FAKE_PAGES * DAMON_MIN_REGION,
};

static void damon_commit_test_expect_fresh(struct kunit *test,
					   const struct damon_commit_test_snap *s,
					   unsigned int ti, unsigned int ri)
{
	KUNIT_EXPECT_EQ_MSG(test, s->target_nr_regions[ti], 1,
			    "regions of target %u", ti);
	KUNIT_EXPECT_MEMEQ_MSG(test, &s->regions[ri], &damon_commit_test_fresh,
			       sizeof(damon_commit_test_fresh),
			       "region of target %u", ti);
}

static void damon_commit_test_running(struct kunit *test)
{
	const struct damon_test_region far[] = { { 2000, 2010 } };
	const struct damon_test_region overlap[] = { { 0, 4 }, { 2, 8 } };
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	struct damon_operations ops = damon_commit_test_fake_ops();
	/* 4 samples per aggregation instead of 10, updates every 20. */
	struct damon_attrs attrs = damon_test_attrs(1000, 4000, 3, 60);
	struct damon_commit_test_snap *src_before, *src_after;
	struct damon_commit_test_region *want, *got;
	struct damon_call_control inspect = { .fn = damon_test_inspect };
	struct damon_commit_test_probe p0, p1;
	struct damon_commit_test_call *call;
	struct damon_ctx *src, *src1, *bad;
	struct damon_test_engine *e;
	unsigned int i, nr0;
	bool ok;
	int ret;

	attrs.ops_update_interval = 20000;
	e = damon_test_engine_new(test);
	e->ctx->ops = ops;
	e->target->pid = get_pid(env->a);
	call = damon_commit_test_call_new(test, e->ctx);

	/* Same process, a new one, and a new one with regions of its own. */
	src = damon_commit_test_ctx(test);
	src->ops = ops;
	KUNIT_ASSERT_EQ(test, damon_set_attrs(src, &attrs), 0);
	damon_commit_test_add_target(test, src, env->a, NULL, 0);
	damon_commit_test_add_target(test, src, env->b, NULL, 0);
	damon_commit_test_add_target(test, src, env->b, far, ARRAY_SIZE(far));
	src_before = damon_commit_test_snap_new(test);
	src_after = damon_commit_test_snap_new(test);
	damon_commit_test_snap(src_before, src);

	KUNIT_ASSERT_EQ(test, damon_test_engine_start(&e, 1, false), 0);
	/* Some history to keep. */
	ok = damon_test_wait_for(atomic_read(&damon_test_seen.reset) >= 3,
				 10000);
	KUNIT_ASSERT_TRUE(test, ok);

	ret = damon_commit_test_call(test, call, src);
	KUNIT_EXPECT_EQ_MSG(test, ret, 0, "-ESRCH: not run by the kdamond");
	damon_commit_test_snap(src_after, src);
	damon_commit_test_expect_same(test, src_before, src_after, "src", 0);
	KUNIT_ASSERT_FALSE(test, call->before->overflow || call->after->overflow);
	KUNIT_EXPECT_MEMEQ(test, &call->after->attrs, &attrs, sizeof(attrs));
	KUNIT_EXPECT_TRUE(test, damon_test_ops_equal(&call->after->ops, &ops));
	KUNIT_EXPECT_EQ(test, call->after->next_aggregation_sis,
			call->after->passed + 4);
	KUNIT_EXPECT_EQ(test, call->after->next_ops_update_sis,
			call->after->passed + 20);
	KUNIT_EXPECT_EQ(test, call->after->sz_limit,
			damon_test_pg(3 * DAMON_TEST_FAKE_PAGES) / 3);
	/* init ran, within the commit, and nothing was cleaned up. */
	KUNIT_EXPECT_EQ(test, call->inits_after, call->inits + 1);
	KUNIT_EXPECT_EQ(test, call->cleanups_after, call->cleanups);

	KUNIT_ASSERT_EQ(test, call->before->nr_targets, 1);
	KUNIT_ASSERT_EQ(test, call->after->nr_targets, 3);
	KUNIT_EXPECT_PTR_EQ(test, call->after->targets[0], e->target);
	KUNIT_EXPECT_PTR_EQ(test, call->after->pids[0], env->a);
	KUNIT_EXPECT_PTR_EQ(test, call->after->pids[1], env->b);
	KUNIT_EXPECT_PTR_EQ(test, call->after->pids[2], env->b);
	/* The first target kept its regions, counts rescaled. */
	nr0 = call->before->target_nr_regions[0];
	KUNIT_ASSERT_EQ(test, call->after->target_nr_regions[0], nr0);
	for (i = 0; i < nr0; i++) {
		want = &call->before->regions[i];
		got = &call->after->regions[i];
		KUNIT_EXPECT_EQ(test, got->start, want->start);
		KUNIT_EXPECT_EQ(test, got->end, want->end);
		KUNIT_EXPECT_EQ(test, got->nr_accesses,
				want->nr_accesses * 4 / 10);
		KUNIT_EXPECT_EQ(test, got->nr_accesses_bp,
				want->nr_accesses_bp * 4 / 10);
		KUNIT_EXPECT_EQ(test, got->last_nr_accesses,
				want->last_nr_accesses * 4 / 10);
		KUNIT_EXPECT_EQ(test, got->age, want->age * 10000 / 4000);
	}
	/* The new ones got theirs from init. */
	damon_commit_test_expect_fresh(test, call->after, 1, nr0);
	damon_commit_test_expect_fresh(test, call->after, 2, nr0 + 1);
	damon_commit_test_expect_refs(test, env, 2, 4);

	/* It goes on, at the new pace. */
	damon_commit_test_probe(test, e->ctx, &p0);
	ok = damon_test_wait_for(atomic_read(&damon_test_seen.check) >=
				 p0.checks + 100, 20000);
	KUNIT_EXPECT_TRUE(test, ok);
	damon_commit_test_probe(test, e->ctx, &p1);
	KUNIT_EXPECT_TRUE(test, damon_is_running(e->ctx));
	KUNIT_EXPECT_GE(test, p1.passed, p0.passed + 100);
	damon_commit_test_expect_period(test, p1.passed - p0.passed,
					p1.resets - p0.resets, 4,
					"aggregations");
	damon_commit_test_expect_period(test, p1.passed - p0.passed,
					p1.updates - p0.updates, 20,
					"ops updates");

	/* Another process in the first target, the others gone. */
	src1 = damon_commit_test_ctx(test);
	src1->ops = ops;
	KUNIT_ASSERT_EQ(test, damon_set_attrs(src1, &attrs), 0);
	damon_commit_test_add_target(test, src1, env->b, NULL, 0);
	ret = damon_commit_test_call(test, call, src1);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, call->inits_after, call->inits + 1);
	KUNIT_ASSERT_EQ(test, call->after->nr_targets, 1);
	KUNIT_EXPECT_PTR_EQ(test, call->after->targets[0], e->target);
	KUNIT_EXPECT_PTR_EQ(test, call->after->pids[0], env->b);
	damon_commit_test_expect_fresh(test, call->after, 0, 0);
	KUNIT_EXPECT_EQ(test, call->after->sz_limit,
			damon_test_pg(DAMON_TEST_FAKE_PAGES) / 3);
	/* a: src; b: dst, two in src, src1. */
	damon_commit_test_expect_refs(test, env, 1, 4);

	/* What is refused leaves the running context as it is. */
	for (i = 0; i < 3; i++) {
		bad = damon_commit_test_ctx(test);
		bad->ops = ops;
		bad->attrs = attrs;
		damon_commit_test_add_target(test, bad, env->a, NULL, 0);
		if (i == 0)
			bad->attrs.min_nr_regions = 2;
		else if (i == 1)
			damon_commit_test_add_target(test, bad, env->b,
						     overlap,
						     ARRAY_SIZE(overlap));
		else
			damon_commit_test_add_target(test, bad, NULL, NULL, 0);
		ret = damon_commit_test_call(test, call, bad);
		KUNIT_EXPECT_EQ_MSG(test, ret, -EINVAL, "bad src %u", i);
		damon_commit_test_expect_same(test, call->before, call->after,
					      "running, bad src", i);
		KUNIT_EXPECT_EQ(test, call->inits_after, call->inits);
		KUNIT_EXPECT_EQ(test, call->cleanups_after, call->cleanups);
		damon_commit_test_release(test, bad);
	}
	damon_commit_test_expect_refs(test, env, 1, 4);

	/* Still running, and sound. */
	damon_commit_test_probe(test, e->ctx, &p0);
	ok = damon_test_wait_for(atomic_read(&damon_test_seen.check) >=
				 p0.checks + 10, 10000);
	KUNIT_EXPECT_TRUE(test, ok);
	KUNIT_EXPECT_TRUE(test, damon_is_running(e->ctx));
	inspect.data = e->ctx;
	KUNIT_EXPECT_EQ(test, damon_call(e->ctx, &inspect), 0);
	KUNIT_EXPECT_EQ(test, inspect.return_code, 0);
	KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&damon_test_seen.cleanup), 1);

	kunit_release_action(test, damon_test_engine_release, e);
	damon_commit_test_release(test, src1);
	damon_commit_test_release(test, src);
	damon_commit_test_expect_refs(test, env, 0, 0);
}

/* Switching the set of a running context cleans the old one up first. */
static void damon_commit_test_running_ops_switch(struct kunit *test)
{
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	struct damon_operations ops = damon_commit_test_fake_ops();
	struct damon_commit_test_call *call;
	struct damon_test_engine *e;
	struct damon_ctx *src;
	bool ok;
	int ret;

	damon_commit_test_borrow_paddr(test, &damon_commit_test_ops2);
	atomic_set(&damon_commit_test_seen.init, 0);
	atomic_set(&damon_commit_test_seen.check, 0);
	atomic_set(&damon_commit_test_seen.cleanup, 0);
	e = damon_test_engine_new(test);
	e->ctx->ops = ops;
	e->target->pid = get_pid(env->a);
	call = damon_commit_test_call_new(test, e->ctx);
	src = damon_commit_test_ctx(test);
	KUNIT_ASSERT_EQ(test, damon_select_ops(src, DAMON_OPS_PADDR), 0);
	src->attrs = e->ctx->attrs;
	damon_commit_test_add_target(test, src, env->a, NULL, 0);

	KUNIT_ASSERT_EQ(test, damon_test_engine_start(&e, 1, false), 0);
	ret = damon_commit_test_call(test, call, src);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_TRUE(test, damon_test_ops_equal(&call->after->ops,
						     &damon_commit_test_ops2));
	/* The old set cleaned up, the new one initialized, once each. */
	KUNIT_EXPECT_EQ(test, call->cleanups_after, call->cleanups + 1);
	KUNIT_EXPECT_EQ(test, call->inits_after, call->inits);
	KUNIT_EXPECT_EQ(test, atomic_read(&damon_commit_test_seen.init), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&damon_commit_test_seen.cleanup), 0);
	KUNIT_EXPECT_PTR_EQ(test, call->after->targets[0], e->target);

	ok = damon_test_wait_for(atomic_read(&damon_commit_test_seen.check) >=
				 10, 10000);
	KUNIT_EXPECT_TRUE_MSG(test, ok, "the new set does not check accesses");
	KUNIT_EXPECT_TRUE(test, damon_is_running(e->ctx));
	KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&damon_commit_test_seen.cleanup), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&damon_test_seen.cleanup), 1);

	kunit_release_action(test, damon_test_engine_release, e);
	damon_commit_test_release(test, src);
	damon_commit_test_expect_refs(test, env, 0, 0);
}

/*
 * A commit while an aggregation is under way, of the very attributes the
 * context has, must not make it count more samples than an aggregation
 * has: &damon_region.nr_accesses stays within damon_max_nr_accesses().
 */
struct damon_commit_test_window {
	struct damon_ctx *ctx, *src;
	bool committed;
	/* Highest counts seen before and after the commit. */
	unsigned int nr_before, last_before, nr_after, last_after;
	unsigned int samples_before, samples_after;
	unsigned long remaining;
};

/* Commit once at least 5 samples of the current aggregation counted. */
static int damon_commit_test_window_commit(void *data)
{
	struct damon_commit_test_window *w = data;
	struct damon_ctx *ctx = w->ctx;
	unsigned long max = damon_max_nr_accesses(&ctx->attrs);
	unsigned long left;
	int err;

	if (!damon_test_call_owns(ctx))
		return -ESRCH;
	left = ctx->next_aggregation_sis - ctx->passed_sample_intervals;
	if (left + 5 > max)
		return -EAGAIN;
	err = damon_commit_ctx(ctx, w->src);
	w->remaining = left;
	WRITE_ONCE(w->committed, !err);
	return err;
}

/* Repeated at every sample: the highest counts of any region. */
static int damon_commit_test_window_watch(void *data)
{
	struct damon_commit_test_window *w = data;
	unsigned int nr = 0, last = 0;
	struct damon_target *t;
	struct damon_region *r;

	damon_for_each_target(t, w->ctx) {
		damon_for_each_region(r, t) {
			nr = max(nr, r->nr_accesses);
			last = max(last, r->last_nr_accesses);
		}
	}
	if (w->committed) {
		w->nr_after = max(w->nr_after, nr);
		w->last_after = max(w->last_after, last);
		WRITE_ONCE(w->samples_after, w->samples_after + 1);
	} else {
		w->nr_before = max(w->nr_before, nr);
		w->last_before = max(w->last_before, last);
		WRITE_ONCE(w->samples_before, w->samples_before + 1);
	}
	return 0;
}

static void damon_commit_test_running_mid_aggregation(struct kunit *test)
{
	/* Both outlive the kdamond, for the repeated call. */
	struct damon_call_control *watch = damon_test_repeat_control(test);
	struct damon_commit_test_window *w = kunit_kzalloc(test, sizeof(*w),
							   GFP_KERNEL);
	struct damon_commit_test_env *env = damon_commit_test_env(test);
	/* 10 samples per aggregation; regions small enough to be all hot. */
	struct damon_attrs attrs = damon_test_attrs(1000, 10000, 10, 100);
	struct damon_call_control commit = {
		.fn = damon_commit_test_window_commit,
	};
	struct damon_test_engine *e;
	int i;
	bool ok;

	KUNIT_ASSERT_NOT_NULL(test, w);
	e = damon_test_engine_new(test);
	KUNIT_ASSERT_EQ(test, damon_set_attrs(e->ctx, &attrs), 0);
	/* A set whose targets are processes, as the target's pid says. */
	e->ctx->ops = damon_commit_test_fake_ops();
	e->target->pid = get_pid(env->a);
	w->ctx = e->ctx;
	w->src = damon_commit_test_ctx(test);
	w->src->ops = e->ctx->ops;
	w->src->attrs = e->ctx->attrs;
	damon_commit_test_add_target(test, w->src, env->a, NULL, 0);
	watch->fn = damon_commit_test_window_watch;
	watch->data = w;
	commit.data = w;

	KUNIT_ASSERT_EQ(test, damon_test_engine_start(&e, 1, false), 0);
	KUNIT_ASSERT_EQ(test, damon_call(e->ctx, watch), 0);
	ok = damon_test_wait_for(READ_ONCE(w->samples_before) >= 40, 10000);
	KUNIT_ASSERT_TRUE(test, ok);
	for (i = 0; i < 1000; i++) {
		KUNIT_ASSERT_EQ(test, damon_call(e->ctx, &commit), 0);
		if (commit.return_code != -EAGAIN)
			break;
		usleep_range(500, 1000);
	}
	KUNIT_ASSERT_EQ(test, commit.return_code, 0);
	ok = damon_test_wait_for(READ_ONCE(w->samples_after) >= 40, 10000);
	KUNIT_EXPECT_TRUE(test, ok);
	KUNIT_EXPECT_EQ(test, damon_stop(&e->ctx, 1), 0);

	/* Some region is hot at every sample: it counts all 10. */
	KUNIT_EXPECT_EQ(test, w->last_before, 10);
	KUNIT_EXPECT_LE(test, w->nr_before, 10);
	KUNIT_EXPECT_LE_MSG(test, w->nr_after, 10,
			    "committed with %lu of 10 samples to go",
			    w->remaining);
	KUNIT_EXPECT_EQ_MSG(test, w->last_after, 10,
			    "committed with %lu of 10 samples to go",
			    w->remaining);
}

DAMON_KUNIT_SUITE(damon_commit_test, "damon-commit",
		  /* Refusals, which leave the destination as it was */
		  KUNIT_CASE(damon_commit_test_invalid_attrs),
		  KUNIT_CASE(damon_commit_test_invalid_ops),
		  KUNIT_CASE(damon_commit_test_invalid_pid),
		  KUNIT_CASE(damon_commit_test_invalid_regions),

		  /* What the operations set says it takes as targets */
		  KUNIT_CASE(damon_commit_test_paddr_targets),
		  KUNIT_CASE(damon_commit_test_ops_properties),
		  KUNIT_CASE(damon_commit_test_ops_by_id_no_pid),
		  KUNIT_CASE(damon_commit_test_ops_by_id_pid),

		  /* A stopped context taking targets, attributes, regions */
		  KUNIT_CASE(damon_commit_test_same_pid_keeps),
		  KUNIT_CASE(damon_commit_test_rescale),
		  KUNIT_CASE(damon_commit_test_fit_regions),
		  KUNIT_CASE(damon_commit_test_new_pid),
		  KUNIT_CASE(damon_commit_test_targets_added_removed),

		  /* A stopped context changing its operations set */
		  KUNIT_CASE(damon_commit_test_select_ops),
		  KUNIT_CASE(damon_commit_test_stopped_no_init),

		  /* Commits into a running kdamond */
		  KUNIT_CASE(damon_commit_test_running),
		  KUNIT_CASE(damon_commit_test_running_ops_switch),
		  KUNIT_CASE(damon_commit_test_running_mid_aggregation));

#endif	/* _DAMON_COMMIT_KUNIT_H */

#endif	/* CONFIG_DAMON_KUNIT_TEST */
