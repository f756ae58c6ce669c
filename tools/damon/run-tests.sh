#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make test: build the test kernel and the DAMON kselftests, boot the kernel
# once in QEMU (KUnit suites run at boot, the kselftests after it), and
# count the results of both.  Each KUnit suite's and each kselftest's
# result is printed as it comes, with the time since the start; the run
# ends with "N passed, N failed, N skipped".  The console log, the TAP of
# the kselftests and kunit.py's report stay under build/vm/test.
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
echo "test: building the kselftests (log: build/kselftest-build.log)"
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

log=$BUILD/vm/test/console.log
tap=$BUILD/vm/test/out/kselftest.tap

# stream_results: print each result as the guest reports it, until
# SIGTERM, when it reads what is left and exits.  KUnit suites come from
# the console ("ok 3 damon-engine" at the top level, after "# damon-engine:
# pass:N fail:N skip:N"), the kselftests from their TAP file ("ok 2
# selftests: damon: sysfs_tree.py").  After a minute without a result, it
# says what is running.  It runs beside vm-run rather than around it, so
# that ^C reaches vm-run and QEMU as before.
stream_results() {
	exec python3 -u - "$log" "$tap" "$start" "$$" <<'PY'
import os
import re
import signal
import sys
import time

console, tap, start, parent = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4])
stop = False


def on_term(signum, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, signal.SIG_IGN)


def clock(t):
    s = int(t - start)
    return '%2dm%02ds' % (s // 60, s % 60)


def took(t0):
    return '%d s' % (time.time() - t0) if t0 else '?'


last_out = time.time()


def say(msg, detail=()):
    global last_out
    last_out = time.time()
    print('[%s] %s' % (clock(last_out), msg.rstrip()))
    for d in detail:
        print('           ' + d)


class Follow:
    """The complete lines a growing file has gained since the last call;
    the file need not exist yet."""

    def __init__(self, path):
        self.path, self.f, self.rest = path, None, ''

    def lines(self):
        if self.f is None:
            try:
                self.f = open(self.path, errors='replace')
            except OSError:
                return []
        data = self.rest + self.f.read()
        lines = data.split('\n')
        self.rest = lines.pop()
        return [ln.rstrip('\r') for ln in lines]


KTAP_RESULT = re.compile(r'(not ok|ok) (\d+) (.*?)(?: # (.*))?$')
KUNIT_COUNTS = re.compile(r'# (\S+): pass:(\d+) fail:(\d+) skip:(\d+)')
KUNIT_SUITE = re.compile(r'    # Subtest: (\S+)$')
KUNIT_CASE_FAIL = re.compile(r'    not ok \d+ (.*)$')
KSFT_START = re.compile(r'# selftests: \S+: (\S+)$')
# Console lines that tell what the guest does next.
GUEST_STEPS = [(re.compile(r'Run \S+ as init process'),
                'the start of the kselftests'),
               (re.compile(r'guest-init: command exited'),
                'the leak check and power-off')]
KSFT_RESULT = re.compile(r'(not ok|ok) (\d+) selftests: \S+: (\S+) *(.*)$')

con, res = Follow(console), Follow(tap)
running = 'the boot'
since = time.time()
counts = {}
failed_cases = []
ksft_out = []


def kunit(line):
    global running, since, failed_cases
    m = KUNIT_SUITE.match(line)
    if m:
        running, since, failed_cases = 'KUnit suite ' + m.group(1), \
            time.time(), []
        return
    m = KUNIT_CASE_FAIL.match(line)
    if m:
        failed_cases.append('not ok ' + m.group(1))
        return
    m = KUNIT_COUNTS.match(line)
    if m:
        counts[m.group(1)] = m.groups()[1:]
        return
    for step, what in GUEST_STEPS:
        if step.match(line):
            running, since = what, time.time()
            return
    m = KTAP_RESULT.match(line)
    if not m or m.group(3).startswith('selftests: '):
        return
    name = m.group(3)
    c = counts.get(name)
    what = ': %s passed, %s failed, %s skipped' % c if c else ''
    what += ' (%s)' % took(since)
    if m.group(4):
        what += ' # ' + m.group(4)
    say('kunit: %s %s %s%s' % (m.group(1), m.group(2), name, what),
        failed_cases[:10] if m.group(1) == 'not ok' else ())
    running, since, failed_cases = 'the boot, after KUnit suite ' + name, \
        time.time(), []


def kselftest(line):
    global running, since, ksft_out
    m = KSFT_START.match(line)
    if m:
        running, since, ksft_out = 'kselftest ' + m.group(1), \
            time.time(), []
        return
    m = KSFT_RESULT.match(line)
    if not m:
        if line.startswith('# FAIL') or line.startswith('# not ok'):
            ksft_out.append(line)
        return
    say('kselftest: %s %s %s (%s) %s' % (m.group(1), m.group(2), m.group(3),
                                         took(since), m.group(4)),
        ksft_out[:10] if m.group(1) == 'not ok' else ())
    running, since = 'the next kselftest', time.time()


def poll():
    for line in con.lines():
        kunit(line)
    for line in res.lines():
        kselftest(line)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


while not stop and alive(parent):
    poll()
    if time.time() - last_out >= 60:
        say('still running: %s, for %s' % (running, took(since)))
    time.sleep(0.5)
poll()
PY
}

echo "test: booting the test kernel (console: build/vm/test/console.log)"
rm -rf "$BUILD/vm/test"
stream_results &
streamer=$!
VM_NUMA=${VM_NUMA:-2} VM_QUIET=1 "$T/vm-run" --name test \
	--timeout "${VM_TIMEOUT:-3000}" --append "$append" -- \
	bash -c 'set -o pipefail; "$0" "$@" 2>&1 | tee /tmp/out/kselftest.tap' \
	"$KSFT/run_kselftest.sh" "${ksft_args[@]}"
vm_rc=$?
kill -TERM "$streamer" 2>/dev/null
wait "$streamer"

passed=0
failed=0

# KUnit: let kunit.py read the KTAP the suites printed on the console.
if [ "${NO_KUNIT:-0}" != 1 ]; then
	json=$BUILD/vm/test/kunit.json
	python3 "$TREE/tools/testing/kunit/kunit.py" parse --json="$json" \
		"$log" > "$BUILD/vm/test/kunit.txt" 2>&1
	# The cases streamed already; repeat the failures and the total.
	grep -E '\[(FAILED|CRASHED)\]|Testing complete' \
		"$BUILD/vm/test/kunit.txt" |
		sed -E 's/^\[[0-9:]+\] //; s/^/kunit: /'
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
if [ -f "$tap" ]; then
	grep -E '^not ok [0-9]+ ' "$tap" | sed 's/^/kselftest: /'
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
