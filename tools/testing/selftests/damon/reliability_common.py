# SPDX-License-Identifier: GPL-2.0
"""Helpers shared by the reliability_*.py selftests.

Each of those tests guards one class of failure that DAMON once had or
could have: arithmetic on user-given numbers that overflows or rounds to
nothing, state commands that wait forever on a kdamond that will not
answer, races with a kdamond stopping, and references or strings that
leak or tear.  A test file holds a few cases, each naming its class; the
file prints KTAP, one line per case:

    TAP version 13
    1..N
    # <what the case does>
    ok 1 <case>
    not ok 2 <case>
    # Totals: pass:1 fail:1 skip:0

and exits 0 if every case passed (or skipped), 1 otherwise, and 4 if it
cannot run here.  A case fails on a broken expectation or on a splat in
the kernel log while it ran.

Every state command goes through Case.call(), which writes the keyword
from a thread of its own and waits a bounded time: a command that does
not return fails its case at once.  If the cleanup (off, nr_kdamonds 0)
then gets through too, the next cases run; if not, the kdamond or
damon_sysfs_lock is wedged, the cases after it are not run (they would
only hang too) and the test exits at once.  Loops too tight for a thread
per write run under a Watchdog instead, which ends the test when they
stop making progress.

The setup builds on sysfs_common and damos_common: kdamond 0 with context
0.  Processes to monitor are access_memory (sc.Workload) or children
forked here (Child), which exit when told to or after a set time.
"""

import _thread
import os
import select
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sysfs_common as sc   # noqa: E402
import damos_common as dc   # noqa: E402

KSFT_PASS = sc.KSFT_PASS
KSFT_FAIL = sc.KSFT_FAIL
KSFT_SKIP = sc.KSFT_SKIP

UINT_MAX = (1 << 32) - 1
ULONG_MAX = sc.ULONG_MAX
U64_MAX = (1 << 64) - 1
PAGE_SIZE = sc.PAGE_SIZE
STATE = dc.STATE
NR_SCHEMES = os.path.join(sc.SCHEMES, 'nr_schemes')

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


def log(msg):
    """A diagnostic line of the KTAP output."""
    for line in str(msg).split('\n'):
        print('# ' + line, flush=True)


class Wedged(Exception):
    """A write did not return: later cases would hang on it."""


class Skip(Exception):
    """The case cannot run here."""


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
        self.err = sc.write(self.path, self.val)
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
                err = sc.write(STATE, kw)
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
            '%s*%d' % (sc.errno_name(e), n) for e, n in sorted(c.items())))
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


class Case(sc.Checker):
    """The checker of one case."""

    def __init__(self, name):
        super().__init__()
        self.name = name

    def fail(self, msg, ours=False):
        log('FAIL: ' + msg)
        self.fails.append(msg)

    def finished(self, call, what, timeout):
        """Fail and raise Wedged unless call returned within timeout."""
        if call.done_within(timeout):
            return
        self.fail('%s: writing %r to %s did not return in %d s' % (
            what, call.val, sc.rel(call.path), timeout))
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
        st, now = sc.state(), sc.kdamond_pid()
        return self.expect(st == 'on' and now > 0 and
                           (pid is None or now == pid),
                           '%s: state %s, pid %d, want on%s' % (
                               what, st, now,
                               '' if pid is None else ' and %d' % pid))

    def turn_on(self, what):
        """on; expect it to start a kdamond; return its pid or None."""
        err = self.call(what, 'on')
        if not self.expect(err == 0, '%s: on failed with %s' %
                           (what, sc.errno_name(err))):
            return None
        pid = sc.kdamond_pid()
        if not self.expect(sc.state() == 'on' and pid > 0 and
                           sc.is_kdamond(pid), '%s: state %s, pid %d after '
                           'on' % (what, sc.state(), pid)):
            return None
        return pid

    def turn_off(self, what, pid, timeout=RETURN):
        """off, within timeout s; expect the kdamond gone."""
        err = self.call(what, 'off', timeout=timeout)
        self.expect(err == 0, '%s: off failed with %s' %
                    (what, sc.errno_name(err)))
        sc.expect_off(self, what, pid)

    def wait_off(self, what, timeout):
        """Expect state off within timeout s; return whether it was."""
        t0 = time.monotonic()
        off = sc.wait_for(lambda: sc.state() == 'off', timeout, 0.05)
        self.expect(off, '%s: state still %s %d s later' %
                    (what, sc.state(), timeout))
        if off:
            log('%s: off after %.2f s' % (what, time.monotonic() - t0))
        return off

    def stats(self, what, nr=1, timeout=RETURN):
        """update_schemes_stats, then the stats of schemes 0..nr-1 as
        dicts; None if the update failed."""
        err = self.call(what, 'update_schemes_stats', timeout=timeout)
        if not self.expect(err == 0, '%s: update_schemes_stats failed '
                           'with %s' % (what, sc.errno_name(err))):
            return None
        return [dc.read_values(os.path.join(dc.scheme_dir(s), 'stats'),
                               dc.STATS) for s in range(nr)]


# === Schemes ===

def scheme(weights=None, wmarks=None, filters=(), **kw):
    """A damos_common scheme, and besides: weights (sz, nr_accesses, age)
    in per mille; wmarks (metric, interval_us, high, mid, low); filters,
    a list of dicts of filter file values ({'type': 'addr', ...})."""
    s = dc.scheme(**kw)
    s['weights'] = weights
    s['wmarks'] = wmarks
    s['filters'] = list(filters)
    return s


def configure_schemes(schemes):
    """Fill contexts/0/schemes; raises sc.SetupError."""
    dc.configure_schemes(schemes)
    for i, s in enumerate(schemes):
        d = dc.scheme_dir(i)
        if s.get('weights') is not None:
            wd = os.path.join(d, 'quotas', 'weights')
            for name, val in zip(('sz_permil', 'nr_accesses_permil',
                                  'age_permil'), s['weights']):
                sc.must_write(os.path.join(wd, name), val)
        if s.get('wmarks') is not None:
            wd = os.path.join(d, 'watermarks')
            for name, val in zip(('metric', 'interval_us', 'high', 'mid',
                                  'low'), s['wmarks']):
                sc.must_write(os.path.join(wd, name), val)
        filters = s.get('filters') or []
        fd = os.path.join(d, 'filters')
        sc.must_write(os.path.join(fd, 'nr_filters'), len(filters))
        for f, vals in enumerate(filters):
            for name, val in vals.items():
                sc.must_write(os.path.join(fd, str(f), name), val)


def build(cfg, schemes=()):
    """kdamond 0 with one context configured as cfg, with schemes."""
    sc.build(cfg)
    if schemes:
        if not os.path.isdir(sc.SCHEMES):
            raise Skip('no schemes directory at %s' % sc.rel(sc.SCHEMES))
        configure_schemes(schemes)


# A stat scheme every region matches, watermarks that keep it inactive
# (the free memory rate is above high, 0), checked every interval_us.
def inactive_scheme(interval_us):
    return scheme(wmarks=('free_mem_rate', interval_us, 0, 0, 0))


# === Processes ===

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
                log('FAIL: %s: %s did not finish in %d s' % (
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


def free_mem_rate():
    """Free memory per mille, as the watermarks see it."""
    info = {}
    with open('/proc/meminfo') as f:
        for line in f:
            key, val = line.split(':')
            info[key] = int(val.split()[0])
    return info['MemFree'] * 1000 // info['MemTotal']


# === Running the cases ===

def _cleanup():
    """sc.cleanup() within CLEANUP s; False if it hung."""
    th = threading.Thread(target=sc.cleanup, daemon=True)
    th.start()
    th.join(CLEANUP)
    return not th.is_alive()


def main(cases, need_tracefs=False):
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
    sc.check_environment(need_tracefs=need_tracefs)
    kmsg = sc.Kmsg()
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
            log('%s: %s' % (name, desc))
            cleaned = False
            try:
                fn(case)
            except Skip as e:
                skip = str(e)
            except Wedged:
                # Maybe only slow: if the cleanup gets through, go on.
                wedged = not _cleanup()
                cleaned = True
                if not wedged:
                    log('the cleanup got through: going on')
            except Exception as e:      # a bug of the test: still clean up
                log(traceback.format_exc().rstrip())
                case.fail('unexpected error: %r' % e)
            if not cleaned and not _cleanup():
                case.fail('cleanup (off, nr_kdamonds 0) did not finish in '
                          '%d s' % CLEANUP)
                wedged = True
            if not wedged:
                case.expect(sc.read(os.path.join(sc.KDAMONDS,
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
    log('Totals: pass:%d fail:%d skip:%d (%.1f s)' % (
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
