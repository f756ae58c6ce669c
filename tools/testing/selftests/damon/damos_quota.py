#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The size quota of a DAMOS scheme.

access_memory maps 4 buffers of 16 MiB and sweeps two of them; an fvaddr
context monitors the 4 buffers (64 MiB) with 5 ms sampling and 100 ms
aggregation.  Two stat schemes match every region:

- scheme 0 has a size quota of 1 MiB per 100 ms window;
- scheme 1 has no quota: it tries all 64 MiB at each of its passes, so
  its sz_tried counts the passes both make (they share the apply
  interval).

Over a span of at least 20 passes (T seconds) after a warm-up, read with
update_schemes_stats:

- scheme 0's sz_tried grows (by at least 1 MiB), and by no more than
  (T / 0.1 + 2) MiB, nor than (passes + 2) MiB: a window starts at a pass,
  and the first and the last window may straddle the span's edges;
- its qt_exceeds grows, and not by more than the bytes tried allow:
  sz_tried grows by at least (qt_exceeds growth - 1) MiB, each window
  counted having charged its whole quota;
- no region it tried is bigger than 1 MiB: nr_tried grows by at least
  the sz_tried growth divided by 1 MiB;
- neither scheme applies anything (stat), and with no filter
  sz_ops_filter_passed (6.14) grows as sz_tried.

Where the kernel has the damos_before_apply tracepoint, read in a trace
instance of the test's own with the monotonic clock, it shows the same
from the inside: scheme 0's events come in bursts, one per apply pass
that tried something (passes are at least one aggregation, 100 ms, apart;
the events of a pass microseconds), and no burst tries more than 1 MiB,
nor any region above 1 MiB; the bursts add up to the sz_tried growth,
within 2 MiB.  Bursts are told apart by a gap of 30 ms: should the host
stretch a pass, it splits into smaller bursts, which only lowers their
sums.

Then the aggregation interval is committed to 200 ms, so that every pass
opens a new window, and the trace shows where windows start: where two
consecutive passes of scheme 0 both tried something, they tried
different bytes when the first ran out of quota.  A new window starts
where the last one ran out (so upstream does), so that no 1 MiB of the
swept buffers, whose regions are about as hot as each other, is tried
window after window while the rest waits.  Scheme 1's events, which
follow scheme 0's in every pass, tell which pass scheme 0's belong to; a
pass where scheme 0 tried nothing breaks the pair.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

NR_BUFFERS = 4
BUFFER_MIB = 16
HOT = [0, 2]
QUOTA = dc.MIB
RESET_MS = 100
WARMUP_S = 1.5
SPAN_PASSES = 20        # measure over this many passes
SPAN_TIMEOUT_S = 30
PASS_GAP_S = 0.03
MIN_BURSTS = 3
SLOW_AGGR_US = 200000   # two windows: a new window at every pass
RESUME_PASSES = 12
MIN_PAIRS = 3


class Test:

    def __init__(self, chk, workload):
        self.chk = chk
        self.workload = workload
        self.monitored = sorted(workload.buffers)
        self.total = sum(e - s for s, e in self.monitored)
        self.cfg = dc.config([workload.pid], ops='fvaddr',
                             regions=[self.monitored])
        self.tracer = None

    def span(self, nr_passes):
        """Stats before and after at least nr_passes passes, and when
        they were read."""
        before = dc.stats(2)
        t0 = time.monotonic()

        def enough():
            st = dc.stats(2)
            done = st[1]['sz_tried'] - before[1]['sz_tried']
            return st if done >= nr_passes * self.total else None

        after = dc.wait_for(enough, SPAN_TIMEOUT_S, 0.5) or dc.stats(2)
        t1 = time.monotonic()
        d = [{k: after[i][k] - before[i][k] for k in dc.STATS
              if after[i][k] is not None} for i in range(2)]
        return d, t0, t1

    def events(self, t0, t1):
        """The events between t0 and t1, or None if there are none to
        trust."""
        if not self.tracer:
            return None
        # Let the reader catch up.
        time.sleep(0.5)
        if self.tracer.lost:
            dc.log('note: the trace lost events %d times; skipping the '
                   'trace checks' % self.tracer.lost)
            return None
        self.chk.expect(not self.tracer.unparsed, 'damos_before_apply lines '
                        'that do not parse, e.g. %r' %
                        (self.tracer.unparsed[:1],))
        return self.tracer.between(t0, t1)

    def run(self):
        chk = self.chk
        dc.build(self.cfg, [dc.scheme(quota_bytes=QUOTA,
                                      reset_interval_ms=RESET_MS),
                            dc.scheme()])
        if dc.ApplyTracer.available():
            self.tracer = dc.ApplyTracer('damos_quota_selftest')
        else:
            dc.log('note: no damon:damos_before_apply event; checking the '
                   'stats only')
        if not dc.turn_on(chk, 'on'):
            return
        time.sleep(WARMUP_S)
        d, t0, t1 = self.span(SPAN_PASSES)
        self.check_stats(d, t1 - t0)
        events = self.events(t0, t1)
        if events is not None:
            self.check_bursts(events, d[0]['sz_tried'])

        if not self.tracer:
            return
        dc.must_write(os.path.join(dc.INTERVALS, 'aggr_us'), SLOW_AGGR_US)
        dc.command('commit')
        # Let the aggregation in progress end.
        time.sleep(2 * SLOW_AGGR_US / 1e6)
        _, t0, t1 = self.span(RESUME_PASSES)
        events = self.events(t0, t1)
        if events is not None:
            self.check_resume(events)
        chk.expect(self.workload.alive(), 'the workload died')

    def check_stats(self, d, span):
        chk = self.chk
        dc.log('over %.2f s: quota scheme %s' % (span, d[0]))
        dc.log('over %.2f s: unlimited scheme %s' % (span, d[1]))
        nr_passes = round(d[1]['sz_tried'] / self.total)
        dc.log('%d passes (%.1f per second), %.2f MiB tried by the quota '
               'scheme' % (nr_passes, nr_passes / span,
                           d[0]['sz_tried'] / dc.MIB))
        chk.expect(nr_passes >= SPAN_PASSES,
                   'only %d passes of the schemes in %.1f s, want >= %d' %
                   (nr_passes, span, SPAN_PASSES))

        sz = d[0]['sz_tried']
        by_time = (span / (RESET_MS / 1000) + 2) * QUOTA
        by_passes = (nr_passes + 2) * QUOTA
        chk.expect(sz >= QUOTA, 'the quota scheme tried only %d bytes in '
                   '%.1f s' % (sz, span))
        chk.expect(sz <= by_time, 'the quota scheme tried %.2f MiB in %.2f '
                   's, more than %.2f MiB (1 MiB per %d ms window, + 2)' %
                   (sz / dc.MIB, span, by_time / dc.MIB, RESET_MS))
        chk.expect(sz <= by_passes, 'the quota scheme tried %.2f MiB in %d '
                   'passes, more than %d MiB (1 MiB per window, a window '
                   'per pass at most, + 2)' % (sz / dc.MIB, nr_passes,
                                               by_passes // dc.MIB))
        qt = d[0]['qt_exceeds']
        chk.expect(qt >= 1, 'qt_exceeds did not grow in %.1f s' % span)
        chk.expect(sz >= (qt - 1) * QUOTA,
                   'qt_exceeds grew by %d but only %.2f MiB were tried: '
                   'windows counted without their quota charged' %
                   (qt, sz / dc.MIB))
        chk.expect(d[0]['nr_tried'] * QUOTA >= sz,
                   '%d regions tried for %.2f MiB: some above the 1 MiB '
                   'quota' % (d[0]['nr_tried'], sz / dc.MIB))
        for i in range(2):
            chk.expect(d[i]['nr_applied'] == 0 and d[i]['sz_applied'] == 0,
                       'scheme %d (stat) applied something: %s' % (i, d[i]))
            chk.expect(d[i].get('sz_ops_filter_passed', d[i]['sz_tried']) ==
                       d[i]['sz_tried'], 'scheme %d has no filter, but '
                       'sz_ops_filter_passed is not sz_tried: %s' % (i, d[i]))

    def check_bursts(self, events, sz_tried):
        chk = self.chk
        mine = [e for e in events if e.scheme == 0]
        bursts = dc.passes(mine, PASS_GAP_S)
        sums = [sum(e.size() for e in b) for b in bursts]
        big = [e for e in mine if e.size() > QUOTA]
        dc.log('trace: %d events of the quota scheme in %d bursts; bytes '
               'per burst: min %d, max %d' % (len(mine), len(bursts),
                                              min(sums, default=0),
                                              max(sums, default=0)))
        chk.expect(len(bursts) >= MIN_BURSTS, 'only %d bursts of '
                   'damos_before_apply for the quota scheme' % len(bursts))
        over = [(b[0].ts, s) for b, s in zip(bursts, sums) if s > QUOTA]
        chk.expect(not over, '%d passes of the quota scheme tried more than '
                   '1 MiB, e.g. %d bytes at %.3f' % (
                       len(over), over[0][1] if over else 0,
                       over[0][0] if over else 0))
        chk.expect(not big, '%d regions above 1 MiB tried, e.g. %x-%x' % (
            len(big), big[0].start if big else 0, big[0].end if big else 0))
        # The trace covers about the span of the stats: a pass either way.
        traced = sum(sums)
        chk.expect(abs(traced - sz_tried) <= 2 * QUOTA,
                   'the trace shows %.2f MiB tried, the stats %.2f MiB' %
                   (traced / dc.MIB, sz_tried / dc.MIB))

    def check_resume(self, events):
        """Consecutive passes of scheme 0, each a new window, do not try
        the same bytes."""
        quota = sorted((e for e in events if e.scheme == 0),
                       key=lambda e: e.ts)
        # Scheme 1 tries every region at each pass, right after scheme 0.
        marks = dc.passes([e for e in events if e.scheme == 1], PASS_GAP_S)
        tried = []
        i = 0
        for mark in marks:
            ranges = []
            while i < len(quota) and quota[i].ts <= mark[0].ts:
                ranges.append((quota[i].start, quota[i].end))
                i += 1
            tried.append(ranges)
        pairs = 0
        again = []
        for j in range(1, len(tried)):
            prev, cur = tried[j - 1], tried[j]
            # Only a window that ran out says where the next one starts.
            if sum(e - s for s, e in prev) < QUOTA or not cur:
                continue
            pairs += 1
            if sum(dc.covered(prev, s, e) for s, e in cur):
                again.append((j, prev, cur))
        dc.log('trace at %d ms aggregations: %d passes, %d of them tried '
               'something, %d pairs of consecutive ones (the first running '
               'out), %d pairs tried the same bytes' % (
                   SLOW_AGGR_US // 1000, len(tried),
                   sum(1 for t in tried if t), pairs, len(again)))
        for j, prev, cur in again[:3]:
            dc.log('  passes %d and %d tried %s and %s' % (
                j - 1, j, ' '.join('%x-%x' % r for r in prev),
                ' '.join('%x-%x' % r for r in cur)))
        if pairs < MIN_PAIRS:
            dc.log('note: too few pairs to tell where windows start')
        self.chk.expect(not again, '%d of %d pairs of consecutive windows '
                        'tried the same bytes: a new window is to start '
                        'where the last one ran out' % (len(again), pairs))


def test(chk):
    workload = dc.Workload(NR_BUFFERS, BUFFER_MIB, [(0, HOT)])
    t = Test(chk, workload)
    try:
        t.run()
    finally:
        dc.cleanup()
        if t.tracer:
            t.tracer.close()
        workload.kill()


if __name__ == '__main__':
    sys.exit(dc.run(test))
