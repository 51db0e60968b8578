# The More-flag change of the add response lands with the query; the
# direct map it also updates comes later, with its own patch.
import sys

text = sys.stdin.read()
line = "    cxl_dc_extent_list_changed(ct3d);\n    ct3_dc_update_direct_maps(ct3d);\n"
assert text.count(line) == 1
sys.stdout.write(text.replace(line, "    cxl_dc_extent_list_changed(ct3d);\n"))
