# Register the QMP-side tagged dynamic capacity tests (and their helpers)
# before the end-to-end test patch adds the others.
import re
import sys

text = sys.stdin.buffer.read()
names = [b'cxl-tagmem-err-test', b'cxl-tagmem-orch-test', b'cxl-dcd-state-test']
if b"'cxl-tagmem-err-test'" not in text:
    block = re.search(rb"qtests_cxl_x86_64 = \\\n.*?\] : \[\]\)\n", text, re.S)
    b = block.group(0)
    add = b''.join(b"    '" + n + b"',\n" for n in names)
    if b"'cxl-dcd-counters-test'" in b:
        nb = b.replace(b"    'cxl-dcd-counters-test'", add + b"    'cxl-dcd-counters-test'")
    else:
        last = re.search(rb"\n    '([\w-]+)'\] : \[\]\)\n$", b)
        nb = b[:last.start()] + b"\n    '" + last.group(1) + b"',\n" + \
            add.rstrip(b',\n') + b"] : [])\n"
    text = text.replace(b, nb)
    entries = (b"  'cxl-tagmem-err-test': files('cxl-tagmem-utils.c', 'cxl-tagmem-err-test.c'),\n"
               b"  'cxl-tagmem-orch-test': files('cxl-tagmem-utils.c', 'cxl-tagmem-orch-test.c'),\n")
    anchor = b"  'dbus-vmstate-test':"
    assert text.count(anchor) == 1
    text = text.replace(anchor, entries + anchor)
sys.stdout.buffer.write(text)
