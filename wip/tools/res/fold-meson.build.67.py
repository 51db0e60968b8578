# moving "add FM-API DC tag management" before the hostile tests
import os
import sys
sys.argv[1:] = ['cxl-dcd-fmtags-test']
exec(open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       'meson-move.py')).read())
