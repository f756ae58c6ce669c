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
import sysfs_common as sc       # noqa: E402
import modules_common as mc     # noqa: E402

CYCLES = 3


def cycle(chk, mod):
    """Start and stop mod CYCLES times; expect one kdamond of its own."""
    pids = []
    for i in range(CYCLES):
        what = '%s cycle %d' % (mod.name, i)
        before = mc.kdamonds()
        pid = mod.start(chk, what)
        if not pid:
            return
        pids.append(pid)
        after = mc.kdamonds()
        chk.expect(set(after) - set(before) == {pid} and
                   len(after) == len(before) + 1,
                   '%s: kdamonds %s before enabled Y, %s after; want '
                   'exactly %d more' % (what, before, after, pid))
        mod.stop(chk, what, pid)
        chk.expect(mc.wait_for(lambda: mc.kdamonds() == before,
                               mc.STOP_TIMEOUT),
                   '%s: kdamonds %s after enabled N, want %s' %
                   (what, mc.kdamonds(), before))
    sc.log('%s: kdamonds %s' % (mod.name, pids))
    chk.expect(len(set(pids)) == len(pids), '%s: a kdamond pid came back '
               'from a stopped start: %s' % (mod.name, pids))


def expect_busy(chk, mod, what):
    """enabled Y of mod must fail with EBUSY and start nothing."""
    before = mc.kdamonds()
    err = mod.write('enabled', 'Y')
    chk.expect_errno(err, errno.EBUSY, '%s: %s enabled Y' %
                     (what, mod.name))
    if err == 0:
        mod.cleanup()
        return
    chk.expect(mod.read('enabled') == 'N' and mod.pid() == -1,
               '%s: %s reads enabled %s, kdamond_pid %d after EBUSY' %
               (what, mod.name, mod.read('enabled'), mod.pid()))
    chk.expect(mc.kdamonds() == before, '%s: kdamonds %s after EBUSY, '
               'want %s' % (what, mc.kdamonds(), before))


def sysfs_on():
    """Build a sysfs kdamond monitoring us; write on; return the errno."""
    sc.build(sc.config([os.getpid()]))
    return sc.write(os.path.join(sc.KDAMOND, 'state'), 'on')


def exclusive(chk, mod, others):
    what = 'while %s runs' % mod.name
    pid = mod.start(chk, what)
    if not pid:
        return
    for other in others:
        expect_busy(chk, other, what)
    before = mc.kdamonds()
    err = sysfs_on()
    chk.expect_errno(err, errno.EBUSY, '%s: sysfs on' % what)
    chk.expect(sc.state() == 'off' and sc.kdamond_pid() == -1,
               '%s: sysfs kdamond reads state %s, pid %d after on' %
               (what, sc.state(), sc.kdamond_pid()))
    chk.expect(mc.kdamonds() == before, '%s: kdamonds %s after sysfs on, '
               'want %s' % (what, mc.kdamonds(), before))
    sc.cleanup()
    chk.expect(sc.is_kdamond(pid) and mod.pid() == pid and mod.enabled(),
               '%s: its kdamond %d did not survive the others\' tries' %
               (what, pid))
    mod.stop(chk, what, pid)

    what = 'while a sysfs kdamond runs'
    err = sysfs_on()
    if chk.expect(err == 0, '%s: sysfs on failed with %s' %
                  (what, sc.errno_name(err))):
        expect_busy(chk, mod, what)
    sc.cleanup()


def beside(chk, stat):
    """damon_stat and a sysfs kdamond run together."""
    what = 'beside %s' % stat.name
    pid = stat.start(chk, what)
    if not pid:
        return
    before = mc.kdamonds()
    err = sysfs_on()
    if chk.expect(err == 0, '%s: sysfs on failed with %s' %
                  (what, sc.errno_name(err))):
        sysfs_pid = sc.kdamond_pid()
        chk.expect(set(mc.kdamonds()) == set(before) | {sysfs_pid} and
                   sysfs_pid != pid,
                   '%s: kdamonds %s, want %s and the sysfs one %d' %
                   (what, mc.kdamonds(), before, sysfs_pid))
        sc.turn_off(chk, what + ': sysfs off', sysfs_pid)
    sc.cleanup()
    chk.expect(sc.is_kdamond(pid) and stat.enabled(),
               '%s: its kdamond %d did not survive' % (what, pid))
    stat.stop(chk, what, pid)


def test(chk):
    mods = {n: mc.Module(n) for n in mc.MODULES if mc.Module(n).available()}
    if not mods:
        mc.skip('no DAMON module is built')
    sc.log('modules: %s' % ', '.join(mods))
    for mod in mods.values():
        cycle(chk, mod)
    for name in mc.EXCLUSIVE:
        if name in mods:
            exclusive(chk, mods[name],
                      [m for n, m in mods.items() if n != name])
    if mc.STAT in mods:
        beside(chk, mods[mc.STAT])


def main():
    sc.check_environment()
    return mc.run(test, need_workload=False)


if __name__ == '__main__':
    sys.exit(main())
