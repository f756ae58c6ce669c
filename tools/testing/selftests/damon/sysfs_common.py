# SPDX-License-Identifier: GPL-2.0
"""Helpers shared by the selftests of DAMON's sysfs ABI.

The tests drive /sys/kernel/mm/damon/admin with one kdamond (kdamonds/0)
of one context (contexts/0), as user space tools do: they fill the files,
write a keyword to state and read back state and pid.  What the kdamond
does is watched through the damon:damon_aggregated tracepoint, in a trace
instance of the test's own whose clock is CLOCK_MONOTONIC, so that events
can be placed before or after a write.  The workload is access_memory,
found as wsse_common finds it: next to the tests.

Every test leaves the tree as it found it: kdamond 0 off and nr_kdamonds 0.
"""

import gzip
import os
import re
import select
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsse_common as wc   # noqa: E402

KSFT_PASS = wc.KSFT_PASS
KSFT_FAIL = wc.KSFT_FAIL
KSFT_SKIP = wc.KSFT_SKIP

ADMIN = '/sys/kernel/mm/damon/admin'
KDAMONDS = os.path.join(ADMIN, 'kdamonds')
KDAMOND = os.path.join(KDAMONDS, '0')
CONTEXTS = os.path.join(KDAMOND, 'contexts')
CTX = os.path.join(CONTEXTS, '0')
INTERVALS = os.path.join(CTX, 'monitoring_attrs', 'intervals')
NR_REGIONS = os.path.join(CTX, 'monitoring_attrs', 'nr_regions')
TARGETS = os.path.join(CTX, 'targets')
SCHEMES = os.path.join(CTX, 'schemes')

ULONG_MAX = (1 << (8 * struct.calcsize('L'))) - 1
PAGE_SIZE = os.sysconf('SC_PAGE_SIZE')

TRACING = '/sys/kernel/tracing'
AGGREGATED = 'events/damon/damon_aggregated'

# Generous bounds: emulated machines are slow and noisy.
STOP_TIMEOUT = 10       # s for a kdamond to be gone once off returned
EXIT_TIMEOUT = 30       # s for a kdamond to stop after its target exited

log = wc.log
errno_name = wc.errno_name
wait_for = wc.wait_for
Workload = wc.Workload
Kmsg = wc.Kmsg


def skip(msg):
    wc.skip(msg)


def target_dir(t):
    return os.path.join(TARGETS, str(t))


def region_dir(t, r):
    return os.path.join(target_dir(t), 'regions', str(r))


def rel(path):
    """path relative to the admin directory, for messages."""
    return os.path.relpath(path, ADMIN)


def read(path):
    """The content of a file, without its trailing newline."""
    with open(path) as f:
        return f.read().rstrip('\n')


def write(path, val):
    """Write val in one write(); return 0 or the errno of open()/write()."""
    data = val if isinstance(val, bytes) else str(val).encode()
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as e:
        return e.errno
    try:
        os.write(fd, data)
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)
    return 0


class SetupError(Exception):
    pass


def must_write(path, val):
    err = write(path, val)
    if err:
        raise SetupError('writing %r to %s failed with %s' %
                         (val, rel(path), errno_name(err)))


def kernel_config():
    """Options of the running kernel as {name: value}, or None."""
    try:
        with gzip.open('/proc/config.gz', 'rt') as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    conf = {}
    for line in lines:
        m = re.fullmatch(r'(CONFIG_\w+)=(.*)', line)
        if m:
            conf[m.group(1)] = m.group(2)
    return conf


def check_environment(need_tracefs=False):
    """Skip unless the test can run here."""
    if os.geteuid() != 0:
        skip('needs root')
    if not os.path.isdir(ADMIN):
        skip('needs CONFIG_DAMON_SYSFS (no %s)' % ADMIN)
    if not os.access(wc.ACCESS_MEMORY, os.X_OK):
        log('FAIL: the workload %s is missing' % wc.ACCESS_MEMORY)
        sys.exit(KSFT_FAIL)
    if read(os.path.join(KDAMONDS, 'nr_kdamonds')) != '0':
        skip('%s is in use (nr_kdamonds is not 0)' % KDAMONDS)
    if need_tracefs:
        if not os.path.isdir(os.path.join(TRACING, AGGREGATED)):
            skip('needs tracefs at %s with the damon:damon_aggregated '
                 'event' % TRACING)
        if not os.path.isdir(os.path.join(TRACING, 'instances')):
            skip('needs trace instances')


class Checker:
    """Collects failures.  An expectation marked ours is where our DAMON
    is meant to differ from upstream 6.12 (which the stock kernel runs);
    its message says so, so that a failure on the stock kernel reads as
    the known difference it is."""

    def __init__(self):
        self.fails = []

    def fail(self, msg, ours=False):
        if ours:
            msg = '[ours, not upstream 6.12] ' + msg
        log('FAIL: ' + msg)
        self.fails.append(msg)

    def expect(self, cond, msg, ours=False):
        if not cond:
            self.fail(msg, ours)
        return cond

    def expect_errno(self, err, want, what, ours=False):
        """want: one errno or a collection of accepted ones."""
        wants = want if isinstance(want, (set, tuple, list)) else (want,)
        return self.expect(err in wants, '%s: got %s, want %s' % (
            what, errno_name(err), '/'.join(errno_name(w) for w in wants)),
            ours)

    def finish(self, kmsg=None):
        if kmsg:
            for s in kmsg.splats():
                self.fail('kernel: ' + s)
            kmsg.close()
        if self.fails:
            log('%d failure(s)' % len(self.fails))
            return KSFT_FAIL
        log('PASS')
        return KSFT_PASS


# === The tree ===

def avail_operations():
    return read(os.path.join(CTX, 'avail_operations')).split('\n')


def state():
    return read(os.path.join(KDAMOND, 'state'))


def kdamond_pid():
    return int(read(os.path.join(KDAMOND, 'pid')))


def is_kdamond(pid):
    """Whether pid is a kdamond kernel thread."""
    try:
        with open('/proc/%d/comm' % pid) as f:
            return re.fullmatch(r'kdamond\.\d+', f.read().strip()) is not None
    except OSError:
        return False


def unused_pid():
    """A pid no process has."""
    with open('/proc/sys/kernel/pid_max') as f:
        pid = int(f.read()) - 1
    while os.path.exists('/proc/%d' % pid):
        pid -= 1
    return pid


def config(pids, ops='vaddr', regions=None, sample_us=5000, aggr_us=100000,
           update_us=1000000, min_nr=10, max_nr=1000):
    """A context configuration: pids, one per target, and regions, a list
    of [(start, end), ...] per target (None: no regions)."""
    return {'ops': ops, 'pids': list(pids),
            'regions': regions or [[] for _ in pids],
            'sample_us': sample_us, 'aggr_us': aggr_us,
            'update_us': update_us, 'min_nr': min_nr, 'max_nr': max_nr}


def configure(cfg):
    """Fill contexts/0 with cfg; raises SetupError."""
    must_write(os.path.join(CTX, 'operations'), cfg['ops'])
    must_write(os.path.join(INTERVALS, 'sample_us'), cfg['sample_us'])
    must_write(os.path.join(INTERVALS, 'aggr_us'), cfg['aggr_us'])
    must_write(os.path.join(INTERVALS, 'update_us'), cfg['update_us'])
    must_write(os.path.join(NR_REGIONS, 'min'), cfg['min_nr'])
    must_write(os.path.join(NR_REGIONS, 'max'), cfg['max_nr'])
    must_write(os.path.join(TARGETS, 'nr_targets'), len(cfg['pids']))
    for t, pid in enumerate(cfg['pids']):
        must_write(os.path.join(target_dir(t), 'pid_target'), pid)
        ranges = cfg['regions'][t]
        must_write(os.path.join(target_dir(t), 'regions', 'nr_regions'),
                   len(ranges))
        for r, (start, end) in enumerate(ranges):
            must_write(os.path.join(region_dir(t, r), 'start'), start)
            must_write(os.path.join(region_dir(t, r), 'end'), end)


def build(cfg):
    """Create kdamond 0 with one context configured as cfg."""
    must_write(os.path.join(KDAMONDS, 'nr_kdamonds'), 1)
    must_write(os.path.join(CONTEXTS, 'nr_contexts'), 1)
    configure(cfg)


def turn_on(chk, what):
    """Write on; expect state on and a kdamond pid; return the pid."""
    err = write(os.path.join(KDAMOND, 'state'), 'on')
    if not chk.expect(err == 0, '%s: on failed with %s' %
                      (what, errno_name(err))):
        return None
    chk.expect(state() == 'on', '%s: state reads %r after on' %
               (what, state()))
    pid = kdamond_pid()
    if not chk.expect(pid > 0 and is_kdamond(pid),
                      '%s: pid reads %d after on, not a kdamond' %
                      (what, pid)):
        return None
    return pid


def expect_off(chk, what, pid, timeout=STOP_TIMEOUT):
    """Expect state off, pid -1 and the kdamond thread pid gone."""
    chk.expect(state() == 'off', '%s: state reads %r, not off' %
               (what, state()))
    chk.expect(kdamond_pid() == -1, '%s: pid reads %d, not -1' %
               (what, kdamond_pid()))
    if pid and pid > 0:
        chk.expect(wait_for(lambda: not is_kdamond(pid), timeout),
                   '%s: kdamond %d still there after %d s' %
                   (what, pid, timeout))


def turn_off(chk, what, pid):
    err = write(os.path.join(KDAMOND, 'state'), 'off')
    chk.expect(err == 0, '%s: off failed with %s' % (what, errno_name(err)))
    expect_off(chk, what, pid)


def cleanup():
    """Leave kdamond 0 off and nr_kdamonds 0, whatever happened."""
    if not os.path.isdir(ADMIN):
        return
    nr_kdamonds = os.path.join(KDAMONDS, 'nr_kdamonds')
    state_file = os.path.join(KDAMOND, 'state')

    def is_off():
        try:
            return read(state_file) == 'off'
        except OSError:         # no kdamond 0 (any more)
            return True

    if not is_off():
        write(state_file, 'off')
        wait_for(is_off, STOP_TIMEOUT)
    if not wait_for(lambda: write(nr_kdamonds, 0) == 0, STOP_TIMEOUT):
        log('cleanup: cannot write 0 to nr_kdamonds')


def walk_files(top):
    """Every regular file under top, sorted."""
    files = []
    for root, _, names in os.walk(top):
        files += [os.path.join(root, n) for n in names]
    return sorted(files)


# === The damon_aggregated tracepoint ===

EVENT_RE = re.compile(r'\s(\d+\.\d+): damon_aggregated: (.*)$')
BODY_RE = re.compile(
    r'target_id=(\d+) nr_regions=(\d+) (\d+)-(\d+): (\d+) (\d+)')


class Event:
    __slots__ = ('ts', 'target', 'nr_regions', 'start', 'end',
                 'nr_accesses', 'age')

    def __init__(self, ts, fields):
        self.ts = ts
        (self.target, self.nr_regions, self.start, self.end,
         self.nr_accesses, self.age) = fields


class Aggregation:
    """The regions of one target reported at one aggregation."""

    def __init__(self, events):
        self.ts = events[0].ts
        self.target = events[0].target
        self.regions = [(e.start, e.end, e.nr_accesses, e.age)
                        for e in events]

    def within(self, ranges):
        """Whether every region lies in one of ranges, and they are
        covered exactly (regions do not overlap)."""
        for s, e, _, _ in self.regions:
            if not any(rs <= s and e <= re_ for rs, re_ in ranges):
                return False
        return (sum(e - s for s, e, _, _ in self.regions) ==
                sum(re_ - rs for rs, re_ in ranges))

    def accessed_cover(self, start, end):
        """Share of [start, end) in regions with nr_accesses > 0."""
        covered = sum(max(0, min(e, end) - max(s, start))
                      for s, e, acc, _ in self.regions if acc > 0)
        return covered / (end - start)

    def max_nr_accesses(self):
        return max(acc for _, _, acc, _ in self.regions)

    def __repr__(self):
        return 'aggregation at %.3f of target %d: %s' % (
            self.ts, self.target,
            ', '.join('%x-%x:%d' % (s, e, acc)
                      for s, e, acc, _ in self.regions[:8]) +
            (', ...' if len(self.regions) > 8 else ''))


class Tracer:
    """damon_aggregated events in a trace instance of our own, read in
    the background.  Timestamps are CLOCK_MONOTONIC, as time.monotonic()."""

    def __init__(self, name):
        self.dir = os.path.join(TRACING, 'instances', name)
        if os.path.isdir(self.dir):
            os.rmdir(self.dir)
        os.mkdir(self.dir)
        self.lock = threading.Lock()
        self.aggrs = []
        self.lost = 0
        self.partial = 0
        self._cur = []
        self._stop = False
        self.fd = None
        try:
            self._set('buffer_size_kb', '8192')
            self._set('trace_clock', 'mono')
            self._set(os.path.join(AGGREGATED, 'enable'), '1')
            self._set('tracing_on', '1')
            self.fd = os.open(os.path.join(self.dir, 'trace_pipe'),
                              os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            self.close()
            raise
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

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
            self._cur = []
            return
        m = EVENT_RE.search(line)
        if not m:
            return
        b = BODY_RE.fullmatch(m.group(2))
        if not b:
            return
        ev = Event(float(m.group(1)), tuple(int(x) for x in b.groups()))
        cur = self._cur
        if cur and (ev.target != cur[0].target or
                    ev.nr_regions != cur[0].nr_regions):
            self.partial += 1
            cur.clear()
        cur.append(ev)
        if len(cur) == cur[0].nr_regions:
            self.aggrs.append(Aggregation(cur))
            self._cur = []

    def since(self, t0, t1=None):
        """Whole aggregations that began after t0 (and before t1)."""
        with self.lock:
            return [a for a in self.aggrs
                    if a.ts > t0 and (t1 is None or a.ts < t1)]

    def wait(self, t0, nr, timeout, target=None):
        """Wait for nr aggregations (of target, if given) after t0;
        return those seen."""
        def enough():
            got = [a for a in self.since(t0)
                   if target is None or a.target == target]
            return got if len(got) >= nr else None
        wait_for(enough, timeout, 0.2)
        return [a for a in self.since(t0)
                if target is None or a.target == target]

    def close(self):
        self._stop = True
        if getattr(self, 'thread', None):
            self.thread.join(5)
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        try:
            self._set('tracing_on', '0')
            self._set(os.path.join(AGGREGATED, 'enable'), '0')
        except OSError:
            pass
        if os.path.isdir(self.dir):
            os.rmdir(self.dir)


def periods(aggrs):
    """Seconds between consecutive aggregations of target 0."""
    ts = [a.ts for a in aggrs if a.target == 0]
    return [b - a for a, b in zip(ts, ts[1:])]
