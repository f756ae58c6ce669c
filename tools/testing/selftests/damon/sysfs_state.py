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
import sysfs_common as sc   # noqa: E402

CYCLES = 100
STATE = os.path.join(sc.KDAMOND, 'state')
NR_KDAMONDS = os.path.join(sc.KDAMONDS, 'nr_kdamonds')


class Test(sc.Checker):

    def cycles(self):
        workload = sc.Workload(1, 4, [(0, [0])])
        try:
            sc.build(sc.config([workload.pid]))
            aggr = os.path.join(sc.INTERVALS, 'aggr_us')
            t0 = time.monotonic()
            pids = set()
            for i in range(CYCLES):
                what = 'cycle %d' % i
                nl = '\n' if i % 2 else ''
                err = sc.write(STATE, 'on' + nl)
                if not self.expect(err == 0, '%s: on failed with %s' %
                                   (what, sc.errno_name(err))):
                    break
                st, pid = sc.state(), sc.kdamond_pid()
                self.expect(st == 'on', '%s: state reads %r after on' %
                            (what, st))
                if not self.expect(pid > 0 and sc.is_kdamond(pid),
                                   '%s: pid reads %d after on, not a '
                                   'kdamond' % (what, pid)):
                    break
                pids.add(pid)
                err = sc.write(STATE, 'on')
                self.expect_errno(err, errno.EBUSY, '%s: on while on' % what)
                err = sc.write(NR_KDAMONDS, '1')
                self.expect_errno(err, errno.EBUSY,
                                  '%s: nr_kdamonds while on' % what)
                self.expect(os.path.isdir(sc.CTX), '%s: writing nr_kdamonds'
                            ' while on removed the context' % what)
                sc.must_write(aggr, 100000 * (1 + i % 3))
                err = sc.write(STATE, 'commit' + nl)
                self.expect(err == 0, '%s: commit failed with %s' %
                            (what, sc.errno_name(err)))
                self.expect(sc.state() == 'on' and sc.kdamond_pid() == pid,
                            '%s: state %s, pid %d after commit, want on and'
                            ' %d' % (what, sc.state(), sc.kdamond_pid(), pid))
                err = sc.write(STATE, 'off' + nl)
                self.expect(err == 0, '%s: off failed with %s' %
                            (what, sc.errno_name(err)))
                sc.expect_off(self, what, pid)
                if self.fails:
                    break
            took = time.monotonic() - t0
            sc.log('%d on/commit/off cycles in %.1f s, %d kdamond pids' %
                   (i + 1, took, len(pids)))
            self.expect(workload.alive(), 'the workload died')

            err = sc.write(STATE, 'commit')
            sc.log('commit while off gave %s' % sc.errno_name(err))
            self.expect(sc.state() == 'off' and sc.kdamond_pid() == -1,
                        'commit while off: state %s, pid %d' %
                        (sc.state(), sc.kdamond_pid()))
            err = sc.write(NR_KDAMONDS, '0')
            self.expect(err == 0, 'nr_kdamonds 0 while off failed with %s'
                        % sc.errno_name(err))
        finally:
            sc.cleanup()
            workload.kill()

    def target_exits(self):
        what = 'target exits'
        first = sc.Workload(1, 4, [(0, [0])])
        second = None
        try:
            sc.build(sc.config([first.pid]))
            pid = sc.turn_on(self, what)
            if not pid:
                return
            time.sleep(0.5)
            first.kill()
            t0 = time.monotonic()
            stopped = sc.wait_for(lambda: sc.state() == 'off',
                                  sc.EXIT_TIMEOUT)
            if not self.expect(stopped, '%s: state reads %r %d s after the '
                               'target exited' % (what, sc.state(),
                                                  sc.EXIT_TIMEOUT)):
                return
            sc.log('%s: state reads off %.1f s after the target exited' %
                   (what, time.monotonic() - t0))
            sc.expect_off(self, what, pid)

            what = 'on after the target exited'
            second = sc.Workload(1, 4, [(0, [0])])
            sc.must_write(os.path.join(sc.target_dir(0), 'pid_target'),
                          second.pid)
            new_pid = sc.turn_on(self, what)
            if new_pid:
                self.expect(new_pid != pid, '%s: pid %d, as the kdamond '
                            'before' % (what, new_pid))
                time.sleep(0.5)
                self.expect(sc.state() == 'on' and
                            sc.kdamond_pid() == new_pid,
                            '%s: state %s, pid %d half a second later' %
                            (what, sc.state(), sc.kdamond_pid()))
                sc.turn_off(self, what, new_pid)
        finally:
            sc.cleanup()
            first.kill()
            if second:
                second.kill()

    def bad_pids(self):
        gone = sc.Workload(1, 1, [(1, [0])])
        gone.kill()
        live = sc.Workload(1, 4, [(0, [0])])
        try:
            before = set(sc.wc.kdamonds())
            sc.build(sc.config([live.pid]))
            pid_target = os.path.join(sc.target_dir(0), 'pid_target')
            for what, pid in (('unused pid', sc.unused_pid()),
                              ('pid of a reaped process', gone.pid)):
                sc.must_write(pid_target, pid)
                err = sc.write(STATE, 'on')
                self.expect_errno(err, errno.EINVAL, '%s: on' % what)
                time.sleep(0.5)
                new = set(sc.wc.kdamonds()) - before
                self.expect(sc.state() == 'off' and sc.kdamond_pid() == -1
                            and not new, '%s: state %s, pid %d, new '
                            'kdamonds %s after a failed on' % (
                                what, sc.state(), sc.kdamond_pid(),
                                sorted(new)))

            what = 'live pid after bad ones'
            sc.must_write(pid_target, live.pid)
            pid = sc.turn_on(self, what)
            if pid:
                time.sleep(0.5)
                new = set(sc.wc.kdamonds()) - before
                self.expect(new == {pid}, '%s: new kdamonds %s, want only '
                            '%d' % (what, sorted(new), pid))
                sc.turn_off(self, what, pid)
        finally:
            sc.cleanup()
            live.kill()

    def remove_while_on(self, nr_rel, workload):
        """Write 0 to nr_rel (under the context) while the kdamond runs."""
        what = 'nr_%s 0 while on' % nr_rel.split('nr_')[-1]
        start, end = workload.buffers[0]
        cfg = sc.config([workload.pid], ops='fvaddr',
                        regions=[[(start, end)]], min_nr=3, max_nr=30)
        sc.build(cfg)
        pid = sc.turn_on(self, what)
        if not pid:
            return
        err = sc.write(os.path.join(sc.CTX if 'contexts' not in nr_rel
                                    else sc.KDAMOND, nr_rel), 0)
        sc.log('%s: the write gave %s' % (what, sc.errno_name(err)))
        time.sleep(0.3)
        self.expect(sc.state() == 'on' and sc.kdamond_pid() == pid,
                    '%s: state %s, pid %d, want on and %d: files are not '
                    'to touch a running kdamond' % (what, sc.state(),
                                                    sc.kdamond_pid(), pid))
        err = sc.write(STATE, 'commit')
        time.sleep(0.3)
        st, now = sc.state(), sc.kdamond_pid()
        sc.log('%s: commit gave %s; state %s, pid %d' %
               (what, sc.errno_name(err), st, now))
        self.expect((st == 'on' and now == pid) or
                    (st == 'off' and now == -1),
                    '%s: state %s with pid %d after commit' % (what, st, now))
        err = sc.write(STATE, 'off')
        if st == 'on':
            self.expect(err == 0, '%s: off failed with %s' %
                        (what, sc.errno_name(err)))
        sc.expect_off(self, what, pid)
        err = sc.write(NR_KDAMONDS, 0)
        self.expect(err == 0, '%s: nr_kdamonds 0 failed with %s' %
                    (what, sc.errno_name(err)))

        # The tree still works.
        sc.build(cfg)
        pid = sc.turn_on(self, what + ', then on again')
        if pid:
            sc.turn_off(self, what + ', then off again', pid)
        sc.must_write(NR_KDAMONDS, 0)

    def removals(self):
        workload = sc.Workload(1, 4, [(0, [0])])
        try:
            for nr_rel in ('targets/0/regions/nr_regions',
                           'targets/nr_targets', 'contexts/nr_contexts'):
                self.remove_while_on(nr_rel, workload)
                sc.cleanup()
            self.expect(workload.alive(), 'the workload died')
        finally:
            sc.cleanup()
            workload.kill()

    def run(self):
        for step in (self.cycles, self.target_exits, self.bad_pids,
                     self.removals):
            try:
                step()
            except (OSError, sc.SetupError, RuntimeError) as e:
                self.fail('%s: unexpected error: %s' % (step.__name__, e))


def main():
    sc.check_environment()
    kmsg = sc.Kmsg()
    test = Test()
    try:
        test.run()
    finally:
        sc.cleanup()
    test.expect(sc.read(NR_KDAMONDS) == '0', 'nr_kdamonds is not 0 at the '
                'end')
    return test.finish(kmsg)


if __name__ == '__main__':
    sys.exit(main())
