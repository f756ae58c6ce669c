#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The apply interval of DAMOS schemes.

access_memory sweeps one of two 8 MiB buffers; an fvaddr context monitors
both with 5 ms sampling and 100 ms aggregation.  Two stat schemes match
every region: scheme 0 with apply_interval_us 10000, scheme 1 with 0
(the aggregation interval).  Both intervals are counted in samples, so
scheme 0 makes 10 passes for each of scheme 1's however slow the guest
is.  Each pass of either tries every region, so all 16 MiB.

After scheme 1 made at least 30 passes (read with update_schemes_stats):

- each scheme's sz_tried is a whole number of passes over the 16 MiB;
- scheme 0's sz_tried is between 9 and 11 times scheme 1's;
- scheme 0's nr_tried is at least 9 times scheme 1's (scheme 1 passes
  right after the regions merged, when they are the fewest);
- neither applied anything.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

MIN_PASSES = 30
TIMEOUT_S = 40


def test(chk):
    workload = dc.Workload(2, 8, [(0, [0])])
    try:
        monitored = sorted(workload.buffers)
        total = sum(e - s for s, e in monitored)
        cfg = dc.config([workload.pid], ops='fvaddr', regions=[monitored],
                        sample_us=5000, aggr_us=100000)
        dc.build(cfg, [dc.scheme(apply_interval_us=10000),
                       dc.scheme(apply_interval_us=0)])
        if not dc.turn_on(chk, 'on'):
            return

        def enough():
            st = dc.stats(2)
            return st if st[1]['sz_tried'] >= MIN_PASSES * total else None

        t0 = time.monotonic()
        st = dc.wait_for(enough, TIMEOUT_S, 0.5)
        took = time.monotonic() - t0
        if not st:
            st = dc.stats(2)
        chk.expect(workload.alive(), 'the workload died')
        for i, s in enumerate(st):
            dc.log('scheme %d: %s' % (i, s))
        passes = [s['sz_tried'] / total for s in st]
        dc.log('passes in %.1f s: %.1f and %.1f' % (took, passes[0],
                                                     passes[1]))
        if not chk.expect(passes[1] >= MIN_PASSES, 'scheme 1 made %.1f '
                          'passes in %d s, want >= %d' %
                          (passes[1], TIMEOUT_S, MIN_PASSES)):
            return
        for i, s in enumerate(st):
            chk.expect(s['sz_tried'] % total == 0, 'scheme %d tried %d '
                       'bytes, not whole passes over %d' %
                       (i, s['sz_tried'], total))
            chk.expect(s['nr_applied'] == 0 and s['sz_applied'] == 0,
                       'scheme %d (stat) applied something: %s' % (i, s))
        ratio = st[0]['sz_tried'] / st[1]['sz_tried']
        chk.expect(9 <= ratio <= 11, 'sz_tried of the 10 ms scheme is %.2f '
                   'times that of the aggregation interval one, want 9..11'
                   % ratio)
        nr_ratio = st[0]['nr_tried'] / max(st[1]['nr_tried'], 1)
        dc.log('sz_tried ratio %.2f, nr_tried ratio %.2f' % (ratio,
                                                             nr_ratio))
        chk.expect(nr_ratio >= 9, 'nr_tried of the 10 ms scheme is %.2f '
                   'times that of the aggregation interval one, want >= 9' %
                   nr_ratio)
    finally:
        dc.cleanup()
        workload.kill()


if __name__ == '__main__':
    sys.exit(dc.run(test))
