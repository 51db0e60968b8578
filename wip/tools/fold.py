#!/usr/bin/env python3
"""Fold later Part 2 changes into the patch they rework, tree by tree.

usage: fold.py FROM_BRANCH OUT_BRANCH

Each operation in OPS (below) is applied in turn to the series base..FROM:
- ('fold', X, Y, files): commit X's change of `files` goes into commit Y.
  For each commit k in Y..X-1 the file becomes merge3(k, X-1, X), that is
  k's version plus X's change; a file that does not exist at k stays
  absent unless X creates it.  X keeps the rest of its change, and is
  dropped when nothing is left.  A conflict stops the tool unless
  res/fold-FILE.X (containing 'current' or 'fold': the side every
  conflict of X takes) or res/fold-FILE.X-k.py (else res/fold-FILE.X.py) resolves it (it gets the
  merge result, markers included, on stdin and prints the resolution).
- ('pin', path, src, first, last): the file at commits first..last is
  its version at commit src (undoes an edit and its revert, or brings
  test files forward).
- ('move', X, Y): commit X, message and author kept, right after Y; the
  commits in between get X's change as with 'fold'.
- ('new', after, msgfile): a new commit right after `after`, with its
  tree and the message of msgs/fold/msgfile; pins and edits fill it.
- ('edit', path, script, first, last, args...): res/script args...
  rewrites the file (stdin to stdout) at commits first..last.
Commits are named by subject; messages come from msgs/fold/<n>.txt when
the file exists (n: subject of the commit, slashes replaced).  Author and
dates are kept, so `make export` stays deterministic.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'res'))
from foldres import take as take_side  # noqa: E402

Q = '/work/main/build/qemu'
HERE = os.path.dirname(os.path.abspath(__file__))


def git(*a, inp=None, env=None):
    r = subprocess.run(['git', '-C', Q] + list(a), capture_output=True,
                       input=inp, env=env)
    if r.returncode:
        sys.exit(f"git {a}: {r.stderr.decode()}")
    return r.stdout


def blob(rev, path):
    r = subprocess.run(['git', '-C', Q, 'show', f'{rev}:{path}'],
                       capture_output=True)
    return r.stdout if r.returncode == 0 else None


def merge3(cur, base, other):
    with tempfile.TemporaryDirectory() as d:
        fc, fb, fo = (os.path.join(d, x) for x in 'cbo')
        for f, c in ((fc, cur), (fb, base), (fo, other)):
            open(f, 'wb').write(c or b'')
        r = subprocess.run(['git', 'merge-file', '-q', '-L', 'current',
                            '-L', 'base', '-L', 'fold', fc, fb, fo])
        return open(fc, 'rb').read(), r.returncode != 0


class Commit:
    def __init__(self, sha):
        self.sha = sha
        self.subject = git('log', '-1', '--format=%s', sha).decode().strip()
        self.msg = git('log', '-1', '--format=%B', sha).decode().rstrip() + '\n'
        self.author = git('log', '-1', '--format=%an%n%ae%n%ad', '--date=raw',
                          sha).decode().split('\n')
        self.over = {}   # path -> bytes or None (deleted)

    def rev(self):
        return self.sha


def content(c, path):
    return c.over[path] if path in c.over else blob(c.sha, path)


def index_of(series, subject):
    for i, c in enumerate(series):
        if c.subject.startswith(subject):
            return i
    sys.exit(f'no commit "{subject}"')


def do_fold(series, xs, ys, files):
    x = xs if isinstance(xs, int) else index_of(series, xs)
    y = ys if isinstance(ys, int) else index_of(series, ys)
    assert y < x
    X, Xp = series[x], series[x - 1]
    for f in files:
        base, other = content(Xp, f), content(X, f)
        if base == other:
            continue
        for k in range(y, x):
            cur = content(series[k], f)
            if cur is None and base is not None:
                continue
            res, bad = merge3(cur, base, other)
            if bad:
                side = os.path.join(HERE, 'res',
                                    f'fold-{os.path.basename(f)}.{x + 1}')
                if os.path.exists(side):
                    print(f'  resolved {f} at {k + 1}: {open(side).read().strip()}')
                    res = take_side(res, open(side).read().strip())
                    series[k].over[f] = res
                    continue
                script = os.path.join(HERE, 'res',
                                      f'fold-{os.path.basename(f)}.{x + 1}-{k + 1}.py')
                if not os.path.exists(script):
                    script = side + '.py'
                if not os.path.exists(script):
                    open(f'/tmp/fold-conflict-{os.path.basename(f)}.{x + 1}-{k + 1}',
                         'wb').write(res)
                    sys.exit(f'conflict: {f} folding {x + 1} into {y + 1} at {k + 1}'
                             f' ({script} missing)')
                print(f'  resolved {f} at {k + 1} with {os.path.basename(script)}')
                res = subprocess.run([sys.executable, script], input=res,
                                     capture_output=True, check=True).stdout
            series[k].over[f] = res


def changed_files(series, x):
    """The paths whose content commit @x changes."""
    X, Xp = series[x], series[x - 1]
    paths = set(X.over) | set(Xp.over) | set(
        git('diff', '--name-only', Xp.sha, X.sha).decode().split())
    return sorted(p for p in paths if content(Xp, p) != content(X, p))


def do_move(series, xs, ys):
    """Commit X, with its message and author, right after commit Y: a new
    commit there gets X's change, and so does every commit between."""
    x, y = index_of(series, xs), index_of(series, ys)
    assert y < x
    X = series[x]
    files = changed_files(series, x)
    c = Commit(series[y].sha)
    c.over = dict(series[y].over)
    c.msg, c.subject, c.author = X.msg, X.subject, X.author
    series.insert(y + 1, c)
    # X is now at x + 1; fold it into the new commit, then it is empty
    do_fold(series, x + 1, y + 1, files)
    X.subject = '(moved) ' + X.subject


def do_pin(series, path, src, first, last):
    s = index_of(series, src)
    a, b = index_of(series, first), index_of(series, last)
    for k in range(a, b + 1):
        series[k].over[path] = content(series[s], path)


def do_new(series, after, msgfile):
    """A commit right after @after with its tree and the message of @msgfile."""
    a = index_of(series, after)
    c = Commit(series[a].sha)
    c.over = dict(series[a].over)
    c.msg = open(os.path.join(HERE, 'msgs', 'fold', msgfile)).read()
    c.subject = c.msg.split('\n', 1)[0]
    c.new_msg = True
    series.insert(a + 1, c)


def do_edit(series, path, script, first, last, *args):
    a, b = index_of(series, first), index_of(series, last)
    for k in range(a, b + 1):
        series[k].over[path] = subprocess.run(
            [sys.executable, os.path.join(HERE, 'res', script)] + list(args),
            input=content(series[k], path), capture_output=True,
            check=True).stdout


def build(series, out):
    env = dict(os.environ, GIT_INDEX_FILE=os.path.join(Q, '.git', 'fold-index'))
    parent = git('rev-parse', 'base').decode().strip()
    prev_tree = git('rev-parse', 'base^{tree}').decode().strip()
    n = 0
    for c in series:
        git('read-tree', c.sha, env=env)
        for path, data in sorted(c.over.items()):
            if data is None:
                git('update-index', '--force-remove', path, env=env)
                continue
            sha = git('hash-object', '-w', '--stdin', inp=data).decode().strip()
            mode = '100644'
            git('update-index', '--add', '--cacheinfo', f'{mode},{sha},{path}',
                env=env)
        tree = git('write-tree', env=env).decode().strip()
        if tree == prev_tree:
            print(f'dropped (empty): {c.subject}')
            continue
        name = c.subject.replace('/', '_')
        mf = os.path.join(HERE, 'msgs', 'fold', name)
        msg = c.msg if getattr(c, 'new_msg', False) else \
            open(mf).read() if os.path.exists(mf) else c.msg
        cenv = dict(os.environ, GIT_AUTHOR_NAME=c.author[0],
                    GIT_AUTHOR_EMAIL=c.author[1], GIT_AUTHOR_DATE=c.author[2],
                    GIT_COMMITTER_NAME=c.author[0],
                    GIT_COMMITTER_EMAIL=c.author[1],
                    GIT_COMMITTER_DATE=c.author[2])
        parent = subprocess.run(['git', '-C', Q, 'commit-tree', tree, '-p', parent],
                                input=msg.encode(), capture_output=True, env=cenv,
                                check=True).stdout.decode().strip()
        prev_tree = tree
        n += 1
    git('update-ref', f'refs/heads/{out}', parent)
    print(f'{out}: {n} commits')


def main():
    src, out = sys.argv[1], sys.argv[2]
    shas = git('rev-list', '--reverse', f'base..{src}').decode().split()
    series = [Commit(s) for s in shas]
    ops = [l.split('\t') for l in open(os.path.join(HERE, 'fold-ops.txt'))
           if l.strip() and not l.startswith('#')]
    for op in ops:
        op = [x.strip() for x in op]
        if op[0] == 'fold':
            do_fold(series, op[1], op[2], op[3].split())
        elif op[0] == 'move':
            do_move(series, op[1], op[2])
        elif op[0] == 'new':
            do_new(series, op[1], op[2])
        elif op[0] == 'edit':
            do_edit(series, *op[1:])
        elif op[0] == 'pin':
            do_pin(series, op[1], op[2], op[3], op[4])
        else:
            sys.exit(f'bad op {op}')
        print('done:', ' | '.join(op))
    build(series, out)


main()
