# Before the hostile tests are listed, add the life-cycle test at the end
# of the CXL qtest list.
import os
import re
import sys
sys.path.insert(0, os.path.dirname(__file__))
from foldres import take
text = take(sys.stdin.buffer.read(), 'current')
if b"'cxl-dcd-state-test'" not in text:
    text, n = re.subn(rb"(qtests_cxl_x86_64 = \\\n.*?)(\n    '[\w-]+'\] : \[\]\))",
                      rb"\1\n    'cxl-dcd-state-test',\2", text, count=1, flags=re.S)
    assert n == 1
sys.stdout.buffer.write(text)
