#!/bin/bash
# Fetch Debian's qemu 1:10.2.2+ds-1 source, verify the orig tarball and
# extract it with Debian's quilt patches applied into build/src.
set -euo pipefail
. "$(dirname "$0")/common.sh"

if [ -f "$BUILD/src/.cxl-tagmem-base-ok" ]; then
    exit 0
fi
mkdir -p "$DL"
cd "$DL"
if [ ! -f "$BASE_ORIG" ] || [ ! -f "$BASE_DSC" ]; then
    log "fetching $BASE_PKG $BASE_VERSION source"
    apt-get source --download-only "$BASE_PKG=$BASE_VERSION" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
fi
echo "$BASE_SHA256  $BASE_ORIG" | sha256sum -c --quiet - ||
    die "$BASE_ORIG does not match the expected sha256 (see ../shared/design.md)"
rm -rf "$BUILD/src"
log "extracting with Debian's patches"
# dpkg-source checks the other tarballs against the .dsc; the signature is not
# checked (no keyring), the orig tarball is pinned by sha256 above.
dpkg-source --no-check --no-copy -x "$BASE_DSC" "$BUILD/src" >/dev/null
rm -rf "$BUILD/src/.pc"
touch "$BUILD/src/.cxl-tagmem-base-ok"
