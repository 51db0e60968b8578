# The tag counters are the previous patch's; the FM releases the rest of
# a prescriptively, which works before tag-based release exists.
import sys

text = sys.stdin.read()
old = ("    g_assert_cmphex(qcxl_fm_dc_release_tag(t->sw, 0, a[1].tag), ==,\n"
       "                    QCXL_MBOX_SUCCESS);\n")
new = ("    g_assert_cmphex(qcxl_fm_dc_release(t->sw, 0, &a[1], 2), ==,\n"
       "                    QCXL_MBOX_SUCCESS);\n")
assert text.count(old) == 1
sys.stdout.write(text.replace(old, new))
