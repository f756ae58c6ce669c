# SPDX-License-Identifier: GPL-2.0
"""Helpers of the DAMON selftests: everything the tests share, in one
module, in sections that build on each other.

- Basics: exit codes, logging, polling, the kernel log (Kmsg) and the
  kdamond threads.
- Workloads: access_memory (Workload) and mem_sweep (MemSweep), both
  built next to the tests, run in the background with their output
  parsed: their buffers, and how long each sweep took.
- The wsse sample: damon_sample_wsse monitors the process of its
  target_pid parameter while its enable parameter is set, and logs
  "damon_sample_wsse: wss: <bytes>" after every aggregation interval.
- The sysfs ABI: /sys/kernel/mm/damon/admin with one kdamond (kdamonds/0)
  of one context (contexts/0), driven as user space tools do: fill the
  files, write a keyword to state, read back state and pid.  Checker
  collects a test's failures.  Every test leaves the tree as it found
  it: kdamond 0 off and nr_kdamonds 0.
- The damon_aggregated tracepoint, read by Tracer in a trace instance of
  the test's own whose clock is CLOCK_MONOTONIC, so that events can be
  placed before or after a write.
- Schemes, described as dicts (see scheme()) and written to
  contexts/0/schemes before on; what they did is read back through the
  state commands: update_schemes_stats for stats/,
  update_schemes_effective_quotas for quotas/effective_bytes,
  update_schemes_tried_regions and update_schemes_tried_bytes for
  tried_regions/.  ApplyTracer reads the damon:damos_before_apply
  tracepoint.
- Running a test: run() skips when DAMON's sysfs interface is missing,
  and leaves kdamond 0 off and nr_kdamonds 0 whatever happened.
- Reliability cases: each reliability_*.py test guards one class of
  failure and holds a few cases, which run_cases() runs and reports in
  KTAP (see there).
- Physical memory seen from user space, as root: /proc/<pid>/pagemap
  gives whether each page is present or swapped out and its page frame
  number, /proc/kpageflags the flags of a frame (KPF_ACTIVE: on the
  active list), /proc/iomem where the System RAM is.  Swap sets up swap
  on zram.
- The DAMON modules (DAMON_RECLAIM, DAMON_LRU_SORT and DAMON_STAT),
  driven through their parameters under /sys/module/<name>/parameters/:
  enabled Y starts a module's kdamond, whose pid kdamond_pid shows,
  commit_inputs Y applies the other parameters to the running kdamond,
  enabled N stops it.  Module wraps one; run_modules() runs a test with
  every parameter it changed restored and every module it enabled
  stopped at the end.
"""

import _thread
import array
import collections
import errno
import gzip
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import traceback


# === Basics ===

KSFT_PASS = 0
KSFT_FAIL = 1
KSFT_SKIP = 4

TEST_DIR = os.path.dirname(os.path.abspath(__file__))
MIB = 1 << 20
PAGE_SIZE = os.sysconf('SC_PAGE_SIZE')
UINT_MAX = (1 << 32) - 1
ULONG_MAX = (1 << (8 * struct.calcsize('L'))) - 1
U64_MAX = (1 << 64) - 1

# Generous bounds: emulated machines are slow and noisy.
STOP_TIMEOUT = 10       # s for a kdamond to be gone once told to stop
EXIT_TIMEOUT = 30       # s for a kdamond to stop after its target exited

# What the kernel says only when something went wrong.
SPLAT_RE = re.compile(
    r'WARNING:|BUG:|KASAN:|UBSAN:|Kernel panic|Oops|general protection|'
    r'Call Trace:|INFO: task .* blocked|possible (recursive|circular) '
    r'locking|inconsistent lock state|suspicious RCU usage|'
    r'unreferenced object')


def log(msg):
    print(msg, flush=True)


def skip(msg):
    log('SKIP: ' + msg)
    sys.exit(KSFT_SKIP)


def errno_name(err):
    return errno.errorcode.get(err, str(err)) if err else '0'


def wait_for(cond, timeout, interval=0.1):
    """Poll cond() until it is true or timeout seconds pass; return it."""
    deadline = time.monotonic() + timeout
    while True:
        val = cond()
        if val or time.monotonic() >= deadline:
            return val
        time.sleep(interval)


def kdamonds():
    """The kdamond kernel threads: {pid: comm}."""
    threads = {}
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/comm' % pid) as f:
                comm = f.read().strip()
            if not re.fullmatch(r'kdamond\.\d+', comm):
                continue
            # A kernel thread has no mm, so no command line.
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                if f.read():
                    continue
        except OSError:
            continue
        threads[int(pid)] = comm
    return threads


def percentile(values, pct):
    """The pct-th percentile of values, interpolated between ranks."""
    vals = sorted(values)
    if not vals:
        return None
    pos = (len(vals) - 1) * pct / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


class Kmsg:
    """The kernel log from now on, read through /dev/kmsg."""

    def __init__(self):
        self.fd = os.open('/dev/kmsg', os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)
        self.all = []

    def read(self, timeout=0):
        """Messages logged since the last call, waiting up to timeout s
        for the first one: [(timestamp_us, text), ...]."""
        msgs = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                rec = os.read(self.fd, 8192).decode(errors='replace')
            except BlockingIOError:
                left = deadline - time.monotonic()
                if msgs or left <= 0:
                    break
                select.select([self.fd], [], [], left)
                continue
            except OSError as e:
                if e.errno == errno.EPIPE:      # overwritten; go on
                    continue
                raise
            head, _, text = rec.partition(';')
            fields = head.split(',')
            text = text.split('\n')[0]
            msgs.append((int(fields[2]) if len(fields) > 2 else 0, text))
        self.all += msgs
        return msgs

    def splats(self):
        self.read()
        return [t for _, t in self.all if SPLAT_RE.search(t)]

    def close(self):
        os.close(self.fd)


# === Workloads ===

ACCESS_MEMORY = os.path.join(TEST_DIR, 'access_memory')
MEM_SWEEP = os.path.join(TEST_DIR, 'mem_sweep')


def phase_args(phases):
    """The arguments of the workloads for phases, [(duration_ms, [idx,
    ...] or None for idle), ...]."""
    args = []
    for duration_ms, idxs in phases:
        args += [str(duration_ms),
                 ','.join(str(i) for i in idxs) if idxs else 'none']
    return args


class Workload:
    """access_memory running in the background, its output parsed."""

    def __init__(self, nr_buffers, mib, phases, ready_timeout=60,
                 flush=True, cpu=None):
        """phases: as phase_args() takes them; flush=False keeps
        access_memory from flushing its TLB (-n); cpu pins it to that
        CPU."""
        args = [ACCESS_MEMORY] + ([] if flush else ['-n'])
        args += [str(nr_buffers), str(mib)] + phase_args(phases)
        self._start(args, ready_timeout, cpu)

    def _start(self, args, ready_timeout, cpu):
        self.args = args
        self.lines = []
        self.cond = threading.Condition()
        pin = None if cpu is None else (
            lambda: os.sched_setaffinity(0, {cpu}))
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     text=True, bufsize=1, preexec_fn=pin)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.pid = self.proc.pid
        self.buffers = []
        if not self.wait_line('ready', ready_timeout):
            self.kill()
            raise RuntimeError('%s did not get ready in %d s; output: %s' %
                               (' '.join(args), ready_timeout, self.lines))
        for line in self.lines:
            m = re.fullmatch(r'buffer (\d+) 0x([0-9a-f]+)-0x([0-9a-f]+)',
                             line)
            if m:
                self.buffers.append((int(m.group(2), 16),
                                     int(m.group(3), 16)))

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.strip())
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_line(self, prefix, timeout):
        """Wait for an output line starting with prefix; return it."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines:
                    if line.startswith(prefix):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and
                                 not self.reader.is_alive()):
                    return None
                self.cond.wait(min(left, 0.5))

    def phase_stats(self, n, timeout):
        """The statistics line of phase n as a dict, or None."""
        line = self.wait_line('phase %d ' % n, timeout)
        if not line:
            return None
        f = line.split()
        return {'sweeps': int(f[3]), 'min_us': int(f[6]),
                'avg_us': int(f[8]), 'max_us': int(f[10])}

    def pfns(self, idx):
        """Page frame numbers of the present pages of buffer idx."""
        return pfns(self.pid, *self.buffers[idx])

    def residency(self, idx):
        """Shares of buffer idx resident and swapped out: residency()."""
        return residency(self.pid, *self.buffers[idx])

    def sweeps_started(self):
        """Whether a phase line was printed yet (the first phase ended)."""
        return any(line.startswith('phase ') for line in self.lines)

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        """SIGKILL the workload and reap it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.reader.join(5)


class MemSweep(Workload):
    """mem_sweep running in the background, its output parsed.

    buffers: ['a128', 'f64', ...] (see mem_sweep.c); phases: as
    phase_args() takes them."""

    def __init__(self, buffers, phases, ready_timeout=120, cpu=None):
        args = [MEM_SWEEP] + list(buffers) + ['--'] + phase_args(phases)
        self._start(args, ready_timeout, cpu)


# === The wsse sample ===

PARAMS = '/sys/module/damon_sample_wsse/parameters'


def check_wsse_environment(need_tracefs=False):
    """Skip unless the test can run here; return nothing."""
    if os.geteuid() != 0:
        skip('needs root')
    if not os.path.isdir(PARAMS):
        skip('needs CONFIG_SAMPLE_DAMON_WSSE (no %s)' % PARAMS)
    if not os.access(ACCESS_MEMORY, os.X_OK):
        log('FAIL: the workload %s is missing' % ACCESS_MEMORY)
        sys.exit(KSFT_FAIL)
    if read_param('enable') != 'N':
        skip('damon_sample_wsse is enabled already')
    if need_tracefs and not os.path.isdir(
            '/sys/kernel/tracing/events/damon/damon_aggregated'):
        skip('needs tracefs at /sys/kernel/tracing with the '
             'damon:damon_aggregated event')


def read_param(name):
    with open(os.path.join(PARAMS, name)) as f:
        return f.read().strip()


def write_param(name, value):
    """Write a parameter of the sample; return 0 or the errno of write()."""
    fd = os.open(os.path.join(PARAMS, name), os.O_WRONLY)
    try:
        os.write(fd, str(value).encode())
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)
    return 0


def parse_wss(msgs):
    """The estimates, in bytes, among kernel log messages."""
    wss = []
    for _, text in msgs:
        m = re.fullmatch(r'damon_sample_wsse: wss: (\d+)', text)
        if m:
            wss.append(int(m.group(1)))
    return wss


def stop_sample():
    """Leave the sample disabled, whatever happened."""
    if os.path.isdir(PARAMS) and read_param('enable') != 'N':
        write_param('enable', 'N')


# === The sysfs ABI ===

ADMIN = '/sys/kernel/mm/damon/admin'
KDAMONDS = os.path.join(ADMIN, 'kdamonds')
KDAMOND = os.path.join(KDAMONDS, '0')
STATE = os.path.join(KDAMOND, 'state')
CONTEXTS = os.path.join(KDAMOND, 'contexts')
CTX = os.path.join(CONTEXTS, '0')
INTERVALS = os.path.join(CTX, 'monitoring_attrs', 'intervals')
NR_REGIONS = os.path.join(CTX, 'monitoring_attrs', 'nr_regions')
TARGETS = os.path.join(CTX, 'targets')
SCHEMES = os.path.join(CTX, 'schemes')
NR_SCHEMES = os.path.join(SCHEMES, 'nr_schemes')

TRACING = '/sys/kernel/tracing'
AGGREGATED = 'events/damon/damon_aggregated'


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
    """Setting the test up failed: it cannot go on."""


class Skip(Exception):
    """The test, or the case of a test, cannot run here."""


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
    if not os.access(ACCESS_MEMORY, os.X_OK):
        log('FAIL: the workload %s is missing' % ACCESS_MEMORY)
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


def build(cfg, schemes=None):
    """Create kdamond 0 with one context configured as cfg, and schemes
    (see scheme()) if given; raise Skip if there is no schemes
    directory to take them."""
    must_write(os.path.join(KDAMONDS, 'nr_kdamonds'), 1)
    must_write(os.path.join(CONTEXTS, 'nr_contexts'), 1)
    configure(cfg)
    if schemes is None:
        return
    if not os.path.isdir(SCHEMES):
        raise Skip('no schemes directory at %s' % rel(SCHEMES))
    configure_schemes(schemes)


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


class TracePipe:
    """One tracepoint in a trace instance of our own, read in the
    background; lost-event markers are counted in lost, and subclasses
    parse the other lines (_parse(), called with lock held; _lost() is
    told of each marker) and set up what _parse() fills before calling
    __init__().
    Timestamps are CLOCK_MONOTONIC, as time.monotonic()."""

    def __init__(self, name, event):
        self.event = event
        self.dir = os.path.join(TRACING, 'instances', name)
        if os.path.isdir(self.dir):
            os.rmdir(self.dir)
        os.mkdir(self.dir)
        self.lock = threading.Lock()
        self.lost = 0
        self._stop = False
        self.fd = None
        self.thread = None
        try:
            self._set('buffer_size_kb', '8192')
            self._set('trace_clock', 'mono')
            self._set(os.path.join(event, 'enable'), '1')
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
                    if 'LOST' in line and 'EVENTS' in line:
                        self.lost += 1
                        self._lost()
                    else:
                        self._parse(line)

    def _parse(self, line):
        raise NotImplementedError

    def _lost(self):
        """Events were lost before the next line."""

    def close(self):
        self._stop = True
        if self.thread:
            self.thread.join(5)
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        try:
            self._set('tracing_on', '0')
            self._set(os.path.join(self.event, 'enable'), '0')
        except OSError:
            pass
        if os.path.isdir(self.dir):
            os.rmdir(self.dir)


class Tracer(TracePipe):
    """damon_aggregated events, read in the background."""

    def __init__(self, name):
        self.aggrs = []
        self.partial = 0
        self._cur = []
        super().__init__(name, AGGREGATED)

    def _lost(self):
        self._cur = []

    def _parse(self, line):
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


def periods(aggrs):
    """Seconds between consecutive aggregations of target 0."""
    ts = [a.ts for a in aggrs if a.target == 0]
    return [b - a for a, b in zip(ts, ts[1:])]


# === Schemes ===

STATS = ('nr_tried', 'sz_tried', 'nr_applied', 'sz_applied',
         'sz_ops_filter_passed', 'qt_exceeds')


class TestError(Exception):
    """A state command or a setup step failed: the test cannot go on."""


def scheme(action='stat', sz=(0, ULONG_MAX), nr_accesses=(0, UINT_MAX),
           age=(0, UINT_MAX), apply_interval_us=0, quota_bytes=0,
           quota_ms=0, reset_interval_ms=0, goals=(), weights=None,
           wmarks=None, filters=()):
    """A scheme; the defaults match every region and set no quota, no
    watermarks and no filters.  goals: [(metric, target_value,
    current_value), ...]; weights: (sz, nr_accesses, age) in per mille;
    wmarks: (metric, interval_us, high, mid, low); filters: a list of
    dicts of filter file values ({'type': 'addr', ...})."""
    return {'action': action, 'sz': sz, 'nr_accesses': nr_accesses,
            'age': age, 'apply_interval_us': apply_interval_us,
            'quota_bytes': quota_bytes, 'quota_ms': quota_ms,
            'reset_interval_ms': reset_interval_ms, 'goals': list(goals),
            'weights': weights, 'wmarks': wmarks, 'filters': list(filters)}


# A stat scheme every region matches, watermarks that keep it inactive
# (the free memory rate is above high, 0), checked every interval_us.
def inactive_scheme(interval_us):
    return scheme(wmarks=('free_mem_rate', interval_us, 0, 0, 0))


def scheme_dir(s):
    return os.path.join(SCHEMES, str(s))


def goal_dir(s, g):
    return os.path.join(scheme_dir(s), 'quotas', 'goals', str(g))


def configure_schemes(schemes):
    """Fill contexts/0/schemes with schemes (see scheme()); raises
    SetupError."""
    must_write(os.path.join(SCHEMES, 'nr_schemes'), len(schemes))
    for i, s in enumerate(schemes):
        d = scheme_dir(i)
        must_write(os.path.join(d, 'action'), s['action'])
        must_write(os.path.join(d, 'apply_interval_us'),
                   s['apply_interval_us'])
        for name in ('sz', 'nr_accesses', 'age'):
            lo, hi = s[name]
            pd = os.path.join(d, 'access_pattern', name)
            # max first: a min above the old max would be refused.
            must_write(os.path.join(pd, 'max'), hi)
            must_write(os.path.join(pd, 'min'), lo)
        qd = os.path.join(d, 'quotas')
        must_write(os.path.join(qd, 'bytes'), s['quota_bytes'])
        must_write(os.path.join(qd, 'ms'), s['quota_ms'])
        must_write(os.path.join(qd, 'reset_interval_ms'),
                   s['reset_interval_ms'])
        must_write(os.path.join(qd, 'goals', 'nr_goals'), len(s['goals']))
        for g, (metric, target, current) in enumerate(s['goals']):
            gd = goal_dir(i, g)
            must_write(os.path.join(gd, 'target_metric'), metric)
            must_write(os.path.join(gd, 'target_value'), target)
            must_write(os.path.join(gd, 'current_value'), current)
        if s.get('weights') is not None:
            wd = os.path.join(qd, 'weights')
            for name, val in zip(('sz_permil', 'nr_accesses_permil',
                                  'age_permil'), s['weights']):
                must_write(os.path.join(wd, name), val)
        if s.get('wmarks') is not None:
            wd = os.path.join(d, 'watermarks')
            for name, val in zip(('metric', 'interval_us', 'high', 'mid',
                                  'low'), s['wmarks']):
                must_write(os.path.join(wd, name), val)
        filters = s.get('filters', ())
        fd = os.path.join(d, 'filters')
        must_write(os.path.join(fd, 'nr_filters'), len(filters))
        for f, vals in enumerate(filters):
            for name, val in vals.items():
                must_write(os.path.join(fd, str(f), name), val)


def command(keyword):
    """Write keyword to state; raise TestError if the write fails."""
    err = write(STATE, keyword)
    if err:
        raise TestError('writing %s to state failed with %s' %
                        (keyword, errno_name(err)))


def read_values(d, names):
    """{name: int} of the files names under d; None for a file missing
    (sz_ops_filter_passed and sz_filter_passed came with Linux 6.14)."""
    vals = {}
    for name in names:
        path = os.path.join(d, name)
        vals[name] = int(read(path)) if os.path.exists(path) else None
    return vals


def stats(nr):
    """update_schemes_stats, then the stats of schemes 0..nr-1 as dicts."""
    command('update_schemes_stats')
    return [read_values(os.path.join(scheme_dir(s), 'stats'), STATS)
            for s in range(nr)]


def effective_bytes(s):
    """update_schemes_effective_quotas, then effective_bytes of scheme s."""
    command('update_schemes_effective_quotas')
    return int(read(os.path.join(scheme_dir(s), 'quotas',
                                 'effective_bytes')))


def set_goal_current(s, g, value, keyword='commit_schemes_quota_goals'):
    """Feed a user_input goal its current value and commit it."""
    must_write(os.path.join(goal_dir(s, g), 'current_value'), value)
    command(keyword)


def tried_bytes(s):
    """update_schemes_tried_bytes, then tried_regions/total_bytes."""
    command('update_schemes_tried_bytes')
    return int(read(os.path.join(scheme_dir(s), 'tried_regions',
                                 'total_bytes')))


def read_tried_regions(s):
    """The tried_regions directory of scheme s as it is now:
    (total_bytes, [{start, end, nr_accesses, age, sz_filter_passed}])."""
    d = os.path.join(scheme_dir(s), 'tried_regions')
    total = int(read(os.path.join(d, 'total_bytes')))
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


class ApplyTracer(TracePipe):
    """damos_before_apply events, read in the background."""

    def __init__(self, name):
        self.events = []
        self.unparsed = []
        super().__init__(name, BEFORE_APPLY)

    @staticmethod
    def available():
        return os.path.isdir(os.path.join(TRACING, BEFORE_APPLY))

    def _parse(self, line):
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
    """Run test(chk), chk a Checker, on a clean tree; return the
    kselftest exit code."""
    check_environment()
    if need_tracefs and not ApplyTracer.available():
        skip('needs tracefs at %s with the damon:damos_before_apply '
             'event' % TRACING)
    kmsg = Kmsg()
    chk = Checker()
    t0 = time.monotonic()
    skipped = None
    try:
        test(chk)
    except Skip as e:
        skipped = str(e)
    except (OSError, SetupError, TestError, RuntimeError) as e:
        chk.fail('unexpected error: %s' % e)
    finally:
        cleanup()
        log('ran for %.1f s' % (time.monotonic() - t0))
    if skipped:
        skip(skipped)
    chk.expect(read(os.path.join(KDAMONDS, 'nr_kdamonds')) == '0',
               'nr_kdamonds is not 0 at the end')
    return chk.finish(kmsg)


# === Reliability cases ===
#
# Each reliability_*.py test guards one class of failure that DAMON once
# had or could have: arithmetic on user-given numbers that overflows or
# rounds to nothing, state commands that wait forever on a kdamond that
# will not answer, races with a kdamond stopping, and references or
# strings that leak or tear.  A test file holds a few cases, each naming
# its class; run_cases() prints KTAP, one line per case:
#
#     TAP version 13
#     1..N
#     # <what the case does>
#     ok 1 <case>
#     not ok 2 <case>
#     # Totals: pass:1 fail:1 skip:0
#
# and the test exits 0 if every case passed (or skipped), 1 otherwise, and
# 4 if it cannot run here.  A case fails on a broken expectation or on a
# splat in the kernel log while it ran.
#
# Every state command goes through Case.call(), which writes the keyword
# from a thread of its own and waits a bounded time: a command that does
# not return fails its case at once.  If the cleanup (off, nr_kdamonds 0)
# then gets through too, the next cases run; if not, the kdamond or
# damon_sysfs_lock is wedged, the cases after it are not run (they would
# only hang too) and the test exits at once.  Loops too tight for a
# thread per write run under a Watchdog instead, which ends the test when
# they stop making progress.  Processes to monitor are access_memory
# (Workload) or children forked here (Child), which exit when told to or
# after a set time.

# Every keyword the state file takes; the commands besides on and off.
KEYWORDS = ('on', 'off', 'commit', 'commit_schemes_quota_goals',
            'update_schemes_stats', 'update_schemes_tried_bytes',
            'update_schemes_tried_regions', 'clear_schemes_tried_regions',
            'update_schemes_effective_quotas')
COMMANDS = KEYWORDS[2:]

# Generous bounds: the guest is emulated (TCG) with KASAN and lockdep.
RETURN = 10             # s for any state command to return
PROMPT = 5              # s for a command that has nothing to wait for
CLEANUP = 60            # s for the cleanup between cases

CLK_TCK = os.sysconf('SC_CLK_TCK')


def ktap_log(msg):
    """A diagnostic line of the KTAP output."""
    for line in str(msg).split('\n'):
        print('# ' + line, flush=True)


class Wedged(Exception):
    """A write did not return: later cases would hang on it."""


class Call(threading.Thread):
    """One write in the background, timed."""

    def __init__(self, path, val):
        super().__init__(daemon=True)
        self.path = path
        self.val = val
        self.err = None
        self.t1 = None
        self.t0 = time.monotonic()
        self.start()

    def run(self):
        self.err = write(self.path, self.val)
        self.t1 = time.monotonic()

    def done_within(self, timeout):
        """Wait up to timeout s from now; whether the write returned."""
        self.join(timeout)
        return not self.is_alive()

    def took(self):
        return (self.t1 if self.t1 is not None else time.monotonic()) - \
            self.t0


class Hammer(threading.Thread):
    """Writes keywords to state, one after the other and over and over,
    until told to end; counts what each write returned."""

    def __init__(self, keywords, pause=0):
        super().__init__(daemon=True)
        self.keywords = keywords
        self.pause = pause
        self.errs = {}
        self.nr = 0
        self.pending = None
        self._halt = threading.Event()
        self.start()

    def run(self):
        while not self._halt.is_set():
            for kw in self.keywords:
                self.pending = kw
                err = write(STATE, kw)
                self.pending = None
                counts = self.errs.setdefault(kw, {})
                counts[err] = counts.get(err, 0) + 1
                self.nr += 1
                if self._halt.is_set():
                    break
                if self.pause:
                    time.sleep(self.pause)

    def summary(self):
        return ', '.join('%s: %s' % (kw, ' '.join(
            '%s*%d' % (errno_name(e), n) for e, n in sorted(c.items())))
            for kw, c in self.errs.items())

    def end(self, case, what, timeout=RETURN):
        """Stop; fail the case and raise Wedged if the write under way
        does not return within timeout s."""
        self._halt.set()
        self.join(timeout)
        if self.is_alive():
            case.fail('%s: writing %s did not return in %d s' %
                      (what, self.pending, timeout))
            raise Wedged(what)


class Case(Checker):
    """The checker of one case."""

    def __init__(self, name):
        super().__init__()
        self.name = name

    def fail(self, msg, ours=False):
        ktap_log('FAIL: ' + msg)
        self.fails.append(msg)

    def finished(self, call, what, timeout):
        """Fail and raise Wedged unless call returned within timeout."""
        if call.done_within(timeout):
            return
        self.fail('%s: writing %r to %s did not return in %d s' % (
            what, call.val, rel(call.path), timeout))
        raise Wedged(what)

    def call(self, what, keyword, want=None, timeout=RETURN, path=STATE):
        """Write keyword to path (state) and wait up to timeout s for it;
        expect one of the errnos want (if given); return the errno."""
        c = Call(path, keyword)
        self.finished(c, what, timeout)
        if want is not None:
            self.expect_errno(c.err, want, '%s: writing %s' % (what, keyword))
        return c.err

    def expect_on(self, what, pid=None):
        """Expect the kdamond running (with pid, if given)."""
        st, now = state(), kdamond_pid()
        return self.expect(st == 'on' and now > 0 and
                           (pid is None or now == pid),
                           '%s: state %s, pid %d, want on%s' % (
                               what, st, now,
                               '' if pid is None else ' and %d' % pid))

    def turn_on(self, what):
        """on; expect it to start a kdamond; return its pid or None."""
        err = self.call(what, 'on')
        if not self.expect(err == 0, '%s: on failed with %s' %
                           (what, errno_name(err))):
            return None
        pid = kdamond_pid()
        if not self.expect(state() == 'on' and pid > 0 and
                           is_kdamond(pid), '%s: state %s, pid %d after '
                           'on' % (what, state(), pid)):
            return None
        return pid

    def turn_off(self, what, pid, timeout=RETURN):
        """off, within timeout s; expect the kdamond gone."""
        err = self.call(what, 'off', timeout=timeout)
        self.expect(err == 0, '%s: off failed with %s' %
                    (what, errno_name(err)))
        expect_off(self, what, pid)

    def wait_off(self, what, timeout):
        """Expect state off within timeout s; return whether it was."""
        t0 = time.monotonic()
        off = wait_for(lambda: state() == 'off', timeout, 0.05)
        self.expect(off, '%s: state still %s %d s later' %
                    (what, state(), timeout))
        if off:
            ktap_log('%s: off after %.2f s' % (what, time.monotonic() - t0))
        return off

    def stats(self, what, nr=1, timeout=RETURN):
        """update_schemes_stats, then the stats of schemes 0..nr-1 as
        dicts; None if the update failed."""
        err = self.call(what, 'update_schemes_stats', timeout=timeout)
        if not self.expect(err == 0, '%s: update_schemes_stats failed '
                           'with %s' % (what, errno_name(err))):
            return None
        return [read_values(os.path.join(scheme_dir(s), 'stats'), STATS)
                for s in range(nr)]


class Child:
    """A forked child that exits when told to, or after lifetime s; its
    parent (the test) reaps it when it chooses, so that it can stay a
    zombie for a while."""

    def __init__(self, lifetime=None):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:            # the child: no Python beyond this
            try:
                select.select([r], [], [], lifetime)
            finally:
                os._exit(0)
        os.close(r)
        self.pid = pid
        self._w = w
        self.status = None
        self._reaper = None

    def exit(self):
        """Let the child exit (a byte, as other children may hold the
        pipe open too)."""
        if self._w is not None:
            try:
                os.write(self._w, b'x')
            except OSError:
                pass
            os.close(self._w)
            self._w = None

    def reap(self):
        if self._reaper:
            self._reaper.join()
        elif self.status is None:
            _, self.status = os.waitpid(self.pid, 0)

    def reap_in_background(self):
        """Reap the child as soon as it exits."""
        def run():
            _, self.status = os.waitpid(self.pid, 0)
        self._reaper = threading.Thread(target=run, daemon=True)
        self._reaper.start()

    def reaped(self):
        return self.status is not None

    def end(self):
        """Let it exit and reap it."""
        self.exit()
        self.reap()


class ThreadTarget:
    """A thread of the test that waits until told to exit: a task with a
    struct pid of its own, as a process has, but some ten times cheaper to
    make than a fork on an emulated guest.  The kernel reaps it as soon
    as it exits."""

    def __init__(self):
        self._go = _thread.allocate_lock()
        self._go.acquire()
        self._ready = _thread.allocate_lock()
        self._ready.acquire()
        self.pid = None
        _thread.start_new_thread(self._run, ())
        self._ready.acquire()

    def _run(self):
        self.pid = threading.get_native_id()
        self._ready.release()
        self._go.acquire()

    def end(self):
        if self._go.locked():
            self._go.release()


class Watchdog(threading.Thread):
    """For loops too tight for a thread per write: unless poked every
    timeout s, says what was under way and ends the test."""

    def __init__(self, what, timeout=RETURN):
        super().__init__(daemon=True)
        self.what = what
        self.timeout = timeout
        self.doing = None
        self._last = time.monotonic()
        self._halt = threading.Event()
        self.start()

    def poke(self, doing):
        self.doing = doing
        self._last = time.monotonic()

    def run(self):
        while not self._halt.wait(1):
            if time.monotonic() - self._last > self.timeout:
                ktap_log('FAIL: %s: %s did not finish in %d s' % (
                    self.what, self.doing, self.timeout))
                print('not ok - a write hung', flush=True)
                os._exit(KSFT_FAIL)

    def end(self):
        self._halt.set()
        self.join()


def proc_state(pid):
    """The state letter of /proc/<pid>/stat (Z for a zombie), or None."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def cpu_secs(pid):
    """utime + stime of a task in seconds, or None if it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return None
    # Fields 14 and 15 of stat; the list starts at field 3.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def majflt(pid):
    """Major page faults of a task so far."""
    with open('/proc/%d/stat' % pid) as f:
        return int(f.read().rsplit(')', 1)[1].split()[9])


def free_mem_rate():
    """Free memory per mille, as the watermarks see it."""
    info = {}
    with open('/proc/meminfo') as f:
        for line in f:
            key, val = line.split(':')
            info[key] = int(val.split()[0])
    return info['MemFree'] * 1000 // info['MemTotal']


def _bounded_cleanup():
    """cleanup() within CLEANUP s; False if it hung."""
    th = threading.Thread(target=cleanup, daemon=True)
    th.start()
    th.join(CLEANUP)
    return not th.is_alive()


def run_cases(cases, need_tracefs=False):
    """Run cases, [(name, description, fn(case)), ...], each on a clean
    tree; print KTAP and return the exit code.  Names given as arguments
    pick the cases to run."""
    if sys.argv[1:]:
        unknown = set(sys.argv[1:]) - {name for name, _, _ in cases}
        if unknown:
            print('unknown cases: %s; known: %s' % (
                ' '.join(sorted(unknown)),
                ' '.join(name for name, _, _ in cases)), file=sys.stderr)
            return 2
        cases = [c for c in cases if c[0] in sys.argv[1:]]
    check_environment(need_tracefs=need_tracefs)
    kmsg = Kmsg()
    print('TAP version 13')
    print('1..%d' % len(cases), flush=True)
    nr_pass = nr_fail = nr_skip = 0
    wedged = False
    t_all = time.monotonic()
    for i, (name, desc, fn) in enumerate(cases, 1):
        case = Case(name)
        skip = None
        t0 = time.monotonic()
        if wedged:
            skip = 'an earlier case left a write hanging'
        else:
            ktap_log('%s: %s' % (name, desc))
            cleaned = False
            try:
                fn(case)
            except Skip as e:
                skip = str(e)
            except Wedged:
                # Maybe only slow: if the cleanup gets through, go on.
                wedged = not _bounded_cleanup()
                cleaned = True
                if not wedged:
                    ktap_log('the cleanup got through: going on')
            except Exception as e:      # a bug of the test: still clean up
                ktap_log(traceback.format_exc().rstrip())
                case.fail('unexpected error: %r' % e)
            if not cleaned and not _bounded_cleanup():
                case.fail('cleanup (off, nr_kdamonds 0) did not finish in '
                          '%d s' % CLEANUP)
                wedged = True
            if not wedged:
                case.expect(read(os.path.join(KDAMONDS,
                                              'nr_kdamonds')) == '0',
                            'nr_kdamonds is not 0 after the case')
            for s in kmsg.splats():
                case.fail('kernel: ' + s)
            kmsg.all = []
        took = time.monotonic() - t0
        if case.fails:
            nr_fail += 1
            print('not ok %d %s # %.1f s' % (i, name, took), flush=True)
        elif skip:
            nr_skip += 1
            print('ok %d %s # SKIP %s' % (i, name, skip), flush=True)
        else:
            nr_pass += 1
            print('ok %d %s # %.1f s' % (i, name, took), flush=True)
    ktap_log('Totals: pass:%d fail:%d skip:%d (%.1f s)' % (
        nr_pass, nr_fail, nr_skip, time.monotonic() - t_all))
    if wedged:
        # Exiting the usual way could wait on the hung write, and the
        # cleanup too: leave at once.
        sys.stdout.flush()
        os._exit(KSFT_FAIL)
    kmsg.close()
    if nr_fail:
        return KSFT_FAIL
    if nr_skip and not nr_pass:
        return KSFT_SKIP
    return KSFT_PASS


# === Physical memory seen from user space ===

PM_PRESENT = 1 << 63
PM_SWAPPED = 1 << 62
PM_PFN_MASK = (1 << 55) - 1
KPAGEFLAGS = '/proc/kpageflags'
KPF_LRU = 5
KPF_ACTIVE = 6
KPF_ZERO_PAGE = 24


def pagemap(pid, start, end):
    """The pagemap entries of the pages of [start, end) of pid."""
    nr = (end - start) // PAGE_SIZE
    entries = array.array('Q')
    with open('/proc/%d/pagemap' % pid, 'rb') as f:
        f.seek(start // PAGE_SIZE * 8)
        entries.frombytes(f.read(nr * 8))
    return entries


def pfns(pid, start, end):
    """Page frame numbers of the present pages of [start, end)."""
    return [e & PM_PFN_MASK for e in pagemap(pid, start, end)
            if e & PM_PRESENT]


def residency(pid, start, end):
    """Shares of the pages of [start, end) of pid that are resident and
    that are swapped out.

    A page mapping the shared zero page is present but holds no memory:
    reclaim splitting a huge page maps its zero-filled parts to it rather
    than swapping them out, and access_memory's idle buffers are zeros.
    The zero page is the one frame mapped more than once in a private
    anonymous range, so only such frames are looked up."""
    entries = pagemap(pid, start, end)
    frames = collections.Counter(e & PM_PFN_MASK for e in entries
                                 if e & PM_PRESENT)
    shared = [pfn for pfn, n in frames.items() if n > 1]
    flags = kpageflags(shared) if shared else {}
    zero = sum(frames[pfn] for pfn in shared
               if flags.get(pfn, 0) >> KPF_ZERO_PAGE & 1)
    swapped = sum(1 for e in entries if e & PM_SWAPPED)
    return ((sum(frames.values()) - zero) / len(entries),
            swapped / len(entries))


def runs(numbers):
    """Sorted numbers as runs of consecutive ones: [(first, count)]."""
    out = []
    for n in sorted(set(numbers)):
        if out and out[-1][0] + out[-1][1] == n:
            out[-1][1] += 1
        else:
            out.append([n, 1])
    return [tuple(r) for r in out]


def kpageflags(frames):
    """{pfn: flags} of frames, read one run of consecutive frames at a
    time."""
    flags = {}
    fd = os.open(KPAGEFLAGS, os.O_RDONLY)
    try:
        for first, count in runs(frames):
            data = array.array('Q')
            data.frombytes(os.pread(fd, count * 8, first * 8))
            for i, f in enumerate(data):
                flags[first + i] = f
    finally:
        os.close(fd)
    return flags


def flag_share(frames, bit):
    """Share of frames with flag bit set."""
    if not frames:
        return 0.0
    flags = kpageflags(frames)
    return sum(1 for p in frames if flags.get(p, 0) >> bit & 1) / len(frames)


def system_ram():
    """The System RAM ranges of /proc/iomem, [(start, end)], end
    exclusive.  Only root sees the addresses."""
    ranges = []
    with open('/proc/iomem') as f:
        for line in f:
            m = re.fullmatch(r'([0-9a-f]+)-([0-9a-f]+) : System RAM\n?',
                             line)
            if m:
                ranges.append((int(m.group(1), 16), int(m.group(2), 16) + 1))
    return [r for r in ranges if r[1] > r[0]]


def biggest_system_ram():
    ranges = system_ram()
    if not ranges:
        skip('no System RAM addresses in /proc/iomem')
    return max(ranges, key=lambda r: r[1] - r[0])


def meminfo():
    """/proc/meminfo in bytes: {name: bytes}."""
    vals = {}
    with open('/proc/meminfo') as f:
        for line in f:
            key, rest = line.split(':', 1)
            fields = rest.split()
            vals[key] = int(fields[0]) * (1024 if len(fields) > 1 else 1)
    return vals


def vmstat(name):
    with open('/proc/vmstat') as f:
        for line in f:
            key, val = line.split()
            if key == name:
                return int(val)
    return 0


def lru_gen_enabled():
    """Whether the multi-gen LRU runs, which does not keep PG_active."""
    try:
        with open('/sys/kernel/mm/lru_gen/enabled') as f:
            return int(f.read(), 0) != 0
    except (OSError, ValueError):
        return False


# === Swap on zram ===

ZRAM = '/sys/block/zram0'
ZRAM_DEV = '/dev/zram0'
SBIN_PATH = '/usr/sbin:/sbin:/usr/bin:/bin'


def swaps():
    with open('/proc/swaps') as f:
        return f.read().splitlines()[1:]


class Swap:
    """Swap on zram0 of disksize bytes for the test, unless some swap is
    on already (the host's root, which the guest sees, has mkswap and
    swapon).  close() takes it down."""

    def __init__(self, disksize):
        self.ours = False
        if swaps():
            log('using the swap that is on: %s' % swaps())
            return
        if not os.path.isdir(ZRAM) or not os.path.exists(ZRAM_DEV):
            skip('needs swap or CONFIG_ZRAM (no %s)' % ZRAM)
        tools = [shutil.which(t, path=SBIN_PATH)
                 for t in ('mkswap', 'swapon', 'swapoff')]
        if None in tools:
            skip('needs mkswap, swapon and swapoff')
        self.mkswap, self.swapon, self.swapoff = tools
        if read(os.path.join(ZRAM, 'disksize')) != '0':
            skip('zram0 is in use')
        self.ours = True
        must_write(os.path.join(ZRAM, 'disksize'), disksize)
        for cmd in ([self.mkswap, ZRAM_DEV], [self.swapon, ZRAM_DEV]):
            res = subprocess.run(cmd, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            if res.returncode:
                self.close()
                raise SetupError('%s failed: %s' % (
                    ' '.join(cmd), res.stdout.strip()))
        log('swap on zram0: %s' % swaps())

    def close(self):
        if not self.ours:
            return
        self.ours = False
        if any(line.split()[0] == ZRAM_DEV for line in swaps()):
            subprocess.run([self.swapoff, ZRAM_DEV])
        write(os.path.join(ZRAM, 'reset'), '1')


# === The DAMON modules ===

RECLAIM = 'damon_reclaim'
LRU_SORT = 'damon_lru_sort'
STAT = 'damon_stat'
MODULES = (RECLAIM, LRU_SORT, STAT)
# Those that start their kdamond exclusive of any other.
EXCLUSIVE = (RECLAIM, LRU_SORT)

# Parameters that are not inputs of the monitoring: switches and outputs.
CONTROLS = ('enabled', 'commit_inputs', 'kdamond_pid')


class Module:
    """One DAMON module, through its parameters."""

    def __init__(self, name):
        self.name = name
        self.dir = '/sys/module/%s/parameters' % name

    def available(self):
        return os.path.isfile(os.path.join(self.dir, 'enabled'))

    def path(self, param):
        return os.path.join(self.dir, param)

    def read(self, param):
        with open(self.path(param)) as f:
            return f.read().rstrip('\n')

    def write(self, param, val):
        """Write val in one write(); return 0 or the errno."""
        return write(self.path(param), val)

    def must_write(self, param, val):
        err = self.write(param, val)
        if err:
            raise SetupError('writing %r to %s/%s failed with %s' % (
                val, self.name, param, errno_name(err)))

    def set(self, **params):
        for name, val in params.items():
            self.must_write(name, val)

    def inputs(self):
        """The writable parameters but enabled and commit_inputs."""
        names = []
        for name in sorted(os.listdir(self.dir)):
            if name in CONTROLS:
                continue
            if os.stat(self.path(name)).st_mode & 0o200:
                names.append(name)
        return names

    def snapshot(self):
        return {name: self.read(name) for name in self.inputs()}

    def restore(self, snap):
        for name, val in snap.items():
            self.write(name, val)

    def enabled(self):
        return self.read('enabled') == 'Y'

    def pid(self):
        return int(self.read('kdamond_pid'))

    def stats(self, names):
        return {name: int(self.read(name)) for name in names}

    @staticmethod
    def grown(before, after):
        """What stats grew by from before to after ({name: int} each).
        A stat under its old value started again from zero, as a new
        kdamond's do: all of it is growth."""
        return {n: after[n] - before[n] if after[n] >= before[n]
                else after[n] for n in after}

    def commit(self):
        return self.write('commit_inputs', 'Y')

    def start(self, chk, what):
        """enabled Y; expect it to succeed, enabled to read Y and
        kdamond_pid to be a kdamond.  Return the pid or None."""
        err = self.write('enabled', 'Y')
        if not chk.expect(err == 0, '%s: %s enabled Y failed with %s' %
                          (what, self.name, errno_name(err))):
            return None
        chk.expect(self.enabled(), '%s: %s enabled reads %s after Y' %
                   (what, self.name, self.read('enabled')))
        pid = self.pid()
        if not chk.expect(pid > 0 and is_kdamond(pid),
                          '%s: %s kdamond_pid reads %d after enabled Y, '
                          'not a kdamond' % (what, self.name, pid)):
            return None
        return pid

    def stop(self, chk, what, pid):
        """enabled N; expect enabled N, kdamond_pid -1 and the thread of
        pid gone."""
        err = self.write('enabled', 'N')
        chk.expect(err == 0, '%s: %s enabled N failed with %s' %
                   (what, self.name, errno_name(err)))
        self.expect_stopped(chk, what, pid)

    def expect_stopped(self, chk, what, pid):
        chk.expect(self.read('enabled') == 'N', '%s: %s enabled reads %s, '
                   'not N' % (what, self.name, self.read('enabled')))
        chk.expect(self.pid() == -1, '%s: %s kdamond_pid reads %d, not -1'
                   % (what, self.name, self.pid()))
        if pid and pid > 0:
            chk.expect(wait_for(lambda: not is_kdamond(pid),
                                STOP_TIMEOUT),
                       '%s: %s kdamond %d still there %d s after enabled N'
                       % (what, self.name, pid, STOP_TIMEOUT))

    def cleanup(self):
        """Leave the module disabled, whatever happened."""
        if not self.available():
            return
        if self.read('enabled') != 'N':
            self.write('enabled', 'N')
            wait_for(lambda: self.read('enabled') == 'N', STOP_TIMEOUT)
        if self.read('enabled') != 'N':
            log('cleanup: %s stays enabled' % self.name)


def need(*names):
    """The modules of names, skipping the test unless they are built."""
    mods = [Module(n) for n in names]
    for m in mods:
        if not m.available():
            skip('needs %s (no %s)' % (m.name, m.dir))
    return mods


def run_modules(test, modules=MODULES, need_workload=True):
    """Run test(chk), chk a Checker; return the kselftest exit code.

    The parameters of modules are restored and the modules disabled at
    the end, and DAMON's sysfs kdamonds are left off and gone."""
    if os.geteuid() != 0:
        skip('needs root')
    if need_workload and not os.access(MEM_SWEEP, os.X_OK):
        log('FAIL: the workload %s is missing' % MEM_SWEEP)
        return KSFT_FAIL
    mods = [Module(n) for n in modules if Module(n).available()]
    for m in mods:
        if m.enabled():
            skip('%s is enabled already' % m.name)
    snaps = [(m, m.snapshot()) for m in mods]
    kmsg = Kmsg()
    chk = Checker()
    t0 = time.monotonic()
    try:
        test(chk)
    except (OSError, SetupError, RuntimeError) as e:
        chk.fail('unexpected error: %s' % e)
    finally:
        for m, snap in snaps:
            m.cleanup()
            m.restore(snap)
        cleanup()
        log('ran for %.1f s' % (time.monotonic() - t0))
    for m, snap in snaps:
        chk.expect(m.snapshot() == snap, '%s: parameters not restored' %
                   m.name)
    return chk.finish(kmsg)
