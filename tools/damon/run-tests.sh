#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make test: build the test kernel and the DAMON kselftests, boot the kernel
# once in QEMU (KUnit suites run at boot, the kselftests after it), and
# count the results of both.  Ends with "N passed, N failed".
#
# Environment:
#   KUNIT_FILTER  glob of KUnit suites to run (kunit.filter_glob), e.g. damon
#   SELFTESTS     kselftests to run, e.g. "damon_smoke.sh" (default: all)
#   NO_KUNIT=1    skip the KUnit suites
#   VM_NUMA       NUMA nodes of the guest (default 2: the tiering tests
#                 migrate between nodes 0 and 1; 1 for a plain guest)

set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
TREE=$BUILD/linux
KSFT=$BUILD/kselftest
T=$REPO/tools/damon
start=$(date +%s)

# Test runs share build/vm/test and the selftest install: one at a time.
mkdir -p "$BUILD"
exec 8> "$BUILD/.test.lock"
flock 8

die() { echo "test: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

"$T/build-kernel.sh" test || die "kernel build failed"

# The selftests build out of tree too; install wipes stale files first.
rm -rf "$KSFT"
make -s -C "$TREE/tools/testing/selftests" TARGETS=damon \
	O="$BUILD/kselftest-build" KSFT_INSTALL_PATH="$KSFT" install \
	> "$BUILD/kselftest-build.log" 2>&1 ||
	{ cat "$BUILD/kselftest-build.log" >&2; die "kselftest build failed"; }

append=
if [ "${NO_KUNIT:-0}" = 1 ]; then
	append="kunit.enable=0"
elif [ -n "${KUNIT_FILTER:-}" ]; then
	append="kunit.filter_glob=$KUNIT_FILTER"
fi
# Benchmarks are KUnit suites marked slow; tools/damon/bench/run.sh runs them.
[ "${NO_KUNIT:-0}" = 1 ] || append+=" kunit.filter=speed>slow"

ksft_args=()
for t in ${SELFTESTS:-}; do
	ksft_args+=(-t "damon:$t")
done

echo "test: booting the test kernel (console: build/vm/test/console.log)"
VM_NUMA=${VM_NUMA:-2} VM_QUIET=1 "$T/vm-run" --name test \
	--timeout "${VM_TIMEOUT:-2400}" --append "$append" -- \
	bash -c 'set -o pipefail; "$0" "$@" 2>&1 | tee /tmp/out/kselftest.tap' \
	"$KSFT/run_kselftest.sh" "${ksft_args[@]}"
vm_rc=$?

passed=0
failed=0
log=$BUILD/vm/test/console.log

# KUnit: let kunit.py read the KTAP the suites printed on the console.
if [ "${NO_KUNIT:-0}" != 1 ]; then
	json=$BUILD/vm/test/kunit.json
	python3 "$TREE/tools/testing/kunit/kunit.py" parse --json="$json" \
		"$log" > "$BUILD/vm/test/kunit.txt" 2>&1
	grep -E '\[(PASSED|FAILED|CRASHED|SKIPPED)\]|Testing complete' \
		"$BUILD/vm/test/kunit.txt" | sed 's/^/kunit: /'
	read -r kp kf < <(python3 - "$json" <<'PY'
import json, sys
passed = failed = 0
def walk(group):
    global passed, failed
    for case in group.get('test_cases', []):
        if case['status'] == 'PASS':
            passed += 1
        elif case['status'] != 'SKIP':
            failed += 1
    for sub in group.get('sub_groups', []):
        walk(sub)
try:
    walk(json.load(open(sys.argv[1])))
except (OSError, ValueError):
    failed += 1
print(passed, failed)
PY
	)
	# No KUnit output at all means the suites did not run: a failure.
	[ "$kp" -eq 0 ] && [ "$kf" -eq 0 ] && kf=1
	passed=$((passed + kp))
	failed=$((failed + kf))
fi

# kselftest: the runner's top-level TAP lines, one per test program.
tap=$BUILD/vm/test/out/kselftest.tap
if [ -f "$tap" ]; then
	grep -E '^(not )?ok [0-9]+ ' "$tap" | sed 's/^/kselftest: /'
	sp=$(grep -E -c '^ok [0-9]+ .*' "$tap" | tr -d ' ')
	skips=$(grep -E -c '^ok [0-9]+ .*# SKIP' "$tap" | tr -d ' ')
	sf=$(grep -E -c '^not ok [0-9]+ ' "$tap" | tr -d ' ')
	[ "$sp" -eq 0 ] && [ "$sf" -eq 0 ] && sf=1
	passed=$((passed + sp - skips))
	failed=$((failed + sf))
else
	echo "kselftest: no results"
	failed=$((failed + 1))
fi

# The guest itself: no splat, no leak, finished in time.
if [ $vm_rc -ge 3 ]; then
	echo "guest: not ok (splat, leak or no clean finish; see $log)"
	failed=$((failed + 1))
else
	echo "guest: ok (no splat, no leak)"
	passed=$((passed + 1))
fi

echo "test: took $(( $(date +%s) - start )) s"
echo "${passed} passed, ${failed} failed, ${skips:-0} skipped"
[ "$failed" -eq 0 ]
