#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Guest side of the schemes-latency benchmark.

How long the synchronous DAMOS state commands take, through
/sys/kernel/mm/damon/admin only, so that stock DAMON and ours run the same
steps: "update_schemes_stats" and "update_schemes_tried_regions" at
sampling intervals of 5 ms and 1 s (aggregation 20 x sampling), one stat
scheme matching everything, on an idle 64 MiB process.  Each write is
issued at a random point of the aggregation interval and timed around the
write() system call.

Prints "key=value" lines: <cmd>_<sample_us>_{n,p50_us,p90_us,max_us}.

    schemes-latency.py [reps_fast reps_slow_stats reps_slow_regions]
"""

import mmap
import os
import random
import signal
import sys
import time

ADMIN = '/sys/kernel/mm/damon/admin'
K = ADMIN + '/kdamonds/0'
C = K + '/contexts/0'
S = C + '/schemes/0'


def write(path, val):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, str(val).encode())
    finally:
        os.close(fd)


def timed_write(path, val):
    fd = os.open(path, os.O_WRONLY)
    try:
        start = time.monotonic()
        os.write(fd, str(val).encode())
        return (time.monotonic() - start) * 1e6
    finally:
        os.close(fd)


def setup(pid, sample_us):
    write(ADMIN + '/kdamonds/nr_kdamonds', 1)
    write(K + '/contexts/nr_contexts', 1)
    write(C + '/operations', 'vaddr')
    write(C + '/monitoring_attrs/intervals/sample_us', sample_us)
    write(C + '/monitoring_attrs/intervals/aggr_us', sample_us * 20)
    write(C + '/targets/nr_targets', 1)
    write(C + '/targets/0/pid_target', pid)
    write(C + '/schemes/nr_schemes', 1)
    write(S + '/action', 'stat')
    write(S + '/access_pattern/sz/max', 2**64 - 1)
    write(S + '/access_pattern/nr_accesses/max', 2**32 - 1)
    write(S + '/access_pattern/age/max', 2**32 - 1)
    write(K + '/state', 'on')


def teardown():
    try:
        write(K + '/state', 'off')
    except OSError:
        pass
    write(ADMIN + '/kdamonds/nr_kdamonds', 0)


def pct(vals, p):
    vals = sorted(vals)
    return vals[min(len(vals) - 1, int(len(vals) * p / 100))]


def measure(cmd, sample_us, reps):
    aggr_s = sample_us * 20 / 1e6
    lat = []
    for _ in range(reps):
        time.sleep(random.uniform(0, aggr_s))
        lat.append(timed_write(K + '/state', cmd))
    key = '%s_%d' % (cmd, sample_us)
    print('%s_n=%d' % (key, len(lat)))
    print('%s_p50_us=%d' % (key, pct(lat, 50)))
    print('%s_p90_us=%d' % (key, pct(lat, 90)))
    print('%s_max_us=%d' % (key, max(lat)))
    sys.stdout.flush()


def main():
    reps = [int(a) for a in sys.argv[1:4]] or [20, 3, 2]
    child = os.fork()
    if child == 0:
        buf = mmap.mmap(-1, 64 << 20)
        for i in range(0, len(buf), 4096):
            buf[i] = 1
        signal.pause()
        os._exit(0)
    try:
        for sample_us, r_stats, r_regions in ((5000, reps[0], reps[0]),
                                              (1000000, reps[1], reps[2])):
            setup(child, sample_us)
            # Let the first aggregation pass, so the schemes have run.
            time.sleep(sample_us * 20 / 1e6 * 1.5)
            measure('update_schemes_stats', sample_us, r_stats)
            measure('update_schemes_tried_regions', sample_us, r_regions)
            teardown()
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)


if __name__ == '__main__':
    main()
