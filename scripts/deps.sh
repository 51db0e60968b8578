#!/bin/bash
# Install everything the build and the tests need (idempotent).
#
# Two apt sources are added, on the Debian mirror this machine already uses
# (its apt configuration for the running release) or on $CXL_TAGMEM_MIRROR:
# sid's deb-src (the base source package) and bookworm-backports (meson >= 1.5,
# python3-pycotap).  QEMU's python/qemu/{qmp,machine} (QMP clients and
# qmp-shell) need only Python >= 3.9 and its standard library (asyncio,
# readline): Debian 12's python3.
set -euo pipefail
. "$(dirname "$0")/common.sh"

# The mirror of the running release: apt's own index targets, else the
# deb822 stanza or the one-line 'deb' entry naming the codename.
debian_mirror() {
    local codename uri
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || return 1
    uri=$(apt-get indextargets --format '$(RELEASE) $(TARGET_OF) $(SITE)' 2>/dev/null |
          awk -v c="$codename" '$1 == c && $2 == "deb" { print $3; exit }')
    if [ -z "$uri" ]; then
        uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v c="$codename" '
            function flush() { if (ok && deb && u != "" && !done) { print u; done = 1 } ok = deb = 0; u = "" }
            /^[[:space:]]*$/ { flush(); next }
            /^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
            /^URIs:/ { u = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == c) ok = 1 }
            END { flush() }')
    fi
    if [ -z "$uri" ]; then
        uri=$(sed -n -E "s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+${codename}[[:space:]].*/\2/p" \
              /etc/apt/sources.list 2>/dev/null | head -n 1)
    fi
    [ -n "$uri" ] && echo "${uri%/}"
}
MIRROR=${CXL_TAGMEM_MIRROR:-}
if [ -z "$MIRROR" ]; then
    MIRROR=$(debian_mirror) ||
        die "no Debian mirror for this release in the apt configuration; set CXL_TAGMEM_MIRROR=<mirror URI>"
fi

src=/etc/apt/sources.list.d/cxl-tagmem.sources
want=$(cat <<EOT
# Added by cxl-tagmem scripts/deps.sh
# sid carries the base source package qemu $BASE_VERSION (source only).
Types: deb-src
URIs: $MIRROR
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

# meson >= 1.5 and python3-pycotap for QEMU 10.2.
Types: deb
URIs: $MIRROR
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
)
need_update=0
if [ ! -f "$src" ] || [ "$(cat "$src")" != "$want" ]; then
    echo "$want" > "$src"
    need_update=1
fi
stamp=/var/lib/apt/periodic/cxl-tagmem-update
UPDATED=0
apt_update() {
    log "apt-get update"
    apt-get update -qq || die "apt-get update failed"
    mkdir -p "$(dirname "$stamp")" && touch "$stamp"
    UPDATED=1
}
# (no 'grep -q' in a pipe: with pipefail, apt-cache's SIGPIPE fails it)
versions=$(apt-cache showsrc "$BASE_PKG" 2>/dev/null | grep '^Version:' || true)
if [ $need_update = 1 ] || [ ! -f "$stamp" ] ||
   ! grep -qx "Version: $BASE_VERSION" <<< "$versions"; then
    apt_update
fi

# apt_install [-t SUITE] PKG...: a failure on lists older than the mirror
# (the version they name is gone) is retried once after apt-get update.
apt_install() {
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" && return 0
    [ $UPDATED = 0 ] || die "apt-get install $* failed"
    apt_update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" || die "apt-get install $* failed"
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

PKGS=(build-essential pkg-config git xz-utils dpkg-dev ccache ninja-build flex bison
      libglib2.0-dev libpixman-1-dev libfdt-dev libslirp-dev zlib1g-dev
      python3 python3-venv python3-setuptools socat
      seabios ipxe-qemu qemu-system-data)
BPO_PKGS=(meson python3-pycotap)

missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
mver=$(dpkg-query -W -f='${Version}' meson 2>/dev/null || true)
if ! dpkg --compare-versions "${mver:-0}" ge 1.5 || ! installed python3-pycotap; then
    apt_install -t bookworm-backports "${BPO_PKGS[@]}"
fi
/usr/bin/python3 -c 'import sys, asyncio, readline; sys.exit(sys.version_info < (3, 9))' ||
    die "/usr/bin/python3 is older than 3.9 or lacks asyncio/readline (QEMU's python/qemu needs them)"
exit 0
