#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Show what DAMON saw in make run: a heatmap of access frequency over
time and address, and the working set over time beside the true one.

    heatmap.py [--phases SPEC] [--out PREFIX] [LABEL=]DIR...

Each DIR holds a run of demo-guest.sh: trace.txt (damon:damon_aggregated
events, and the marks "ready" and "phase <n>" written when the workload
said it was ready and that phase <n> was over), workload.txt (the
workload's output, which may name its buffers), commands.txt (the
sysfs transcript, which gives the intervals) and maps.txt (the
workload's memory map, which names the other mappings).  For each run a
coarse heatmap and a working-set table go to the terminal.  With --out, every
run is drawn in one figure, PREFIX.png and PREFIX.svg, one heatmap and
one working-set panel per run, stacked on the same axes and colour scale.

The phase spec is the workload's "<ms> <idx,...>" pairs joined by spaces
(an index list of "none" is an idle phase); with it the phases are named
and the true working set is drawn.  Runs with no phase marks in their
trace get neither.
"""

import argparse
import re
import sys
import textwrap

import numpy as np

EVENT = re.compile(r'\s(\d+\.\d+): damon_aggregated: target_id=\d+ '
                   r'nr_regions=\d+ (\d+)-(\d+): (\d+) \d+')
MARKER = re.compile(r'\s(\d+\.\d+): tracing_mark_write: '
                    r'(ready|phase (\d+))$')
SHADES = ' .:-=+*#%@'
MIB = 1 << 20
# Rows of the figure's heatmap: about a quarter of a MiB each for the demo.
FIG_ROWS = 400
# Where and when nothing was monitored.
NO_DATA = '#c8c8c8'


class Run:
    """One monitoring run, parsed from its output directory."""

    def __init__(self, label, path, phases):
        self.label = label
        self.phases = phases
        self.aggrs, self.ready, self.ends = parse_trace(path + '/trace.txt')
        if not self.aggrs:
            sys.exit(f'heatmap: no damon_aggregated events in '
                     f'{path}/trace.txt')
        self.bufs = parse_buffers(path + '/workload.txt')
        self.maps = parse_maps(path + '/maps.txt')
        self.intervals, self.tuned = parse_intervals(path + '/commands.txt')
        times = [t for t, _ in self.aggrs]
        # Aggregation i covers the time from the report before it to its
        # own; the first one is taken to be as long as the second.
        first = times[0] - (times[1] - times[0] if len(times) > 1 else 0.1)
        self.start, self.marked_ends = phase_times(self.ready, self.ends,
                                                   phases)
        self.t0 = self.start if self.start is not None else first
        self.edges = np.array([first] + times) - self.t0

    def max_accesses(self):
        """The nr_accesses of a region accessed at every sample.  DAMON
        keeps the ratio of the two intervals when it tunes them."""
        if self.intervals:
            sample_us, aggr_us = self.intervals
            return max(1, aggr_us // sample_us)
        return max(n for _, regions in self.aggrs for _, _, n in regions) or 1

    def working_set(self):
        """DAMON's estimate per aggregation: the bytes of the regions it
        saw accessed at least once, in MiB."""
        return np.array([sum(e - s for s, e, n in regions if n)
                         for _, regions in self.aggrs]) / MIB

    def phase_bounds(self):
        """[(start, end, buffer indexes or None)] in seconds from t0, for
        each phase the trace marks; a phase with neither a mark nor a
        nominal length, as the last one, lasts to the end of monitoring."""
        if self.start is None:
            return []
        last = self.edges[-1]
        bounds, start = [], 0.0
        for i, end in enumerate(self.marked_ends):
            idxs = self.phases[i][1] if i < len(self.phases) else None
            end = last if end is None else min(end - self.t0, last)
            if end > start:
                bounds.append((start, end, idxs))
            start = end
            if start >= last:
                break
        return bounds

    def end_of_interest(self):
        """Where the time axis can end: a second after the last timed
        phase, as monitoring goes on idle until it is stopped."""
        timed = [end for (start, end, _), (ms, _) in
                 zip(self.phase_bounds(), self.phases) if ms]
        if len(timed) < len(self.phases) - 1 or not timed:
            return self.edges[-1]
        return min(self.edges[-1], timed[-1] + 1.0)

    def truth(self):
        """The true working set as (edges, MiB), or None if unknown."""
        if not self.phases or not self.bufs:
            return None
        bounds = self.phase_bounds()
        if not bounds:
            return None
        edges = [bounds[0][0]] + [e for _, e, _ in bounds]
        mib = [sum(self.bufs[b][1] - self.bufs[b][0] for b in idxs or []
                   if b in self.bufs) / MIB for _, _, idxs in bounds]
        return np.array(edges), np.array(mib)


def phase_times(ready, ends, phases):
    """When the workload really started its first phase and ended each,
    as (start, [end or None]).  The trace marks come late, by as much as
    the marking shell was kept off the CPU, but a phase lasts at least
    its nominal length, so a later mark bounds an earlier end: the end
    of phase k is at most the mark of phase j minus the lengths of the
    phases between.  The tightest of these bounds is taken."""
    if ready is None:
        return None, []
    nr = max(len(phases), max(ends, default=-1) + 1)
    length = [phases[i][0] / 1000 if i < len(phases) and phases[i][0]
              else None for i in range(nr)]
    bound = [ends.get(i, float('inf')) for i in range(nr)]
    for i in reversed(range(nr - 1)):
        if length[i + 1] is not None:
            bound[i] = min(bound[i], bound[i + 1] - length[i + 1])
    start = ready
    if nr and length[0] is not None:
        start = min(start, bound[0] - length[0])
    result, prev = [], start
    for i in range(nr):
        end = bound[i]
        if end == float('inf'):
            end = prev + length[i] if length[i] is not None else None
        result.append(end)
        if end is None:
            break
        prev = end
    return start, result


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
    try:
        with open(path, errors='replace') as f:
            for line in f:
                m = re.match(r'buffer (\d+) 0x([0-9a-f]+)-0x([0-9a-f]+)',
                             line)
                if m:
                    bufs[int(m.group(1))] = (int(m.group(2), 16),
                                             int(m.group(3), 16))
    except OSError:
        pass
    return bufs


def parse_maps(path):
    """[(start, end, name)] of a /proc/<pid>/maps, the adjacent pieces of
    one file or kind of memory joined."""
    maps = []
    try:
        with open(path, errors='replace') as f:
            lines = f.read().splitlines()
    except OSError:
        return maps
    for line in lines:
        fields = line.split(None, 5)
        if len(fields) < 5 or '-' not in fields[0]:
            continue
        start, end = (int(x, 16) for x in fields[0].split('-'))
        name = fields[5].strip() if len(fields) > 5 else ''
        name = name.rsplit('/', 1)[-1] if name else 'anonymous'
        if maps and maps[-1][2] == name and maps[-1][1] == start:
            maps[-1][1] = end
        else:
            maps.append([start, end, name])
    return [tuple(m) for m in maps]


def parse_intervals(path):
    """(sample_us, aggr_us) as set, and as tuned at the end (or None),
    from the sysfs transcript."""
    set_to, tuned, after_tune, last_cat = {}, {}, False, None
    try:
        with open(path, errors='replace') as f:
            lines = f.read().splitlines()
    except OSError:
        return None, None
    for line in lines:
        m = re.match(r'\$ echo (\d+) > \S*/intervals/(sample_us|aggr_us)$',
                     line)
        if m:
            set_to.setdefault(m.group(2), int(m.group(1)))
            continue
        if 'update_tuned_intervals' in line:
            after_tune = True
            continue
        m = re.match(r'\$ cat \S*/intervals/(sample_us|aggr_us)$', line)
        if m:
            last_cat = m.group(1)
            continue
        if after_tune and last_cat and line.isdigit():
            tuned[last_cat] = int(line)
        last_cat = None
    def pair(d):
        return ((d['sample_us'], d['aggr_us'])
                if 'sample_us' in d and 'aggr_us' in d else None)
    return pair(set_to), pair(tuned)


def parse_phases(spec):
    words = spec.split()
    return [(int(words[i]), [int(x) for x in words[i + 1].split(',')
                             if x != 'none'])
            for i in range(0, len(words) - 1, 2)]


# === The terminal ===

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


def print_run(run):
    aggrs, bufs = run.aggrs, run.bufs
    lo, hi = address_span(aggrs, bufs)
    cols, rows = min(72, len(aggrs)), 24
    cells = grid(aggrs, lo, hi, cols, rows)
    peak = max(max(row) for row in cells) or 1

    t0, t1 = aggrs[0][0], aggrs[-1][0]
    print(f'Access frequency, {len(aggrs)} aggregations over '
          f'{t1 - t0:.1f} s (time ->), addresses {lo:#x}-{hi:#x} (up):')
    for r in reversed(range(rows)):
        label = f'{(lo + (r + 0.5) * (hi - lo) / rows - lo) / MIB:7.1f} MiB |'
        top = len(SHADES) - 1
        print(label + ''.join(SHADES[min(top, int(v / peak * top + 0.5))]
                              for v in cells[r]) + '|')
    print(' ' * 12 + f"shade: ' ' never ... '@' {peak:.0f} of each "
          'aggregation\'s samples')
    for i, (s, e) in sorted(bufs.items()):
        print(f'  buffer {i}: {(s - lo) / MIB:.0f}-{(e - lo) / MIB:.0f} MiB')

    truth = run.truth()
    print('\nWorking set over time (MiB): DAMON\'s estimate'
          + (', the truth' if truth is not None else ''))
    step = max(1, len(aggrs) // 24)
    wss = run.working_set()
    for i in range(0, len(aggrs), step):
        t = aggrs[i][0]
        line = f'  {t - t0:6.1f} s  {wss[i]:7.1f}'
        if truth is not None:
            k = np.searchsorted(truth[0], t - run.t0, side='right') - 1
            mib = truth[1][k] if 0 <= k < len(truth[1]) else 0.0
            line += f'  {mib:7.1f}'
        print(line + '  ' + '#' * int(wss[i] / 4))


# === The figure ===

def segments(run):
    """The address ranges to draw, lowest first: what DAMON monitored,
    with the gaps it left out (unmapped space) cut, and only the ranges
    holding the workload's buffers when they are known."""
    spans = sorted((s, e) for _, regions in run.aggrs for s, e, _ in regions)
    union = []
    for s, e in spans:
        if union and s <= union[-1][1]:
            union[-1][1] = max(union[-1][1], e)
        else:
            union.append([s, e])
    # A gap small beside what is monitored stays in, to scale.
    size = sum(e - s for s, e in union)
    merged = [union[0]]
    for s, e in union[1:]:
        if s - merged[-1][1] <= size / 16:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    if run.bufs:
        keep = [seg for seg in merged
                if any(bs < seg[1] and be > seg[0]
                       for bs, be in run.bufs.values())]
        merged = keep or merged
    return [tuple(seg) for seg in merged]


class AddressAxis:
    """Maps addresses to MiB above the lowest drawn address, with the
    cut gaps taken out."""

    def __init__(self, segs):
        self.segs = segs
        self.base, off = [], 0
        for s, e in segs:
            self.base.append(off)
            off += e - s
        self.size = off

    def pieces(self, start, end):
        """(y0, y1) in bytes for each drawn part of [start, end)."""
        for (s, e), base in zip(self.segs, self.base):
            lo, hi = max(start, s), min(end, e)
            if lo < hi:
                yield base + lo - s, base + hi - s

    def y(self, addr):
        for (s, e), base in zip(self.segs, self.base):
            if s <= addr <= e:
                return (base + addr - s) / MIB
        return None

    def cuts(self):
        """(y in MiB, bytes left out) for each cut gap."""
        return [(base / MIB, s - pe) for (s, _), (_, pe), base
                in zip(self.segs[1:], self.segs[:-1], self.base[1:])]


def heat_cells(run, axis, rows):
    """% of samples accessed per (row, aggregation), size-weighted; NaN
    where nothing was monitored."""
    full = run.max_accesses()
    total = np.zeros((rows, len(run.aggrs)))
    weight = np.zeros_like(total)
    height = axis.size / rows
    for c, (_, regions) in enumerate(run.aggrs):
        for start, end, nr in regions:
            pct = min(100.0, 100.0 * nr / full)
            for y0, y1 in axis.pieces(start, end):
                r0 = int(y0 / height)
                r1 = min(rows, int(np.ceil(y1 / height)))
                edges = np.arange(r0, r1 + 1) * height
                overlap = (np.minimum(edges[1:], y1) -
                           np.maximum(edges[:-1], y0)).clip(0)
                total[r0:r1, c] += pct * overlap
                weight[r0:r1, c] += overlap
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(weight > 0, total / np.maximum(weight, 1), np.nan)


def edge_labels(run, axis, ymax):
    """(y0, y1, name) in MiB for the workload's buffers, and for the
    mappings that hold no buffer and are tall enough for a label."""
    labels = []
    for i, (s, e) in sorted(run.bufs.items()):
        y0, y1 = axis.y(s), axis.y(e)
        if y0 is not None and y1 is not None:
            labels.append((y0, y1, f'buffer {i}'))
    for s, e, name in run.maps:
        if any(bs < e and be > s for bs, be in run.bufs.values()):
            continue
        ys = [(y0 / MIB, y1 / MIB) for y0, y1 in axis.pieces(s, e)]
        if not ys or ys[-1][1] - ys[0][0] < ymax / 25:
            continue
        labels.append((ys[0][0], ys[-1][1],
                       f'{name}\n{human_bytes(e - s)}'))
    # No two labels closer than a line or so.
    labels.sort()
    kept = []
    for y0, y1, name in labels:
        if not kept or (y0 + y1) / 2 - sum(kept[-1][:2]) / 2 > ymax / 20:
            kept.append((y0, y1, name))
    return kept


def human_bytes(n):
    """n bytes in the largest binary unit that keeps a number >= 1."""
    unit = 'bytes'
    for bigger in ('KiB', 'MiB', 'GiB', 'TiB', 'PiB'):
        if n < 1024:
            break
        n, unit = n / 1024, bigger
    return f'{n:.1f}'.rstrip('0').rstrip('.') + ' ' + unit


def phase_name(idxs):
    if idxs is None:
        return None
    if not idxs:
        return 'idle'
    return ('buffer ' if len(idxs) == 1 else 'buffers ') + \
        ' + '.join(str(i) for i in sorted(idxs))


def intervals_text(run):
    if not run.intervals:
        return ''
    text = (f'sampling every {run.intervals[0] / 1000:g} ms, '
            f'aggregating every {run.intervals[1] / 1000:g} ms')
    if run.tuned and run.tuned != run.intervals:
        text += (f' (tuned by DAMON to {run.tuned[0] / 1000:.3g} / '
                 f'{run.tuned[1] / 1000:.3g} ms by the end)')
    return text


def draw(runs, prefix, title):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.transforms import blended_transform_factory

    plt.rcParams.update({'font.size': 10, 'axes.titlesize': 11,
                         'svg.fonttype': 'none'})
    cmap = plt.get_cmap('inferno').copy()
    cmap.set_bad(NO_DATA)
    n = len(runs)
    fig = plt.figure(figsize=(11, 0.4 + 6.6 * n), layout='constrained')
    fig.suptitle(textwrap.fill(title, 90), fontsize=13, fontweight='bold')
    subs = fig.subfigures(n, 1, squeeze=False)[:, 0]
    axes = []
    for sub in subs:
        gs = sub.add_gridspec(2, 2, height_ratios=[3.2, 1.3],
                              width_ratios=[1, 0.025])
        axes.append((sub.add_subplot(gs[0, 0]), sub.add_subplot(gs[1, 0]),
                     sub.add_subplot(gs[0, 1])))
    for heat, wss, _ in axes:
        if heat is not axes[0][0]:
            heat.sharex(axes[0][0])
        wss.sharex(axes[0][0])

    tmax = max(r.end_of_interest() for r in runs)
    tmin = min(0.0, min(r.edges[0] for r in runs))
    ymax = max(AddressAxis(segments(r)).size for r in runs) / MIB
    wmax = max(max(r.working_set().max(),
                   r.truth()[1].max() if r.truth() is not None else 0)
               for r in runs)
    for run, sub, (heat, wss, cax) in zip(runs, subs, axes):
        axis = AddressAxis(segments(run))
        cells = heat_cells(run, axis, FIG_ROWS)
        ys = np.linspace(0, axis.size / MIB, FIG_ROWS + 1)
        mesh = heat.pcolormesh(run.edges, ys, np.ma.masked_invalid(cells),
                               cmap=cmap, vmin=0, vmax=100, shading='flat',
                               rasterized=True)
        heat.set_facecolor(NO_DATA)
        heat.set_xlim(tmin, tmax)
        heat.set_ylim(0, ymax)
        heat.set_ylabel('address (MiB above the lowest\nmonitored address' +
                        (', gaps cut)' if axis.cuts() else ')'))
        heat.tick_params(labelbottom=False)
        if n > 1 or run.label:
            sub.suptitle(run.label, x=0.01, ha='left', fontsize=12,
                         fontweight='bold')
        heat.set_title(intervals_text(run), loc='left', fontsize=10,
                       pad=20)

        # Buffers, and other mappings big enough, named at the right
        # edge, their bounds ticked.
        right = heat.twinx()
        right.set_ylim(heat.get_ylim())
        names, centres, bounds = [], [], set()
        for y0, y1, name in edge_labels(run, axis, ymax):
            names.append(name)
            centres.append((y0 + y1) / 2)
            bounds.update((y0, y1))
            for y in (y0, y1):
                heat.axhline(y, color='white', lw=0.4, alpha=0.35)
        right.set_yticks(centres, names)
        right.set_yticks(sorted(bounds), minor=True)
        right.tick_params(axis='y', which='major', length=0)
        right.tick_params(axis='y', which='minor', length=8)
        for y, gap in axis.cuts():
            heat.axhline(y, color='#40a0ff', lw=1.2, ls=(0, (4, 2)))
            below = y > ymax / 2
            heat.annotate(f'{human_bytes(gap)} not monitored',
                          (1, y), xycoords=('axes fraction', 'data'),
                          xytext=(-4, -2 if below else 2),
                          textcoords='offset points', ha='right',
                          va='top' if below else 'bottom', fontsize=8,
                          color='#40a0ff')

        # The phases: a line where each ends, its name above the map.
        top = blended_transform_factory(heat.transData, heat.transAxes)
        bounds = run.phase_bounds()
        for k, (start, end, idxs) in enumerate(bounds):
            for ax, colour in ((heat, 'white'), (wss, '#555555')):
                if k == 0:
                    ax.axvline(start, color=colour, lw=1, ls=':')
                # The end of monitoring is no phase change.
                if end < run.edges[-1]:
                    ax.axvline(end, color=colour, lw=1, ls=':')
            shown = min(end, tmax) - max(start, tmin)
            if shown < (tmax - tmin) / 40:
                continue
            name = phase_name(idxs) or f'phase {k}'
            heat.text(max(start, tmin) + shown / 2, 1.015, name,
                      transform=top, ha='center', va='bottom', fontsize=9,
                      clip_on=False)

        est = run.working_set()
        wss.stairs(est, run.edges, color='#d9480f', lw=1.8,
                   label='DAMON\'s estimate (regions accessed at least once)')
        truth = run.truth()
        if truth is not None:
            wss.stairs(truth[1], truth[0], color='black', lw=1.4, ls='--',
                       label='truth (buffers the workload sweeps)')
        wss.set_ylim(0, wmax * 1.3 + 1)
        wss.set_xlim(tmin, tmax)
        wss.set_ylabel('working set\n(MiB)')
        wss.grid(axis='y', color='#dddddd', lw=0.6)
        wss.legend(loc='upper left', fontsize=8.5, ncol=2, frameon=False)
        wss.tick_params(labelbottom=True)
        cbar = sub.colorbar(mesh, cax=cax)
        cbar.set_label('% of samples accessed (grey: not monitored)')
        wss.set_xlabel('time (s) since the workload started'
                       if run.ready is not None else 'time (s)')
    for ext in ('png', 'svg'):
        fig.savefig(f'{prefix}.{ext}', dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--phases', default='',
                        help='the workload\'s "<ms> <idx,...>" pairs')
    parser.add_argument('--out', help='write PREFIX.png and PREFIX.svg')
    parser.add_argument('--title', default='What DAMON saw')
    parser.add_argument('runs', nargs='+', metavar='[LABEL=]DIR')
    args = parser.parse_args()
    phases = parse_phases(args.phases)
    runs = []
    for arg in args.runs:
        label, _, path = arg.rpartition('=')
        runs.append(Run(label or path, path, phases))

    for run in runs:
        if len(runs) > 1:
            print(f'\n=== {run.label} ===')
        print_run(run)
    if args.out:
        draw(runs, args.out, args.title)
        print(f'\nfigure: {args.out}.png (and .svg)')


if __name__ == '__main__':
    main()
