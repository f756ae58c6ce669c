#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make series: turn this repository's history into a postable series.

The repository mirrors the kernel tree and mixes kernel commits with the
harness (tools/damon, the top-level Makefile, ...).  This script builds a
real kernel git repository (build/series-repo by default):

  base-tarball  the unpacked linux-source-6.12 tarball, unchanged;
  base          the base's own DAMON removed, with the lines that hook it
                into files we do not ship (see BASE_HOOKS);
  series        one commit per patch of tools/damon/series/recipe;

and writes `git format-patch` output with a cover letter to build/series.

How a patch is made (the recipe says which commits go where):

- A code patch ("take" lines) replays the named commits, limited to kernel
  paths, in history order, as three-way merges of each commit's change
  into the series so far.  Patches are applied in recipe order, so a fix
  can be folded into the patch it fixes; a fix that does not merge there
  is reported as a conflict, and the recipe must place it later.
- A files patch ("files" lines) sets every path it names (a directory, a
  glob or a file) to its state at main's head: documentation, samples
  and selftests come after all code and carry only their final form.
  A selftests Makefile named by "list" keeps, until the last of these
  patches, only the lines of the tests already in the tree.
- Base files outside our paths follow: the lines of BASE_HOOKS come back
  with the file that triggers them, samples/Kconfig and samples/Makefile
  gain samples/damon with its Kconfig, and our MAINTAINERS entry (a
  fragment in this repository) takes the place of the base's.
- Every kernel change of every commit must be claimed exactly once, and
  the series must end at exactly main's kernel files; otherwise this fails
  and says which commits or files are out of place.
- A fix moved before commits it was written on top of may conflict with
  them.  Such a conflict is resolved as tools/damon/series/resolutions/
  records it: a file there gives the two sides of a conflicting hunk
  ("%%% ours", the series so far, and "%%% theirs", the commit), the
  lines after it that the resolution replaces too ("%%% then", optional)
  and what to put instead ("%%% resolved").  A conflict nothing resolves
  stops the run and leaves a template in build/series-conflicts/.
"""

import fcntl
import fnmatch
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
BUILD = os.environ.get('BUILD', os.path.join(REPO, 'build'))
SREPO = os.environ.get('SERIES_REPO', os.path.join(BUILD, 'series-repo'))
OUT = os.environ.get('SERIES_OUT', os.path.join(BUILD, 'series'))
TARBALL = os.environ.get('TARBALL', '/usr/src/linux-source-6.12.tar.xz')
RECIPE = os.path.join(HERE, 'recipe')
COVER = os.path.join(HERE, 'cover-letter')
RESOLUTIONS = os.path.join(HERE, 'resolutions')
BENCH_TABLES = os.environ.get('BENCH_TABLES',
                              os.path.join(HERE, 'bench-tables.md'))
SOURCE_REF = os.environ.get('SERIES_SOURCE', 'HEAD')
MAIN_REF = 'refs/damon/main'
ZERO = '0' * 40

# Bump when the base construction below changes, to rebuild the base.
BASE_VERSION = '1'

# The base's DAMON, removed by path (never read: clean-room rule), as in
# tools/damon/prepare-tree.sh.
BASE_DAMON = [
    'mm/damon', 'include/linux/damon.h', 'include/trace/events/damon.h',
    'samples/damon', 'tools/testing/selftests/damon',
    'Documentation/mm/damon', 'Documentation/admin-guide/mm/damon',
    'Documentation/ABI/testing/sysfs-kernel-mm-damon',
    'Documentation/translations/zh_CN/mm/damon',
    'Documentation/translations/zh_CN/admin-guide/mm/damon',
    'Documentation/translations/zh_TW/admin-guide/mm/damon',
]

# Lines of base files we do not ship that hook DAMON in: (file, line, the
# path whose presence brings the line back).  The base commit drops them,
# and the patch that adds the path restores the line at its place, so
# that every commit of the series configures, builds and documents only
# what it has.
BASE_HOOKS = [
    ('mm/Kconfig', 'source "mm/damon/Kconfig"', 'mm/damon/Kconfig'),
    ('mm/Makefile', 'obj-$(CONFIG_DAMON) += damon/', 'mm/damon/Makefile'),
    ('Documentation/mm/index.rst', 'damon/index',
     'Documentation/mm/damon/index.rst'),
    ('Documentation/admin-guide/mm/index.rst', 'damon/index',
     'Documentation/admin-guide/mm/damon/index.rst'),
    ('Documentation/maintainer/maintainer-entry-profile.rst',
     '../mm/damon/maintainer-profile',
     'Documentation/mm/damon/maintainer-profile.rst'),
    ('tools/testing/selftests/Makefile', 'TARGETS += damon',
     'tools/testing/selftests/damon/Makefile'),
    ('Documentation/translations/zh_CN/mm/index.rst', 'damon/index',
     'Documentation/translations/zh_CN/mm/damon/index.rst'),
    ('Documentation/translations/zh_CN/admin-guide/mm/index.rst',
     'damon/index',
     'Documentation/translations/zh_CN/admin-guide/mm/damon/index.rst'),
    ('Documentation/translations/zh_TW/admin-guide/mm/index.rst',
     'damon/index',
     'Documentation/translations/zh_TW/admin-guide/mm/damon/index.rst'),
]

# The base's MAINTAINERS entry is the block holding this line.
BASE_MAINTAINERS_MARK = 'F:\tmm/damon/'


class Fail(Exception):
    """An error to print without a traceback."""


def log(msg):
    print('series: ' + msg, file=sys.stderr, flush=True)


def git(*args, cwd=None, data=None, env=None, check=True):
    """Run git in the series repository; return its stdout as bytes."""
    full_env = None
    if env:
        full_env = dict(os.environ)
        full_env.update(env)
    p = subprocess.run(['git'] + list(args), cwd=cwd or SREPO, input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=full_env)
    if check and p.returncode:
        raise Fail('git %s: %s' % (' '.join(args[:3]),
                                   p.stderr.decode(errors='replace').strip()))
    return p.stdout


def gits(*args, **kw):
    return git(*args, **kw).decode().strip()


# ---------------------------------------------------------------------------
# The base repository

def tarball_version():
    p = subprocess.run(['dpkg-query', '-W', '-f=${Version}',
                        'linux-source-6.12'], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    return p.stdout.decode().strip() or 'unknown'


def base_stamp():
    st = os.stat(TARBALL)
    return '%s %s %d %d\n' % (BASE_VERSION, os.path.basename(TARBALL),
                              st.st_size, int(st.st_mtime))


def base_identity(date):
    return {
        'GIT_AUTHOR_NAME': 'linux-source-6.12', 'GIT_AUTHOR_EMAIL': '',
        'GIT_COMMITTER_NAME': 'linux-source-6.12',
        'GIT_COMMITTER_EMAIL': '',
        'GIT_AUTHOR_DATE': date, 'GIT_COMMITTER_DATE': date,
    }


def kernel_version(tree):
    vals = {}
    with open(os.path.join(tree, 'Makefile')) as f:
        for line in f:
            m = re.match(r'(VERSION|PATCHLEVEL|SUBLEVEL) = (\d+)', line)
            if m:
                vals[m.group(1)] = m.group(2)
            if len(vals) == 3:
                break
    return '%s.%s.%s' % (vals['VERSION'], vals['PATCHLEVEL'], vals['SUBLEVEL'])


def strip_maintainers(text):
    """The base's MAINTAINERS without its DAMON entry, and where it was."""
    lines = text.split('\n')
    mark = lines.index(BASE_MAINTAINERS_MARK)
    start = mark
    while lines[start - 1] != '':
        start -= 1
    end = mark
    while lines[end] != '':
        end += 1
    # The entry and the blank line after it.
    return '\n'.join(lines[:start] + lines[end + 1:])


def drop_hook_lines(path, text, present):
    """path's text without the hook lines whose trigger is not present."""
    out = []
    for line in text.split('\n'):
        drop = False
        for f, hook, trigger in BASE_HOOKS:
            if f == path and line.strip() == hook and trigger not in present:
                drop = True
        if not drop:
            out.append(line)
    return '\n'.join(out)


def build_base():
    """Create the base repository unless it is up to date."""
    stamp_path = os.path.join(SREPO, '.git', 'damon-base-stamp')
    want = base_stamp()
    try:
        with open(stamp_path) as f:
            if f.read() == want:
                return
    except OSError:
        pass

    log('building the base repository in %s (once; a few minutes)' % SREPO)
    if os.path.exists(SREPO):
        shutil.rmtree(SREPO)
    tmp = SREPO + '.unpacking'
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    os.makedirs(tmp)
    subprocess.run(['tar', '-xf', TARBALL, '-C', tmp,
                    '--strip-components=1'], check=True)
    os.rename(tmp, SREPO)

    git('init', '-q', '-b', 'linux')
    git('config', 'gc.auto', '0')
    git('config', 'core.quotepath', 'false')
    date = '%d +0000' % int(os.stat(TARBALL).st_mtime)
    env = base_identity(date)
    version = kernel_version(SREPO)
    git('add', '-f', '-A', '.')
    git('commit', '-q', '--no-verify', '-m',
        'Linux %s (Debian linux-source-6.12 %s)\n\n'
        'The unpacked %s, unchanged.'
        % (version, tarball_version(), TARBALL), env=env)
    git('tag', '-f', 'base-tarball')

    git('rm', '-r', '-q', '--ignore-unmatch', '--', *BASE_DAMON)
    for path, hook, _trigger in BASE_HOOKS:
        full = os.path.join(SREPO, path)
        with open(full) as f:
            text = f.read()
        if hook not in [ln.strip() for ln in text.split('\n')]:
            raise Fail('%s no longer holds "%s"; update BASE_HOOKS' %
                       (path, hook))
        with open(full, 'w') as f:
            f.write(drop_hook_lines(path, text, set()))
    full = os.path.join(SREPO, 'MAINTAINERS')
    with open(full) as f:
        text = f.read()
    with open(full, 'w') as f:
        f.write(strip_maintainers(text))
    git('add', '-u')
    git('commit', '-q', '--no-verify', '-m',
        'mm: remove DAMON\n\n'
        'The series on top adds DAMON back as a new implementation.  Remove\n'
        'the base\'s own first: mm/damon, its headers, samples and\n'
        'selftests, its documentation (translations included) and ABI\n'
        'file, its MAINTAINERS entry, and the lines of Kconfig, Makefiles\n'
        'and documentation indexes that refer to them.', env=env)
    git('tag', '-f', 'base')
    with open(stamp_path, 'w') as f:
        f.write(want)
    log('base ready: %s' % gits('rev-parse', '--short', 'base'))


# ---------------------------------------------------------------------------
# The recipe

class Patch:
    def __init__(self, name, line):
        self.name = name
        self.line = line
        self.subject = None
        self.body = []
        self.takes = []     # (commit, [paths], comment, line number)
        self.files = []     # path prefixes


class Recipe:
    def __init__(self):
        self.harness = []
        self.patches = []
        self.lists = set()


def under(path, prefix):
    if prefix.endswith('/'):
        return path.startswith(prefix)
    return path == prefix or path.startswith(prefix + '/')


def parse_recipe(path):
    r = Recipe()
    cur = None
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip('\n')
            if line.startswith('\t') or line.startswith('    '):
                if cur is None or cur.subject is None:
                    raise Fail('%s:%d: body text outside a patch' % (path, n))
                cur.body.append(line[1:] if line.startswith('\t')
                                else line[4:])
                continue
            if not line.strip() or line.lstrip().startswith('#'):
                if cur is not None and cur.body and not line.strip():
                    cur.body.append('')
                continue
            word, _, rest = line.partition(' ')
            rest = rest.strip()
            if word == 'harness':
                r.harness += rest.split()
            elif word == 'list':
                r.lists.update(rest.split())
            elif word == 'patch':
                cur = Patch(rest, n)
                r.patches.append(cur)
            elif cur is None:
                raise Fail('%s:%d: "%s" outside a patch' % (path, n, word))
            elif word == 'subject':
                cur.subject = rest
            elif word == 'take':
                spec, _, comment = rest.partition('#')
                words = spec.split()
                if not words:
                    raise Fail('%s:%d: take what?' % (path, n))
                cur.takes.append((words[0], words[1:], comment.strip(), n))
            elif word == 'files':
                cur.files += rest.split()
            else:
                raise Fail('%s:%d: unknown keyword "%s"' % (path, n, word))
    for p in r.patches:
        while p.body and not p.body[-1]:
            p.body.pop()
        if not p.subject or not p.body:
            raise Fail('%s:%d: patch %s needs a subject and a body'
                       % (path, p.line, p.name))
        if p.takes and p.files:
            raise Fail('%s:%d: patch %s both takes commits and files'
                       % (path, p.line, p.name))
        for ln in [p.subject] + p.body:
            if len(ln) > 75:
                raise Fail('%s: patch %s: line longer than 75 columns: %s'
                           % (path, p.name, ln))
    return r


# ---------------------------------------------------------------------------
# History

class Change:
    def __init__(self, commit, path, old, new):
        self.commit = commit
        self.path = path
        self.old = old      # (mode, sha) or None
        self.new = new


def main_history():
    """Main's commits, oldest first, with their changed files."""
    revs = gits('rev-list', '--reverse', '--topo-order', '--parents',
                MAIN_REF).split('\n')
    commits = []
    for line in revs:
        ids = line.split()
        if len(ids) > 2:
            raise Fail('merge commit %s: series.py replays a linear history'
                       % ids[0][:12])
        c = ids[0]
        out = git('diff-tree', '-r', '-z', '--no-renames', '--root',
                  '--no-commit-id', c).decode()
        fields = out.split('\0')
        changes = []
        for meta, path in zip(fields[0::2], fields[1::2]):
            omode, nmode, osha, nsha, _status = meta[1:].split()
            old = None if osha == ZERO else (omode, osha)
            new = None if nsha == ZERO else (nmode, nsha)
            changes.append(Change(c, path, old, new))
        commits.append((c, changes))
    return commits


def subject_of(c):
    return gits('log', '-1', '--format=%s', c)


def tree_files(rev):
    out = git('ls-tree', '-r', '-z', rev)
    files = {}
    for rec in out.split(b'\0'):
        if not rec:
            continue
        meta, path = rec.decode().split('\t', 1)
        mode, _type, sha = meta.split()
        files[path] = (mode, sha)
    return files


# ---------------------------------------------------------------------------
# Building the series

def blob(sha):
    return git('cat-file', 'blob', sha)


def write_blob(data):
    return gits('hash-object', '-w', '--stdin', data=data)


MARK = 15      # conflict marker size: no line of code starts with 15 '<'


def resolution_key(ours, theirs):
    return hashlib.sha1(ours + b'\0' + theirs).hexdigest()[:16]


def load_resolutions():
    """The recorded resolutions: key of the conflict -> resolved text."""
    res = {}
    if not os.path.isdir(RESOLUTIONS):
        return res
    for name in sorted(os.listdir(RESOLUTIONS)):
        path = os.path.join(RESOLUTIONS, name)
        parts = {}
        cur = None
        with open(path, 'rb') as f:
            for line in f:
                m = re.match(rb'%%% (ours|theirs|then|resolved)\n$', line)
                if m:
                    cur = m.group(1).decode()
                    parts[cur] = b''
                elif cur:
                    parts[cur] += line
        if set(parts) - {'then'} != {'ours', 'theirs', 'resolved'}:
            raise Fail('%s: needs "%%%%%% ours", "%%%%%% theirs" and '
                       '"%%%%%% resolved" sections' % path)
        res[resolution_key(parts['ours'], parts['theirs'])] = \
            (parts['resolved'], parts.get('then', b''), name)
    return res


def merge3(ours, base, theirs, resolutions):
    """Three-way merge of blobs, conflicts resolved as recorded.

    Return the sha of the result and the conflicts no recorded resolution
    covers, as (ours, theirs) texts.
    """
    with tempfile.TemporaryDirectory() as d:
        names = []
        for name, sha in (('ours', ours), ('base', base),
                          ('theirs', theirs)):
            p = os.path.join(d, name)
            with open(p, 'wb') as f:
                f.write(blob(sha))
            names.append(p)
        p = subprocess.run(['git', 'merge-file', '-p', '-q',
                            '--marker-size=%d' % MARK] + names,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode < 0:
            raise Fail('git merge-file failed')
    out, unresolved = [], []
    side = None
    skip, skip_by = b'', None
    for line in p.stdout.splitlines(keepends=True):
        if skip:
            # A resolution that also replaces the lines after its conflict.
            if side is None and skip.startswith(line):
                skip = skip[len(line):]
                continue
            raise Fail('resolution %s: the lines after the conflict are '
                       'not those of its "%%%%%% then"' % skip_by)
        if side is None and line.startswith(b'<' * MARK + b' '):
            side, mine, other = 'ours', b'', b''
        elif side == 'ours' and line.rstrip(b'\n') == b'=' * MARK:
            side = 'theirs'
        elif side == 'theirs' and line.startswith(b'>' * MARK + b' '):
            side = None
            key = resolution_key(mine, other)
            if key in resolutions:
                resolved, skip, skip_by = resolutions[key]
                out.append(resolved)
            else:
                unresolved.append((mine, other))
                out.append(other)
        elif side == 'ours':
            mine += line
        elif side == 'theirs':
            other += line
        else:
            out.append(line)
    if skip:
        raise Fail('resolution %s: the file ends before its "%%%%%% then"'
                   % skip_by)
    return write_blob(b''.join(out)), unresolved


def record_conflicts(p, ch, unresolved):
    """Write a resolution template per conflict; return where."""
    d = os.path.join(BUILD, 'series-conflicts')
    os.makedirs(d, exist_ok=True)
    paths = []
    for i, (mine, other) in enumerate(unresolved, 1):
        path = os.path.join(d, '%s-%s-%s-%d' % (
            p.name, ch.commit[:12], os.path.basename(ch.path), i))
        with open(path, 'wb') as f:
            f.write(('# %s %s: %s, in patch %s.\n'
                     '# Write below "%%%%%% resolved" what the series should '
                     'have here, then\n'
                     '# copy this file to tools/damon/series/resolutions/.\n'
                     % (ch.commit[:12], subject_of(ch.commit), ch.path,
                        p.name)).encode())
            f.write(b'%%% ours\n' + mine + b'%%% theirs\n' + other +
                    b'%%% resolved\n' + other)
        paths.append(path)
    return paths


def apply_change(state, ch, resolutions):
    """Merge one commit's change of one file into state.

    Return None, or why it does not apply: a string, or the list of
    conflicts no recorded resolution covers.
    """
    cur = state.get(ch.path)
    if ch.new is None:
        if cur is None or cur[1] == ch.old[1]:
            state.pop(ch.path, None)
            return None
        return 'deleted here, but changed by a commit placed earlier'
    if ch.old is None:
        if cur is None or cur[1] == ch.new[1]:
            state[ch.path] = ch.new
            return None
        return 'added here, but already added differently'
    if cur is None:
        return 'changed here, but the file comes with a later patch'
    if cur[1] == ch.old[1]:
        state[ch.path] = ch.new
        return None
    if cur[1] == ch.new[1]:
        return None
    sha, unresolved = merge3(cur[1], ch.old[1], ch.new[1], resolutions)
    if unresolved:
        return unresolved
    state[ch.path] = (ch.new[0], sha)
    return None


def filter_list(data, present_names):
    """A list file (Makefile) keeping only lines whose files exist."""
    out = []
    for line in data.decode().split('\n'):
        m = re.match(r'\s*TEST_[A-Z_]+\s*[:+]?=\s*(\S+)\s*$', line)
        if m and m.group(1) not in present_names:
            continue
        out.append(line)
    return '\n'.join(out).encode()


def samples_hooks(base_files, ours):
    """samples/Kconfig and samples/Makefile, hooked to samples/damon."""
    res = {}
    kconfig = base_files['samples/Kconfig']
    makefile = base_files['samples/Makefile']
    k = ours.get('samples/damon/Kconfig')
    if k is None:
        return {'samples/Kconfig': kconfig, 'samples/Makefile': makefile}
    text = blob(kconfig[1]).decode()
    anchor = 'source "samples/rust/Kconfig"\n'
    if anchor not in text:
        raise Fail('samples/Kconfig lost its rust line; update series.py')
    text = text.replace(anchor, anchor + '\nsource "samples/damon/Kconfig"\n',
                        1)
    res['samples/Kconfig'] = (kconfig[0], write_blob(text.encode()))
    syms = re.findall(r'^config (SAMPLE_DAMON_\w+)', blob(k[1]).decode(),
                      re.M)
    text = blob(makefile[1]).decode()
    for s in syms:
        head = 'obj-$(CONFIG_%s)' % s
        tabs = max(1, (40 - len(head) + 7) // 8)
        text += head + '\t' * tabs + '+= damon/\n'
    res['samples/Makefile'] = (makefile[0], write_blob(text.encode()))
    return res


class Series:
    def __init__(self, recipe):
        self.recipe = recipe
        self.base_files = tree_files('base')
        self.orig_files = tree_files('base-tarball')
        self.hook_cache = {}

    def materialize(self, ours):
        """The files of the series tree that depend on our state."""
        tree = {}
        for path, v in ours.items():
            if path == 'MAINTAINERS':
                continue
            tree[path] = v
        present = set(ours)
        for path, _hook, _trigger in BASE_HOOKS:
            if path in tree:
                continue
            orig = self.orig_files[path]
            key = (path, tuple(sorted(t for f, _h, t in BASE_HOOKS
                                      if f == path and t in present)))
            if key not in self.hook_cache:
                text = drop_hook_lines(path, blob(orig[1]).decode(),
                                       present)
                self.hook_cache[key] = (orig[0], write_blob(text.encode()))
            tree[path] = self.hook_cache[key]
        tree.update(samples_hooks(self.base_files, ours))
        tree['MAINTAINERS'] = self.maintainers(ours.get('MAINTAINERS'))
        return tree

    def maintainers(self, ours):
        """The base's MAINTAINERS with our entry where the base had its."""
        base = self.base_files['MAINTAINERS']
        if ours is None:
            return base
        entry = blob(ours[1]).decode().strip('\n').split('\n')
        orig = blob(self.orig_files['MAINTAINERS'][1]).decode().split('\n')
        end = orig.index(BASE_MAINTAINERS_MARK)
        while orig[end] != '':
            end += 1
        following = orig[end + 1]
        lines = blob(base[1]).decode().split('\n')
        at = lines.index(following)
        lines[at:at] = entry + ['']
        return (base[0], write_blob('\n'.join(lines).encode()))


def files_match(path, pattern):
    """How specifically pattern names path: 3 exact, 2 glob, 1 prefix."""
    if path == pattern:
        return 3
    if any(ch in pattern for ch in '*?['):
        return 2 if fnmatch.fnmatchcase(path, pattern) else 0
    return 1 if under(path, pattern) else 0


def classify(recipe, path):
    """('harness'|'files'|'code', the files patch owning path)."""
    for h in recipe.harness:
        if under(path, h):
            return 'harness', None
    best, owners = 0, []
    for p in recipe.patches:
        for f in p.files:
            score = files_match(path, f)
            if score > best:
                best, owners = score, [p]
            elif score and score == best and p not in owners:
                owners.append(p)
    if len(owners) > 1:
        raise Fail('%s is named as specifically by files patches %s'
                   % (path, ', '.join(p.name for p in owners)))
    if owners:
        return 'files', owners[0]
    return 'code', None


def plan(recipe, commits):
    """Map every kernel change to its patch; raise Fail on any gap."""
    errors = []
    full = {}
    for c, _ch in commits:
        full[c] = c
    resolved = {}
    for p in recipe.patches:
        for spec, paths, comment, n in p.takes:
            m = [c for c in full if c.startswith(spec)]
            if len(m) != 1:
                errors.append('recipe:%d: %s names %d commits of main'
                              % (n, spec, len(m)))
                continue
            c = m[0]
            if comment and subject_of(c) != comment:
                errors.append('recipe:%d: %s is "%s", not "%s"'
                              % (n, spec, subject_of(c), comment))
            resolved.setdefault(c, []).append((p, paths, n))

    claims = {}     # (commit, path) -> patch
    kinds = {}
    pending = []
    for c, changes in commits:
        for ch in changes:
            kind = classify(recipe, ch.path)[0]
            kinds[(c, ch.path)] = kind
            if kind != 'code':
                continue
            owners = []
            for p, paths, _n in resolved.get(c, []):
                if not paths or any(under(ch.path, x) for x in paths):
                    owners.append(p)
            if len(owners) == 1:
                claims[(c, ch.path)] = owners[0]
            elif not owners:
                pending.append((c, ch.path))
            else:
                errors.append('%s %s is taken by patches %s'
                              % (c[:12], ch.path,
                                 ', '.join(o.name for o in owners)))
    for c, rules in resolved.items():
        for p, paths, n in rules:
            for x in paths:
                if not any(cc == c and under(path, x) and
                           kinds.get((cc, path)) == 'code'
                           for (cc, path) in kinds):
                    errors.append('recipe:%d: %s changes no kernel code '
                                  'under %s' % (n, c[:12], x))
            if not paths and not any(
                    cc == c and k == 'code' for (cc, _p), k in kinds.items()):
                errors.append('recipe:%d: %s changes no kernel code'
                              % (n, c[:12]))
    if pending:
        by_commit = {}
        for c, path in pending:
            by_commit.setdefault(c, []).append(path)
        msg = ['commits that no patch of the recipe takes (add a "take" '
               'line for each to %s):' % os.path.relpath(RECIPE, REPO)]
        for c in [c for c, _ in commits if c in by_commit]:
            msg.append('  %s %s' % (c[:12], subject_of(c)))
            for path in by_commit[c]:
                msg.append('      %s' % path)
        errors.append('\n'.join(msg))
    if errors:
        raise Fail('the recipe does not fit main:\n' + '\n'.join(errors))
    return claims


def conflict_report(recipe, commits, claims, p, c, ch, err):
    """Say why c does not fit patch p, and which commits it needs."""
    order = [x for x, _ in commits]
    pos = {q: i for i, q in enumerate(recipe.patches)}
    later = []
    for x, changes in commits[:order.index(c)]:
        for y in changes:
            q = claims.get((x, y.path))
            if y.path == ch.path and q is not None and pos[q] > pos[p]:
                later.append('  %s %s (patch %s)'
                             % (x[:12], subject_of(x), q.name))
    msg = ['patch %s: %s %s' % (p.name, c[:12], subject_of(c)),
           '  %s: %s' % (ch.path, err)]
    if later:
        msg.append('it builds on these earlier commits, which the recipe '
                   'places in later patches:')
        msg += later
    msg.append('place it in a later patch, the commits above earlier, or '
               'record a resolution in tools/damon/series/resolutions/')
    return '\n'.join(msg)


def patch_date(commits):
    return gits('log', '-1', '--format=%ad', '--date=raw', commits[-1]) \
        if commits else None


def update_index(env, old, new):
    lines = []
    for path in sorted(set(old) | set(new)):
        o, n = old.get(path), new.get(path)
        if o == n:
            continue
        if n is None:
            lines.append('0 %s\t%s' % (ZERO, path))
        else:
            lines.append('%s %s\t%s' % (n[0], n[1], path))
    if lines:
        git('update-index', '--index-info',
            data=('\n'.join(lines) + '\n').encode(), env=env)
    return len(lines)


def identity():
    """Who signs the series: SERIES_NAME/EMAIL, git's user, or main's."""
    name = os.environ.get('SERIES_NAME') or \
        gits('config', 'user.name', cwd=REPO, check=False) or \
        gits('log', '-1', '--format=%an', MAIN_REF)
    email = os.environ.get('SERIES_EMAIL') or \
        gits('config', 'user.email', cwd=REPO, check=False) or \
        gits('log', '-1', '--format=%ae', MAIN_REF)
    return name, email


def build_series(recipe):
    head = gits('rev-parse', '--verify', SOURCE_REF + '^{commit}', cwd=REPO)
    git('fetch', '-q', '--no-tags', REPO, '+HEAD:refs/damon/head',
        '+refs/heads/*:refs/damon/heads/*')
    git('update-ref', MAIN_REF, head)
    commits = main_history()
    claims = plan(recipe, commits)
    series = Series(recipe)
    resolutions = load_resolutions()
    shutil.rmtree(os.path.join(BUILD, 'series-conflicts'), ignore_errors=True)
    head_files = tree_files(MAIN_REF)
    kernel_head = {p: v for p, v in head_files.items()
                   if classify(recipe, p)[0] != 'harness'}

    name, email = identity()
    index = os.path.join(SREPO, '.git', 'series-index')
    env = {'GIT_INDEX_FILE': index}
    git('read-tree', 'base', env=env)
    parent = gits('rev-parse', 'base')
    ours = {}
    tree_state = series.materialize(ours)
    errors = []
    made = []
    files_started = False
    for p in recipe.patches:
        used = []
        if p.takes:
            if files_started:
                raise Fail('patch %s takes commits after a files patch'
                           % p.name)
            for c, changes in commits:
                mine = [ch for ch in changes if claims.get((c, ch.path)) is p]
                if mine:
                    used.append(c)
                for ch in mine:
                    err = apply_change(ours, ch, resolutions)
                    if isinstance(err, list):
                        files = record_conflicts(p, ch, err)
                        err = ('%d conflicting hunk(s); resolution '
                               'templates:\n    %s'
                               % (len(err), '\n    '.join(files)))
                    if err:
                        raise Fail(conflict_report(recipe, commits, claims,
                                                   p, c, ch, err))
        else:
            files_started = True
            for path, v in kernel_head.items():
                if classify(recipe, path)[1] is p:
                    ours[path] = v
            for c, changes in commits:
                if any(classify(recipe, ch.path)[1] is p for ch in changes):
                    used.append(c)
        # A list file (a selftests Makefile) names files of its directory:
        # keep only the lines naming files the tree has so far.
        for lf in recipe.lists:
            if lf in ours and lf in kernel_head:
                d = os.path.dirname(lf)
                names = {os.path.basename(x) for x in ours
                         if os.path.dirname(x) == d}
                names |= {os.path.splitext(x)[0] for x in names}
                data = filter_list(blob(kernel_head[lf][1]), names)
                ours[lf] = (kernel_head[lf][0], write_blob(data))
        new_state = series.materialize(ours)
        if not update_index(env, tree_state, new_state):
            errors.append('patch %s changes nothing' % p.name)
            continue
        tree_state = new_state
        tree = gits('write-tree', env=env)
        msg = p.subject + '\n\n' + '\n'.join(p.body) + \
            '\n\nSigned-off-by: %s <%s>\n' % (name, email)
        date = patch_date(used) or gits('log', '-1', '--format=%ad',
                                        '--date=raw', MAIN_REF)
        cenv = {'GIT_AUTHOR_NAME': name, 'GIT_AUTHOR_EMAIL': email,
                'GIT_COMMITTER_NAME': name, 'GIT_COMMITTER_EMAIL': email,
                'GIT_AUTHOR_DATE': date, 'GIT_COMMITTER_DATE': date}
        parent = gits('commit-tree', tree, '-p', parent, data=msg.encode(),
                      env=cenv)
        made.append((p, parent))

    diff = [p for p in sorted(set(kernel_head) | set(ours))
            if kernel_head.get(p) != ours.get(p)]
    if diff:
        errors.append('the series does not end at main\'s kernel files:\n'
                      + '\n'.join('  ' + p for p in diff))
    if errors:
        raise Fail('cannot build the series:\n' + '\n'.join(errors))
    git('update-ref', 'refs/heads/series', parent)
    git('update-ref', 'refs/damon/series-source', head)
    return head, made


# ---------------------------------------------------------------------------
# Output

def cover_description(head, made):
    with open(COVER) as f:
        text = f.read()
    text = '\n'.join(ln for ln in text.split('\n')
                     if not ln.startswith('#')).strip('\n') + '\n'
    try:
        with open(BENCH_TABLES) as f:
            tables = f.read().strip('\n')
    except OSError:
        log('warning: %s not found, the cover letter says so'
            % BENCH_TABLES)
        tables = textwrap.fill('[The bench tables go here: %s was missing '
                               'when this series was generated.]'
                               % os.path.relpath(BENCH_TABLES, REPO), 72)
    base = gits('log', '-1', '--format=%s', 'base-tarball')
    files = tree_files(MAIN_REF)

    def text_of(path):
        return blob(files[path][1]).decode() if path in files else ''

    suites = []
    for path in sorted(files):
        if path.startswith('mm/damon/tests/') and path.endswith('.h'):
            suites += re.findall(r'^\s*\.name = "([^"]+)"', text_of(path),
                                 re.M)
    progs = re.findall(r'^TEST_PROGS\s*[:+]?=',
                       text_of('tools/testing/selftests/damon/Makefile'),
                       re.M)
    sysfs = sum(text_of(p).count('\n') for p in files
                if re.match(r'mm/damon/sysfs[^/]*\.[ch]$', p))
    subs = {
        '@BASE@': base,
        '@SOURCE@': head[:12],
        '@NR_PATCHES@': str(len(made)),
        '@KUNIT_SUITES@': ', '.join(suites),
        '@NR_SELFTESTS@': str(len(progs)),
        '@SYSFS_LINES@': '{:,}'.format(sysfs),
    }
    # Fill the paragraphs and list items, re-wrapping those that had a
    # short placeholder; the bench tables go in as they are.
    paras = []
    for para in text.split('\n\n'):
        if para.strip() == '@BENCH_TABLES@':
            paras.append(tables)
            continue
        items = []
        for line in para.split('\n'):
            if line.startswith('- ') or not items:
                items.append([line])
            else:
                items[-1].append(line)
        out = []
        for item in items:
            raw = '\n'.join(item)
            filled = raw
            for k, v in subs.items():
                filled = filled.replace(k, v)
            if filled != raw:
                bullet = raw.startswith('- ')
                words = ' '.join(filled.split())
                filled = textwrap.fill(
                    words[2:] if bullet else words, 72,
                    initial_indent='- ' if bullet else '',
                    subsequent_indent='  ' if bullet else '',
                    break_on_hyphens=False, break_long_words=False,
                    fix_sentence_endings=True)
            out.append(filled)
        paras.append('\n'.join(out))
    return '\n\n'.join(paras)


def write_patches(head, made):
    desc = cover_description(head, made)
    git('config', 'branch.series.description', desc)
    if os.path.isdir(OUT):
        for f in os.listdir(OUT):
            if f.endswith('.patch'):
                os.unlink(os.path.join(OUT, f))
    os.makedirs(OUT, exist_ok=True)
    args = ['format-patch', '-q', '-M', '--cover-letter',
            '--cover-from-description=subject', '--base=base',
            '--no-signature', '-o', OUT]
    if os.environ.get('SERIES_VERSION'):
        args += ['-v', os.environ['SERIES_VERSION']]
    if os.environ.get('SERIES_PREFIX'):
        args += ['--subject-prefix=' + os.environ['SERIES_PREFIX']]
    git(*args, 'base..series')
    log('%d patches and a cover letter in %s (from main %s)'
        % (len(made), os.path.relpath(OUT, REPO), head[:12]))
    print(gits('shortlog', 'base..series'))


def main():
    if not os.path.exists(TARBALL):
        raise Fail('%s is missing (make deps installs linux-source-6.12)'
                   % TARBALL)
    recipe = parse_recipe(RECIPE)
    # Not while make series-check builds the series in the same place.
    os.makedirs(BUILD, exist_ok=True)
    lock = open(os.path.join(BUILD, '.build-series.lock'), 'w')
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        log('waiting for make series-check to finish')
        fcntl.flock(lock, fcntl.LOCK_EX)
    build_base()
    if sys.argv[1:] == ['base']:
        return
    head, made = build_series(recipe)
    write_patches(head, made)


if __name__ == '__main__':
    try:
        main()
    except Fail as e:
        print('series: ' + str(e), file=sys.stderr)
        sys.exit(1)
