#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Show what DAMON saw: a time x address heatmap of access frequency and
the working set over time, from damon:damon_aggregated events.

    heatmap.py <trace.txt> <workload.txt> <png> [<phase spec>]

The phase spec is the workload's "<ms> <idx,...>" pairs joined by spaces;
with it, the true working set is printed beside DAMON's estimate.  Trace
marks "ready" and "phase <n>" (written when the workload says it is ready
and that phase <n> is over) place the phases in time.  The PNG (no
library needed) has time left to right, addresses bottom to top.
"""

import re
import struct
import sys
import zlib

EVENT = re.compile(r'\s(\d+\.\d+): damon_aggregated: target_id=\d+ '
                   r'nr_regions=\d+ (\d+)-(\d+): (\d+) \d+')
MARKER = re.compile(r'\s(\d+\.\d+): tracing_mark_write: '
                    r'(ready|phase (\d+))$')
SHADES = ' .:-=+*#%@'
MIB = 1 << 20


def parse_trace(path):
    """Aggregations as (time, [(start, end, nr_accesses)]), the time the
    workload said it was ready and the times it said each phase ended."""
    aggrs, cur, last_start, ready, ends = [], None, None, None, {}
    with open(path, errors='replace') as f:
        for line in f:
            m = MARKER.search(line.rstrip())
            if m:
                if m.group(3) is None:
                    ready = float(m.group(1))
                else:
                    ends[int(m.group(3))] = float(m.group(1))
                continue
            m = EVENT.search(line)
            if not m:
                continue
            t, start, end, nr = (float(m.group(1)), int(m.group(2)),
                                 int(m.group(3)), int(m.group(4)))
            # Regions come sorted: a lower start begins a new aggregation.
            if cur is None or start <= last_start:
                cur = (t, [])
                aggrs.append(cur)
            cur[1].append((start, end, nr))
            last_start = start
    return aggrs, ready, ends


def parse_buffers(path):
    bufs = {}
    with open(path, errors='replace') as f:
        for line in f:
            m = re.match(r'buffer (\d+) 0x([0-9a-f]+)-0x([0-9a-f]+)', line)
            if m:
                bufs[int(m.group(1))] = (int(m.group(2), 16),
                                         int(m.group(3), 16))
    return bufs


def address_span(aggrs, bufs):
    if bufs:
        return (min(s for s, _ in bufs.values()),
                max(e for _, e in bufs.values()))
    hot = [(s, e) for _, regions in aggrs for s, e, n in regions if n]
    if not hot:
        hot = [(s, e) for _, regions in aggrs for s, e, n in regions]
    return min(s for s, _ in hot), max(e for _, e in hot)


def grid(aggrs, lo, hi, cols, rows):
    """Mean nr_accesses per (address row, time column), size-weighted."""
    total = [[0.0] * cols for _ in range(rows)]
    weight = [[0.0] * cols for _ in range(rows)]
    height = (hi - lo) / rows
    for i, (_, regions) in enumerate(aggrs):
        c = i * cols // len(aggrs)
        for start, end, nr in regions:
            s, e = max(start, lo), min(end, hi)
            if s >= e:
                continue
            r0 = int((s - lo) / height)
            r1 = min(int((e - 1 - lo) / height), rows - 1)
            for r in range(r0, r1 + 1):
                bs = lo + r * height
                overlap = min(e, bs + height) - max(s, bs)
                if overlap > 0:
                    total[r][c] += nr * overlap
                    weight[r][c] += overlap
    return [[total[r][c] / weight[r][c] if weight[r][c] else 0.0
             for c in range(cols)] for r in range(rows)]


def truth_at(t, ready, ends, phases, bufs):
    """Bytes the workload was sweeping at time t.  A phase ends where the
    workload said it did, or else after its nominal duration: a phase can
    run late when the emulated CPU is busy."""
    if ready is None or not phases:
        return None
    start = ready
    if t < start:
        return 0
    for i, (ms, idxs) in enumerate(phases):
        end = ends.get(i, start + ms / 1000 if ms else float('inf'))
        if t < end:
            return sum(bufs[b][1] - bufs[b][0] for b in idxs if b in bufs)
        start = end
    return 0


def write_png(path, cells, scale):
    """Cells of 0..1 as a heat colour ramp, each cell scale x scale."""
    rows, cols = len(cells), len(cells[0])
    raw = bytearray()
    for r in reversed(range(rows)):
        line = bytearray([0])
        for c in range(cols):
            v = max(0.0, min(1.0, cells[r][c]))
            rgb = (int(255 * min(1, v * 3)), int(255 * max(0, min(1, v * 3 - 1))),
                   int(255 * max(0, v * 3 - 2)))
            line += bytes(rgb) * scale
        raw += bytes(line) * scale

    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data +
                struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))

    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n')
        f.write(chunk(b'IHDR', struct.pack('>IIBBBBB', cols * scale,
                                           rows * scale, 8, 2, 0, 0, 0)))
        f.write(chunk(b'IDAT', zlib.compress(bytes(raw), 9)))
        f.write(chunk(b'IEND', b''))


def main():
    trace, workload, png = sys.argv[1:4]
    spec = sys.argv[4].split() if len(sys.argv) > 4 else []
    phases = [(int(spec[i]), [int(x) for x in spec[i + 1].split(',')
                               if x != 'none'])
              for i in range(0, len(spec) - 1, 2)]
    aggrs, ready, ends = parse_trace(trace)
    if not aggrs:
        sys.exit('heatmap: no damon_aggregated events in ' + trace)
    bufs = parse_buffers(workload)
    lo, hi = address_span(aggrs, bufs)
    cols, rows = min(72, len(aggrs)), 24
    cells = grid(aggrs, lo, hi, cols, rows)
    peak = max(max(row) for row in cells) or 1

    t0, t1 = aggrs[0][0], aggrs[-1][0]
    print(f'Access frequency, {len(aggrs)} aggregations over '
          f'{t1 - t0:.1f} s (time ->), addresses {lo:#x}-{hi:#x} (up):')
    for r in reversed(range(rows)):
        label = f'{(lo + (r + 0.5) * (hi - lo) / rows - lo) / MIB:7.1f} MiB |'
        print(label + ''.join(SHADES[min(len(SHADES) - 1,
                                         int(v / peak * (len(SHADES) - 1) + 0.5))]
                              for v in cells[r]) + '|')
    print(' ' * 12 + f"shade: ' ' never ... '@' {peak:.0f} of each "
          'aggregation\'s samples')
    for i, (s, e) in sorted(bufs.items()):
        print(f'  buffer {i}: {(s - lo) / MIB:.0f}-{(e - lo) / MIB:.0f} MiB')

    print('\nWorking set over time (MiB): DAMON\'s estimate'
          + (', the truth' if phases else ''))
    step = max(1, len(aggrs) // 24)
    for t, regions in aggrs[::step]:
        wss = sum(e - s for s, e, n in regions if n) / MIB
        line = f'  {t - t0:6.1f} s  {wss:7.1f}'
        truth = truth_at(t, ready, ends, phases, bufs)
        if truth is not None:
            line += f'  {truth / MIB:7.1f}'
        print(line + '  ' + '#' * int(wss / 4))

    write_png(png, [[v / peak for v in row] for row in cells], 8)
    print(f'\nheatmap image: {png}')


if __name__ == '__main__':
    main()
