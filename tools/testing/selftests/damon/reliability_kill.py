#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Failure class guarded: a writer that cannot be killed.

update_schemes_tried_regions and update_schemes_tried_bytes wait for
every scheme's next apply pass, which with apply_interval_us 30 s takes up
to 30 s.  A writer killed (SIGKILL, as Ctrl-C escalates to) meanwhile must
die at once, not when the pass comes, and leave nothing behind:

- the writer, still waiting 1 s into the wait, is gone within 5 s of
  SIGKILL;
- the kdamond is still on, update_schemes_stats answers within 5 s, and
  a new update may start (no EBUSY from a walk left pending): killed in
  turn, it too is gone within 5 s;
- off then returns within 5 s and the kdamond is gone.

Nothing may oops; the kernel log is checked for splats.
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

LONG_APPLY_US = 30000000
KILL_AFTER = 1.0        # s into the wait at which the writer is killed
GONE_WITHIN = 5         # s for a killed writer to be gone
QUICK = 5               # s for a command that has nothing to wait for


def spawn_writer(keyword):
    """Fork a process that writes keyword to state; return its pid."""
    pid = os.fork()
    if pid == 0:
        try:
            with open(dc.STATE, 'w') as f:
                f.write(keyword)
        except OSError:
            os._exit(1)
        os._exit(0)
    return pid


def reaped_within(pid, timeout):
    """Whether pid exited within timeout s; reaps it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return True
        time.sleep(0.05)
    return False


def kill_waiting(chk, keyword):
    """Start a writer of keyword, kill it mid-wait, expect it gone."""
    pid = spawn_writer(keyword)
    time.sleep(KILL_AFTER)
    done, _ = os.waitpid(pid, os.WNOHANG)
    if done:
        chk.fail('%s returned before the %d s apply interval came' %
                 (keyword, LONG_APPLY_US // 1000000))
        return
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    if not chk.expect(reaped_within(pid, GONE_WITHIN),
                      '%s: writer not gone %d s after SIGKILL' %
                      (keyword, GONE_WITHIN)):
        # Do not leave it behind for the other tests.
        reaped_within(pid, LONG_APPLY_US / 1000000 + 10)
        return
    dc.log('%s: killed writer gone in %.2f s' %
           (keyword, time.monotonic() - t0))


def timed(chk, keyword, want=0):
    t0 = time.monotonic()
    err = dc.write(dc.STATE, keyword)
    took = time.monotonic() - t0
    chk.expect_errno(err, want, keyword)
    chk.expect(took < QUICK, '%s took %.1f s' % (keyword, took))


def test(chk):
    workload = dc.Workload(2, 8, [(0, [0])])
    try:
        dc.build(dc.config([workload.pid]),
                 [dc.scheme(apply_interval_us=LONG_APPLY_US)])
        kdamond = dc.turn_on(chk, 'on')
        if not kdamond:
            return
        kill_waiting(chk, 'update_schemes_tried_regions')
        chk.expect(dc.state() == 'on', 'kdamond not on after the kill')
        timed(chk, 'update_schemes_stats')
        kill_waiting(chk, 'update_schemes_tried_bytes')
        kill_waiting(chk, 'update_schemes_tried_regions')
        timed(chk, 'commit')
        t0 = time.monotonic()
        dc.turn_off(chk, 'off after the kills', kdamond)
        chk.expect(time.monotonic() - t0 < QUICK, 'off took %.1f s' %
                   (time.monotonic() - t0))
    finally:
        workload.kill()


if __name__ == '__main__':
    sys.exit(dc.run(test))
