#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""DAMON_RECLAIM pages out a cold anonymous buffer and keeps a hot one.

With swap on zram (set up here unless some swap is on already; the tools
come from the host's root), mem_sweep maps a cold 128 MiB anonymous
buffer, written once and then left alone, and a hot 64 MiB one that it
sweeps for good.  damon_reclaim runs with min_age 2 s, 20 ms samples,
200 ms aggregations, watermarks that keep it active (high 1000, mid 999,
low 0) and a time quota of 500 ms per second, in two rounds with a fresh
workload each.  Residency is read from /proc/<pid>/pagemap.

skip_anon N:
- within 90 s at most half of the cold buffer is still resident;
- the hot buffer stays at least 90% resident at each of 5 looks, 1 s
  apart, after that, and the workload's major faults over the round
  (swap-ins of what was paged out and touched again) stay under 10% of
  the hot buffer's pages;
- the stats agree with the drop (given 20 s to catch up, as the module
  copies them out every few seconds): nr_reclaimed_regions > 0,
  nr_reclaim_tried_regions >= nr_reclaimed_regions,
  bytes_reclaim_tried_regions >= bytes_reclaimed_regions, and
  bytes_reclaimed_regions is at least 90% of the bytes the cold buffer
  lost and at most what went to swap (pswpout) plus the page cache lost,
  plus 32 MiB.

skip_anon Y, for 20 s (ten times min_age):
- the scheme is tried (nr_reclaim_tried_regions grows), yet the cold
  buffer stays at least 95% resident and the hot one 90%.

damon_reclaim is disabled with its parameters restored, and the zram
swap gone, at the end.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

COLD_MIB = 128
HOT_MIB = 64
PARAMS = {
    'min_age': 2000000,
    'sample_interval': 20000,
    'aggr_interval': 200000,
    'min_nr_regions': 10,
    'max_nr_regions': 1000,
    'quota_ms': 500,
    'quota_sz': 0,
    'quota_reset_interval_ms': 1000,
    'quota_mem_pressure_us': 0,
    'quota_autotune_feedback': 0,
    'wmarks_interval': 100000,
    'wmarks_high': 1000,
    'wmarks_mid': 999,
    'wmarks_low': 0,
    'monitor_region_start': 0,
    'monitor_region_end': 0,
}
STATS = ('nr_reclaim_tried_regions', 'bytes_reclaim_tried_regions',
         'nr_reclaimed_regions', 'bytes_reclaimed_regions',
         'nr_quota_exceeds')

COLD_DEADLINE = 90      # s for the cold buffer to shrink
COLD_MAX_RESIDENT = 0.5
HOT_MIN_RESIDENT = 0.9
HOT_LOOKS = 5
HOT_MAX_MAJFLT = 0.1    # share of the hot buffer's pages
SKIP_ANON_S = 20
SKIP_ANON_MIN_RESIDENT = 0.95
STATS_MIN_SHARE = 0.9   # of the cold buffer's drop
STATS_SLACK = 32 * dc.MIB
STATS_TIMEOUT = 20      # s for the stats to catch up with the drop


def hot_looks(chk, what, workload):
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


def reclaim(chk, mod):
    what = 'skip_anon N'
    workload = dc.MemSweep(['a%d' % COLD_MIB, 'a%d' % HOT_MIB],
                           [(0, [1])])
    try:
        mod.set(skip_anon='N')
        flt0 = dc.majflt(workload.pid)
        pswpout0 = dc.vmstat('pswpout')
        cached0 = dc.meminfo()['Cached']
        pid = mod.start(chk, what)
        if not pid:
            return
        st0 = mod.stats(STATS)
        t0 = time.monotonic()
        gone = dc.wait_for(
            lambda: workload.residency(0)[0] <= COLD_MAX_RESIDENT,
            COLD_DEADLINE, 1)
        took = time.monotonic() - t0
        present, swapped = workload.residency(0)
        dc.log('%s: cold buffer %.0f%% resident, %.0f%% swapped after '
               '%.1f s' % (what, present * 100, swapped * 100, took))
        chk.expect(gone, '%s: the cold buffer is still %.0f%% resident '
                   'after %d s, want at most %.0f%%' % (
                       what, present * 100, COLD_DEADLINE,
                       COLD_MAX_RESIDENT * 100))
        hot_looks(chk, what, workload)
        faults = dc.majflt(workload.pid) - flt0
        hot_pages = HOT_MIB * dc.MIB // dc.PAGE_SIZE
        dc.log('%s: %d major faults in the workload' % (what, faults))
        chk.expect(faults <= HOT_MAX_MAJFLT * hot_pages,
                   '%s: the workload took %d major faults, more than '
                   '%.0f%% of the hot buffer\'s pages' % (
                       what, faults, HOT_MAX_MAJFLT * 100))
        chk.expect(workload.alive(), '%s: the workload died' % what)

        def dropped():
            return (1 - workload.residency(0)[0]) * COLD_MIB * dc.MIB

        # The module copies its stats out every few seconds.
        dc.wait_for(lambda: mod.grown(st0, mod.stats(STATS))[
            'bytes_reclaimed_regions'] >= STATS_MIN_SHARE * dropped(),
            STATS_TIMEOUT, 1)
        st = mod.stats(STATS)
        check_stats(chk, what, st0, st, dropped(),
                    (dc.vmstat('pswpout') - pswpout0) * dc.PAGE_SIZE,
                    max(0, cached0 - dc.meminfo()['Cached']))
        mod.stop(chk, what, pid)
    finally:
        mod.cleanup()
        workload.kill()


def check_stats(chk, what, st0, st, dropped, swapped_out, cache_lost):
    d = dc.Module.grown(st0, st)
    dc.log('%s: stats %s (at start %s); the cold buffer lost %.1f MiB, '
           '%.1f MiB swapped out, page cache lost %.1f MiB' % (
               what, st, st0, dropped / dc.MIB, swapped_out / dc.MIB,
               cache_lost / dc.MIB))
    chk.expect(d['nr_reclaimed_regions'] > 0, '%s: nr_reclaimed_regions '
               'did not grow' % what)
    chk.expect(st['nr_reclaim_tried_regions'] >= st['nr_reclaimed_regions'],
               '%s: nr_reclaim_tried_regions %d < nr_reclaimed_regions %d'
               % (what, st['nr_reclaim_tried_regions'],
                  st['nr_reclaimed_regions']))
    chk.expect(st['bytes_reclaim_tried_regions'] >=
               st['bytes_reclaimed_regions'],
               '%s: bytes_reclaim_tried_regions %d < '
               'bytes_reclaimed_regions %d' % (
                   what, st['bytes_reclaim_tried_regions'],
                   st['bytes_reclaimed_regions']))
    got = d['bytes_reclaimed_regions']
    chk.expect(got >= STATS_MIN_SHARE * dropped,
               '%s: bytes_reclaimed_regions grew by %.1f MiB, less than '
               '%.0f%% of the %.1f MiB the cold buffer lost' % (
                   what, got / dc.MIB, STATS_MIN_SHARE * 100,
                   dropped / dc.MIB))
    most = swapped_out + cache_lost + STATS_SLACK
    chk.expect(got <= most,
               '%s: bytes_reclaimed_regions grew by %.1f MiB, more than '
               'went to swap (%.1f MiB) and left the page cache (%.1f '
               'MiB), plus %d MiB' % (
                   what, got / dc.MIB, swapped_out / dc.MIB,
                   cache_lost / dc.MIB, STATS_SLACK // dc.MIB))


def skip_anon(chk, mod):
    what = 'skip_anon Y'
    workload = dc.MemSweep(['a%d' % COLD_MIB, 'a%d' % HOT_MIB],
                           [(0, [1])])
    try:
        mod.set(skip_anon='Y')
        pid = mod.start(chk, what)
        if not pid:
            return
        st0 = mod.stats(STATS)
        lows = []
        deadline = time.monotonic() + SKIP_ANON_S
        while time.monotonic() < deadline:
            lows.append(workload.residency(0)[0])
            time.sleep(1)
        st = mod.stats(STATS)
        dc.log('%s: cold buffer resident, lowest %.1f%%, last %.1f%%; '
               'stats %s' % (what, min(lows) * 100, lows[-1] * 100, st))
        chk.expect(mod.grown(st0, st)['nr_reclaim_tried_regions'] > 0,
                   '%s: nr_reclaim_tried_regions stayed at %d in %d s' % (
                       what, st['nr_reclaim_tried_regions'], SKIP_ANON_S))
        chk.expect(min(lows) >= SKIP_ANON_MIN_RESIDENT,
                   '%s: the cold buffer dropped to %.1f%% resident, want '
                   'at least %.0f%%' % (what, min(lows) * 100,
                                        SKIP_ANON_MIN_RESIDENT * 100))
        hot_looks(chk, what, workload)
        chk.expect(workload.alive(), '%s: the workload died' % what)
        mod.stop(chk, what, pid)
    finally:
        mod.cleanup()
        workload.kill()


def test(chk):
    mod, = dc.need(dc.RECLAIM)
    mod.set(**PARAMS)
    swap = dc.Swap('512M')
    try:
        reclaim(chk, mod)
        skip_anon(chk, mod)
    finally:
        swap.close()


def main():
    if os.geteuid() != 0:
        dc.skip('needs root')
    return dc.run_modules(test, modules=(dc.RECLAIM,))


if __name__ == '__main__':
    sys.exit(main())
