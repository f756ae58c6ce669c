#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Many writers on DAMON's sysfs ABI at once.

For 10 s, processes hammer the files of kdamond 0 together: two write
on, off and commit to state, one rewrites nr_kdamonds, nr_contexts,
nr_targets, nr_regions and nr_schemes, one the intervals, nr_regions
bounds, operations, pid_target and region bounds (good values and bad),
and one reads every file of the tree.  Writes may fail (the file went
away, the kdamond runs, the value is bad); what must not happen is a
write that never returns, a kernel splat, or a tree that does not work
afterwards.  Each writer must finish within 60 s of the end; then off
and nr_kdamonds 0 must work, no kdamond thread may be left, and a fresh
kdamond must start, monitor its fvaddr region (seen through the
damon:damon_aggregated tracepoint) and stop.
"""

import collections
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

DURATION = 10           # s of hammering
JOIN_TIMEOUT = 60       # s for every writer to finish after that


def hammer_state(rnd, workload):
    kw = rnd.choice(('on', 'on', 'off', 'commit', 'off\n', 'commit\n',
                     'update_schemes_stats', 'bogus'))
    return dc.STATE, kw


def hammer_nr(rnd, workload):
    choices = [
        (os.path.join(dc.KDAMONDS, 'nr_kdamonds'), ('1',)),
        (os.path.join(dc.CONTEXTS, 'nr_contexts'), ('0', '1', '1', '2')),
        (os.path.join(dc.TARGETS, 'nr_targets'), ('0', '1', '1', '2', '3')),
        (os.path.join(dc.target_dir(0), 'regions', 'nr_regions'),
         ('0', '1', '2')),
        (os.path.join(dc.target_dir(1), 'regions', 'nr_regions'),
         ('0', '1')),
        (os.path.join(dc.SCHEMES, 'nr_schemes'), ('0', '1')),
    ]
    f, vals = rnd.choice(choices)
    return f, rnd.choice(vals)


def hammer_values(rnd, workload):
    start, end = workload.buffers[0]
    mid = (start + (end - start) // 2) // dc.PAGE_SIZE * dc.PAGE_SIZE
    t = rnd.choice((0, 0, 1))
    r = rnd.choice((0, 0, 1))
    choices = [
        (os.path.join(dc.INTERVALS, 'sample_us'),
         ('1000', '5000', '20000', 'x')),
        (os.path.join(dc.INTERVALS, 'aggr_us'),
         ('10000', '100000', '200000', '1000')),
        (os.path.join(dc.INTERVALS, 'update_us'),
         ('100000', '1000000', '0')),
        (os.path.join(dc.NR_REGIONS, 'min'), ('3', '10', '2', '50')),
        (os.path.join(dc.NR_REGIONS, 'max'), ('10', '100', '1000', '5')),
        (os.path.join(dc.CTX, 'operations'),
         ('vaddr', 'fvaddr', 'fvaddr', 'paddr', 'nope')),
        (os.path.join(dc.target_dir(t), 'pid_target'),
         (str(workload.pid), str(workload.pid), '0')),
        (os.path.join(dc.region_dir(t, r), 'start'),
         (str(start), str(mid), str(end))),
        (os.path.join(dc.region_dir(t, r), 'end'),
         (str(end), str(mid), str(start))),
    ]
    f, vals = rnd.choice(choices)
    return f, rnd.choice(vals)


def writer(pick, seed, workload):
    """Write what pick() says until the time is up; return a summary."""
    rnd = random.Random(seed)
    deadline = time.monotonic() + DURATION
    results = collections.Counter()
    while time.monotonic() < deadline:
        f, val = pick(rnd, workload)
        err = dc.write(f, val)
        results[(os.path.basename(f), dc.errno_name(err))] += 1
    return results


def reader(seed, workload):
    deadline = time.monotonic() + DURATION
    results = collections.Counter()
    while time.monotonic() < deadline:
        for f in dc.walk_files(dc.ADMIN):
            try:
                dc.read(f)
                results[('read', '0')] += 1
            except OSError as e:
                results[('read', dc.errno_name(e.errno))] += 1
    return results


def summary(results):
    by_file = collections.defaultdict(list)
    total = 0
    for (name, err), n in sorted(results.items()):
        by_file[name].append('%s %d' % (err, n))
        total += n
    return '%d ops: %s' % (total, '; '.join(
        '%s: %s' % (name, ', '.join(v)) for name, v in by_file.items()))


class Test(dc.Checker):

    def __init__(self, workload):
        super().__init__()
        self.workload = workload

    def hammer(self):
        start, end = self.workload.buffers[0]
        dc.build(dc.config([self.workload.pid], ops='fvaddr',
                           regions=[[(start, end)]], min_nr=3, max_nr=30))
        work = [('state writer 1', lambda s: writer(hammer_state, s,
                                                    self.workload)),
                ('state writer 2', lambda s: writer(hammer_state, s,
                                                    self.workload)),
                ('nr_* writer', lambda s: writer(hammer_nr, s,
                                                 self.workload)),
                ('value writer', lambda s: writer(hammer_values, s,
                                                  self.workload)),
                ('reader', lambda s: reader(s, self.workload))]
        children = {}
        for i, (name, fn) in enumerate(work):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                code = 0
                try:
                    res = fn(i + 1)
                    os.write(w, summary(res).encode())
                except BaseException as e:   # report, never return
                    os.write(w, ('crashed: %r' % e).encode())
                    code = 1
                os._exit(code)
            os.close(w)
            children[pid] = (name, r)

        deadline = time.monotonic() + DURATION + JOIN_TIMEOUT
        left = dict(children)
        while left and time.monotonic() < deadline:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                time.sleep(0.2)
                continue
            if pid not in left:
                continue
            name, r = left.pop(pid)
            out = b''
            while True:
                chunk = os.read(r, 65536)
                if not chunk:
                    break
                out += chunk
            os.close(r)
            dc.log('%s: %s' % (name, out.decode(errors='replace')))
            self.expect(os.WIFEXITED(status) and
                        os.WEXITSTATUS(status) == 0,
                        '%s: exited with status %#x' % (name, status))
        for pid, (name, r) in left.items():
            self.fail('%s (pid %d) is still running %d s after its end: a '
                      'hung write?' % (name, pid, JOIN_TIMEOUT))
            try:
                with open('/proc/%d/stack' % pid) as f:
                    dc.log('its kernel stack:\n' + f.read())
            except OSError:
                pass
            os.kill(pid, signal.SIGKILL)
        return not left

    def afterwards(self, tracer):
        """Stop, clean, and use the tree again."""
        pid = dc.kdamond_pid() if os.path.isdir(dc.KDAMOND) else -1
        dc.log('after the writers: state %s, pid %d' % (
            dc.state() if os.path.isdir(dc.KDAMOND) else '(no kdamond 0)',
            pid))
        if os.path.isdir(dc.KDAMOND) and dc.state() != 'off':
            dc.turn_off(self, 'off after the writers', pid)
        err = dc.write(os.path.join(dc.KDAMONDS, 'nr_kdamonds'), 0)
        self.expect(err == 0, 'nr_kdamonds 0 after the writers failed with '
                    '%s' % dc.errno_name(err))
        if pid > 0:
            self.expect(dc.wait_for(lambda: not dc.is_kdamond(pid),
                                    dc.STOP_TIMEOUT),
                        'kdamond %d is left running' % pid)

        what = 'a kdamond after the writers'
        start, end = self.workload.buffers[0]
        dc.build(dc.config([self.workload.pid], ops='fvaddr',
                           regions=[[(start, end)]], min_nr=3, max_nr=30))
        pid = dc.turn_on(self, what)
        if not pid:
            return
        t = time.monotonic()
        aggrs = tracer.wait(t, 5, 30)
        self.expect(len(aggrs) >= 5, '%s: %d aggregations in 30 s, want 5'
                    % (what, len(aggrs)))
        bad = [a for a in aggrs if not a.within([(start, end)])]
        self.expect(not bad, '%s: %d aggregations not exactly over its '
                    'region, e.g. %r' % (what, len(bad),
                                         bad[0] if bad else None))
        dc.turn_off(self, what, pid)
        dc.must_write(os.path.join(dc.KDAMONDS, 'nr_kdamonds'), 0)

    def run(self):
        # The tracer's thread comes after the forks.
        if self.hammer():
            tracer = dc.Tracer('damon_sysfs_concurrent')
            try:
                self.afterwards(tracer)
            finally:
                tracer.close()
        self.expect(self.workload.alive(), 'the workload died')


def main():
    dc.check_environment(need_tracefs=True)
    kmsg = dc.Kmsg()
    test = None
    workload = None
    try:
        workload = dc.Workload(1, 4, [(0, [0])])
        test = Test(workload)
        test.run()
    except (OSError, dc.SetupError, RuntimeError) as e:
        test = test or dc.Checker()
        test.fail('unexpected error: %s' % e)
    finally:
        dc.cleanup()
        if workload:
            workload.kill()
    return test.finish(kmsg)


if __name__ == '__main__':
    sys.exit(main())
