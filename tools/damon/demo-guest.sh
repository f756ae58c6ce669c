#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of make run: start a workload, monitor it with DAMON through
# the sysfs interface (/sys/kernel/mm/damon/admin), the way a user does,
# and record every damon:damon_aggregated event into the output share.
#
#   demo-guest.sh [options] <out dir> <command...>
#
# Options:
#   --intervals S,A,U   sample_us, aggr_us and update_us (default
#                       5000,100000,1000000)
#   --tune B,N,MIN,MAX  intervals goal: access_bp, aggrs, min_sample_us and
#                       max_sample_us (default 400,3,S,4*S; "off" for none;
#                       skipped on a kernel without intervals_goal)
#   --stop-after SEC    end monitoring after SEC seconds
#   --stop-at RE        end monitoring once the command prints a line
#                       matching the extended regular expression RE
#
# Without a stop option monitoring lasts until the command exits.  When
# it ends, the kdamond is turned off and the command, if still running,
# killed.  Every command run on sysfs and tracefs is written, as a shell
# transcript a person can replay, to <out dir>/commands.txt; the
# workload's output goes to <out dir>/workload.txt, the events to
# <out dir>/trace.txt and the command's last /proc/<pid>/maps to
# <out dir>/maps.txt (to name the mappings in the figure).

set -u

intervals=5000,100000,1000000
tune=
stop_after=
stop_at=
while [ $# -gt 0 ]; do
	case $1 in
	--intervals)	intervals=$2; shift 2 ;;
	--tune)		tune=$2; shift 2 ;;
	--stop-after)	stop_after=$2; shift 2 ;;
	--stop-at)	stop_at=$2; shift 2 ;;
	--)		shift; break ;;
	*)		break ;;
	esac
done
[ $# -ge 2 ] || { echo "usage: demo-guest.sh [options] <out> <cmd...>" >&2; exit 2; }
out=$1
shift
IFS=, read -r sample_us aggr_us update_us <<< "$intervals"
[ -n "$tune" ] || tune=400,3,$sample_us,$((sample_us * 4))

admin=/sys/kernel/mm/damon/admin
inst=/sys/kernel/tracing/instances/damon_demo
log=$out/commands.txt
: > "$log"

# A comment line of the transcript.
note() { printf '# %s\n' "$*" >> "$log"; }

# echo $1 > $2, logged; a refusal is logged the way a shell reports it.
put() {
	local err

	printf '$ echo %s > %s\n' "$1" "$2" >> "$log"
	if ! err=$( { echo "$1" > "$2"; } 2>&1 ); then
		err=${err##*: }
		printf 'bash: echo: write error: %s\n' "$err" >> "$log"
		echo "demo: echo $1 > $2: $err" >&2
		return 1
	fi
}

# cat $1, logged with what it printed.
show() {
	printf '$ cat %s\n' "$1" >> "$log"
	cat "$1" >> "$log" 2>&1
}

# Print the content of $1, or nothing.
value() { cat "$1" 2>/dev/null; }

if [ ! -d $admin ]; then
	echo "demo: this kernel has no $admin (CONFIG_DAMON_SYSFS is off, or" \
		"its sysfs interface is not written yet)" >&2
	exit 1
fi
cd $admin || exit 1
ctx=kdamonds/0/contexts/0

printf '$ cd %s\n' $admin >> "$log"
note "one kdamond (a monitoring thread) running one monitoring context"
put 1 kdamonds/nr_kdamonds || exit 1
put 1 kdamonds/0/contexts/nr_contexts || exit 1
note "the operations set: vaddr monitors the virtual address space of processes"
show $ctx/avail_operations
put vaddr $ctx/operations || exit 1
note "check every region each sample_us, count over aggr_us, refit to the"
note "process's mappings each update_us (microseconds)"
put "$sample_us" $ctx/monitoring_attrs/intervals/sample_us || exit 1
put "$aggr_us" $ctx/monitoring_attrs/intervals/aggr_us || exit 1
put "$update_us" $ctx/monitoring_attrs/intervals/update_us || exit 1
goal=$ctx/monitoring_attrs/intervals/intervals_goal
if [ "$tune" != off ] && [ -d $goal ]; then
	IFS=, read -r t_bp t_aggrs t_min t_max <<< "$tune"
	note "let DAMON tune both intervals (keeping their ratio) so that an"
	note "aggregation sees $((t_bp / 100)).$((t_bp % 100 / 10))% of the access events it could, checked"
	note "every $t_aggrs aggregations, with sampling between $t_min and $t_max us"
	put "$t_bp" $goal/access_bp || exit 1
	put "$t_aggrs" $goal/aggrs || exit 1
	put "$t_min" $goal/min_sample_us || exit 1
	put "$t_max" $goal/max_sample_us || exit 1
fi
note "keep between 10 and 1000 regions"
put 10 $ctx/monitoring_attrs/nr_regions/min || exit 1
put 1000 $ctx/monitoring_attrs/nr_regions/max || exit 1
note "one target process; its pid comes once it runs"
put 1 $ctx/targets/nr_targets || exit 1

note "the results: one damon:damon_aggregated event per region and aggregation"
printf '$ mkdir %s\n' $inst >> "$log"
mkdir -p $inst
put 4096 $inst/buffer_size_kb || exit 1
put 1 $inst/events/damon/damon_aggregated/enable || exit 1
printf '$ cat %s/trace_pipe > trace.txt &\n' $inst >> "$log"
cat $inst/trace_pipe > "$out/trace.txt" &
reader=$!

# A sleep without a fork: a read that times out on a pipe nobody writes.
exec 4<> <(:)
nap() { read -r -t "$1" -u 4; }

# Keep the workload's memory map, when it changed, for the figure; the
# last one read stays when the workload exits.
save_maps() {
	local maps

	read -r -d '' maps < /proc/"$wpid"/maps 2>/dev/null
	[ -n "$maps" ] && [ "$maps" != "$saved_maps" ] || return 0
	printf '%s' "$maps" > "$out/maps.txt"
	saved_maps=$maps
}
saved_maps=

# Mark in the trace when the workload's first phase starts and when each
# phase ends, if it says so, until the end of monitoring, and keep its
# memory map about every second.  This runs in the background from the
# workload's start, so that the marks are on time however long the sysfs
# commands take, and uses only shell builtins: a fork per poll would take
# CPU time from the workload under emulation.
watch_workload() {
	local start=$SECONDS line partial="" stop polls=0

	exec 3< "$out/workload.txt"
	while kill -0 "$wpid" 2>/dev/null; do
		stop=0
		while IFS= read -r line <&3; do
			line=$partial$line
			partial=
			case $line in
			ready|"phase "*)
				echo "${line%% sweeps*}" > $inst/trace_marker ;;
			esac
			[ -n "$stop_at" ] && [[ $line =~ $stop_at ]] && stop=1
		done
		partial+=$line
		[ $stop = 1 ] && return
		[ -n "$stop_after" ] && [ $((SECONDS - start)) -ge "$stop_after" ] &&
			return
		[ $((polls++ % 20)) = 0 ] && save_maps
		nap 0.05
	done
}

"$@" > "$out/workload.txt" 2>&1 4<&- &
wpid=$!
# Target the command itself, not the shell that forks it: wait for the exec.
for _ in $(seq 200); do
	IFS= read -r -d '' arg0 < /proc/$wpid/cmdline 2>/dev/null
	[ "${arg0:-}" = "$1" ] && break
	nap 0.01
done
watch_workload &
watcher=$!

note "the process to monitor (here: $*)"
put "$wpid" $ctx/targets/0/pid_target || { kill "$wpid"; exit 1; }
note "start: the files' values reach DAMON only now"
put on kdamonds/0/state || { kill "$wpid"; exit 1; }
show kdamonds/0/state
note "the kdamond's pid"
show kdamonds/0/pid
kpid=$(value kdamonds/0/pid)
if [ -n "$kpid" ] && [ "$kpid" -gt 0 ] 2>/dev/null; then
	printf '$ cat /proc/%s/comm\n' "$kpid" >> "$log"
	cat /proc/"$kpid"/comm >> "$log" 2>&1
fi
wait "$watcher"
save_maps
rc=0
# Let the last aggregation reach the trace.
nap 0.3

if [ "$(value kdamonds/0/state)" = on ] && [ -n "${t_bp:-}" ]; then
	note "the intervals DAMON tuned itself to"
	put update_tuned_intervals kdamonds/0/state &&
		show $ctx/monitoring_attrs/intervals/sample_us &&
		show $ctx/monitoring_attrs/intervals/aggr_us
fi
if [ "$(value kdamonds/0/state)" = on ]; then
	note "stop"
	put off kdamonds/0/state || rc=1
	show kdamonds/0/state
	show kdamonds/0/pid
else
	note "the kdamond stopped by itself: its target process exited"
	show kdamonds/0/state
fi
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
put 0 $inst/events/damon/damon_aggregated/enable
kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null
rmdir $inst 2>/dev/null
echo "demo: recorded $(wc -l < "$out/trace.txt") region reports"
exit $rc
