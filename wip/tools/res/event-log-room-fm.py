# Until the FM-API shares the QMP checks ("give FM-API Initiate DC
# Add/Release the QMP semantics"), its handlers check the DC event log
# room themselves.
import sys

text = sys.stdin.read()
room = ("            if (in->ext_count >\n"
        "                cxl_event_log_space(&ct3d->cxl_dstate,\n"
        "                                    CXL_EVENT_TYPE_DYNAMIC_CAP)) {\n"
        "                return CXL_MBOX_RESOURCES_EXHAUSTED;\n"
        "            }\n")
add = "\n            CXLDCExtentGroup *group = NULL;\n"
rel = ("                cxl_remove_extent_from_extent_list(&updated_list, ent);\n"
       "            }\n"
       "            cxl_create_dc_event_records_for_extents(ct3d,\n"
       "                                                    DC_EVENT_RELEASE_CAPACITY,\n")
assert text.count(add) == 1 and text.count(rel) == 1
text = text.replace(add, "\n" + room + add[1:])
i = text.index(rel) + rel.index("            cxl_create")
text = text[:i] + room + text[i:]
sys.stdout.write(text)
