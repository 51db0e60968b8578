#!/bin/bash
# Fetch Debian's qemu 1:10.2.2+ds-1 source, verify every file of it (the
# .dsc, the orig and the Debian tarball, pinned by sha256 in common.sh) and
# extract it with Debian's quilt patches applied into build/src.
set -euo pipefail
. "$(dirname "$0")/common.sh"

if [ -f "$BUILD/src/.cxl-tagmem-base-ok" ]; then
    exit 0
fi
mkdir -p "$DL"
cd "$DL"
if [ ! -f "$BASE_ORIG" ] || [ ! -f "$BASE_DSC" ] || [ ! -f "$BASE_DEBIAN" ]; then
    log "fetching $BASE_PKG $BASE_VERSION source"
    apt-get source --download-only "$BASE_PKG=$BASE_VERSION" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
fi
sha256sum -c --quiet - <<< "$BASE_SHA256S" ||
    die "the $BASE_PKG $BASE_VERSION source in $DL does not match the sha256 pinned in scripts/common.sh"
rm -rf "$BUILD/src"
log "extracting with Debian's patches"
# The signature of the .dsc is not checked (no keyring): every file is
# pinned by sha256 above.
dpkg-source --no-check --no-copy -x "$BASE_DSC" "$BUILD/src" >/dev/null
rm -rf "$BUILD/src/.pc"
touch "$BUILD/src/.cxl-tagmem-base-ok"
