#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Bad, extreme and racing parameters of DAMON_RECLAIM and DAMON_LRU_SORT.

Each module runs from good parameters: 5 ms samples, 100 ms aggregations,
watermarks that keep its schemes active, and a scheme that is tried at
every aggregation but does next to nothing (DAMON_RECLAIM: min_age 0
with a size quota of one page per 100 ms; DAMON_LRU_SORT: cold_min_age
0, deactivating what is cold), so that a count of tried regions shows
the kdamond at work.  For each module:

1. Each bad input alone (zero sample or aggregation interval, sampling
   longer than aggregation, min_nr_regions > max_nr_regions or under 3,
   wmarks_high < wmarks_mid, wmarks_mid < wmarks_low, an empty or an
   inverted monitoring region) makes enabled Y fail with EINVAL and
   start nothing: enabled reads N, kdamond_pid -1, the kdamonds are
   those of before.
2. With the module running, each bad input makes commit_inputs Y fail
   with EINVAL, and the kdamond stays as it was: the same kdamond_pid,
   its thread alive, enabled Y, commit_inputs back to N, and its tried
   count still growing.
3. Each numeric input set to 0, 1, 2^63 and ULONG_MAX in turn, then
   committed: the commit returns within 10 s with success or EINVAL,
   and committing the good inputs again succeeds with the same kdamond
   running.
4. Two processes write inputs (half of the time the good value, else
   a random one, extremes included) and commit_inputs for 10 s; every
   write and commit returns within 10 s with success or EINVAL, and
   some commits go through.  The good inputs then commit, the same
   kdamond runs, and enabled N stops it within 10 s.

Any splat in the kernel log fails the test.
"""

import errno
import json
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

COMMON = {
    'sample_interval': 5000,
    'aggr_interval': 100000,
    'min_nr_regions': 10,
    'max_nr_regions': 1000,
    'wmarks_interval': 100000,
    'wmarks_high': 1000,
    'wmarks_mid': 999,
    'wmarks_low': 0,
    'monitor_region_start': 0,
    'monitor_region_end': 0,
}
GOOD = {
    dc.RECLAIM: dict(COMMON, min_age=0, quota_ms=0, quota_sz=dc.PAGE_SIZE,
                     quota_reset_interval_ms=100, quota_mem_pressure_us=0,
                     quota_autotune_feedback=0, skip_anon='N'),
    dc.LRU_SORT: dict(COMMON, hot_thres_access_freq=500, cold_min_age=0,
                      quota_ms=10, quota_reset_interval_ms=100),
}
TRIED = {
    dc.RECLAIM: 'nr_reclaim_tried_regions',
    dc.LRU_SORT: 'nr_lru_deprio_tried_regions',
}
BAD = (
    ('zero sample_interval', {'sample_interval': 0}),
    ('zero aggr_interval', {'aggr_interval': 0}),
    ('sample_interval > aggr_interval',
     {'sample_interval': 200000, 'aggr_interval': 100000}),
    ('min_nr_regions > max_nr_regions',
     {'min_nr_regions': 100, 'max_nr_regions': 50}),
    ('min_nr_regions < 3', {'min_nr_regions': 2}),
    ('wmarks_high < wmarks_mid',
     {'wmarks_high': 300, 'wmarks_mid': 400, 'wmarks_low': 100}),
    ('wmarks_mid < wmarks_low',
     {'wmarks_high': 1000, 'wmarks_mid': 100, 'wmarks_low': 200}),
    ('empty monitoring region',
     {'monitor_region_start': 1 << 20, 'monitor_region_end': 1 << 20}),
    ('inverted monitoring region',
     {'monitor_region_start': 2 << 20, 'monitor_region_end': 1 << 20}),
)
EXTREMES = (0, 1, 1 << 63, dc.ULONG_MAX)
POOL = EXTREMES + (2, 3, 10, 100, 1000, 4096, 5000, 100000, 1000000,
                   1 << 20, 1 << 32)
CALL_TIMEOUT = 10       # s for a write to return
GROW_TIMEOUT = 5        # s for the tried count to grow
HAMMER_S = 10
NR_HAMMERS = 2


def timed_write(mod, param, val):
    """Write in a thread; return (errno, seconds) or (None, timeout) if it
    did not return in time."""
    res = []
    t0 = time.monotonic()
    th = threading.Thread(target=lambda: res.append(mod.write(param, val)),
                          daemon=True)
    th.start()
    th.join(CALL_TIMEOUT)
    return (res[0] if res else None), time.monotonic() - t0


def numeric_inputs(mod):
    return [n for n in mod.inputs() if mod.read(n).lstrip('-').isdigit()]


def grows(mod, name):
    """Whether stat name moves within GROW_TIMEOUT: the kdamond applies
    its scheme (a new kdamond may start its stats again from 0)."""
    v0 = int(mod.read(name))
    return dc.wait_for(lambda: int(mod.read(name)) != v0, GROW_TIMEOUT,
                       0.1)


def refused_at_enable(chk, mod, good):
    for what, bad in BAD:
        what = '%s: enabled Y with %s' % (mod.name, what)
        mod.set(**good)
        mod.set(**bad)
        before = dc.kdamonds()
        err = mod.write('enabled', 'Y')
        chk.expect_errno(err, errno.EINVAL, what)
        if err == 0:
            mod.cleanup()
            continue
        chk.expect(mod.read('enabled') == 'N' and mod.pid() == -1 and
                   dc.kdamonds() == before,
                   '%s: enabled %s, kdamond_pid %d, kdamonds %s (were %s)'
                   % (what, mod.read('enabled'), mod.pid(), dc.kdamonds(),
                      before))
    mod.set(**good)


def expect_untouched(chk, mod, what, pid):
    """The kdamond of pid still runs for mod; return whether it does."""
    alive = dc.is_kdamond(pid)
    return chk.expect(alive and mod.pid() == pid and mod.enabled(),
                      '%s: kdamond %d %s, kdamond_pid %d, enabled %s' % (
                          what, pid, 'alive' if alive else 'gone',
                          mod.pid(), mod.read('enabled')))


def refused_at_commit(chk, mod, good, pid):
    tried = TRIED[mod.name]
    chk.expect(grows(mod, tried), '%s: %s does not grow with the good '
               'inputs' % (mod.name, tried))
    for what, bad in BAD:
        what = '%s: commit_inputs with %s' % (mod.name, what)
        mod.set(**bad)
        err, took = timed_write(mod, 'commit_inputs', 'Y')
        if not chk.expect(err is not None, '%s: no return in %d s' %
                          (what, CALL_TIMEOUT)):
            return False
        chk.expect_errno(err, errno.EINVAL, what)
        chk.expect(mod.read('commit_inputs') == 'N', '%s: commit_inputs '
                   'reads %s after' % (what, mod.read('commit_inputs')))
        if not expect_untouched(chk, mod, what, pid):
            return False
        chk.expect(grows(mod, tried), '%s: %s stopped growing' %
                   (what, tried))
        mod.set(**good)
    return True


def extremes(chk, mod, good, pid):
    refused = []
    for name in numeric_inputs(mod):
        for val in EXTREMES:
            what = '%s: commit_inputs with %s %d' % (mod.name, name, val)
            mod.set(**good)
            err = mod.write(name, val)
            if err:
                chk.expect_errno(err, (errno.EINVAL, errno.ERANGE),
                                 '%s: writing %d to %s' % (
                                     mod.name, val, name))
                continue
            err, took = timed_write(mod, 'commit_inputs', 'Y')
            if not chk.expect(err is not None, '%s: no return in %d s' %
                              (what, CALL_TIMEOUT)):
                return False
            chk.expect_errno(err, (0, errno.EINVAL), what)
            if err:
                refused.append('%s=%d' % (name, val))
            mod.set(**good)
            err, took = timed_write(mod, 'commit_inputs', 'Y')
            if not chk.expect(err == 0, '%s: the good inputs then commit '
                              'with %s' % (what, dc.errno_name(err)
                                           if err is not None else
                                           'no return')):
                return False
            if not expect_untouched(chk, mod, what, pid):
                return False
    dc.log('%s: extremes refused: %s' % (mod.name, ', '.join(refused)))
    return True


def hammer(mod, good, seed, out):
    """One writer: random inputs and commits for HAMMER_S; writes a JSON
    summary of what the writes returned to the file descriptor out."""
    rnd = random.Random(seed)
    names = list(good)
    errs = {}
    slowest = 0.0
    nr = 0
    deadline = time.monotonic() + HAMMER_S
    while time.monotonic() < deadline:
        if rnd.random() < 0.3:
            name, val = 'commit_inputs', 'Y'
        else:
            name = rnd.choice(names)
            if name == 'skip_anon':
                val = rnd.choice('YN')
            elif rnd.random() < 0.5:
                # Often good, so that commits go through too.
                val = good[name]
            else:
                val = rnd.choice(POOL + (rnd.getrandbits(64),))
        t0 = time.monotonic()
        err = mod.write(name, val)
        slowest = max(slowest, time.monotonic() - t0)
        key = '%s:%s' % ('commit' if name == 'commit_inputs' else 'write',
                         dc.errno_name(err))
        errs[key] = errs.get(key, 0) + 1
        nr += 1
    os.write(out, json.dumps({'errs': errs, 'slowest': slowest,
                              'nr': nr}).encode())


def hammered(chk, mod, good, pid):
    children = []
    for i in range(NR_HAMMERS):
        r, w = os.pipe()
        child = os.fork()
        if child == 0:
            os.close(r)
            code = 0
            try:
                hammer(mod, good, i, w)
            except BaseException:
                code = 1
            os._exit(code)
        os.close(w)
        children.append((child, r))
    results = []
    for child, r in children:
        data = b''
        deadline = time.monotonic() + HAMMER_S + 3 * CALL_TIMEOUT
        while time.monotonic() < deadline:
            done, status = os.waitpid(child, os.WNOHANG)
            if done:
                break
            time.sleep(0.2)
        else:
            chk.fail('%s: a writer is stuck %d s after its end' % (
                mod.name, 3 * CALL_TIMEOUT))
            return False
        data = os.read(r, 1 << 16)
        os.close(r)
        chk.expect(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and
                   data, '%s: a writer failed (status %#x)' % (mod.name,
                                                                 status))
        if data:
            results.append(json.loads(data))
    for res in results:
        dc.log('%s: writer: %d writes, slowest %.2f s, %s' % (
            mod.name, res['nr'], res['slowest'],
            ', '.join('%s x%d' % kv for kv in sorted(res['errs'].items()))))
        chk.expect(res['slowest'] < CALL_TIMEOUT, '%s: a write took %.1f s'
                   % (mod.name, res['slowest']))
        for key in res['errs']:
            chk.expect(key.split(':')[1] in ('0', 'EINVAL'),
                       '%s: %s' % (mod.name, key))
    chk.expect(sum(res['errs'].get('commit:0', 0) for res in results) > 0,
               '%s: no commit of the writers went through' % mod.name)
    mod.set(**good)
    err, took = timed_write(mod, 'commit_inputs', 'Y')
    chk.expect(err == 0, '%s: the good inputs commit with %s after the '
               'writers' % (mod.name, dc.errno_name(err)
                            if err is not None else 'no return'))
    return expect_untouched(chk, mod, '%s: after the writers' % mod.name,
                            pid)


def check_module(chk, mod):
    good = GOOD[mod.name]
    missing = [n for n in good if not os.path.exists(mod.path(n))]
    if not chk.expect(not missing, '%s: no parameters %s' % (
            mod.name, ', '.join(missing))):
        return
    refused_at_enable(chk, mod, good)
    pid = mod.start(chk, '%s: good inputs' % mod.name)
    if not pid:
        return
    if (refused_at_commit(chk, mod, good, pid) and
            extremes(chk, mod, good, pid) and
            hammered(chk, mod, good, pid)):
        mod.stop(chk, '%s: after the writers' % mod.name, pid)


def test(chk):
    mods = [dc.Module(n) for n in (dc.RECLAIM, dc.LRU_SORT)]
    mods = [m for m in mods if m.available()]
    if not mods:
        dc.skip('neither damon_reclaim nor damon_lru_sort is built')
    for mod in mods:
        t0 = time.monotonic()
        check_module(chk, mod)
        mod.cleanup()
        dc.log('%s: %.1f s' % (mod.name, time.monotonic() - t0))


def main():
    if os.geteuid() != 0:
        dc.skip('needs root')
    return dc.run_modules(test, need_workload=False)


if __name__ == '__main__':
    sys.exit(main())
