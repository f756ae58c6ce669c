/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The DAMON core's internal header, shared by the two files of the core:
 * core.c (contexts and the kdamond loop) and schemes.c (DAMON-based
 * operation schemes).  Not for operations sets or user interfaces: those
 * use include/linux/damon.h.
 */

#ifndef _DAMON_CORE_H
#define _DAMON_CORE_H

#include <linux/damon.h>
#include <linux/nodemask.h>

/* core.c */
struct damon_region *damon_split_region_at(struct damon_target *t,
					   struct damon_region *r,
					   unsigned long sz_r);
u64 damon_mul_div(u64 a, u64 b, u64 c);
void damon_wait_kdamond(struct damon_ctx *ctx, struct completion *done);
int damon_wait_kdamond_killable(struct damon_ctx *ctx,
				struct completion *done);
void damon_wake_kdamond(struct damon_ctx *ctx);

/*
 * The count of sampling intervals of @ctx @n samples from now, or ULONG_MAX
 * if that is beyond counting: an interval too long to ever pass never
 * comes, rather than wrapping around to come at once.
 */
static inline unsigned long damon_due_sis(const struct damon_ctx *ctx,
					  unsigned long n)
{
	unsigned long now = ctx->passed_sample_intervals;

	return n > ULONG_MAX - now ? ULONG_MAX : now + n;
}

/*
 * Whether @ctx runs and the caller acts as its kdamond: it is the kdamond,
 * or a damon_call() caller standing in for it while it is parked.
 */
static inline bool damon_ctx_runs_here(const struct damon_ctx *ctx)
{
	/* Unlocked: seen by the owner itself, it cannot change meanwhile. */
	const struct task_struct *kdamond = data_race(ctx->kdamond);
	/* Likewise: a stand-in sets and clears itself. */
	const struct task_struct *stand_in = data_race(ctx->call_stand_in);

	return kdamond && (kdamond == current || stand_in == current);
}

/*
 * Whether the caller may change what the kdamond of @ctx owns: @ctx does not
 * run, or the caller acts as its kdamond, as a damon_call() function does.
 * For debug checks only: the answer is stale once @ctx starts or stops.
 */
static inline bool damon_ctx_owned(const struct damon_ctx *ctx)
{
	/* Unlocked: only a start or stop, which the caller owns, changes it. */
	return !data_race(ctx->kdamond) || damon_ctx_runs_here(ctx);
}

/* With CONFIG_DEBUG_VM, complain if the caller may not change @ctx. */
#define damon_assert_owned(ctx)	VM_WARN_ON_ONCE(!damon_ctx_owned(ctx))

/* Whether @nid is a node memory can be placed on or measured. */
static inline bool damon_valid_nid(int nid)
{
	return nid >= 0 && nid < MAX_NUMNODES && node_state(nid, N_MEMORY);
}

/* schemes.c, called by the kdamond */
unsigned long kdamond_wmarks_wait_us(struct damon_ctx *ctx);
void kdamond_apply_schemes(struct damon_ctx *ctx);
void kdamond_init_schemes(struct damon_ctx *ctx);
void damos_walk_cancel(struct damon_ctx *ctx);
void damos_walk_abandon(struct damon_ctx *ctx);
bool damos_walk_aborted(struct damon_ctx *ctx);

/* schemes.c, for damon_commit_ctx() */

/**
 * struct damos_commit_prep - What committing schemes allocates up front.
 * @schemes:	New schemes, for those of the source beyond the destination's.
 * @goals:	Quota goals the destination's schemes lack.
 * @filters:	Filters the destination's schemes lack.
 *
 * Allocated before anything changes, so that a commit cannot fail half way
 * and leave, say, a scheme that lost its filters but kept its action.
 */
struct damos_commit_prep {
	struct list_head schemes;
	struct list_head goals;
	struct list_head filters;
};

int damon_check_commit_schemes(struct damon_ctx *src);
int damos_commit_prepare(struct damon_ctx *dst, struct damon_ctx *src,
			 struct damos_commit_prep *prep);
void damos_commit_prepared(struct damon_ctx *dst, struct damon_ctx *src,
			   struct damos_commit_prep *prep);
void damos_commit_prep_free(struct damos_commit_prep *prep);
int damon_commit_schemes(struct damon_ctx *dst, struct damon_ctx *src);

#endif /* _DAMON_CORE_H */
