#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The regions DAMOS schemes are tried on, as update_schemes_tried_regions
shows them.

access_memory maps 14 buffers of 4 MiB and sweeps the 7 of even index;
an fvaddr context monitors the 14 buffers, one region each to start
with, at 5 ms sampling and 100 ms aggregation.  Two stat schemes:
scheme 0 matches the accessed regions (nr_accesses 1 or more), scheme 1
the idle ones (nr_accesses 0).

After a 3 s warm-up, update_schemes_tried_regions is written 7 times.
Every time, for both schemes:

- the tried regions are page aligned, sorted, do not overlap, lie in the
  monitored buffers (a region may span adjacent ones: regions merge
  across their edge), and total_bytes is the sum of their sizes;
- nr_accesses is within the pattern (at least 1, at most the 20 samples
  of an aggregation, for scheme 0; 0 for scheme 1), and sz_filter_passed
  is the whole region (no filters);
- the two schemes made their pass on the same regions, so together they
  tried the 56 MiB exactly once.

And in at least 4 of 7, 0.5 s apart (a guest may stall the workload now
and then, and the regions take a few aggregations to settle again),
scheme 0's regions cover at least 90% of the swept buffers and at
most 10% of the idle ones, and scheme 1's the other way round.

Then clear_schemes_tried_regions empties the directories: no region
left, total_bytes 0.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

NR_BUFFERS = 14
BUFFER_MIB = 4
HOT = list(range(0, NR_BUFFERS, 2))
MAX_NR_ACCESSES = 20        # aggregation / sampling interval
WARMUP_S = 3
NR_WALKS = 7
MIN_GOOD_WALKS = 4
COVER = 0.9
STRAY = 0.1


class Test:

    def __init__(self, chk, workload):
        self.chk = chk
        for i, (start, end) in enumerate(workload.buffers):
            dc.log('buffer %d: %x-%x%s' % (i, start, end,
                                           ' (swept)' if i in HOT else ''))
        self.hot = [workload.buffers[i] for i in HOT]
        self.idle = [b for i, b in enumerate(workload.buffers)
                     if i not in HOT]
        self.monitored = sorted(workload.buffers)
        self.total = sum(e - s for s, e in self.monitored)
        # Regions merge across the edge of adjacent buffers.
        self.spans = []
        for start, end in self.monitored:
            if self.spans and self.spans[-1][1] == start:
                self.spans[-1] = (self.spans[-1][0], end)
            else:
                self.spans.append((start, end))

    def share(self, regions, buffers):
        """Share of the bytes of buffers that regions cover."""
        ranges = [(r['start'], r['end']) for r in regions]
        return (sum(dc.covered(ranges, s, e) for s, e in buffers) /
                sum(e - s for s, e in buffers))

    def check_regions(self, what, total, regions, nr_accesses):
        chk = self.chk
        lo, hi = nr_accesses
        prev_end = 0
        for r in regions:
            desc = '%s: tried region %x-%x' % (what, r['start'], r['end'])
            chk.expect(r['start'] < r['end'] and
                       r['start'] % dc.PAGE_SIZE == 0 and
                       r['end'] % dc.PAGE_SIZE == 0,
                       '%s is empty or not page aligned' % desc)
            chk.expect(r['start'] >= prev_end,
                       '%s overlaps or precedes the one before' % desc)
            prev_end = r['end']
            chk.expect(any(s <= r['start'] and r['end'] <= e
                           for s, e in self.spans),
                       '%s is not within the monitored buffers' % desc)
            chk.expect(lo <= r['nr_accesses'] <= hi,
                       '%s has nr_accesses %d, not in %d..%d' %
                       (desc, r['nr_accesses'], lo, hi))
            chk.expect(r['sz_filter_passed'] in (None,
                                                 r['end'] - r['start']),
                       '%s: sz_filter_passed %s, not its size' %
                       (desc, r['sz_filter_passed']))
        summed = sum(r['end'] - r['start'] for r in regions)
        chk.expect(total == summed, '%s: total_bytes %d, but the regions '
                   'sum to %d' % (what, total, summed))

    def walk(self, n):
        """One update_schemes_tried_regions; return whether the covers
        were as expected."""
        dc.command('update_schemes_tried_regions')
        hot_total, hot = dc.read_tried_regions(0)
        idle_total, idle = dc.read_tried_regions(1)
        what = 'walk %d' % n
        self.check_regions(what + ', accessed scheme', hot_total, hot,
                           (1, MAX_NR_ACCESSES))
        self.check_regions(what + ', idle scheme', idle_total, idle, (0, 0))
        self.chk.expect(hot_total + idle_total == self.total,
                        '%s: the schemes tried %d + %d bytes, not the %d '
                        'monitored' % (what, hot_total, idle_total,
                                       self.total))
        covers = {
            'accessed scheme over swept buffers': self.share(hot, self.hot),
            'accessed scheme over idle buffers': self.share(hot, self.idle),
            'idle scheme over idle buffers': self.share(idle, self.idle),
            'idle scheme over swept buffers': self.share(idle, self.hot),
        }
        dc.log('%s: %d and %d regions, %.1f and %.1f MiB; %s' % (
            what, len(hot), len(idle), hot_total / dc.MIB,
            idle_total / dc.MIB,
            ', '.join('%s %.0f%%' % (k, v * 100) for k, v in covers.items())))
        vals = list(covers.values())
        good = (vals[0] >= COVER and vals[1] <= STRAY and
                vals[2] >= COVER and vals[3] <= STRAY)
        if not good:
            for name, regions in (('accessed', hot), ('idle', idle)):
                dc.log('  %s scheme tried (start-end: nr_accesses age): %s'
                       % (name, ' '.join('%x-%x: %d %d' % (
                           r['start'], r['end'], r['nr_accesses'], r['age'])
                           for r in regions)))
        return good

    def clear(self):
        dc.command('clear_schemes_tried_regions')
        for s in (0, 1):
            total, regions = dc.read_tried_regions(s)
            self.chk.expect(total == 0 and not regions,
                            'after clear_schemes_tried_regions scheme %d '
                            'shows total_bytes %d and %d regions' %
                            (s, total, len(regions)))


def test(chk):
    workload = dc.Workload(NR_BUFFERS, BUFFER_MIB, [(0, HOT)])
    try:
        t = Test(chk, workload)
        cfg = dc.config([workload.pid], ops='fvaddr',
                        regions=[t.monitored])
        dc.build(cfg, [dc.scheme(nr_accesses=(1, dc.UINT_MAX)),
                       dc.scheme(nr_accesses=(0, 0))])
        if not dc.turn_on(chk, 'on'):
            return
        time.sleep(WARMUP_S)
        good = 0
        for n in range(NR_WALKS):
            good += t.walk(n)
            time.sleep(0.5)
        chk.expect(good >= MIN_GOOD_WALKS, 'the tried regions covered the '
                   'swept and idle buffers as expected in only %d of %d '
                   'walks, want >= %d' % (good, NR_WALKS, MIN_GOOD_WALKS))
        t.clear()
        chk.expect(workload.alive(), 'the workload died')
    finally:
        dc.cleanup()
        workload.kill()


if __name__ == '__main__':
    sys.exit(dc.run(test))
