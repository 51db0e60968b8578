# The FM tests before the direct map: the direct-map patch adds
# direct_mapped() and the checks that use it.  Argument: test, c or h.
import re
import sys

kind = sys.argv[1]
text = sys.stdin.read()
if kind == 'test':
    stmt = re.compile(r"^ +g_assert_(true|false)\(direct_mapped\([^;]*?\)\);\n",
                      re.M | re.S)
    assert len(stmt.findall(text)) == 7
    text = stmt.sub('', text)
    old = "    /* Nothing is interleaved: the extent is mapped as RAM */\n"
    assert text.count(old) == 1
    text = text.replace(old, "    /* Once decoded, the extent reaches its backend */\n")
elif kind == 'c':
    fn = re.compile(r"/\*\n \* Whether the window maps \[dpa, dpa \+ len\).*?\n}\n\n",
                    re.S)
    assert len(fn.findall(text)) == 1
    text = fn.sub('', text)
else:
    old = ("bool direct_mapped(FMTest *t, uint64_t dpa, uint64_t len,\n"
           "                   const char *id, uint64_t file_off);\n")
    assert text.count(old) == 1
    text = text.replace(old, '')
assert 'direct_mapped' not in text
sys.stdout.write(text)
