# Before "give FM-API Initiate DC Add/Release the QMP semantics", the
# QMP release is cxl_dc_release_prescriptive(), which returns nothing.
import sys

text = sys.stdin.read()
old = ("    if (!cxl_dc_event_log_has_room(ct3d, count, errp)) {\n"
       "        return CXL_MBOX_RESOURCES_EXHAUSTED;\n"
       "    }\n")
new = ("    if (!cxl_dc_event_log_has_room(dcd, count, errp)) {\n"
       "        return;\n"
       "    }\n")
start = text.index("static void cxl_dc_release_prescriptive(")
end = text.index("\n}\n", start)
assert text.count(old, start, end) == 1
sys.stdout.write(text[:start] + text[start:end].replace(old, new) + text[end:])
