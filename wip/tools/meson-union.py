import re, subprocess, sys
path = 'tests/qtest/meson.build'
def show(stage):
    return subprocess.run(['git', 'show', f':{stage}:{path}'], capture_output=True, text=True).stdout
BLOCK = re.compile(r"qtests_cxl_x86_64 = \\\n.*?\] : \[\]\)\n", re.S)
def names(t):
    m = BLOCK.search(t)
    return re.findall(r"'([\w-]+)'", m.group(0).split('?', 1)[1])
ours, theirs = show(2), show(3)
want = names(ours) + [x for x in names(theirs) if x not in names(ours)]
block = ("qtests_cxl_x86_64 = \\\n  (config_all_devices.has_key('CONFIG_CXL') ?\n   [" +
         ",\n    ".join("'%s'" % x for x in want) + "] : [])\n")
open(path, 'w').write(BLOCK.sub(lambda m: block, ours, count=1))
subprocess.run(['git', 'add', path], check=True)
