#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The DAMON modules start and stop one kdamond each, and exclude others.

For each of damon_reclaim, damon_lru_sort and damon_stat that is built,
three times in a row:

- enabled Y succeeds, enabled reads Y, kdamond_pid reads the pid of a
  kernel thread named kdamond.N, and that thread is the only kdamond
  more than before;
- enabled N succeeds, enabled reads N, kdamond_pid -1, the thread is
  gone and the kdamonds are those of before.  Each start gets a thread
  of its own.

DAMON_RECLAIM and DAMON_LRU_SORT start their kdamond exclusive: while
either runs, enabling the other, enabling damon_stat and writing on to
a sysfs kdamond get EBUSY and start nothing; and either gets EBUSY while
a sysfs kdamond runs.  damon_stat is not exclusive: a sysfs kdamond
starts beside it, and the two run together.
"""

import errno
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

CYCLES = 3


def cycle(chk, mod):
    """Start and stop mod CYCLES times; expect one kdamond of its own."""
    pids = []
    for i in range(CYCLES):
        what = '%s cycle %d' % (mod.name, i)
        before = dc.kdamonds()
        pid = mod.start(chk, what)
        if not pid:
            return
        pids.append(pid)
        after = dc.kdamonds()
        chk.expect(set(after) - set(before) == {pid} and
                   len(after) == len(before) + 1,
                   '%s: kdamonds %s before enabled Y, %s after; want '
                   'exactly %d more' % (what, before, after, pid))
        mod.stop(chk, what, pid)
        chk.expect(dc.wait_for(lambda: dc.kdamonds() == before,
                               dc.STOP_TIMEOUT),
                   '%s: kdamonds %s after enabled N, want %s' %
                   (what, dc.kdamonds(), before))
    dc.log('%s: kdamonds %s' % (mod.name, pids))
    chk.expect(len(set(pids)) == len(pids), '%s: a kdamond pid came back '
               'from a stopped start: %s' % (mod.name, pids))


def expect_busy(chk, mod, what):
    """enabled Y of mod must fail with EBUSY and start nothing."""
    before = dc.kdamonds()
    err = mod.write('enabled', 'Y')
    chk.expect_errno(err, errno.EBUSY, '%s: %s enabled Y' %
                     (what, mod.name))
    if err == 0:
        mod.cleanup()
        return
    chk.expect(mod.read('enabled') == 'N' and mod.pid() == -1,
               '%s: %s reads enabled %s, kdamond_pid %d after EBUSY' %
               (what, mod.name, mod.read('enabled'), mod.pid()))
    chk.expect(dc.kdamonds() == before, '%s: kdamonds %s after EBUSY, '
               'want %s' % (what, dc.kdamonds(), before))


def sysfs_on():
    """Build a sysfs kdamond monitoring us; write on; return the errno."""
    dc.build(dc.config([os.getpid()]))
    return dc.write(os.path.join(dc.KDAMOND, 'state'), 'on')


def exclusive(chk, mod, others):
    what = 'while %s runs' % mod.name
    pid = mod.start(chk, what)
    if not pid:
        return
    for other in others:
        expect_busy(chk, other, what)
    before = dc.kdamonds()
    err = sysfs_on()
    chk.expect_errno(err, errno.EBUSY, '%s: sysfs on' % what)
    chk.expect(dc.state() == 'off' and dc.kdamond_pid() == -1,
               '%s: sysfs kdamond reads state %s, pid %d after on' %
               (what, dc.state(), dc.kdamond_pid()))
    chk.expect(dc.kdamonds() == before, '%s: kdamonds %s after sysfs on, '
               'want %s' % (what, dc.kdamonds(), before))
    dc.cleanup()
    chk.expect(dc.is_kdamond(pid) and mod.pid() == pid and mod.enabled(),
               '%s: its kdamond %d did not survive the others\' tries' %
               (what, pid))
    mod.stop(chk, what, pid)

    what = 'while a sysfs kdamond runs'
    err = sysfs_on()
    if chk.expect(err == 0, '%s: sysfs on failed with %s' %
                  (what, dc.errno_name(err))):
        expect_busy(chk, mod, what)
    dc.cleanup()


def beside(chk, stat):
    """damon_stat and a sysfs kdamond run together."""
    what = 'beside %s' % stat.name
    pid = stat.start(chk, what)
    if not pid:
        return
    before = dc.kdamonds()
    err = sysfs_on()
    if chk.expect(err == 0, '%s: sysfs on failed with %s' %
                  (what, dc.errno_name(err))):
        sysfs_pid = dc.kdamond_pid()
        chk.expect(set(dc.kdamonds()) == set(before) | {sysfs_pid} and
                   sysfs_pid != pid,
                   '%s: kdamonds %s, want %s and the sysfs one %d' %
                   (what, dc.kdamonds(), before, sysfs_pid))
        dc.turn_off(chk, what + ': sysfs off', sysfs_pid)
    dc.cleanup()
    chk.expect(dc.is_kdamond(pid) and stat.enabled(),
               '%s: its kdamond %d did not survive' % (what, pid))
    stat.stop(chk, what, pid)


def test(chk):
    mods = {n: dc.Module(n) for n in dc.MODULES if dc.Module(n).available()}
    if not mods:
        dc.skip('no DAMON module is built')
    dc.log('modules: %s' % ', '.join(mods))
    for mod in mods.values():
        cycle(chk, mod)
    for name in dc.EXCLUSIVE:
        if name in mods:
            exclusive(chk, mods[name],
                      [m for n, m in mods.items() if n != name])
    if dc.STAT in mods:
        beside(chk, mods[dc.STAT])


def main():
    dc.check_environment()
    return dc.run_modules(test, need_workload=False)


if __name__ == '__main__':
    sys.exit(main())
