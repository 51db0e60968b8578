#!/bin/bash
# Configure (once) and build qemu-system-x86_64 plus the qtests we run.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ -e "$QEMU_SRC/.git" ] || die "no $QEMU_SRC; run 'make tree' first"
export PATH="/usr/lib/ccache:$PATH"
if [ ! -f "$QEMU_BIN/build.ninja" ]; then
    log "configuring"
    mkdir -p "$QEMU_BIN"
    (cd "$QEMU_BIN" && ../configure \
        --python=/usr/bin/python3 \
        --target-list=x86_64-softmmu \
        --disable-docs --disable-install-blobs \
        --firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu \
        --disable-gtk --disable-sdl --disable-vnc --disable-spice --disable-opengl \
        --disable-xen --disable-curl --disable-libusb --disable-usb-redir \
        --enable-slirp --enable-fdt=system \
        ${EXTRA_CONFIGURE:-} >configure.log 2>&1) ||
        { tail -30 "$QEMU_BIN/configure.log"; die "configure failed"; }
fi
log "building"
TARGETS=(qemu-system-x86_64 qemu-img)
for t in $(series_qtests); do
    TARGETS+=("tests/qtest/$t")
done
flock /tmp/cxl-ninja.lock ninja -C "$QEMU_BIN" "${TARGETS[@]}"
# Run from the build tree, QEMU looks for firmware under qemu-bundle/ at the
# relocated --firmwarepath: point those at Debian's SeaBIOS, iPXE and ROMs.
for d in usr/share/qemu usr/share/seabios usr/lib/ipxe/qemu; do
    if [ ! -e "$QEMU_BIN/qemu-bundle/$d" ]; then
        mkdir -p "$(dirname "$QEMU_BIN/qemu-bundle/$d")"
        ln -sfn "/$d" "$QEMU_BIN/qemu-bundle/$d"
    fi
done
