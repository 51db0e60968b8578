#!/usr/bin/env python3
"""Split one version of a large test file into test files by the name of
the registered tests, with the helpers they share in a utils .c/.h pair.
usage: split_tests.py FILE OUTDIR (for trying)"""
import os, re, sys, textwrap

# per test file: its utils base name, the title of its header comment, the
# registration lines of main() (the named group "name" is what PARTS match,
# "fn" the test function), and PARTS: (file, name prefix, what it tests),
# the last one with prefix '' taking the rest
CONFIGS = {
    'cxl-tagmem-test.c': dict(
        utils='cxl-tagmem-utils',
        title='QTest testcase for tagged dynamic capacity on a DC-only CXL '
              'Type 3 device (dc-regions-total-size): ',
        reg=r'    qtest_add_func\("(?P<name>[^"]+)",\s*(?P<fn>\w+)\);\n',
        parts=[
            ('cxl-tagmem-err-test.c', '/cxl/tagmem/err/',
             'the add and release requests that tagged dynamic capacity '
             'refuses; every error leaves no trace in the device, the query '
             'or the backends.'),
            ('cxl-tagmem-orch-test.c', '/cxl/tagmem/orch/',
             'what the management layer sees and steers: '
             'query-cxl-dynamic-capacity, CXL_DYNAMIC_CAPACITY_CHANGE, '
             'tag-based release and the migration blocker.'),
            ('cxl-tagmem-map-test.c', '/cxl/tagmem/direct-map/',
             'the direct map: accepted tagged extents are mapped into the '
             'fixed memory window as RAM, and unmapped whenever the MMIO path '
             'would not reach the backend.'),
            ('cxl-tagmem-test.c', '',
             'binding: memory backends created at run time carry a tag and '
             'are bound to the extents the guest accepts; the guest reads and '
             'writes the backend files through the window.'),
        ]),
    'cxl-dcd-hostile-test.c': dict(
        utils='cxl-dcd-hostile-utils',
        title='QTest testcase for CXL Type 3 Dynamic Capacity with a hostile '
              'guest, on a DC-only device whose capacity comes from tagged '
              'memory backends ("tag") and on a device with a '
              'volatile-dc-memdev ("vol"): ',
        reg=r'(?:    /\*[^\n]*\*/\n)?    add_(?:both|test)\("(?P<name>[^"]+)",'
            r'[^;]*?(?P<fn>test_\w+)\);\n',
        parts=[
            ('cxl-dcd-hostile-hdm-test.c', 'hdm-',
             'HDM decoders programmed with reserved encodings or bogus '
             'ranges fail to commit and change nothing.'),
            ('cxl-dcd-hostile-log-test.c', ('events', 'log-'),
             'the event log commands fed bogus handles and counts, and a '
             'Dynamic Capacity log filled to its size.'),
            ('cxl-dcd-hostile-test.c', '',
             'Add and Release Dynamic Capacity responses that do not follow '
             'the rules (unoffered, overlapping, mismatched, zero-length, '
             'miscounted, More misused) and mailbox lengths that disagree '
             'with the payload fail with the right return code and change '
             'nothing; afterwards the device still adds, accepts, decodes '
             'and releases capacity.'),
        ]),
    'cxl-dcd-fm-test.c': dict(
        utils='cxl-dcd-fm-utils',
        title='QTest testcase for tagged CXL Dynamic Capacity driven by a '
              'fabric manager through a CXL switch mailbox CCI and Tunnel '
              'Management Command (5300h), the test playing the guest on the '
              'host side of the same device: ',
        reg=r'    qtest_add_func\("(?P<name>[^"]+)",\s*(?P<fn>\w+)\);\n',
        parts=[
            ('cxl-dcd-fm-err-test.c',
             ('/cxl/dcd-fm/add-errors', '/cxl/dcd-fm/release-errors',
              '/cxl/dcd-fm/resources-exhausted', '/cxl/dcd-fm/tunnel-length'),
             'the FM-API requests that are refused, each with its return '
             'code and no trace left.'),
            ('cxl-dcd-fm-test.c', '',
             'Initiate Dynamic Capacity Add and Release (5604h, 5605h) as '
             'the QMP commands: tagged backends bound, data in the backend '
             'files, both release policies, withdrawal, FM and QMP '
             'interleaved.'),
        ]),
}
IDENT = re.compile(r'\b[A-Za-z_]\w*\b')
FUNC = re.compile(r'^(static\s+)?[A-Za-z_][\w\s\*]*?\b(\w+)\s*\(', re.M)


def blocks_of(text):
    """top-level blocks: runs of lines separated by blank lines at depth 0"""
    out, cur, depth = [], [], 0
    state = None            # None, '"', "'", '/*'
    for line in text.splitlines(keepends=True):
        if not line.strip() and depth == 0 and state is None:
            if cur:
                out.append(''.join(cur))
                cur = []
            continue
        cur.append(line)
        i = 0
        while i < len(line):
            c, two = line[i], line[i:i + 2]
            if state == '/*':
                if two == '*/':
                    state, i = None, i + 1
            elif state in ('"', "'"):
                if c == '\\':
                    i += 1
                elif c == state:
                    state = None
            elif two == '//':
                break
            elif two == '/*':
                state, i = '/*', i + 1
            elif c in ('"', "'"):
                state = c
            elif c == '{':
                depth += 1
            elif c == '}':
                depth -= 1
            i += 1
    if cur:
        out.append(''.join(cur))
    return out


def code_of(block):
    """the block without its leading comment"""
    s = block.lstrip()
    while s.startswith('/*'):
        s = s[s.index('*/') + 2:].lstrip('\n')
    return s


def kind_name(block):
    code = code_of(block)
    if code.startswith('#define'):
        return 'define', code.split()[1].split('(')[0]
    if code.startswith('#'):
        return 'pre', None
    if code.startswith('typedef'):
        m = re.search(r'}\s*(\w+)\s*;\s*$', code) or re.search(r'(\w+)\s*;\s*$', code)
        return 'type', m.group(1)
    m = FUNC.match(code)
    if m and '{' in code and code.rstrip().endswith('}'):
        return 'func', m.group(2)
    return 'other', None


def signature(block):
    """the definition's lines before its body, as a prototype"""
    code = code_of(block)
    head = code[:code.index('\n{')]
    return unstatic(head) + ';\n'


def unstatic(head):
    """drop 'static ' and keep continuation lines aligned after '('"""
    lines = head.split('\n')
    first = lines[0]
    if first.startswith('static '):
        first = first[len('static '):]
    col = first.index('(') + 1
    rest = [' ' * col + l.strip() for l in lines[1:]]
    return '\n'.join([first] + rest)


def files_of(name):
    """the files a test file is split into"""
    cfg = CONFIGS[name]
    return [p[0] for p in cfg['parts']] + [cfg['utils'] + '.c', cfg['utils'] + '.h']


def part_for(cfg, name):
    for fname, prefix, _ in cfg['parts']:
        prefixes = prefix if isinstance(prefix, tuple) else (prefix,)
        if any(name.startswith(x) for x in prefixes):
            return fname
    raise AssertionError(name)


def split(name, text):
    cfg = CONFIGS[name]
    utils_c, utils_h = cfg['utils'] + '.c', cfg['utils'] + '.h'
    blocks = blocks_of(text)
    info = [kind_name(b) for b in blocks]
    names = {n: i for i, (k, n) in enumerate(info) if n}
    main = names['main']
    regs = list(re.finditer(cfg['reg'], blocks[main]))
    assert regs, name
    part_of_test = {}
    for m in regs:
        part = part_for(cfg, m.group('name'))
        assert part_of_test.setdefault(m.group('fn'), part) == part, m.group('fn')
    first_func = next(i for i, (k, n) in enumerate(info) if k == 'func')
    first_test = min(names[fn] for fn in part_of_test)
    uses = {i: set(IDENT.findall(code_of(b))) & set(names) for i, b in enumerate(blocks)}

    def reach(i, seen):
        for n in uses[i]:
            j = names[n]
            if j not in seen and j != i:
                seen.add(j)
                reach(j, seen)
        return seen
    used_by = {}
    for fn, part in part_of_test.items():
        for j in reach(names[fn], set()):
            used_by.setdefault(j, set()).add(part)
    # helpers before the first test, and any used by several files, are shared
    shared = {i for i in range(first_func, len(blocks))
              if i != main and info[i][1] not in part_of_test and
              (i < first_test or len(used_by.get(i, ())) != 1)}
    changed = True
    while changed:
        changed = False
        for i in list(shared):
            for n in uses[i]:
                j = names[n]
                if j >= first_func and j not in shared and j != main and \
                        info[j][1] not in part_of_test:
                    shared.add(j)
                    changed = True
    # what main() uses besides the tests (registration helpers) is shared
    for n in uses[main]:
        j = names[n]
        if j != main and info[j][1] not in part_of_test:
            shared.add(j)
    pre = blocks[:first_func]
    top = pre[0]
    assert top.startswith('/*')
    includes = [b for b in pre[1:] if b.startswith('#include')]
    decls = [b for b in pre[1:] if not b.startswith('#include')]
    inc_lines = ''.join(includes).replace('#include "qemu/osdep.h"\n', '')
    tail = min(top.index(x) for x in (' * Copyright', ' * SPDX') if x in top)
    license_tail = top[tail:]

    def head(what):
        return ('/*\n' + ''.join(' * ' + l + '\n'
                                 for l in textwrap.wrap(cfg['title'] + what, 72)) +
                ' *\n' + license_tail)
    guard = re.sub(r'\W', '_', utils_h).upper()
    files = {}
    h = [head('the helpers the tests share.'), '\n',
         '#ifndef %s\n#define %s\n\n' % (guard, guard), inc_lines, '\n']
    h += [b + '\n' for b in decls]
    for i in sorted(shared):
        if info[i][0] != 'func':
            h.append(blocks[i] + '\n')
    for i in sorted(shared):
        if info[i][0] == 'func':
            h.append(signature(blocks[i]))
    h.append('\n#endif\n')
    files[utils_h] = ''.join(h)
    c = [head('the helpers the tests share.'), '\n',
         '#include "qemu/osdep.h"\n#include "' + utils_h + '"\n']
    for i in sorted(shared):
        if info[i][0] == 'func':
            b = blocks[i]
            code = code_of(b)
            comment = b[:len(b) - len(code)]
            hd = code[:code.index('\n{')]
            c.append('\n' + comment + unstatic(hd) + code[code.index('\n{'):])
    files[utils_c] = ''.join(c)
    for fname, prefix, what in cfg['parts']:
        body = [head(what), '\n', '#include "qemu/osdep.h"\n#include "' + utils_h + '"\n']
        for i in range(first_func, len(blocks)):
            if i == main or i in shared:
                continue
            n = info[i][1]
            part = part_of_test.get(n) or (next(iter(used_by[i])) if i in used_by else None)
            if part == fname:
                body.append('\n' + blocks[i])
        body.append('\nint main(int argc, char **argv)\n{\n'
                    '    g_test_init(&argc, &argv, NULL);\n\n')
        for m in regs:
            if part_of_test[m.group('fn')] == fname:
                body.append(m.group(0))
        body.append('\n    return g_test_run();\n}\n')
        files[fname] = ''.join(body)
    return files


if __name__ == '__main__':
    for name, data in split(os.path.basename(sys.argv[1]),
                            open(sys.argv[1]).read()).items():
        open(os.path.join(sys.argv[2], name), 'w').write(data)
