#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Physical address monitoring finds a hot buffer at its physical pages.

mem_sweep maps a 64 MiB anonymous buffer and sweeps it for good, flushing
its TLB after each sweep.  Kdamond 0 monitors the physical address space
(operations paddr, one target) over the span of the System RAM of
/proc/iomem, given as 100 regions of equal size, with 50 ms samples and
500 ms aggregations, and the damon:damon_aggregated tracepoint reports what it
saw.  The buffer's page frames come from /proc/<pid>/pagemap.

Over the third to the sixth aggregation after on, taken together,
weighting each region's nr_accesses by the buffer's bytes in it (the
buffer's mean) and by the other bytes in it (the rest's mean):

- the buffer's mean is at least 40% of the maximum nr_accesses
  (aggregation / sample: 10);
- the rest's mean is at most a quarter of the buffer's;
- the regions with nr_accesses above a fifth of the maximum cover at
  least 80% of the buffer and are made at least 25% of it.

The four are judged together because one aggregation alone is ten
samples of each region: on a loaded host a stall of the workload, or a
split that leaves a few of the buffer's pages in a mostly cold region,
moves a single aggregation's figures by a fifth while the others read
close to 100%.  The regions of each aggregation must cover the
monitored span exactly.
The kdamond is off and nr_kdamonds 0 at the end.
"""

import bisect
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

BUF_MIB = 64
SAMPLE_US = 50000
AGGR_US = 500000
MAX_NR_ACCESSES = AGGR_US // SAMPLE_US
MIN_NR_REGIONS = 100
JUDGED = (3, 4, 5, 6)           # the aggregations after on to judge
MIN_BUF_MEAN = 0.4              # of MAX_NR_ACCESSES
MAX_REST_RATIO = 0.25           # rest's mean / buffer's mean
HOT_THRES = MAX_NR_ACCESSES / 5
MIN_RECALL = 0.8
MIN_PRECISION = 0.25


def split(span):
    """span cut into MIN_NR_REGIONS regions of whole pages, so that
    monitoring starts at its minimum number of regions whatever the
    implementation does with a region given whole."""
    pages = (span[1] - span[0]) // dc.PAGE_SIZE
    cuts = [span[0] + pages * i // MIN_NR_REGIONS * dc.PAGE_SIZE
            for i in range(MIN_NR_REGIONS)] + [span[1]]
    return list(zip(cuts, cuts[1:]))


class Tally:
    """Bytes and access-weighted bytes of aggregations, the buffer's and
    the rest's, and of the regions read hot."""

    def __init__(self):
        self.buf_w = self.rest_w = self.buf_sz = self.rest_sz = 0
        self.hot_buf = self.hot_all = 0

    def add(self, aggr, frames):
        """Count aggr in; frames: the buffer's page frame numbers,
        sorted."""
        for start, end, nr_acc, _ in aggr.regions:
            lo = bisect.bisect_left(frames, start // dc.PAGE_SIZE)
            hi = bisect.bisect_left(frames, (end + dc.PAGE_SIZE - 1) //
                                    dc.PAGE_SIZE)
            in_buf = (hi - lo) * dc.PAGE_SIZE
            other = max(0, end - start - in_buf)
            self.buf_w += nr_acc * in_buf
            self.rest_w += nr_acc * other
            self.buf_sz += in_buf
            self.rest_sz += other
            if nr_acc > HOT_THRES:
                self.hot_buf += in_buf
                self.hot_all += end - start
        return self

    def pool(self, other):
        """Count in what other counted."""
        for k, v in vars(other).items():
            setattr(self, k, getattr(self, k) + v)

    def figures(self):
        """(buffer's mean, rest's mean, recall, precision)"""
        return (self.buf_w / max(self.buf_sz, 1),
                self.rest_w / max(self.rest_sz, 1),
                self.hot_buf / max(self.buf_sz, 1),
                self.hot_buf / max(self.hot_all, 1))


def describe(figures):
    return ('buffer mean %.2f, rest mean %.3f, hot regions cover %.0f%% of '
            'the buffer, made %.0f%% of it' % (
                figures[0], figures[1], figures[2] * 100, figures[3] * 100))


def test(chk):
    dc.must_write(os.path.join(dc.KDAMONDS, 'nr_kdamonds'), 1)
    dc.must_write(os.path.join(dc.CONTEXTS, 'nr_contexts'), 1)
    if 'paddr' not in dc.avail_operations():
        dc.skip('no paddr in avail_operations')
    ram = dc.system_ram()
    if not ram:
        dc.skip('no System RAM addresses in /proc/iomem')
    span = (min(s for s, _ in ram) // dc.PAGE_SIZE * dc.PAGE_SIZE,
            max(e for _, e in ram))
    dc.log('System RAM %s, monitoring 0x%x-0x%x' % (
        ', '.join('0x%x-0x%x' % r for r in ram), span[0], span[1]))
    tracer = dc.Tracer('paddr_monitor')
    workload = dc.MemSweep(['a%d' % BUF_MIB], [(1000, [0]), (0, [0])])
    try:
        chk.expect(workload.wait_line('phase 0', 60) is not None,
                   'the workload did not start sweeping in 60 s')
        frames = sorted(workload.pfns(0))
        nr_pages = BUF_MIB * dc.MIB // dc.PAGE_SIZE
        dc.log('buffer: %d of %d pages present, %d runs of frames' % (
            len(frames), nr_pages, len(dc.runs(frames))))
        if not chk.expect(len(frames) >= 0.99 * nr_pages,
                          'only %d of the buffer\'s %d pages are present' %
                          (len(frames), nr_pages)):
            return
        dc.build(dc.config([0], ops='paddr', regions=[split(span)],
                           sample_us=SAMPLE_US, aggr_us=AGGR_US,
                           min_nr=MIN_NR_REGIONS, max_nr=1000))
        t0 = time.monotonic()
        pid = dc.turn_on(chk, 'on')
        if not pid:
            return
        timeout = 30 + max(JUDGED) * AGGR_US / 1e6 * 4
        aggrs = tracer.wait(t0, max(JUDGED), timeout)
        dc.turn_off(chk, 'off', pid)
        chk.expect(sorted(workload.pfns(0)) == frames,
                   'the buffer moved in physical memory while monitored')
        if not chk.expect(len(aggrs) >= max(JUDGED),
                          '%d aggregations in %d s, want %d' %
                          (len(aggrs), timeout, max(JUDGED))):
            return
        judged = Tally()
        seen = []
        for n, aggr in enumerate(aggrs[:max(JUDGED)], 1):
            chk.expect(aggr.within([span]), 'aggregation %d: the regions '
                       'do not cover the monitored span exactly: %r' %
                       (n, aggr))
            tally = Tally().add(aggr, frames)
            alone = describe(tally.figures())
            dc.log('aggregation %d: %d regions, %s' % (
                n, len(aggr.regions), alone))
            if n in JUDGED:
                judged.pool(tally)
                seen.append('%d: %s' % (n, alone))
        buf_mean, rest_mean, recall, precision = judged.figures()
        what = 'aggregations %d..%d (%s)' % (
            min(JUDGED), max(JUDGED), '; '.join(seen))
        chk.expect(buf_mean >= MIN_BUF_MEAN * MAX_NR_ACCESSES,
                   '%s: the buffer\'s mean nr_accesses %.2f is under '
                   '%d%% of %d' % (what, buf_mean, MIN_BUF_MEAN * 100,
                                   MAX_NR_ACCESSES))
        chk.expect(rest_mean <= MAX_REST_RATIO * buf_mean,
                   '%s: the rest\'s mean nr_accesses %.3f is above '
                   '%.2f times the buffer\'s %.2f' % (
                       what, rest_mean, MAX_REST_RATIO, buf_mean))
        chk.expect(recall >= MIN_RECALL,
                   '%s: regions with nr_accesses > %.1f cover %.0f%% '
                   'of the buffer, want %d%%' % (
                       what, HOT_THRES, recall * 100, MIN_RECALL * 100))
        chk.expect(precision >= MIN_PRECISION,
                   '%s: the buffer is %.0f%% of the regions with '
                   'nr_accesses > %.1f, want %d%%' % (
                       what, precision * 100, HOT_THRES,
                       MIN_PRECISION * 100))
        chk.expect(workload.alive(), 'the workload died')
    finally:
        dc.cleanup()
        workload.kill()
        tracer.close()


def main():
    dc.check_environment(need_tracefs=True)
    return dc.run_modules(test, modules=())


if __name__ == '__main__':
    sys.exit(main())
