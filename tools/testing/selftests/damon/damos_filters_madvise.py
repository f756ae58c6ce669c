#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""DAMOS filters on the actions vaddr does through madvise().

hugepage and nohugepage change a mapping's flags, which /proc/PID/smaps
shows in VmFlags (hg, nh), so where they acted can be read off.  A python
process maps an 8 MiB anonymous private mapping and an 8 MiB shared
mapping of a tmpfs file (whose pages are not anonymous), touches every
page, and fvaddr monitors exactly those two.  One scheme every region
matches; each case runs until the scheme was applied at least twice and
then reads the flags:

    action      filter                    anon       file
    hugepage    none                      hg         hg
    hugepage    anon matching, allow N    -          hg
    hugepage    anon not matching, N      hg         -
    nohugepage  anon matching, allow N    hg (kept)  nh
                (both mappings start with MADV_HUGEPAGE)

and the scheme's stats: with a filter, sz_ops_filter_passed is the 8 MiB
let in per pass (within 3%) and sz_applied at most that; with none, both
are the whole 16 MiB per pass.  Upstream 6.12 applies these actions to
the whole region whatever the filters say, so the filtered cases fail
there; their messages say so.
"""

import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

MIB = 1 << 20
MAP_MIB = 8
SHARED_FILE = '/tmp/damos_filters_madvise_shared'
SCHEME = dc.scheme_dir(0)
FILTERS = os.path.join(SCHEME, 'filters')
APPLY_TIMEOUT = 60      # s for the scheme to be applied twice
RATIO_TOLERANCE = 0.03

MAPPER = r'''
import ctypes, mmap, os, sys
size, path, advice = int(sys.argv[1]), sys.argv[2], sys.argv[3]
anon = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
os.ftruncate(fd, size)
shared = mmap.mmap(fd, size, flags=mmap.MAP_SHARED)
for m in (anon, shared):
    if advice == 'hugepage':
        m.madvise(mmap.MADV_HUGEPAGE)
    for off in range(0, size, mmap.PAGESIZE):
        m[off] = 1
for name, m in (('anon', anon), ('file', shared)):
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    print('%s 0x%x-0x%x' % (name, addr, addr + size))
print('ready', flush=True)
sys.stdin.readline()
'''


class Mapper:
    """The python process with the two mappings; advice 'hugepage' has
    them both start with MADV_HUGEPAGE."""

    def __init__(self, advice='none'):
        self.proc = subprocess.Popen(
            [sys.executable, '-c', MAPPER, str(MAP_MIB * MIB), SHARED_FILE,
             advice], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True)
        self.pid = self.proc.pid
        self.ranges = {}
        ready = threading.Event()

        def read():
            for line in self.proc.stdout:
                name, _, rng = line.strip().partition(' ')
                if name in ('anon', 'file'):
                    start, end = rng.split('-')
                    self.ranges[name] = (int(start, 16), int(end, 16))
                if name == 'ready':
                    ready.set()
            ready.set()
        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(120) or len(self.ranges) != 2:
            self.kill()
            raise dc.SetupError('the mapper did not get ready')

    def flags(self, name):
        """The VmFlags of the mapping name, as a set."""
        start = '%x-' % self.ranges[name][0]
        found = False
        with open('/proc/%d/smaps' % self.pid) as f:
            for line in f:
                if line.startswith(start):
                    found = True
                elif found and line.startswith('VmFlags:'):
                    return set(line.split()[1:])
        raise dc.SetupError('no %s mapping in smaps' % name)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def configure_filter(flt):
    """flt: None, or (matching, allow) of one anon filter."""
    dc.must_write(os.path.join(FILTERS, 'nr_filters'), 1 if flt else 0)
    if flt:
        d = os.path.join(FILTERS, '0')
        dc.must_write(os.path.join(d, 'type'), 'anon')
        dc.must_write(os.path.join(d, 'matching'), 'Y' if flt[0] else 'N')
        dc.must_write(os.path.join(d, 'allow'), 'Y' if flt[1] else 'N')


def run_case(chk, what, action, flt, advice, want):
    """want: {'anon': flag or None, 'file': flag or None}, the flag the
    mapping must show afterwards (and the other of hg/nh it must not)."""
    mapper = Mapper(advice)
    try:
        ranges = sorted(mapper.ranges.values())
        dc.build(dc.config([mapper.pid], ops='fvaddr', regions=[ranges]),
                 [dc.scheme(action=action)])
        configure_filter(flt)
        dc.command('on')
        deadline = time.monotonic() + APPLY_TIMEOUT
        st = dc.stats(1)[0]
        # Each pass tries both mappings: at least 32 MiB is two passes.
        while st['sz_tried'] < 4 * MAP_MIB * MIB and \
                time.monotonic() < deadline:
            time.sleep(0.2)
            st = dc.stats(1)[0]
        flags = {name: mapper.flags(name) for name in ('anon', 'file')}
        dc.command('off')
    finally:
        mapper.kill()
    if not chk.expect(st['sz_tried'] >= 4 * MAP_MIB * MIB,
                      '%s: the scheme tried only %d bytes in %d s' %
                      (what, st['sz_tried'], APPLY_TIMEOUT)):
        return
    dc.log('%s: stats %s, anon %s, file %s' % (
        what, st, ' '.join(sorted(flags['anon'] & {'hg', 'nh'})) or '-',
        ' '.join(sorted(flags['file'] & {'hg', 'nh'})) or '-'))
    for name in ('anon', 'file'):
        flag = want[name]
        has = flags[name] & {'hg', 'nh'}
        chk.expect(has == ({flag} if flag else set()),
                   '%s: the %s mapping has VmFlags %s, want %s' %
                   (what, name, ' '.join(sorted(has)) or 'neither hg nor nh',
                    flag or 'neither'), ours=flt is not None)
    share = st['sz_ops_filter_passed'] / st['sz_tried']
    want_share = 0.5 if flt else 1.0
    chk.expect(abs(share - want_share) <= RATIO_TOLERANCE,
               '%s: sz_ops_filter_passed is %.3f of sz_tried, want %.1f' %
               (what, share, want_share))
    chk.expect(0 < st['sz_applied'] <= st['sz_ops_filter_passed'],
               '%s: sz_applied %d, want above 0 and at most '
               'sz_ops_filter_passed %d' %
               (what, st['sz_applied'], st['sz_ops_filter_passed']),
               ours=flt is not None)


def test(chk):
    try:
        run_case(chk, 'hugepage, no filter', 'hugepage', None, 'none',
                 {'anon': 'hg', 'file': 'hg'})
        run_case(chk, 'hugepage, anon rejected', 'hugepage', (True, False),
                 'none', {'anon': None, 'file': 'hg'})
        run_case(chk, 'hugepage, non-anon rejected', 'hugepage',
                 (False, False), 'none', {'anon': 'hg', 'file': None})
        run_case(chk, 'nohugepage, anon rejected', 'nohugepage',
                 (True, False), 'hugepage', {'anon': 'hg', 'file': 'nh'})
    finally:
        if os.path.exists(SHARED_FILE):
            os.unlink(SHARED_FILE)


if __name__ == '__main__':
    sys.exit(dc.run(test))
