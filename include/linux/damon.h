/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DAMON: the Data Access MONitor.
 *
 * The in-kernel interface.  A monitoring context (&struct damon_ctx) watches
 * a set of targets (&struct damon_target); each target's address space is
 * cut into regions (&struct damon_region) and one sampled address per region
 * stands for the whole region, so the cost of monitoring follows the number
 * of regions, not the amount of memory.  How addresses are sampled is up to
 * an operations set (&struct damon_operations) such as the virtual or the
 * physical address one.
 */

#ifndef _LINUX_DAMON_H
#define _LINUX_DAMON_H

#include <linux/completion.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>

/*
 * Size and alignment unit of regions.  Sampling looks at one page table
 * entry per region, so a region smaller than a page means nothing.
 */
#define DAMON_MIN_REGION	PAGE_SIZE

/* Highest priority score of a region for a scheme; the lowest is 0. */
#define DAMOS_MAX_SCORE		99

struct damon_ctx;
struct damon_target;
struct damon_region;
struct damos;

/**
 * struct damon_addr_range - A half-open address range, [@start, @end).
 * @start:	First address of the range.
 * @end:	First address past the range.
 */
struct damon_addr_range {
	unsigned long start;
	unsigned long end;
};

/**
 * struct damon_region - Part of a target that DAMON treats as one unit.
 *
 * All addresses of a region are assumed to be accessed alike, so checking
 * one of them per sample tells about all of them.
 *
 * @ar:			Address range of the region; aligned to
 *			%DAMON_MIN_REGION.
 * @list:		Position in the owning target's @regions_list, which is
 *			kept sorted by address with no overlaps.
 * @sampling_addr:	Address whose access the current sample looks at.
 * @nr_accesses:	Samples of the current aggregation interval that found
 *			the region accessed.
 * @nr_accesses_bp:	@nr_accesses as a moving sum over the last aggregation
 *			interval, in basis points (1/10000), updated at every
 *			sample so that readers between aggregations see a fresh
 *			value.
 * @last_nr_accesses:	@nr_accesses of the previous aggregation interval.
 * @age:		Aggregation intervals the access frequency stayed about
 *			the same for.
 * @sampling_armed:	The operations set already prepared @sampling_addr for
 *			the next sample, while checking the last one.  Set by
 *			the operations set, cleared by the core when sampling
 *			pauses; a new region starts without it.
 */
struct damon_region {
	struct damon_addr_range ar;
	struct list_head list;

	unsigned long sampling_addr;
	unsigned int nr_accesses;
	unsigned int nr_accesses_bp;
	unsigned int last_nr_accesses;
	unsigned int age;
	bool sampling_armed;
};

/**
 * struct damon_target - One address space a context monitors.
 * @pid:		The process whose virtual address space is monitored,
 *			or NULL for operations sets that have no process, such
 *			as the physical address space one.  The target owns a
 *			reference to it: whoever sets it hands one over, and
 *			damon_free_target() drops it.
 * @nr_regions:		Number of entries in @regions_list.
 * @regions_list:	Regions of this target, sorted by address, disjoint.
 * @list:		Position in the context's @adaptive_targets.
 */
struct damon_target {
	struct pid *pid;
	unsigned int nr_regions;
	struct list_head regions_list;
	struct list_head list;
};

/**
 * enum damon_ops_id - Identifier of an operations set.
 * @DAMON_OPS_VADDR:	Virtual address spaces of processes.
 * @DAMON_OPS_FVADDR:	Fixed, user-given ranges of virtual address spaces.
 * @DAMON_OPS_PADDR:	The physical address space.
 * @NR_DAMON_OPS:	Number of operations set identifiers; also the id of a
 *			context that has no operations set yet.
 */
enum damon_ops_id {
	DAMON_OPS_VADDR = 0,
	DAMON_OPS_FVADDR = 1,
	DAMON_OPS_PADDR = 2,
	NR_DAMON_OPS
};

/**
 * struct damon_operations - How a context reaches the memory it monitors.
 *
 * The core calls these from the kdamond thread only, so an operations set
 * needs no locking against itself.  Any callback may be NULL.
 */
struct damon_operations {
	/** @id: Identifier for damon_register_ops() and damon_select_ops(). */
	enum damon_ops_id id;
	/**
	 * @target_needs_pid: The targets are processes, so &damon_target.pid
	 * must be set; without this, it must be NULL.
	 */
	bool target_needs_pid;
	/**
	 * @max_nr_targets: Most targets a context of this set may have, for
	 * address spaces there is only so many of; 0 for no limit.
	 */
	unsigned int max_nr_targets;

	/**
	 * @init: Build the initial regions of every target that has none.
	 * Also called after damon_commit_ctx() on a running context, for
	 * the targets the commit added.
	 */
	void (*init)(struct damon_ctx *ctx);
	/**
	 * @target_valid: Whether a target can still be monitored, for
	 * example because its process is alive.  Monitoring ends once no
	 * target is valid.
	 */
	bool (*target_valid)(struct damon_target *t);
	/** @update: Refit the regions to changed mappings. */
	void (*update)(struct damon_ctx *ctx);
	/** @cleanup: Release what the set allocated for the context. */
	void (*cleanup)(struct damon_ctx *ctx);

	/**
	 * @prepare_access_checks: Pick the sampling address of every region
	 * and clear its accessed state.
	 */
	void (*prepare_access_checks)(struct damon_ctx *ctx);
	/**
	 * @check_accesses: Read back the accessed state of the sampling
	 * addresses, count it into the regions, and return the largest
	 * &damon_region.nr_accesses seen.
	 */
	unsigned int (*check_accesses)(struct damon_ctx *ctx);
	/** @reset_aggregated: Clear per-aggregation state of the set. */
	void (*reset_aggregated)(struct damon_ctx *ctx);

	/** @get_scheme_score: Priority, 0..99, of a region for a scheme. */
	int (*get_scheme_score)(struct damon_ctx *ctx, struct damon_target *t,
				struct damon_region *r, struct damos *s);
	/**
	 * @apply_scheme: Apply a scheme's action to a region; return the
	 * bytes it was applied to and store in @sz_filter_passed those the
	 * set's filters let through.
	 */
	unsigned long (*apply_scheme)(struct damon_ctx *ctx,
				      struct damon_target *t,
				      struct damon_region *r, struct damos *s,
				      unsigned long *sz_filter_passed);
};

/**
 * enum damos_action - What a DAMON-based operation scheme does to a region.
 * @DAMOS_WILLNEED:	Read the region in ahead, as MADV_WILLNEED does.
 * @DAMOS_COLD:		Deactivate the region, as MADV_COLD does.
 * @DAMOS_PAGEOUT:	Reclaim the region, as MADV_PAGEOUT does.
 * @DAMOS_HUGEPAGE:	Allow huge pages, as MADV_HUGEPAGE does.
 * @DAMOS_NOHUGEPAGE:	Forbid huge pages, as MADV_NOHUGEPAGE does.
 * @DAMOS_LRU_PRIO:	Move the region's pages to the head of their LRU.
 * @DAMOS_LRU_DEPRIO:	Move the region's pages to the tail of their LRU.
 * @DAMOS_MIGRATE_HOT:	Migrate the region to @target_nid, hottest first.
 * @DAMOS_MIGRATE_COLD:	Migrate the region to @target_nid, coldest first.
 * @DAMOS_STAT:		Nothing; only count the region in the statistics.
 * @NR_DAMOS_ACTIONS:	Number of actions.
 *
 * Which actions an operations set supports is up to the set; the others
 * apply to nothing.  The order is ABI: the sysfs keywords follow it.
 */
enum damos_action {
	DAMOS_WILLNEED = 0,
	DAMOS_COLD = 1,
	DAMOS_PAGEOUT = 2,
	DAMOS_HUGEPAGE = 3,
	DAMOS_NOHUGEPAGE = 4,
	DAMOS_LRU_PRIO = 5,
	DAMOS_LRU_DEPRIO = 6,
	DAMOS_MIGRATE_HOT = 7,
	DAMOS_MIGRATE_COLD = 8,
	DAMOS_STAT = 9,
	NR_DAMOS_ACTIONS
};

/**
 * struct damos_access_pattern - Which regions a scheme applies to.
 * @min_sz_region:	Smallest region size, in bytes.
 * @max_sz_region:	Largest region size, in bytes.
 * @min_nr_accesses:	Lowest access frequency, in samples per aggregation.
 * @max_nr_accesses:	Highest access frequency.
 * @min_age_region:	Lowest age, in aggregation intervals.
 * @max_age_region:	Highest age.
 *
 * All ranges are closed.  The frequency compared is
 * &damon_region.nr_accesses_bp / 10000, fresh at every sample.
 */
struct damos_access_pattern {
	unsigned long min_sz_region, max_sz_region;
	unsigned int min_nr_accesses, max_nr_accesses;
	unsigned int min_age_region, max_age_region;
};

/**
 * enum damos_quota_goal_metric - What a quota goal measures.
 * @DAMOS_QUOTA_USER_INPUT:	A value the user feeds in.
 * @DAMOS_QUOTA_SOME_MEM_PSI_US: Time some task stalled on memory during
 *				the last quota window, in microseconds.
 * @DAMOS_QUOTA_NODE_MEM_USED_BP: Memory in use on the goal's node, in basis
 *				points of the node's memory.
 * @DAMOS_QUOTA_NODE_MEM_FREE_BP: Free memory of the goal's node, likewise.
 * @NR_DAMOS_QUOTA_GOAL_METRICS: Number of metrics.
 */
enum damos_quota_goal_metric {
	DAMOS_QUOTA_USER_INPUT,
	DAMOS_QUOTA_SOME_MEM_PSI_US,
	DAMOS_QUOTA_NODE_MEM_USED_BP,
	DAMOS_QUOTA_NODE_MEM_FREE_BP,
	NR_DAMOS_QUOTA_GOAL_METRICS,
};

/**
 * struct damos_quota_goal - A value a scheme's quota is tuned to reach.
 * @list:		Position in &damos_quota.goals.
 * @metric:		What is measured.
 * @current_value:	The value last measured (or fed, for
 *			%DAMOS_QUOTA_USER_INPUT).
 * @target_value:	The value to reach.
 * @nid:		Node of the per-node metrics; it must be online and
 *			have memory.
 * @psi_total_seen:	PSI total at the last measurement, in ns.
 */
struct damos_quota_goal {
	struct list_head list;
	enum damos_quota_goal_metric metric;
	unsigned long current_value;
	unsigned long target_value;
	int nid;
	u64 psi_total_seen;
};

/**
 * struct damos_quota - How much a scheme may do per time window.
 * @ms:			Time the action may take per window; 0 for no limit.
 * @sz:			Bytes the action may be tried on per window; 0 for
 *			no limit.
 * @reset_interval:	Length of a window, in milliseconds.
 * @weight_sz:		Weight of the region size in the priority score.
 * @weight_nr_accesses:	Weight of the access frequency.
 * @weight_age:		Weight of the age.
 * @goals:		&struct damos_quota_goal that tune the size quota.
 * @esz:		Effective size quota of the current window: what @ms,
 *			@sz and @goals allow together.  0 for no limit.
 *
 * When more regions match than the quota allows, those of the highest
 * priority score (0..99, from the operations set or from the weights) go
 * first.  The private fields are the kdamond's.
 */
struct damos_quota {
	unsigned long ms;
	unsigned long sz;
	unsigned long reset_interval;
	unsigned int weight_sz;
	unsigned int weight_nr_accesses;
	unsigned int weight_age;
	struct list_head goals;
	unsigned long esz;
/* private: */
	/* When the current window began, in jiffies; 0 before the first. */
	unsigned long window_start;
	/* Bytes charged in the current window. */
	unsigned long window_sz;
	/* Lowest score the current pass applies to, found from @score_sz. */
	unsigned int pass_min_score;
	/* Bytes of matching regions per score. */
	unsigned long score_sz[DAMOS_MAX_SCORE + 1];
	/*
	 * Where the last window ran out of quota, where the next starts;
	 * the target is compared, never dereferenced.
	 */
	struct damon_target *resume_target;
	unsigned long resume_addr;
	/* Bytes charged and the time the action took: the throughput. */
	unsigned long spent_sz;
	unsigned long spent_ns;
	/* Size quota the goals tuned, in 1/10000 bytes. */
	unsigned long tuned_esz_bp;
};

/**
 * enum damos_wmark_metric - What watermarks compare.
 * @DAMOS_WMARK_NONE:		Nothing; the scheme is always active.
 * @DAMOS_WMARK_FREE_MEM_RATE:	Free memory, per mille of all memory.
 * @NR_DAMOS_WMARK_METRICS:	Number of metrics.
 */
enum damos_wmark_metric {
	DAMOS_WMARK_NONE,
	DAMOS_WMARK_FREE_MEM_RATE,
	NR_DAMOS_WMARK_METRICS,
};

/**
 * struct damos_watermarks - When a scheme is active.
 * @metric:	What is compared.
 * @interval:	How often it is checked, in microseconds.
 * @high:	Above this the scheme is inactive.
 * @mid:	An inactive scheme activates below this.
 * @low:	Below this the scheme is inactive.
 */
struct damos_watermarks {
	unsigned long interval;
	enum damos_wmark_metric metric;
	unsigned long low;
	unsigned long mid;
	unsigned long high;
/* private: */
	/* Whether the scheme is active; the kdamond's. */
	bool activated;
};

/**
 * enum damos_filter_type - What a DAMOS filter looks at.
 * @DAMOS_FILTER_TYPE_ANON:	Anonymous pages.
 * @DAMOS_FILTER_TYPE_MEMCG:	Pages of a memory cgroup.
 * @DAMOS_FILTER_TYPE_YOUNG:	Pages accessed since the last check.
 * @DAMOS_FILTER_TYPE_ADDR:	An address range.
 * @DAMOS_FILTER_TYPE_TARGET:	A target, by its index in the context.
 * @NR_DAMOS_FILTER_TYPES:	Number of types.
 *
 * The order is ABI: the sysfs keywords follow it.
 */
enum damos_filter_type {
	/* Judged page by page, by the operations set. */
	DAMOS_FILTER_TYPE_ANON = 0,
	DAMOS_FILTER_TYPE_MEMCG = 1,
	DAMOS_FILTER_TYPE_YOUNG = 2,
	/* Judged region by region, by the core. */
	DAMOS_FILTER_TYPE_ADDR = 3,
	DAMOS_FILTER_TYPE_TARGET = 4,
	NR_DAMOS_FILTER_TYPES
};

/**
 * struct damos_filter - Memory a scheme allows or rejects.
 * @list:	Position in &damos.filters.
 * @addr_range:	The range, for %DAMOS_FILTER_TYPE_ADDR.
 * @memcg_id:	The cgroup's id, for %DAMOS_FILTER_TYPE_MEMCG.
 * @target_idx:	The target's index, for %DAMOS_FILTER_TYPE_TARGET.
 * @type:	What the filter looks at.
 * @matching:	True if the filter is about memory that has the property,
 *		false if about memory that has not.
 * @allow:	Whether memory the filter is about is allowed or rejected.
 *
 * Filters are looked at in order; the first one the memory is about
 * decides.  Memory none is about is allowed.
 */
struct damos_filter {
	struct list_head list;
	union {
		struct damon_addr_range addr_range;
		unsigned short memcg_id;
		int target_idx;
	};
	enum damos_filter_type type;
	bool matching;
	bool allow;
};

/**
 * struct damos_stat - What a scheme did.
 * @nr_tried:	Regions the action was tried on.
 * @sz_tried:	Bytes of those.
 * @nr_applied:	Regions the action was applied to, in part at least.
 * @sz_applied:	Bytes it was applied to.
 * @sz_ops_filter_passed: Bytes of tried regions the operations set's
 *		filters let through.
 * @qt_exceeds:	Quota windows in which the quota ran out.
 */
struct damos_stat {
	unsigned long nr_tried;
	unsigned long sz_tried;
	unsigned long nr_applied;
	unsigned long sz_applied;
	unsigned long sz_ops_filter_passed;
	unsigned long qt_exceeds;
};

/**
 * struct damos - A DAMON-based operation scheme.
 * @pattern:		Which regions it applies to.
 * @action:		What it does to them.
 * @apply_interval_us:	How often it is applied, in microseconds; 0 for
 *			every aggregation interval.
 * @quota:		How much it may do.
 * @wmarks:		When it is active.
 * @target_nid:		Destination node of the migrate actions.
 * @filters:		&struct damos_filter, in order.
 * @stat:		What it did.
 * @list:		Position in &damon_ctx.schemes.
 *
 * The private fields are the kdamond's.
 */
struct damos {
	struct damos_access_pattern pattern;
	enum damos_action action;
	unsigned long apply_interval_us;
	struct damos_quota quota;
	struct damos_watermarks wmarks;
	int target_nid;
	struct list_head filters;
	struct damos_stat stat;
	struct list_head list;
/* private: */
	/* &damon_ctx.passed_sample_intervals of the next application. */
	unsigned long apply_due_sis;
	/* A pending damos_walk() saw this scheme's whole pass. */
	bool walk_done;
};

/**
 * struct damos_walk_control - A visit of the regions schemes are tried on.
 * @walk_fn:	Called in the kdamond for each region a scheme is tried on,
 *		with the bytes of it the operations set's filters passed.
 * @data:	First argument of @walk_fn.
 * @canceled:	The kdamond stopped or was deactivated before the walk
 *		finished, or the caller was killed.
 *
 * See damos_walk().
 */
struct damos_walk_control {
	void (*walk_fn)(void *data, struct damon_ctx *ctx,
			struct damon_target *t, struct damon_region *r,
			struct damos *s, unsigned long sz_filter_passed);
	void *data;
	bool canceled;
/* private: */
	struct completion completion;
	/* The caller was killed: the kdamond cancels the walk. */
	bool abort;
};

/**
 * struct damon_intervals_goal - What the intervals are tuned to reach.
 * @access_bp:		Share of the possible access events an aggregation
 *			interval should see, in basis points (1/10000).
 * @aggrs:		Tune every this many aggregation intervals; 0 for no
 *			tuning.
 * @min_sample_us:	Shortest sampling interval tuning may set.
 * @max_sample_us:	Longest sampling interval tuning may set.
 *
 * A region sampled in every sample of an aggregation interval shows as
 * many access events as the interval has samples; the memory of a context
 * can show its size times that.  With too few events seen, the intervals
 * are too short for the workload's pace and tell little; with too many,
 * they are longer than needed and cost more.  So every @aggrs aggregations
 * the kdamond scales the aggregation interval by feedback toward
 * @access_bp, and the sampling interval with it, keeping their ratio,
 * within [@min_sample_us, @max_sample_us].
 */
struct damon_intervals_goal {
	unsigned long access_bp;
	unsigned long aggrs;
	unsigned long min_sample_us;
	unsigned long max_sample_us;
};

/**
 * struct damon_attrs - Monitoring attributes of a context.
 * @sample_interval:	Time between two samples of a region.
 * @aggr_interval:	Time over which samples are counted into
 *			&damon_region.nr_accesses before regions are merged
 *			and split.
 * @ops_update_interval: Time between &damon_operations.update calls.
 * @min_nr_regions:	Fewest regions the adaptive adjustment keeps.
 * @max_nr_regions:	Most regions the adaptive adjustment keeps; at most
 *			%DAMON_MAX_NR_REGIONS.
 * @intervals_goal:	What the intervals are tuned to reach, if anything.
 *
 * Intervals are in microseconds.  An aggregation interval may hold at most
 * %DAMON_MAX_AGGR_SAMPLES sampling intervals.
 */
struct damon_attrs {
	unsigned long sample_interval, aggr_interval, ops_update_interval;
	unsigned long min_nr_regions, max_nr_regions;
	struct damon_intervals_goal intervals_goal;
};

/**
 * struct damon_call_control - A function for a kdamond to run.
 * @fn:			The function; called with @data in the kdamond.
 * @data:		Argument of @fn.
 * @repeat:		Call @fn at every sampling interval until the kdamond
 *			stops, instead of once.  damon_call() then returns as
 *			soon as the request is queued.
 * @after_aggregation:	With @repeat, call @fn once per aggregation interval
 *			instead, when the interval ends: after the regions
 *			were merged and the schemes applied, before the
 *			access counts start over.  @fn then sees each region's
 *			&damon_region.nr_accesses and &damon_region.age of the
 *			aggregation that ended, as the damon_aggregated
 *			tracepoint reports them.
 * @return_code:	What the last call of @fn returned.
 * @canceled:		The kdamond stopped before calling @fn, or died in
 *			it (or, with @repeat, stopped at all).
 *
 * See damon_call().  The control must stay valid until @fn has run or the
 * request was canceled; a repeated one, until the kdamond stopped.
 */
struct damon_call_control {
	int (*fn)(void *data);
	void *data;
	bool repeat;
	bool after_aggregation;
	int return_code;
	bool canceled;
/* private: */
	struct completion completion;
	struct list_head list;
};

/**
 * struct damon_ctx - A monitoring context: what to watch and how.
 *
 * @attrs:		Monitoring attributes.
 * @ops:		Operations set reaching the monitored memory.
 * @adaptive_targets:	The targets (&damon_target.list).
 * @schemes:		DAMON-based operation schemes (&damos.list).
 *
 * The kdamond owns the fields below while it runs; anyone else reaches them
 * through damon_call().  Time is counted in sampling intervals, not in wall
 * time, so a slow check of accesses does not shorten an aggregation.
 *
 * @passed_sample_intervals: Sampling intervals since the kdamond started.
 * @next_aggregation_sis: @passed_sample_intervals at which the current
 *			aggregation interval ends.
 * @next_ops_update_sis: @passed_sample_intervals at which the next
 *			&damon_operations.update is due.
 * @tune_aggrs:		Aggregations since the intervals were last tuned.
 * @tune_access_bp:	Sum of their shares of access events, in basis points.
 * @sz_limit:		Size no merge may make a region exceed, so that
 *			at least &damon_attrs.min_nr_regions regions remain.
 *
 * @kdamond:		The thread monitoring this context, NULL while it is
 *			not running; a task reference is held while it is
 *			set.  Protected by @kdamond_lock.
 * @kdamond_lock:	Protects @kdamond and @kdamond_stop.
 * @kdamond_stop:	damon_stop() asks the kdamond to finish.
 * @kdamond_exited:	Completed when the kdamond is done with the context,
 *			after it dropped @kdamond; complete while not
 *			running.
 * @call_controls:	Queued damon_call() requests.  Protected by
 *			@call_controls_lock.
 * @call_controls_lock:	Protects @call_controls, @call_running and
 *			@walk_control.
 * @call_running:	The damon_call() request the kdamond is running.
 * @walk_control:	The pending damos_walk(), or NULL.
 * @repeat_controls:	Repeated damon_call() requests run at every sampling
 *			interval; the kdamond's own.
 * @aggr_controls:	Repeated damon_call() requests run after every
 *			aggregation interval; the kdamond's own.
 * @kdamond_parked:	The kdamond sleeps between two samples, and stays
 *			asleep while @call_stand_in is set.
 * @kdamond_parked_inactive: It sleeps while the watermarks hold the schemes
 *			inactive, which may be long.
 * @kdamond_waits_stand_in: It woke and waits for @call_stand_in to finish.
 * @call_stand_in:	The damon_call() caller running its function for the
 *			parked kdamond, or NULL.
 * @call_ran_parked:	A stand-in ran a function since the kdamond parked.
 *			These five are protected by @call_controls_lock.
 */
struct damon_ctx {
	struct damon_attrs attrs;
	struct damon_operations ops;
	struct list_head adaptive_targets;
	struct list_head schemes;

	unsigned long passed_sample_intervals;
	unsigned long next_aggregation_sis;
	unsigned long next_ops_update_sis;
	unsigned long tune_aggrs;
	u64 tune_access_bp;
	unsigned long sz_limit;

	struct mutex kdamond_lock;		/* protects @kdamond */
	struct task_struct *kdamond;
	bool kdamond_stop;
	struct completion kdamond_exited;
	struct list_head call_controls;
	struct damon_call_control *call_running;
	spinlock_t call_controls_lock;		/* protects the requests */
	struct list_head repeat_controls;
	struct list_head aggr_controls;
	struct damos_walk_control *walk_control;
	bool kdamond_parked;
	bool kdamond_parked_inactive;
	bool kdamond_waits_stand_in;
	bool call_ran_parked;
	struct task_struct *call_stand_in;
};

/*
 * Most samples an aggregation interval may hold: &damon_region.nr_accesses_bp
 * counts a whole window of accesses, times 10000, in an unsigned int.
 * damon_set_attrs() refuses intervals of a longer window.
 */
#define DAMON_MAX_AGGR_SAMPLES	(UINT_MAX / 10000)

/*
 * Most regions a context may be asked to keep.  Each region costs memory
 * and a sample per sampling interval; beyond this, a typo in a limit could
 * have the kdamond split memory until the machine runs out of it.
 */
#define DAMON_MAX_NR_REGIONS	BIT(20)

/*
 * Attributes of a new context (damon_new_ctx()), which the user interfaces
 * start from too: a sample every 5 ms, an aggregation every 100 ms and an
 * operations update every 60 s, in microseconds, and 10 to 1000 regions.
 */
#define DAMON_DEFAULT_SAMPLE_INTERVAL		5000
#define DAMON_DEFAULT_AGGR_INTERVAL		100000
#define DAMON_DEFAULT_OPS_UPDATE_INTERVAL	60000000
#define DAMON_DEFAULT_MIN_NR_REGIONS		10
#define DAMON_DEFAULT_MAX_NR_REGIONS		1000

/**
 * damon_max_nr_accesses() - Count the samples of an aggregation interval.
 * @attrs:	The monitoring attributes.
 *
 * That is the most &damon_region.nr_accesses can reach.  It is clamped
 * before it is narrowed, so that attributes nobody validated cannot make it
 * wrap to 0.
 *
 * Return: the sampling intervals per aggregation interval, at least one so
 * that it can divide, and at most %DAMON_MAX_AGGR_SAMPLES.
 */
static inline unsigned int damon_max_nr_accesses(const struct damon_attrs *attrs)
{
	unsigned long window = attrs->aggr_interval /
		max(attrs->sample_interval, 1UL);

	return clamp_t(unsigned long, window, 1, DAMON_MAX_AGGR_SAMPLES);
}

/**
 * damon_target_has_pid() - Tell whether the targets of a context have pids.
 * @ctx:	The context.
 *
 * The operations set of @ctx says it (&damon_operations.target_needs_pid):
 * a process address space needs &damon_target.pid, something like the
 * physical address space has none.
 *
 * Return: true if each target of @ctx must have a pid, false if none may.
 */
static inline bool damon_target_has_pid(const struct damon_ctx *ctx)
{
	return ctx->ops.target_needs_pid;
}

unsigned long damon_rand(unsigned long lo, unsigned long hi);

/* === Regions === */

/**
 * damon_sz_region() - Tell the size of a region.
 * @r:	The region.
 *
 * Return: the bytes @r spans.
 */
static inline unsigned long damon_sz_region(struct damon_region *r)
{
	return r->ar.end - r->ar.start;
}

/**
 * damon_first_region() - Find the lowest region of a target.
 * @t:	The target; it must have a region.
 *
 * Return: the region of @t with the lowest addresses.
 */
static inline struct damon_region *damon_first_region(struct damon_target *t)
{
	return list_first_entry(&t->regions_list, struct damon_region, list);
}

/**
 * damon_last_region() - Find the highest region of a target.
 * @t:	The target; it must have a region.
 *
 * Return: the region of @t with the highest addresses.
 */
static inline struct damon_region *damon_last_region(struct damon_target *t)
{
	return list_last_entry(&t->regions_list, struct damon_region, list);
}

/**
 * damon_next_region() - Find the region above another of its target.
 * @r:	The region; it must not be its target's last.
 *
 * Return: the region that follows @r in its target's list.
 */
static inline struct damon_region *damon_next_region(struct damon_region *r)
{
	return list_next_entry(r, list);
}

/**
 * damon_prev_region() - Find the region below another of its target.
 * @r:	The region; it must not be its target's first.
 *
 * Return: the region that precedes @r in its target's list.
 */
static inline struct damon_region *damon_prev_region(struct damon_region *r)
{
	return list_prev_entry(r, list);
}

/* Iterators; the _safe ones allow destroying the current entry. */
#define damon_for_each_region(r, t) list_for_each_entry(r, &(t)->regions_list, list)
#define damon_for_each_region_from(r, t) list_for_each_entry_from(r, &(t)->regions_list, list)
#define damon_for_each_region_safe(r, n, t) list_for_each_entry_safe(r, n, &(t)->regions_list, list)

#define damon_for_each_target(t, c) list_for_each_entry(t, &(c)->adaptive_targets, list)
#define damon_for_each_target_safe(t, n, c) \
	list_for_each_entry_safe(t, n, &(c)->adaptive_targets, list)

#define damon_for_each_scheme(s, c) list_for_each_entry(s, &(c)->schemes, list)
#define damon_for_each_scheme_safe(s, n, c) \
	list_for_each_entry_safe(s, n, &(c)->schemes, list)

#define damos_for_each_filter(f, s) list_for_each_entry(f, &(s)->filters, list)
#define damos_for_each_filter_safe(f, n, s) \
	list_for_each_entry_safe(f, n, &(s)->filters, list)

#define damos_for_each_quota_goal(g, q) list_for_each_entry(g, &(q)->goals, list)
#define damos_for_each_quota_goal_safe(g, n, q) \
	list_for_each_entry_safe(g, n, &(q)->goals, list)

#ifdef CONFIG_DAMON

/* Regions (core.c) */
struct damon_region *damon_new_region(unsigned long start, unsigned long end);
void damon_destroy_region(struct damon_region *r, struct damon_target *t);
void damon_add_region(struct damon_region *r, struct damon_target *t);
void damon_insert_region(struct damon_region *r, struct damon_region *prev,
			 struct damon_region *next, struct damon_target *t);
int damon_set_regions(struct damon_target *t, struct damon_addr_range *ranges,
		      unsigned int nr_ranges);
unsigned int damon_nr_regions(struct damon_target *t);
void damon_update_region_access_rate(struct damon_region *r, bool accessed,
				     struct damon_attrs *attrs);

/* Targets (core.c) */
struct damon_target *damon_new_target(void);
void damon_free_target(struct damon_target *t);
void damon_add_target(struct damon_ctx *ctx, struct damon_target *t);
void damon_destroy_target(struct damon_target *t);
bool damon_targets_empty(struct damon_ctx *ctx);

/* Contexts (core.c) */
struct damon_ctx *damon_new_ctx(void);
void damon_destroy_ctx(struct damon_ctx *ctx);
int damon_set_attrs(struct damon_ctx *ctx, struct damon_attrs *attrs);
int damon_commit_ctx(struct damon_ctx *dst, struct damon_ctx *src);

/* Schemes (schemes.c) */
struct damos *
damon_new_scheme(struct damos_access_pattern *pattern, enum damos_action action,
		 unsigned long apply_interval_us, struct damos_quota *quota,
		 struct damos_watermarks *wmarks, int target_nid);
void damon_add_scheme(struct damon_ctx *ctx, struct damos *s);
void damon_destroy_scheme(struct damos *s);
void damon_set_schemes(struct damon_ctx *ctx, struct damos **schemes,
		       ssize_t nr_schemes);
struct damos_filter *damos_new_filter(enum damos_filter_type type,
				      bool matching, bool allow);
void damos_add_filter(struct damos *s, struct damos_filter *f);
void damos_destroy_filter(struct damos_filter *f);
struct damos_quota_goal *
damos_new_quota_goal(enum damos_quota_goal_metric metric,
		     unsigned long target_value);
void damos_add_quota_goal(struct damos_quota *q, struct damos_quota_goal *g);
void damos_destroy_quota_goal(struct damos_quota_goal *g);
int damos_commit_quota_goals(struct damos_quota *dst, struct damos_quota *src);
int damos_walk(struct damon_ctx *ctx, struct damos_walk_control *control);

/* Operations sets (core.c) */
int damon_register_ops(struct damon_operations *ops);
int damon_select_ops(struct damon_ctx *ctx, enum damon_ops_id id);
bool damon_is_registered_ops(enum damon_ops_id id);

/* Running (core.c) */
int damon_start(struct damon_ctx **ctxs, int nr_ctxs, bool exclusive);
int damon_stop(struct damon_ctx **ctxs, int nr_ctxs);
int damon_nr_running_ctxs(void);
bool damon_is_running(struct damon_ctx *ctx);
int damon_kdamond_pid(struct damon_ctx *ctx);
int damon_call(struct damon_ctx *ctx, struct damon_call_control *control);

#endif	/* CONFIG_DAMON */

#endif	/* _LINUX_DAMON_H */
