# SPDX-License-Identifier: GPL-2.0
"""Helpers shared by the selftests that drive DAMON through damon_sample_wsse.

The sample monitors the process of its target_pid parameter while its
enable parameter is set, in a kdamond thread named kdamond.N, and logs
"damon_sample_wsse: wss: <bytes>" after every aggregation interval.  The
workload is access_memory, built next to the tests.
"""

import errno
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time

KSFT_PASS = 0
KSFT_FAIL = 1
KSFT_SKIP = 4

PARAMS = '/sys/module/damon_sample_wsse/parameters'
TEST_DIR = os.path.dirname(os.path.abspath(__file__))
ACCESS_MEMORY = os.path.join(TEST_DIR, 'access_memory')
MIB = 1 << 20

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


def check_environment(need_tracefs=False):
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


class Workload:
    """access_memory running in the background, its output parsed."""

    def __init__(self, nr_buffers, mib, phases, ready_timeout=60,
                 flush=True, cpu=None):
        """phases: [(duration_ms, [idx, ...] or None for idle), ...];
        flush=False keeps access_memory from flushing its TLB (-n); cpu
        pins it to that CPU."""
        args = [ACCESS_MEMORY] + ([] if flush else ['-n'])
        args += [str(nr_buffers), str(mib)]
        for duration_ms, idxs in phases:
            args += [str(duration_ms),
                     ','.join(str(i) for i in idxs) if idxs else 'none']
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

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        """SIGKILL the workload and reap it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.reader.join(5)


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
