#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""kdamonds/<K>/refresh_ms: result files the kdamond refreshes by itself.

An access_memory process sweeps one 16 MiB buffer of eight; a vaddr
context monitors it from 5 ms sampling and 100 ms aggregations, with an
intervals goal (400 bp, every 2 aggregations, sampling 2..20 ms) and one
stat scheme that matches every region every 100 ms, with a size quota of
1 GiB per second.  So the kdamond has new stats (nr_tried, sz_tried), an
effective quota (effective_bytes, 1 GiB) and tuned intervals to show, and
the files show them only when refreshed.  Nothing is written to state but
on and off, except where said:

- refresh_ms reads 0 at first; with it 0, for 3 s of running, the stats
  and effective_bytes read 0 and the intervals 5000/100000, although
  update_schemes_stats written then shows nr_tried grew;
- 100, written while on, takes effect: within 30 s nr_tried grows past
  what update_schemes_stats showed and then grows again, effective_bytes
  reads 1 GiB and the intervals move off 5000/100000, keeping their
  ratio of 20;
- 0 again stops the refreshes: after 1 s for one in flight, the files
  stay as they are for 3 s, although update_schemes_stats then shows
  nr_tried grew;
- huge values are taken and mean never: 2^32 + 100 (which cut to 32 bits
  would be 100 ms), 2^63 and 2^64 - 1 read back as written, and the stats
  stay as they are for 3 s after each;
- 100 after 2^64 - 1 takes effect again within 30 s, without a restart;
- at 1 ms, with a writer of update_schemes_stats and a reader of the
  stats busy beside it for 3 s, and with the context directory removed
  and made again while running, the kdamond stays on, and off returns
  within 5 s, the kdamond gone;
- turned on again with refresh_ms 1, the kdamond stops by itself within
  30 s of its target's exit, and nr_kdamonds then takes 0.

Nothing may oops or leak; the kernel log is checked for splats.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

REFRESH_MS = os.path.join(dc.KDAMOND, 'refresh_ms')
GOAL = os.path.join(dc.INTERVALS, 'intervals_goal')
STATS = os.path.join(dc.scheme_dir(0), 'stats')
EFFECTIVE = os.path.join(dc.scheme_dir(0), 'quotas', 'effective_bytes')

SAMPLE_US = 5000
RATIO = 20
QUOTA = 1 << 30
QUIET = 3               # s of watching files that must not change
SETTLE = 1              # s for a refresh in flight to land
REFRESHED = 30          # s for a refresh to show
QUICK = 5               # s for off to return
HUGE = (2 ** 32 + 100, 2 ** 63, dc.ULONG_MAX)


def snapshot():
    """The files a refresh writes, as they read now."""
    return {'stats': dc.read_values(STATS, ('nr_tried', 'sz_tried')),
            'effective_bytes': int(dc.read(EFFECTIVE)),
            'intervals': (int(dc.read(os.path.join(dc.INTERVALS,
                                                   'sample_us'))),
                          int(dc.read(os.path.join(dc.INTERVALS,
                                                   'aggr_us'))))}


def nr_tried():
    return int(dc.read(os.path.join(STATS, 'nr_tried')))


def set_refresh(chk, val):
    err = dc.write(REFRESH_MS, val)
    ok = chk.expect_errno(err, 0, 'writing %d to refresh_ms' % val)
    got = dc.read(REFRESH_MS)
    chk.expect(got == str(val), 'refresh_ms reads %r after writing %d' %
               (got, val))
    return ok


def stays(chk, what, keys=None):
    """Expect the refreshed files not to change for QUIET s, after SETTLE
    s for a refresh already under way."""
    time.sleep(SETTLE)
    before = snapshot()
    time.sleep(QUIET)
    after = snapshot()
    for key in keys or before:
        chk.expect(after[key] == before[key], '%s: %s changed from %s to '
                   '%s in %d s' % (what, key, before[key], after[key],
                                   QUIET))
    return before


def grew_meanwhile(chk, what, before):
    """update_schemes_stats: nr_tried went on growing behind the files."""
    dc.command('update_schemes_stats')
    now = nr_tried()
    chk.expect(now > before, '%s: nr_tried did not grow past %d (%d): '
               'nothing to refresh, the test proves nothing' %
               (what, before, now))
    return now


def refreshes(chk, what, base):
    """Expect nr_tried to grow past base, and then again, with no write to
    state; return the last value."""
    got = dc.wait_for(lambda: nr_tried() > base, REFRESHED, 0.2)
    if not chk.expect(got, '%s: nr_tried stayed %d for %d s' %
                      (what, nr_tried(), REFRESHED)):
        return None
    first = nr_tried()
    got = dc.wait_for(lambda: nr_tried() > first, REFRESHED, 0.2)
    chk.expect(got, '%s: nr_tried refreshed once, to %d, then stayed for '
               '%d s' % (what, first, REFRESHED))
    return nr_tried()


def hammer(stop, errors):
    """Write update_schemes_stats and read the stats until stop is set."""
    while not stop.is_set():
        err = dc.write(dc.STATE, 'update_schemes_stats')
        if err:
            errors.append(dc.errno_name(err))
        dc.read_values(STATS, dc.STATS)


def off_promptly(chk, what, kdamond):
    t0 = time.monotonic()
    err = dc.write(dc.STATE, 'off')
    took = time.monotonic() - t0
    chk.expect_errno(err, 0, '%s: off' % what)
    chk.expect(took < QUICK, '%s: off took %.1f s' % (what, took))
    dc.expect_off(chk, what, kdamond)


def build(workload):
    cfg = dc.config([workload.pid], sample_us=SAMPLE_US,
                    aggr_us=SAMPLE_US * RATIO)
    dc.build(cfg, [dc.scheme(apply_interval_us=100000, quota_bytes=QUOTA,
                             reset_interval_ms=1000)])
    for name, val in (('access_bp', 400), ('aggrs', 2),
                      ('min_sample_us', 2000), ('max_sample_us', 20000)):
        dc.must_write(os.path.join(GOAL, name), val)


def test_refreshes(chk, workload):
    build(workload)
    chk.expect(dc.read(REFRESH_MS) == '0', 'refresh_ms reads %r at first' %
               dc.read(REFRESH_MS))
    kdamond = dc.turn_on(chk, 'on with refresh_ms 0')
    if not kdamond:
        return
    initial = {'stats': {'nr_tried': 0, 'sz_tried': 0},
               'effective_bytes': 0,
               'intervals': (SAMPLE_US, SAMPLE_US * RATIO)}
    chk.expect(stays(chk, 'refresh_ms 0') == initial, 'refresh_ms 0: the '
               'files do not read their initial %s but %s' %
               (initial, snapshot()))
    base = grew_meanwhile(chk, 'refresh_ms 0', 0)

    set_refresh(chk, 100)
    refreshes(chk, 'refresh_ms 100', base)
    chk.expect(dc.wait_for(lambda: int(dc.read(EFFECTIVE)) == QUOTA,
                           REFRESHED, 0.2),
               'refresh_ms 100: effective_bytes reads %s, not %d' %
               (dc.read(EFFECTIVE), QUOTA))
    moved = dc.wait_for(lambda: snapshot()['intervals'] !=
                        initial['intervals'], REFRESHED, 0.2)
    sample, aggr = snapshot()['intervals']
    dc.log('refresh_ms 100: intervals read %d/%d us' % (sample, aggr))
    if chk.expect(moved, 'refresh_ms 100: the intervals still read %d/%d '
                  'us after %d s' % (sample, aggr, REFRESHED)):
        chk.expect(aggr == RATIO * sample, 'refresh_ms 100: intervals '
                   'refreshed to %d/%d us, not a ratio of %d' %
                   (sample, aggr, RATIO))

    set_refresh(chk, 0)
    quiet = stays(chk, 'refresh_ms 0 again')
    grew_meanwhile(chk, 'refresh_ms 0 again',
                   quiet['stats']['nr_tried'])

    for val in HUGE:
        set_refresh(chk, val)
        quiet = stays(chk, 'refresh_ms %d' % val, ('stats',))
        grew_meanwhile(chk, 'refresh_ms %d' % val,
                       quiet['stats']['nr_tried'])

    # The due time is not computed at the huge value's write.
    base = nr_tried()
    set_refresh(chk, 100)
    refreshes(chk, 'refresh_ms 100 after %d' % dc.ULONG_MAX, base)

    set_refresh(chk, 1)
    stop = threading.Event()
    errors = []
    writer = threading.Thread(target=hammer, args=(stop, errors))
    writer.start()
    time.sleep(QUIET)
    stop.set()
    writer.join()
    chk.expect(not errors, 'refresh_ms 1: update_schemes_stats failed '
               'with %s' % sorted(set(errors)))
    dc.must_write(os.path.join(dc.CONTEXTS, 'nr_contexts'), 0)
    time.sleep(SETTLE)
    dc.must_write(os.path.join(dc.CONTEXTS, 'nr_contexts'), 1)
    time.sleep(SETTLE)
    chk.expect(dc.state() == 'on' and dc.kdamond_pid() == kdamond,
               'refresh_ms 1: the kdamond did not stay on')
    off_promptly(chk, 'off at refresh_ms 1', kdamond)


def test_target_exit(chk, workload):
    build(workload)
    set_refresh(chk, 1)
    kdamond = dc.turn_on(chk, 'on with refresh_ms 1')
    if not kdamond:
        return
    base = refreshes(chk, 'refresh_ms 1', 0)
    dc.log('refresh_ms 1: nr_tried refreshed to %s' % base)
    workload.kill()
    chk.expect(dc.wait_for(lambda: dc.state() == 'off', dc.EXIT_TIMEOUT),
               'the kdamond is still on %d s after its target exited' %
               dc.EXIT_TIMEOUT)
    dc.expect_off(chk, 'target exited', kdamond)
    err = dc.write(os.path.join(dc.KDAMONDS, 'nr_kdamonds'), 0)
    chk.expect_errno(err, 0, 'nr_kdamonds 0 after the target exited')


def test(chk):
    if not os.path.exists(os.path.join(dc.KDAMONDS, 'nr_kdamonds')):
        dc.skip('no kdamonds directory')
    dc.must_write(os.path.join(dc.KDAMONDS, 'nr_kdamonds'), 1)
    if not os.path.exists(REFRESH_MS):
        dc.skip('no refresh_ms (Linux 6.17)')
    for case in (test_refreshes, test_target_exit):
        workload = dc.Workload(8, 16, [(0, [0])])
        try:
            case(chk, workload)
        finally:
            workload.kill()
            dc.cleanup()


if __name__ == '__main__':
    sys.exit(dc.run(test))
