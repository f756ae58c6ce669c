#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The wsse sample (damon_sample_wsse) estimates a working set size.

access_memory maps 4 buffers of 16 MiB and keeps writing to 2 of them (0
and 2, which are not adjacent), one byte every 4 KiB, so its working set
is 32 MiB.  damon_sample_wsse monitors it and logs an estimate per
aggregation interval (100 ms), from a damon_call() repeated after each
aggregation.  After a warm-up of 30 aggregations, the 50th and the 75th
percentile of the next 100 estimates must each be within 20% of 32 MiB.

Each estimate must be exactly what the damon_aggregated tracepoint
reports for the same aggregation (the bytes of its regions with
nr_accesses > 0), as the sample's function runs right before the
tracepoint, on the same regions: at least 90% of the estimates match the
traced aggregations one for one, in order (lost trace events may break a
few).  That part needs tracefs and no other kdamond, and is skipped
otherwise.  Monitoring itself is tested through the sysfs ABI, by
damon_aggregated_trace.py.

The rest of the process (text, libraries, stack) is touched too, but only
a few pages of it: far below the tolerance.  For the truth to be the
whole buffers, every page of them must be written within one sampling
interval (5 ms).  Under emulation (QEMU TCG) a sweep over 32 MiB, TLB
flush included (see access_memory.c), takes about 2 ms; it is measured
first and reported.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

NR_BUFFERS = 4
BUFFER_MIB = 16
HOT = [0, 2]
TRUTH = len(HOT) * BUFFER_MIB * dc.MIB
TOLERANCE = 0.2
SAMPLE_US = 5000
WARMUP_AGGRS = 30          # 3 s at 100 ms
WANT_ESTIMATES = 100       # 10 s at 100 ms
MEASURE_MAX_S = 40         # emulation may be slower
MIN_ESTIMATES = 40
TRACE_MIN_MATCH = 0.9


def traced_wss(tracer):
    """The working set of each whole aggregation traced, in order."""
    return [sum(e - s for s, e, acc, _ in a.regions if acc > 0)
            for a in tracer.since(0) if a.target == 0]


def best_match(logged, traced):
    """How many of logged equal traced one for one, at the best offset."""
    best = 0
    for k in range(-len(logged), len(traced)):
        best = max(best, sum(1 for i, v in enumerate(logged)
                             if 0 <= i + k < len(traced) and
                             traced[i + k] == v))
    return best


def start_tracer():
    """A tracer of damon_aggregated, or None (and why) if the events
    could not be told apart or seen."""
    if dc.kdamonds():
        return None, 'other kdamonds run: %s' % dc.kdamonds()
    if not os.path.isdir(os.path.join(dc.TRACING, dc.AGGREGATED)) or \
            not os.path.isdir(os.path.join(dc.TRACING, 'instances')):
        return None, 'no tracefs with damon_aggregated and instances'
    return dc.Tracer('wsse_accuracy'), None


def main():
    dc.check_wsse_environment()
    kmsg = dc.Kmsg()
    # Phase 0 only measures the sweep; phase 1 runs until killed.
    workload = dc.Workload(NR_BUFFERS, BUFFER_MIB, [(2000, HOT), (0, HOT)])
    fails = []
    tracer = None
    try:
        tracer, why_not = start_tracer()
        for i, (start, end) in enumerate(workload.buffers):
            dc.log('buffer %d: 0x%x-0x%x%s' % (i, start, end,
                                              ' (hot)' if i in HOT else ''))
        sweep = workload.phase_stats(0, 60)
        if not sweep:
            dc.log('FAIL: the workload did not report its sweep time')
            return dc.KSFT_FAIL
        dc.log('sweep of the %d MiB working set: %d sweeps in 2 s, '
               'min %d us, avg %d us, max %d us' %
               (TRUTH // dc.MIB, sweep['sweeps'], sweep['min_us'],
                sweep['avg_us'], sweep['max_us']))
        if sweep['avg_us'] > SAMPLE_US:
            dc.log('note: a sweep takes longer than a sampling interval '
                   '(%d us); a sampled page may go untouched in it' %
                   SAMPLE_US)

        if dc.write_param('target_pid', workload.pid):
            dc.log('FAIL: cannot set target_pid')
            return dc.KSFT_FAIL
        err = dc.write_param('enable', 'Y')
        if err:
            dc.log('FAIL: enabling the sample failed with %s' %
                   dc.errno_name(err))
            return dc.KSFT_FAIL

        # Warm up: the regions adapt from their initial, even split.
        estimates = []
        deadline = time.monotonic() + 60
        while len(estimates) < WARMUP_AGGRS and time.monotonic() < deadline:
            estimates += dc.parse_wss(kmsg.read(1))
        if len(estimates) < WARMUP_AGGRS:
            dc.log('FAIL: only %d estimates in 60 s' % len(estimates))
            return dc.KSFT_FAIL
        warmup = estimates
        estimates = []
        t0 = time.monotonic()
        while (len(estimates) < WANT_ESTIMATES and
               time.monotonic() - t0 < MEASURE_MAX_S):
            estimates += dc.parse_wss(kmsg.read(1))
        elapsed = time.monotonic() - t0
        alive = workload.alive()
        dc.write_param('enable', 'N')
        # What was logged between the last read and the stop.
        late = dc.parse_wss(kmsg.read(1))

        dc.log('warm-up estimates (MiB): %s' %
               ' '.join('%.1f' % (w / dc.MIB) for w in warmup))
        dc.log('estimates (MiB): %s' %
               ' '.join('%.1f' % (w / dc.MIB) for w in estimates))
        if not alive:
            fails.append('the workload exited early')
        if len(estimates) < MIN_ESTIMATES:
            fails.append('only %d estimates in %.1f s (want >= %d)' %
                         (len(estimates), elapsed, MIN_ESTIMATES))
        dc.log('%d estimates in %.1f s: %.0f ms per aggregation' %
               (len(estimates), elapsed,
                elapsed * 1000 / max(len(estimates), 1)))
        if estimates:
            dc.log('truth: %.1f MiB' % (TRUTH / dc.MIB))
            for pct in (25, 50, 75, 90):
                dc.log('p%d: %.1f MiB (%+.1f%%)' % (
                    pct, dc.percentile(estimates, pct) / dc.MIB,
                    (dc.percentile(estimates, pct) / TRUTH - 1) * 100))
            dc.log('min %.1f MiB, max %.1f MiB' %
                   (min(estimates) / dc.MIB, max(estimates) / dc.MIB))
            for pct in (50, 75):
                val = dc.percentile(estimates, pct)
                if abs(val - TRUTH) > TOLERANCE * TRUTH:
                    fails.append('p%d %.1f MiB is not within %d%% of '
                                 '%.1f MiB' % (pct, val / dc.MIB,
                                               TOLERANCE * 100,
                                               TRUTH / dc.MIB))
        logged = warmup + estimates + late
        if tracer:
            time.sleep(1)
            traced = traced_wss(tracer)
            matched = best_match(logged, traced)
            dc.log('%d of %d estimates match the %d traced aggregations' %
                   (matched, len(logged), len(traced)))
            if matched < TRACE_MIN_MATCH * len(logged):
                fails.append('only %d of %d estimates are what the '
                             'tracepoint reports' % (matched, len(logged)))
        else:
            dc.log('estimates against the tracepoint: not checked, %s' %
                   why_not)
        splats = kmsg.splats()
        if splats:
            fails.append('kernel splat: %s' % splats[0])
    finally:
        dc.stop_sample()
        workload.kill()
        kmsg.close()
        if tracer:
            tracer.close()

    for f in fails:
        dc.log('FAIL: ' + f)
    if fails:
        return dc.KSFT_FAIL
    dc.log('PASS')
    return dc.KSFT_PASS


if __name__ == '__main__':
    sys.exit(main())
