#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tried-regions updates that cannot finish the ordinary way.

update_schemes_tried_regions waits for every scheme's next apply pass.
With a long aggregation interval (100 ms sampling, 3 s aggregation, so
that the wait is long) and one stat scheme every region matches:

- the target exits while the update waits: the write returns within
  10 s of the exit, with 0, ECANCELED or EINVAL, and the kdamond stops by
  itself (state off) within 30 s;  the update was still waiting when the
  target was killed, 0.5 s after it began;
- nr_schemes is written 0 while an update waits (three times, 0.2, 0.6
  and 1.0 s into the wait, at 2 s aggregations): both writes return
  within 15 s, the update with 0 or ECANCELED and nr_schemes with 0; the
  schemes directory is then empty and the kdamond still on;
- off is written while an update waits: both return within 15 s, off
  with 0, and the kdamond is gone;
- off is written while an update waits for a scheme applied every 30 s
  (at 100 ms aggregations): reading pid answers within 5 s, off returns
  0 within 5 s, the update follows within 5 s with 0 or ECANCELED, and
  the kdamond is gone: an update must not keep the kdamond from being
  stopped, nor the rest of the files from being used, for as long as an
  apply interval;
- two updates at once return within 15 s, with 0 or EBUSY, and at least
  one with 0;
- with no scheme directory, the update returns within 5 s (0, EINVAL or
  ECANCELED) and nothing is filled; with a scheme directory but no scheme
  in the running context (nr_schemes 0 committed, then 1 written), the
  update fails with ECANCELED or EINVAL within 5 s, and
  update_schemes_tried_bytes too, and tried_regions stays empty;
- with the kdamond off, update_schemes_tried_regions,
  update_schemes_tried_bytes, update_schemes_stats,
  update_schemes_effective_quotas and commit_schemes_quota_goals fail
  with EINVAL at once, and clear_schemes_tried_regions succeeds.

Nothing may oops; the kernel log is checked for splats.  Leaves kdamond 0
off and nr_kdamonds 0.
"""

import errno
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

SCHEME = os.path.join(dc.SCHEMES, '0')
TRIED = os.path.join(SCHEME, 'tried_regions')

EXIT_RETURN = 10        # s for a waiting update to return once the
                        # target exited
RACE_RETURN = 15        # s for racing writes to return
QUICK_RETURN = 5        # s for an update that has nothing to wait for
PENDING_AFTER = 0.5     # s into the wait at which it must still wait
RACE_AGGR_US = 2000000  # aggregation interval of the racing cases
LONG_APPLY_US = 30000000


class Writer(threading.Thread):
    """One write to a file, in the background, timed."""

    def __init__(self, path, val, read=None):
        super().__init__(daemon=True)
        self.path = path or read
        self.val = val
        self.reading = read is not None
        self.err = None
        self.t1 = None
        self.t0 = time.monotonic()
        self.start()

    def run(self):
        if self.reading:
            self.val = dc.read(self.path)
        else:
            self.err = dc.write(self.path, self.val)
        self.t1 = time.monotonic()

    def done_within(self, t):
        """Wait up to t s from now; whether the write returned."""
        self.join(t)
        return not self.is_alive()


def configure_scheme():
    dc.must_write(dc.NR_SCHEMES, 1)
    dc.must_write(os.path.join(SCHEME, 'action'), 'stat')
    pattern = os.path.join(SCHEME, 'access_pattern')
    for name, hi in (('sz', dc.ULONG_MAX), ('nr_accesses', dc.UINT_MAX),
                     ('age', dc.UINT_MAX)):
        dc.must_write(os.path.join(pattern, name, 'min'), 0)
        dc.must_write(os.path.join(pattern, name, 'max'), hi)


def nr_tried_dirs():
    return sum(1 for n in os.listdir(TRIED) if n.isdigit())


class Test(dc.Checker):

    def start(self, what, workload, aggr_us, apply_interval_us=0):
        try:
            dc.build(dc.config([workload.pid], sample_us=min(100000,
                                                              aggr_us),
                               aggr_us=aggr_us, min_nr=10, max_nr=100))
            configure_scheme()
            dc.must_write(os.path.join(SCHEME, 'apply_interval_us'),
                          apply_interval_us)
        except dc.SetupError as e:
            self.fail('%s: %s' % (what, e))
            return None
        return dc.turn_on(self, what)

    def expect_returned(self, what, writer, timeout, want):
        if not self.expect(writer.done_within(timeout), '%s: writing %s '
                           'did not return in %d s' % (what, writer.val,
                                                       timeout)):
            return False
        dc.log('%s: writing %s returned %s after %.2f s' % (
            what, writer.val, dc.errno_name(writer.err),
            writer.t1 - writer.t0))
        self.expect_errno(writer.err, want, '%s: writing %s' %
                          (what, writer.val))
        return True

    def target_exits(self):
        what = 'target exits during the update'
        workload = dc.Workload(1, 4, [(0, None)])
        try:
            kdamond = self.start(what, workload, 3000000)
            if not kdamond:
                return
            upd = Writer(dc.STATE, 'update_schemes_tried_regions')
            time.sleep(PENDING_AFTER)
            pending = upd.is_alive()
            t_exit = time.monotonic()
            workload.kill()
        finally:
            workload.kill()
        if not self.expect(pending, '%s: the update returned %s before '
                           'the target exited, after %.2f s: it did not '
                           'wait for an apply pass' % (
                               what, dc.errno_name(upd.err),
                               (upd.t1 or 0) - upd.t0)):
            upd.join(RACE_RETURN)
        elif self.expect_returned(what, upd, EXIT_RETURN,
                                  (0, errno.ECANCELED, errno.EINVAL)):
            dc.log('%s: returned %.2f s after the kill' %
                   (what, upd.t1 - t_exit))
        self.expect(dc.wait_for(lambda: dc.state() == 'off',
                                dc.EXIT_TIMEOUT),
                    '%s: state %s %d s after the exit' %
                    (what, dc.state(), dc.EXIT_TIMEOUT))
        dc.expect_off(self, what, kdamond)
        self.kdamond_off('after the target exited')

    def schemes_removed(self, workload):
        for i, delay in enumerate((0.2, 0.6, 1.0)):
            what = 'nr_schemes 0 during update %d' % i
            kdamond = self.start(what, workload, RACE_AGGR_US)
            if not kdamond:
                return
            upd = Writer(dc.STATE, 'update_schemes_tried_regions')
            time.sleep(delay)
            self.expect(upd.is_alive(), '%s: the update returned %s '
                        'before %.1f s' % (what, dc.errno_name(upd.err),
                                           delay))
            rm = Writer(dc.NR_SCHEMES, '0')
            self.expect_returned(what, upd, RACE_RETURN,
                                 (0, errno.ECANCELED))
            self.expect_returned(what, rm, RACE_RETURN, 0)
            self.expect(dc.read(dc.NR_SCHEMES) == '0' and
                        not os.path.exists(SCHEME),
                        '%s: nr_schemes %s, scheme 0 %s' % (
                            what, dc.read(dc.NR_SCHEMES),
                            'there' if os.path.exists(SCHEME) else 'gone'))
            self.expect(dc.state() == 'on' and dc.kdamond_pid() == kdamond,
                        '%s: state %s, pid %d, want on and %d' % (
                            what, dc.state(), dc.kdamond_pid(), kdamond))
            dc.turn_off(self, what, kdamond)

    def off_during_update(self, workload):
        what = 'off during the update'
        kdamond = self.start(what, workload, RACE_AGGR_US)
        if not kdamond:
            return
        upd = Writer(dc.STATE, 'update_schemes_tried_regions')
        time.sleep(0.3)
        self.expect(upd.is_alive(), '%s: the update returned %s before '
                    '0.3 s' % (what, dc.errno_name(upd.err)))
        off = Writer(dc.STATE, 'off')
        self.expect_returned(what, upd, RACE_RETURN, (0, errno.ECANCELED))
        self.expect_returned(what, off, RACE_RETURN, 0)
        dc.expect_off(self, what, kdamond)

    def off_during_long_update(self, workload):
        what = 'off during an update waiting for a %d s apply interval' % (
            LONG_APPLY_US // 1000000)
        kdamond = self.start(what, workload, 100000,
                             apply_interval_us=LONG_APPLY_US)
        if not kdamond:
            return
        upd = Writer(dc.STATE, 'update_schemes_tried_regions')
        time.sleep(1)
        self.expect(upd.is_alive(), '%s: the update returned %s at once' %
                    (what, dc.errno_name(upd.err)))
        reader = Writer(None, None, read=os.path.join(dc.KDAMOND, 'pid'))
        self.expect(reader.done_within(QUICK_RETURN), '%s: reading pid '
                    'took more than %d s' % (what, QUICK_RETURN))
        off = Writer(dc.STATE, 'off')
        self.expect_returned(what, off, QUICK_RETURN, 0)
        self.expect_returned(what, upd, QUICK_RETURN,
                             (0, errno.ECANCELED))
        # Let a failed case end before the next one starts.
        off.join(LONG_APPLY_US / 1000000 * 3)
        upd.join(LONG_APPLY_US / 1000000 * 3)
        dc.expect_off(self, what, kdamond)

    def two_updates(self, workload):
        what = 'two updates at once'
        kdamond = self.start(what, workload, 1000000)
        if not kdamond:
            return
        upds = [Writer(dc.STATE, 'update_schemes_tried_regions')
                for _ in range(2)]
        # The second may wait for its own pass, or be turned away.
        for upd in upds:
            self.expect_returned(what, upd, RACE_RETURN, (0, errno.EBUSY))
        self.expect(0 in [upd.err for upd in upds],
                    '%s: neither update succeeded' % what)
        dc.turn_off(self, what, kdamond)

    def no_schemes(self, workload):
        what = 'no scheme directory'
        kdamond = self.start(what, workload, 1000000)
        if not kdamond:
            return
        dc.must_write(dc.NR_SCHEMES, 0)
        upd = Writer(dc.STATE, 'update_schemes_tried_regions')
        self.expect_returned(what, upd, QUICK_RETURN,
                             (0, errno.EINVAL, errno.ECANCELED))

        what = 'no scheme in the running context'
        err = dc.write(dc.STATE, 'commit')
        self.expect(err == 0, '%s: committing nr_schemes 0 failed with %s'
                    % (what, dc.errno_name(err)))
        dc.must_write(dc.NR_SCHEMES, 1)
        for cmd in ('update_schemes_tried_regions',
                    'update_schemes_tried_bytes'):
            upd = Writer(dc.STATE, cmd)
            self.expect_returned(what, upd, QUICK_RETURN,
                                 (errno.ECANCELED, errno.EINVAL))
        self.expect(nr_tried_dirs() == 0 and
                    dc.read(os.path.join(TRIED, 'total_bytes')) == '0',
                    '%s: %d tried regions, total_bytes %s' % (
                        what, nr_tried_dirs(),
                        dc.read(os.path.join(TRIED, 'total_bytes'))))
        self.expect(dc.state() == 'on' and dc.kdamond_pid() == kdamond,
                    '%s: state %s, pid %d, want on and %d' % (
                        what, dc.state(), dc.kdamond_pid(), kdamond))
        dc.turn_off(self, what, kdamond)

    def kdamond_off(self, what):
        """Every command that needs a running kdamond fails at once."""
        for cmd in ('update_schemes_tried_regions',
                    'update_schemes_tried_bytes', 'update_schemes_stats',
                    'update_schemes_effective_quotas',
                    'commit_schemes_quota_goals'):
            w = Writer(dc.STATE, cmd)
            self.expect_returned('kdamond off, ' + what, w, QUICK_RETURN,
                                 errno.EINVAL)
        w = Writer(dc.STATE, 'clear_schemes_tried_regions')
        self.expect_returned('kdamond off, ' + what, w, QUICK_RETURN, 0)

    def run(self):
        self.target_exits()
        workload = dc.Workload(1, 4, [(0, None)])
        try:
            self.schemes_removed(workload)
            self.off_during_update(workload)
            self.off_during_long_update(workload)
            self.kdamond_off('after off')
            self.two_updates(workload)
            self.no_schemes(workload)
        finally:
            workload.kill()


def main():
    dc.check_environment()
    kmsg = dc.Kmsg()
    test = Test()
    try:
        test.run()
    except (OSError, dc.SetupError, RuntimeError) as e:
        test.fail('unexpected error: %s' % e)
    finally:
        dc.cleanup()
    return test.finish(kmsg)


if __name__ == '__main__':
    sys.exit(main())
