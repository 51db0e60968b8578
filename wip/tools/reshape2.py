#!/usr/bin/env python3
"""Part 2 = the old series' kept commits, rebuilt tree by tree on Part 1.

Code files at kept commit n: the old tree T_n plus every Part-1 fix whose
old patch number is above n (3-way merged).  Part-1-owned test files: the
Part 1 version plus the kept commits' changes to them.  libqos: Part 1's.
cxl.rst: unchanged until the final docs commit.
usage: reshape2.py P_TIP OUT_BRANCH [EXTRA_BEFORE_27_COMMIT]
"""
import os, re, subprocess, sys, tempfile

Q = '/work/main/build/qemu'
def git(*a, inp=None, env=None, check=True):
    r = subprocess.run(['git', '-C', Q] + list(a), capture_output=True, input=inp, env=env)
    if check and r.returncode:
        sys.exit(f"git {a}: {r.stderr.decode()}")
    return r
def out(*a, **kw): return git(*a, **kw).stdout.decode().strip()
def blob(rev, path):
    r = git('show', f'{rev}:{path}', check=False)
    return r.stdout if r.returncode == 0 else None
import functools
@functools.lru_cache(maxsize=None)
def changed(a, b): return set(out('diff', '--name-only', a, b).split())

P_TIP, OUT = sys.argv[1], sys.argv[2]
EXTRA = sys.argv[3] if len(sys.argv) > 3 else None
MOVED = {12, 16, 17, 19, 20, 21, 24, 25, 26, 28, 29, 30, 31, 32, 33, 37, 38, 39, 46}
OLD = os.environ.get('OLD_SERIES', 'v2')
old = out('rev-list', '--reverse', f'base..{OLD}').split()
T = {n: old[n - 1] for n in range(1, len(old) + 1)}
T[0] = 'base'
# Part 1 commits and the old patch each came from
by_subj = {l.split(None, 1)[1].strip(): int(l.split()[0]) for l in open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'p1-order.txt'))}
pcs = out('rev-list', '--reverse', f'base..{P_TIP}').split()
PFIX = []
for c in pcs:
    s = out('log', '-1', '--format=%s', c)
    k = 15 if s.startswith('tests/qtest/libqos') else by_subj[s]
    PFIX.append((k, c, changed(c + '^', c)))
P_OWNED = {'tests/qtest/cxl-dcd-request-test.c', 'tests/qtest/cxl-type3-limits-test.c',
           'tests/qtest/cxl-switch-cci-test.c', 'tests/qtest/cxl-dcd-mbox-test.c'}
HERE = os.path.dirname(os.path.abspath(__file__))
# hand resolutions of kept commits' test changes to part-1 test files
P_OWNED_RES = {
    # part 1's unplug test is old 35's
    ('tests/qtest/cxl-switch-cci-test.c', 35): 'skip',
    # old 40's and 41's cases are in cxl-dcd-counters-test.c
    ('tests/qtest/cxl-dcd-mbox-test.c', 40): 'skip',
    ('tests/qtest/cxl-dcd-mbox-test.c', 41): 'skip',
    # old 34's dc-size cases after part 1's cases
    ('tests/qtest/cxl-type3-limits-test.c', 34): 'cxl-type3-limits-test.c.after-34',
}
LIBQOS = {'tests/qtest/libqos/cxl.c', 'tests/qtest/libqos/cxl.h', 'tests/qtest/libqos/cxl-switch.c',
          'tests/qtest/libqos/cxl-switch.h', 'tests/qtest/libqos/meson.build'}
DOCS = 'docs/system/devices/cxl.rst'
MESON = 'tests/qtest/meson.build'
touched_old = {n: changed(T[n - 1], T[n]) for n in range(1, len(old) + 1)}

def merge3(cur, base_, other, label):
    if base_ == other:
        return cur, False
    with tempfile.TemporaryDirectory() as d:
        fc, fb, fo = (os.path.join(d, x) for x in 'cbo')
        open(fc, 'wb').write(cur or b''); open(fb, 'wb').write(base_ or b''); open(fo, 'wb').write(other or b'')
        r = subprocess.run(['git', 'merge-file', '-q', '-L', 'current', '-L', 'base', '-L', label, fc, fb, fo])
        return open(fc, 'rb').read(), r.returncode != 0

BLOCK = re.compile(rb"(#[^\n]*\n)?qtests_cxl_x86_64 = \\\n.*?\] : \[\]\)\n", re.S)
def names(t):
    m = BLOCK.search(t or b'')
    return re.findall(rb"'([\w-]+)'", m.group(0).split(b'?', 1)[1]) if m else []

conflicts = []
# old 44's Region/Length/Forced Removal test changes (part 1's fix 26),
# without its tag-region ones
FORWARD = {'tests/qtest/cxl-dcd-fm-test.c': (44, 'cxl-dcd-fm-test.c.p1-44')}
# kept commits' feature cases of part 1's cxl-dcd-mbox-test go to a file of
# their own: part 1's file sets up an untagged device
# (kept commit from which a version applies, version): old 40 is squashed
# into 11
NEW_FILES = {'tests/qtest/cxl-dcd-counters-test.c': ((11, 40), (41, 41))}
SQUASH = {11: 40, 27: 36}
# the large test files, in every version, split by the names of their tests
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import split_tests
SPLIT_FILES = {'tests/qtest/' + f: 'tests/qtest/' + name
               for name in split_tests.CONFIGS for f in split_tests.files_of(name)}
@functools.lru_cache(maxsize=None)
def split_of(n, orig):
    full = content(n, orig, raw=True)
    return None if full is None else split_tests.split(os.path.basename(orig), full.decode())

def split_meson(t):
    """the split tests in meson.build: their names, and their sources"""
    for name, cfg in split_tests.CONFIGS.items():
        base = name[:-2].encode()
        tok = b"    '%s'" % base
        if tok not in t:
            continue
        tests = [p[0][:-2].encode() for p in cfg['parts']]
        j = t.index(tok) + len(tok)
        t = t[:j] + b"".join(b",\n    '%s'" % x for x in tests if x != base) + t[j:]
        anchor = b"  'cdrom-test': files('boot-sector.c'),\n"
        assert anchor in t
        t = t.replace(anchor, anchor + b"".join(
            b"  '%s': files('%s.c', '%s.c'),\n" % (x, cfg['utils'].encode(), x)
            for x in sorted(tests)), 1)
    return t

def content(n, path, own=(), raw=False):
    """content of path in the new tree of kept commit n (None: absent)"""
    if path in SPLIT_FILES and not raw:
        parts = split_of(n, SPLIT_FILES[path])
        return None if parts is None else parts[os.path.basename(path)].encode()
    if path == MESON and not raw:
        return split_meson(content(n, path, own, raw=True))
    if path in NEW_FILES:
        have = [v for k, v in NEW_FILES[path] if k <= n]
        return open(os.path.join(HERE, 'res', f'{os.path.basename(path)}.{have[-1]}'), 'rb').read() if have else None
    if path in LIBQOS or path == DOCS:
        return blob(P_TIP, path)
    if path == MESON:
        t = blob(T[n], path)
        if not BLOCK.search(t):
            # before v2 had the block: its own changes plus part 1's
            t, bad = merge3(t, blob('base', path), blob(P_TIP, path), 'p1')
            if bad:
                conflicts.append((n, path, 'meson'))
        p1_names = names(blob(P_TIP, path))
        want = p1_names + [x for x in names(t) if x not in p1_names]
        want += [os.path.basename(p)[:-2].encode() for p, ks in NEW_FILES.items()
                 if ks[0][0] <= n and os.path.basename(p)[:-2].encode() not in want]
        block = (b"# CXL tests that act as the host and the fabric manager, on q35\n"
                 b"qtests_cxl_x86_64 = \\\n  (config_all_devices.has_key('CONFIG_CXL') ?\n   [" +
                 b",\n    ".join(b"'%s'" % x for x in want) + b"] : [])\n")
        return BLOCK.sub(lambda m: block, t, count=1)
    if path in P_OWNED:
        cur = blob(P_TIP, path)
        for j in range(1, n + 1):
            script = os.path.join(HERE, 'res', f'{os.path.basename(path)}.{j}.py')
            if j not in MOVED and os.path.exists(script):
                # a kept commit's behaviour change that a part-1 test sees
                cur = resolve_by_script(script, cur)
            if j in MOVED or path not in touched_old[j]:
                continue
            if (path, j) in P_OWNED_RES:
                res = P_OWNED_RES[(path, j)]
                cur = cur if res == 'skip' else open(os.path.join(HERE, 'res', res), 'rb').read()
                continue
            cur, bad = merge3(cur, blob(T[j - 1], path), blob(T[j], path), f'old{j}')
            if bad:
                conflicts.append((n, path, f'kept {j}'))
        return cur
    cur = blob(T[n], path)
    if path in FORWARD and n < FORWARD[path][0] and cur is not None:
        # a part-1 fix's test changes to a kept commit's test file: they
        # belong where the file is created, the fix being in part 1
        k, res = FORWARD[path]
        cur, bad = merge3(cur, blob(T[k - 1], path),
                          open(os.path.join(HERE, 'res', res), 'rb').read(), f'fwd{k}')
        if bad:
            conflicts.append((n, path, f'forward {k}'))
    # moved commits' test changes to old test files go (46 moved a test)
    if path.startswith('tests/'):
        for m in sorted(MOVED):
            if m <= n and path in touched_old[m]:
                cur, bad = merge3(cur, blob(T[m], path), blob(T[m - 1], path), f'revert{m}')
                if bad:
                    conflicts.append((n, path, f'revert {m}'))
        return cur
    return carry_code(n, path, own)

carry = {}
def construct(n, path):
    """T_n plus every Part-1 fix with a higher old number"""
    cur, bad_any = blob(T[n], path), False
    for k, c, files in PFIX:
        if k > n and path in files:
            res, bad = merge3(cur, blob(c + '^', path), blob(c, path), f'p1-{k}')
            if bad and k in MOVED:
                # the old series' form of the fix was written on code closer to T_n
                res, bad = merge3(cur, blob(T[k - 1], path), blob(T[k], path), f'old-{k}')
            bad_any |= bad
            cur = res
    return cur, bad_any

CONFLICT = re.compile(r'^<<<<<<< [^\n]*\n(.*?)^=======\n(.*?)^>>>>>>> [^\n]*\n', re.S | re.M)
def pick(text, *choices):
    """the i-th conflict block of text becomes choices[i]: 'c' (current),
    'o' (the kept commit's), 'co'/'oc' (both) or literal text"""
    blocks = CONFLICT.findall(text)
    assert len(blocks) == len(choices), f'{len(blocks)} blocks, {len(choices)} choices'
    it = iter(choices)
    def one(m):
        ch = next(it)
        if ch in ('c', 'o', 'co', 'oc'):
            return ''.join({'c': m.group(1), 'o': m.group(2)}[x] for x in ch)
        return ch
    return CONFLICT.sub(one, text)

def replace1(text, old, new):
    assert text.count(old) == 1, f'{text.count(old)} matches of {old[:60]!r}'
    return text.replace(old, new)

def dedupe_protos(text, keep='first'):
    """drop a prototype that repeats another one word for word"""
    protos = list(re.finditer(r'^[A-Za-z][^;{}#]*\);\n', text, re.M))
    seen, drop = {}, []
    for m in protos:
        key = m.group(0)
        if key in seen:
            drop.append(m if keep == 'first' else seen[key])
        seen.setdefault(key, m)
    for m in sorted(drop, key=lambda m: -m.start()):
        text = text[:m.start()] + text[m.end():]
    return text

def resolve_by_script(script, cur):
    """res/<file>.<n>.py turns the merge result (markers and all) into text"""
    env = {'text': cur.decode(), 'pick': pick, 'replace1': replace1,
           'dedupe_protos': dedupe_protos, 'CONFLICT': CONFLICT}
    exec(open(script).read(), env)
    assert not CONFLICT.search(env['text']), script
    return env['text'].encode()

def carry_code(n, path, own):
    """cherry-pick the kept commit's own change; when that conflicts, the
    constructed tree; when both do, a hand resolution in res/"""
    cur = carry.get(path, blob(P_TIP, path))
    bad_any = False
    for a, b in own:
        if path in changed(a, b):
            cur, bad = merge3(cur, blob(a, path), blob(b, path), f'pick-{b[:8]}')
            bad_any |= bad
    hand = os.path.join(HERE, 'res', f'{os.path.basename(path)}.{n}.py')
    if os.path.exists(hand):
        # a conflict, or a clean pick that duplicates what part 1 added
        try:
            cur = resolve_by_script(hand, cur)
        except Exception:
            os.makedirs('/tmp/reshape-conf', exist_ok=True)
            open(f'/tmp/reshape-conf/{os.path.basename(path)}.{n}', 'wb').write(cur)
            raise
        print(f'   {n}: {path}: hand resolution')
    elif bad_any:
        alt, bad = construct(n, path)
        if not bad:
            os.makedirs('/tmp/reshape-pick', exist_ok=True)
            open(f'/tmp/reshape-pick/{os.path.basename(path)}.{n}', 'wb').write(cur)
            cur = alt
            print(f'   {n}: {path}: pick conflicts, constructed tree used')
        else:
            conflicts.append((n, path, 'pick and construct'))
            os.makedirs('/tmp/reshape-conf', exist_ok=True)
            open(f'/tmp/reshape-conf/{os.path.basename(path)}.{n}', 'wb').write(cur)
    carry[path] = cur
    return cur

all_paths = changed('base', OLD) | changed('base', P_TIP) | set(NEW_FILES) | set(SPLIT_FILES)
kept = [n for n in range(1, len(old) + 1)
        if n not in MOVED and n not in (13,) and n not in SQUASH.values()]
if EXTRA:
    kept = [n for n in kept if T[n] != out('rev-parse', EXTRA)]
parent = out('rev-parse', P_TIP)
env = dict(os.environ, GIT_INDEX_FILE='/tmp/reshape2.idx')
def make_commit(tree, msg_from):
    global parent
    a = out('log', '-1', '--format=%an%n%ae%n%ad', '--date=raw', msg_from).split('\n')
    cenv = dict(os.environ, GIT_AUTHOR_NAME=a[0], GIT_AUTHOR_EMAIL=a[1], GIT_AUTHOR_DATE=a[2],
                GIT_COMMITTER_NAME=a[0], GIT_COMMITTER_EMAIL=a[1], GIT_COMMITTER_DATE=a[2])
    msg = git('log', '-1', '--format=%B', msg_from).stdout
    # kept commits whose part-1 fixes left: their message says what is left
    olds = [n for n, c in T.items() if c == out('rev-parse', msg_from)]
    own = os.path.join(HERE, 'msgs', str(olds[0])) if olds else ''
    if own and os.path.exists(own):
        msg = open(own, 'rb').read()
    parent = subprocess.run(['git', '-C', Q, 'commit-tree', tree, '-p', parent], input=msg,
                            capture_output=True, env=cenv, check=True).stdout.decode().strip()

def tree_for(n, own=()):
    git('read-tree', P_TIP, env=env)
    for path in sorted(all_paths):
        # old 36 (fuzz target) is squashed into 27: its test files as at 36
        data = content(36 if n == 27 and path in touched_old[36] else n, path, own)
        if data is None:
            git('update-index', '--force-remove', path, env=env)
        else:
            sha = subprocess.run(['git', '-C', Q, 'hash-object', '-w', '--stdin'], input=data,
                                 capture_output=True, check=True).stdout.decode().strip()
            mode = '100755' if path.endswith('.sh') else '100644'
            git('update-index', '--add', '--cacheinfo', f'{mode},{sha},{path}', env=env)
    return out('write-tree', env=env)

for n in kept:
    if n == 27 and EXTRA:
        # the generic-fuzz configs go right before the custom target
        cur = out('rev-parse', parent + '^{tree}')
        git('read-tree', cur, env=env)
        data = blob(EXTRA, 'tests/qtest/fuzz/generic_fuzz_configs.h')
        sha = subprocess.run(['git', '-C', Q, 'hash-object', '-w', '--stdin'], input=data,
                             capture_output=True, check=True).stdout.decode().strip()
        git('update-index', '--add', '--cacheinfo', f'100644,{sha},tests/qtest/fuzz/generic_fuzz_configs.h', env=env)
        make_commit(out('write-tree', env=env), EXTRA)
        all_paths.add('tests/qtest/fuzz/generic_fuzz_configs.h')
        print('   generic-fuzz configs', parent[:8])
    own = [(T[n - 1], T[n])] + ([(T[SQUASH[n] - 1], T[SQUASH[n]])] if n in SQUASH else [])
    tree = tree_for(n, own)
    if conflicts and os.environ.get('STOP_EARLY'):
        sys.exit(f'stopped at {n}: {conflicts}')
    if out('rev-parse', parent + '^{tree}') == tree:
        print(f'{n:2d} empty, dropped')
        continue
    make_commit(tree, T[n])
    print(f'{n:2d} {parent[:8]} {out("log", "-1", "--format=%s", T[n])}')
tree = tree_for(52, [])
git('read-tree', tree, env=env)
sha = out('rev-parse', f'{OLD}:{DOCS}')
git('update-index', '--add', '--cacheinfo', f'100644,{sha},{DOCS}', env=env)
make_commit(out('write-tree', env=env), T[13])
print('docs', parent[:8])
git('branch', '-f', OUT, parent)
for c in conflicts:
    print('CONFLICT', *c)
print('conflicts:', len(conflicts))
