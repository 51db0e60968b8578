# cxl-tagmem-test and its helpers before the direct map: the direct-map
# patch adds the "info mtree" checks to the cases, and the helpers that
# make them.  Argument: test, c or h.
import re
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import foldres  # noqa: E402

kind = sys.argv[1] if len(sys.argv) > 1 else 'test'
text = sys.stdin.read()


def sub(old, new):
    global text
    text = foldres.sub(text, old, new, kind)


if kind == 'test':
    lines = text.split('\n')
    out = [l for l in lines
           if not l.startswith(('    tm_assert_direct_map(',
                                '    tm_assert_no_direct_map('))]
    assert len(lines) - len(out) == 7
    text = '\n'.join(out)
    sub('    /* the direct map does not write either */\n',
        '    /* nor once the decoders are committed again */\n')
    sub('    /* two decoders split the extent: no direct map, MMIO path */\n',
        '    /* two decoders split the extent */\n')
elif kind == 'c':
    fn = re.compile(r'/\*\n \* The cxl-dc-direct-map aliases in "info mtree".*?\n'
                    r'void tm_assert_direct_map\(.*?\n}\n', re.S)
    assert len(fn.findall(text)) == 1
    text = fn.sub('', text).rstrip('\n') + '\n'
else:
    st = re.compile(r'/\* A cxl-dc-direct-map alias found in "info mtree" \*/\n'
                    r'typedef struct TMDirectMap \{.*?\} TMDirectMap;\n\n', re.S)
    assert len(st.findall(text)) == 1
    text = st.sub('', text)
    sub('''GArray *tm_direct_maps(TMTest *t);
void tm_assert_no_direct_map(TMTest *t);
void tm_assert_direct_map(TMTest *t, uint64_t hpa, uint64_t len,
                          const char *id, uint64_t off);
''', '')
assert 'direct_map' not in text.replace('x-dc-direct-map', '')
sys.stdout.write(text)
