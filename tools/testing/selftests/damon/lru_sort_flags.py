#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""DAMON_LRU_SORT activates a hot file-backed buffer and deactivates a
cold one.

mem_sweep maps two 64 MiB shared mappings of files in /tmp (tmpfs): the
hot one, only written through the mapping, so that its pages sit on the
inactive list, and swept for good; the cold one, read twice with read()
after being written, so that its pages start on the active list, and
left alone.  Which list a page is on is its KPF_ACTIVE bit in
/proc/kpageflags, at the frame /proc/<pid>/pagemap gives.

After 3 s of sweeping without DAMON, the hot buffer must still be at
most 10% active and the cold one at least 90% (nothing else moves them:
there is no memory pressure).  Then damon_lru_sort runs with
cold_min_age 2 s, hot_thres_access_freq 500, 20 ms samples, 200 ms
aggregations, a time quota of 200 ms per second and watermarks that keep
it active (high 1000, mid 999, low 0):

- after 60 s or once the hot buffer is 95% active and the cold one 5%,
  whichever comes first, the hot buffer is at least 90% active and the
  cold one at most 10% at each of 3 looks, 1 s apart;
- (given 20 s to catch up, as the module copies its stats out every
  few seconds) nr_lru_prioritized_regions and
  nr_lru_deprioritized_regions grew,
  and bytes_lru_prioritized_regions reaches half of the hot buffer and
  bytes_lru_deprioritized_regions half of the cold one; each
  nr_*_tried_regions is at least its applied count.

Skipped under the multi-gen LRU, which does not keep PG_active.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

BUF_MIB = 64
HOT, COLD = 0, 1
PARAMS = {
    'hot_thres_access_freq': 500,
    'cold_min_age': 2000000,
    'sample_interval': 20000,
    'aggr_interval': 200000,
    'min_nr_regions': 10,
    'max_nr_regions': 1000,
    'quota_ms': 200,
    'quota_reset_interval_ms': 1000,
    'wmarks_interval': 100000,
    'wmarks_high': 1000,
    'wmarks_mid': 999,
    'wmarks_low': 0,
    'monitor_region_start': 0,
    'monitor_region_end': 0,
}
STATS = ('nr_lru_prio_tried_regions', 'bytes_lru_prio_tried_regions',
         'nr_lru_prioritized_regions', 'bytes_lru_prioritized_regions',
         'nr_lru_deprio_tried_regions', 'bytes_lru_deprio_tried_regions',
         'nr_lru_deprioritized_regions', 'bytes_lru_deprioritized_regions',
         'nr_lru_prio_quota_exceeds', 'nr_lru_deprio_quota_exceeds')
BASELINE_S = 3
DEADLINE = 60
LOOKS = 3
SORTED = 0.9            # share of each buffer that must be sorted
WELL_SORTED = 0.95      # what is waited for, at most DEADLINE s
STATS_TIMEOUT = 20      # s for the stats to catch up


def active(workload, idx):
    """(share of the present pages that are active, present pages)."""
    frames = workload.pfns(idx)
    return dc.flag_share(frames, dc.KPF_ACTIVE), len(frames)


def shares(workload):
    return active(workload, HOT)[0], active(workload, COLD)[0]


def test(chk):
    mod, = dc.need(dc.LRU_SORT)
    if dc.lru_gen_enabled():
        dc.skip('the multi-gen LRU runs: PG_active means nothing')
    if not os.access(dc.KPAGEFLAGS, os.R_OK):
        dc.skip('needs %s (CONFIG_PROC_PAGE_MONITOR)' % dc.KPAGEFLAGS)
    mod.set(**PARAMS)
    workload = dc.MemSweep(['f%d' % BUF_MIB, 'F%d' % BUF_MIB],
                           [(0, [HOT])])
    try:
        time.sleep(BASELINE_S)
        hot, cold = shares(workload)
        dc.log('without DAMON: hot buffer %.1f%% active, cold %.1f%%' %
               (hot * 100, cold * 100))
        if not chk.expect(hot <= 1 - SORTED and cold >= SORTED,
                          'without DAMON the hot buffer is %.1f%% active '
                          'and the cold one %.1f%%: want at most %.0f%% '
                          'and at least %.0f%%' % (
                              hot * 100, cold * 100, (1 - SORTED) * 100,
                              SORTED * 100)):
            return
        pid = mod.start(chk, 'on')
        if not pid:
            return
        st0 = mod.stats(STATS)
        t0 = time.monotonic()

        # Wait for a margin over what the looks then ask for.
        def sorted_():
            h, c = shares(workload)
            return h >= WELL_SORTED and c <= 1 - WELL_SORTED

        done = dc.wait_for(sorted_, DEADLINE, 1)
        dc.log('sorted after %.1f s' % (time.monotonic() - t0) if done
               else 'not sorted in %d s' % DEADLINE)
        for i in range(LOOKS):
            hot, cold = shares(workload)
            dc.log('look %d: hot buffer %.1f%% active, cold %.1f%%' %
                   (i, hot * 100, cold * 100))
            chk.expect(hot >= SORTED, 'look %d: the hot buffer is %.1f%% '
                       'active, want at least %.0f%%' % (
                           i, hot * 100, SORTED * 100))
            chk.expect(cold <= 1 - SORTED, 'look %d: the cold buffer is '
                       '%.1f%% active, want at most %.0f%%' % (
                           i, cold * 100, (1 - SORTED) * 100))
            time.sleep(1)
        # The module copies its stats out every few seconds.
        dc.wait_for(lambda: stats_caught_up(st0, mod.stats(STATS)),
                    STATS_TIMEOUT, 1)
        st = mod.stats(STATS)
        dc.log('stats %s' % st)
        check_stats(chk, st0, st)
        chk.expect(workload.alive(), 'the workload died')
        mod.stop(chk, 'off', pid)
    finally:
        mod.cleanup()
        workload.kill()


def stats_caught_up(st0, st):
    d = dc.Module.grown(st0, st)
    return all(d['bytes_%s_regions' % a] >= BUF_MIB * dc.MIB // 2
               for a in ('lru_prioritized', 'lru_deprioritized'))


def check_stats(chk, st0, st):
    half = BUF_MIB * dc.MIB // 2
    d = dc.Module.grown(st0, st)
    for kind, tried, applied in (
            ('prio', 'lru_prio_tried', 'lru_prioritized'),
            ('deprio', 'lru_deprio_tried', 'lru_deprioritized')):
        # Only counts: a large folio that a region ends in is handled
        # whole, so the bytes applied can pass the bytes tried.
        t = st['nr_%s_regions' % tried]
        a = st['nr_%s_regions' % applied]
        chk.expect(t >= a, 'nr_%s_regions %d < nr_%s_regions %d' % (
            tried, t, applied, a))
        name = 'nr_%s_regions' % applied
        chk.expect(d[name] > 0, '%s did not grow' % name)
        name = 'bytes_%s_regions' % applied
        chk.expect(d[name] >= half,
                   '%s grew by %.1f MiB, want at least half of a buffer '
                   '(%d MiB)' % (name, d[name] / dc.MIB, half // dc.MIB))


def main():
    if os.geteuid() != 0:
        dc.skip('needs root')
    return dc.run_modules(test, modules=(dc.LRU_SORT,))


if __name__ == '__main__':
    sys.exit(main())
