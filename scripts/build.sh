#!/bin/bash
# Configure (once) and build qemu-system-x86_64, qemu-img and the qtests
# 'make check' runs (common.sh: check_qtests; QTESTS="a b" for others).
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ -e "$QEMU_SRC/.git" ] || die "no $QEMU_SRC; run 'make tree' first"
configure_build "$QEMU_BIN" --disable-docs
log "building"
TARGETS=(qemu-system-x86_64 qemu-img)
for t in ${QTESTS:-$(check_qtests)}; do
    TARGETS+=("tests/qtest/$t")
done
ninja_build "$QEMU_BIN" "${TARGETS[@]}"
link_firmware "$QEMU_BIN"
