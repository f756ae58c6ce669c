#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Committing new inputs to a running kdamond through DAMON's sysfs ABI.

Two access_memory processes: A with three idle 4 MiB buffers, B sweeping
one 8 MiB buffer.  One kdamond runs for the whole test, and what it
monitors is read from the damon:damon_aggregated tracepoint.  After each
commit, once the aggregation in progress is over:

- fvaddr regions: the regions cover exactly the committed address ranges
  (first A's buffer 0, then buffer 2, then both);
- targets: with fvaddr, pid_target switched from A to B (with B's buffer
  as region) shows B's accesses; with two targets both are reported;
  with vaddr, switching pid_target from A to B makes B's hot buffer show
  up as accessed (A is idle, so only B can account for it);
- intervals: going from 5 ms sampling / 100 ms aggregation to 100 ms /
  1 s makes aggregations about 1 s apart, and nr_accesses stays at most
  aggr/sample = 10 while B's hot buffer is monitored (at 5 ms sampling
  it would count far more).

Bad commits fail with EINVAL: a pid no process has, a region with start
> end, overlapping regions, min_nr_regions > max_nr_regions,
min_nr_regions < 3, sampling > aggregation interval, operations that are
not registered, two targets for paddr.  Our DAMON must leave the kdamond
running with the same pid, still monitoring what it monitored before;
upstream 6.12 may stop the kdamond instead: those expectations are marked
"[ours]" in failure messages.
"""

import errno
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

AGGR_TIMEOUT = 30       # s to wait for the aggregations a check needs
GRACE = 0.3             # s after a commit before its effect is checked


class Test(dc.Checker):

    def __init__(self, tracer, a, b):
        super().__init__()
        self.tracer = tracer
        self.a = a
        self.b = b
        self.pid = None
        self.cfg = None

    def commit(self, cfg, what):
        """Configure cfg, commit it; return when, or None on failure."""
        dc.configure(cfg)
        err = dc.write(dc.STATE, 'commit')
        t = time.monotonic()
        if not self.expect(err == 0, '%s: commit failed with %s' %
                           (what, dc.errno_name(err))):
            return None
        self.expect(dc.state() == 'on' and dc.kdamond_pid() == self.pid,
                    '%s: state %s, pid %d after commit, want on and %d' %
                    (what, dc.state(), dc.kdamond_pid(), self.pid))
        self.cfg = cfg
        return t

    def aggregations(self, t0, nr, what, target=None, skip=1):
        """nr aggregations, after skip of them, that begin after t0."""
        aggrs = self.tracer.wait(t0 + GRACE, nr + skip, AGGR_TIMEOUT,
                                 target)[skip:]
        self.expect(len(aggrs) >= nr, '%s: %d aggregations in %d s, want '
                    '%d' % (what, len(aggrs), AGGR_TIMEOUT, nr))
        return aggrs

    def expect_within(self, aggrs, ranges, what, ours=False):
        bad = [a for a in aggrs if not a.within(ranges)]
        return self.expect(not bad, '%s: %d of %d aggregations not exactly '
                           'over %s, e.g. %r' % (
                               what, len(bad), len(aggrs),
                               ['%x-%x' % r for r in ranges],
                               bad[0] if bad else None), ours)

    def expect_hot(self, aggrs, start, end, what):
        """Accessed regions cover most of [start, end) in half the
        aggregations, at least."""
        covers = [a.accessed_cover(start, end) for a in aggrs]
        good = sum(c >= 0.5 for c in covers)
        dc.log('%s: hot buffer >= 50%% covered by accessed regions in %d '
               'of %d aggregations' % (what, good, len(covers)))
        self.expect(covers and good * 2 >= len(covers),
                    '%s: the hot buffer is half covered by accessed regions'
                    ' in only %d of %d aggregations' %
                    (what, good, len(covers)))

    def start(self):
        a0 = self.a.buffers[0]
        cfg = dc.config([self.a.pid], ops='fvaddr', regions=[[a0]],
                        min_nr=3, max_nr=30, update_us=200000)
        dc.build(cfg)
        self.pid = dc.turn_on(self, 'on')
        if not self.pid:
            return False
        self.cfg = cfg
        t = time.monotonic()
        self.expect_within(self.aggregations(t, 5, 'on'), [a0], 'on')
        return True

    def regions(self):
        a0, a2 = self.a.buffers[0], self.a.buffers[2]
        for ranges, what in (([a2], 'fvaddr region moved to buffer 2'),
                             (sorted([a0, a2]),
                              'fvaddr regions over buffers 0 and 2')):
            cfg = dict(self.cfg, regions=[ranges])
            t = self.commit(cfg, what)
            if t is None:
                continue
            self.expect_within(self.aggregations(t, 5, what), ranges, what)

    def restart(self, what):
        """Our DAMON keeps the kdamond through a bad commit; if it did not,
        start it again so that the other cases run."""
        dc.configure(self.cfg)
        if dc.state() != 'off':
            return
        self.pid = dc.turn_on(self, what + ', restarting')

    def bad_commit(self, what, change):
        """Apply change (writes to the files), commit: expect EINVAL and
        the kdamond going on as before."""
        old = self.cfg
        ranges = old['regions'][0]
        try:
            change()
        except dc.SetupError as e:
            self.fail('%s: %s' % (what, e))
            self.restart(what)
            return
        err = dc.write(dc.STATE, 'commit')
        t = time.monotonic()
        # Upstream 6.12 answers 0 and fails in the kdamond later.
        self.expect_errno(err, errno.EINVAL, '%s: commit' % what, ours=True)
        st, pid = dc.state(), dc.kdamond_pid()
        dc.log('%s: commit gave %s; state %s, pid %d' %
               (what, dc.errno_name(err), st, pid))
        ok = self.expect(st == 'on' and pid == self.pid,
                         '%s: state %s, pid %d after the bad commit, want on'
                         ' and %d' % (what, st, pid, self.pid), ours=True)
        # The files keep the bad value: restore them.
        dc.configure(old)
        if not ok:
            self.restart(what)
            return
        aggrs = self.tracer.wait(t, 3, AGGR_TIMEOUT)
        self.expect(len(aggrs) >= 3, '%s: %d aggregations in %d s after '
                    'the bad commit, want 3' % (what, len(aggrs),
                                                AGGR_TIMEOUT), ours=True)
        self.expect_within(aggrs, ranges, what + ', after it', ours=True)

    def bad_commits(self):
        a0 = self.a.buffers[0]
        tdir = dc.target_dir(0)
        avail = dc.avail_operations()

        def w(rel, val):
            dc.must_write(os.path.join(dc.CTX, rel), val)

        def bad_pid():
            w('targets/0/pid_target', dc.unused_pid())

        def start_after_end():
            w('targets/0/regions/nr_regions', 1)
            w('targets/0/regions/0/start', a0[1])
            w('targets/0/regions/0/end', a0[0])

        def overlapping():
            third = (a0[1] - a0[0]) // 3 // dc.PAGE_SIZE * dc.PAGE_SIZE
            w('targets/0/regions/nr_regions', 2)
            w('targets/0/regions/0/start', a0[0])
            w('targets/0/regions/0/end', a0[0] + 2 * third)
            w('targets/0/regions/1/start', a0[0] + third)
            w('targets/0/regions/1/end', a0[1])

        def min_above_max():
            w('monitoring_attrs/nr_regions/min', 100)
            w('monitoring_attrs/nr_regions/max', 50)

        def min_below_3():
            w('monitoring_attrs/nr_regions/min', 2)

        def sample_above_aggr():
            w('monitoring_attrs/intervals/sample_us', 200000)
            w('monitoring_attrs/intervals/aggr_us', 100000)

        def paddr_two_targets():
            w('operations', 'paddr')
            w('targets/nr_targets', 2)
            w('targets/0/pid_target', self.a.pid)
            w('targets/1/pid_target', self.b.pid)

        cases = [('a pid no process has', bad_pid),
                 ('a region with start > end', start_after_end),
                 ('overlapping regions', overlapping),
                 ('min_nr_regions > max_nr_regions', min_above_max),
                 ('min_nr_regions < 3', min_below_3),
                 ('sampling > aggregation interval', sample_above_aggr)]
        if 'paddr' in avail:
            cases.append(('two targets for paddr', paddr_two_targets))
            dc.log('every known operations set is registered: not '
                   'committing an unregistered one')
        else:
            dc.log('paddr is not available: not committing two targets '
                   'for paddr')
            # The file may refuse the keyword already; if not, commit must.
            err = dc.write(os.path.join(dc.CTX, 'operations'), 'paddr')
            if err:
                self.expect_errno(err, errno.EINVAL, 'writing the '
                                  'unregistered paddr to operations')
            else:
                cases.append(('operations not registered (paddr)',
                              lambda: w('operations', 'paddr')))
        self.expect(os.path.isdir(tdir), 'target 0 is missing')
        for what, change in cases:
            if self.pid:
                self.bad_commit(what, change)

    def targets(self):
        b0 = self.b.buffers[0]
        a0 = self.a.buffers[0]
        what = 'fvaddr pid_target switched from A to B'
        cfg = dict(self.cfg, pids=[self.b.pid], regions=[[b0]])
        t = self.commit(cfg, what)
        if t is not None:
            aggrs = self.aggregations(t, 8, what, skip=3)
            self.expect_within(aggrs, [b0], what)
            self.expect_hot(aggrs, *b0, what)

        what = 'fvaddr targets A and B'
        cfg = dict(self.cfg, pids=[self.a.pid, self.b.pid],
                   regions=[[a0], [b0]])
        t = self.commit(cfg, what)
        if t is not None:
            self.expect_within(self.aggregations(t, 5, what + ', A',
                                                 target=0), [a0],
                               what + ', A')
            self.expect_within(self.aggregations(t, 5, what + ', B',
                                                 target=1), [b0],
                               what + ', B')

        what = 'vaddr on A'
        cfg = dict(self.cfg, ops='vaddr', pids=[self.a.pid], regions=[[]],
                   min_nr=10, max_nr=100)
        t = self.commit(cfg, what)
        if t is not None:
            aggrs = self.aggregations(t, 5, what)
            idle = [a for a in aggrs if a.max_nr_accesses() == 0]
            dc.log('%s: %d of %d aggregations saw no access at all' %
                   (what, len(idle), len(aggrs)))
            for a in aggrs:
                self.expect(all(s < e for s, e, _, _ in a.regions) and
                            a.regions == sorted(a.regions),
                            '%s: bad regions in %r' % (what, a))

        what = 'vaddr pid_target switched from A to B'
        cfg = dict(self.cfg, pids=[self.b.pid])
        t = self.commit(cfg, what)
        if t is not None:
            # Let the regions adapt to B's hot buffer first.
            self.expect_hot(self.aggregations(t, 10, what, skip=10), *b0,
                            what)

    def intervals(self):
        b0 = self.b.buffers[0]
        what = 'fast intervals'
        cfg = dict(self.cfg, ops='fvaddr', pids=[self.b.pid],
                   regions=[[b0]], min_nr=3, max_nr=30, sample_us=5000,
                   aggr_us=100000)
        t = self.commit(cfg, what)
        if t is None:
            return
        fast = self.aggregations(t, 8, what)
        period = dc.percentile(dc.periods(fast), 50) or 0
        max_acc = max((a.max_nr_accesses() for a in fast), default=0)
        dc.log('%s: median aggregation period %.0f ms, max nr_accesses %d'
               % (what, period * 1000, max_acc))
        self.expect(period <= 0.5, '%s: median aggregation period %.0f ms,'
                    ' want about 100' % (what, period * 1000))
        self.expect(max_acc <= 20, '%s: nr_accesses %d > 20' %
                    (what, max_acc))

        what = 'slow intervals'
        cfg = dict(cfg, sample_us=100000, aggr_us=1000000)
        t = self.commit(cfg, what)
        if t is None:
            return
        slow = self.aggregations(t, 6, what)
        period = dc.percentile(dc.periods(slow), 50) or 0
        max_acc = max((a.max_nr_accesses() for a in slow), default=0)
        dc.log('%s: median aggregation period %.0f ms, max nr_accesses %d'
               % (what, period * 1000, max_acc))
        self.expect(0.8 <= period <= 3, '%s: median aggregation period '
                    '%.0f ms, want about 1000' % (what, period * 1000))
        self.expect(0 < max_acc <= 10, '%s: max nr_accesses %d, want 1..10'
                    ' (10 samples per aggregation)' % (what, max_acc))
        self.expect_within(slow, [b0], what)

    def run(self):
        if not self.start():
            return
        self.regions()
        self.bad_commits()
        self.targets()
        self.intervals()
        dc.turn_off(self, 'off', self.pid)


def main():
    dc.check_environment(need_tracefs=True)
    kmsg = dc.Kmsg()
    test = None
    tracer = a = b = None
    try:
        tracer = dc.Tracer('damon_sysfs_commit')
        a = dc.Workload(3, 4, [(0, None)])
        b = dc.Workload(1, 8, [(0, [0])])
        dc.log('A: pid %d, buffers %s; B: pid %d, buffer %s' % (
            a.pid, ['%x-%x' % r for r in a.buffers], b.pid,
            ['%x-%x' % r for r in b.buffers]))
        test = Test(tracer, a, b)
        test.run()
        dc.log('%d aggregations traced, %d lost-event markers, %d partial' %
               (len(tracer.aggrs), tracer.lost, tracer.partial))
    except (OSError, dc.SetupError, RuntimeError) as e:
        test = test or dc.Checker()
        test.fail('unexpected error: %s' % e)
    finally:
        dc.cleanup()
        for w in (a, b):
            if w:
                w.kill()
        if tracer:
            tracer.close()
    return test.finish(kmsg)


if __name__ == '__main__':
    sys.exit(main())
