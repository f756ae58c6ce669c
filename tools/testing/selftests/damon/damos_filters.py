#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""DAMOS filters: each type let through or kept out what it is about.

One stat scheme that every region matches, with a list of filters; each
case starts a kdamond, asks for update_schemes_tried_regions (one apply
pass: the regions tried and, per region, sz_filter_passed, the bytes the
ops filters let through) and update_schemes_stats, and stops it.  A
filter rejects (allow N) or allows (allow Y) the memory it is about:
with the property (matching Y) or without it (matching N).  The first
filter that is about some memory decides; memory no filter is about is
allowed.  Where a share must pass, at least 95% of it must; where it must
not, nothing may.

- anon and memcg (ops filters, per folio), on a python process in the
  cgroup /damon_test with an 8 MiB anonymous mapping and an 8 MiB shared
  mapping of a tmpfs file, monitored by fvaddr over exactly those two:
  every case tries all of both (total_bytes 16 MiB); sz_filter_passed
  summed over each mapping is 8 MiB or 0 as below, and the stats'
  sz_ops_filter_passed / sz_tried is the passed share within 3%.
    no filter                               anon 8, file 8
    anon matching, allow N                  anon 0, file 8
    anon not matching, allow N              anon 8, file 0
    anon matching, allow Y                  anon 8, file 8
    memcg /damon_test matching, allow N     anon 0, file 0
    memcg /damon_test not matching, allow N anon 8, file 8
    memcg /damon_test_other matching, N     anon 8, file 8
    memcg /damon_test_other not matching, N anon 0, file 0
    anon matching allow Y, then memcg
      /damon_test matching allow N          anon 8, file 0
  A memcg filter on a cgroup that does not exist fails on and commit with
  EINVAL, and the running kdamond goes on.
- young (ops): access_memory sweeping one 8 MiB buffer, leaving one idle
  and sweeping the third only for its first 3 s; fvaddr over all three,
  once that third one is idle, looking at the third pass of each
  kdamond: with young matching allow N at most 20% of the hot buffer
  passes and at least 80% of the idle and of the formerly hot one (young
  is "accessed since the last check", and two checks passed since); not
  matching allow N the reverse; with no filter at least 95% of each.
- addr (core, per region), vaddr on access_memory with three idle 4 MiB
  buffers b0 < b1 < b2: rejecting what is not in b1 leaves tried regions
  only inside b1, exactly b1 (total_bytes 4 MiB); rejecting b1 leaves no
  tried byte in b1 and all of b0 and b2 tried; allowing b1 and then
  rejecting b0..b2 tries all of b1 and nothing of b0 and b2.  An addr
  filter with addr_start == addr_end fails commit with EINVAL.
- target (core), fvaddr with two access_memory processes, target 0 a
  4 MiB buffer and target 1 an 8 MiB one: rejecting target 1 tries 4 MiB
  (all in target 0's buffer), rejecting all but target 1 tries 8 MiB
  (all in target 1's), rejecting target 0 tries 8 MiB, no filter 12 MiB.

Skips the memcg cases, and says so, when no cgroup2 memory controller can
be had.  Leaves kdamond 0 off, nr_kdamonds 0, and the cgroups and the
tmpfs file removed.
"""

import errno
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

SCHEME = os.path.join(dc.SCHEMES, '0')
FILTERS = os.path.join(SCHEME, 'filters')
TRIED = os.path.join(SCHEME, 'tried_regions')

CGROUP_ROOT = '/sys/fs/cgroup'
TEST_CG = '/damon_test'
OTHER_CG = '/damon_test_other'
MISSING_CG = '/damon_test_missing'
SHARED_FILE = '/tmp/damos_filters_shared'
MAP_MIB = 8

PASS_MIN = 0.95         # share of what must pass that does
YOUNG_LOW = 0.2         # young filters: most, not all
YOUNG_HOT_MS = 3000     # how long the formerly hot buffer is swept
RATIO_TOLERANCE = 0.03

# Maps an anonymous and a shared tmpfs mapping once told to go, so that
# it can be put in a cgroup first; prints them and idles until killed.
MAPPER = r'''
import ctypes, mmap, os, sys
size, path = int(sys.argv[1]), sys.argv[2]
sys.stdin.readline()
anon = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
os.ftruncate(fd, size)
shared = mmap.mmap(fd, size, flags=mmap.MAP_SHARED)
for m in (anon, shared):
    # Small pages only: khugepaged must not move them while looked at.
    m.madvise(mmap.MADV_NOHUGEPAGE)
    for off in range(0, size, mmap.PAGESIZE):
        m[off] = 1
for name, m in (('anon', anon), ('file', shared)):
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    print('%s 0x%x-0x%x' % (name, addr, addr + size))
print('ready', flush=True)
sys.stdin.readline()
'''


def flt(ftype, matching, allow, **kw):
    """A filter: type, matching and allow, and its own parameters."""
    return dict(kw, type=ftype, matching=matching, allow=allow)


def configure_scheme(filters):
    dc.must_write(os.path.join(dc.SCHEMES, 'nr_schemes'), 1)
    dc.must_write(os.path.join(SCHEME, 'action'), 'stat')
    pattern = os.path.join(SCHEME, 'access_pattern')
    for name, hi in (('sz', dc.ULONG_MAX), ('nr_accesses', dc.UINT_MAX),
                     ('age', dc.UINT_MAX)):
        dc.must_write(os.path.join(pattern, name, 'min'), 0)
        dc.must_write(os.path.join(pattern, name, 'max'), hi)
    dc.must_write(os.path.join(FILTERS, 'nr_filters'), len(filters))
    for i, f in enumerate(filters):
        d = os.path.join(FILTERS, str(i))
        dc.must_write(os.path.join(d, 'type'), f['type'])
        dc.must_write(os.path.join(d, 'matching'),
                      'Y' if f['matching'] else 'N')
        dc.must_write(os.path.join(d, 'allow'), 'Y' if f['allow'] else 'N')
        if 'memcg_path' in f:
            dc.must_write(os.path.join(d, 'memcg_path'), f['memcg_path'])
        if 'addr' in f:
            dc.must_write(os.path.join(d, 'addr_start'), f['addr'][0])
            dc.must_write(os.path.join(d, 'addr_end'), f['addr'][1])
        if 'target_idx' in f:
            dc.must_write(os.path.join(d, 'damon_target_idx'),
                          f['target_idx'])


def read_tried():
    """[(start, end, sz_filter_passed), ...] sorted, and total_bytes."""
    regions = []
    for name in os.listdir(TRIED):
        if name.isdigit():
            d = os.path.join(TRIED, name)
            regions.append(tuple(int(dc.read(os.path.join(d, f))) for f in
                                 ('start', 'end', 'sz_filter_passed')))
    return sorted(regions), int(dc.read(os.path.join(TRIED, 'total_bytes')))


def overlap(regions, rng):
    return sum(max(0, min(e, rng[1]) - max(s, rng[0]))
               for s, e, _ in regions)


def passed_in(regions, rng):
    return sum(p for s, e, p in regions if rng[0] <= s and e <= rng[1])


def size(rng):
    return rng[1] - rng[0]


def mib(n):
    return '%.2f MiB' % (n / dc.MIB)


class Mapper:
    """The python process with the anonymous and the shared mapping."""

    def __init__(self, cgroup_procs=None):
        self.proc = subprocess.Popen(
            [sys.executable, '-c', MAPPER, str(MAP_MIB * dc.MIB), SHARED_FILE],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.pid = self.proc.pid
        self.lines = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if cgroup_procs:
            dc.must_write(cgroup_procs, self.pid)
        self.proc.stdin.write('go\n')
        self.proc.stdin.flush()
        if not self.ready.wait(120):
            self.kill()
            raise RuntimeError('the mapper did not get ready: %s' %
                               self.lines)
        self.ranges = {}
        for line in self.lines:
            name, _, rng = line.partition(' ')
            if name in ('anon', 'file'):
                start, end = rng.split('-')
                self.ranges[name] = (int(start, 16), int(end, 16))

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.strip())
            if line.startswith('ready'):
                self.ready.set()
        self.ready.set()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class Cgroups:
    """/damon_test and /damon_test_other under a cgroup2 hierarchy with
    the memory controller; .error says why not, if they cannot be had."""

    def __init__(self):
        self.error = None
        self.mounted = False
        self.enabled = False
        self.made = []
        controllers = os.path.join(CGROUP_ROOT, 'cgroup.controllers')
        if not os.path.exists(controllers):
            if not os.path.isdir(CGROUP_ROOT) or \
                    os.path.ismount(CGROUP_ROOT):
                self.error = 'no cgroup2 hierarchy at %s' % CGROUP_ROOT
                return
            res = subprocess.run(['mount', '-t', 'cgroup2', 'none',
                                  CGROUP_ROOT], stderr=subprocess.PIPE,
                                 text=True)
            if res.returncode:
                self.error = 'cannot mount cgroup2: %s' % res.stderr.strip()
                return
            self.mounted = True
        if 'memory' not in dc.read(controllers).split():
            self.error = 'no memory controller in cgroup2'
            return
        subtree = os.path.join(CGROUP_ROOT, 'cgroup.subtree_control')
        if 'memory' not in dc.read(subtree).split():
            err = dc.write(subtree, '+memory')
            if err:
                self.error = 'cannot enable the memory controller: %s' % \
                    dc.errno_name(err)
                return
            self.enabled = True
        for cg in (TEST_CG, OTHER_CG):
            path = CGROUP_ROOT + cg
            try:
                os.mkdir(path)
            except OSError as e:
                self.error = 'cannot make %s: %s' % (path, e)
                return
            self.made.append(path)

    def procs(self, cg):
        return os.path.join(CGROUP_ROOT + cg, 'cgroup.procs')

    def close(self):
        for path in reversed(self.made):
            # A killed process may take a moment to leave.
            def removed(path=path):
                try:
                    os.rmdir(path)
                except OSError:
                    return False
                return True
            if not dc.wait_for(removed, 10):
                dc.log('cleanup: cannot remove %s' % path)
        if self.enabled:
            dc.write(os.path.join(CGROUP_ROOT, 'cgroup.subtree_control'),
                     '-memory')
        if self.mounted:
            subprocess.run(['umount', CGROUP_ROOT])


class Test(dc.Checker):

    def start(self, what, cfg, filters):
        """Start a kdamond with cfg and one stat scheme with filters;
        return its pid, or None."""
        try:
            dc.build(cfg)
            configure_scheme(filters)
        except dc.SetupError as e:
            self.fail('%s: %s' % (what, e))
            return None
        return dc.turn_on(self, what)

    def tried(self, what):
        """One pass's tried regions and total_bytes, and the stats."""
        err = dc.write(dc.STATE, 'update_schemes_tried_regions')
        if not self.expect(err == 0, '%s: update_schemes_tried_regions '
                           'failed with %s' % (what, dc.errno_name(err))):
            return None, None, None
        regions, total = read_tried()
        err = dc.write(dc.STATE, 'update_schemes_stats')
        stats = None
        if self.expect(err == 0, '%s: update_schemes_stats failed with %s'
                       % (what, dc.errno_name(err))):
            stats = {n: int(dc.read(os.path.join(SCHEME, 'stats', n)))
                     for n in ('sz_tried', 'sz_ops_filter_passed')}
        return regions, total, stats

    def run_case(self, what, cfg, filters, check, passes=1):
        """Start, look at the tried regions of that many passes, check
        the last, stop."""
        pid = self.start(what, cfg, filters)
        if not pid:
            return
        for _ in range(passes):
            regions, total, stats = self.tried(what)
            if regions is None:
                break
        if regions is not None:
            dc.log('%s: %d tried regions, total_bytes %s' %
                   (what, len(regions), mib(total)))
            check(what, regions, total, stats)
        dc.turn_off(self, what, pid)

    def expect_inside(self, what, regions, ranges):
        """Every tried region lies in one of ranges."""
        out = [(s, e) for s, e, _ in regions
               if not any(r[0] <= s and e <= r[1] for r in ranges)]
        self.expect(not out, '%s: %d tried regions outside %s, e.g. '
                    '%x-%x' % ((what, len(out),
                                ['%x-%x' % r for r in ranges]) +
                               (out[0] if out else (0, 0))))

    def expect_passed(self, what, name, passed, sz, share):
        """passed of sz bytes: none if share is 0, else at least
        PASS_MIN of sz (and never more than sz)."""
        dc.log('%s: %s passed %s of %s' % (what, name, mib(passed),
                                           mib(sz)))
        if share:
            self.expect(PASS_MIN * sz <= passed <= sz, '%s: %s passed %s '
                        'of %s, want all' % (what, name, mib(passed),
                                             mib(sz)))
        else:
            self.expect(passed == 0, '%s: %s passed %s, want none' %
                        (what, name, mib(passed)))

    # === anon and memcg ===

    def mapper_cases(self, mapper, cgroups):
        anon, shared = mapper.ranges['anon'], mapper.ranges['file']
        ranges = sorted([anon, shared])
        cfg = dc.config([mapper.pid], ops='fvaddr', regions=[ranges],
                        min_nr=3, max_nr=100)
        cases = [
            ('no filter', [], 1, 1),
            ('anon matching, allow N', [flt('anon', True, False)], 0, 1),
            ('anon not matching, allow N', [flt('anon', False, False)],
             1, 0),
            ('anon matching, allow Y', [flt('anon', True, True)], 1, 1),
        ]
        memcg = [
            ('memcg %s matching, allow N' % TEST_CG,
             [flt('memcg', True, False, memcg_path=TEST_CG)], 0, 0),
            ('memcg %s not matching, allow N' % TEST_CG,
             [flt('memcg', False, False, memcg_path=TEST_CG)], 1, 1),
            ('memcg %s matching, allow N' % OTHER_CG,
             [flt('memcg', True, False, memcg_path=OTHER_CG)], 1, 1),
            ('memcg %s not matching, allow N' % OTHER_CG,
             [flt('memcg', False, False, memcg_path=OTHER_CG)], 0, 0),
            ('anon matching allow Y, then memcg %s matching allow N' %
             TEST_CG, [flt('anon', True, True),
                       flt('memcg', True, False, memcg_path=TEST_CG)],
             1, 0),
        ]
        if cgroups.error:
            dc.log('SKIP the memcg cases: %s' % cgroups.error)
        else:
            cases += memcg

        for what, filters, anon_share, file_share in cases:
            def check(what, regions, total, stats, anon_share=anon_share,
                      file_share=file_share):
                self.expect(total == size(anon) + size(shared),
                            '%s: total_bytes %s, want %s (all of both)' %
                            (what, mib(total),
                             mib(size(anon) + size(shared))))
                self.expect_inside(what, regions, ranges)
                self.expect_passed(what, 'anon', passed_in(regions, anon),
                                   size(anon), anon_share)
                self.expect_passed(what, 'file',
                                   passed_in(regions, shared),
                                   size(shared), file_share)
                if not stats:
                    return
                want = (anon_share + file_share) / 2
                got = (stats['sz_ops_filter_passed'] /
                       max(stats['sz_tried'], 1))
                dc.log('%s: stats %s' % (what, stats))
                self.expect(stats['sz_tried'] > 0 and
                            abs(got - want) <= RATIO_TOLERANCE,
                            '%s: sz_ops_filter_passed / sz_tried = %d / %d'
                            ' = %.3f, want %.2f' % (
                                what, stats['sz_ops_filter_passed'],
                                stats['sz_tried'], got, want))
            self.run_case(what, cfg, filters, check)

        if not cgroups.error:
            self.missing_memcg(cfg)

    def missing_memcg(self, cfg):
        what = 'memcg filter on a cgroup that does not exist'
        bad = [flt('memcg', True, False, memcg_path=MISSING_CG)]
        try:
            dc.build(cfg)
            configure_scheme(bad)
        except dc.SetupError as e:
            self.fail('%s: %s' % (what, e))
            return
        err = dc.write(dc.STATE, 'on')
        self.expect_errno(err, errno.EINVAL, what + ': on')
        if not err:
            dc.cleanup()
        pid = self.start(what + ', first with none', cfg, [])
        if not pid:
            return
        try:
            configure_scheme(bad)
        except dc.SetupError as e:
            self.fail('%s: %s' % (what, e))
        err = dc.write(dc.STATE, 'commit')
        self.expect_errno(err, errno.EINVAL, what + ': commit')
        self.expect(dc.state() == 'on' and dc.kdamond_pid() == pid,
                    '%s: state %s, pid %d after the commit, want on and %d'
                    % (what, dc.state(), dc.kdamond_pid(), pid))
        dc.turn_off(self, what, pid)

    # === young ===

    def young_cases(self, workload):
        hot, idle, was_hot = workload.buffers
        buffers = (('hot', hot), ('idle', idle), ('formerly hot', was_hot))
        ranges = sorted([hot, idle, was_hot])
        cfg = dc.config([workload.pid], ops='fvaddr', regions=[ranges],
                        min_nr=3, max_nr=100)
        if not self.expect(workload.phase_stats(0, YOUNG_HOT_MS / 1000 +
                                                60),
                           'young: the workload did not end its first '
                           'phase'):
            return
        time.sleep(1)
        young = (0, YOUNG_LOW)
        not_young = (1 - YOUNG_LOW, 1)
        cases = [
            ('no filter', [], [(PASS_MIN, 1)] * 3),
            ('young matching, allow N', [flt('young', True, False)],
             [young, not_young, not_young]),
            ('young not matching, allow N', [flt('young', False, False)],
             [not_young, young, young]),
        ]
        for what, filters, shares in cases:
            what = 'young: ' + what

            def check(what, regions, total, stats, shares=shares):
                self.expect(total == sum(size(b) for b in ranges),
                            '%s: total_bytes %s, want %s' % (
                                what, mib(total),
                                mib(sum(size(b) for b in ranges))))
                self.expect_inside(what, regions, ranges)
                for (name, rng), (lo, hi) in zip(buffers, shares):
                    share = passed_in(regions, rng) / size(rng)
                    dc.log('%s: %.0f%% of the %s buffer passed' %
                           (what, share * 100, name))
                    self.expect(lo <= share <= hi, '%s: %.0f%% of the %s '
                                'buffer passed, want %.0f%%..%.0f%%' % (
                                    what, share * 100, name, lo * 100,
                                    hi * 100))
                if stats:
                    self.expect(stats['sz_ops_filter_passed'] <=
                                stats['sz_tried'], '%s: stats %s' %
                                (what, stats))
            # The pass looked at comes after two that checked every page.
            self.run_case(what, cfg, filters, check, passes=3)

    # === addr ===

    def addr_cases(self, workload):
        b0, b1, b2 = sorted(workload.buffers)
        span = (b0[0], b2[1])
        cfg = dc.config([workload.pid])

        dc.log('addr: b0 %x-%x, b1 %x-%x, b2 %x-%x' % (b0 + b1 + b2))

        def only_b1(what, regions, total, stats):
            self.expect_inside(what, regions, [b1])
            self.expect(total == size(b1), '%s: total_bytes %s, want %s '
                        '(b1)' % (what, mib(total), mib(size(b1))))

        def all_but_b1(what, regions, total, stats):
            self.expect(overlap(regions, b1) == 0, '%s: %s of b1 tried' %
                        (what, mib(overlap(regions, b1))))
            for name, b in (('b0', b0), ('b2', b2)):
                self.expect(overlap(regions, b) == size(b), '%s: %s of %s '
                            'tried, want all %s' % (
                                what, mib(overlap(regions, b)), name,
                                mib(size(b))))

        def b1_not_b0_b2(what, regions, total, stats):
            self.expect(overlap(regions, b1) == size(b1), '%s: %s of b1 '
                        'tried, want all' % (what,
                                             mib(overlap(regions, b1))))
            for name, b in (('b0', b0), ('b2', b2)):
                self.expect(overlap(regions, b) == 0, '%s: %s of %s tried,'
                            ' want none' % (what, mib(overlap(regions, b)),
                                            name))

        cases = [
            ('addr: not b1 rejected', [flt('addr', False, False, addr=b1)],
             only_b1),
            ('addr: b1 rejected', [flt('addr', True, False, addr=b1)],
             all_but_b1),
            ('addr: b1 allowed, then b0..b2 rejected',
             [flt('addr', True, True, addr=b1),
              flt('addr', True, False, addr=span)], b1_not_b0_b2),
        ]
        for what, filters, check in cases:
            self.run_case(what, cfg, filters, check)

        what = 'addr: a filter with addr_start == addr_end'
        pid = self.start(what, cfg, [])
        if not pid:
            return
        try:
            configure_scheme([flt('addr', True, False, addr=(b1[0], b1[0]))])
        except dc.SetupError as e:
            self.fail('%s: %s' % (what, e))
        err = dc.write(dc.STATE, 'commit')
        self.expect_errno(err, errno.EINVAL, what + ': commit')
        self.expect(dc.state() == 'on', '%s: state %s after the commit' %
                    (what, dc.state()))
        dc.turn_off(self, what, pid)

    # === target ===

    def target_cases(self, a, b):
        a0, b0 = a.buffers[0], b.buffers[0]
        if a0[0] < b0[1] and b0[0] < a0[1]:
            dc.log('the two buffers overlap in address: only their sizes '
                   'tell the targets apart')
        cfg = dc.config([a.pid, b.pid], ops='fvaddr', regions=[[a0], [b0]],
                        min_nr=3, max_nr=100)
        cases = [
            ('target: no filter', [], a0[1] - a0[0] + b0[1] - b0[0], None),
            ('target: target 1 rejected',
             [flt('target', True, False, target_idx=1)], size(a0), a0),
            ('target: all but target 1 rejected',
             [flt('target', False, False, target_idx=1)], size(b0), b0),
            ('target: target 0 rejected',
             [flt('target', True, False, target_idx=0)], size(b0), b0),
        ]
        for what, filters, want, inside in cases:
            def check(what, regions, total, stats, want=want,
                      inside=inside):
                self.expect(total == want, '%s: total_bytes %s, want %s' %
                            (what, mib(total), mib(want)))
                if inside:
                    self.expect_inside(what, regions, [inside])
            self.run_case(what, cfg, filters, check)


def main():
    dc.check_environment()
    kmsg = dc.Kmsg()
    test = Test()
    cgroups = None
    workloads = []
    try:
        cgroups = Cgroups()
        mapper = Mapper(None if cgroups.error else cgroups.procs(TEST_CG))
        workloads.append(mapper)
        dc.log('mapper: pid %d, %s' % (mapper.pid, ', '.join(
            '%s %x-%x' % ((n,) + r) for n, r in mapper.ranges.items())))
        test.mapper_cases(mapper, cgroups)
        mapper.kill()

        # Each workload goes once done with: a busy one would slow the rest.
        young = dc.Workload(3, MAP_MIB, [(YOUNG_HOT_MS, [0, 2]), (0, [0])])
        workloads.append(young)
        test.young_cases(young)
        young.kill()

        three = dc.Workload(3, 4, [(0, None)])
        workloads.append(three)
        test.addr_cases(three)
        three.kill()

        a = dc.Workload(1, 4, [(0, None)])
        workloads.append(a)
        b = dc.Workload(1, 8, [(0, None)])
        workloads.append(b)
        test.target_cases(a, b)
    except (OSError, dc.SetupError, RuntimeError) as e:
        test.fail('unexpected error: %s' % e)
    finally:
        dc.cleanup()
        for w in workloads:
            w.kill()
        if os.path.exists(SHARED_FILE):
            os.unlink(SHARED_FILE)
        if cgroups:
            cgroups.close()
    return test.finish(kmsg)


if __name__ == '__main__':
    sys.exit(main())
