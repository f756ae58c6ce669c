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
#                   went meanwhile
#   latency         how long "echo commit > state" takes at sampling
#                   intervals of 5 ms and 1 s (aggregation 20x sampling),
#                   issued at random points of the aggregation interval
#   tlb             stairs and zigzag again with the workload's own TLB
#                   flushes left out (pattern -n), so that its hot set may
#                   stay in the TLB, into <out dir>/tlb/; on a kernel with
#                   damon_vaddr.flush_tlb, these and overhead default once
#                   more with it set, into <out dir>/tlb-flush/
#
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
	echo 16384 > $TRACE/buffer_size_kb
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

# accuracy NAME PATTERN_ARGS...: trace DAMON's view of one pattern run.
accuracy() {
	local name=$1 lost

	shift
	damon_reset || fail "cannot reset the sysfs tree"
	start_workload "/tmp/$name.truth" "$@"
	{ damon_setup $wpid 5000 100000 10 1000 && damon_state on; } ||
		fail "$name: cannot start monitoring"
	kdamond_pid > /dev/null
	trace_start
	# Let the kdamond fit its regions to the idle memory first.
	sleep 1
	kill -USR1 $wpid
	while ! grep -q '^end' "/tmp/$name.truth"; do
		kill -0 $wpid 2>/dev/null || fail "$name: the workload died"
		sleep 0.5
	done
	lost=$(trace_stop)
	[ "$(cat "$DAMON_KD/state")" = on ] ||
		fail "$name: the kdamond stopped during the run"
	damon_state off || fail "$name: cannot stop monitoring"
	stop_workload
	cp "/tmp/$name.truth" "$out/$name.truth"
	cat $TRACE/trace > "$out/$name.trace"
	say "accuracy pattern=$name sample_us=5000 aggr_us=100000" \
		"events=$(grep -c damon_aggregated "$out/$name.trace")" \
		"lost=$lost"
}

# overhead NAME MIN MAX: kdamond CPU per wall second with MIN..MAX regions.
overhead() {
	local name=$1 min=$2 max=$3 kpid c0 c1 t0 t1 lost

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
	damon_state off || fail "overhead $name: cannot stop monitoring"
	stop_workload
	cat $TRACE/trace > "$out/overhead-$name.trace"
	say "overhead config=$name sample_us=5000 aggr_us=100000 min=$min max=$max" \
		"cpu_ns=$((c1 - c0)) wall_ns=$(( ($(us $t1) - $(us $t0)) * 1000 ))" \
		"lost=$lost $(awk '/^passes/ { p[n] = $2; t[n++] = $3 }
			END { printf "passes=%.0f passes_ns=%.0f", p[1] - p[0], t[1] - t[0] }' \
			/tmp/gradient.log)"
}

# latency SAMPLE_US REPS: time "commit" writes at SAMPLE_US sampling.
latency() {
	local sample=$1 reps=$2 aggr=$(($1 * 20)) t0 t1 spid

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
		t0=$EPOCHREALTIME
		if echo commit > "$DAMON_KD/state"; then
			t1=$EPOCHREALTIME
			echo "commit sample_us=$sample us=$(( $(us $t1) - $(us $t0) ))"
		else
			echo "commit sample_us=$sample failed=1"
		fi >> "$results"
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
	latency)	latency 5000 "$LAT_FAST_REPS"
			latency 1000000 "$LAT_SLOW_REPS" ;;
	tlb)		tlb ;;
	*)		fail "unknown test $test" ;;
	esac
done
damon_reset
