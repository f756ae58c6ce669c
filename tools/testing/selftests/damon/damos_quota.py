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
- scheme 1 tries a whole number of passes over the 64 MiB;
- neither applies anything (stat).

Where the kernel has the damos_before_apply tracepoint, read in a trace
instance of the test's own with the monotonic clock, it shows the same
from the inside: scheme 0's events come in bursts, one per apply pass
that tried something (passes are at least one aggregation, 100 ms, apart;
the events of a pass microseconds), and no burst tries more than 1 MiB,
nor any region above 1 MiB; the bursts add up to the sz_tried growth,
within 2 MiB.  Bursts are told apart by a gap of 30 ms: should the host
stretch a pass, it splits into smaller bursts, which only lowers their
sums.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sysfs_common as sc   # noqa: E402
import damos_common as dc   # noqa: E402

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


def test(chk):
    tracer = None
    workload = sc.Workload(NR_BUFFERS, BUFFER_MIB, [(0, HOT)])
    try:
        monitored = sorted(workload.buffers)
        total = sum(e - s for s, e in monitored)
        cfg = sc.config([workload.pid], ops='fvaddr', regions=[monitored])
        dc.build(cfg, [dc.scheme(quota_bytes=QUOTA,
                                 reset_interval_ms=RESET_MS),
                       dc.scheme()])
        if dc.ApplyTracer.available():
            tracer = dc.ApplyTracer('damos_quota_selftest')
        else:
            sc.log('note: no damon:damos_before_apply event; checking the '
                   'stats only')
        if not sc.turn_on(chk, 'on'):
            return
        time.sleep(WARMUP_S)
        before = dc.stats(2)
        t0 = time.monotonic()

        def enough():
            st = dc.stats(2)
            done = st[1]['sz_tried'] - before[1]['sz_tried']
            return st if done >= SPAN_PASSES * total else None

        time.sleep(SPAN_PASSES * 0.1)
        after = sc.wait_for(enough, SPAN_TIMEOUT_S, 0.5) or dc.stats(2)
        t1 = time.monotonic()
        span = t1 - t0
        # Let the reader catch up with the events of the span.
        time.sleep(0.5)
        events = tracer.between(t0, t1) if tracer else None
        chk.expect(workload.alive(), 'the workload died')

        d = [{k: after[i][k] - before[i][k] for k in dc.STATS
              if after[i][k] is not None} for i in range(2)]
        sc.log('over %.2f s: quota scheme %s' % (span, d[0]))
        sc.log('over %.2f s: unlimited scheme %s' % (span, d[1]))
        nr_passes = d[1]['sz_tried'] // total
        sc.log('%d passes (%.1f per second), %.2f MiB tried by the quota '
               'scheme' % (nr_passes, nr_passes / span,
                           d[0]['sz_tried'] / dc.MIB))

        chk.expect(d[1]['sz_tried'] % total == 0,
                   'the unlimited scheme tried %d bytes, not a multiple of '
                   'the %d monitored' % (d[1]['sz_tried'], total))
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

        if tracer:
            check_trace(chk, tracer, events, sz)
    finally:
        sc.cleanup()
        if tracer:
            tracer.close()
        workload.kill()


def check_trace(chk, tracer, events, sz_tried):
    chk.expect(not tracer.unparsed, 'damos_before_apply lines that do not '
               'parse, e.g. %r' % (tracer.unparsed[:1],))
    if tracer.lost:
        sc.log('note: the trace lost events %d times; skipping the trace '
               'checks' % tracer.lost)
        return
    mine = [e for e in events if e.scheme == 0]
    bursts = dc.passes(mine, PASS_GAP_S)
    sums = [sum(e.size() for e in b) for b in bursts]
    big = [e for e in mine if e.size() > QUOTA]
    sc.log('trace: %d events of the quota scheme in %d bursts; bytes per '
           'burst: min %d, max %d' % (len(mine), len(bursts),
                                      min(sums, default=0),
                                      max(sums, default=0)))
    chk.expect(len(bursts) >= MIN_BURSTS,
               'only %d bursts of damos_before_apply for the quota scheme'
               % len(bursts))
    over = [(b[0].ts, s) for b, s in zip(bursts, sums) if s > QUOTA]
    chk.expect(not over, '%d passes of the quota scheme tried more than 1 '
               'MiB, e.g. %d bytes at %.3f' % (
                   len(over), over[0][1] if over else 0,
                   over[0][0] if over else 0))
    chk.expect(not big, '%d regions above 1 MiB tried, e.g. %x-%x' % (
        len(big), big[0].start if big else 0, big[0].end if big else 0))
    # The trace covers about the span of the stats: two passes either way.
    traced = sum(sums)
    chk.expect(abs(traced - sz_tried) <= 2 * QUOTA,
               'the trace shows %.2f MiB tried, the stats %.2f MiB' %
               (traced / dc.MIB, sz_tried / dc.MIB))


if __name__ == '__main__':
    sys.exit(dc.run(test))
