#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turning a kdamond on and off through DAMON's sysfs ABI.

- 100 cycles of on, commit (with a changed aggregation interval) and off
  on a live workload: on starts a kdamond (state reads on, pid reads the
  pid of a kdamond.N thread), a second on and writing nr_kdamonds fail
  with EBUSY while it runs, commit succeeds, and off stops it (state off,
  pid -1, the thread gone).  Keywords are written with and without a
  trailing newline.
- When the monitored process exits, the kdamond stops by itself within
  30 s: state reads off and pid -1; then on works again, with a new
  kdamond, for another process.
- on with a pid_target no process has, never used or of a process
  already reaped, fails with EINVAL and starts nothing: state reads off,
  pid -1, and no kdamond.N thread appears; on with a live pid afterwards
  starts exactly one.
- Removing the regions, targets or context directories of a running
  kdamond (writing 0 to nr_regions, nr_targets or nr_contexts) leaves it
  running with what it was given; a commit afterwards may fail but does
  not break anything; then off works and the tree can be used again.
"""

import errno
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

CYCLES = 100
STATE = os.path.join(dc.KDAMOND, 'state')
NR_KDAMONDS = os.path.join(dc.KDAMONDS, 'nr_kdamonds')


class Test(dc.Checker):

    def cycles(self):
        workload = dc.Workload(1, 4, [(0, [0])])
        try:
            dc.build(dc.config([workload.pid]))
            aggr = os.path.join(dc.INTERVALS, 'aggr_us')
            t0 = time.monotonic()
            pids = set()
            for i in range(CYCLES):
                what = 'cycle %d' % i
                nl = '\n' if i % 2 else ''
                err = dc.write(STATE, 'on' + nl)
                if not self.expect(err == 0, '%s: on failed with %s' %
                                   (what, dc.errno_name(err))):
                    break
                st, pid = dc.state(), dc.kdamond_pid()
                self.expect(st == 'on', '%s: state reads %r after on' %
                            (what, st))
                if not self.expect(pid > 0 and dc.is_kdamond(pid),
                                   '%s: pid reads %d after on, not a '
                                   'kdamond' % (what, pid)):
                    break
                pids.add(pid)
                err = dc.write(STATE, 'on')
                self.expect_errno(err, errno.EBUSY, '%s: on while on' % what)
                err = dc.write(NR_KDAMONDS, '1')
                self.expect_errno(err, errno.EBUSY,
                                  '%s: nr_kdamonds while on' % what)
                self.expect(os.path.isdir(dc.CTX), '%s: writing nr_kdamonds'
                            ' while on removed the context' % what)
                dc.must_write(aggr, 100000 * (1 + i % 3))
                err = dc.write(STATE, 'commit' + nl)
                self.expect(err == 0, '%s: commit failed with %s' %
                            (what, dc.errno_name(err)))
                self.expect(dc.state() == 'on' and dc.kdamond_pid() == pid,
                            '%s: state %s, pid %d after commit, want on and'
                            ' %d' % (what, dc.state(), dc.kdamond_pid(), pid))
                err = dc.write(STATE, 'off' + nl)
                self.expect(err == 0, '%s: off failed with %s' %
                            (what, dc.errno_name(err)))
                dc.expect_off(self, what, pid)
                if self.fails:
                    break
            took = time.monotonic() - t0
            dc.log('%d on/commit/off cycles in %.1f s, %d kdamond pids' %
                   (i + 1, took, len(pids)))
            self.expect(workload.alive(), 'the workload died')

            err = dc.write(STATE, 'commit')
            dc.log('commit while off gave %s' % dc.errno_name(err))
            self.expect(dc.state() == 'off' and dc.kdamond_pid() == -1,
                        'commit while off: state %s, pid %d' %
                        (dc.state(), dc.kdamond_pid()))
            err = dc.write(NR_KDAMONDS, '0')
            self.expect(err == 0, 'nr_kdamonds 0 while off failed with %s'
                        % dc.errno_name(err))
        finally:
            dc.cleanup()
            workload.kill()

    def target_exits(self):
        what = 'target exits'
        first = dc.Workload(1, 4, [(0, [0])])
        second = None
        try:
            dc.build(dc.config([first.pid]))
            pid = dc.turn_on(self, what)
            if not pid:
                return
            time.sleep(0.5)
            first.kill()
            t0 = time.monotonic()
            stopped = dc.wait_for(lambda: dc.state() == 'off',
                                  dc.EXIT_TIMEOUT)
            if not self.expect(stopped, '%s: state reads %r %d s after the '
                               'target exited' % (what, dc.state(),
                                                  dc.EXIT_TIMEOUT)):
                return
            dc.log('%s: state reads off %.1f s after the target exited' %
                   (what, time.monotonic() - t0))
            dc.expect_off(self, what, pid)

            what = 'on after the target exited'
            second = dc.Workload(1, 4, [(0, [0])])
            dc.must_write(os.path.join(dc.target_dir(0), 'pid_target'),
                          second.pid)
            new_pid = dc.turn_on(self, what)
            if new_pid:
                self.expect(new_pid != pid, '%s: pid %d, as the kdamond '
                            'before' % (what, new_pid))
                time.sleep(0.5)
                self.expect(dc.state() == 'on' and
                            dc.kdamond_pid() == new_pid,
                            '%s: state %s, pid %d half a second later' %
                            (what, dc.state(), dc.kdamond_pid()))
                dc.turn_off(self, what, new_pid)
        finally:
            dc.cleanup()
            first.kill()
            if second:
                second.kill()

    def bad_pids(self):
        gone = dc.Workload(1, 1, [(1, [0])])
        gone.kill()
        live = dc.Workload(1, 4, [(0, [0])])
        try:
            before = set(dc.kdamonds())
            dc.build(dc.config([live.pid]))
            pid_target = os.path.join(dc.target_dir(0), 'pid_target')
            for what, pid in (('unused pid', dc.unused_pid()),
                              ('pid of a reaped process', gone.pid)):
                dc.must_write(pid_target, pid)
                err = dc.write(STATE, 'on')
                self.expect_errno(err, errno.EINVAL, '%s: on' % what)
                time.sleep(0.5)
                new = set(dc.kdamonds()) - before
                self.expect(dc.state() == 'off' and dc.kdamond_pid() == -1
                            and not new, '%s: state %s, pid %d, new '
                            'kdamonds %s after a failed on' % (
                                what, dc.state(), dc.kdamond_pid(),
                                sorted(new)))

            what = 'live pid after bad ones'
            dc.must_write(pid_target, live.pid)
            pid = dc.turn_on(self, what)
            if pid:
                time.sleep(0.5)
                new = set(dc.kdamonds()) - before
                self.expect(new == {pid}, '%s: new kdamonds %s, want only '
                            '%d' % (what, sorted(new), pid))
                dc.turn_off(self, what, pid)
        finally:
            dc.cleanup()
            live.kill()

    def remove_while_on(self, nr_rel, workload):
        """Write 0 to nr_rel (under the context) while the kdamond runs."""
        what = 'nr_%s 0 while on' % nr_rel.split('nr_')[-1]
        start, end = workload.buffers[0]
        cfg = dc.config([workload.pid], ops='fvaddr',
                        regions=[[(start, end)]], min_nr=3, max_nr=30)
        dc.build(cfg)
        pid = dc.turn_on(self, what)
        if not pid:
            return
        err = dc.write(os.path.join(dc.CTX if 'contexts' not in nr_rel
                                    else dc.KDAMOND, nr_rel), 0)
        dc.log('%s: the write gave %s' % (what, dc.errno_name(err)))
        time.sleep(0.3)
        self.expect(dc.state() == 'on' and dc.kdamond_pid() == pid,
                    '%s: state %s, pid %d, want on and %d: files are not '
                    'to touch a running kdamond' % (what, dc.state(),
                                                    dc.kdamond_pid(), pid))
        err = dc.write(STATE, 'commit')
        time.sleep(0.3)
        st, now = dc.state(), dc.kdamond_pid()
        dc.log('%s: commit gave %s; state %s, pid %d' %
               (what, dc.errno_name(err), st, now))
        self.expect((st == 'on' and now == pid) or
                    (st == 'off' and now == -1),
                    '%s: state %s with pid %d after commit' % (what, st, now))
        err = dc.write(STATE, 'off')
        if st == 'on':
            self.expect(err == 0, '%s: off failed with %s' %
                        (what, dc.errno_name(err)))
        dc.expect_off(self, what, pid)
        err = dc.write(NR_KDAMONDS, 0)
        self.expect(err == 0, '%s: nr_kdamonds 0 failed with %s' %
                    (what, dc.errno_name(err)))

        # The tree still works.
        dc.build(cfg)
        pid = dc.turn_on(self, what + ', then on again')
        if pid:
            dc.turn_off(self, what + ', then off again', pid)
        dc.must_write(NR_KDAMONDS, 0)

    def removals(self):
        workload = dc.Workload(1, 4, [(0, [0])])
        try:
            for nr_rel in ('targets/0/regions/nr_regions',
                           'targets/nr_targets', 'contexts/nr_contexts'):
                self.remove_while_on(nr_rel, workload)
                dc.cleanup()
            self.expect(workload.alive(), 'the workload died')
        finally:
            dc.cleanup()
            workload.kill()

    def run(self):
        for step in (self.cycles, self.target_exits, self.bad_pids,
                     self.removals):
            try:
                step()
            except (OSError, dc.SetupError, RuntimeError) as e:
                self.fail('%s: unexpected error: %s' % (step.__name__, e))


def main():
    dc.check_environment()
    kmsg = dc.Kmsg()
    test = Test()
    try:
        test.run()
    finally:
        dc.cleanup()
    test.expect(dc.read(NR_KDAMONDS) == '0', 'nr_kdamonds is not 0 at the '
                'end')
    return test.finish(kmsg)


if __name__ == '__main__':
    sys.exit(main())
