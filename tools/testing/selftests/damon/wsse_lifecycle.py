#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The wsse sample's parameters (damon_sample_wsse.enable, target_pid).

The life cycle of the kdamond the sample starts and stops, as the
sample's user sees it; that of kdamonds in general is tested through the
sysfs ABI, by sysfs_state.py.

- A pid that does not exist (never used, or of a process already reaped)
  makes writing Y to enable fail with EINVAL, leaves enable N and starts
  no kdamond.
- Enabling starts exactly one kdamond.N thread, which reports estimates.
- When the monitored process exits, the kdamond exits by itself and
  enable reads N; writing N afterwards still works.
- Writing N stops a running kdamond.
- enable can be cycled several times, and rewriting the value it has is
  a no-op; nothing splats (KASAN, lockdep, ...) and, where kmemleak is
  available, nothing leaks.

Timing bounds are generous, for emulated test machines.
"""

import errno
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

START_TIMEOUT = 10      # s for a kdamond to show up after enable=Y
STOP_TIMEOUT = 10       # s for it to be gone after enable=N
EXIT_TIMEOUT = 30       # s for it to exit after its target did
CYCLES = 5
KMEMLEAK = '/sys/kernel/debug/kmemleak'


class Test:
    def __init__(self):
        self.fails = []
        self.baseline = dc.kdamonds()
        self.kmsg = dc.Kmsg()

    def fail(self, msg):
        dc.log('FAIL: ' + msg)
        self.fails.append(msg)

    def new_kdamonds(self):
        return {p: c for p, c in dc.kdamonds().items()
                if p not in self.baseline}

    def expect_no_kdamond(self, what, timeout=STOP_TIMEOUT):
        t0 = time.monotonic()
        left = dc.wait_for(lambda: not self.new_kdamonds(), timeout)
        if not left:
            self.fail('%s: kdamond still there after %d s: %s' %
                      (what, timeout, self.new_kdamonds()))
            return None
        return time.monotonic() - t0

    def enable(self, what):
        """Write Y; expect exactly one new kdamond; return its pid."""
        err = dc.write_param('enable', 'Y')
        if err:
            self.fail('%s: enable=Y failed with %s' %
                      (what, dc.errno_name(err)))
            return None
        if dc.read_param('enable') != 'Y':
            self.fail('%s: enable reads %s after Y' %
                      (what, dc.read_param('enable')))
        threads = dc.wait_for(self.new_kdamonds, START_TIMEOUT)
        if len(threads) != 1:
            self.fail('%s: want one new kdamond, have %s' % (what, threads))
            return None
        # Let it settle: no second thread must follow.
        time.sleep(0.3)
        if len(self.new_kdamonds()) != 1:
            self.fail('%s: more kdamonds: %s' % (what, self.new_kdamonds()))
        pid, comm = next(iter(threads.items()))
        dc.log('%s: %s (pid %d) runs' % (what, comm, pid))
        return pid

    def disable(self, what):
        err = dc.write_param('enable', 'N')
        if err:
            self.fail('%s: enable=N failed with %s' %
                      (what, dc.errno_name(err)))
        if dc.read_param('enable') != 'N':
            self.fail('%s: enable reads %s after N' %
                      (what, dc.read_param('enable')))

    def expect_einval(self, pid, what):
        err = dc.write_param('target_pid', pid)
        if err:
            self.fail('%s: cannot write target_pid %d: %s' %
                      (what, pid, dc.errno_name(err)))
            return
        err = dc.write_param('enable', 'Y')
        dc.log('%s (pid %d): enable=Y gave %s' % (what, pid,
                                                  dc.errno_name(err)))
        if err != errno.EINVAL:
            self.fail('%s: enable=Y gave %s, not EINVAL' %
                      (what, dc.errno_name(err)))
        if dc.read_param('enable') != 'N':
            self.fail('%s: enable reads %s after a failed start' %
                      (what, dc.read_param('enable')))
            dc.write_param('enable', 'N')
        time.sleep(1)
        if self.new_kdamonds():
            self.fail('%s: a kdamond runs: %s' % (what, self.new_kdamonds()))
            dc.write_param('enable', 'N')
            self.expect_no_kdamond(what)

    def invalid_pids(self):
        with open('/proc/sys/kernel/pid_max') as f:
            pid = int(f.read()) - 1
        while os.path.exists('/proc/%d' % pid):
            pid -= 1
        self.expect_einval(pid, 'unused pid')

        gone = dc.Workload(1, 1, [(1, [0])])
        gone.kill()
        self.expect_einval(gone.pid, 'pid of a reaped process')

    def target_exits(self):
        what = 'target exits'
        workload = dc.Workload(1, 8, [(0, [0])])
        try:
            dc.write_param('target_pid', workload.pid)
            if not self.enable(what):
                return
            wss = []
            deadline = time.monotonic() + 20
            while not wss and time.monotonic() < deadline:
                wss = dc.parse_wss(self.kmsg.read(1))
            if not wss:
                self.fail('%s: no estimate logged in 20 s' % what)
            else:
                dc.log('%s: first estimate %d bytes' % (what, wss[0]))
        finally:
            workload.kill()
        took = self.expect_no_kdamond(what + ', kdamond exit', EXIT_TIMEOUT)
        if took is not None:
            dc.log('%s: kdamond exited %.1f s after the target' %
                   (what, took))
        # The switch reads its kdamond's state: off once the target went.
        if took is not None and dc.read_param('enable') != 'N':
            self.fail('%s: enable reads %s after the kdamond exited' %
                      (what, dc.read_param('enable')))
        # Writing N to a stopped sample is no error.
        self.disable(what)

    def stop(self, what, run_s):
        if not self.enable(what):
            self.disable(what)
            return
        time.sleep(run_s)
        t0 = time.monotonic()
        self.disable(what)
        took_write = time.monotonic() - t0
        took = self.expect_no_kdamond(what)
        if took is not None:
            dc.log('%s: enable=N took %.2f s, kdamond gone %.2f s later' %
                   (what, took_write, took))

    def cycles(self):
        workload = dc.Workload(2, 4, [(0, [0])])
        try:
            dc.write_param('target_pid', workload.pid)
            self.stop('stop', 1)

            what = 'enable twice'
            pid = self.enable(what)
            err = dc.write_param('enable', 'Y')
            if err:
                self.fail('%s: second Y gave %s' % (what, dc.errno_name(err)))
            time.sleep(0.5)
            if pid and list(self.new_kdamonds()) != [pid]:
                self.fail('%s: kdamonds now %s' % (what, self.new_kdamonds()))
            self.disable(what)
            err = dc.write_param('enable', 'N')
            if err:
                self.fail('disable twice: second N gave %s' %
                          dc.errno_name(err))
            self.expect_no_kdamond(what)

            for i in range(CYCLES):
                self.stop('cycle %d' % i, 0.1 * i)
            if not workload.alive():
                self.fail('the workload died')
        finally:
            dc.stop_sample()
            workload.kill()

    def kmemleak_clear(self):
        self.kmemleak = os.access(KMEMLEAK, os.W_OK)
        if self.kmemleak:
            with open(KMEMLEAK, 'w') as f:
                f.write('clear')

    def kmemleak_check(self):
        if not self.kmemleak:
            dc.log('kmemleak: not available, not checked')
            return
        # A leak shows once unchanged over two scans and 5 s old; what the
        # last cycles leaked is that old by the second scan.
        t0 = time.monotonic()
        for _ in range(2):
            with open(KMEMLEAK, 'w') as f:
                f.write('scan')
        with open(KMEMLEAK) as f:
            report = f.read()
        dc.log('kmemleak: scanned in %.1f s' % (time.monotonic() - t0))
        if report:
            self.fail('kmemleak reports leaks:\n' + report[:3000])

    def run(self):
        dc.log('kdamonds before the test: %s' % (self.baseline or 'none'))
        self.kmemleak_clear()
        try:
            self.invalid_pids()
            self.target_exits()
            self.cycles()
        finally:
            dc.stop_sample()
        self.expect_no_kdamond('at the end')
        self.kmemleak_check()
        for s in self.kmsg.splats():
            self.fail('kernel: ' + s)
        self.kmsg.close()
        return self.fails


def main():
    dc.check_wsse_environment()
    fails = Test().run()
    if fails:
        dc.log('%d failure(s)' % len(fails))
        return dc.KSFT_FAIL
    dc.log('PASS')
    return dc.KSFT_PASS


if __name__ == '__main__':
    sys.exit(main())
