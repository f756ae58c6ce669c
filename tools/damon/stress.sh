#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make stress: build the test, kcsan and failslab kernels (incrementally),
# boot each once in QEMU and run there the DAMON kselftests named
# reliability_* and the sysfs fuzzer, tools/damon/fuzz, with a few seeds
# (with --failslab on the failslab kernel).  Prints a line per kselftest
# and per kernel and seed, and ends with "N passed, N failed".
#
# Environment:
#   STRESS_KERNELS  flavours to run (default: test kcsan failslab)
#   STRESS_SEEDS    fuzzer runs per kernel (default 3)
#   STRESS_SEED     the first seed; runs take SEED, SEED+1, ... (default 1)
#   STRESS_OPS      operations per fuzzer run (default 10000)
#   STRESS_WRITERS  concurrent writers per fuzzer run (default 4)
#   STRESS_TESTS    kselftests to run (default: every reliability_* one)
#   STRESS_BUILD    0: boot the kernels already built, as they are
#
# Each kernel's console log is build/vm/stress-KERNEL/console.log, the
# fuzzer's output and operation logs are under build/vm/stress-KERNEL/out/.
# "stress.sh --guest ..." is the part that runs inside the guest.

set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
T=$REPO/tools/damon

# === In the guest ===
#   stress.sh --guest KERNEL KSFT OPS WRITERS "TESTS" SEED...
if [ "${1:-}" = --guest ]; then
	kernel=$2 ksft=$3 ops=$4 writers=$5 tests=$6
	shift 6
	out=/tmp/out
	res=$out/results
	: > "$res"
	for t in $tests; do
		s=$(date +%s)
		"$ksft/run_kselftest.sh" -t "damon:$t" 2>&1 |
			tee "$out/kselftest-$t.tap"
		tap=$out/kselftest-$t.tap
		if grep -q -E '^not ok [0-9]+ ' "$tap"; then
			verdict=fail
		elif grep -q -E '^ok [0-9]+ .*# SKIP' "$tap"; then
			verdict=skip
		elif grep -q -E '^ok [0-9]+ ' "$tap"; then
			verdict=ok
		else
			verdict=fail
		fi
		echo "kselftest $t $verdict $(( $(date +%s) - s ))" >> "$res"
	done
	extra=()
	[ "$kernel" = failslab ] && extra+=(--failslab)
	# Bounds the run: about 40 ops/s is the pace of an emulated guest.
	limit=$(( ops / 10 + 600 ))
	for seed in "$@"; do
		s=$(date +%s)
		python3 "$T/fuzz" --seed "$seed" --ops "$ops" \
			--writers "$writers" --time-limit "$limit" \
			--log-dir "/tmp/fuzz-$seed" "${extra[@]}" 2>&1 |
			tee "$out/fuzz-$seed.txt"
		rc=${PIPESTATUS[0]}
		secs=$(( $(date +%s) - s ))
		line=$(grep -a -o 'fuzz-result .*' "$out/fuzz-$seed.txt" | tail -1)
		done_ops=$(sed -n 's/.* ops=\([0-9]*\).*/\1/p' <<< "$line")
		result=$(sed -n 's/.* result=\(.*\)/\1/p' <<< "$line")
		[ -n "$result" ] || result="FAIL(exit status $rc)"
		[ "$rc" = 0 ] || [[ "$result" = FAIL* ]] ||
			result="FAIL(exit status $rc)"
		echo "fuzz $seed ${done_ops:-?} $secs $result" >> "$res"
		mkdir -p "$out/fuzz-$seed"
		cp /tmp/fuzz-"$seed"/* "$out/fuzz-$seed/" 2>/dev/null
		rm -rf "/tmp/fuzz-$seed"
	done
	exit 0
fi

# === On the host ===
BUILD=${BUILD:-$REPO/build}
TREE=$BUILD/linux
KSFT=$BUILD/kselftest-stress
kernels=${STRESS_KERNELS:-test kcsan failslab}
nr_seeds=${STRESS_SEEDS:-3}
first=${STRESS_SEED:-1}
ops=${STRESS_OPS:-10000}
writers=${STRESS_WRITERS:-4}
seeds=$(seq "$first" $((first + nr_seeds - 1)) | xargs)
start=$(date +%s)

# Our VM names and selftest install are our own; still, one at a time.
mkdir -p "$BUILD/stress"
exec 7> "$BUILD/.stress.lock"
flock 7

passed=0
failed=0
summary=()
note() {	# note ok|fail|skip TEXT
	case $1 in
	ok)	passed=$((passed + 1)) ;;
	fail)	failed=$((failed + 1)) ;;
	esac
	summary+=("$(printf '%-4s %s' "$1" "$2")")
	echo "stress: $1: $2"
}

ksft_ready=0
for k in $kernels; do
	kstart=$(date +%s)
	if [ "${STRESS_BUILD:-1}" = 0 ] &&
	   [ -f "$BUILD/obj-$k/arch/x86/boot/bzImage" ]; then
		echo "stress: booting the $k kernel as built (STRESS_BUILD=0)"
	elif echo "stress: building the $k kernel (log: build/stress/build-$k.log)"
	     ! "$T/build-kernel.sh" "$k" > "$BUILD/stress/build-$k.log" 2>&1; then
		tail -20 "$BUILD/stress/build-$k.log" >&2
		note fail "$k: kernel build"
		continue
	fi
	# The selftests, from the tree the first build prepared.
	if [ $ksft_ready = 0 ]; then
		rm -rf "$KSFT"
		if make -s -C "$TREE/tools/testing/selftests" TARGETS=damon \
			O="$BUILD/kselftest-build-stress" \
			KSFT_INSTALL_PATH="$KSFT" install \
			> "$BUILD/stress/kselftest-build.log" 2>&1; then
			ksft_ready=1
		else
			cat "$BUILD/stress/kselftest-build.log" >&2
			note fail "kselftest build"
			ksft_ready=2
		fi
	fi
	tests=${STRESS_TESTS:-}
	if [ -z "$tests" ] && [ -f "$KSFT/kselftest-list.txt" ]; then
		tests=$(sed -n 's/^damon:\(reliability_.*\)/\1/p' \
			"$KSFT/kselftest-list.txt" | xargs)
	fi
	[ -n "$tests" ] || echo "stress: no reliability_* kselftest installed"

	nr_tests=$(wc -w <<< "$tests")
	timeout=$(( 600 + nr_tests * 700 + nr_seeds * (ops / 10 + 900) ))
	run=$BUILD/vm/stress-$k
	echo "stress: booting the $k kernel: kselftests ${tests:-none}," \
		"fuzzer seeds $seeds ($ops ops; console: ${run#"$REPO"/}/console.log)"
	fi_env=0
	[ "$k" = failslab ] && fi_env=1
	VM_QUIET=1 VM_FAULT_INJECTION=$fi_env "$T/vm-run" \
		--kernel "$BUILD/obj-$k/arch/x86/boot/bzImage" \
		--name "stress-$k" --timeout "$timeout" \
		--append "kunit.enable=0" -- \
		bash "$T/stress.sh" --guest "$k" "$KSFT" "$ops" "$writers" \
		"$tests" $seeds
	vm_rc=$?

	res=$run/out/results
	for t in $tests; do
		line=$(grep -E "^kselftest $t " "$res" 2>/dev/null)
		if [ -z "$line" ]; then
			note fail "$k: kselftest $t did not run"
			continue
		fi
		read -r _ _ verdict secs <<< "$line"
		note "$verdict" "$k: kselftest $t ($secs s)"
	done
	for seed in $seeds; do
		line=$(grep -E "^fuzz $seed " "$res" 2>/dev/null)
		if [ -z "$line" ]; then
			note fail "$k: fuzz seed $seed did not finish"
			continue
		fi
		read -r _ _ done_ops secs result <<< "$line"
		verdict=ok
		[ "$result" = ok ] || verdict=fail
		note $verdict "$k: fuzz seed $seed: $done_ops ops in $secs s: $result"
	done
	if [ $vm_rc -ge 3 ]; then
		note fail "$k: guest log not clean (splat, leak or no clean finish; see ${run#"$REPO"/}/console.log)"
	else
		note ok "$k: guest log clean"
	fi
	echo "stress: $k kernel done in $(( $(date +%s) - kstart )) s"
done

echo "stress: summary"
for line in "${summary[@]}"; do
	echo "stress:   $line"
done
echo "stress: took $(( $(date +%s) - start )) s"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
