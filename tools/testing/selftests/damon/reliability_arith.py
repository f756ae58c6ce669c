#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Reliability: arithmetic on user-given numbers.

Guards the failure classes where a number written to the sysfs tree, valid
to the file, overflows or rounds away inside DAMON:

- window_overflow: an aggregation window of more samples than the access
  counts hold (aggr_us / max(sample_us, 1) above UINT_MAX / 10000 =
  429496) is refused with EINVAL at on and at commit, 429496 is taken,
  and a refused commit leaves the kdamond running as it was;
- quota_weights: prioritization weights whose sum or products overflow
  (UINT_MAX, 2^31) neither divide by zero nor stop the scheme;
- huge_intervals: sampling and aggregation intervals, or a watermark
  check interval, of 2^64 - 1 or 2^63 us neither make the kdamond spin
  (a deadline that wraps around) nor keep it from answering commands;
- reset_interval: a quota reset interval of 2^32 ms (0 once truncated to
  32 bits) does not start a new quota window at every pass;
- quota_below_page: a size quota under one page (an effective quota that
  rounds down to nothing) still lets the scheme make progress;
- merge_loop: more regions than max_nr_regions that cannot all be merged
  do not trap the kdamond in its merge loop.

Leaves kdamond 0 off and nr_kdamonds 0.
"""

import errno
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

log = dc.log
# UINT_MAX / 10000: the most samples an aggregation window may hold.
MAX_WINDOW = dc.UINT_MAX // 10000
SAMPLE = os.path.join(dc.INTERVALS, 'sample_us')
AGGR = os.path.join(dc.INTERVALS, 'aggr_us')


def set_intervals(sample_us, aggr_us):
    dc.must_write(SAMPLE, sample_us)
    dc.must_write(AGGR, aggr_us)


def grows(case, what, before, after, field='nr_tried'):
    """Expect stats field to have grown from before to after."""
    if before is None or after is None:
        return False
    return case.expect(after[0][field] > before[0][field],
                       '%s: %s stayed %d' % (what, field, before[0][field]))


def window_overflow(case):
    """Failure class: window overflow.  The kdamond counts accesses per
    window in units of 1/10000 in an unsigned int; a window of more
    samples than that holds must be refused, not wrap around."""
    refused = [(1, 1 << 32), (1, MAX_WINDOW + 1), (0, MAX_WINDOW + 1),
               (1000, (MAX_WINDOW + 1) * 1000), (10, (MAX_WINDOW + 1) * 10),
               (1, dc.ULONG_MAX)]
    workload = dc.Workload(1, 4, [(0, None)])
    try:
        dc.build(dc.config([workload.pid]), [dc.scheme()])
        for sample_us, aggr_us in refused:
            what = 'on at sample_us %d, aggr_us %d' % (sample_us, aggr_us)
            set_intervals(sample_us, aggr_us)
            case.call(what, 'on', want=errno.EINVAL)
            case.expect(dc.state() == 'off' and dc.kdamond_pid() == -1,
                        '%s: state %s, pid %d, want off and -1' % (
                            what, dc.state(), dc.kdamond_pid()))
        # Exactly MAX_WINDOW samples fit.
        set_intervals(1000, MAX_WINDOW * 1000)
        what = 'on at a window of %d samples' % MAX_WINDOW
        pid = case.turn_on(what)
        if pid:
            case.turn_off(what, pid)

        what = 'commit'
        set_intervals(5000, 100000)
        pid = case.turn_on(what)
        if not pid:
            return
        time.sleep(1)
        before = case.stats(what)
        for sample_us, aggr_us in refused:
            what = 'commit at sample_us %d, aggr_us %d' % (sample_us,
                                                           aggr_us)
            set_intervals(sample_us, aggr_us)
            case.call(what, 'commit', want=errno.EINVAL)
            case.expect_on(what, pid)
        # The scheme applies every 100 ms aggregation still, not every
        # 4295 s or so: nr_tried keeps growing.
        what = 'after the refused commits'
        time.sleep(3)
        after = case.stats(what)
        if grows(case, what, before, after):
            log('%s: nr_tried %d, 3 s later %d' % (
                what, before[0]['nr_tried'], after[0]['nr_tried']))
        what = 'commit at a window of %d samples' % MAX_WINDOW
        set_intervals(1000, MAX_WINDOW * 1000)
        case.call(what, 'commit', want=0)
        case.expect_on(what, pid)
        case.turn_off(what, pid)
    finally:
        workload.kill()


WEIGHTS = [(0, dc.UINT_MAX, 1), (0, 1 << 31, 1 << 31),
           (0, dc.UINT_MAX, dc.UINT_MAX),
           (dc.UINT_MAX, dc.UINT_MAX, dc.UINT_MAX)]


def quota_weights(case):
    """Failure class: quota weight overflow.  Regions are prioritized by
    a score weighing size, access frequency and age; weights near
    UINT_MAX must not overflow into a division by zero or a scheme that
    stops trying regions."""
    # One hot and one idle buffer, so that the scores differ.
    workload = dc.Workload(2, 4, [(0, [0])])
    try:
        for weights in WEIGHTS:
            what = 'weights (sz, nr_accesses, age) %s' % (weights,)
            dc.build(dc.config([workload.pid]),
                     [dc.scheme(quota_bytes=4096 * 16,
                                reset_interval_ms=200, weights=weights)])
            pid = case.turn_on(what)
            if not pid:
                continue
            time.sleep(1)
            before = case.stats(what)
            time.sleep(2)
            case.expect_on(what + ', 3 s later', pid)
            after = case.stats(what)
            if grows(case, what, before, after):
                log('%s: nr_tried %d, 2 s later %d' % (
                    what, before[0]['nr_tried'], after[0]['nr_tried']))
            case.turn_off(what, pid)
            dc.cleanup()
    finally:
        workload.kill()


# Most CPU time a sleeping kdamond may take in CPU_WATCH s of wall time.
IDLE_CPU = 0.2
CPU_WATCH = 3


def expect_idle(case, what, pid, secs=CPU_WATCH):
    time.sleep(0.5)     # for what starting or a command left to do
    c0 = dc.cpu_secs(pid)
    time.sleep(secs)
    c1 = dc.cpu_secs(pid)
    if not case.expect(c0 is not None and c1 is not None,
                       '%s: kdamond %d is gone' % (what, pid)):
        return
    log('%s: the kdamond used %.2f s of CPU in %d s' %
        (what, c1 - c0, secs))
    case.expect(c1 - c0 < IDLE_CPU, '%s: the kdamond used %.2f s of CPU '
                'in %d s, want < %.1f: it spins' % (what, c1 - c0, secs,
                                                    IDLE_CPU))


def huge_intervals(case):
    """Failure class: huge intervals.  A deadline of now plus 2^64 - 1 or
    2^63 us must not wrap around into the past (a kdamond that spins), and
    a kdamond sleeping that long must still wake for commands and off."""
    workload = dc.Workload(1, 4, [(0, None)])
    try:
        for interval in (dc.U64_MAX, 1 << 63):
            what = 'sample_us = aggr_us = %d' % interval
            dc.build(dc.config([workload.pid], sample_us=interval,
                               aggr_us=interval), [dc.scheme()])
            pid = case.turn_on(what)
            if not pid:
                continue
            expect_idle(case, what, pid)
            for cmd in ('update_schemes_stats', 'commit'):
                case.call(what, cmd, want=0, timeout=dc.PROMPT)
            case.expect_on(what, pid)
            expect_idle(case, what + ', after the commands', pid, 2)
            case.turn_off(what, pid, timeout=dc.PROMPT)
            dc.cleanup()

        rate = dc.free_mem_rate()
        if rate == 0:
            raise dc.Skip('no free memory for the watermarks to be above')
        for interval in (dc.U64_MAX, 1 << 63):
            what = 'watermarks checked every %d us, inactive' % interval
            dc.build(dc.config([workload.pid]),
                     [dc.inactive_scheme(interval)])
            pid = case.turn_on(what)
            if not pid:
                continue
            expect_idle(case, what, pid)
            for cmd in ('update_schemes_stats', 'commit'):
                case.call(what, cmd, want=0, timeout=dc.PROMPT)
            # No pass will come: the walk is canceled rather than kept
            # waiting for the watermarks to be checked again.
            case.call(what, 'update_schemes_tried_regions',
                      want=(0, errno.ECANCELED), timeout=dc.PROMPT)
            case.expect_on(what, pid)
            expect_idle(case, what + ', after the commands', pid, 2)
            case.turn_off(what, pid, timeout=dc.PROMPT)
            dc.cleanup()
    finally:
        workload.kill()


QUOTA = 16 * dc.PAGE_SIZE


def reset_interval(case):
    """Failure class: reset interval truncation.  reset_interval_ms 2^32
    passed to a 32-bit msecs_to_jiffies() becomes 0: a new quota window
    at every pass, and the quota no limit at all."""
    workload = dc.Workload(2, 4, [(0, [0, 1])])
    try:
        what = 'reset_interval_ms 2^32'
        dc.build(dc.config([workload.pid]),
                 [dc.scheme(quota_bytes=QUOTA, reset_interval_ms=1 << 32)])
        pid = case.turn_on(what)
        if not pid:
            return
        time.sleep(3)
        before = case.stats(what)
        time.sleep(3)
        after = case.stats(what)
        if before is None or after is None:
            return
        b, a = before[0], after[0]
        log('%s: sz_tried %d, 3 s later %d; qt_exceeds %d, then %d' % (
            what, b['sz_tried'], a['sz_tried'], b['qt_exceeds'],
            a['qt_exceeds']))
        case.expect(b['sz_tried'] > 0, '%s: nothing tried in 3 s' % what)
        case.expect(a['sz_tried'] - b['sz_tried'] <= QUOTA,
                    '%s: sz_tried grew by %d in 3 s, more than the quota '
                    '%d of a window that lasts 49 days' % (
                        what, a['sz_tried'] - b['sz_tried'], QUOTA))
        case.expect(a['qt_exceeds'] <= 1, '%s: qt_exceeds %d, want <= 1' %
                    (what, a['qt_exceeds']))
        case.expect_on(what, pid)
        case.turn_off(what, pid)
    finally:
        workload.kill()


def quota_below_page(case):
    """Failure class: effective quota below a page.  Schemes charge whole
    pages; a quota rounded down to no page at all must not stall the
    scheme for good."""
    workload = dc.Workload(2, 4, [(0, [0, 1])])
    try:
        for quota in (1, dc.PAGE_SIZE - 1):
            what = 'quotas/bytes %d' % quota
            dc.build(dc.config([workload.pid]),
                     [dc.scheme(quota_bytes=quota, reset_interval_ms=100)])
            pid = case.turn_on(what)
            if not pid:
                continue
            time.sleep(1)
            before = case.stats(what)
            time.sleep(3)
            after = case.stats(what)
            if grows(case, what, before, after, 'sz_tried'):
                log('%s: sz_tried %d, 3 s later %d' % (
                    what, before[0]['sz_tried'], after[0]['sz_tried']))
            case.expect_on(what, pid)
            case.turn_off(what, pid)
            dc.cleanup()
    finally:
        workload.kill()


NR_SMALL_REGIONS = 1000
MERGE_RETURN = 20


def merge_loop(case):
    """Failure class: merge loop.  With max_nr_regions 3 and 1000 given
    regions, half of them apart from each other so that no merge can
    join them, the kdamond must not keep merging forever: not until the
    regions are few enough, which they never are, nor with a threshold
    that wraps around before it reaches the window's samples (which the
    window limit of window_overflow keeps far below 2^31)."""
    # Pairs of adjacent one-page regions, a page apart from the next pair.
    workload = dc.Workload(1, 8, [(0, [0])])
    try:
        start, end = workload.buffers[0]
        page = dc.PAGE_SIZE
        regions = []
        for i in range(NR_SMALL_REGIONS // 2):
            base = start + 3 * i * page
            regions += [(base, base + page), (base + page, base + 2 * page)]
        if regions[-1][1] > end:
            raise RuntimeError('the buffer is too small for the regions')
        what = '%d regions, max_nr_regions 3' % len(regions)
        t0 = time.monotonic()
        # Checking 1000 regions keeps an emulated kdamond busy: sampling
        # every 20 ms leaves the guest some time for the rest.
        dc.build(dc.config([workload.pid], ops='fvaddr', regions=[regions],
                           sample_us=20000, aggr_us=200000, min_nr=3,
                           max_nr=3), [dc.scheme()])
        log('%s: written in %.1f s' % (what, time.monotonic() - t0))
        pid = case.turn_on(what)
        if not pid:
            return
        # A kdamond caught merging for good would never answer; one
        # answers in a second or two on an emulated guest, the commit
        # carrying the 1000 regions again.
        took = []
        for i in range(3):
            time.sleep(1)
            for cmd in ('update_schemes_stats', 'commit'):
                c = dc.Call(dc.STATE, cmd)
                case.finished(c, what, MERGE_RETURN)
                case.expect(c.err == 0, '%s: %s failed with %s' % (
                    what, cmd, dc.errno_name(c.err)))
                took.append('%s %.2f s' % (cmd, c.took()))
        log('%s: %s' % (what, ', '.join(took)))
        case.expect_on(what, pid)
        case.turn_off(what, pid, timeout=MERGE_RETURN)
    finally:
        workload.kill()


CASES = [
    ('window_overflow', 'aggregation windows of more than %d samples '
     'refused at on and commit' % MAX_WINDOW, window_overflow),
    ('quota_weights', 'prioritization weights up to UINT_MAX',
     quota_weights),
    ('huge_intervals', 'intervals of 2^64 - 1 and 2^63 us', huge_intervals),
    ('reset_interval', 'a quota reset interval of 2^32 ms',
     reset_interval),
    ('quota_below_page', 'size quotas under a page', quota_below_page),
    ('merge_loop', 'max_nr_regions 3 with %d given regions' %
     NR_SMALL_REGIONS, merge_loop),
]

if __name__ == '__main__':
    sys.exit(dc.run_cases(CASES))
