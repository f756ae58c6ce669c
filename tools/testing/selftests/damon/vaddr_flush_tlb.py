#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A hot set that stays in the TLB, seen with damon_vaddr.flush_tlb.

DAMON clears a sampled Accessed bit without flushing the TLB, so a CPU that
keeps the translation cached never sets the bit again.  Under emulation
(QEMU TCG) a process alone on its CPU keeps a few MiB of translations for
good: access_memory -n (no flushes of its own) sweeping one 4 MiB buffer of
four, pinned to CPU 1 while this script stays on CPU 0, reads as idle.

The test first measures that: the working set estimate (bytes a stat
scheme for nr_accesses >= 1 tries per pass) without flushes.  If it is
already above half of the truth, the TLB kept nothing (a real CPU's TLB
reaches less far, or something else ran on CPU 1) and there is nothing to
show: the test is skipped.  Otherwise, with
/sys/module/damon_vaddr/parameters/flush_tlb set the kdamond flushes the
target's TLB after clearing Accessed bits that were set, and the estimate
must be within 25% of 4 MiB at the 50th and 75th percentiles.  The
parameter must default to N, as upstream has no such flush, and refuse
anything but a boolean; the test leaves it N.
"""

import errno
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

PARAM = '/sys/module/damon_vaddr/parameters/flush_tlb'
NR_BUFFERS = 4
BUFFER_MIB = 4
HOT = [1]
TRUTH = len(HOT) * BUFFER_MIB * dc.MIB
TOLERANCE = 0.25
WARMUP_S = 3
NR_ESTIMATES = 20
OUR_CPU, WORKLOAD_CPU = 0, 1


def estimate(chk, workload, flush):
    """Percentiles 50 and 75 of the estimates with flush_tlb = flush."""
    dc.must_write(PARAM, 'Y' if flush else 'N')
    dc.build(dc.config([workload.pid]),
             [dc.scheme(nr_accesses=(1, dc.UINT_MAX))])
    if not dc.turn_on(chk, 'on'):
        return None
    try:
        time.sleep(WARMUP_S)
        estimates = [dc.tried_bytes(0) for _ in range(NR_ESTIMATES)]
    finally:
        dc.cleanup()
    pcts = [dc.percentile(estimates, pct) for pct in (50, 75)]
    dc.log('flush_tlb=%s estimates (MiB): %s; p50 %.1f, p75 %.1f' % (
        'Y' if flush else 'N',
        ' '.join('%.1f' % (w / dc.MIB) for w in estimates),
        pcts[0] / dc.MIB, pcts[1] / dc.MIB))
    return pcts


def test(chk):
    if not os.path.exists(PARAM):
        dc.skip('no ' + PARAM)
    if not {OUR_CPU, WORKLOAD_CPU} <= os.sched_getaffinity(0):
        dc.skip('needs CPUs %d and %d' % (OUR_CPU, WORKLOAD_CPU))
    chk.expect(dc.read(PARAM) == 'N', 'flush_tlb defaults to %s, not N' %
               dc.read(PARAM))
    chk.expect_errno(dc.write(PARAM, 'maybe'), errno.EINVAL,
                     'writing "maybe" to flush_tlb')
    os.sched_setaffinity(0, {OUR_CPU})
    workload = dc.Workload(NR_BUFFERS, BUFFER_MIB, [(0, HOT)],
                           flush=False, cpu=WORKLOAD_CPU)
    try:
        dc.log('hot buffer: 0x%x-0x%x, truth %.1f MiB' % (
            workload.buffers[HOT[0]] + (TRUTH / dc.MIB,)))
        unflushed = estimate(chk, workload, False)
        if unflushed and unflushed[0] > TRUTH / 2:
            dc.skip('the hot set was seen without flushes: the TLB did '
                    'not keep it')
        flushed = estimate(chk, workload, True)
        chk.expect(workload.alive(), 'the workload died')
        for pct, val in zip((50, 75), flushed or []):
            chk.expect(abs(val - TRUTH) <= TOLERANCE * TRUTH,
                       'flush_tlb=Y: p%d %.1f MiB is not within %d%% of '
                       '%.1f MiB' % (pct, val / dc.MIB, TOLERANCE * 100,
                                     TRUTH / dc.MIB))
    finally:
        dc.write(PARAM, 'N')
        dc.cleanup()
        workload.kill()


if __name__ == '__main__':
    sys.exit(dc.run(test))
