#!/bin/bash
# 'make check-docs': build QEMU's manual (Sphinx with -W, so any warning
# fails) in a separate build directory, including the series' cxl.rst
# section and the QAPI reference of the new commands.
set -euo pipefail
. "$(dirname "$0")/common.sh"

DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    python3-sphinx python3-sphinx-rtd-theme >/dev/null
DOCS="$QEMU_SRC/build-docs"
configure_build "$DOCS" --enable-docs
log "building the manual (sphinx-build -W)"
ninja_build "$DOCS" docs/docs.stamp
html="$DOCS/docs/manual/system/devices/cxl.html"
grep -q 'id="tagged-dynamic-capacity"' "$html" ||
    die "the Tagged dynamic capacity section is missing from $html"
grep -q 'query-cxl-dynamic-capacity' "$DOCS/docs/manual/interop/qemu-qmp-ref.html" ||
    die "query-cxl-dynamic-capacity is missing from the QMP reference"
log "docs OK: $html"
