#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: build the bench kernel (our DAMON, KUnit, the DAMON samples,
# no debug options) and run the benchmarks in QEMU, one section after the
# other; each section prints a table.  Before each section run.sh says
# which one runs and about how long it takes, and after it how long it
# took.  Times are those of an emulated guest: compare them with each
# other, not with real hardware.
#
#   run.sh [section...]     the sections to run (default: all)
#
# Sections:
#   three-regions   the KUnit suite damon-operations-bench: the search for
#                   the three initial regions in the gap tree against the
#                   linear walk, on 1k, 10k and 60k mappings (about 30 s)
#   call-latency    the KUnit suite damon-bench: how long damon_call() of an
#                   empty function takes at sampling intervals of 5 ms and 1 s
#                   (about 10 s)
#   kdamond-cpu     kdamond CPU time per second of wall time monitoring a
#                   workload with 10, 100 and 1000 regions (kdamond-cpu.sh;
#                   about a minute)
#   stock-vs-ours   the base tree's stock DAMON (build-kernel.sh stock)
#                   against ours, both driven through the same sysfs files:
#                   accuracy on the stairs and zigzag patterns (also with a
#                   hot set left in the TLB, and ours with
#                   damon_vaddr.flush_tlb), kdamond CPU
#                   at 10..1000 and 1000..10000 regions, latency of
#                   "commit"; boots alternate stock, ours, stock, ours
#                   (STOCK_REPS=2 boots of each, about 15 minutes);
#                   stock-vs-ours.sh measures, compare.py scores
#   schemes-latency the same two kernels: how long update_schemes_stats
#                   and update_schemes_tried_regions take at sampling
#                   intervals of 5 ms and 1 s (schemes-latency.py;
#                   SLAT_REPS="20 3 2" writes: fast, slow stats, slow
#                   regions; about 6 minutes)
#   reclaim         the same two kernels: DAMON_RECLAIM with zram swap on a
#                   cold and a hot 128 MiB buffer (reclaim.sh): memory
#                   saved after 60 s, how much of the hot buffer stayed,
#                   kdamond CPU; and paddr monitoring's kdamond CPU per
#                   region per sample; one boot of each, about 8 minutes
#   sampling-cost   the same two kernels: kdamond ns per region per sample
#                   at 1000..10000 regions (stock-vs-ours.sh overhead-many),
#                   against a floor from the slow KUnit case
#                   damon_bench_va_sampling (damon-operations-bench, run in
#                   ours' boot): the bare page table descent and
#                   test-and-clear of an Accessed bit at random addresses,
#                   next to DAMON's check and arming of real regions; one
#                   boot of each, about 4 minutes
#   autotune        the same two kernels: kdamond CPU per wall second and
#                   WSS error on paced stairs and zigzag with much idle
#                   memory (stock-vs-ours.sh autotune, scored by
#                   compare.py), ours with intervals_goal 400 bp / 3 aggrs /
#                   5 ms..10 s, stock at its default 5 ms / 100 ms;
#                   AUTOTUNE_SECS (default 120) per pattern and
#                   AUTOTUNE_PHASES (8); one boot of each, about 12 minutes
#
# A section is a function bench_<name> listed in SECTIONS.  An in-kernel
# benchmark is a KUnit suite marked slow, run by booting with
# kunit.filter_glob; a user-space one boots with kunit.enable=0 and runs a
# guest script from this directory, which prints "key=value" lines for the
# section to tabulate.  vm_bench() boots the kernel for either.
#
# Environment: NO_BUILD=1 to reuse the last bench (and stock) kernel;
# STOCK_REPS; AUTOTUNE_SECS, AUTOTUNE_PHASES; KVM, VM_MEM and VM_SMP as for
# vm-run.

set -uo pipefail

REPO=$(cd "$(dirname "$0")/../../.." && pwd)
BUILD=${BUILD:-$REPO/build}
T=$REPO/tools/damon
KERNEL=$BUILD/obj-bench/arch/x86/boot/bzImage
STOCK_KERNEL=$BUILD/obj-stock/arch/x86/boot/bzImage

SECTIONS=(three-regions call-latency kdamond-cpu stock-vs-ours schemes-latency
	  reclaim sampling-cost autotune)

# expected_seconds SECTION: about how long SECTION takes on a 2-core host,
# boots included (the figures of the header comment).
expected_seconds() {
	case $1 in
	three-regions)	echo 30 ;;
	call-latency)	echo 10 ;;
	kdamond-cpu)	echo 60 ;;
	# Four boots of about 4 minutes at STOCK_REPS=2.
	stock-vs-ours)	echo $(( 480 * ${STOCK_REPS:-2} )) ;;
	schemes-latency) echo 360 ;;
	reclaim)	echo 480 ;;
	sampling-cost)	echo 240 ;;
	# Two boots, each two patterns of AUTOTUNE_SECS and about 2 minutes.
	autotune)	echo $(( 240 + 4 * ${AUTOTUNE_SECS:-120} )) ;;
	*)		echo 0 ;;
	esac
}

# "under a minute", "about a minute" or "about N minutes", for $1 seconds.
about() {
	local min=$(( ($1 + 30) / 60 ))

	if [ "$1" -lt 45 ]; then
		echo "under a minute"
	elif [ $min -le 1 ]; then
		echo "about a minute"
	else
		echo "about $min minutes"
	fi
}

# "4m05s": the seconds since $1.
since() {
	local s=$(( $(date +%s) - $1 ))

	printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# One benchmark run at a time: they share build/vm/bench* and the CPU.
mkdir -p "$BUILD"
exec 7> "$BUILD/.bench.lock"
lock_start=$(date +%s)
until flock -w 30 7; do
	echo "bench: waiting for the guest that holds build/.bench.lock," \
		"$(since "$lock_start")" >&2
done

die() { echo "bench: $*" >&2; exit 1; }

# vm_bench NAME APPEND COMMAND...: boot the bench kernel (or $BOOT_KERNEL)
# as build/vm/NAME with APPEND on its command line, run COMMAND in the
# guest.  The console is left in build/vm/NAME/console.log.
vm_bench() {
	local name=$1 append=$2

	shift 2
	VM_QUIET=1 "$T/vm-run" --kernel "${BOOT_KERNEL:-$KERNEL}" --name "$name" \
		--timeout "${VM_TIMEOUT:-1200}" --append "$append $TSC_APPEND" \
		-- "$@"
}

# Under TCG the guest reads the host's TSC but calibrates it against the
# PIT, which fails on a busy host: the guest then keeps time in 4 ms
# jiffies, and so would every timer and timing of a benchmark.  Tell it the
# frequency instead (tsc-khz.c).
tsc_append() {
	local prog=$BUILD/bench/tsc-khz

	[ "${KVM:-0}" = 1 ] && return 0
	mkdir -p "$BUILD/bench"
	gcc -O2 -Wall -o "$prog" "$T/bench/tsc-khz.c" 2>/dev/null &&
		echo "tsc_early_khz=$("$prog")"
}

# kunit_failed LOG: whether a KUnit case in LOG failed or did not finish.
kunit_failed() {
	grep -q -E '^[[:space:]]*not ok [0-9]+ ' "$1" ||
		! grep -q -E '^ok [0-9]+ ' "$1"
}

# === Sections ===

bench_three_regions() {
	local log=$BUILD/vm/bench/console.log

	echo "== three-regions: initial regions of vaddr, gap tree vs linear walk"
	vm_bench bench "kunit.filter_glob=damon-operations-bench" true ||
		{ echo "bench: the guest failed; see $log" >&2; return 1; }
	if kunit_failed "$log"; then
		echo "bench: damon-operations-bench failed; see $log" >&2
		return 1
	fi
	grep -o 'three_regions n=.*' "$log" | tr -d '\r' | awk '
	BEGIN {
		printf "%10s %14s %14s %10s\n", "mappings", "gap tree ns",
			"linear ns", "speedup"
	}
	{
		for (i = 2; i <= NF; i++) {
			split($i, kv, "=")
			v[kv[1]] = kv[2]
		}
		printf "%10d %14d %14d %9sx\n", v["n"], v["gap_tree_ns"],
			v["linear_ns"], v["ratio"]
		rows++
	}
	END { exit rows == 0 }' ||
		{ echo "bench: no three_regions lines in $log" >&2; return 1; }
}

bench_call_latency() {
	local log=$BUILD/vm/bench-call/console.log

	echo "== call-latency: damon_call() of an empty function"
	vm_bench bench-call "kunit.filter_glob=damon-bench" true ||
		{ echo "bench: the guest failed; see $log" >&2; return 1; }
	if kunit_failed "$log"; then
		echo "bench: damon-bench failed; see $log" >&2
		return 1
	fi
	grep -o 'bench: damon_call .*' "$log" | tr -d '\r' | awk '
	BEGIN {
		printf "%12s %8s %10s %10s %10s\n", "sample_us", "calls",
			"p50 us", "p90 us", "max us"
	}
	{
		for (i = 3; i <= NF; i++) {
			split($i, kv, "=")
			v[kv[1]] = kv[2]
		}
		printf "%12d %8d %10d %10d %10d\n", v["sample_us"], v["calls"],
			v["p50_us"], v["p90_us"], v["max_us"]
		rows++
	}
	END { exit rows == 0 }' ||
		{ echo "bench: no damon_call lines in $log" >&2; return 1; }
}

bench_kdamond_cpu() {
	local log=$BUILD/vm/bench-cpu/console.log
	local workload=$BUILD/bench/access_memory

	echo "== kdamond-cpu: kdamond CPU seconds per wall second"
	mkdir -p "$BUILD/bench"
	gcc -O2 -Wall -o "$workload" \
		"$REPO/tools/testing/selftests/damon/access_memory.c" ||
		{ echo "bench: cannot build the workload" >&2; return 1; }
	vm_bench bench-cpu "kunit.enable=0" \
		"$T/bench/kdamond-cpu.sh" "$workload" 10 10 100 1000 ||
		{ echo "bench: the guest failed; see $log" >&2; return 1; }
	grep -o 'kdamond_cpu .*' "$log" | tr -d '\r' | awk '
	BEGIN { printf "%12s %14s\n", "regions", "cpu per wall" }
	{
		for (i = 2; i <= NF; i++) {
			split($i, kv, "=")
			v[kv[1]] = kv[2]
		}
		printf "%12d %14s\n", v["nr_regions"], v["cpu_per_wall"]
		rows++
	}
	END { exit rows == 0 }' ||
		{ echo "bench: no kdamond_cpu lines in $log" >&2; return 1; }
}

bench_stock_vs_ours() {
	local workload=$BUILD/bench/pattern reps=${STOCK_REPS:-2}
	local rep kernel image name runs=() failed=0

	echo "== stock-vs-ours: our DAMON against the base's, both through sysfs"
	echo "   $reps boots of each kernel, alternating stock and ours"
	mkdir -p "$BUILD/bench"
	gcc -O2 -Wall -o "$workload" "$T/bench/pattern.c" ||
		{ echo "bench: cannot build the workload" >&2; return 1; }
	for rep in $(seq "$reps"); do
		for kernel in stock ours; do
			image=$KERNEL
			[ $kernel = stock ] && image=$STOCK_KERNEL
			name=bench-vs-$kernel-$rep
			if BOOT_KERNEL=$image vm_bench "$name" "kunit.enable=0" \
				"$T/bench/stock-vs-ours.sh" "$workload" /tmp/out; then
				runs+=("$kernel=$BUILD/vm/$name/out")
			else
				echo "bench: $kernel, boot $rep failed; see" \
					"$BUILD/vm/$name/console.log" >&2
				failed=1
			fi
		done
	done
	[ ${#runs[@]} -gt 0 ] || return 1
	python3 "$T/bench/compare.py" "${runs[@]}" || return 1
	echo "   accuracy: nr_accesses > 0 is hot; windows starting less than"
	echo "   500 ms after a phase change are skipped (compare.py --help)"
	# The hot set left in the TLB; ours also with damon_vaddr.flush_tlb.
	bench_stock_vs_ours_sub tlb tlb \
		"without the workload's TLB flushes, ours with damon_vaddr.flush_tlb=N" \
		"${runs[@]}" || failed=1
	bench_stock_vs_ours_sub tlb-flush tlb \
		"the same, ours with damon_vaddr.flush_tlb=Y" "${runs[@]}" ||
		failed=1
	return $failed
}

# bench_stock_vs_ours_sub OURS_SUB STOCK_SUB TITLE KERNEL=DIR...: the
# comparison table of the results stock-vs-ours.sh left in a subdirectory
# of each boot's out dir, if there are any.
bench_stock_vs_ours_sub() {
	local ours=$1 stock=$2 title=$3 run sub dirs=()

	shift 3
	for run in "$@"; do
		sub=$stock
		[ "${run%%=*}" = ours ] && sub=$ours
		[ -f "${run#*=}/$sub/results.txt" ] && dirs+=("$run/$sub")
	done
	[[ "${dirs[*]}" == *ours=* && "${dirs[*]}" == *stock=* ]] || return 0
	echo "== stock-vs-ours: $title"
	python3 "$T/bench/compare.py" "${dirs[@]}"
}

# Latency of the synchronous DAMOS state commands, stock against ours: one
# boot of each, schemes-latency.py in the guest.
bench_schemes_latency() {
	local kernel image name failed=0
	local -A res

	echo "== schemes-latency: DAMOS state commands, stock and ours (us)"
	for kernel in stock ours; do
		image=$KERNEL
		[ $kernel = stock ] && image=$STOCK_KERNEL
		name=bench-slat-$kernel
		# shellcheck disable=SC2086 # SLAT_REPS is a list of numbers
		if BOOT_KERNEL=$image vm_bench "$name" "kunit.enable=0" \
			python3 "$T/bench/schemes-latency.py" \
			${SLAT_REPS:-20 3 2}; then
			res[$kernel]=$BUILD/vm/$name/console.log
		else
			echo "bench: $kernel failed; see" \
				"$BUILD/vm/$name/console.log" >&2
			failed=1
		fi
	done
	[ -n "${res[stock]:-}" ] && [ -n "${res[ours]:-}" ] || return 1
	awk -F= '
	FNR == 1 { k++ }
	/^update_.*(_p50_us|_max_us)=/ {
		sub(/\r$/, "", $2)
		v[k, $1] = $2
		if (k == 1)
			keys[++n] = $1
	}
	END {
		printf "%-46s %12s %12s %8s\n", "command_sample-us_stat", \
			"stock", "ours", "ours/stock"
		for (i = 1; i <= n; i++) {
			s = v[1, keys[i]]; o = v[2, keys[i]]
			printf "%-46s %12d %12d %8.3f\n", keys[i], s, o, \
				o / (s ? s : 1)
		}
	}' "${res[stock]}" "${res[ours]}"
	echo "   stock polls for the results; ours reads the stats with"
	echo "   damon_call() and the tried regions with damos_walk(), which"
	echo "   waits for the next apply pass (one aggregation interval)"
	return $failed
}

# Proactive reclamation and paddr monitoring, stock against ours: one boot
# of each, reclaim.sh in the guest.
bench_reclaim() {
	local workload=$BUILD/bench/access_memory kernel image name failed=0
	local -A res

	echo "== reclaim: DAMON_RECLAIM and paddr monitoring, stock and ours"
	echo "   (two boots of about 4 minutes)"
	mkdir -p "$BUILD/bench"
	gcc -O2 -Wall -o "$workload" \
		"$REPO/tools/testing/selftests/damon/access_memory.c" ||
		{ echo "bench: cannot build the workload" >&2; return 1; }
	for kernel in stock ours; do
		image=$KERNEL
		[ $kernel = stock ] && image=$STOCK_KERNEL
		name=bench-reclaim-$kernel
		if BOOT_KERNEL=$image vm_bench "$name" "kunit.enable=0" \
			"$T/bench/reclaim.sh" "$workload"; then
			res[$kernel]=$BUILD/vm/$name/console.log
		else
			echo "bench: $kernel failed; see" \
				"$BUILD/vm/$name/console.log" >&2
			failed=1
		fi
	done
	[ -n "${res[stock]:-}" ] && [ -n "${res[ours]:-}" ] || return 1
	awk '
	FNR == 1 { k++ }
	/^(reclaim|paddr) / {
		sub(/\r$/, "")
		for (i = 2; i <= NF; i++) {
			split($i, kv, "=")
			v[k, $1 "." kv[1]] = kv[2]
		}
	}
	function row(name, s, o, fmt) {
		printf "%-34s " fmt " " fmt " %10.3f\n", name, s, o, \
			o / (s ? s : 1)
	}
	END {
		for (k = 1; k <= 2; k++) {
			buf = v[k, "reclaim.buffer_kib"]
			saved[k] = (buf - v[k, "reclaim.cold_resident_kib"]) / 1024
			kept[k] = 100 * v[k, "reclaim.hot_resident_kib"] / \
				(buf ? buf : 1)
			cpu[k] = v[k, "reclaim.cpu_ns"] / \
				(v[k, "reclaim.wall_ns"] ? v[k, "reclaim.wall_ns"] : 1)
			rs = v[k, "paddr.region_aggrs"] * \
				v[k, "paddr.samples_per_aggr"]
			ns[k] = v[k, "paddr.cpu_ns"] / (rs ? rs : 1)
		}
		printf "%-34s %10s %10s %10s\n", "metric", "stock", "ours", \
			"ours/stock"
		row("cold MiB saved after 60 s", saved[1], saved[2], "%10.1f")
		row("hot buffer kept resident (%)", kept[1], kept[2], "%10.1f")
		row("reclaim kdamond cpu per wall s", cpu[1], cpu[2], "%10.4f")
		row("paddr ns per region per sample", ns[1], ns[2], "%10.0f")
		exit !(saved[1] || saved[2] || ns[1] || ns[2])
	}' "${res[stock]}" "${res[ours]}" || failed=1
	echo "   targets: memory saved at least stock's, CPU per region-sample"
	echo "   at most stock's"
	return $failed
}

# The cost of a region-sample, stock against ours: the "overhead many" test
# of stock-vs-ours.sh on one boot of each kernel, ours booting with the
# floor microbenchmark of damon-operations-bench as well.
bench_sampling_cost() {
	local workload=$BUILD/bench/pattern kernel image name append failed=0
	local glob=damon-operations-bench.damon_bench_va_sampling table
	local klog=$BUILD/vm/bench-cost-ours/console.log
	local -A res

	echo "== sampling-cost: kdamond ns per region per sample, stock and ours,"
	echo "   against the bare page table walk (one boot of each kernel)"
	mkdir -p "$BUILD/bench"
	gcc -O2 -Wall -o "$workload" "$T/bench/pattern.c" ||
		{ echo "bench: cannot build the workload" >&2; return 1; }
	for kernel in stock ours; do
		image=$KERNEL
		append="kunit.filter_glob=$glob"
		if [ $kernel = stock ]; then
			image=$STOCK_KERNEL
			append=kunit.enable=0
		fi
		name=bench-cost-$kernel
		if BOOT_KERNEL=$image vm_bench "$name" "$append" \
			"$T/bench/stock-vs-ours.sh" "$workload" /tmp/out \
			overhead-many; then
			res[$kernel]=$BUILD/vm/$name/out
		else
			echo "bench: $kernel failed; see" \
				"$BUILD/vm/$name/console.log" >&2
			failed=1
		fi
	done
	[ -n "${res[stock]:-}" ] && [ -n "${res[ours]:-}" ] || return 1
	if kunit_failed "$klog"; then
		echo "bench: damon_bench_va_sampling failed; see $klog" >&2
		failed=1
	fi
	table=$(python3 "$T/bench/compare.py" "stock=${res[stock]}" \
		"ours=${res[ours]}") || return 1
	{
		echo "$table"
		grep -h '^overhead ' "${res[ours]}/results.txt"
		grep -o 'sampling regions=.*' "$klog" | tr -d '\r'
	} | awk '
	function kv(from,	i, w) {
		delete v
		for (i = from; i <= NF; i++) {
			split($i, w, "=")
			v[w[1]] = w[2]
		}
	}
	$1 == "ns/region/sample" && $2 == "@1000..10000" {
		ours = $3; stock = $4
	}
	$1 == "nr_regions" && $2 == "@1000..10000" { nr = $3 }
	$1 == "overhead" { kv(2); thp_kib = v["thp_kib"] }
	$1 == "sampling" {
		kv(2)
		k = v["pages"] " " v["regions"]
		floor[k] = v["floor_ns_per_sample"]
		damon[k] = v["damon_ns_per_sample"]
		keys[++n] = k
	}
	END {
		# The floor of the pages the workload had, at the nearer count.
		pages = thp_kib * 1024 >= 128 * 1048576 ? "thp" : "pte"
		k = pages " " (nr < 3162 ? 1000 : 10000)
		printf "%-30s %10s %10s %10s %10s %10s\n", "ns per region-sample",
			"stock", "ours", "floor", "ours/stock", "ours/floor"
		printf "%-30s %10.0f %10.0f %10s %10.3f %10s\n",
			"kdamond @1000..10000", stock, ours,
			k in floor ? floor[k] : "-", ours / (stock ? stock : 1),
			k in floor && floor[k] ? \
				sprintf("%.2f", ours / floor[k]) : "-"
		printf "   kdamond: %.0f regions on average, huge pages %d MiB;" \
			" floor: %s pages, %s regions\n", nr, thp_kib / 1024,
			pages, (nr < 3162 ? 1000 : 10000)
		printf "%-30s %10s %10s %10s\n", "in-kernel, per sample",
			"floor", "damon", "damon/floor"
		for (i = 1; i <= n; i++)
			printf "%-30s %10d %10d %10.2f\n", "pages=" keys[i],
				floor[keys[i]], damon[keys[i]],
				damon[keys[i]] / (floor[keys[i]] ? floor[keys[i]] : 1)
		exit !(ours && stock && n)
	}' || failed=1
	echo "   floor: a random address, page table descent and test-and-clear"
	echo "   of its Accessed bit under mmap_lock, no DAMON bookkeeping;"
	echo "   damon: the check and arming of real regions (vaddr-kunit.h)."
	echo "   target: ours/stock at most 0.5"
	return $failed
}

# Intervals auto-tuning, stock at its default intervals against ours with
# a goal: stock-vs-ours.sh autotune, one boot of each kernel.
bench_autotune() {
	local workload=$BUILD/bench/pattern kernel image name failed=0 table
	local secs=${AUTOTUNE_SECS:-120} phases=${AUTOTUNE_PHASES:-8} settle
	local -A res

	echo "== autotune: ours with intervals_goal 400 bp / 3 aggrs /"
	echo "   5 ms..10 s against stock at 5 ms / 100 ms, ${secs} s per"
	echo "   pattern (one boot of each kernel)"
	mkdir -p "$BUILD/bench"
	gcc -O2 -Wall -o "$workload" "$T/bench/pattern.c" ||
		{ echo "bench: cannot build the workload" >&2; return 1; }
	for kernel in stock ours; do
		image=$KERNEL
		[ $kernel = stock ] && image=$STOCK_KERNEL
		name=bench-autotune-$kernel
		if BOOT_KERNEL=$image vm_bench "$name" kunit.enable=0 \
			env AUTOTUNE_SECS="$secs" AUTOTUNE_PHASES="$phases" \
			"$T/bench/stock-vs-ours.sh" "$workload" /tmp/out \
			autotune; then
			res[$kernel]=$BUILD/vm/$name/out
		else
			echo "bench: $kernel failed; see" \
				"$BUILD/vm/$name/console.log" >&2
			failed=1
		fi
	done
	[ -n "${res[stock]:-}" ] && [ -n "${res[ours]:-}" ] || return 1
	# A fifth of a phase: a few of ours' tuned aggregations.
	settle=$((secs * 1000 / phases / 5))
	table=$(python3 "$T/bench/compare.py" --settle-ms "$settle" \
		"stock=${res[stock]}" "ours=${res[ours]}") || return 1
	echo "$table"
	echo "$table" | awk '
	$1 ~ /^autotune-/ && $2 == "kdamond" { cpu[$1] = $NF }
	$1 ~ /^autotune-/ && $2 == "wss" { err[$1] = $(NF - 2) }
	END {
		for (p in cpu)
			printf "   %s: cpu ours/stock %s (target <= 0.2),"\
				" wss error ours %s%% (target <= 10)\n",
				p, cpu[p], err[p]
		exit !length(cpu)
	}' || failed=1
	echo "   windows starting less than $settle ms after a phase change"
	echo "   are skipped; the workload is paced, see stock-vs-ours.sh"
	return $failed
}

# === Main ===

if [ $# -eq 0 ]; then
	set -- "${SECTIONS[@]}"
fi
for section in "$@"; do
	declare -F "bench_${section//-/_}" > /dev/null ||
		die "unknown section $section (sections: ${SECTIONS[*]})"
done

if [ "${NO_BUILD:-0}" != 1 ]; then
	echo "bench: building the bench kernel" >&2
	"$T/build-kernel.sh" bench || die "kernel build failed"
	case " $* " in
	*" stock-vs-ours "* | *" schemes-latency "* | *" reclaim "* | \
	*" sampling-cost "* | *" autotune "*)
		echo "bench: building the stock kernel" >&2
		"$T/build-kernel.sh" stock || die "stock kernel build failed" ;;
	esac
fi
[ -f "$KERNEL" ] || die "no bench kernel at $KERNEL"

TSC_APPEND=$(tsc_append)
failed=0
total=0
for section in "$@"; do
	total=$((total + $(expected_seconds "$section")))
done
echo "bench: $# section(s), $(about "$total") in all" >&2
bench_start=$(date +%s)
i=0
for section in "$@"; do
	i=$((i + 1))
	echo "bench: [$i/$#] $section, $(about "$(expected_seconds "$section")")" \
		"(at $(since "$bench_start"))" >&2
	section_start=$(date +%s)
	"bench_${section//-/_}" || failed=$((failed + 1))
	echo "bench: $section took $(since "$section_start")" >&2
	echo
done
[ "$failed" -eq 0 ] || die "$failed section(s) failed"
