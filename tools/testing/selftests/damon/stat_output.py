#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""DAMON_STAT's outputs: idle time percentiles and memory bandwidth.

damon_stat monitors all of physical memory with its intervals tuned for
4% of the possible access events.  Its read-only parameters:
memory_idle_ms_percentiles, 101 comma-separated idle times in ms of the
memory at percentiles 0..100 by size, and estimated_memory_bandwidth, in
bytes per second.  Every read, once a second, must give 101
non-negative, non-decreasing values and a non-negative bandwidth.

Three phases:

- idle, 10 s: the guest runs only this script.  The bandwidth read in
  the last 5 s is the idle one (their median); the highest idle time
  must be at most the time damon_stat ran (plus 5 s);
- busy, up to 60 s: mem_sweep sweeps a 256 MiB anonymous buffer for
  good.  The bandwidth must reach 4 times the idle one and at least
  32 MiB/s, and at that point at least 5% of memory must have an idle
  time of 0 (percentile 5 is 0): the buffer is an eighth of it;
- idle again, up to 60 s, the workload killed: the bandwidth must fall
  back under a quarter of the highest busy reading.

damon_stat is disabled at the end.
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

BUF_MIB = 256
IDLE_S = 10
IDLE_SAMPLES_S = 5
BUSY_DEADLINE = 60
CALM_DEADLINE = 60
BUSY_RATIO = 4
BUSY_MIN_BW = 32 * dc.MIB
BUSY_ZERO_PCT = 5


class Reader:
    """Reads the outputs and checks every reading's form."""

    def __init__(self, chk, mod):
        self.chk = chk
        self.mod = mod
        self.bad = 0

    def read(self, what):
        """(bandwidth, [percentiles]) or None for a malformed reading."""
        raw = self.mod.read('memory_idle_ms_percentiles')
        bw = self.mod.read('estimated_memory_bandwidth')
        try:
            pcts = [int(v) for v in raw.split(',')]
            bw = int(bw)
        except ValueError:
            pcts = None
        ok = (pcts is not None and len(pcts) == 101 and
              all(v >= 0 for v in pcts) and bw >= 0 and
              all(a <= b for a, b in zip(pcts, pcts[1:])))
        if not ok:
            self.bad += 1
            if self.bad <= 3:
                self.chk.fail('%s: malformed outputs: bandwidth %r, '
                              'percentiles %r' % (what, bw, raw))
            return None
        return bw, pcts


def fmt(reading):
    bw, pcts = reading
    return '%.1f MiB/s, idle ms p0 %d p5 %d p25 %d p50 %d p75 %d p100 %d' % (
        bw / dc.MIB, pcts[0], pcts[5], pcts[25], pcts[50], pcts[75],
        pcts[100])


def test(chk):
    mod, = dc.need(dc.STAT)
    for name in ('memory_idle_ms_percentiles', 'estimated_memory_bandwidth'):
        chk.expect(os.path.exists(mod.path(name)),
                   'no %s parameter' % name)
    reader = Reader(chk, mod)
    pid = mod.start(chk, 'on')
    if not pid:
        return
    t0 = time.monotonic()
    idle = []
    while time.monotonic() - t0 < IDLE_S:
        r = reader.read('idle')
        if r and time.monotonic() - t0 >= IDLE_S - IDLE_SAMPLES_S:
            idle.append(r)
            ran_ms = (time.monotonic() - t0 + 5) * 1000
            chk.expect(r[1][100] <= ran_ms, 'idle: the highest idle time '
                       '%d ms is longer than damon_stat ran (%d ms)' %
                       (r[1][100], ran_ms))
        time.sleep(1)
    if not chk.expect(idle, 'no reading while idle'):
        return
    dc.log('idle: %s' % fmt(idle[-1]))
    idle_bw = statistics.median(bw for bw, _ in idle)
    want = max(BUSY_RATIO * idle_bw, BUSY_MIN_BW)
    dc.log('idle bandwidth %.1f MiB/s; busy must reach %.1f MiB/s' %
           (idle_bw / dc.MIB, want / dc.MIB))

    workload = dc.MemSweep(['a%d' % BUF_MIB], [(0, [0])])
    try:
        t1 = time.monotonic()
        busy = None
        peak = 0
        while time.monotonic() - t1 < BUSY_DEADLINE:
            r = reader.read('busy')
            if r:
                peak = max(peak, r[0])
                if r[0] >= want:
                    busy = r
                    break
            time.sleep(1)
        if not chk.expect(busy, 'busy: the bandwidth peaked at %.1f MiB/s '
                          'in %d s, want %.1f MiB/s' % (
                              peak / dc.MIB, BUSY_DEADLINE, want / dc.MIB)):
            return
        dc.log('busy after %.1f s: %s' % (time.monotonic() - t1, fmt(busy)))
        chk.expect(busy[1][BUSY_ZERO_PCT] == 0,
                   'busy: percentile %d is %d ms, want 0: the swept '
                   'eighth of memory is not idle' % (
                       BUSY_ZERO_PCT, busy[1][BUSY_ZERO_PCT]))
        chk.expect(workload.alive(), 'the workload died')
    finally:
        workload.kill()

    t2 = time.monotonic()
    calm = None
    last = None
    while time.monotonic() - t2 < CALM_DEADLINE:
        r = reader.read('calm')
        if r:
            peak = max(peak, r[0])
            last = r
            if r[0] < peak / BUSY_RATIO:
                calm = r
                break
        time.sleep(1)
    chk.expect(calm, 'calm: the bandwidth is still %s %d s after the '
               'workload ended, want under a quarter of %.1f MiB/s' % (
                   fmt(last) if last else 'unread', CALM_DEADLINE,
                   peak / dc.MIB))
    if calm:
        dc.log('calm after %.1f s: %s' % (time.monotonic() - t2, fmt(calm)))
    mod.stop(chk, 'off', pid)


def main():
    if os.geteuid() != 0:
        dc.skip('needs root')
    return dc.run_modules(test, modules=(dc.STAT,))


if __name__ == '__main__':
    sys.exit(main())
