# SPDX-License-Identifier: GPL-2.0
"""Helpers shared by the DAMOS selftests of quotas, quota goals, apply
intervals, tried regions and working set estimation.

They build on sysfs_common: kdamond 0 with context 0, monitoring an
access_memory process.  Schemes are described as dicts (see scheme())
and written to contexts/0/schemes before on; what they did is read back
through the state commands: update_schemes_stats for stats/,
update_schemes_effective_quotas for quotas/effective_bytes,
update_schemes_tried_regions and update_schemes_tried_bytes for
tried_regions/.  ApplyTracer reads the damon:damos_before_apply
tracepoint in a trace instance of the test's own.

run() wraps a test: it skips when DAMON's sysfs interface or its schemes
directories are missing, and leaves kdamond 0 off and nr_kdamonds 0
whatever happened.
"""

import os
import re
import select
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sysfs_common as sc   # noqa: E402

MIB = 1 << 20
UINT_MAX = (1 << 32) - 1
ULONG_MAX = sc.ULONG_MAX
STATE = os.path.join(sc.KDAMOND, 'state')
STATS = ('nr_tried', 'sz_tried', 'nr_applied', 'sz_applied',
         'sz_ops_filter_passed', 'qt_exceeds')

log = sc.log


class TestError(Exception):
    """A state command or a setup step failed: the test cannot go on."""


def scheme(action='stat', sz=(0, ULONG_MAX), nr_accesses=(0, UINT_MAX),
           age=(0, UINT_MAX), apply_interval_us=0, quota_bytes=0,
           quota_ms=0, reset_interval_ms=0, goals=()):
    """A scheme; the defaults match every region and set no quota.
    goals: [(metric, target_value, current_value), ...]."""
    return {'action': action, 'sz': sz, 'nr_accesses': nr_accesses,
            'age': age, 'apply_interval_us': apply_interval_us,
            'quota_bytes': quota_bytes, 'quota_ms': quota_ms,
            'reset_interval_ms': reset_interval_ms, 'goals': list(goals)}


def scheme_dir(s):
    return os.path.join(sc.SCHEMES, str(s))


def goal_dir(s, g):
    return os.path.join(scheme_dir(s), 'quotas', 'goals', str(g))


def configure_schemes(schemes):
    """Fill contexts/0/schemes with schemes; raises sc.SetupError."""
    sc.must_write(os.path.join(sc.SCHEMES, 'nr_schemes'), len(schemes))
    for i, s in enumerate(schemes):
        d = scheme_dir(i)
        sc.must_write(os.path.join(d, 'action'), s['action'])
        sc.must_write(os.path.join(d, 'apply_interval_us'),
                      s['apply_interval_us'])
        for name in ('sz', 'nr_accesses', 'age'):
            lo, hi = s[name]
            pd = os.path.join(d, 'access_pattern', name)
            # max first: a min above the old max would be refused.
            sc.must_write(os.path.join(pd, 'max'), hi)
            sc.must_write(os.path.join(pd, 'min'), lo)
        qd = os.path.join(d, 'quotas')
        sc.must_write(os.path.join(qd, 'bytes'), s['quota_bytes'])
        sc.must_write(os.path.join(qd, 'ms'), s['quota_ms'])
        sc.must_write(os.path.join(qd, 'reset_interval_ms'),
                      s['reset_interval_ms'])
        sc.must_write(os.path.join(qd, 'goals', 'nr_goals'),
                      len(s['goals']))
        for g, (metric, target, current) in enumerate(s['goals']):
            gd = goal_dir(i, g)
            sc.must_write(os.path.join(gd, 'target_metric'), metric)
            sc.must_write(os.path.join(gd, 'target_value'), target)
            sc.must_write(os.path.join(gd, 'current_value'), current)


def build(cfg, schemes):
    """kdamond 0 with one context configured as cfg, with schemes."""
    sc.build(cfg)
    if not os.path.isdir(sc.SCHEMES):
        sc.skip('no schemes directory at %s' % sc.rel(sc.SCHEMES))
    configure_schemes(schemes)


def command(keyword):
    """Write keyword to state; raise TestError if the write fails."""
    err = sc.write(STATE, keyword)
    if err:
        raise TestError('writing %s to state failed with %s' %
                        (keyword, sc.errno_name(err)))


def read_values(d, names):
    """{name: int} of the files names under d; None for a file missing
    (sz_ops_filter_passed and sz_filter_passed came with Linux 6.14)."""
    vals = {}
    for name in names:
        path = os.path.join(d, name)
        vals[name] = int(sc.read(path)) if os.path.exists(path) else None
    return vals


def stats(nr):
    """update_schemes_stats, then the stats of schemes 0..nr-1 as dicts."""
    command('update_schemes_stats')
    return [read_values(os.path.join(scheme_dir(s), 'stats'), STATS)
            for s in range(nr)]


def effective_bytes(s):
    """update_schemes_effective_quotas, then effective_bytes of scheme s."""
    command('update_schemes_effective_quotas')
    return int(sc.read(os.path.join(scheme_dir(s), 'quotas',
                                    'effective_bytes')))


def set_goal_current(s, g, value, keyword='commit_schemes_quota_goals'):
    """Feed a user_input goal its current value and commit it."""
    sc.must_write(os.path.join(goal_dir(s, g), 'current_value'), value)
    command(keyword)


def tried_bytes(s):
    """update_schemes_tried_bytes, then tried_regions/total_bytes."""
    command('update_schemes_tried_bytes')
    return int(sc.read(os.path.join(scheme_dir(s), 'tried_regions',
                                    'total_bytes')))


def read_tried_regions(s):
    """The tried_regions directory of scheme s as it is now:
    (total_bytes, [{start, end, nr_accesses, age, sz_filter_passed}])."""
    d = os.path.join(scheme_dir(s), 'tried_regions')
    total = int(sc.read(os.path.join(d, 'total_bytes')))
    regions = []
    for name in sorted((n for n in os.listdir(d) if n.isdigit()), key=int):
        regions.append(read_values(os.path.join(d, name),
                                   ('start', 'end', 'nr_accesses', 'age',
                                    'sz_filter_passed')))
    return total, regions


def covered(ranges, start, end):
    """Bytes of [start, end) that ranges, [(start, end), ...] that do not
    overlap each other, cover."""
    return sum(max(0, min(e, end) - max(s, start)) for s, e in ranges)


# === The damos_before_apply tracepoint ===

BEFORE_APPLY = 'events/damon/damos_before_apply'
APPLY_RE = re.compile(
    r'\s(\d+\.\d+): damos_before_apply: ctx_idx=(\d+) scheme_idx=(\d+) '
    r'target_idx=(\d+) nr_regions=(\d+) (\d+)-(\d+): (\d+) (\d+)$')


class ApplyEvent:
    __slots__ = ('ts', 'ctx', 'scheme', 'target', 'nr_regions', 'start',
                 'end', 'nr_accesses', 'age')

    def __init__(self, ts, fields):
        self.ts = ts
        (self.ctx, self.scheme, self.target, self.nr_regions, self.start,
         self.end, self.nr_accesses, self.age) = fields

    def size(self):
        return self.end - self.start


class ApplyTracer:
    """damos_before_apply events in a trace instance of our own, read in
    the background.  Timestamps are CLOCK_MONOTONIC, as time.monotonic()."""

    def __init__(self, name):
        self.dir = os.path.join(sc.TRACING, 'instances', name)
        if os.path.isdir(self.dir):
            os.rmdir(self.dir)
        os.mkdir(self.dir)
        self.lock = threading.Lock()
        self.events = []
        self.lost = 0
        self.unparsed = []
        self._stop = False
        self.fd = None
        self.thread = None
        try:
            self._set('buffer_size_kb', '8192')
            self._set('trace_clock', 'mono')
            self._set(os.path.join(BEFORE_APPLY, 'enable'), '1')
            self._set('tracing_on', '1')
            self.fd = os.open(os.path.join(self.dir, 'trace_pipe'),
                              os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            self.close()
            raise
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def available():
        return os.path.isdir(os.path.join(sc.TRACING, BEFORE_APPLY))

    def _set(self, name, val):
        with open(os.path.join(self.dir, name), 'w') as f:
            f.write(val)

    def _run(self):
        partial = ''
        while not self._stop:
            r, _, _ = select.select([self.fd], [], [], 0.2)
            if not r:
                continue
            try:
                data = os.read(self.fd, 1 << 16).decode(errors='replace')
            except BlockingIOError:
                continue
            lines = (partial + data).split('\n')
            partial = lines.pop()
            with self.lock:
                for line in lines:
                    self._parse(line)

    def _parse(self, line):
        if 'LOST' in line and 'EVENTS' in line:
            self.lost += 1
            return
        if 'damos_before_apply' not in line:
            return
        m = APPLY_RE.search(line)
        if not m:
            self.unparsed.append(line)
            return
        self.events.append(ApplyEvent(float(m.group(1)),
                                      tuple(int(x) for x in m.groups()[1:])))

    def between(self, t0, t1):
        with self.lock:
            return [e for e in self.events if t0 < e.ts < t1]

    def close(self):
        self._stop = True
        if self.thread:
            self.thread.join(5)
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        try:
            self._set('tracing_on', '0')
            self._set(os.path.join(BEFORE_APPLY, 'enable'), '0')
        except OSError:
            pass
        if os.path.isdir(self.dir):
            os.rmdir(self.dir)


def passes(events, gap):
    """Split events, sorted by time, where gap seconds pass without one:
    the apply passes of a scheme, when they are further apart than gap."""
    groups = []
    for e in sorted(events, key=lambda e: e.ts):
        if groups and e.ts - groups[-1][-1].ts <= gap:
            groups[-1].append(e)
        else:
            groups.append([e])
    return groups


# === Running a test ===

def run(test, need_tracefs=False):
    """Run test(chk), chk an sc.Checker, on a clean tree; return the
    kselftest exit code."""
    sc.check_environment()
    if need_tracefs and not ApplyTracer.available():
        sc.skip('needs tracefs at %s with the damon:damos_before_apply '
                'event' % sc.TRACING)
    kmsg = sc.Kmsg()
    chk = sc.Checker()
    t0 = time.monotonic()
    try:
        test(chk)
    except (OSError, sc.SetupError, TestError, RuntimeError) as e:
        chk.fail('unexpected error: %s' % e)
    finally:
        sc.cleanup()
        log('ran for %.1f s' % (time.monotonic() - t0))
    chk.expect(sc.read(os.path.join(sc.KDAMONDS, 'nr_kdamonds')) == '0',
               'nr_kdamonds is not 0 at the end')
    return chk.finish(kmsg)
