#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The damon:damon_aggregated tracepoint, as seen with a known workload.

access_memory maps 4 buffers of 16 MiB and keeps writing to 2 of them
(0 and 2, which are not adjacent), one byte every 4 KiB.  A vaddr context
set up through DAMON's sysfs ABI monitors it with the default attributes
(5 ms sampling, 100 ms aggregation, 10..1000 regions) while the event is
traced in a trace instance of its own.  Checked:

- every event parses as "target_id=%lu nr_regions=%u %lu-%lu: %u %u";
- the events come in whole aggregations of nr_regions events each, and
  nr_regions is within [10, 1000];
- in an aggregation, regions are page aligned, non-empty, sorted and do
  not overlap;
- nr_accesses never exceeds the samples per aggregation (20);
- after a warm-up, in most aggregations (80%) regions with nr_accesses > 0
  cover at least 90% of each hot buffer;
- the working set each aggregation reports, the bytes of its regions with
  nr_accesses > 0, is an estimate of the 32 MiB the workload writes: the
  50th and the 75th percentile are each within 20% of it.  The rest of
  the process (text, libraries, stack) is touched too, but only a few
  pages of it.

The cold buffers' coverage and the aggregation period are reported, and
the period is checked only loosely (emulated machines are slow).
"""

import os
import re
import select
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

TRACING = '/sys/kernel/tracing'
INSTANCE = os.path.join(TRACING, 'instances', 'damon_aggregated_selftest')
NR_BUFFERS = 4
BUFFER_MIB = 16
HOT = [0, 2]
TRUTH = len(HOT) * BUFFER_MIB * dc.MIB
WSS_TOLERANCE = 0.2
MIN_NR_REGIONS = 10
MAX_NR_REGIONS = 1000
MAX_NR_ACCESSES = 20        # aggregation / sampling interval
STATE = os.path.join(dc.KDAMOND, 'state')
PAGE_SIZE = os.sysconf('SC_PAGE_SIZE')
WARMUP_AGGRS = 10
WANT_AGGRS = 100            # 10 s at 100 ms
TRACE_MAX_S = 40            # emulation may be slower
MIN_AGGRS = 40
HOT_COVERAGE = 0.9
HOT_AGGR_SHARE = 0.8

EVENT_RE = re.compile(r'\s(\d+\.\d+): damon_aggregated: (.*)$')
BODY_RE = re.compile(
    r'target_id=(\d+) nr_regions=(\d+) (\d+)-(\d+): (\d+) (\d+)')


def write(path, val):
    with open(path, 'w') as f:
        f.write(val)


def collect(pipe_fd, deadline, lines, partial, enough=None):
    """Read trace_pipe into lines until deadline, or until enough(lines)
    says so (checked every second); return the partial last line."""
    checked = time.monotonic()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return partial
        if enough and time.monotonic() - checked >= 1:
            if enough(lines):
                return partial
            checked = time.monotonic()
        r, _, _ = select.select([pipe_fd], [], [], min(left, 0.5))
        if not r:
            continue
        try:
            data = os.read(pipe_fd, 65536).decode(errors='replace')
        except BlockingIOError:
            continue
        chunks = (partial + data).split('\n')
        partial = chunks.pop()
        lines += chunks


def parse(lines):
    """Events of lines as (ts, target_id, nr_regions, start, end,
    nr_accesses, age), with 'lost' for lost events; unparsable event
    lines; the number of lost-event markers."""
    events, bad, lost = [], [], 0
    for line in lines:
        if 'LOST' in line and 'EVENTS' in line:
            lost += 1
            events.append('lost')
            continue
        m = EVENT_RE.search(line)
        if not m:
            if 'damon_aggregated' in line:
                bad.append(line)
            continue
        b = BODY_RE.fullmatch(m.group(2))
        if not b:
            bad.append(line)
            continue
        events.append((float(m.group(1)),) +
                      tuple(int(x) for x in b.groups()))
    return events, bad, lost


def group(events):
    """Cut the event stream into aggregations.

    Tracing starts before the kdamond, so the stream begins with the first
    region of an aggregation, and every aggregation is nr_regions events
    long.  After lost events the stream is resynchronized at the next
    pause of 20 ms or more, which only happens between aggregations.
    """
    aggrs, cur, resync = [], [], False
    prev_ts = None
    problems = []
    for ev in events:
        if ev == 'lost':
            cur, resync = [], True
            continue
        ts = ev[0]
        if resync:
            if prev_ts is None or ts - prev_ts < 0.02:
                prev_ts = ts
                continue
            resync = False
        prev_ts = ts
        if cur and ev[2] != cur[0][2]:
            problems.append('aggregation at %.6f: %d of %d events, then '
                            'nr_regions=%d' % (cur[0][0], len(cur),
                                               cur[0][2], ev[2]))
            cur = []
        cur.append(ev)
        if len(cur) == cur[0][2]:
            aggrs.append(cur)
            cur = []
    return aggrs, problems


class EnoughAggregations:
    """Tells whether lines hold a number of whole aggregations, parsing
    each line once."""

    def __init__(self, nr):
        self.nr = nr
        self.parsed = 0
        self.events = []

    def __call__(self, lines):
        self.events += parse(lines[self.parsed:])[0]
        self.parsed = len(lines)
        return len(group(self.events)[0]) >= self.nr


def coverage(aggr, start, end):
    """Share of [start, end) in regions of aggr with nr_accesses > 0."""
    covered = 0
    for _, _, _, s, e, nr_accesses, _ in aggr:
        if nr_accesses > 0:
            covered += max(0, min(e, end) - max(s, start))
    return covered / (end - start)


def wss(aggr):
    """Bytes of the regions of aggr with nr_accesses > 0."""
    return sum(e - s for _, _, _, s, e, nr_accesses, _ in aggr
               if nr_accesses > 0)


def main():
    dc.check_environment(need_tracefs=True)
    if dc.kdamonds():
        dc.skip('other kdamonds run: %s' % dc.kdamonds())
    fails = []
    kmsg = dc.Kmsg()
    workload = None
    pipe_fd = None
    lines = []
    try:
        if os.path.isdir(INSTANCE):
            os.rmdir(INSTANCE)
        os.mkdir(INSTANCE)
        write(os.path.join(INSTANCE, 'buffer_size_kb'), '4096')
        write(os.path.join(INSTANCE, 'events/damon/damon_aggregated/enable'),
              '1')
        write(os.path.join(INSTANCE, 'tracing_on'), '1')
        pipe_fd = os.open(os.path.join(INSTANCE, 'trace_pipe'),
                          os.O_RDONLY | os.O_NONBLOCK)

        workload = dc.Workload(NR_BUFFERS, BUFFER_MIB, [(0, HOT)])
        for i, (start, end) in enumerate(workload.buffers):
            dc.log('buffer %d: %d-%d%s' % (i, start, end,
                                           ' (hot)' if i in HOT else ''))
        dc.build(dc.config([workload.pid]))
        err = dc.write(STATE, 'on')
        if err:
            dc.log('FAIL: on failed with %s' % dc.errno_name(err))
            return dc.KSFT_FAIL
        partial = collect(pipe_fd, time.monotonic() + TRACE_MAX_S, lines,
                          '', EnoughAggregations(WANT_AGGRS))
        err = dc.write(STATE, 'off')
        if err:
            fails.append('off failed with %s' % dc.errno_name(err))
        # The kdamond is gone; take what it left in the buffer.
        partial = collect(pipe_fd, time.monotonic() + 1, lines, partial)
        if partial:
            lines.append(partial)
    except dc.SetupError as e:
        fails.append(str(e))
    finally:
        dc.cleanup()
        if workload:
            workload.kill()
        if pipe_fd is not None:
            os.close(pipe_fd)
        if os.path.isdir(INSTANCE):
            write(os.path.join(INSTANCE, 'tracing_on'), '0')
            os.rmdir(INSTANCE)

    events, bad, lost = parse(lines)
    nr_events = len(events) - lost
    dc.log('%d events, %d lost-event markers, %d unparsable lines' %
           (nr_events, lost, len(bad)))
    for line in bad[:5]:
        fails.append('unparsable event: %r' % line)

    aggrs, problems = group(events)
    for p in problems[:5]:
        fails.append('broken aggregation: ' + p)
    dc.log('%d whole aggregations' % len(aggrs))
    if len(aggrs) < MIN_AGGRS:
        fails.append('only %d aggregations in %d s (want >= %d)' %
                     (len(aggrs), TRACE_MAX_S, MIN_AGGRS))

    nr_regions = [a[0][2] for a in aggrs]
    if nr_regions:
        dc.log('nr_regions: min %d, median %d, max %d' %
               (min(nr_regions), dc.percentile(nr_regions, 50),
                max(nr_regions)))
    out_of_bounds = [n for n in nr_regions
                     if not MIN_NR_REGIONS <= n <= MAX_NR_REGIONS]
    if out_of_bounds:
        fails.append('%d aggregations with nr_regions out of [%d, %d]: %s' %
                     (len(out_of_bounds), MIN_NR_REGIONS, MAX_NR_REGIONS,
                      out_of_bounds[:10]))

    max_acc = max((ev[5] for a in aggrs for ev in a), default=0)
    dc.log('max nr_accesses: %d' % max_acc)
    if max_acc > MAX_NR_ACCESSES:
        fails.append('nr_accesses %d > %d' % (max_acc, MAX_NR_ACCESSES))

    targets = set(ev[1] for a in aggrs for ev in a)
    if targets - {0}:
        fails.append('target ids %s, want only 0' % sorted(targets))

    disorder = []
    for a in aggrs:
        prev_end = 0
        for ts, _, _, s, e, _, _ in a:
            if s >= e or s % PAGE_SIZE or e % PAGE_SIZE or s < prev_end:
                disorder.append('%.6f: %d-%d after end %d' %
                                (ts, s, e, prev_end))
            prev_end = e
    for d in disorder[:5]:
        fails.append('region not aligned, empty, unsorted or overlapping '
                     'at ' + d)
    if disorder:
        dc.log('%d bad regions in all' % len(disorder))

    if len(aggrs) > 1:
        periods = [b[0][0] - a[0][0] for a, b in zip(aggrs, aggrs[1:])]
        period = dc.percentile(periods, 50)
        dc.log('aggregation period: median %.1f ms, max %.1f ms' %
               (period * 1000, max(periods) * 1000))
        if not 0.05 <= period <= 1.0:
            fails.append('median aggregation period %.1f ms, not about '
                         '100 ms' % (period * 1000))

    measured = aggrs[WARMUP_AGGRS:]
    if workload and workload.buffers and measured:
        for i in HOT:
            hot = [coverage(a, *workload.buffers[i]) for a in measured]
            share = sum(c >= HOT_COVERAGE for c in hot) / len(hot)
            dc.log('hot buffer %d covered by accessed regions: median '
                   '%.0f%%, p10 %.0f%%; >= %.0f%% in %.0f%% of %d '
                   'aggregations' % (
                       i, dc.percentile(hot, 50) * 100,
                       dc.percentile(hot, 10) * 100, HOT_COVERAGE * 100,
                       share * 100, len(hot)))
            if share < HOT_AGGR_SHARE:
                fails.append('hot buffer %d is >= %.0f%% covered in only '
                             '%.0f%% of aggregations (want >= %.0f%%)' %
                             (i, HOT_COVERAGE * 100, share * 100,
                              HOT_AGGR_SHARE * 100))
        for i, (s, e) in enumerate(workload.buffers):
            if i in HOT:
                continue
            cold = [coverage(a, s, e) for a in measured]
            dc.log('cold buffer %d covered by accessed regions: median '
                   '%.0f%%, p90 %.0f%%' % (i, dc.percentile(cold, 50) * 100,
                                           dc.percentile(cold, 90) * 100))

        estimates = [wss(a) for a in measured]
        dc.log('working set (MiB): truth %.1f, p25 %.1f, p50 %.1f, p75 '
               '%.1f, p90 %.1f' % ((TRUTH / dc.MIB,) + tuple(
                   dc.percentile(estimates, p) / dc.MIB
                   for p in (25, 50, 75, 90))))
        for pct in (50, 75):
            val = dc.percentile(estimates, pct)
            if abs(val - TRUTH) > WSS_TOLERANCE * TRUTH:
                fails.append('working set p%d %.1f MiB is not within %d%% '
                             'of %.1f MiB' % (pct, val / dc.MIB,
                                              WSS_TOLERANCE * 100,
                                              TRUTH / dc.MIB))

    for s in kmsg.splats():
        fails.append('kernel: ' + s)
    kmsg.close()
    for f in fails:
        dc.log('FAIL: ' + f)
    if fails:
        return dc.KSFT_FAIL
    dc.log('PASS')
    return dc.KSFT_PASS


if __name__ == '__main__':
    sys.exit(main())
