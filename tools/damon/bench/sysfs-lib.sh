# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers for guest scripts that drive DAMON through its sysfs interface,
# /sys/kernel/mm/damon/admin: one kdamond with one vaddr context and one
# target process.  The same calls work on any kernel with that ABI, which
# is what lets the benchmarks compare kernels.  Source it; it sets no
# shell options.

DAMON_ADMIN=/sys/kernel/mm/damon/admin
DAMON_KD=$DAMON_ADMIN/kdamonds/0
DAMON_CTX=$DAMON_KD/contexts/0

# damon_write FILE VALUE: write VALUE to FILE, saying which write failed.
damon_write() {
	if ! echo "$2" > "$1"; then
		echo "sysfs: writing '$2' to ${1#"$DAMON_ADMIN"/} failed" >&2
		return 1
	fi
}

# damon_setup PID SAMPLE_US AGGR_US MIN_NR_REGIONS MAX_NR_REGIONS: lay out
# kdamond 0 monitoring the virtual address space of PID.  The values reach
# DAMON on "damon_state on" or "damon_state commit".
damon_setup() {
	local pid=$1 sample=$2 aggr=$3 min=$4 max=$5

	[ -d $DAMON_ADMIN ] || { echo "sysfs: no $DAMON_ADMIN" >&2; return 1; }
	damon_write $DAMON_ADMIN/kdamonds/nr_kdamonds 1 &&
	damon_write $DAMON_KD/contexts/nr_contexts 1 &&
	damon_write $DAMON_CTX/operations vaddr &&
	damon_write $DAMON_CTX/monitoring_attrs/intervals/sample_us "$sample" &&
	damon_write $DAMON_CTX/monitoring_attrs/intervals/aggr_us "$aggr" &&
	# Raise max before min, so that no pair in between has min > max.
	damon_write $DAMON_CTX/monitoring_attrs/nr_regions/max "$max" &&
	damon_write $DAMON_CTX/monitoring_attrs/nr_regions/min "$min" &&
	damon_write $DAMON_CTX/targets/nr_targets 1 &&
	damon_write $DAMON_CTX/targets/0/pid_target "$pid"
}

# damon_has_intervals_goal: whether the kernel tunes intervals to a goal.
damon_has_intervals_goal() {
	[ -d $DAMON_CTX/monitoring_attrs/intervals/intervals_goal ]
}

# damon_intervals_goal ACCESS_BP AGGRS MIN_SAMPLE_US MAX_SAMPLE_US: the goal
# of kdamond 0's context, after damon_setup.
damon_intervals_goal() {
	local d=$DAMON_CTX/monitoring_attrs/intervals/intervals_goal

	damon_write $d/access_bp "$1" &&
	damon_write $d/aggrs "$2" &&
	# Raise max before min, as for the region bounds.
	damon_write $d/max_sample_us "$4" &&
	damon_write $d/min_sample_us "$3"
}

# damon_state KEYWORD: write KEYWORD (on, off, commit...) to the state file.
damon_state() {
	damon_write $DAMON_KD/state "$1"
}

# damon_pid: the pid of kdamond 0, -1 when it is off.
damon_pid() {
	cat $DAMON_KD/pid
}

# damon_reset: stop kdamond 0 if it runs, and remove every kdamond.
damon_reset() {
	[ -d $DAMON_ADMIN ] || return 0
	if [ -e $DAMON_KD/state ] && [ "$(cat $DAMON_KD/state)" = on ]; then
		damon_state off || return 1
	fi
	damon_write $DAMON_ADMIN/kdamonds/nr_kdamonds 0
}
