#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of make run: start a workload, monitor it with DAMON (the
# damon_sample_wsse sample drives a vaddr kdamond) and record every
# damon:damon_aggregated event into the output share.
#
#   demo-guest.sh <out dir> <command...>

set -u

out=$1
shift
params=/sys/module/damon_sample_wsse/parameters
inst=/sys/kernel/tracing/instances/damon_demo

mkdir -p $inst
echo 1 > $inst/events/damon/damon_aggregated/enable
echo 4096 > $inst/buffer_size_kb
cat $inst/trace_pipe > "$out/trace.txt" &
reader=$!

"$@" > "$out/workload.txt" 2>&1 &
wpid=$!
# Monitor from the workload's start: wait for it to exec, not for its setup.
sleep 0.3
echo "$wpid" > $params/target_pid
echo Y > $params/enable || { echo "demo: cannot start DAMON" >&2; exit 1; }
# Mark in the trace when the workload's first phase starts, if it says.
for _ in $(seq 600); do
	grep -q '^ready' "$out/workload.txt" && { echo ready > $inst/trace_marker; break; }
	kill -0 "$wpid" 2>/dev/null || break
	sleep 0.05
done
wait "$wpid"
sleep 0.5
echo N > $params/enable 2>/dev/null
kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null
echo "demo: recorded $(wc -l < "$out/trace.txt") region reports"
