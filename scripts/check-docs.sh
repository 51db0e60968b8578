#!/bin/bash
# 'make check-docs': build QEMU's manual (Sphinx with -W, so any warning
# fails) in a separate build directory, including the series' cxl.rst
# section and the QAPI reference of the new commands.
set -euo pipefail
. "$(dirname "$0")/common.sh"

DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    python3-sphinx python3-sphinx-rtd-theme >/dev/null
DOCS="$QEMU_SRC/build-docs"
if [ ! -f "$DOCS/build.ninja" ]; then
    mkdir -p "$DOCS"
    (cd "$DOCS" && ../configure --python=/usr/bin/python3 \
        --target-list=x86_64-softmmu --enable-docs --disable-install-blobs \
        --disable-gtk --disable-sdl --disable-vnc --disable-spice \
        --disable-opengl --disable-xen --disable-curl --disable-libusb \
        --disable-usb-redir > configure.log 2>&1) ||
        { tail -30 "$DOCS/configure.log"; die "configure failed"; }
fi
log "building the manual (sphinx-build -W)"
ninja -C "$DOCS" docs/docs.stamp
html="$DOCS/docs/manual/system/devices/cxl.html"
grep -q 'id="tagged-dynamic-capacity"' "$html" ||
    die "the Tagged dynamic capacity section is missing from $html"
grep -q 'query-cxl-dynamic-capacity' "$DOCS/docs/manual/interop/qemu-qmp-ref.html" ||
    die "query-cxl-dynamic-capacity is missing from the QMP reference"
log "docs OK: $html"
