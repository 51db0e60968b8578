#!/bin/bash
# 'make run': the end-to-end demo.  A DC-only CXL device, a bare-metal guest
# that programs it, a tagged memory-backend-file added over QMP; the guest
# accepts the extent and writes a message, which the host reads back from
# the backend file.
set -euo pipefail
. "$(dirname "$0")/common.sh"

make -s -C "$TOP/guest" >/dev/null
cat <<'EOT'
==> Demo: tagged dynamic capacity
    QEMU: q35, pxb-cxl (hdm_for_passthrough=on) -> cxl-rp -> cxl-type3 with
          num-dc-regions=1, dc-regions-total-size=1G (no memory of its own)
    guest: guest/guest.elf (bare metal): enumerates PCI, commits the HDM
           decoders, waits for a DC event, accepts, writes a message
    host: object-add memory-backend-file tag=..., cxl-add-dynamic-capacity
EOT
DC_MODE=tagged HB_DECODER=1 exec "$TOP/scripts/bench.sh" demo
