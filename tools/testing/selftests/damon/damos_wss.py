#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Working set size estimation through a DAMOS stat scheme.

The workload is wsse_accuracy's: access_memory maps 4 buffers of 16 MiB
and keeps writing to 2 of them (0 and 2), one byte every 4 KiB, so its
working set is 32 MiB.  A vaddr context monitors the whole process at
5 ms sampling and 100 ms aggregation, and a stat scheme matches the
regions with nr_accesses 1 or more: the bytes it tries in a pass are an
estimate of the working set, which update_schemes_tried_bytes puts in
tried_regions/total_bytes.

After a warm-up of 3 s (30 aggregations, for the regions to adapt from
their even initial split), 25 estimates are read one after the other;
their 50th and 75th percentiles must each be within 20% of 32 MiB.  The
rest of the process (text, libraries, stack) is touched too, but only a
few pages of it.
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
WARMUP_S = 3
NR_ESTIMATES = 25


def test(chk):
    workload = dc.Workload(NR_BUFFERS, BUFFER_MIB, [(0, HOT)])
    try:
        for i, (start, end) in enumerate(workload.buffers):
            dc.log('buffer %d: 0x%x-0x%x%s' % (i, start, end,
                                              ' (hot)' if i in HOT else ''))
        dc.build(dc.config([workload.pid]),
                 [dc.scheme(nr_accesses=(1, dc.UINT_MAX))])
        if not dc.turn_on(chk, 'on'):
            return
        time.sleep(WARMUP_S)
        t0 = time.monotonic()
        estimates = [dc.tried_bytes(0) for _ in range(NR_ESTIMATES)]
        took = time.monotonic() - t0
        chk.expect(workload.alive(), 'the workload died')

        dc.log('%d estimates in %.1f s (MiB): %s' % (
            len(estimates), took,
            ' '.join('%.1f' % (w / dc.MIB) for w in estimates)))
        dc.log('truth: %.1f MiB' % (TRUTH / dc.MIB))
        for pct in (25, 50, 75, 90):
            val = dc.percentile(estimates, pct)
            dc.log('p%d: %.1f MiB (%+.1f%%)' % (pct, val / dc.MIB,
                                                (val / TRUTH - 1) * 100))
        for pct in (50, 75):
            val = dc.percentile(estimates, pct)
            chk.expect(abs(val - TRUTH) <= TOLERANCE * TRUTH,
                       'p%d %.1f MiB is not within %d%% of %.1f MiB' %
                       (pct, val / dc.MIB, TOLERANCE * 100, TRUTH / dc.MIB))
    finally:
        dc.cleanup()
        workload.kill()


if __name__ == '__main__':
    sys.exit(dc.run(test))
