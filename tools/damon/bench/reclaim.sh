#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the reclaim benchmark: the same steps on any kernel with
# DAMON_RECLAIM and the paddr operations, so that the base tree's stock
# DAMON and ours run the very same workload.
#
#   reclaim.sh <access_memory binary>
#
# Two tests, each printing one "key=value" line:
#   reclaim   zram swap, a workload with a cold and a hot anonymous buffer
#             (RECLAIM_MIB each), DAMON_RECLAIM enabled with min_age
#             RECLAIM_MIN_AGE_US, a time quota of RECLAIM_QUOTA_MS (0: only
#             the default size quota of 128 MiB per second; the default
#             10 ms lets little through under emulation, where paging out
#             is slow) and watermarks that keep it active; after
#             RECLAIM_SECS, how much of each buffer is still resident and
#             how much CPU the kdamond used per wall second
#   paddr     a sysfs paddr kdamond over the biggest System RAM resource
#             with PADDR_REGIONS..PADDR_REGIONS regions while the hot
#             buffer is swept: kdamond CPU time per region per sample,
#             counting region-aggregations with damon:damon_aggregated

set -u

workload=$1

RECLAIM_MIB=${RECLAIM_MIB:-128}
RECLAIM_SECS=${RECLAIM_SECS:-60}
RECLAIM_MIN_AGE_US=${RECLAIM_MIN_AGE_US:-2000000}
RECLAIM_QUOTA_MS=${RECLAIM_QUOTA_MS:-0}
PADDR_REGIONS=${PADDR_REGIONS:-1000}
PADDR_SECS=${PADDR_SECS:-10}

PARAMS=/sys/module/damon_reclaim/parameters
TRACE=/sys/kernel/tracing/instances/damon_reclaim_bench
SAMPLE_US=5000
AGGR_US=100000

# shellcheck source-path=SCRIPTDIR source=sysfs-lib.sh
. "$(dirname "$0")/sysfs-lib.sh"

fail() {
	echo "reclaim: $*" >&2
	exit 1
}

param() {
	echo "$2" > "$PARAMS/$1" || fail "cannot set damon_reclaim.$1 to $2"
}

# swap_on: a zram swap device twice the size of the buffers, so that the
# cold buffer fits compressed or not.
swap_on() {
	local dev=/sys/block/zram0

	[ -d $dev ] || fail "no zram0 (CONFIG_ZRAM)"
	echo $((RECLAIM_MIB * 4))M > $dev/disksize || fail "zram disksize"
	mkswap /dev/zram0 > /dev/null || fail "mkswap"
	swapon /dev/zram0 || fail "swapon"
}

# start_workload: buffer 0 cold (written once), buffer 1 swept until
# killed; leaves its pid in $wpid and the buffers in $cold and $hot.
start_workload() {
	"$workload" 2 "$RECLAIM_MIB" 0 1 > /tmp/workload.log &
	wpid=$!
	for _ in $(seq 600); do
		grep -q '^ready' /tmp/workload.log 2>/dev/null && break
		kill -0 $wpid 2>/dev/null || fail "the workload died"
		sleep 0.1
	done
	cold=$(awk '$1 == "buffer" && $2 == 0 { print $3 }' /tmp/workload.log)
	hot=$(awk '$1 == "buffer" && $2 == 1 { print $3 }' /tmp/workload.log)
	[ -n "$cold" ] && [ -n "$hot" ] || fail "the workload did not start"
}

# resident_kib RANGE: KiB of the workload's START-END (hex) in memory,
# from its pagemap (bit 63: present).
resident_kib() {
	python3 - "$wpid" "$1" <<'EOF'
import struct, sys
pid, rng = sys.argv[1], sys.argv[2]
start, end = (int(x, 16) for x in rng.split('-'))
with open(f'/proc/{pid}/pagemap', 'rb') as f:
    f.seek(start // 4096 * 8)
    data = f.read((end - start) // 4096 * 8)
n = sum(1 for (e,) in struct.iter_unpack('<Q', data) if e >> 63)
print(n * 4)
EOF
}

cpu_ns() {
	local ns

	read -r ns _ < "/proc/$1/schedstat"
	echo "$ns"
}

# us TIME: an $EPOCHREALTIME reading in microseconds.
us() {
	echo "${1/./}"
}

test_reclaim() {
	local kpid c0 c1 t0 t1 cold_kib hot_kib

	[ -d $PARAMS ] || fail "no damon_reclaim module parameters"
	param min_age "$RECLAIM_MIN_AGE_US"
	param sample_interval $SAMPLE_US
	param aggr_interval $AGGR_US
	param quota_ms "$RECLAIM_QUOTA_MS"
	# Always active: the guest has plenty of free memory.
	param wmarks_high 1000
	param wmarks_mid 999
	param wmarks_low 0
	param enabled Y
	sleep 1
	kpid=$(cat $PARAMS/kdamond_pid)
	[ "$kpid" -gt 0 ] 2>/dev/null || fail "no kdamond after enabled=Y"
	c0=$(cpu_ns "$kpid")
	t0=$EPOCHREALTIME
	sleep "$RECLAIM_SECS"
	c1=$(cpu_ns "$kpid")
	t1=$EPOCHREALTIME
	cold_kib=$(resident_kib "$cold")
	hot_kib=$(resident_kib "$hot")
	echo "reclaim buffer_kib=$((RECLAIM_MIB * 1024))" \
		"cold_resident_kib=$cold_kib hot_resident_kib=$hot_kib" \
		"cpu_ns=$((c1 - c0)) wall_ns=$(( ($(us "$t1") - $(us "$t0")) * 1000 ))" \
		"reclaimed_bytes=$(cat $PARAMS/bytes_reclaimed_regions)" \
		"tried_bytes=$(cat $PARAMS/bytes_reclaim_tried_regions)" \
		"quota_exceeds=$(cat $PARAMS/nr_quota_exceeds)"
	param enabled N
}

# biggest_ram: "START END" of the biggest System RAM resource.
biggest_ram() {
	python3 - <<'EOF'
best = (0, 0)
for line in open('/proc/iomem'):
    if line.startswith(' ') or not line.rstrip().endswith('System RAM'):
        continue
    s, e = (int(x, 16) for x in line.split(':')[0].strip().split('-'))
    if e + 1 - s > best[1] - best[0]:
        best = (s, e + 1)
print(*best)
EOF
}

test_paddr() {
	local kpid c0 c1 ram events

	read -r -a ram <<< "$(biggest_ram)"
	damon_reset || fail "cannot reset the sysfs tree"
	damon_write $DAMON_ADMIN/kdamonds/nr_kdamonds 1 &&
	damon_write $DAMON_KD/contexts/nr_contexts 1 &&
	damon_write $DAMON_CTX/operations paddr &&
	damon_write $DAMON_CTX/monitoring_attrs/intervals/sample_us $SAMPLE_US &&
	damon_write $DAMON_CTX/monitoring_attrs/intervals/aggr_us $AGGR_US &&
	damon_write $DAMON_CTX/monitoring_attrs/nr_regions/max "$PADDR_REGIONS" &&
	damon_write $DAMON_CTX/monitoring_attrs/nr_regions/min "$PADDR_REGIONS" &&
	damon_write $DAMON_CTX/targets/nr_targets 1 &&
	damon_write $DAMON_CTX/targets/0/regions/nr_regions 1 &&
	damon_write $DAMON_CTX/targets/0/regions/0/end "${ram[1]}" &&
	damon_write $DAMON_CTX/targets/0/regions/0/start "${ram[0]}" &&
	damon_state on || fail "paddr: cannot start monitoring"
	kpid=$(damon_pid)
	sleep 3
	mkdir -p $TRACE
	echo 16384 > $TRACE/buffer_size_kb
	echo 1 > $TRACE/events/damon/damon_aggregated/enable ||
		fail "no damon:damon_aggregated tracepoint"
	c0=$(cpu_ns "$kpid")
	sleep "$PADDR_SECS"
	c1=$(cpu_ns "$kpid")
	echo 0 > $TRACE/events/damon/damon_aggregated/enable
	events=$(grep -c damon_aggregated $TRACE/trace)
	damon_state off || fail "paddr: cannot stop monitoring"
	# One event per region and aggregation, of AGGR_US / SAMPLE_US samples.
	echo "paddr regions=$PADDR_REGIONS cpu_ns=$((c1 - c0))" \
		"region_aggrs=$events samples_per_aggr=$((AGGR_US / SAMPLE_US))"
}

swap_on
start_workload
test_reclaim
test_paddr
kill $wpid
wait $wpid 2>/dev/null
swapoff /dev/zram0
exit 0
