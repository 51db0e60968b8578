#!/usr/bin/env python3
"""Write the DC release helpers in their final form where they start (34).

v3 as first exported had QMP's release in cxl_dc_release_prescriptive()
and cxl_dc_release_tag_based() (34, 38), rewritten by 41 into
cxl_dc_release_capacity() / cxl_dc_release_tagged() for the FM-API, and
36 factored cxl_dc_check_request_extent() out of cxl_dc_add_capacity()
(34).  This rewrites the trees of 34..40 so that each helper is written
once, in its final shape, by the patch that needs it:

  34  cxl_dc_check_request_extent(), cxl_dc_release_capacity()
  35  + the event-log room check      36  + the bound-as-a-whole check
  38  cxl_dc_collect_tagged(), cxl_dc_release_tagged()

Usage (in build/qemu): release-early.py FROM OUT
FROM: the series before this change (50 commits on 'base'); OUT: branch
written.  34's and 41's messages come from tools/msgs/release-early/.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
T3 = 'hw/mem/cxl_type3.c'
HDR = 'include/hw/cxl/cxl_device.h'


def git(*args, inp=None, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run(('git',) + args, input=inp, capture_output=True,
                          text=True, check=True, env=e).stdout


def one(text, old, new):
    assert text.count(old) == 1, old[:200]
    return text.replace(old, new)


HELPER = '''/*
 * The checks every extent of an add or release request passes: not empty,
 * inside one region, block aligned, not overlapping the extents before it
 * in the request.  Returns the region in @region if it is not NULL.
 */
static CXLRetCode cxl_dc_check_request_extent(CXLType3Dev *ct3d,
'''


def add_uses_helper(src, final):
    """34, 35: cxl_dc_add_capacity() with the checks 36 factored out"""
    start = final.index(HELPER)
    helper = final[start:final.index('\n}\n', start) + 3] + '\n'
    add = '/*\n * Check an add request'
    src = one(src, add, helper + add)
    a = src.index('CXLRetCode cxl_dc_add_capacity(CXLType3Dev *ct3d,')
    b = src.index('\n}\n', a)
    fn = src[a:b]
    fn = one(fn, '    CXLDCExtentGroup *group = NULL;\n    uint32_t i, j;\n',
             '    CXLDCExtentGroup *group = NULL;\n    CXLRetCode ret;\n'
             '    uint32_t i;\n')
    fn = one(fn, '''        uint64_t len = extents[i].len;
        CXLDCRegion *region;
        Range range;

        if (len == 0) {''', '''        uint64_t len = extents[i].len;

        if (len == 0) {''')
    c = fn.index('        if (len == 0) {')
    d = fn.index('        if (cxl_extents_overlaps_dpa_range(')
    fn = fn[:c] + '''        ret = cxl_dc_check_request_extent(ct3d, extents, i, NULL, errp);
        if (ret != CXL_MBOX_SUCCESS) {
            return ret;
        }
''' + fn[d:]
    return src[:a] + fn + src[b:]


def section(text):
    """the release helpers and qmp_cxl_release_dynamic_capacity()"""
    a = text.index('/*\n * Check a prescriptive release request')
    b = text.index('void qmp_cxl_release_dynamic_capacity(')
    b = text.index('\n}\n', b) + 3
    return a, b


PRESCRIPTIVE_ONLY = '''{
    g_autofree CXLDCExtentRaw *raw = NULL;
    CXLType3Dev *dcd;
    QemuUUID uuid;
    uint32_t count;

    if (has_forced_removal && forced_removal) {
        /* TODO: enable forced removal in the future */
        error_setg(errp, "Forced removal not supported yet");
        return;
    }
    if (removal_policy != CXL_EXTENT_REMOVAL_POLICY_PRESCRIPTIVE) {
        error_setg(errp, "Removal policy not supported");
        return;
    }
    dcd = cxl_dc_resolve_device(path, region, errp);
    if (!dcd || !cxl_dc_parse_tag(tag, &uuid, errp)) {
        return;
    }
    raw = cxl_dc_qmp_extents(dcd, region, &uuid, extents, &count, errp);
    if (raw) {
        cxl_dc_release_capacity(dcd, raw, count, errp);
    }
}
'''


def release_at(k, final):
    a, b = section(final)
    sec = final[a:b]
    if k < 35:
        sec = one(sec, '''    if (!cxl_dc_event_log_has_room(ct3d, count, errp)) {
        return CXL_MBOX_RESOURCES_EXHAUSTED;
    }
''', '')
    if k < 36:
        c = sec.index('            if (ent->backend && !range_contains_range(')
        d = sec.index('            if (!qemu_uuid_is_null(&tag) &&')
        sec = sec[:c] + sec[d:]
    if k < 38:
        c = sec.index('/* Append the extents of @list in @region')
        d = sec.index('void qmp_cxl_release_dynamic_capacity(')
        sec = sec[:c] + sec[d:]
        c = sec.index('{\n',
                      sec.index('void qmp_cxl_release_dynamic_capacity('))
        sec = sec[:c] + PRESCRIPTIVE_ONLY
    return sec


def type3_at(k, src, final):
    if k < 36:
        src = add_uses_helper(src, final)
    src = one(src, '#include "qemu/host-utils.h"\n',
              '#include "qemu/host-utils.h"\n#include "qemu/cutils.h"\n')
    a, b = section(src)
    return src[:a] + release_at(k, final) + src[b:]


def header_at(k, src):
    decl = ('CXLRetCode cxl_dc_release_capacity(CXLType3Dev *ct3d, '
            'CXLDCExtentRaw *extents,\n'
            '                                   uint32_t count, '
            'Error **errp);\n')
    if k >= 38:
        decl += ('CXLRetCode cxl_dc_release_tagged(CXLType3Dev *ct3d, '
                 'uint8_t rid,\n'
                 '                                 const QemuUUID *tag, '
                 'Error **errp);\n')
    return one(src, 'CXLRetCode cxl_dc_add_capacity(CXLType3Dev *ct3d,\n',
               decl + 'CXLRetCode cxl_dc_add_capacity(CXLType3Dev *ct3d,\n')


def blob(text):
    return git('hash-object', '-w', '--stdin', inp=text).strip()


def main():
    src_branch, out = sys.argv[1], sys.argv[2]
    commits = git('rev-list', '--reverse', 'base..' + src_branch).split()
    assert len(commits) == 50, len(commits)
    final = git('show', commits[40] + ':' + T3)
    final_hdr = git('show', commits[40] + ':' + HDR)
    parent = git('rev-parse', 'base').strip()
    idx = os.path.join(git('rev-parse', '--git-dir').strip(),
                       'release-early.idx')
    env = {'GIT_INDEX_FILE': idx}
    for n, c in enumerate(commits, 1):
        git('read-tree', c, env=env)
        if 34 <= n <= 40:
            t3 = type3_at(n, git('show', c + ':' + T3), final)
            hdr = header_at(n, git('show', c + ':' + HDR))
            for path, text in ((T3, t3), (HDR, hdr)):
                git('update-index', '--cacheinfo',
                    '100644,%s,%s' % (blob(text), path), env=env)
        if n == 40:
            assert t3 == final, 'T(40) differs from 41'
            assert hdr == final_hdr, 'header at 40 differs from 41'
        tree = git('write-tree', env=env).strip()
        msg = git('log', '-1', '--format=%B', c)
        alt = os.path.join(HERE, 'msgs', 'release-early', str(n))
        if os.path.exists(alt):
            msg = open(alt).read()
        fmt = git('log', '-1', '--format=%an%n%ae%n%ad', '--date=raw', c)
        an, ae, ad = fmt.split('\n')[:3]
        parent = git('commit-tree', tree, '-p', parent, inp=msg,
                     env={'GIT_AUTHOR_NAME': an, 'GIT_AUTHOR_EMAIL': ae,
                          'GIT_AUTHOR_DATE': ad, 'GIT_COMMITTER_NAME': an,
                          'GIT_COMMITTER_EMAIL': ae,
                          'GIT_COMMITTER_DATE': ad}).strip()
    git('branch', '-f', out, parent)
    os.unlink(idx)
    print(out, parent)


if __name__ == '__main__':
    main()
