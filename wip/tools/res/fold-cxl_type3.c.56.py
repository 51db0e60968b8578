# Before the direct map is updated where the later patches update it,
# keep the current code, without the recheck flag the fold removes.
import re
import sys
sys.path.insert(0, __import__('os').path.dirname(__file__))
from foldres import take
text = take(sys.stdin.buffer.read(), 'current')
sys.stdout.buffer.write(re.sub(rb'ct3_dc_update_direct_maps\(ct3d, (true|false)\)',
                               rb'ct3_dc_update_direct_maps(ct3d)', text))
