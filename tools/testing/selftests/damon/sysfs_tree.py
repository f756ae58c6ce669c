#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The files of DAMON's sysfs monitoring ABI, and what writes they take.

With nr_kdamonds, nr_contexts, nr_targets and nr_regions at 1:

- every file the ABI lists for monitoring exists, config files with mode
  0600 and result files (pid, avail_operations) with mode 0400, and every
  file of the tree can be read;
- the defaults: intervals 5000/100000/60000000 us, an intervals goal of
  0s (no tuning), refresh_ms 0 (no refreshing), nr_regions 10..1000,
  operations vaddr, state off, pid -1, no contexts, targets, regions or
  schemes until asked for; avail_operations lists vaddr and fvaddr, and
  paddr, as configured.

Then, file by file:

- numbers parse with base 0 (0x10, 010), with a trailing newline, up to
  ULONG_MAX where the field is an unsigned long;
- negative numbers, numbers above ULONG_MAX, garbage and a lone newline
  fail, and a failed write leaves the value (and the children of an nr_*
  file) as they were; an empty write changes nothing;
- writing N to an nr_* file gives children 0..N-1; nr_contexts takes only
  0 and 1; a huge nr_* (1000000000) fails or is bounded, and the directory
  works afterwards;
- keywords (operations, state) match exactly, a trailing newline allowed;
  an unknown state keyword fails with EINVAL exactly; the result files
  refuse writes.
"""

import errno
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import damon_common as dc   # noqa: E402

C = 'kdamonds/0/contexts/0/'
# The monitoring part of the ABI, and the mode of each file.
FILES = {
    'kdamonds/nr_kdamonds': 0o600,
    'kdamonds/0/state': 0o600,
    'kdamonds/0/pid': 0o400,
    'kdamonds/0/refresh_ms': 0o600,
    'kdamonds/0/contexts/nr_contexts': 0o600,
    C + 'avail_operations': 0o400,
    C + 'operations': 0o600,
    C + 'monitoring_attrs/intervals/sample_us': 0o600,
    C + 'monitoring_attrs/intervals/aggr_us': 0o600,
    C + 'monitoring_attrs/intervals/update_us': 0o600,
    C + 'monitoring_attrs/intervals/intervals_goal/access_bp': 0o600,
    C + 'monitoring_attrs/intervals/intervals_goal/aggrs': 0o600,
    C + 'monitoring_attrs/intervals/intervals_goal/min_sample_us': 0o600,
    C + 'monitoring_attrs/intervals/intervals_goal/max_sample_us': 0o600,
    C + 'monitoring_attrs/nr_regions/min': 0o600,
    C + 'monitoring_attrs/nr_regions/max': 0o600,
    C + 'targets/nr_targets': 0o600,
    C + 'targets/0/pid_target': 0o600,
    C + 'targets/0/regions/nr_regions': 0o600,
    C + 'targets/0/regions/0/start': 0o600,
    C + 'targets/0/regions/0/end': 0o600,
    C + 'schemes/nr_schemes': 0o600,
}
DEFAULTS = {
    C + 'monitoring_attrs/intervals/sample_us': '5000',
    C + 'monitoring_attrs/intervals/aggr_us': '100000',
    C + 'monitoring_attrs/intervals/update_us': '60000000',
    C + 'monitoring_attrs/intervals/intervals_goal/access_bp': '0',
    C + 'monitoring_attrs/intervals/intervals_goal/aggrs': '0',
    C + 'monitoring_attrs/intervals/intervals_goal/min_sample_us': '0',
    C + 'monitoring_attrs/intervals/intervals_goal/max_sample_us': '0',
    C + 'monitoring_attrs/nr_regions/min': '10',
    C + 'monitoring_attrs/nr_regions/max': '1000',
    C + 'operations': 'vaddr',
    C + 'schemes/nr_schemes': '0',
    'kdamonds/0/state': 'off',
    'kdamonds/0/pid': '-1',
    'kdamonds/0/refresh_ms': '0',
}
ULONG_FILES = [
    'kdamonds/0/refresh_ms',
    C + 'monitoring_attrs/intervals/sample_us',
    C + 'monitoring_attrs/intervals/aggr_us',
    C + 'monitoring_attrs/intervals/update_us',
    C + 'monitoring_attrs/intervals/intervals_goal/access_bp',
    C + 'monitoring_attrs/intervals/intervals_goal/aggrs',
    C + 'monitoring_attrs/intervals/intervals_goal/min_sample_us',
    C + 'monitoring_attrs/intervals/intervals_goal/max_sample_us',
    C + 'monitoring_attrs/nr_regions/min',
    C + 'monitoring_attrs/nr_regions/max',
    C + 'targets/0/regions/0/start',
    C + 'targets/0/regions/0/end',
]
TOO_BIG = str(dc.ULONG_MAX + 1)
# Written values and what reads back.
GOOD_NUMBERS = [('0x10', '16'), ('010', '8'), ('123\n', '123'), ('0', '0'),
                ('0X1f', '31')]
# Bad values and the errors accepted for them: kstrto*() says ERANGE
# for a number that does not fit.
BAD_NUMBERS = [('-1', errno.EINVAL), ('abc', errno.EINVAL),
               ('12abc', errno.EINVAL), ('\n', errno.EINVAL),
               (' ', errno.EINVAL), ('0x', errno.EINVAL),
               ('1.5', errno.EINVAL), ('--1', errno.EINVAL),
               (TOO_BIG, (errno.EINVAL, errno.ERANGE)),
               ('99999999999999999999999999',
                (errno.EINVAL, errno.ERANGE))]
HUGE = '1000000000'


def path(rel):
    return os.path.join(dc.ADMIN, rel)


def children(directory):
    """The numbered subdirectories of directory, sorted."""
    return sorted(int(n) for n in os.listdir(directory) if n.isdigit())


class Test(dc.Checker):

    def tree(self):
        nr_kdamonds = path('kdamonds/nr_kdamonds')
        self.expect(dc.read(nr_kdamonds) == '0', 'nr_kdamonds reads %r '
                    'at start' % dc.read(nr_kdamonds))
        dc.must_write(nr_kdamonds, 1)
        for nr, what in (('kdamonds/0/contexts/nr_contexts', 'contexts'),
                         (C + 'targets/nr_targets', 'targets'),
                         (C + 'targets/0/regions/nr_regions', 'regions')):
            if not os.path.exists(path(nr)):
                self.fail('%s is missing' % nr)
                return False
            self.expect(dc.read(path(nr)) == '0',
                        'a new directory has %s %s, not 0' %
                        (dc.read(path(nr)), what))
            dc.must_write(path(nr), 1)

        for rel, mode in sorted(FILES.items()):
            try:
                st = os.stat(path(rel))
            except OSError as e:
                self.fail('%s: %s' % (rel, e.strerror))
                continue
            self.expect((st.st_mode & 0o7777) == mode,
                        '%s: mode %o, want %o' % (rel, st.st_mode & 0o7777,
                                                  mode))
        unlisted = []
        for f in dc.walk_files(dc.ADMIN):
            try:
                val = dc.read(f)
            except OSError as e:
                self.fail('%s cannot be read: %s' % (dc.rel(f), e.strerror))
                continue
            if dc.rel(f) not in FILES:
                unlisted.append('%s=%r' % (dc.rel(f), val))
        if unlisted:
            dc.log('files beyond the monitoring ABI: %s' %
                   ', '.join(unlisted))

        for rel, val in sorted(DEFAULTS.items()):
            got = dc.read(path(rel))
            self.expect(got == val, '%s: default %r, want %r' %
                        (rel, got, val))

        want = set()
        conf = dc.kernel_config()
        if conf is None:
            dc.log('no /proc/config.gz: checking only vaddr and fvaddr')
            want = {'vaddr', 'fvaddr'}
        else:
            if conf.get('CONFIG_DAMON_VADDR') == 'y':
                want |= {'vaddr', 'fvaddr'}
            if conf.get('CONFIG_DAMON_PADDR') == 'y':
                want.add('paddr')
        avail = dc.avail_operations()
        dc.log('avail_operations: %s' % avail)
        self.expect(len(avail) == len(set(avail)),
                    'avail_operations repeats itself: %s' % avail)
        if conf is None:
            self.expect(want <= set(avail), 'avail_operations %s lacks '
                        'some of %s' % (avail, sorted(want)))
        else:
            self.expect(set(avail) == want, 'avail_operations %s, want %s'
                        % (avail, sorted(want)))
        return True

    def number(self, rel, good, bad):
        """Write good [(value, reads)] and bad [(value, errnos)] values."""
        f = path(rel)
        for val, reads in good:
            err = dc.write(f, val)
            if self.expect(err == 0, '%s: writing %r failed with %s' %
                           (rel, val, dc.errno_name(err))):
                got = dc.read(f)
                self.expect(got == reads, '%s: wrote %r, reads %r, want %r'
                            % (rel, val, got, reads))
        dc.must_write(f, 7)
        for val, errs in bad:
            err = dc.write(f, val)
            self.expect_errno(err, errs, '%s: writing %r' % (rel, val))
            self.expect(dc.read(f) == '7', '%s: reads %r after a failed '
                        'write of %r, not the 7 it had' %
                        (rel, dc.read(f), val))
        err = dc.write(f, b'')
        self.expect(dc.read(f) == '7', '%s: reads %r after an empty write '
                    '(which gave %s), not 7' % (rel, dc.read(f),
                                                dc.errno_name(err)))

    def numbers(self):
        ulong = [(str(dc.ULONG_MAX), str(dc.ULONG_MAX))]
        for rel in ULONG_FILES:
            self.number(rel, GOOD_NUMBERS + ulong, BAD_NUMBERS)
        # pid_target is a pid; whether -1 is taken is not the file's
        # business (the pid is checked at on or commit).
        self.number(C + 'targets/0/pid_target', GOOD_NUMBERS,
                    [b for b in BAD_NUMBERS if b[0] != '-1'])
        f = path(C + 'targets/0/pid_target')
        err = dc.write(f, '-1')
        dc.log('pid_target: writing -1 gave %s, reads %r' %
               (dc.errno_name(err), dc.read(f)))

    def nr_file(self, nr_rel, marker_rel, good, prep=()):
        """An nr_* file: good [(value, nr)] create children 0..nr-1; bad
        values leave the children alone: child 0 is the same directory
        and still holds what marker_rel (if any, reached after the writes
        of prep) was given."""
        f = path(nr_rel)
        parent = os.path.dirname(f)
        for val, nr in good:
            err = dc.write(f, val)
            if not self.expect(err == 0, '%s: writing %r failed with %s' %
                               (nr_rel, val, dc.errno_name(err))):
                continue
            self.expect(dc.read(f) == str(nr), '%s: wrote %r, reads %r, '
                        'want %d' % (nr_rel, val, dc.read(f), nr))
            self.expect(children(parent) == list(range(nr)),
                        '%s: wrote %r, children %s, want 0..%d' %
                        (nr_rel, val, children(parent), nr - 1))

        def set_up():
            dc.must_write(f, 1)
            for rel, v in prep:
                dc.must_write(path(rel), v)
            if marker_rel:
                dc.must_write(path(marker_rel), 4242)
            return os.stat(os.path.join(parent, '0')).st_ino

        def intact():
            try:
                return (os.stat(os.path.join(parent, '0')).st_ino == ino and
                        (not marker_rel or
                         dc.read(path(marker_rel)) == '4242'))
            except OSError:
                return False

        ino = set_up()
        for val, errs in BAD_NUMBERS + [(b'', None)]:
            err = dc.write(f, val)
            if errs:
                self.expect_errno(err, errs, '%s: writing %r' % (nr_rel, val))
            self.expect(dc.read(f) == '1' and children(parent) == [0],
                        '%s: reads %r with children %s after a write of %r,'
                        ' not 1 and [0]' % (nr_rel, dc.read(f),
                                            children(parent), val))
            if not self.expect(intact(), '%s: a write of %r replaced child '
                               '0 or lost its %s' % (nr_rel, val,
                                                     marker_rel or 'dir')):
                ino = set_up()

    def huge(self, nr_rel, probe_rel, prep=()):
        """Write HUGE to an nr_* file: it may fail or be bounded, but the
        directory must work afterwards (1 child, whose probe_rel file, if
        any, reached after the writes of prep, reads back what is
        written)."""
        f = path(nr_rel)
        parent = os.path.dirname(f)
        err = dc.write(f, HUGE)
        got = dc.read(f)
        kids = children(parent)
        dc.log('%s: writing %s gave %s; it reads %s, %d children' %
               (nr_rel, HUGE, dc.errno_name(err), got, len(kids)))
        self.expect(got.isdigit() and kids == list(range(int(got))),
                    '%s: reads %r after writing %s, but has %d children' %
                    (nr_rel, got, HUGE, len(kids)))
        err = dc.write(f, 1)
        if not self.expect(err == 0, '%s: writing 1 after %s failed with %s'
                           % (nr_rel, HUGE, dc.errno_name(err))):
            return
        self.expect(children(parent) == [0], '%s: children %s after '
                    'writing 1' % (nr_rel, children(parent)))
        if not probe_rel:
            return
        for rel, val in prep:
            dc.must_write(path(rel), val)
        probe = path(probe_rel)
        dc.must_write(probe, 12345)
        self.expect(dc.read(probe) == '12345', '%s reads %r, not 12345 '
                    'after the huge %s' % (probe_rel, dc.read(probe), nr_rel))

    def nr_files(self):
        many = [('0x2', 2), ('010', 8), ('3\n', 3), ('0', 0), ('1', 1)]
        self.nr_file(C + 'targets/nr_targets', C + 'targets/0/pid_target',
                     many)
        self.nr_file(C + 'targets/0/regions/nr_regions',
                     C + 'targets/0/regions/0/end', many)
        # Schemes are beyond this test: no marker in them.
        self.nr_file(C + 'schemes/nr_schemes', None, many)
        dc.must_write(path(C + 'schemes/nr_schemes'), 0)
        self.nr_file('kdamonds/0/contexts/nr_contexts',
                     C + 'monitoring_attrs/intervals/sample_us',
                     [('0', 0), ('0x1', 1), ('0', 0), ('01', 1),
                      ('0\n', 0), ('1\n', 1)])
        f = path('kdamonds/0/contexts/nr_contexts')
        marker = path(C + 'monitoring_attrs/intervals/sample_us')
        for val in ('2', HUGE):
            err = dc.write(f, val)
            self.expect_errno(err, errno.EINVAL,
                              'nr_contexts: writing %s' % val)
            self.expect(dc.read(f) == '1' and dc.read(marker) == '4242',
                        'nr_contexts: writing %s changed the context' % val)

        # The kdamonds directory last: it takes everything with it.
        in_ctx = (('kdamonds/0/contexts/nr_contexts', 1),)
        self.nr_file('kdamonds/nr_kdamonds',
                     C + 'monitoring_attrs/intervals/aggr_us',
                     [('0x2', 2), ('0', 0), ('1\n', 1)], in_ctx)
        dc.must_write(path(C + 'targets/nr_targets'), 1)
        dc.must_write(path(C + 'targets/0/regions/nr_regions'), 1)

        self.huge(C + 'targets/0/regions/nr_regions',
                  C + 'targets/0/regions/0/start')
        self.huge(C + 'targets/nr_targets', C + 'targets/0/pid_target')
        self.huge(C + 'schemes/nr_schemes', None)
        dc.must_write(path(C + 'schemes/nr_schemes'), 0)
        self.huge('kdamonds/nr_kdamonds',
                  C + 'monitoring_attrs/intervals/aggr_us', in_ctx)

    def keywords(self):
        dc.must_write(path('kdamonds/0/contexts/nr_contexts'), 1)
        ops = path(C + 'operations')
        avail = dc.avail_operations()
        for kw in avail:
            for val in (kw, kw + '\n'):
                err = dc.write(ops, val)
                if self.expect(err == 0, 'operations: writing %r failed '
                               'with %s' % (val, dc.errno_name(err))):
                    self.expect(dc.read(ops) == kw, 'operations: wrote %r, '
                                'reads %r' % (val, dc.read(ops)))
        for kw in ('vaddr', 'fvaddr', 'paddr'):
            if kw not in avail:
                err = dc.write(ops, kw)
                dc.log('operations: writing %s, not available, gave %s' %
                       (kw, dc.errno_name(err)))
        dc.must_write(ops, 'fvaddr')
        for val in ('foo', 'VADDR', 'vaddr2', 'vadd', '\n', 'vaddr vaddr'):
            err = dc.write(ops, val)
            self.expect_errno(err, errno.EINVAL, 'operations: writing %r'
                              % val)
            self.expect(dc.read(ops) == 'fvaddr', 'operations reads %r '
                        'after a failed write of %r' % (dc.read(ops), val))
        dc.write(ops, b'')
        self.expect(dc.read(ops) == 'fvaddr', 'operations reads %r after an'
                    ' empty write' % dc.read(ops))

        st = path('kdamonds/0/state')
        for val in ('foo', 'ON', 'Off', 'of', 'onn', '\n', 'on off',
                    'commit_foo', '1'):
            err = dc.write(st, val)
            self.expect_errno(err, errno.EINVAL, 'state: writing %r' % val)
            self.expect(dc.read(st) == 'off', 'state reads %r after '
                        'writing %r' % (dc.read(st), val))
        self.expect(dc.kdamond_pid() == -1, 'pid reads %d after the bad '
                    'state writes' % dc.kdamond_pid())

        for rel in ('kdamonds/0/pid', C + 'avail_operations'):
            before = dc.read(path(rel))
            err = dc.write(path(rel), '1')
            self.expect(err != 0, '%s: a write succeeded' % rel)
            self.expect(dc.read(path(rel)) == before, '%s: reads %r after '
                        'a write, not %r' % (rel, dc.read(path(rel)),
                                             before))

    def run(self):
        if not self.tree():
            return
        self.numbers()
        self.nr_files()
        self.keywords()


def main():
    dc.check_environment()
    kmsg = dc.Kmsg()
    test = Test()
    try:
        test.run()
    except (OSError, dc.SetupError) as e:
        test.fail('unexpected error: %s' % e)
    finally:
        dc.cleanup()
    test.expect(dc.read(os.path.join(dc.KDAMONDS, 'nr_kdamonds')) == '0',
                'nr_kdamonds is not 0 at the end')
    return test.finish(kmsg)


if __name__ == '__main__':
    sys.exit(main())
