# SPDX-License-Identifier: GPL-2.0
"""Helpers shared by the selftests of physical address monitoring and of
the DAMON modules: DAMON_RECLAIM, DAMON_LRU_SORT and DAMON_STAT.

A module is driven through its parameters under
/sys/module/<name>/parameters/: enabled Y starts its kdamond, whose pid
kdamond_pid shows, commit_inputs Y applies the other parameters to the
running kdamond, enabled N stops it.  Module() wraps one; run() runs a
test with every parameter it changed restored and every module it
enabled stopped at the end.

The workload is mem_sweep, built next to the tests: anonymous and
file-backed buffers, swept or left alone in phases.  What the kernel did
to a buffer is read where it shows, as root: /proc/<pid>/pagemap gives
whether each page is present or swapped out and its page frame number,
/proc/kpageflags the flags of a frame (KPF_ACTIVE: on the active list),
/proc/iomem where the System RAM is.
"""

import array
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sysfs_common as sc   # noqa: E402
import wsse_common as wc    # noqa: E402

MIB = 1 << 20
PAGE_SIZE = sc.PAGE_SIZE
ULONG_MAX = sc.ULONG_MAX
MEM_SWEEP = os.path.join(wc.TEST_DIR, 'mem_sweep')

log = sc.log
errno_name = sc.errno_name
wait_for = sc.wait_for
skip = sc.skip

# Generous bounds: emulated machines are slow and noisy.
STOP_TIMEOUT = 10       # s for a module's kdamond to be gone after N

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
        return sc.write(self.path(param), val)

    def must_write(self, param, val):
        err = self.write(param, val)
        if err:
            raise sc.SetupError('writing %r to %s/%s failed with %s' % (
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
        if not chk.expect(pid > 0 and sc.is_kdamond(pid),
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
            chk.expect(wait_for(lambda: not sc.is_kdamond(pid),
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


def kdamonds():
    """The kdamond kernel threads: {pid: comm}."""
    return wc.kdamonds()


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
    """Shares of the pages of [start, end) that are present and that are
    swapped out."""
    entries = pagemap(pid, start, end)
    present = sum(1 for e in entries if e & PM_PRESENT)
    swapped = sum(1 for e in entries if e & PM_SWAPPED)
    return present / len(entries), swapped / len(entries)


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


# === The workload ===

class Workload(wc.Workload):
    """mem_sweep running in the background, its output parsed.

    buffers: ['a128', 'f64', ...] (see mem_sweep.c); phases:
    [(duration_ms, [idx, ...] or None for idle), ...]."""

    def __init__(self, buffers, phases, ready_timeout=120, cpu=None):
        args = [MEM_SWEEP] + list(buffers) + ['--']
        for duration_ms, idxs in phases:
            args += [str(duration_ms),
                     ','.join(str(i) for i in idxs) if idxs else 'none']
        self.args = args
        self.lines = []
        self.cond = wc.threading.Condition()
        pin = None if cpu is None else (
            lambda: os.sched_setaffinity(0, {cpu}))
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     text=True, bufsize=1, preexec_fn=pin)
        self.reader = wc.threading.Thread(target=self._read, daemon=True)
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

    def pfns(self, idx):
        return pfns(self.pid, *self.buffers[idx])

    def residency(self, idx):
        return residency(self.pid, *self.buffers[idx])

    def sweeps_started(self):
        """Whether a phase line was printed yet (the first phase ended)."""
        return any(line.startswith('phase ') for line in self.lines)


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
        if sc.read(os.path.join(ZRAM, 'disksize')) != '0':
            skip('zram0 is in use')
        self.ours = True
        sc.must_write(os.path.join(ZRAM, 'disksize'), disksize)
        for cmd in ([self.mkswap, ZRAM_DEV], [self.swapon, ZRAM_DEV]):
            res = subprocess.run(cmd, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            if res.returncode:
                self.close()
                raise sc.SetupError('%s failed: %s' % (
                    ' '.join(cmd), res.stdout.strip()))
        log('swap on zram0: %s' % swaps())

    def close(self):
        if not self.ours:
            return
        self.ours = False
        if any(line.split()[0] == ZRAM_DEV for line in swaps()):
            subprocess.run([self.swapoff, ZRAM_DEV])
        sc.write(os.path.join(ZRAM, 'reset'), '1')


# === Running a test ===

def run(test, modules=MODULES, need_workload=True):
    """Run test(chk), chk an sc.Checker; return the kselftest exit code.

    The parameters of modules are restored and the modules disabled at
    the end, and DAMON's sysfs kdamonds are left off and gone."""
    if os.geteuid() != 0:
        skip('needs root')
    if need_workload and not os.access(MEM_SWEEP, os.X_OK):
        log('FAIL: the workload %s is missing' % MEM_SWEEP)
        return wc.KSFT_FAIL
    mods = [Module(n) for n in modules if Module(n).available()]
    for m in mods:
        if m.enabled():
            skip('%s is enabled already' % m.name)
    snaps = [(m, m.snapshot()) for m in mods]
    kmsg = sc.Kmsg()
    chk = sc.Checker()
    t0 = time.monotonic()
    try:
        test(chk)
    except (OSError, sc.SetupError, RuntimeError) as e:
        chk.fail('unexpected error: %s' % e)
    finally:
        for m, snap in snaps:
            m.cleanup()
            m.restore(snap)
        sc.cleanup()
        log('ran for %.1f s' % (time.monotonic() - t0))
    for m, snap in snaps:
        chk.expect(m.snapshot() == snap, '%s: parameters not restored' %
                   m.name)
    return chk.finish(kmsg)
