"""Resolution of a moved commit's tests/qtest/meson.build: the list as
the commit had it, plus the tests the moved commit registers (argv)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from foldres import take  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
current = take(sys.stdin.buffer.read(), 'current')
sys.stdout.buffer.write(subprocess.run(
    [sys.executable, os.path.join(here, 'meson-order.py')] + sys.argv[1:],
    input=current, capture_output=True, check=True).stdout)
