#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The prcl sample (damon_sample_prcl) reclaims a process's cold memory.

With swap on zram (set up here unless some swap is on already), mem_sweep
maps a cold 128 MiB anonymous buffer, written once and then left alone,
and a hot 64 MiB one that it sweeps for good, flushing its TLB after each
sweep so that the emulated CPU does not hide its accesses.  The sample is
pointed at it with target_pid and enable Y; it pages out what was not
accessed for 5 s.  Residency per buffer is read from /proc/<pid>/pagemap,
the process's RSS from /proc/<pid>/status.

- enable reads Y, and one new kdamond runs;
- within 120 s at most half of the cold buffer is still resident, and the
  process's RssAnon dropped by at least a third of the cold buffer;
- the hot buffer stays at least 90% resident at each of 5 looks, 1 s
  apart, after that, and the workload's major faults over the run stay
  under 10% of the hot buffer's pages;
- after the aggregations in which its scheme was applied, the sample logs
  how much memory it was applied to, in all, and how much of the process
  is resident: the total reaches at least 90% of what the cold buffer
  lost (memory paged out is counted, and counted again whenever its
  region is found cold again), and the lowest resident size logged is at
  least RssAnon's drop below VmRSS before the run, give or take 4 MiB;
- enable N stops it: enable reads N and the kdamond is gone.

The sample's own life cycle: a pid no process has is refused with EINVAL
(enable stays N, no kdamond); when the process exits, the kdamond stops
by itself and enable reads N.
"""

import errno
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

COLD_MIB = 128
HOT_MIB = 64

COLD_DEADLINE = 120     # s for the cold buffer to shrink
COLD_MAX_RESIDENT = 0.5
RSS_MIN_DROP = COLD_MIB * dc.MIB // 3
HOT_MIN_RESIDENT = 0.9
HOT_LOOKS = 5
HOT_MAX_MAJFLT = 0.1    # share of the hot buffer's pages
LOG_MIN_SHARE = 0.9     # of the cold buffer's drop
LOG_TIMEOUT = 20        # s for the log to catch up with the drop
RSS_SLACK = 4 * dc.MIB  # pages the process faults in meanwhile
START_TIMEOUT = 10      # s for the kdamond to show up

LOG_RE = re.compile(r'damon_sample_prcl: pageout applied to (\d+) bytes '
                    r'\((\d+) in all\), (\d+) bytes resident')


def status_kib(pid, field):
    """A field of /proc/<pid>/status, in bytes."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    return 0


def rss(pid):
    return {f: status_kib(pid, f) for f in ('VmRSS', 'RssAnon', 'VmSwap')}


def fmt_rss(vals):
    return ', '.join('%s %.1f MiB' % (f, v / dc.MIB)
                     for f, v in vals.items())


class Sample(dc.Module):
    """damon_sample_prcl, through its parameters as dc.Module drives the
    DAMON modules, but for its switch, enable, and its kdamond, which no
    parameter shows: it is told apart from those that ran before."""

    def __init__(self):
        super().__init__('damon_sample_prcl')
        self.baseline = set(dc.kdamonds())

    def available(self):
        return os.path.isfile(self.path('enable'))

    def enabled(self):
        return self.read('enable') == 'Y'

    def new_kdamonds(self):
        return [p for p in dc.kdamonds() if p not in self.baseline]

    def start(self, chk, what, pid):
        """Point the sample at pid and enable it; return its kdamond's
        pid or None."""
        self.must_write('target_pid', pid)
        err = self.write('enable', 'Y')
        if not chk.expect(err == 0, '%s: enable Y failed with %s' %
                          (what, dc.errno_name(err))):
            return None
        chk.expect(self.enabled(), '%s: enable reads %s after Y' %
                   (what, self.read('enable')))
        new = dc.wait_for(self.new_kdamonds, START_TIMEOUT)
        if not chk.expect(len(new) == 1, '%s: want one new kdamond, have '
                          '%s' % (what, new)):
            return None
        return new[0]

    def expect_stopped(self, chk, what, kdamond, timeout=dc.STOP_TIMEOUT):
        chk.expect(dc.wait_for(lambda: not dc.is_kdamond(kdamond),
                               timeout),
                   '%s: kdamond %d still there after %d s' %
                   (what, kdamond, timeout))
        chk.expect(self.read('enable') == 'N', '%s: enable reads %s, not '
                   'N' % (what, self.read('enable')))

    def stop(self, chk, what, kdamond):
        err = self.write('enable', 'N')
        chk.expect(err == 0, '%s: enable N failed with %s' %
                   (what, dc.errno_name(err)))
        self.expect_stopped(chk, what, kdamond)

    def cleanup(self):
        """Leave the sample disabled, whatever happened."""
        if self.available() and self.read('enable') != 'N':
            self.write('enable', 'N')


def logged(kmsg):
    """What the sample logged so far: [(applied, in all, resident)]."""
    kmsg.read()
    return [tuple(int(x) for x in m.groups()) for m in
            (LOG_RE.search(t) for _, t in kmsg.all) if m]


def logged_total(kmsg):
    lines = logged(kmsg)
    return lines[-1][1] if lines else 0


def reclaim(chk, sample, kmsg):
    what = 'reclaim'
    workload = dc.MemSweep(['a%d' % COLD_MIB, 'a%d' % HOT_MIB],
                           [(0, [1])])
    try:
        flt0 = dc.majflt(workload.pid)
        rss0 = rss(workload.pid)
        dc.log('%s: before: %s' % (what, fmt_rss(rss0)))
        kdamond = sample.start(chk, what, workload.pid)
        if not kdamond:
            return
        t0 = time.monotonic()
        gone = dc.wait_for(
            lambda: workload.residency(0)[0] <= COLD_MAX_RESIDENT,
            COLD_DEADLINE, 1)
        took = time.monotonic() - t0
        present, swapped = workload.residency(0)
        rss1 = rss(workload.pid)
        dc.log('%s: after %.1f s: cold buffer %.1f%% resident, %.1f%% '
               'swapped; %s' % (what, took, present * 100, swapped * 100,
                                fmt_rss(rss1)))
        chk.expect(gone, '%s: the cold buffer is still %.1f%% resident '
                   'after %d s, want at most %.0f%%' % (
                       what, present * 100, COLD_DEADLINE,
                       COLD_MAX_RESIDENT * 100))
        drop = rss0['RssAnon'] - rss1['RssAnon']
        chk.expect(drop >= RSS_MIN_DROP,
                   '%s: RssAnon dropped by %.1f MiB, want at least %.1f '
                   'MiB' % (what, drop / dc.MIB, RSS_MIN_DROP / dc.MIB))

        looks = []
        for _ in range(HOT_LOOKS):
            looks.append(workload.residency(1)[0])
            time.sleep(1)
        dc.log('%s: hot buffer resident: %s' % (
            what, ', '.join('%.1f%%' % (p * 100) for p in looks)))
        chk.expect(min(looks) >= HOT_MIN_RESIDENT,
                   '%s: the hot buffer dropped to %.1f%% resident, want at '
                   'least %.0f%%' % (what, min(looks) * 100,
                                     HOT_MIN_RESIDENT * 100))
        faults = dc.majflt(workload.pid) - flt0
        hot_pages = HOT_MIB * dc.MIB // dc.PAGE_SIZE
        dc.log('%s: %d major faults in the workload' % (what, faults))
        chk.expect(faults <= HOT_MAX_MAJFLT * hot_pages,
                   '%s: the workload took %d major faults, more than '
                   '%.0f%% of the hot buffer\'s pages' % (
                       what, faults, HOT_MAX_MAJFLT * 100))

        dropped = (1 - workload.residency(0)[0]) * COLD_MIB * dc.MIB
        dc.wait_for(lambda: logged_total(kmsg) >= LOG_MIN_SHARE * dropped,
                    LOG_TIMEOUT, 1)
        lines = logged(kmsg)
        total = logged_total(kmsg)
        lowest = min((r for _, _, r in lines), default=None)
        dc.log('%s: %d log lines, pageout applied to %.1f MiB in all, '
               'lowest resident %s; the cold buffer lost %.1f MiB' % (
                   what, len(lines), total / dc.MIB,
                   '-' if lowest is None else
                   '%.1f MiB' % (lowest / dc.MIB), dropped / dc.MIB))
        chk.expect(total >= LOG_MIN_SHARE * dropped,
                   '%s: the sample logged pageout applied to %.1f MiB, '
                   'less than %.0f%% of the %.1f MiB the cold buffer lost'
                   % (what, total / dc.MIB, LOG_MIN_SHARE * 100,
                      dropped / dc.MIB))
        most = rss0['VmRSS'] - drop + RSS_SLACK
        chk.expect(lowest is not None and lowest <= most,
                   '%s: the lowest resident size logged is %s, want at '
                   'most %.1f MiB' % (
                       what, '-' if lowest is None else
                       '%.1f MiB' % (lowest / dc.MIB), most / dc.MIB))
        chk.expect(workload.alive(), '%s: the workload died' % what)
        sample.stop(chk, what, kdamond)
    finally:
        sample.cleanup()
        workload.kill()


def life_cycle(chk, sample):
    what = 'unused pid'
    sample.must_write('target_pid', dc.unused_pid())
    chk.expect_errno(sample.write('enable', 'Y'), errno.EINVAL,
                     '%s: enable Y' % what)
    chk.expect(sample.read('enable') == 'N', '%s: enable reads %s' %
               (what, sample.read('enable')))
    time.sleep(1)
    chk.expect(not sample.new_kdamonds(), '%s: a kdamond runs: %s' %
               (what, sample.new_kdamonds()))
    sample.cleanup()

    what = 'process exits'
    workload = dc.MemSweep(['a4'], [(0, [0])])
    try:
        kdamond = sample.start(chk, what, workload.pid)
    finally:
        workload.kill()
    if kdamond:
        t0 = time.monotonic()
        sample.expect_stopped(chk, what, kdamond, dc.EXIT_TIMEOUT)
        dc.log('%s: kdamond gone %.1f s after the process' %
               (what, time.monotonic() - t0))
    # Writing N to what stopped by itself is fine.
    chk.expect(sample.write('enable', 'N') == 0, '%s: enable N failed' %
               what)
    sample.cleanup()


def test(chk):
    sample = Sample()
    if not sample.available():
        dc.skip('needs CONFIG_SAMPLE_DAMON_PRCL (no %s)' % sample.dir)
    if sample.read('enable') != 'N':
        dc.skip('damon_sample_prcl is enabled already')
    kmsg = dc.Kmsg()
    swap = dc.Swap('512M')
    try:
        reclaim(chk, sample, kmsg)
        life_cycle(chk, sample)
    finally:
        sample.cleanup()
        swap.close()
        kmsg.close()


def main():
    return dc.run_modules(test, modules=())


if __name__ == '__main__':
    sys.exit(main())
