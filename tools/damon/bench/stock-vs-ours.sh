#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the stock-vs-ours benchmark: measure whatever DAMON the
# booted kernel has through /sys/kernel/mm/damon/admin only, so that the
# base tree's stock DAMON and ours run the very same steps.
#
#   stock-vs-ours.sh <pattern binary> <out dir> [test...]
#
# Tests (default: all, in this order):
#   stairs, zigzag  run the pattern workload under the default attributes
#                   (5 ms sampling, 100 ms aggregation, 10..1000 regions)
#                   with damon:damon_aggregated traced on the mono clock;
#                   leave <test>.truth (the workload's log) and
#                   <test>.trace (the trace) in the out dir for
#                   compare.py to score
#   overhead        kdamond CPU seconds per wall second on the gradient
#                   workload (256 MiB) at the default region bounds and at
#                   1000..10000 regions, traced meanwhile to see how many
#                   regions and aggregations that bought
#                   (overhead-<config>.trace), and how fast the workload
#                   went meanwhile; overhead-many is the second alone
#   latency         how long "echo commit > state" takes at sampling
#                   intervals of 5 ms and 1 s (aggregation 20x sampling),
#                   issued at random points of the aggregation interval
#   tlb             stairs and zigzag again with the workload's own TLB
#                   flushes left out (pattern -n), so that its hot set may
#                   stay in the TLB, into <out dir>/tlb/; on a kernel with
#                   damon_vaddr.flush_tlb, these and overhead default once
#                   more with it set, into <out dir>/tlb-flush/
#   autotune        stairs and zigzag paced and with much idle memory, for
#                   AUTOTUNE_SECS each, as autotune-stairs and
#                   autotune-zigzag, with kdamond CPU time over the run;
#                   where the kernel has intervals_goal, with the goal
#                   AUTOTUNE_GOAL set (else at the default intervals), and
#                   the tuned intervals it ended at (see below)
#
# Every accuracy line also has the kdamond's CPU time over the phases.
# Results other than files are "key=value" lines on stdout, also appended
# to <out dir>/results.txt.  Tunables come from the environment (see
# below); the defaults keep one boot under about three minutes.

set -u

pattern=$1
out=$2
shift 2

# shellcheck source-path=SCRIPTDIR source=sysfs-lib.sh
. "$(dirname "$0")/sysfs-lib.sh"

STAIRS=${STAIRS:-"10 10 2500 10"}	# buffers, MiB each, phase ms, phases
ZIGZAG=${ZIGZAG:-"100 2500 8"}		# MiB each, phase ms, phases
GRADIENT=${GRADIENT:-"8 32"}		# buffers, MiB each
CPU_WARMUP_S=${CPU_WARMUP_S:-4}		# before measuring kdamond CPU
CPU_SECS=${CPU_SECS:-10}		# the measurement itself
LAT_FAST_REPS=${LAT_FAST_REPS:-40}	# commits at 5 ms sampling
LAT_SLOW_REPS=${LAT_SLOW_REPS:-5}	# commits at 1 s sampling
# The autotune workloads.  The goal asks for 4% of the possible access
# events.  Plain stairs touches its hot tenth of the memory as often as
# the CPU can, so every sample of it finds an access whatever the interval:
# 10% of the events at any interval, and the tuner shrinks the intervals
# to their minimum.  A hot set below 4% would be as bad the other way: the
# share stays below the goal at any interval, and the intervals grow to the
# maximum.  A goal has a point of balance only where longer intervals see
# more: here each hot page is touched once every AUTOTUNE_PACE_MS (50 ms,
# pattern -p) and the hot buffer is 5% of the memory (stairs over 20
# buffers, zigzag's two beside an idle 360 MiB, pattern -i).  A sample of
# s ms then finds a hot page accessed with a chance of s / 50, so the events
# are 5% * s / 50 of the possible ones and meet the goal at s = 40 ms, eight
# times the default 5 ms; the default still sees a hot region in nearly
# every aggregation (1 - 0.9^20 = 88%).
AUTOTUNE_SECS=${AUTOTUNE_SECS:-120}		# each pattern
AUTOTUNE_PHASES=${AUTOTUNE_PHASES:-8}
AUTOTUNE_PACE_MS=${AUTOTUNE_PACE_MS:-50}
AUTOTUNE_STAIRS=${AUTOTUNE_STAIRS:-"20 10"}	# buffers, MiB each
AUTOTUNE_ZIGZAG=${AUTOTUNE_ZIGZAG:-"20 360"}	# MiB each, idle MiB
AUTOTUNE_GOAL=${AUTOTUNE_GOAL:-"400 3 5000 10000000"}	# bp aggrs min max
TRACE_KB=${TRACE_KB:-16384}		# trace buffer per CPU

TRACE=/sys/kernel/tracing/instances/damon_bench
results=$out/results.txt

say() {
	echo "$*"
	echo "$*" >> "$results"
}

fail() {
	echo "stock-vs-ours: $*" >&2
	exit 1
}

# us TIME: an $EPOCHREALTIME reading in microseconds.  The readings are
# taken inline, as a command substitution would fork inside the timing.
us() {
	echo "${1/./}"
}

# sleep_random_us MAX: sleep for a random time in [0, MAX) microseconds.
sleep_random_us() {
	local us=$(( (RANDOM * 32768 + RANDOM) % $1 ))

	sleep "$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))"
}

# start_workload LOG ARGS...: start the pattern workload, wait until its
# memory is in place, and leave its pid in $wpid.
start_workload() {
	local log=$1

	shift
	"$pattern" "$@" > "$log" &
	wpid=$!
	for _ in $(seq 600); do
		grep -q '^ready' "$log" 2>/dev/null && return 0
		kill -0 $wpid 2>/dev/null || break
		sleep 0.1
	done
	fail "the workload did not get ready: $(cat "$log")"
}

stop_workload() {
	kill "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
}

# trace_start: record damon:damon_aggregated in our own trace instance,
# stamped with CLOCK_MONOTONIC like the workload's log.
trace_start() {
	mkdir -p $TRACE
	echo 0 > $TRACE/tracing_on
	echo mono > $TRACE/trace_clock || fail "no mono trace clock"
	echo "$TRACE_KB" > $TRACE/buffer_size_kb
	echo > $TRACE/trace
	echo 1 > $TRACE/events/damon/damon_aggregated/enable ||
		fail "no damon:damon_aggregated tracepoint"
	echo 1 > $TRACE/tracing_on
}

# trace_stop: stop recording; print how many events the buffer lost.
trace_stop() {
	echo 0 > $TRACE/tracing_on
	echo 0 > $TRACE/events/damon/damon_aggregated/enable
	cat $TRACE/per_cpu/cpu*/stats | awk '/^overrun:/ { n += $2 } END { print n + 0 }'
}

# kdamond_pid: the running kdamond's pid, failing if there is none.
kdamond_pid() {
	local pid

	pid=$(damon_pid)
	{ [ "$pid" -gt 0 ] 2>/dev/null && [ -d "/proc/$pid" ]; } ||
		fail "kdamonds/0/pid reads '$pid' while on"
	echo "$pid"
}

# === Tests ===

# accuracy NAME PATTERN_ARGS...: trace DAMON's view of one pattern run,
# with the intervals goal $acc_goal (access_bp aggrs min_sample_us
# max_sample_us) if it is set and the kernel has the files.
accuracy() {
	local name=$1 lost kpid c0 c1 t0 t1 goal=0 tuned=

	shift
	damon_reset || fail "cannot reset the sysfs tree"
	start_workload "/tmp/$name.truth" "$@"
	damon_setup $wpid 5000 100000 10 1000 ||
		fail "$name: cannot set up monitoring"
	if [ -n "${acc_goal:-}" ] && damon_has_intervals_goal; then
		# shellcheck disable=SC2086 # four numbers
		damon_intervals_goal $acc_goal ||
			fail "$name: cannot set the intervals goal"
		goal=1
	fi
	damon_state on || fail "$name: cannot start monitoring"
	kpid=$(kdamond_pid) || exit 1
	trace_start
	# Let the kdamond fit its regions to the idle memory first.
	sleep 1
	read -r c0 _ < "/proc/$kpid/schedstat"
	t0=$EPOCHREALTIME
	kill -USR1 $wpid
	while ! grep -q '^end' "/tmp/$name.truth"; do
		kill -0 $wpid 2>/dev/null || fail "$name: the workload died"
		sleep 0.5
	done
	read -r c1 _ < "/proc/$kpid/schedstat"
	t1=$EPOCHREALTIME
	lost=$(trace_stop)
	[ "$(cat "$DAMON_KD/state")" = on ] ||
		fail "$name: the kdamond stopped during the run"
	if [ $goal = 1 ]; then
		damon_state update_tuned_intervals ||
			fail "$name: cannot read the tuned intervals"
		tuned="tuned_sample_us=$(cat "$DAMON_CTX/monitoring_attrs/intervals/sample_us")"
		tuned+=" tuned_aggr_us=$(cat "$DAMON_CTX/monitoring_attrs/intervals/aggr_us")"
	fi
	damon_state off || fail "$name: cannot stop monitoring"
	stop_workload
	cp "/tmp/$name.truth" "$out/$name.truth"
	cat $TRACE/trace > "$out/$name.trace"
	say "accuracy pattern=$name sample_us=5000 aggr_us=100000" \
		"events=$(grep -c damon_aggregated "$out/$name.trace")" \
		"lost=$lost cpu_ns=$((c1 - c0))" \
		"wall_ns=$(( ($(us $t1) - $(us $t0)) * 1000 )) goal=$goal $tuned"
}

# autotune: the paced patterns, for AUTOTUNE_SECS each, with the goal.
autotune() {
	local phase_ms=$((AUTOTUNE_SECS * 1000 / AUTOTUNE_PHASES))
	local acc_goal=$AUTOTUNE_GOAL TRACE_KB=65536

	# shellcheck disable=SC2086
	accuracy autotune-stairs -p "$AUTOTUNE_PACE_MS" stairs \
		$AUTOTUNE_STAIRS "$phase_ms" "$AUTOTUNE_PHASES"
	# shellcheck disable=SC2086
	set -- $AUTOTUNE_ZIGZAG
	accuracy autotune-zigzag -p "$AUTOTUNE_PACE_MS" -i "$2" zigzag "$1" \
		"$phase_ms" "$AUTOTUNE_PHASES"
}

# overhead NAME MIN MAX: kdamond CPU per wall second with MIN..MAX regions.
overhead() {
	local name=$1 min=$2 max=$3 kpid c0 c1 t0 t1 lost thp

	damon_reset || fail "cannot reset the sysfs tree"
	# shellcheck disable=SC2086
	start_workload /tmp/gradient.log -g gradient $GRADIENT
	{ damon_setup $wpid 5000 100000 "$min" "$max" && damon_state on; } ||
		fail "overhead $name: cannot start monitoring"
	kpid=$(kdamond_pid) || exit 1
	sleep "$CPU_WARMUP_S"
	# The trace tells how many regions and aggregations the CPU time
	# bought; it costs one event per region and aggregation, little
	# next to the two page table walks per region and sample.
	trace_start
	# Builtins only between the readings, which come in pairs; the
	# workload tells how many passes it made meanwhile.
	kill -USR2 $wpid
	read -r c0 _ < "/proc/$kpid/schedstat"
	t0=$EPOCHREALTIME
	sleep "$CPU_SECS"
	read -r c1 _ < "/proc/$kpid/schedstat"
	t1=$EPOCHREALTIME
	kill -USR2 $wpid
	lost=$(trace_stop)
	while [ "$(grep -c '^passes' /tmp/gradient.log)" -lt 2 ]; do
		sleep 0.1
	done
	# Whether the samples met huge pages: the floor differs.
	thp=$(awk '/^AnonHugePages:/ { print $2 }' "/proc/$wpid/smaps_rollup")
	damon_state off || fail "overhead $name: cannot stop monitoring"
	stop_workload
	cat $TRACE/trace > "$out/overhead-$name.trace"
	say "overhead config=$name sample_us=5000 aggr_us=100000 min=$min max=$max" \
		"cpu_ns=$((c1 - c0)) wall_ns=$(( ($(us $t1) - $(us $t0)) * 1000 ))" \
		"lost=$lost thp_kib=${thp:-0} $(awk '/^passes/ { p[n] = $2; t[n++] = $3 }
			END { printf "passes=%.0f passes_ns=%.0f", p[1] - p[0], t[1] - t[0] }' \
			/tmp/gradient.log)"
}

# latency SAMPLE_US REPS: time "commit" writes at SAMPLE_US sampling.
latency() {
	local sample=$1 reps=$2 aggr=$(($1 * 20)) t0 t1 spid line

	damon_reset || fail "cannot reset the sysfs tree"
	sleep 100000 &
	spid=$!
	{ damon_setup $spid "$sample" "$aggr" 10 1000 && damon_state on; } ||
		fail "latency $sample: cannot start monitoring"
	kdamond_pid > /dev/null
	for _ in $(seq "$reps"); do
		# At a random point of the aggregation interval: a writer
		# does not know where the kdamond is in it.
		sleep_random_us "$aggr"
		# Nothing but the write between the readings: $results is
		# on 9p, and opening it takes about a millisecond.
		t0=$EPOCHREALTIME
		if echo commit > "$DAMON_KD/state"; then
			t1=$EPOCHREALTIME
			line="us=$(( $(us $t1) - $(us $t0) ))"
		else
			line="failed=1"
		fi
		echo "commit sample_us=$sample $line" >> "$results"
	done
	say "latency sample_us=$sample" \
		"$(grep -c "^commit sample_us=$sample us=" "$results") done" \
		"$(grep -c "^commit sample_us=$sample failed" "$results") failed"
	damon_state off || fail "latency $sample: cannot stop monitoring"
	kill $spid
	wait $spid 2>/dev/null
}

# in_subdir DIR COMMAND...: run a test with its results under $out/DIR.
in_subdir() {
	local saved_out=$out

	out=$out/$1
	results=$out/results.txt
	shift
	mkdir -p "$out"
	"$@"
	out=$saved_out
	results=$out/results.txt
}

# tlb_accuracy: stairs and zigzag without the workload's TLB flushes.
tlb_accuracy() {
	# shellcheck disable=SC2086
	accuracy stairs -n stairs $STAIRS
	# shellcheck disable=SC2086
	accuracy zigzag -n zigzag $ZIGZAG
}

# tlb: hot sets left in the TLB, and, where it exists, flush_tlb's answer.
tlb() {
	local param=/sys/module/damon_vaddr/parameters/flush_tlb

	local saved

	if [ ! -w $param ]; then
		in_subdir tlb tlb_accuracy
		return 0
	fi
	saved=$(cat $param)
	echo N > $param
	in_subdir tlb tlb_accuracy
	echo Y > $param
	in_subdir tlb-flush tlb_accuracy
	in_subdir tlb-flush overhead default 10 1000
	echo "$saved" > $param
}

# === Main ===

[ -x "$pattern" ] || fail "no workload at $pattern"
mkdir -p "$out"
[ $# -gt 0 ] || set -- stairs zigzag overhead latency tlb
clock=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
say "kernel $(uname -r) $(uname -v) clocksource=$clock"
# Without the TSC, time moves in jiffies: no 5 ms sampling, no timings.
[ "$clock" = tsc ] || fail "the clocksource is $clock, not tsc"
for test in "$@"; do
	# The pattern arguments are lists of words.
	# shellcheck disable=SC2086
	case $test in
	stairs)		accuracy stairs stairs $STAIRS ;;
	zigzag)		accuracy zigzag zigzag $ZIGZAG ;;
	overhead)	overhead default 10 1000
			overhead many 1000 10000 ;;
	overhead-many)	overhead many 1000 10000 ;;
	autotune)	autotune ;;
	latency)	latency 5000 "$LAT_FAST_REPS"
			latency 1000000 "$LAT_SLOW_REPS" ;;
	tlb)		tlb ;;
	*)		fail "unknown test $test" ;;
	esac
done
damon_reset
