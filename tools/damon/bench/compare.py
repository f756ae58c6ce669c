#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Score the stock-vs-ours benchmark and print the comparison table.

    compare.py [--settle-ms MS] [--per-boot] KERNEL=DIR [KERNEL=DIR...]

Each DIR is the out directory of one guest boot that ran stock-vs-ours.sh;
KERNEL names the kernel it booted ("stock" or "ours").  Boots of the same
kernel are pooled.  The table has one row per metric and the columns ours,
stock and ours/stock.

Accuracy, per pattern, from <pattern>.truth (the workload's log of which
buffer is hot from when, on CLOCK_MONOTONIC) and <pattern>.trace (the
damon:damon_aggregated events, stamped on the same clock):

  - An aggregation is the run of events of one kdamond pass: ascending
    addresses, stamped together.  Its window runs from the previous
    aggregation's stamp to its own (under emulation that is often longer
    than the aggregation interval set; the table shows the mean).  With
    an intervals goal (goal=1 on the results line) the interval set is no
    bound: every window is the real gap.
  - Only windows that lie inside one phase and start at least --settle-ms
    (default 500 ms, some three to five aggregations) after the phase
    began are scored: the window across a phase change mixes two truths,
    and the few after it show how fast regions adapt rather than what
    they converge to.  Nor are windows in which the workload stalled
    (a sweep ended 50 ms or more after the previous one: the emulator's
    host did not run it, so its buffer was not hot); the table counts them.
  - DAMON reports a byte hot when its region has nr_accesses > 0; the WSS
    estimate is the number of such bytes.  The truth is the hot buffer.
  - wss error: mean over windows of |estimate - truth| / truth.
    precision: reported hot bytes that are truly hot / reported hot bytes;
    recall: truly hot bytes reported hot / truly hot bytes; both summed
    over all scored windows.
  - kdamond cpu/wall: the kdamond's CPU time over the phases per wall
    second; with a goal, the tuned sampling and aggregation intervals the
    run ended at.

Overhead, per region bounds (@min..max): kdamond CPU per wall second, and
from the trace taken meanwhile the mean number of regions, the real
aggregation interval and the CPU nanoseconds per region and sample; and
the passes per second the workload made meanwhile (its slowdown).

Latency of "commit": p50, p90 (nearest rank) and max of all the writes.
"""

import argparse
import collections
import os
import re
import sys

EVENT = re.compile(r'\s(\d+)\.(\d+): damon_aggregated: target_id=\d+ '
                   r'nr_regions=(\d+) (\d+)-(\d+): (\d+) \d+')


def read_kv(line):
    """The key=value words of a results line, as a dict of strings."""
    return dict(w.split('=', 1) for w in line.split() if '=' in w)


def read_truth(path):
    """The phases [(start_ns, end_ns, (start, end) of the hot buffer)] of a
    workload log, and its stalls [(start_ns, end_ns)]."""
    buffers, starts, end, stalls = {}, [], None, []
    with open(path) as f:
        for line in f:
            w = line.split()
            if w[0] == 'buffer':
                lo, hi = w[2].split('-')
                buffers[int(w[1])] = (int(lo, 16), int(hi, 16))
            elif w[0] == 'phase':
                starts.append((int(w[2]), int(w[4])))
            elif w[0] == 'stall':
                stalls.append((int(w[2]), int(w[3])))
            elif w[0] == 'end':
                end = int(w[1])
    if end is None or not starts:
        raise ValueError(f'{path}: the workload did not finish its phases')
    phases = []
    for i, (t, idx) in enumerate(starts):
        t_end = starts[i + 1][0] if i + 1 < len(starts) else end
        phases.append((t, t_end, buffers[idx]))
    return phases, stalls


def read_aggregations(path):
    """[(stamp_ns, [(start, end, nr_accesses)])] of a trace, and the number
    of aggregations dropped as incomplete."""
    aggrs, cur, dropped = [], None, 0

    def close():
        nonlocal dropped
        if cur is None:
            return
        if len(cur[2]) == cur[1]:
            aggrs.append((cur[0], cur[2]))
        else:
            dropped += 1

    with open(path) as f:
        for line in f:
            m = EVENT.search(line)
            if not m:
                continue
            secs, frac, nr, lo, hi, acc = m.groups()
            t = int(secs) * 10**9 + int(frac.ljust(9, '0'))
            lo, hi, nr, acc = int(lo), int(hi), int(nr), int(acc)
            if (cur is None or lo < cur[2][-1][1] or
                    t - cur[0] > 20 * 10**6 or len(cur[2]) >= cur[1]):
                close()
                cur = (t, nr, [])
            cur[2].append((lo, hi, acc))
    close()
    return aggrs, dropped


def overlap(lo, hi, rng):
    return max(0, min(hi, rng[1]) - max(lo, rng[0]))


def score_accuracy(truth, trace, aggr_ns, settle_ns):
    """Sums of one boot's run of one pattern, see the module comment.
    An @aggr_ns of None means tuned intervals."""
    phases, stalls = read_truth(truth)
    aggrs, dropped = read_aggregations(trace)
    s = collections.Counter(dropped=dropped)
    prev = None
    for stamp, regions in aggrs:
        # The window is what really passed since the last aggregation,
        # which under emulation can be well over the interval set.
        if prev is not None and (aggr_ns is None or
                                 stamp - prev < 3 * aggr_ns):
            win = prev
            s['intervals'] += 1
            s['interval_ns'] += stamp - prev
        elif aggr_ns is None:
            prev = stamp
            continue
        else:
            win = stamp - aggr_ns
        prev = stamp
        hot = [r for (t0, t1, r) in phases
               if t0 + settle_ns <= win and stamp <= t1]
        if not hot:
            continue
        if any(t0 < stamp and win < t1 for t0, t1 in stalls):
            s['stalled'] += 1
            continue
        hot = hot[0]
        est = inter = 0
        for lo, hi, acc in regions:
            if acc > 0:
                est += hi - lo
                inter += overlap(lo, hi, hot)
        true = hot[1] - hot[0]
        s['windows'] += 1
        s['est'] += est
        s['inter'] += inter
        s['true'] += true
        s['err'] += abs(est - true) / true
    return s


def percentile(values, p):
    """Nearest-rank percentile."""
    v = sorted(values)
    return v[max(0, -(-len(v) * p // 100) - 1)]


def collect(kernel_dirs, settle_ns):
    """Per kernel: metric name -> value, and per-boot lines."""
    runs = collections.defaultdict(list)
    for kernel, d in kernel_dirs:
        runs[kernel].append(d)
    metrics, per_boot = {}, []
    for kernel, dirs in runs.items():
        m = metrics.setdefault(kernel, {})
        acc = collections.defaultdict(collections.Counter)
        overhead = collections.defaultdict(lambda:
                                           collections.defaultdict(list))
        lat = collections.defaultdict(list)
        fails = collections.Counter()
        for d in dirs:
            with open(os.path.join(d, 'results.txt')) as f:
                lines = f.read().splitlines()
            for line in lines:
                kv = read_kv(line)
                if line.startswith('accuracy '):
                    pat = kv['pattern']
                    tuned = kv.get('goal') == '1'
                    s = score_accuracy(os.path.join(d, pat + '.truth'),
                                       os.path.join(d, pat + '.trace'),
                                       None if tuned else
                                       int(kv['aggr_us']) * 1000, settle_ns)
                    s['lost'] += int(kv['lost'])
                    for k in ('cpu_ns', 'wall_ns', 'tuned_sample_us',
                              'tuned_aggr_us'):
                        if k in kv:
                            s[k] += int(kv[k])
                    s['tuned_runs'] += 'tuned_sample_us' in kv
                    acc[pat].update(s)
                    per_boot.append(f'{kernel} {d} {pat}: {dict(s)}')
                elif line.startswith('overhead '):
                    cfg = f"@{kv['min']}..{kv['max']}"
                    cpu_ns, wall_ns = int(kv['cpu_ns']), int(kv['wall_ns'])
                    aggrs, _ = read_aggregations(
                        os.path.join(d, f"overhead-{kv['config']}.trace"))
                    if len(aggrs) < 2:
                        raise ValueError(f'{d}: no trace of overhead {cfg}')
                    nr = sum(len(r) for _, r in aggrs) / len(aggrs)
                    aggr_ns = (aggrs[-1][0] - aggrs[0][0]) / (len(aggrs) - 1)
                    samples = wall_ns / aggr_ns * int(kv['aggr_us']) / \
                        int(kv['sample_us'])
                    o = overhead[cfg]
                    o['cpu/wall'].append(cpu_ns / wall_ns)
                    o['nr_regions'].append(nr)
                    o['aggr ms'].append(aggr_ns / 10**6)
                    o['ns/region/sample'].append(cpu_ns / samples / nr)
                    o['workload passes/s'].append(int(kv['passes']) * 10**9 /
                                                  int(kv['passes_ns']))
                    per_boot.append(f'{kernel} {d} {line} nr_regions={nr:.0f}'
                                    f' aggr_ns={aggr_ns:.0f}')
                elif line.startswith('commit '):
                    if 'failed' in kv:
                        fails[kv['sample_us']] += 1
                    else:
                        lat[kv['sample_us']].append(int(kv['us']))
        for pat, s in acc.items():
            if not s['windows']:
                continue
            m[f'{pat} wss error %'] = 100 * s['err'] / s['windows']
            m[f'{pat} hot precision %'] = (100 * s['inter'] / s['est']
                                           if s['est'] else 0)
            m[f'{pat} hot recall %'] = 100 * s['inter'] / s['true']
            m[f'{pat} scored windows'] = s['windows']
            m[f'{pat} stalled windows'] = s['stalled']
            m[f'{pat} aggr ms'] = (s['interval_ns'] /
                                            s['intervals'] / 10**6)
            if s['lost'] or s['dropped']:
                m[f'{pat} lost events/aggrs'] = s['lost'] + s['dropped']
            if s['wall_ns']:
                m[f'{pat} kdamond cpu/wall'] = s['cpu_ns'] / s['wall_ns']
            if s['tuned_runs']:
                m[f'{pat} tuned sample ms'] = (s['tuned_sample_us'] /
                                               s['tuned_runs'] / 1000)
                m[f'{pat} tuned aggr ms'] = (s['tuned_aggr_us'] /
                                             s['tuned_runs'] / 1000)
        for cfg, o in overhead.items():
            for name, v in o.items():
                m[f'{name} {cfg}'] = sum(v) / len(v)
        for sample in set(lat) | set(fails):
            name = '5ms' if sample == '5000' else f'{int(sample) // 1000}ms'
            if lat[sample]:
                v = lat[sample]
                m[f'commit@{name} p50 ms'] = percentile(v, 50) / 1000
                m[f'commit@{name} p90 ms'] = percentile(v, 90) / 1000
                m[f'commit@{name} max ms'] = max(v) / 1000
                m[f'commit@{name} count'] = len(v)
            if fails[sample]:
                m[f'commit@{name} failures'] = fails[sample]
    return metrics, per_boot


ORDER = [f'{p} {m}' for p in ('stairs', 'zigzag', 'autotune-stairs',
                               'autotune-zigzag')
         for m in ('wss error %', 'kdamond cpu/wall', 'hot precision %',
                   'hot recall %', 'scored windows', 'stalled windows',
                   'aggr ms', 'tuned sample ms', 'tuned aggr ms')]
ORDER += [f'{m} {c}' for c in ('@10..1000', '@1000..10000')
          for m in ('cpu/wall', 'nr_regions', 'aggr ms', 'ns/region/sample',
                    'workload passes/s')]
ORDER += [f'commit@{s} {m}' for s in ('5ms', '1000ms')
          for m in ('p50 ms', 'p90 ms', 'max ms', 'count')]


def fmt(v):
    if v is None:
        return '-'
    if isinstance(v, int) or float(v).is_integer() and abs(v) >= 100:
        return str(int(v))
    if abs(v) >= 100:
        return f'{v:.0f}'
    if abs(v) >= 1:
        return f'{v:.2f}'
    return f'{v:.4f}'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--settle-ms', type=int, default=500)
    ap.add_argument('--per-boot', action='store_true')
    ap.add_argument('runs', nargs='+', metavar='KERNEL=DIR')
    args = ap.parse_args()
    kernel_dirs = [tuple(r.split('=', 1)) for r in args.runs]
    try:
        metrics, per_boot = collect(kernel_dirs, args.settle_ms * 10**6)
    except (OSError, ValueError, KeyError) as e:
        print(f'compare: {e}', file=sys.stderr)
        return 1
    if args.per_boot:
        print('\n'.join(per_boot))
    ours, stock = metrics.get('ours', {}), metrics.get('stock', {})
    names = [n for n in ORDER if n in ours or n in stock]
    names += sorted((set(ours) | set(stock)) - set(names))
    print(f'{"metric":32} {"ours":>10} {"stock":>10} {"ours/stock":>11}')
    for n in names:
        o, s = ours.get(n), stock.get(n)
        ratio = f'{o / s:.2f}' if o is not None and s else '-'
        print(f'{n:32} {fmt(o):>10} {fmt(s):>10} {ratio:>11}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
