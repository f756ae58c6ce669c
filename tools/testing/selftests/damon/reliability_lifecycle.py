#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Reliability: the kdamond's life cycle against the sysfs commands.

Guards the failure classes where a command meets a kdamond that is not
simply running, and waits for good or races into freed memory:

- state_pid_reads: reads of state and pid racing on and off always
  answer on/off and a number, and pid reads -1 once off;
- calls_vs_states: every command written to a kdamond that is inactive
  (its only scheme deactivated by watermarks checked every 10 s), that is
  being stopped, and that is stopped, returns in bounded time; twice;
- nr_zero_while_running: nr_contexts, nr_schemes, nr_targets, nr_goals,
  nr_filters or nr_regions written 0 under a running kdamond, then every
  state keyword: each returns, and off works;
- self_exit_race: commands hammered at a kdamond while it stops by
  itself, its target having exited, return; 20 times;
- tried_regions_target_exit: a tried-regions update waiting for a 2 s
  apply interval while the target exits returns, with 0, ECANCELED or
  EINVAL;
- zombie_target: a vaddr target is valid while its task exists, also as
  a zombie its parent has not reaped: the kdamond keeps running and
  answering, and stops within 5 s once the zombie is reaped.

Leaves kdamond 0 off and nr_kdamonds 0.
"""

import errno
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

log = dc.log
PID = os.path.join(dc.KDAMOND, 'pid')


def state_pid_reads(case):
    """Failure class: state and pid reads racing on and off.  A read
    must see a kdamond either running or not, never one half set up or
    half torn down."""
    workload = dc.Workload(1, 4, [(0, None)])
    try:
        dc.build(dc.config([workload.pid]), [dc.scheme()])
        bad = []
        nr_reads = [0]
        stop = threading.Event()

        def reader():
            while not stop.is_set():
                try:
                    st = dc.read(dc.STATE)
                    pid = dc.read(PID)
                except OSError as e:
                    bad.append('read failed: %s' % e)
                    continue
                if st not in ('on', 'off'):
                    bad.append('state %r' % st)
                try:
                    int(pid)
                except ValueError:
                    bad.append('pid %r' % pid)
                nr_reads[0] += 1

        readers = [threading.Thread(target=reader, daemon=True)
                   for _ in range(2)]
        for r in readers:
            r.start()
        toggler = dc.Hammer(('on', 'off'))
        time.sleep(5)
        toggler.end(case, 'toggling on and off')
        stop.set()
        for r in readers:
            r.join(dc.RETURN)
            if r.is_alive():
                case.fail('a reader of state and pid did not return in '
                          '%d s' % dc.RETURN)
                raise dc.Wedged('reader')
        log('%d writes (%s), %d reads' % (toggler.nr, toggler.summary(),
                                          nr_reads[0]))
        case.expect(not bad, '%d bad reads, e.g. %s' % (len(bad), bad[:5]))
        for kw in ('on', 'off'):
            case.expect(0 in toggler.errs.get(kw, {}), 'no %s succeeded' %
                        kw)
        err = case.call('at the end', 'off')
        case.expect(err in (0, errno.EPERM), 'off at the end failed with '
                    '%s' % dc.errno_name(err))
        case.expect(dc.state() == 'off' and dc.kdamond_pid() == -1,
                    'at the end: state %s, pid %d, want off and -1' %
                    (dc.state(), dc.kdamond_pid()))
    finally:
        workload.kill()


WMARK_INTERVAL_US = 10000000    # longer than the bound of a command


def calls_vs_states(case):
    """Failure class: damon_call() and damos_walk() against a kdamond
    that is inactive, stopping or stopped.  None of them may wait for a
    watermark check, nor for a kdamond that is gone."""
    workload = dc.Workload(1, 4, [(0, [0])])
    inactive = dc.inactive_scheme(WMARK_INTERVAL_US)
    try:
        if dc.free_mem_rate() == 0:
            raise dc.Skip('no free memory for the watermarks to be above')
        for rnd in range(2):
            what = 'round %d, inactive' % rnd
            dc.build(dc.config([workload.pid]), [inactive])
            pid = case.turn_on(what)
            if not pid:
                return
            time.sleep(0.5)
            want = {'commit': 0, 'commit_schemes_quota_goals': 0,
                    'update_schemes_stats': 0,
                    'update_schemes_tried_bytes': (0, errno.ECANCELED),
                    'update_schemes_tried_regions': (0, errno.ECANCELED),
                    'clear_schemes_tried_regions': 0,
                    'update_schemes_effective_quotas': 0}
            for cmd in dc.COMMANDS:
                case.call(what, cmd, want=want[cmd], timeout=dc.PROMPT)
            case.call(what, 'on', want=errno.EBUSY, timeout=dc.PROMPT)
            case.expect_on(what, pid)

            what = 'round %d, stopping %s' % (
                rnd, 'while inactive' if rnd == 0 else 'while active')
            if rnd:
                dc.configure_schemes([dc.scheme()])
                case.call(what, 'commit', want=0)
                time.sleep(0.5)
            hammers = [dc.Hammer(dc.COMMANDS[i::3]) for i in range(3)]
            time.sleep(0.3)
            off = dc.Call(dc.STATE, 'off')
            case.finished(off, what, dc.RETURN)
            case.expect(off.err == 0, '%s: off failed with %s' % (
                what, dc.errno_name(off.err)))
            log('%s: off took %.2f s' % (what, off.took()))
            time.sleep(0.3)
            for h in hammers:
                h.end(case, what)
                log('%s: %s' % (what, h.summary()))
            dc.expect_off(case, what, pid)

            what = 'round %d, stopped' % rnd
            for cmd in dc.COMMANDS:
                case.call(what, cmd, want=(0, errno.EINVAL),
                          timeout=dc.PROMPT)
            case.call(what, 'off', timeout=dc.PROMPT)
            case.expect(dc.state() == 'off' and dc.kdamond_pid() == -1,
                        '%s: state %s, pid %d' % (what, dc.state(),
                                                  dc.kdamond_pid()))
            dc.cleanup()
    finally:
        workload.kill()


def nr_file(name):
    return {
        'nr_contexts': os.path.join(dc.CONTEXTS, 'nr_contexts'),
        'nr_schemes': dc.NR_SCHEMES,
        'nr_targets': os.path.join(dc.TARGETS, 'nr_targets'),
        'nr_goals': os.path.join(dc.SCHEMES, '0', 'quotas', 'goals',
                                 'nr_goals'),
        'nr_filters': os.path.join(dc.SCHEMES, '0', 'filters',
                                   'nr_filters'),
        'nr_regions': os.path.join(dc.target_dir(0), 'regions',
                                   'nr_regions'),
    }[name]


def nr_zero_while_running(case):
    """Failure class: directories removed under a running kdamond.  The
    commands look up the files of a context that is gone, or half of it;
    none may crash or hang."""
    workload = dc.Workload(1, 4, [(0, [0])])
    try:
        start, end = workload.buffers[0]
        for name in ('nr_contexts', 'nr_schemes', 'nr_targets', 'nr_goals',
                     'nr_filters', 'nr_regions'):
            what = name + ' 0 while running'
            dc.build(dc.config([workload.pid], ops='fvaddr',
                               regions=[[(start, end)]], min_nr=3,
                               max_nr=30),
                     [dc.scheme(goals=[('user_input', 100, 50)],
                                filters=[{'type': 'addr',
                                          'addr_start': start,
                                          'addr_end': end}])])
            pid = case.turn_on(what)
            if not pid:
                continue
            err = case.call(what, '0', path=nr_file(name))
            case.expect(err == 0, '%s: writing 0 failed with %s' % (
                what, dc.errno_name(err)))
            errs = []
            for kw in dc.KEYWORDS:
                if kw != 'off':
                    errs.append('%s %s' % (kw, dc.errno_name(
                        case.call(what, kw))))
            log('%s: %s' % (what, ', '.join(errs)))
            err = case.call(what, 'off')
            case.expect(err in (0, errno.EPERM), '%s: off failed with %s' %
                        (what, dc.errno_name(err)))
            dc.expect_off(case, what, pid)
            dc.cleanup()
    finally:
        workload.kill()


NR_SELF_EXITS = 20


def self_exit_race(case):
    """Failure class: commands racing the kdamond's self-exit.  A
    command that finds the kdamond running may reach it as it leaves:
    the request must be canceled, not left waiting or freed under it."""
    nr_done = 0
    for i in range(NR_SELF_EXITS):
        what = 'self exit %d' % i
        child = dc.Child()
        try:
            dc.build(dc.config([child.pid]), [dc.scheme()])
            pid = case.turn_on(what)
            if not pid:
                return
            hammer = dc.Hammer(('update_schemes_stats', 'commit',
                                'update_schemes_tried_bytes'))
            # Exit at varied points of the kdamond's intervals.
            time.sleep(0.3 + (i % 5) * 0.05)
            child.exit()
            child.reap_in_background()
            stopped = dc.wait_for(lambda: dc.state() == 'off',
                                  dc.EXIT_TIMEOUT, 0.05)
            hammer.end(case, what)
            if i == 0:
                log('%s: %s' % (what, hammer.summary()))
            if not case.expect(stopped, '%s: state %s %d s after the '
                               'target exited' % (what, dc.state(),
                                                  dc.EXIT_TIMEOUT)):
                return
            dc.expect_off(case, what, pid)
            nr_done += 1
        finally:
            child.end()
            dc.cleanup()
    log('%d self exits' % nr_done)


def tried_regions_target_exit(case):
    """Failure class: a tried-regions walk while the target exits.  The
    walk waits for an apply pass that will not come once the kdamond
    stops; it must be canceled then."""
    for cmd, delay in (('update_schemes_tried_regions', 0.5),
                       ('update_schemes_tried_bytes', 0.5),
                       ('update_schemes_tried_regions', 0.1),
                       ('update_schemes_tried_regions', 1.5)):
        what = '%s, target exits %.1f s into it' % (cmd, delay)
        child = dc.Child()
        try:
            dc.build(dc.config([child.pid]),
                     [dc.scheme(apply_interval_us=2000000)])
            pid = case.turn_on(what)
            if not pid:
                return
            upd = dc.Call(dc.STATE, cmd)
            time.sleep(delay)
            pending = upd.is_alive()
            t_exit = time.monotonic()
            child.end()
            case.finished(upd, what, dc.RETURN)
            log('%s: %s after %.2f s, %.2f s after the exit%s' % (
                what, dc.errno_name(upd.err), upd.took(),
                upd.t1 - t_exit, '' if pending else
                ' (returned before the exit)'))
            case.expect_errno(upd.err, (0, errno.ECANCELED, errno.EINVAL),
                              what)
            if case.wait_off(what, dc.EXIT_TIMEOUT):
                dc.expect_off(case, what, pid)
        finally:
            child.end()
            dc.cleanup()


ZOMBIE_FOR = 2          # s the exited target stays unreaped
REAPED_STOP = 5         # s for the kdamond to stop once it is reaped


def zombie_target(case):
    """Failure class: target validity.  A vaddr target is valid while
    its task exists, also once it exited and before its parent reaped
    it: its pid is still taken, so it cannot name another process yet."""
    child = dc.Child()
    try:
        what = 'zombie target'
        dc.build(dc.config([child.pid]), [dc.scheme()])
        pid = case.turn_on(what)
        if not pid:
            return
        time.sleep(0.5)
        child.exit()
        if not case.expect(dc.wait_for(lambda: dc.proc_state(child.pid) ==
                                       'Z', 5, 0.05),
                           '%s: the child is %s, not a zombie, 5 s after '
                           'it was told to exit' % (
                               what, dc.proc_state(child.pid))):
            return
        time.sleep(ZOMBIE_FOR)
        what = 'zombie target, %d s after the exit' % ZOMBIE_FOR
        case.expect(dc.proc_state(child.pid) == 'Z', '%s: the child is '
                    '%s, not a zombie' % (what, dc.proc_state(child.pid)))
        case.expect_on(what, pid)
        for cmd in ('update_schemes_stats', 'commit'):
            case.call(what, cmd, want=0)
        case.expect_on(what, pid)
        child.reap()
        what = 'zombie target reaped'
        if case.wait_off(what, REAPED_STOP):
            dc.expect_off(case, what, pid)
    finally:
        child.end()


CASES = [
    ('state_pid_reads', 'state and pid read while on and off race',
     state_pid_reads),
    ('calls_vs_states', 'commands to an inactive, a stopping and a '
     'stopped kdamond', calls_vs_states),
    ('nr_zero_while_running', 'nr_* files written 0 under a running '
     'kdamond, then every keyword', nr_zero_while_running),
    ('self_exit_race', 'commands while the kdamond stops by itself, %d '
     'times' % NR_SELF_EXITS, self_exit_race),
    ('tried_regions_target_exit', 'tried-regions updates while the '
     'target exits', tried_regions_target_exit),
    ('zombie_target', 'a target that exited but is not reaped yet',
     zombie_target),
]

if __name__ == '__main__':
    sys.exit(dc.run_cases(CASES))
