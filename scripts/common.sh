# Shared settings for the cxl-tagmem tooling; sourced by the other scripts.
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$TOP/build"
QEMU_SRC="${QEMU_SRC:-$BUILD/qemu}"   # git tree: tag base + one commit per patch
QEMU_BIN="${QEMU_BIN:-$QEMU_SRC/build}"  # meson build directory in the tree
DL="$BUILD/dl"
BASE_PKG=qemu
BASE_VERSION=1:10.2.2+ds-1
BASE_ORIG=qemu_10.2.2+ds.orig.tar.xz
BASE_DSC=qemu_10.2.2+ds-1.dsc
BASE_DEBIAN=qemu_10.2.2+ds-1.debian.tar.xz
# sha256 of each file of the source package (the orig one is design.md's)
BASE_SHA256S="be05230fe47a6937cd29f28f562932c8125f9c93c2a82c625198f7a4aa601dfb  $BASE_ORIG
f1684b3aa5ec500c3389d346c6501dee45041ea91656c6556d4da9023b7987dd  $BASE_DSC
ddf75aceab4f8f77374f3cb34fc97b41514895aeb293ce8b2ddd5e072bb0f5c0  $BASE_DEBIAN"
GIT_IDENT_NAME="cxl-tagmem developers"
GIT_IDENT_EMAIL="dev@cxl-tagmem.invalid"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
# Relative paths and no cwd in the hash: a fresh clone elsewhere hits the cache.
export CCACHE_BASEDIR="$TOP" CCACHE_NOHASHDIR=1
# Fixed dates keep 'git am' commits and so the exported patches deterministic.
export GIT_AUTHOR_NAME="$GIT_IDENT_NAME" GIT_AUTHOR_EMAIL="$GIT_IDENT_EMAIL"
export GIT_COMMITTER_NAME="$GIT_IDENT_NAME" GIT_COMMITTER_EMAIL="$GIT_IDENT_EMAIL"

die() { echo "error: $*" >&2; exit 1; }
log() { echo "==> $*"; }

# The qtests we run: upstream cxl-test plus every qtest the series adds
# (at the commit checked out in $1, default build/qemu).
series_qtests() {
    local tree=${1:-$QEMU_SRC}
    echo cxl-test
    git -C "$tree" diff --name-only --diff-filter=A base..HEAD -- 'tests/qtest/*-test.c' |
        sed 's|^tests/qtest/||; s|\.c$||'
}
