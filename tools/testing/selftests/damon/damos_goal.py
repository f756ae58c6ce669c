#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A DAMOS quota tuned by a user_input goal.

access_memory sweeps one 16 MiB buffer, which an fvaddr context monitors
with 5 ms sampling and 100 ms aggregation.  A stat scheme matching every
region has no size quota of its own (bytes 0), a 200 ms reset interval
and one user_input goal of target_value 10000; the feedback loop sets its
effective size quota at each new window, read with
update_schemes_effective_quotas:

1. current_value 0 (below the target): effective_bytes is above 0 and
   never shrinks, and grows at least 4-fold within 10 s (upstream doubles
   it every window);
2. current_value 10000 (on the target), fed with
   commit_schemes_quota_goals: it stays within 25% of where it was, over
   2 s (about 10 windows);
3. current_value 30000 (three times the target): it drops below half of
   that within 10 s (upstream: to its floor at once), and stays above 0,
   which would mean no limit;
4. current_value 0 again, fed with a whole commit: it grows at least
   4-fold again within 10 s, so the floor is not a dead end.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

RESET_MS = 200
TARGET = 10000
WAIT_S = 10             # for the quota to move as expected
HOLD_S = 2
POLL_S = 0.2


def poll(cond, timeout):
    """Read effective_bytes until cond(value) or timeout s; return the
    values read."""
    vals = []
    deadline = time.monotonic() + timeout
    while True:
        vals.append(dc.effective_bytes(0))
        if cond(vals[-1]) or time.monotonic() >= deadline:
            return vals
        time.sleep(POLL_S)


def show(vals):
    return ' '.join(str(v) for v in vals)


def grow(chk, what):
    """Expect effective_bytes to grow 4-fold, never shrinking; return the
    last value."""
    first = poll(lambda v: v > 0, WAIT_S)
    if not chk.expect(first[-1] > 0, '%s: effective_bytes still 0 after '
                      '%d s' % (what, WAIT_S)):
        return None
    start = first[-1]
    vals = poll(lambda v: v >= 4 * start, WAIT_S)
    dc.log('%s: effective_bytes %s' % (what, show(first[-1:] + vals)))
    chk.expect(vals[-1] >= 4 * start, '%s: effective_bytes went from %d '
               'to only %d in %d s, want 4-fold' %
               (what, start, vals[-1], WAIT_S))
    seq = [start] + vals
    drops = [(a, b) for a, b in zip(seq, seq[1:]) if b < a]
    chk.expect(not drops, '%s: effective_bytes shrank, e.g. from %d to %d' %
               ((what,) + (drops[0] if drops else (0, 0))))
    return vals[-1]


def test(chk):
    workload = dc.Workload(1, 16, [(0, [0])])
    try:
        cfg = dc.config([workload.pid], ops='fvaddr',
                        regions=[workload.buffers[:1]])
        dc.build(cfg, [dc.scheme(reset_interval_ms=RESET_MS,
                                 goals=[('user_input', TARGET, 0)])])
        if not dc.turn_on(chk, 'on'):
            return

        grown = grow(chk, 'current 0')
        if grown is None:
            return

        what = 'current %d' % TARGET
        dc.set_goal_current(0, 0, TARGET)
        # Let the window in progress end, then watch a few more.
        time.sleep(2 * RESET_MS / 1000)
        held = [dc.effective_bytes(0)]
        time.sleep(HOLD_S)
        held.append(dc.effective_bytes(0))
        dc.log('%s: effective_bytes %s' % (what, show(held)))
        chk.expect(held[0] * 0.8 <= held[1] <= held[0] * 1.25,
                   '%s: effective_bytes moved from %d to %d in %d s, want '
                   'within 25%%' % (what, held[0], held[1], HOLD_S))

        what = 'current %d' % (3 * TARGET)
        dc.set_goal_current(0, 0, 3 * TARGET)
        high = held[-1]
        vals = poll(lambda v: v <= high // 2, WAIT_S)
        dc.log('%s: effective_bytes %s' % (what, show(vals)))
        chk.expect(vals[-1] <= high // 2, '%s: effective_bytes went from %d '
                   'to only %d in %d s, want below half' %
                   (what, high, vals[-1], WAIT_S))
        chk.expect(min(vals) > 0, '%s: effective_bytes reads 0, which '
                   'means no quota' % what)

        dc.set_goal_current(0, 0, 0, keyword='commit')
        grow(chk, 'current 0 again, by commit')
        chk.expect(workload.alive(), 'the workload died')
    finally:
        dc.cleanup()
        workload.kill()


if __name__ == '__main__':
    sys.exit(dc.run(test))
