#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""DAMOS watermarks on the free memory rate.

A scheme with free_mem_rate watermarks is inactive while the free memory
rate (free pages per mille of all) is above high or below low, and
becomes active once it is below mid.  While every scheme is inactive the
kdamond does not monitor at all.  The guest's rate is read from
/proc/meminfo first (the test skips unless it is within 2..997), then a
stat scheme every region matches, checking the watermarks every 100 ms,
runs on an idle access_memory under three watermark settings:

    active          high 1000, mid 999, low 0
    above high      high 1, mid 1, low 0
    below low       high 1000, mid 1000, low 999

- active, from on: within 10 s nr_tried grows, damon_aggregated events
  come, and update_schemes_tried_regions succeeds with tried regions;
- committed to above high (and later to below low): after 1 s to settle,
  nr_tried does not grow over the next 2 s and no damon_aggregated event
  comes; update_schemes_stats still answers within 3 s, and
  update_schemes_tried_regions fails with ECANCELED within 5 s instead of
  waiting for a pass that will not come; state stays on;
- committed back to active: nr_tried grows again within 10 s;
- turned on inactive (above high) from the start: nr_tried stays 0 for
  2 s and update_schemes_tried_regions fails with ECANCELED;
- two schemes, the first active and the second above high: the update
  succeeds; the first has tried regions and nr_tried > 0, the second
  neither.

Leaves kdamond 0 off and nr_kdamonds 0.
"""

import errno
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402


ACTIVE = (1000, 999, 0)
ABOVE_HIGH = (1, 1, 0)
BELOW_LOW = (1000, 1000, 999)
WMARK_INTERVAL_US = 100000

GROW_TIMEOUT = 10       # s for an active scheme to try regions
SETTLE = 1              # s for a commit to take effect
QUIET = 2               # s an inactive scheme is watched for
STATS_RETURN = 3        # s for update_schemes_stats to answer
CANCEL_RETURN = 5       # s for a tried-regions update to be canceled


def configure_schemes(wmarks_list):
    """One stat scheme per (high, mid, low) in wmarks_list."""
    dc.configure_schemes([dc.scheme(wmarks=('free_mem_rate',
                                            WMARK_INTERVAL_US) + wmarks)
                          for wmarks in wmarks_list])


def timed_write(path, val, timeout):
    """Write in the background; (errno, seconds), or (None, None) if the
    write did not return within timeout s."""
    res = {}

    def run():
        res['err'] = dc.write(path, val)
        res['t'] = time.monotonic()

    t0 = time.monotonic()
    th = threading.Thread(target=run, daemon=True)
    th.start()
    th.join(timeout)
    if th.is_alive():
        return None, None
    return res['err'], res['t'] - t0


class Test(dc.Checker):

    def __init__(self, tracer, workload):
        super().__init__()
        self.tracer = tracer
        self.workload = workload
        self.kdamond = None

    def nr_tried(self, what, s=0):
        err, took = timed_write(dc.STATE, 'update_schemes_stats',
                                STATS_RETURN)
        if not self.expect(err == 0, '%s: update_schemes_stats %s' % (
                what, 'did not return in %d s' % STATS_RETURN
                if err is None else 'failed with ' + dc.errno_name(err))):
            return None
        return int(dc.read(os.path.join(dc.scheme_dir(s), 'stats',
                                        'nr_tried')))

    def commit(self, what, wmarks_list):
        configure_schemes(wmarks_list)
        err = dc.write(dc.STATE, 'commit')
        self.expect(err == 0, '%s: commit failed with %s' %
                    (what, dc.errno_name(err)))

    def expect_active(self, what):
        t0 = time.monotonic()
        before = self.nr_tried(what)
        if before is None:
            return
        grew = dc.wait_for(lambda: (self.nr_tried(what) or 0) > before,
                           GROW_TIMEOUT, 0.5)
        self.expect(grew, '%s: nr_tried stayed %d for %d s' %
                    (what, before, GROW_TIMEOUT))
        aggrs = self.tracer.wait(t0, 1, GROW_TIMEOUT)
        self.expect(aggrs, '%s: no damon_aggregated event in %d s' %
                    (what, GROW_TIMEOUT))
        err, took = timed_write(dc.STATE, 'update_schemes_tried_regions',
                                GROW_TIMEOUT)
        if self.expect(err == 0, '%s: update_schemes_tried_regions %s' % (
                what, 'did not return' if err is None else
                'failed with ' + dc.errno_name(err))):
            total = int(dc.read(os.path.join(dc.scheme_dir(0),
                                             'tried_regions',
                                             'total_bytes')))
            self.expect(total > 0, '%s: total_bytes 0 after the update' %
                        what)
        dc.log('%s: nr_tried %d, then %d; %d aggregations' % (
            what, before, self.nr_tried(what) or 0, len(aggrs)))

    def expect_inactive(self, what):
        time.sleep(SETTLE)
        t0 = time.monotonic()
        before = self.nr_tried(what)
        time.sleep(QUIET)
        after = self.nr_tried(what)
        aggrs = self.tracer.since(t0, time.monotonic())
        dc.log('%s: nr_tried %s, then %s; %d aggregations in %d s' %
               (what, before, after, len(aggrs), QUIET))
        self.expect(before is not None and before == after,
                    '%s: nr_tried went from %s to %s' %
                    (what, before, after))
        self.expect(not aggrs, '%s: %d damon_aggregated events, want none'
                    % (what, len(aggrs)))
        err, took = timed_write(dc.STATE, 'update_schemes_tried_regions',
                                CANCEL_RETURN)
        if self.expect(err is not None, '%s: update_schemes_tried_regions '
                       'did not return in %d s' % (what, CANCEL_RETURN)):
            dc.log('%s: update_schemes_tried_regions returned %s after '
                   '%.2f s' % (what, dc.errno_name(err), took))
            self.expect_errno(err, errno.ECANCELED, what +
                              ': update_schemes_tried_regions')
        self.expect(dc.state() == 'on' and dc.kdamond_pid() == self.kdamond,
                    '%s: state %s, pid %d, want on and %d' % (
                        what, dc.state(), dc.kdamond_pid(), self.kdamond))
        return before

    def start(self, what, wmarks_list):
        try:
            dc.build(dc.config([self.workload.pid]))
            configure_schemes(wmarks_list)
        except dc.SetupError as e:
            self.fail('%s: %s' % (what, e))
            return False
        self.kdamond = dc.turn_on(self, what)
        return self.kdamond is not None

    def transitions(self):
        if not self.start('active', [ACTIVE]):
            return
        self.expect_active('active')
        self.commit('above high', [ABOVE_HIGH])
        self.expect_inactive('above high')
        self.commit('active again', [ACTIVE])
        self.expect_active('active again')
        self.commit('below low', [BELOW_LOW])
        self.expect_inactive('below low')
        dc.turn_off(self, 'off', self.kdamond)

    def inactive_from_start(self):
        what = 'inactive from the start'
        if not self.start(what, [ABOVE_HIGH]):
            return
        before = self.expect_inactive(what)
        self.expect(before == 0, '%s: nr_tried %s, want 0' % (what, before))
        dc.turn_off(self, what, self.kdamond)

    def one_of_two(self):
        what = 'one active, one inactive scheme'
        if not self.start(what, [ACTIVE, ABOVE_HIGH]):
            return
        time.sleep(SETTLE)
        err, took = timed_write(dc.STATE, 'update_schemes_tried_regions',
                                GROW_TIMEOUT)
        if self.expect(err == 0, '%s: update_schemes_tried_regions %s' % (
                what, 'did not return' if err is None else
                'failed with ' + dc.errno_name(err))):
            totals = [int(dc.read(os.path.join(dc.scheme_dir(s),
                                               'tried_regions',
                                               'total_bytes')))
                      for s in (0, 1)]
            tried = [self.nr_tried(what, s) for s in (0, 1)]
            dc.log('%s: total_bytes %s, nr_tried %s' %
                   (what, totals, tried))
            self.expect(totals[0] > 0 and tried[0],
                        '%s: the active scheme tried nothing' % what)
            self.expect(totals[1] == 0 and tried[1] == 0,
                        '%s: the inactive scheme tried regions' % what)
        dc.turn_off(self, what, self.kdamond)


def main():
    dc.check_environment(need_tracefs=True)
    rate = dc.free_mem_rate()
    dc.log('free memory rate: %d per mille' % rate)
    if not 2 <= rate <= 997:
        dc.skip('the free memory rate %d is too close to an end for '
                'the watermarks to tell active from inactive' % rate)
    kmsg = dc.Kmsg()
    test = None
    tracer = workload = None
    try:
        tracer = dc.Tracer('damos_wmarks')
        workload = dc.Workload(1, 4, [(0, None)])
        test = Test(tracer, workload)
        test.transitions()
        test.inactive_from_start()
        test.one_of_two()
    except (OSError, dc.SetupError, RuntimeError) as e:
        test = test or dc.Checker()
        test.fail('unexpected error: %s' % e)
    finally:
        dc.cleanup()
        if workload:
            workload.kill()
        if tracer:
            tracer.close()
    return test.finish(kmsg)


if __name__ == '__main__':
    sys.exit(main())
