#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Intervals auto-tuning through monitoring_attrs/intervals/intervals_goal.

On an access_memory process sweeping one 16 MiB buffer of eight, at a
goal of 400 bp of the possible access events, tuning every 2 aggregations,
sampling bounded to 2..500 ms, from 5 ms sampling and 100 ms aggregations
(a ratio of 20):

- update_tuned_intervals, written every second for 20 s, puts the tuned
  intervals in sample_us and aggr_us: they move from where they started,
  aggr_us stays 20 times sample_us, and sample_us stays within the bounds;
- a commit of a goal with min_sample_us above max_sample_us, of one that
  tunes (aggrs 3) with no access_bp, or with no max_sample_us, fails with
  EINVAL and leaves the kdamond running, with the same pid, still tuning
  within the old bounds; "on" with such a goal fails with EINVAL too;
- without a goal (aggrs 0), update_tuned_intervals reads back the intervals
  as they were set; with the kdamond off it fails with EINVAL.
"""

import errno
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

GOAL = os.path.join(dc.INTERVALS, 'intervals_goal')
RATIO = 20
MIN_SAMPLE = 2000
MAX_SAMPLE = 500000
WATCH = 20              # s of watching the tuned intervals


def set_goal(access_bp, aggrs, min_us, max_us):
    for name, val in (('access_bp', access_bp), ('aggrs', aggrs),
                      ('min_sample_us', min_us), ('max_sample_us', max_us)):
        dc.must_write(os.path.join(GOAL, name), val)


def intervals():
    return (int(dc.read(os.path.join(dc.INTERVALS, 'sample_us'))),
            int(dc.read(os.path.join(dc.INTERVALS, 'aggr_us'))))


def watch(chk, start):
    """Read the tuned intervals every second; return the distinct ones."""
    seen = {start}
    t_end = time.monotonic() + WATCH
    while time.monotonic() < t_end:
        time.sleep(1)
        err = dc.write(dc.STATE, 'update_tuned_intervals')
        if not chk.expect_errno(err, 0, 'update_tuned_intervals'):
            break
        sample, aggr = intervals()
        seen.add((sample, aggr))
        chk.expect(aggr == RATIO * sample, 'tuned to %d/%d us: not a '
                   'ratio of %d' % (sample, aggr, RATIO))
        chk.expect(MIN_SAMPLE <= sample <= MAX_SAMPLE, 'sampling tuned to '
                   '%d us, out of [%d, %d]' % (sample, MIN_SAMPLE,
                                                MAX_SAMPLE))
    dc.log('tuned intervals seen: %s' % sorted(seen))
    return seen


def refused(chk, goal, kdamond):
    set_goal(*goal)
    err = dc.write(dc.STATE, 'commit')
    chk.expect_errno(err, errno.EINVAL, 'commit of goal %s' % (goal,))
    chk.expect(dc.state() == 'on' and dc.kdamond_pid() == kdamond,
               'a refused commit of goal %s changed the kdamond' % (goal,))


def test(chk):
    workload = dc.Workload(8, 16, [(0, [0])])
    try:
        cfg = dc.config([workload.pid], sample_us=5000,
                        aggr_us=5000 * RATIO)
        dc.build(cfg)
        # Without a goal the intervals are as set.
        kdamond = dc.turn_on(chk, 'on without a goal')
        if not kdamond:
            return
        time.sleep(1)
        chk.expect_errno(dc.write(dc.STATE, 'update_tuned_intervals'), 0,
                         'update_tuned_intervals without a goal')
        chk.expect(intervals() == (5000, 5000 * RATIO), 'intervals without '
                   'a goal read %s' % (intervals(),))
        dc.turn_off(chk, 'off', kdamond)
        chk.expect_errno(dc.write(dc.STATE, 'update_tuned_intervals'),
                         errno.EINVAL, 'update_tuned_intervals when off')

        set_goal(400, 3, MIN_SAMPLE + 1, MIN_SAMPLE)
        chk.expect_errno(dc.write(dc.STATE, 'on'), errno.EINVAL,
                         'on with min_sample_us above max_sample_us')
        chk.expect(dc.state() == 'off', 'a refused on started a kdamond')

        set_goal(400, 2, MIN_SAMPLE, MAX_SAMPLE)
        kdamond = dc.turn_on(chk, 'on with a goal')
        if not kdamond:
            return
        seen = watch(chk, (5000, 5000 * RATIO))
        chk.expect(len(seen) > 1, 'the intervals never moved from '
                   '5000/%d us in %d s' % (5000 * RATIO, WATCH))

        for goal in ((400, 3, MAX_SAMPLE + 1, MAX_SAMPLE),
                     (0, 3, MIN_SAMPLE, MAX_SAMPLE),
                     (400, 3, 0, 0)):
            refused(chk, goal, kdamond)
        # The old goal still holds.
        set_goal(400, 2, MIN_SAMPLE, MAX_SAMPLE)
        chk.expect_errno(dc.write(dc.STATE, 'update_tuned_intervals'), 0,
                         'update_tuned_intervals after the refusals')
        sample, aggr = intervals()
        chk.expect(aggr == RATIO * sample and
                   MIN_SAMPLE <= sample <= MAX_SAMPLE,
                   'after the refusals tuned to %d/%d us' % (sample, aggr))
        dc.turn_off(chk, 'off', kdamond)
    finally:
        workload.kill()


if __name__ == '__main__':
    sys.exit(dc.run(test))
