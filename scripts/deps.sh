#!/bin/bash
# Install everything the build and the tests need (idempotent).
set -euo pipefail
. "$(dirname "$0")/common.sh"

need_update=0
src=/etc/apt/sources.list.d/cxl-tagmem.sources
want=$(cat <<'EOT'
# Added by cxl-tagmem scripts/deps.sh
# sid carries the base source package qemu 1:10.2.2+ds-1 (source only).
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

# meson >= 1.5 and python3-pycotap for QEMU 10.2.
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
)
if [ ! -f "$src" ] || [ "$(cat "$src")" != "$want" ]; then
    echo "$want" > "$src"
    need_update=1
fi
stamp=/var/lib/apt/periodic/cxl-tagmem-update
# (no 'grep -q' in a pipe: with pipefail, apt-cache's SIGPIPE fails it)
versions=$(apt-cache showsrc "$BASE_PKG" 2>/dev/null | grep '^Version:' || true)
if [ $need_update = 1 ] || [ ! -f "$stamp" ] ||
   ! grep -qx "Version: $BASE_VERSION" <<< "$versions"; then
    log "apt-get update"
    apt-get update -qq
    mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi

PKGS=(build-essential pkg-config git xz-utils dpkg-dev ccache ninja-build flex bison
      libglib2.0-dev libpixman-1-dev libfdt-dev libslirp-dev zlib1g-dev
      python3-venv python3-setuptools socat
      seabios ipxe-qemu qemu-system-data)
BPO_PKGS=(meson python3-pycotap)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
mver=$(dpkg-query -W -f='${Version}' meson 2>/dev/null || true)
if ! dpkg --compare-versions "${mver:-0}" ge 1.5 ||
   ! dpkg-query -W -f='${Status}' python3-pycotap 2>/dev/null | grep -q "install ok installed"; then
    log "apt-get install -t bookworm-backports ${BPO_PKGS[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t bookworm-backports "${BPO_PKGS[@]}"
fi
exit 0
