#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Every file, keyword and tracepoint of DAMON that user space relies on.

User space tools (damo above all) find out what a kernel's DAMON can do
by looking: a feature is there when its sysfs file, its keyword or its
tracepoint is.  So a file under another name is a feature gone, for them.
This test holds the list of everything we claim, with upstream's names,
in one place (the tables below), and probes each item in the guest:

- admin tree: with one of each numbered child (kdamond, context, target,
  region, scheme, quota goal, filter), every file and directory listed
  exists, with mode 0600 for what is written and 0400 for results, and
  reads; after update_schemes_tried_regions, tried_regions/0/ has its
  files too;
- keywords: operations takes each name avail_operations lists, and that
  list has vaddr and fvaddr (CONFIG_DAMON_VADDR) and paddr
  (CONFIG_DAMON_PADDR); action, filters' type, goals' target_metric and
  watermarks' metric take each keyword listed and read it back; state
  takes each of its keywords on a running kdamond (a vaddr context on
  this process with one stat scheme);
- modules: the parameter files of DAMON_RECLAIM, DAMON_LRU_SORT,
  DAMON_STAT and the wsse sample under /sys/module/<name>/parameters,
  with their modes, for each one the kernel config builds;
- tracepoints: damon:damon_aggregated and damon:damos_before_apply exist
  with their fields (and damon_aggregated with the format its parsers
  read) and fire while that kdamond runs.

A missing or renamed item fails with its name.  Files we have beyond the
list are logged, which makes a rename easy to spot.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

RW = 0o600
RO = 0o400

K = 'kdamonds/0/'
C = K + 'contexts/0/'
T = C + 'targets/0/'
S = C + 'schemes/0/'

# The admin tree under /sys/kernel/mm/damon/admin: (path, mode), a path
# ending in '/' is a directory (mode None); {a,b} expands as in the
# shell.  The tried_regions/0/ entries exist only once a kdamond has
# reported tried regions, and are probed then.
ADMIN = [
    ('kdamonds/', None),
    ('kdamonds/nr_kdamonds', RW),
    (K + '{state,refresh_ms}', RW),          # refresh_ms: 6.17
    (K + 'pid', RO),
    (K + 'contexts/nr_contexts', RW),
    (C + 'avail_operations', RO),
    (C + 'operations', RW),
    (C + 'monitoring_attrs/intervals/{sample_us,aggr_us,update_us}', RW),
    (C + 'monitoring_attrs/intervals/intervals_goal/'   # 6.15
     '{access_bp,aggrs,min_sample_us,max_sample_us}', RW),
    (C + 'monitoring_attrs/nr_regions/{min,max}', RW),
    (C + 'targets/nr_targets', RW),
    (T + 'pid_target', RW),
    (T + 'regions/nr_regions', RW),
    (T + 'regions/0/{start,end}', RW),
    (C + 'schemes/nr_schemes', RW),
    (S + '{action,apply_interval_us,target_nid}', RW),
    (S + 'access_pattern/{sz,nr_accesses,age}/{min,max}', RW),
    (S + 'quotas/{ms,bytes,reset_interval_ms}', RW),
    (S + 'quotas/effective_bytes', RO),
    (S + 'quotas/weights/{sz_permil,nr_accesses_permil,age_permil}', RW),
    (S + 'quotas/goals/nr_goals', RW),
    (S + 'quotas/goals/0/{target_metric,target_value,current_value}', RW),
    (S + 'quotas/goals/0/nid', RW),                     # 6.16
    (S + 'watermarks/{metric,interval_us,high,mid,low}', RW),
    (S + 'filters/nr_filters', RW),
    (S + 'filters/0/{type,matching,memcg_path,addr_start,addr_end,'
     'damon_target_idx}', RW),
    (S + 'filters/0/allow', RW),                        # 6.14
    (S + 'stats/{nr_tried,sz_tried,nr_applied,sz_applied,qt_exceeds}', RO),
    (S + 'stats/sz_ops_filter_passed', RO),             # 6.14
    (S + 'tried_regions/', None),
    (S + 'tried_regions/total_bytes', RO),
    (S + 'tried_regions/0/{start,end,nr_accesses,age}', RO),
    (S + 'tried_regions/0/sz_filter_passed', RO),       # 6.14
]
TRIED_REGION = S + 'tried_regions/0/'

# Keyword files and the keywords each takes.  The operations are checked
# against avail_operations and the kernel config instead.
KEYWORDS = [
    (S + 'action', 'willneed cold pageout hugepage nohugepage lru_prio '
     'lru_deprio migrate_hot migrate_cold stat'),
    (S + 'quotas/goals/0/target_metric', 'user_input some_mem_psi_us '
     'node_mem_used_bp node_mem_free_bp'),
    (S + 'watermarks/metric', 'none free_mem_rate'),
    (S + 'filters/0/type', 'anon memcg young addr target'),
]
OPERATIONS = [('vaddr', 'CONFIG_DAMON_VADDR'),
              ('fvaddr', 'CONFIG_DAMON_VADDR'),
              ('paddr', 'CONFIG_DAMON_PADDR')]
# The state keywords, in the order they are written to a running kdamond
# ("on" starts it, "off" ends it).
STATE_KEYWORDS = ('on commit commit_schemes_quota_goals update_schemes_stats '
                  'update_schemes_tried_bytes update_schemes_tried_regions '
                  'clear_schemes_tried_regions '
                  'update_schemes_effective_quotas update_tuned_intervals '
                  'off')

# Module parameters: (module, the option that builds it, files, mode),
# under /sys/module/<module>/parameters.
PARAMS = [
    ('damon_reclaim', 'CONFIG_DAMON_RECLAIM',
     '{enabled,commit_inputs,min_age,quota_ms,quota_sz,'
     'quota_reset_interval_ms,quota_mem_pressure_us,'
     'quota_autotune_feedback,wmarks_interval,wmarks_high,wmarks_mid,'
     'wmarks_low,sample_interval,aggr_interval,min_nr_regions,'
     'max_nr_regions,monitor_region_start,monitor_region_end,skip_anon}',
     RW),
    ('damon_reclaim', 'CONFIG_DAMON_RECLAIM',
     '{kdamond_pid,nr_reclaim_tried_regions,bytes_reclaim_tried_regions,'
     'nr_reclaimed_regions,bytes_reclaimed_regions,nr_quota_exceeds}', RO),
    ('damon_lru_sort', 'CONFIG_DAMON_LRU_SORT',
     '{enabled,commit_inputs,hot_thres_access_freq,cold_min_age,quota_ms,'
     'quota_reset_interval_ms,wmarks_interval,wmarks_high,wmarks_mid,'
     'wmarks_low,sample_interval,aggr_interval,min_nr_regions,'
     'max_nr_regions,monitor_region_start,monitor_region_end}', RW),
    ('damon_lru_sort', 'CONFIG_DAMON_LRU_SORT',
     '{kdamond_pid,nr_lru_prio_tried_regions,bytes_lru_prio_tried_regions,'
     'nr_lru_prioritized_regions,bytes_lru_prioritized_regions,'
     'nr_lru_deprio_tried_regions,bytes_lru_deprio_tried_regions,'
     'nr_lru_deprioritized_regions,bytes_lru_deprioritized_regions,'
     'nr_lru_prio_quota_exceeds,nr_lru_deprio_quota_exceeds}', RO),
    # The same counters under Linux 6.12's names.
    ('damon_lru_sort', 'CONFIG_DAMON_LRU_SORT',
     '{nr_lru_sort_tried_hot_regions,bytes_lru_sort_tried_hot_regions,'
     'nr_lru_sorted_hot_regions,bytes_lru_sorted_hot_regions,'
     'nr_hot_quota_exceeds,nr_lru_sort_tried_cold_regions,'
     'bytes_lru_sort_tried_cold_regions,nr_lru_sorted_cold_regions,'
     'bytes_lru_sorted_cold_regions,nr_cold_quota_exceeds}', RO),
    ('damon_stat', 'CONFIG_DAMON_STAT', 'enabled', RW),     # 6.17
    ('damon_stat', 'CONFIG_DAMON_STAT',
     '{estimated_memory_bandwidth,memory_idle_ms_percentiles}', RO),
    ('damon_sample_wsse', 'CONFIG_SAMPLE_DAMON_WSSE', '{target_pid,enable}',
     RW),
]

# Tracepoints of the damon system: (name, fields, a piece of the print
# format that parsers of the text output rely on, or None).
TRACEPOINTS = [
    ('damon_aggregated', 'target_id nr_regions start end nr_accesses age',
     '"target_id=%lu nr_regions=%u %lu-%lu: %u %u"'),
    ('damos_before_apply', 'context_idx scheme_idx target_idx start end '
     'nr_accesses age nr_regions', None),
]
TRACE_INSTANCE = 'sysfs_features'

# Generous: an aggregation is 100 ms, but the guest is emulated and busy.
REGIONS_TIMEOUT = 30


def expand(pattern):
    """The paths pattern stands for, expanding each {a,b,...} group."""
    m = re.search(r'\{([^{}]*)\}', pattern)
    if not m:
        return [pattern]
    return [p for alt in m.group(1).split(',')
            for p in expand(pattern[:m.start()] + alt + pattern[m.end():])]


def entries(table):
    """(path, mode) of each item of a table of (pattern, mode)."""
    return [(p, mode) for pattern, mode in table for p in expand(pattern)]


def path(rel):
    return os.path.join(dc.ADMIN, rel)


class Features:
    """The probes, reporting to chk, a Checker."""

    def __init__(self, chk):
        self.chk = chk
        self.fail, self.expect = chk.fail, chk.expect
        self.conf = dc.kernel_config()
        self.missing = set()
        self.probed = set()

    def built(self, option):
        """Whether the kernel has option; without a config, assume so."""
        return self.conf is None or self.conf.get(option) == 'y'

    def probe(self, root, rel, mode):
        """Check that root/rel is there with mode, and reads.  A missing
        parent directory is reported once, for all of its files."""
        full = os.path.join(root, rel).rstrip('/')
        self.probed.add(full)
        is_dir = rel.endswith('/')
        if not os.path.lexists(full):
            # Name the topmost missing directory, once for all its files.
            missing = full
            while (os.path.dirname(missing) != root and
                   not os.path.exists(os.path.dirname(missing))):
                missing = os.path.dirname(missing)
            name = os.path.relpath(missing, root)
            if missing != full or is_dir:
                name += '/'
            if (root, name) not in self.missing:
                self.missing.add((root, name))
                self.fail('%s: %s is missing' % (root, name))
            return
        if is_dir:
            self.expect(os.path.isdir(full), '%s: %s is not a directory' %
                        (root, rel))
            return
        if not self.expect(os.path.isfile(full), '%s: %s is not a file' %
                           (root, rel)):
            return
        got = os.stat(full).st_mode & 0o7777
        self.expect(got == mode, '%s: %s has mode %o, want %o' %
                    (root, rel, got, mode))
        try:
            dc.read(full)
        except OSError as e:
            self.fail('%s: %s cannot be read: %s' % (root, rel, e.strerror))

    def log_unlisted(self, top):
        """Log the files under top that no table lists."""
        extra = [os.path.relpath(f, top) for f in dc.walk_files(top)
                 if f not in self.probed]
        if extra:
            dc.log('%s: files beyond the list: %s' % (top, ', '.join(extra)))

    # === The admin tree ===

    def build_tree(self):
        """One of each numbered child, as damo makes them to look."""
        for nr in ('kdamonds/nr_kdamonds', K + 'contexts/nr_contexts',
                   C + 'targets/nr_targets', T + 'regions/nr_regions',
                   C + 'schemes/nr_schemes', S + 'quotas/goals/nr_goals',
                   S + 'filters/nr_filters'):
            if not os.path.isfile(path(nr)):
                # Its directory's entries say what is missing.
                continue
            dc.must_write(path(nr), 1)

    def admin_files(self):
        for rel, mode in entries(ADMIN):
            if not rel.startswith(TRIED_REGION):
                self.probe(dc.ADMIN, rel, mode)

    def keywords(self):
        for rel, words in KEYWORDS:
            f = path(rel)
            if not os.path.isfile(f):
                continue            # reported as missing already
            for kw in words.split():
                err = dc.write(f, kw)
                if self.expect(err == 0, '%s: writing %r failed with %s' %
                               (rel, kw, dc.errno_name(err))):
                    got = dc.read(f)
                    self.expect(got == kw, '%s: wrote %r, reads %r' %
                                (rel, kw, got))

        ops = path(C + 'operations')
        if not (os.path.isfile(ops) and
                os.path.isfile(path(C + 'avail_operations'))):
            return                  # reported as missing already
        avail = dc.read(path(C + 'avail_operations')).split('\n')
        dc.log('avail_operations: %s' % ' '.join(avail))
        for kw, option in OPERATIONS:
            if self.built(option):
                self.expect(kw in avail, 'avail_operations lacks %s (%s=y)'
                            % (kw, option))
        for kw in avail:
            err = dc.write(ops, kw)
            if self.expect(err == 0, 'operations: writing %r, which '
                           'avail_operations lists, failed with %s' %
                           (kw, dc.errno_name(err))):
                self.expect(dc.read(ops) == kw, 'operations: wrote %r, '
                            'reads %r' % (kw, dc.read(ops)))

    # === A running kdamond: state keywords and tracepoints ===

    def set_up_run(self):
        """A vaddr context on this process, with one stat scheme that
        takes every region, no goal and no filter."""
        dc.must_write(path(C + 'operations'), 'vaddr')
        dc.must_write(path(T + 'pid_target'), os.getpid())
        dc.must_write(path(T + 'regions/nr_regions'), 0)
        dc.must_write(path(S + 'action'), 'stat')
        for rng in ('sz', 'nr_accesses', 'age'):
            dc.must_write(path(S + 'access_pattern/%s/min' % rng), 0)
            dc.must_write(path(S + 'access_pattern/%s/max' % rng),
                          dc.ULONG_MAX)
        dc.must_write(path(S + 'watermarks/metric'), 'none')
        dc.must_write(path(S + 'quotas/goals/nr_goals'), 0)
        dc.must_write(path(S + 'filters/nr_filters'), 0)

    def tried_regions(self):
        """update_schemes_tried_regions until a region is reported; then
        probe the files of one."""
        st = path(K + 'state')

        def reported():
            err = dc.write(st, 'update_schemes_tried_regions')
            return err == 0 and os.path.isdir(path(TRIED_REGION))

        if not self.expect(dc.wait_for(reported, REGIONS_TIMEOUT, 0.5),
                           'no tried region under %s within %d s of '
                           'update_schemes_tried_regions' %
                           (S + 'tried_regions', REGIONS_TIMEOUT)):
            return
        for rel, mode in entries(ADMIN):
            if rel.startswith(TRIED_REGION):
                self.probe(dc.ADMIN, rel, mode)

    def run_kdamond(self, tracer):
        try:
            self.set_up_run()
        except dc.SetupError as e:
            self.fail('cannot set a kdamond up to probe state: %s' % e)
            return
        st = path(K + 'state')
        for kw in STATE_KEYWORDS.split():
            err = dc.write(st, kw)
            if not self.expect(err == 0, 'state: writing %r failed with %s'
                               % (kw, dc.errno_name(err))):
                if kw == 'on':
                    return
                continue
            if kw == 'on':
                self.expect(dc.state() == 'on', 'state reads %r after on' %
                            dc.state())
                # The tried regions and the tracepoints need a few
                # aggregations.
                self.tried_regions()
                if tracer:
                    tracer.wait_all(REGIONS_TIMEOUT)
        self.expect(dc.state() == 'off', 'state reads %r after off' %
                    dc.state())

    # === Tracepoints ===

    def tracepoints(self):
        """Check the events' formats; return a Tracer to see them fire,
        or None if there is no tracing."""
        if not self.built('CONFIG_TRACING'):
            dc.log('no CONFIG_TRACING: tracepoints not probed')
            return None
        events = os.path.join(dc.TRACING, 'events')
        if not self.expect(os.path.isdir(events), 'no tracefs at %s' %
                           dc.TRACING):
            return None
        with open(os.path.join(dc.TRACING, 'available_events')) as f:
            avail = f.read().split()
        for name, fields, fmt in TRACEPOINTS:
            if not self.expect('damon:' + name in avail,
                               'tracepoint damon:%s is missing from '
                               'available_events' % name):
                continue
            with open(os.path.join(events, 'damon', name, 'format')) as f:
                text = f.read()
            have = re.findall(r'field:[^;]*?(\w+);', text)
            for field in fields.split():
                self.expect(field in have, 'tracepoint damon:%s has no '
                            'field %s (fields: %s)' %
                            (name, field, ' '.join(have)))
            if fmt:
                self.expect(fmt in text, 'tracepoint damon:%s does not '
                            'print %s' % (name, fmt))
        if not os.path.isdir(os.path.join(dc.TRACING, 'instances')):
            dc.log('no trace instances: not checking that the '
                   'tracepoints fire')
            return None
        return Tracer(self.chk, [n for n, _, _ in TRACEPOINTS
                                 if 'damon:' + n in avail])

    def run(self):
        self.build_tree()
        self.admin_files()
        self.keywords()
        for module, option, pattern, mode in PARAMS:
            root = '/sys/module/%s/parameters' % module
            if (root, '') in self.missing:
                continue
            if not self.built(option):
                self.missing.add((root, ''))
                dc.log('%s: not built (%s), not probed' % (module, option))
                continue
            if not os.path.isdir(root):
                self.missing.add((root, ''))
                self.fail('%s is missing (%s=y)' % (root, option))
                continue
            for rel in expand(pattern):
                self.probe(root, rel, mode)
        tracer = self.tracepoints()
        try:
            self.run_kdamond(tracer)
        finally:
            if tracer:
                tracer.close()
        dc.log('probed %d files and directories' % len(self.probed))
        self.log_unlisted(dc.ADMIN)
        for module in sorted({p[0] for p in PARAMS}):
            root = '/sys/module/%s/parameters' % module
            if os.path.isdir(root):
                self.log_unlisted(root)


class Tracer:
    """The damon events in a trace instance of our own."""

    def __init__(self, chk, names):
        self.chk = chk
        self.names = names
        self.dir = os.path.join(dc.TRACING, 'instances', TRACE_INSTANCE)
        if os.path.isdir(self.dir):
            os.rmdir(self.dir)
        os.mkdir(self.dir)
        for name in names:
            self._set('events/damon/%s/enable' % name, '1')
        self._set('tracing_on', '1')

    def _set(self, rel, val):
        with open(os.path.join(self.dir, rel), 'w') as f:
            f.write(val)

    def seen(self):
        """The events among names the instance has recorded."""
        with open(os.path.join(self.dir, 'trace')) as f:
            text = f.read()
        return {n for n in self.names if ' %s: ' % n in text}

    def wait_all(self, timeout):
        dc.wait_for(lambda: self.seen() == set(self.names), timeout, 0.5)
        for name in self.names:
            self.chk.expect(name in self.seen(), 'tracepoint damon:%s did '
                            'not fire within %d s of on' % (name, timeout))

    def close(self):
        try:
            self._set('tracing_on', '0')
            for name in self.names:
                self._set('events/damon/%s/enable' % name, '0')
        except OSError:
            pass
        if os.path.isdir(self.dir):
            os.rmdir(self.dir)


def main():
    return dc.run(lambda chk: Features(chk).run())


if __name__ == '__main__':
    sys.exit(main())
