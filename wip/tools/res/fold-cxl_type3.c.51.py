# Before the FM-API shares the QMP release helpers, the tag-based release
# is cxl_dc_release_tag_based(), whose region cxl_dc_resolve_device()
# has checked: restrict it to the named region there.
import os
import sys
sys.path.insert(0, os.path.dirname(__file__))
from foldres import take
text = take(sys.stdin.buffer.read(), 'current')
for old, new in (
        (b"""/* Offer the release of every accepted extent that carries the tag. */
static void cxl_dc_release_tag_based(""",
         b"""/* Offer the release of every accepted extent of region @rid with the tag. */
static void cxl_dc_release_tag_based("""),
        (b"""    if (!cxl_dc_parse_tag(tag_str, &tag, errp)) {
        return;
    }
    QTAILQ_FOREACH(ent, &dcd->dc.extents, node) {""",
         b"""    if (!cxl_dc_parse_tag(tag_str, &tag, errp)) {
        return;
    }
    region = &dcd->dc.regions[rid];
    QTAILQ_FOREACH(ent, &dcd->dc.extents, node) {"""),
        (b"""        if (memcmp(ent->tag, tag.data, sizeof(ent->tag))) {
            continue;""",
         b"""        if (memcmp(ent->tag, tag.data, sizeof(ent->tag)) ||
            cxl_find_dc_region(dcd, ent->start_dpa, ent->len) != region) {
            continue;"""),
        (b"""        error_setg(errp, "no accepted extent carries tag %s", tag_str);""",
         b"""        error_setg(errp, "no accepted extent of region %u carries tag %s",
                   rid, tag_str);""")):
    assert text.count(old) == 1, old
    text = text.replace(old, new)
sys.stdout.buffer.write(text)
