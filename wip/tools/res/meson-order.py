#!/usr/bin/env python3
"""usage: meson-order.py NAME... (tests/qtest/meson.build on stdin)

Registers the CXL qtests NAME... in qtests_cxl_x86_64, with the sources
the tip of the series (branch v3) gives them, and keeps that list in the
order of ORDER (the order of the patches that add them), so that
moving a test to another patch only inserts lines.
"""
import re
import subprocess
import sys

ORDER = ['cxl-dcd-test', 'cxl-dcd-request-test', 'cxl-type3-limits-test',
         'cxl-dcd-mbox-test', 'cxl-switch-cci-test', 'cxl-dcd-counters-test',
         'cxl-tagmem-test', 'cxl-tagmem-err-test', 'cxl-tagmem-orch-test',
         'cxl-dcd-state-test', 'cxl-dcd-fm-test', 'cxl-dcd-fm-err-test',
         'cxl-tagmem-map-test', 'cxl-dcd-share-test', 'cxl-dcd-fmtags-test',
         'cxl-dcd-hostile-test', 'cxl-dcd-hostile-hdm-test',
         'cxl-dcd-hostile-log-test']

text = sys.stdin.read()
tip = subprocess.run(['git', '-C', '/work/main/build/qemu', 'show',
                      'v3:tests/qtest/meson.build'], capture_output=True,
                     text=True, check=True).stdout
block = re.search(r"(qtests_cxl_x86_64 = \\\n  \(config_all_devices"
                  r"\.has_key\('CONFIG_CXL'\) \?\n   )\[(.*?)\] : \[\]\)\n",
                  text, re.S)
names = set(re.findall(r"'([\w-]+)'", block.group(2))) | set(sys.argv[1:])
assert names <= set(ORDER), names - set(ORDER)
names = [n for n in ORDER if n in names]
text = text.replace(block.group(0), block.group(1) + '[' +
                    ',\n    '.join(f"'{n}'" for n in names) + '] : [])\n')
for n in sys.argv[1:]:
    m = re.search(rf"^  '{n}': files\(.*\),\n", tip, re.M)
    if m and m.group(0) not in text:
        # the dict of test sources is sorted by name
        start = text.index('\nqtests = {\n')
        end = text.index('\n}\n', start)
        keys = re.findall(r"^  '([\w-]+)': ", text[start:end], re.M)
        after = [k for k in keys if k > n]
        at = text.index(f"\n  '{after[0]}': ", start) + 1
        text = text[:at] + m.group(0) + text[at:]
sys.stdout.write(text)
