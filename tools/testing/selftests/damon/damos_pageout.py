#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""DAMOS pageout on a process with a cold and a hot buffer.

access_memory maps two 32 MiB anonymous buffers, writes them once, then
sweeps buffer 1 for good and leaves buffer 0 alone.  With swap on zram
(set up here unless some swap is on already), a vaddr kdamond runs one
pageout scheme, in two rounds with a fresh workload each:

- access pattern: regions of any size that saw no access (nr_accesses
  0..0) for at least 10 aggregations;
- young filter: every region, with a young filter (matching, allow N),
  so that the pages are paged out one by one, all but the young ones.

What is resident is read from /proc/<pid>/pagemap (bit 63 present, bit
62 swapped), not counting pages that map the shared zero page
(/proc/kpageflags): reclaim maps the zero-filled parts of a huge page it
splits to it, and the idle buffer is zeros.  In each round:

- within 60 s at most 20% of the cold buffer is still resident;
- the hot buffer stays at least 90% resident at each of 5 looks, 1 s
  apart, after that, and the pages swapped in over the round
  (/proc/vmstat pswpin) are at most 10% of it;
- the scheme's stats: nr_applied > 0, nr_tried >= nr_applied, sz_tried
  >= sz_applied; by access pattern, sz_applied is at least 80% of the
  cold buffer and, with no filter, sz_ops_filter_passed == sz_tried; with
  the young filter, sz_applied > 0 and sz_tried - sz_ops_filter_passed
  (what the filter kept) is at least the hot buffer.

The kdamond is off, nr_kdamonds 0 and the zram swap gone at the end.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

BUF_MIB = 32
SCHEME = os.path.join(dc.SCHEMES, '0')

MIN_AGE = 10            # aggregations of no access before a pageout
COLD_DEADLINE = 60      # s for the cold buffer to be paged out
COLD_MAX_RESIDENT = 0.2
HOT_MIN_RESIDENT = 0.9
HOT_LOOKS = 5
HOT_MAX_SWAPINS = 0.1   # share of the hot buffer's pages


def read_stats(chk):
    err = dc.write(dc.STATE, 'update_schemes_stats')
    if not chk.expect(err == 0, 'update_schemes_stats failed with %s' %
                      dc.errno_name(err)):
        return None
    return dc.read_values(os.path.join(SCHEME, 'stats'), dc.STATS)


def set_pageout_scheme(young_filter):
    """Page out what saw no access for MIN_AGE aggregations, or, with
    young_filter, any region but only the pages that are not young."""
    dc.must_write(os.path.join(dc.SCHEMES, 'nr_schemes'), 1)
    dc.must_write(os.path.join(SCHEME, 'action'), 'pageout')
    pattern = os.path.join(SCHEME, 'access_pattern')
    if young_filter:
        ranges = (('sz', dc.PAGE_SIZE, dc.ULONG_MAX),
                  ('nr_accesses', 0, dc.UINT_MAX), ('age', 0, dc.UINT_MAX))
    else:
        ranges = (('sz', dc.PAGE_SIZE, dc.ULONG_MAX),
                  ('nr_accesses', 0, 0), ('age', MIN_AGE, dc.UINT_MAX))
    for name, lo, hi in ranges:
        dc.must_write(os.path.join(pattern, name, 'min'), lo)
        dc.must_write(os.path.join(pattern, name, 'max'), hi)
    filters = os.path.join(SCHEME, 'filters')
    dc.must_write(os.path.join(filters, 'nr_filters'), int(young_filter))
    if young_filter:
        # A page is young if accessed since the filter's last look: look
        # every 5 s, so that a sweep of the hot buffer, slow as it may be
        # on a loaded emulated guest, always comes between two looks.
        dc.must_write(os.path.join(SCHEME, 'apply_interval_us'), 5000000)
        dc.must_write(os.path.join(filters, '0', 'type'), 'young')
        dc.must_write(os.path.join(filters, '0', 'matching'), 'Y')
        dc.must_write(os.path.join(filters, '0', 'allow'), 'N')


def run(chk, young_filter):
    what = 'young filter' if young_filter else 'access pattern'
    workload = dc.Workload(2, BUF_MIB, [(0, [1])])
    try:
        dc.log('%s: pid %d, cold buffer %x-%x, hot buffer %x-%x' % (
            (what, workload.pid) + workload.buffers[0] +
            workload.buffers[1]))
        dc.build(dc.config([workload.pid]))
        set_pageout_scheme(young_filter)
        check(chk, what, workload, young_filter)
    finally:
        dc.cleanup()
        workload.kill()


def check(chk, what, workload, young_filter):
    cold, hot = workload.buffers
    pswpin = dc.vmstat('pswpin')
    kdamond = dc.turn_on(chk, what + ': on')
    if not kdamond:
        return
    t0 = time.monotonic()

    def cold_gone():
        present, _ = workload.residency(0)
        return present <= COLD_MAX_RESIDENT

    gone = dc.wait_for(cold_gone, COLD_DEADLINE, 1)
    took = time.monotonic() - t0
    present, swapped = workload.residency(0)
    dc.log('%s: cold buffer %.0f%% resident, %.0f%% swapped after %.1f s'
           % (what, present * 100, swapped * 100, took))
    chk.expect(gone, '%s: the cold buffer is still %.0f%% resident after '
               '%d s, want at most %.0f%%' % (what, present * 100,
                                              COLD_DEADLINE,
                                              COLD_MAX_RESIDENT * 100))

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
    chk.expect(workload.alive(), '%s: the workload died' % what)
    swapins = dc.vmstat('pswpin') - pswpin
    hot_pages = (hot[1] - hot[0]) // dc.PAGE_SIZE
    dc.log('%s: %d pages swapped in' % (what, swapins))
    # A hot page paged out comes back at once: residency alone would hide
    # it, the swap-ins do not.
    chk.expect(swapins <= HOT_MAX_SWAPINS * hot_pages,
               '%s: %d pages swapped in, more than %.0f%% of the hot '
               'buffer' % (what, swapins, HOT_MAX_SWAPINS * 100))

    st = read_stats(chk)
    if st:
        dc.log('%s: stats %s' % (what, st))
        check_stats(chk, what, st, cold[1] - cold[0], hot[1] - hot[0],
                    young_filter)
    dc.turn_off(chk, what + ': off', kdamond)


def check_stats(chk, what, st, cold_sz, hot_sz, young_filter):
    chk.expect(st['nr_applied'] > 0, '%s: nr_applied is 0' % what)
    chk.expect(st['nr_tried'] >= st['nr_applied'],
               '%s: nr_tried %d < nr_applied %d' %
               (what, st['nr_tried'], st['nr_applied']))
    chk.expect(st['sz_tried'] >= st['sz_applied'],
               '%s: sz_tried %d < sz_applied %d' %
               (what, st['sz_tried'], st['sz_applied']))
    if young_filter:
        # Reclaim counts what it freed, not the zero-filled parts of huge
        # pages it split: sz_applied is no measure of the cold buffer.
        chk.expect(st['sz_applied'] > 0, '%s: sz_applied is 0' % what)
        # Every pass tries the hot buffer, and the filter keeps it.
        rejected = st['sz_tried'] - st['sz_ops_filter_passed']
        chk.expect(rejected >= hot_sz, '%s: the filter kept %d bytes out '
                   'of sz_tried %d, want at least the hot buffer (%d)' %
                   (what, rejected, st['sz_tried'], hot_sz))
    else:
        chk.expect(st['sz_applied'] >= 0.8 * cold_sz,
                   '%s: sz_applied %d, want at least 80%% of the cold '
                   'buffer (%d)' % (what, st['sz_applied'], cold_sz))
        chk.expect(st['sz_ops_filter_passed'] == st['sz_tried'],
                   '%s: with no filter sz_ops_filter_passed %d != '
                   'sz_tried %d' % (what, st['sz_ops_filter_passed'],
                                    st['sz_tried']))


def main():
    dc.check_environment()
    if not os.access(dc.KPAGEFLAGS, os.R_OK):
        dc.skip('needs %s (CONFIG_PROC_PAGE_MONITOR)' % dc.KPAGEFLAGS)
    kmsg = dc.Kmsg()
    chk = dc.Checker()
    swap = None
    try:
        swap = dc.Swap('128M')
        run(chk, young_filter=False)
        run(chk, young_filter=True)
    except (OSError, dc.SetupError, RuntimeError) as e:
        chk.fail('unexpected error: %s' % e)
    finally:
        dc.cleanup()
        if swap:
            swap.close()
    return chk.finish(kmsg)


if __name__ == '__main__':
    sys.exit(main())
