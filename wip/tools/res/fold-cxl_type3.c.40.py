# The event log room check moves before the tags of the binding patch:
# where those functions do not exist yet, add only the check, before the
# comment of cxl_dc_add_capacity() that the conflict splits.
import re
import sys

text = sys.stdin.read()
pat = re.compile(r"/\*\n<<<<<<< current\n=======\n(.*?)>>>>>>> fold\n", re.S)
m = pat.search(text)
assert m and len(pat.findall(text)) == 1 and '<<<<<<<' not in text[m.end():]
h = re.search(r"/\* Every record of a request must reach the host.*?\n}\n\n",
              m.group(1), re.S).group(0)
sys.stdout.write(text[:m.start()] + h + "/*\n" + text[m.end():])
