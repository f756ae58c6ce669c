#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the kdamond overhead benchmark: monitor a workload through
# the damon_sample_wsse sample with the region count pinned to each of the
# given numbers, and print the kdamond's CPU time per second of wall time.
#
#   kdamond-cpu.sh <workload binary> <seconds> <nr_regions>...
#
# Prints one line per count: "kdamond_cpu nr_regions=N cpu_per_wall=X".
# CPU time comes from /proc/<pid>/schedstat (nanoseconds on a CPU).

set -u

workload=$1
secs=$2
shift 2
params=/sys/module/damon_sample_wsse/parameters

# The pids of the kdamond threads, one per line.
kdamond_pids() {
	local p

	for p in /proc/[0-9]*; do
		case "$(cat "$p/comm" 2>/dev/null)" in
		kdamond.*) echo "${p#/proc/}" ;;
		esac
	done
}

cpu_ns() {
	cut -d' ' -f1 "/proc/$1/schedstat"
}

for nr in "$@"; do
	# 64 MiB swept continuously, plus 192 MiB idle: regions have
	# something to tell apart, as in real use.
	"$workload" 4 64 0 0 > /tmp/workload.out &
	wpid=$!
	while ! grep -q ready /tmp/workload.out 2>/dev/null; do
		sleep 0.1
	done
	echo "$wpid" > $params/target_pid
	echo "$nr" > $params/min_nr_regions
	echo "$nr" > $params/max_nr_regions
	echo Y > $params/enable
	sleep 2
	kpid=$(kdamond_pids)
	if [ "$(echo "$kpid" | wc -w)" -ne 1 ]; then
		echo "kdamond-cpu: expected one kdamond, found: $kpid" >&2
		exit 1
	fi
	t0=$(date +%s%N)
	c0=$(cpu_ns "$kpid")
	sleep "$secs"
	c1=$(cpu_ns "$kpid")
	t1=$(date +%s%N)
	echo N > $params/enable
	kill "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	awk -v nr="$nr" -v c="$((c1 - c0))" -v t="$((t1 - t0))" \
		'BEGIN { printf "kdamond_cpu nr_regions=%d cpu_per_wall=%.4f\n", nr, c / t }'
done
