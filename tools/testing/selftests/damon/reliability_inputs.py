#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Reliability: what user space writes into the tree.

Guards the failure classes where input is taken in, kept or let go of
wrongly:

- memcg_path_reads: a string file rewritten while it is read never reads
  back torn or freed: each read is one of the values written, or empty;
- pid_refs: the struct pid a target takes is put again, whether the
  target is replaced by a commit or its kdamond stops; 2000 threads and
  40 processes come and go as targets (a leaked reference shows up in
  the kmemleak scan the guest runner does after the tests, and here in
  the pid slab cache when it has one of its own);
- huge_values: 2^64 - 1 and -1 written to every writable number of the
  tree are taken or refused with EINVAL or ERANGE (-1 refused with EINVAL
  by the unsigned files), and a kdamond turned on with the tree at those
  values either is refused with EINVAL or runs and stops on off.

Leaves kdamond 0 off and nr_kdamonds 0.
"""

import errno
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

log = dc.log

MEMCG_WRITES = 1000
# Up to 4094 bytes: a value and its newline must fit the page a sysfs
# read fills (PATH_MAX - 1 = 4095 bytes are taken, but read back cut).
MEMCG_VALUES = ['/', '/a', '/damon/' + 'x' * 200, '/' + 'y' * 4000,
                '/z' * 1500, 'relative/path', '/' + 'w' * 4093]


def memcg_path_reads(case):
    """Failure class: torn or freed string reads.  memcg_path is the one
    file whose value is a pointer: a read racing a write must copy a
    whole string, never one being freed."""
    dc.build(dc.config([]), [dc.scheme(filters=[{'type': 'memcg'}])])
    path = os.path.join(dc.SCHEMES, '0', 'filters', '0', 'memcg_path')
    valid = set(MEMCG_VALUES) | {''}
    bad = []
    nr_reads = [0]
    write_errs = []
    done = threading.Event()

    def reader():
        while not done.is_set():
            with open(path) as f:
                val = f.read()
            if not val.endswith('\n') or val[:-1] not in valid:
                bad.append(val[:80])
            nr_reads[0] += 1

    def writer():
        try:
            for i in range(MEMCG_WRITES):
                err = dc.write(path, MEMCG_VALUES[i % len(MEMCG_VALUES)])
                if err:
                    write_errs.append(err)
        finally:
            done.set()

    threads = [threading.Thread(target=f, daemon=True)
               for f in (writer, reader)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
        if th.is_alive():
            case.fail('a reader or the writer of memcg_path did not '
                      'finish in 60 s')
            raise dc.Wedged('memcg_path')
    log('%d writes, %d reads' % (MEMCG_WRITES, nr_reads[0]))
    case.expect(not write_errs, '%d writes failed, e.g. with %s' % (
        len(write_errs), dc.errno_name(write_errs[0]) if write_errs
        else ''))
    case.expect(nr_reads[0] > 0, 'no read finished')
    case.expect(not bad, '%d reads returned none of the values written, '
                'e.g. %r' % (len(bad), bad[:3]))
    last = MEMCG_VALUES[(MEMCG_WRITES - 1) % len(MEMCG_VALUES)]
    case.expect(dc.read(path) == last, 'memcg_path does not read the last '
                'value written')


# Targets that come and go.  Each takes a new task, a pid_target write,
# an on or a commit, and the task's exit.  A fork costs some 150 ms on the
# emulated guest (KASAN, kmemleak), so 10000 processes would take half an
# hour: processes are NR_PROC_REFS only, and the bulk are threads, whose
# struct pid DAMON takes and puts the same way, at some 30 ms each (also
# measured): 2 * NR_THREAD_REFS of them keep the case near a minute.
NR_PROC_REFS = 40
NR_THREAD_REFS = 1000
SLAB = '/sys/kernel/slab/pid'


def pid_slab_objects():
    """Objects in use in the pid slab cache, or None unless it is there
    and serves struct pid alone (a merged cache counts others too)."""
    if not os.path.isdir(SLAB) or os.path.islink(SLAB):
        return None
    try:
        with open(os.path.join(SLAB, 'aliases')) as f:
            if int(f.read()) != 0:
                return None
    except OSError:
        pass
    # Free objects in per-CPU slabs count as active: flush those first.
    dc.write(os.path.join(SLAB, 'shrink'), '1')
    try:
        with open('/proc/slabinfo') as f:
            for line in f:
                fields = line.split()
                if fields and fields[0] == 'pid':
                    return int(fields[1])
    except OSError:
        pass
    return None


def pid_refs_phase(case, what, nr, new_task, keep=None):
    """nr short-lived tasks of new_task(), each the target that replaces
    the last: with keep, a long-lived process as target 0 keeps the
    kdamond running and each is committed as target 1; without, each is
    the only target, committed to the kdamond if it still runs, or turned
    on anew once it stopped (after the last one exited)."""
    t0 = time.monotonic()
    nr_on = nr_commit = 0
    pid_target = os.path.join(dc.target_dir(1 if keep else 0), 'pid_target')
    # No thread per write here (it would double the time): a watchdog.
    dog = dc.Watchdog(what)
    task = new_task()
    try:
        dc.build(dc.config([keep.pid, task.pid] if keep else [task.pid]),
                 [dc.scheme()])
        for i in range(nr):
            if i:
                task = new_task()
            dog.poke('iteration %d' % i)
            dc.must_write(pid_target, task.pid)
            err = None
            # Beside a process, it runs from the first on.
            if (keep and i) or dc.state() == 'on':
                err = dc.write(dc.STATE, 'commit')
                nr_commit += not err
            if err is None or (err in (errno.EINVAL, errno.ECANCELED) and
                               not keep):
                # Not on yet, or stopped by itself (before or during the
                # commit): on, once the stop is complete.
                for _ in range(100):
                    err = dc.write(dc.STATE, 'on')
                    if err != errno.EBUSY:
                        break
                    time.sleep(0.01)
                nr_on += not err
            if not case.expect(err == 0, '%s: iteration %d: on or commit '
                               'failed with %s' % (what, i,
                                                   dc.errno_name(err))):
                return
            task.end()
        dog.poke('off')
        err = dc.write(dc.STATE, 'off')
        case.expect(err in (0, errno.EPERM), '%s: off failed with %s' % (
            what, dc.errno_name(err)))
        dc.expect_off(case, what, -1)
    finally:
        task.end()
        dog.poke('cleanup')
        dc.cleanup()
        dog.end()
        log('%s: %d targets, %d on, %d commit, in %.1f s' % (
            what, nr, nr_on, nr_commit, time.monotonic() - t0))


def pid_refs(case):
    """Failure class: struct pid reference leaks.  A vaddr target holds
    a reference on its task's struct pid from the on or commit that named
    it to when it is dropped (replaced, or its kdamond stopped)."""
    # A round first, so that the caches are warm when counted.
    pid_refs_phase(case, 'warm up', 50, dc.ThreadTarget)
    objs0 = pid_slab_objects()
    keep = dc.Child()
    try:
        pid_refs_phase(case, 'threads committed beside a process',
                       NR_THREAD_REFS, dc.ThreadTarget, keep)
        pid_refs_phase(case, 'processes committed beside a process',
                       NR_PROC_REFS // 2, dc.Child, keep)
    finally:
        keep.end()
    pid_refs_phase(case, 'threads alone', NR_THREAD_REFS, dc.ThreadTarget)
    pid_refs_phase(case, 'processes alone', NR_PROC_REFS // 2, dc.Child)
    if objs0 is None:
        log('no pid slab cache of its own: leaks are left to kmemleak')
        return
    # Freed struct pids go through RCU first.
    nr = 2 * NR_THREAD_REFS + NR_PROC_REFS

    def settled():
        n = pid_slab_objects()
        return n if n - objs0 < nr // 4 else None

    objs1 = dc.wait_for(settled, 5, 0.5) or pid_slab_objects()
    log('pid slab: %d active objects before, %d after %d targets' % (
        objs0, objs1, nr))
    case.expect(objs1 - objs0 < nr // 4, 'the pid slab grew by %d objects '
                'over %d targets: references leak' % (objs1 - objs0, nr))


SIGNED = ('pid_target', 'target_nid', 'nid')


def numeric_files():
    """Writable files of the tree that read a number; state aside."""
    files = []
    for path in dc.walk_files(dc.ADMIN):
        if os.path.basename(path) == 'state':
            continue
        if not os.stat(path).st_mode & 0o200:
            continue
        if re.fullmatch(r'-?\d+', dc.read(path)):
            files.append(path)
    return files


def on_or_refused(case, what):
    """on either fails with EINVAL or starts a kdamond that off stops."""
    err = case.call(what, 'on')
    log('%s: on gave %s' % (what, dc.errno_name(err)))
    if err:
        case.expect_errno(err, errno.EINVAL, what + ': on')
        case.expect(dc.state() == 'off', '%s: state %s after a refused '
                    'on' % (what, dc.state()))
        return
    pid = dc.kdamond_pid()
    time.sleep(2)
    errs = ['%s %s' % (cmd, dc.errno_name(case.call(what, cmd)))
            for cmd in ('update_schemes_stats',
                        'update_schemes_effective_quotas', 'commit')]
    log('%s: %s' % (what, ', '.join(errs)))
    if dc.state() == 'on':
        case.turn_off(what, pid)
    else:
        log('%s: the kdamond stopped by itself' % what)
        dc.expect_off(case, what, pid)


def huge_values(case):
    """Failure class: out of range numbers.  Every number goes through
    the same parser and into the same unsigned longs; anything it takes
    must be safe for DAMON to run with."""
    workload = dc.Workload(1, 4, [(0, None)])
    try:
        start, end = workload.buffers[0]
        dc.build(dc.config([workload.pid], regions=[[(start, end)]]),
                 [dc.scheme(goals=[('user_input', 100, 50)],
                            filters=[{'type': 'addr', 'addr_start': start,
                                      'addr_end': end}])])
        files = numeric_files()
        names = {os.path.basename(f) for f in files}
        for name in ('nr_kdamonds', 'nr_contexts', 'nr_targets',
                     'nr_regions', 'nr_schemes', 'nr_goals', 'nr_filters',
                     'sample_us', 'pid_target', 'start', 'interval_us',
                     'target_value', 'addr_end', 'nr_accesses_permil'):
            case.expect(name in names, 'no numeric file %s found' % name)
        log('%d numeric files' % len(files))

        what = '2^64 - 1'
        taken = 0
        for path in files:
            if os.path.basename(path).startswith('nr_'):
                continue
            err = case.call(what, str(dc.U64_MAX), path=path)
            case.expect_errno(err, (0, errno.EINVAL, errno.ERANGE),
                              '%s to %s' % (what, dc.rel(path)))
            taken += not err
        log('%s: taken by %d files' % (what, taken))
        on_or_refused(case, what + ' everywhere')
        # The regions (start = end) are refused for sure: without them.
        dc.must_write(os.path.join(dc.target_dir(0), 'regions',
                                   'nr_regions'), 0)
        on_or_refused(case, what + ' everywhere, but no regions')
        # What is sure to be refused back to sane values, so that the
        # kdamond gets to run with the rest: up to 2^20 regions, an
        # address filter of start < end.
        dc.must_write(os.path.join(dc.NR_REGIONS, 'min'), 10)
        dc.must_write(os.path.join(dc.NR_REGIONS, 'max'), 1000)
        dc.must_write(os.path.join(dc.SCHEMES, '0', 'filters', '0',
                                   'addr_start'), 0)
        on_or_refused(case, what + ' everywhere but the region bounds and '
                      'the address filter')
        # And applying the scheme every 100 ms: its quotas, goals and
        # weights at 2^64 - 1 are worked with.
        for name, val in (('sample_us', 5000), ('aggr_us', 100000),
                          ('update_us', 1000000)):
            dc.must_write(os.path.join(dc.INTERVALS, name), val)
        dc.must_write(os.path.join(dc.SCHEMES, '0', 'apply_interval_us'), 0)
        on_or_refused(case, what + ' in the scheme only')

        what = '-1'
        for path in numeric_files():
            name = os.path.basename(path)
            err = case.call(what, '-1', path=path)
            want = 0 if name in SIGNED else errno.EINVAL
            case.expect_errno(err, want, '%s to %s' % (what, dc.rel(path)))
        on_or_refused(case, what + ' everywhere')
    finally:
        workload.kill()


CASES = [
    ('memcg_path_reads', 'memcg_path read while rewritten %d times' %
     MEMCG_WRITES, memcg_path_reads),
    ('pid_refs', '%d threads and %d processes as targets that come and '
     'go' % (2 * NR_THREAD_REFS, NR_PROC_REFS), pid_refs),
    ('huge_values', '2^64 - 1 and -1 to every number', huge_values),
]

if __name__ == '__main__':
    sys.exit(dc.run_cases(CASES))
