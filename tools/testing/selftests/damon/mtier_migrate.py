#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""migrate_hot and migrate_cold move pages between two NUMA nodes.

Needs a machine with memory on nodes 0 and 1 (make test boots its guest
with two: VM_NUMA=2).  The workloads are access_memory processes started
under a memory policy that binds them to one node (set_mempolicy(), which
children inherit), each with a hot buffer, swept for good, and an idle
one, written once.  A third buffer, also idle, is mapped between them, so
that the monitoring regions at the edge of the hot buffer's physical
pages, which DAMON may see as hot as a whole, rarely reach the idle one.
Where each page of a buffer is, move_pages() with no target nodes tells.

1. migrate_hot through sysfs: kdamond 0 monitors node 1's physical span
   (operations paddr), given as 100 regions of equal size, with a
   migrate_hot scheme to node 0 for regions accessed in an aggregation.  With the workload on node 1, at least
   75% of the hot buffer must reach node 0 within the time limit, while
   at least half of the idle one stays on node 1.
2. migrate_cold likewise: node 0's span, migrate_cold to node 1 for
   regions not accessed for 5 aggregations; the workload on node 0; at
   least 75% of the idle buffer must reach node 1, at least half of the
   hot one stays on node 0.
3. The damon_sample_mtier sample, if built in: enable starts two
   kdamonds and reads Y; with node 1's span found by the sample (both
   addresses 0), node 0's range given as the span of the idle buffer's
   pages and node0_mem_free_bp at 10000 (keep all of node 0 free), the
   hot buffer of a workload on node 1 is promoted (75% on node 0) and the
   idle buffer of one on node 0 is demoted (75% on node 1); disable stops
   both kdamonds.  An inverted node range is refused with EINVAL, and
   enable then reads N with no kdamond started.

The kdamonds are off, nr_kdamonds 0 and the sample's parameters back at
their defaults at the end.
"""

import contextlib
import ctypes
import errno
import os
import platform
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

BUF_MIB = 32
HOT, SPACER, IDLE = 0, 1, 2     # access_memory's buffer indexes
MOVED = 0.75                    # share of a buffer that must migrate
KEPT = 0.5                      # share of the other one that must stay
MIGRATE_TIMEOUT = 120           # s, under emulation
SAMPLE_US, AGGR_US = 5000, 100000
MIN_NR_REGIONS, MAX_NR_REGIONS = 100, 400
COLD_AGE = 5                    # aggregations not accessed
POLL_S = 2

SAMPLE_PARAMS = '/sys/module/damon_sample_mtier/parameters'
SAMPLE_DEFAULTS = {'node0_start_addr': '0', 'node0_end_addr': '0',
                   'node1_start_addr': '0', 'node1_end_addr': '0',
                   'node0_mem_used_bp': '9970', 'node0_mem_free_bp': '50'}

# System call numbers; glibc wraps neither set_mempolicy() nor move_pages().
SYSCALLS = {'x86_64': {'set_mempolicy': 238, 'move_pages': 279},
            'aarch64': {'set_mempolicy': 237, 'move_pages': 239}}
MPOL_DEFAULT, MPOL_BIND = 0, 2

libc = ctypes.CDLL(None, use_errno=True)
log = dc.log


# === Nodes and pages ===

def node_list(path):
    """The nodes of a node list file such as has_memory ("0-1,3")."""
    nodes = set()
    with open(path) as f:
        for part in f.read().strip().split(','):
            if part:
                lo, _, hi = part.partition('-')
                nodes.update(range(int(lo), int(hi or lo) + 1))
    return nodes


def node_spans():
    """{nid: (start, end)}: physical address span of each node's zones."""
    spans = {}
    nid = None
    with open('/proc/zoneinfo') as f:
        for line in f:
            words = line.split()
            if line.startswith('Node '):
                nid = int(words[1].rstrip(','))
                spanned = 0
            elif words[:1] == ['spanned']:
                spanned = int(words[1])
            elif words[:1] == ['start_pfn:'] and spanned:
                start = int(words[1]) * dc.PAGE_SIZE
                end = start + spanned * dc.PAGE_SIZE
                lo, hi = spans.get(nid, (start, end))
                spans[nid] = (min(lo, start), max(hi, end))
    return spans


def syscall(name, *args):
    ret = libc.syscall(ctypes.c_long(SYSCALLS[platform.machine()][name]),
                       *args)
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, '%s: %s' % (name, os.strerror(err)))
    return ret


def set_mempolicy(mode, nid=None):
    mask = ctypes.c_ulong(0 if nid is None else 1 << nid)
    syscall('set_mempolicy', ctypes.c_int(mode),
            ctypes.byref(mask) if nid is not None else None,
            ctypes.c_ulong(0 if nid is None else 8 * ctypes.sizeof(mask)))


@contextlib.contextmanager
def bound_to(nid):
    """Allocate only on node nid, this thread and what it forks."""
    set_mempolicy(MPOL_BIND, nid)
    try:
        yield
    finally:
        set_mempolicy(MPOL_DEFAULT)


def page_nodes(pid, start, end):
    """{node: pages} of the pages of [start, end) in process pid; pages
    that are not present count under a negative errno."""
    nr = (end - start) // dc.PAGE_SIZE
    pages = (ctypes.c_void_p * nr)(*range(start, end, dc.PAGE_SIZE))
    status = (ctypes.c_int * nr)()
    syscall('move_pages', ctypes.c_int(pid), ctypes.c_ulong(nr), pages,
            None, status, ctypes.c_int(0))
    counts = {}
    for s in status:
        counts[s] = counts.get(s, 0) + 1
    return counts


def share_on(workload, buf, nid):
    """Share of workload's buffer buf that is on node nid."""
    start, end = workload.buffers[buf]
    counts = page_nodes(workload.pid, start, end)
    return counts.get(nid, 0) / ((end - start) // dc.PAGE_SIZE)


def phys_span(pid, start, end):
    """[lowest, highest + 1 page) of the physical pages behind [start,
    end) of process pid, from /proc/<pid>/pagemap."""
    pfns = []
    with open('/proc/%d/pagemap' % pid, 'rb') as f:
        f.seek(start // dc.PAGE_SIZE * 8)
        data = f.read((end - start) // dc.PAGE_SIZE * 8)
    for (entry,) in struct.iter_unpack('Q', data):
        if entry >> 63:                 # present
            pfns.append(entry & ((1 << 55) - 1))
    if not pfns:
        return None
    return min(pfns) * dc.PAGE_SIZE, (max(pfns) + 1) * dc.PAGE_SIZE


def split(span, nr):
    """span cut into nr regions of whole pages: monitoring starts at its
    minimum number of regions, rather than one region the size of a node
    that one hot page makes hot as a whole."""
    pages = (span[1] - span[0]) // dc.PAGE_SIZE
    cuts = [span[0] + pages * i // nr * dc.PAGE_SIZE for i in range(nr)]
    return list(zip(cuts, cuts[1:] + [span[1]]))


def start_workload(chk, nid):
    """access_memory bound to node nid: buffer HOT swept for good, SPACER
    and IDLE written once.  None if it could not be placed there."""
    with bound_to(nid):
        workload = dc.Workload(3, BUF_MIB, [(0, [HOT])])
    for buf in (HOT, IDLE):
        share = share_on(workload, buf, nid)
        if not chk.expect(share >= 0.95, 'only %.0f%% of buffer %d of a '
                          'workload bound to node %d is there' %
                          (share * 100, buf, nid)):
            workload.kill()
            return None
    return workload


def wait_migrated(chk, what, moves, stays):
    """Wait until every (workload, buf, nid) of moves has MOVED of the
    buffer on nid; then expect it, and KEPT of each of stays on its nid."""
    def shares(items):
        return [share_on(w, b, n) for w, b, n in items]

    t0 = time.monotonic()
    while True:
        moved = shares(moves)
        elapsed = time.monotonic() - t0
        if min(moved) >= MOVED or elapsed > MIGRATE_TIMEOUT:
            break
        time.sleep(POLL_S)
    kept = shares(stays)
    log('%s: after %.0f s, moved %s, kept %s' % (
        what, elapsed, ' '.join('%.0f%%' % (s * 100) for s in moved),
        ' '.join('%.0f%%' % (s * 100) for s in kept)))
    for (_, buf, nid), share in zip(moves, moved):
        chk.expect(share >= MOVED, '%s: %.0f%% of buffer %d on node %d '
                   'after %d s, want %d%%' % (what, share * 100, buf, nid,
                                              MIGRATE_TIMEOUT, MOVED * 100))
    for (_, buf, nid), share in zip(stays, kept):
        chk.expect(share >= KEPT, '%s: only %.0f%% of buffer %d stayed on '
                   'node %d, want %d%%' % (what, share * 100, buf, nid,
                                           KEPT * 100))


# === Through the sysfs interface ===

def sysfs_migrate(chk, action, from_nid, to_nid, spans):
    """Part 1 (migrate_hot) or 2 (migrate_cold)."""
    hot = action == 'migrate_hot'
    workload = start_workload(chk, from_nid)
    if not workload:
        return
    try:
        pattern = {'nr_accesses': (1, dc.UINT_MAX)} if hot else \
            {'nr_accesses': (0, 0), 'age': (COLD_AGE, dc.UINT_MAX)}
        dc.build(dc.config([0], ops='paddr',
                           regions=[split(spans[from_nid], MIN_NR_REGIONS)],
                           sample_us=SAMPLE_US, aggr_us=AGGR_US,
                           min_nr=MIN_NR_REGIONS, max_nr=MAX_NR_REGIONS),
                 [dc.scheme(action, **pattern)])
        dc.must_write(os.path.join(dc.scheme_dir(0), 'target_nid'), to_nid)
        pid = dc.turn_on(chk, action)
        if not pid:
            return
        mover, stayer = (HOT, IDLE) if hot else (IDLE, HOT)
        wait_migrated(chk, action, [(workload, mover, to_nid)],
                      [(workload, stayer, from_nid)])
        st = dc.stats(1)[0]
        log('%s: stats %s' % (action, st))
        chk.expect(st['sz_applied'] >= MOVED * BUF_MIB * dc.MIB,
                   '%s: sz_applied %d is below what moved' %
                   (action, st['sz_applied']))
        chk.expect(workload.alive(), '%s: the workload died' % action)
        dc.turn_off(chk, action, pid)
    finally:
        dc.cleanup()
        workload.kill()


# === Through damon_sample_mtier ===

def sample_read(name):
    return dc.read(os.path.join(SAMPLE_PARAMS, name))


def sample_write(name, val):
    return dc.write(os.path.join(SAMPLE_PARAMS, name), val)


def sample_restore():
    sample_write('enable', 'N')
    for name, val in SAMPLE_DEFAULTS.items():
        sample_write(name, val)


def sample_enable(chk, what, before):
    """enable Y; expect two more kdamonds and enable reading Y."""
    err = sample_write('enable', 'Y')
    if not chk.expect(err == 0, '%s: enable failed with %s' %
                      (what, dc.errno_name(err))):
        return False
    chk.expect(sample_read('enable') == 'Y', '%s: enable reads %s' %
               (what, sample_read('enable')))
    new = set(dc.kdamonds()) - before
    return chk.expect(len(new) == 2, '%s: %d kdamonds started, want 2' %
                      (what, len(new)))


def sample_disable(chk, what, before):
    err = sample_write('enable', 'N')
    chk.expect(err == 0, '%s: disable failed with %s' %
               (what, dc.errno_name(err)))
    chk.expect(sample_read('enable') == 'N', '%s: enable reads %s after '
               'disable' % (what, sample_read('enable')))
    chk.expect(dc.wait_for(lambda: set(dc.kdamonds()) <= before,
                           dc.STOP_TIMEOUT),
               '%s: the kdamonds still run after disable' % what)


def sample(chk):
    """Part 3."""
    for name, val in SAMPLE_DEFAULTS.items():
        chk.expect(sample_read(name) == val, 'sample: %s reads %s, want '
                   'the default %s' % (name, sample_read(name), val))
    before = set(dc.kdamonds())

    # An inverted range: refused before anything starts.
    sample_write('node1_start_addr', 2 * dc.PAGE_SIZE)
    sample_write('node1_end_addr', dc.PAGE_SIZE)
    err = sample_write('enable', 'Y')
    chk.expect_errno(err, errno.EINVAL, 'sample: enable with node 1 '
                     'inverted')
    chk.expect(sample_read('enable') == 'N', 'sample: enable reads %s '
               'after a refused enable' % sample_read('enable'))
    chk.expect(set(dc.kdamonds()) <= before,
               'sample: a refused enable left a kdamond running')
    sample_restore()
    chk.expect_errno(sample_write('enable', 'maybe'), errno.EINVAL,
                     'sample: enable "maybe"')

    if sample_enable(chk, 'sample', before):
        sample_disable(chk, 'sample', before)

    slow = start_workload(chk, 1)
    fast = start_workload(chk, 0)
    try:
        if not slow or not fast:
            return
        span = phys_span(fast.pid, *fast.buffers[IDLE])
        log('sample: node 0 range 0x%x-0x%x (the idle buffer)' % span)
        dc.must_write(os.path.join(SAMPLE_PARAMS, 'node0_start_addr'),
                      span[0])
        dc.must_write(os.path.join(SAMPLE_PARAMS, 'node0_end_addr'),
                      span[1])
        dc.must_write(os.path.join(SAMPLE_PARAMS, 'node0_mem_free_bp'),
                      10000)
        if not sample_enable(chk, 'sample tiering', before):
            return
        wait_migrated(chk, 'sample', [(slow, HOT, 0), (fast, IDLE, 1)],
                      [(slow, IDLE, 1), (fast, HOT, 0)])
        sample_disable(chk, 'sample tiering', before)
    finally:
        sample_restore()
        for w in (slow, fast):
            if w:
                w.kill()


def test(chk):
    if platform.machine() not in SYSCALLS:
        dc.skip('no system call numbers for %s' % platform.machine())
    nodes = node_list('/sys/devices/system/node/has_memory') \
        if os.path.exists('/sys/devices/system/node/has_memory') else {0}
    if not {0, 1} <= nodes:
        dc.skip('needs memory on NUMA nodes 0 and 1 (VM_NUMA=2)')
    spans = node_spans()
    log('node spans: %s' % ', '.join(
        '%d: 0x%x-0x%x' % (n, s, e) for n, (s, e) in sorted(spans.items())))
    dc.must_write(os.path.join(dc.KDAMONDS, 'nr_kdamonds'), 1)
    dc.must_write(os.path.join(dc.CONTEXTS, 'nr_contexts'), 1)
    if 'paddr' not in dc.avail_operations():
        dc.skip('no paddr in avail_operations')
    dc.cleanup()

    sysfs_migrate(chk, 'migrate_hot', 1, 0, spans)
    sysfs_migrate(chk, 'migrate_cold', 0, 1, spans)
    if os.path.isdir(SAMPLE_PARAMS):
        sample(chk)
    else:
        log('no %s: the sample is not built in' % SAMPLE_PARAMS)


def main():
    return dc.run(test)


if __name__ == '__main__':
    sys.exit(main())
