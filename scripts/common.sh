# shellcheck shell=bash disable=SC2034  # sourced; the users use the variables
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

# Upstream qtests over what the series changes besides the CXL devices
# (QOM properties, QAPI commands, host memory backends, HMP).
UPSTREAM_QTESTS=(qom-test qmp-cmd-test device-introspect-test test-hmp)

# The qtests 'make check' runs: the series' and UPSTREAM_QTESTS.
check_qtests() {
    series_qtests "$@"
    printf '%s\n' "${UPSTREAM_QTESTS[@]}"
}

# ---- the QEMU builds -----------------------------------------------------
# configure flags of every build (build.sh, check-sanitize.sh, fuzz.sh,
# check-docs.sh, check-bisect.sh through build.sh); each adds its own.
# ccache's compiler links first, for configure and ninja alike
case ":$PATH:" in *:/usr/lib/ccache:*) ;; *) export PATH="/usr/lib/ccache:$PATH" ;; esac
FIRMWARE_DIRS=(usr/share/qemu usr/share/seabios usr/lib/ipxe/qemu)
CONFIGURE_FLAGS=(--python=/usr/bin/python3 --target-list=x86_64-softmmu
    --disable-install-blobs
    "--firmwarepath=$(printf '/%s:' "${FIRMWARE_DIRS[@]}" | sed 's/:$//')"
    --disable-gtk --disable-sdl --disable-vnc --disable-spice --disable-opengl
    --disable-xen --disable-curl --disable-libusb --disable-usb-redir
    --enable-slirp --enable-fdt=system)

# configure_build DIR FLAG...: configure the tree's build directory DIR
# (once) with CONFIGURE_FLAGS, FLAG... and $EXTRA_CONFIGURE.
configure_build() {
    local dir=$1
    shift
    [ -f "$dir/build.ninja" ] && return 0
    log "configuring $dir"
    mkdir -p "$dir"
    # shellcheck disable=SC2086  # EXTRA_CONFIGURE is a list of flags
    (cd "$dir" && "$QEMU_SRC/configure" "${CONFIGURE_FLAGS[@]}" "$@" ${EXTRA_CONFIGURE:-} \
        > configure.log 2>&1) ||
        { tail -30 "$dir/configure.log"; rm -f "$dir/build.ninja"; die "configure failed (log: $dir/configure.log)"; }
}

# ninja_build DIR TARGET...: ninja under the machine-wide lock (2 cores,
# several developers).
ninja_build() {
    local dir=$1
    shift
    flock /tmp/cxl-ninja.lock ninja -C "$dir" "$@"
}

# link_firmware DIR: run from the build tree, QEMU looks for firmware under
# qemu-bundle/ at the relocated --firmwarepath: point those at Debian's
# SeaBIOS, iPXE and option ROMs.
link_firmware() {
    local d
    for d in "${FIRMWARE_DIRS[@]}"; do
        if [ ! -e "$1/qemu-bundle/$d" ]; then
            mkdir -p "$(dirname "$1/qemu-bundle/$d")"
            ln -sfn "/$d" "$1/qemu-bundle/$d"
        fi
    done
}

# ---- running QEMU ----------------------------------------------------------
# stop_pid PID...: end these children of ours (a QEMU, a qmp-shell) and reap them.
stop_pid() {
    local pid
    for pid in "$@"; do
        [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || continue
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
QEMU=${QEMU:-$QEMU_BIN/qemu-system-x86_64}
GUEST_ELF=$TOP/guest/guest.elf
qmp_py() { /usr/bin/python3 "$TOP/scripts/qmp.py" "$@"; }   # QMP client, QEMU's qemu.qmp
export PYTHONPATH="$QEMU_SRC/python${PYTHONPATH:+:$PYTHONPATH}"
# The CFMW base q35 gives the window with -m up to 2.75G and no maxmem; the
# bare-metal guest is told it (it does not parse ACPI), qmp.py checks it.
CXL_WINDOW=0x110000000
DCD_PATH=/machine/peripheral/dcd0

# cxl_topology [memdev=FILE] [regions=N] [size=SIZE] [hbdec=0|1] [fmw=SIZE]
#              [sharable=MASK]:
# sets CXL_ARGS to the CXL part of the command line: design.md section 1's
# typical topology (pxb-cxl with hdm_for_passthrough=on, one root port, a
# DC-only cxl-type3 dcd0 with 2 DC regions of dc-regions-total-size=4G, an
# 8G window), or with memdev= the 10.2.2 device backed by a
# memory-backend-file of FILE (volatile-dc-memdev).  sharable=MASK adds
# dc-regions-sharable=MASK (design.md section 9; bit i: region i).
cxl_topology() {
    local memdev="" regions=2 size=4G hbdec=1 fmw=8G sharable="" kv dev pxb
    for kv in "$@"; do
        case $kv in
        memdev=*) memdev=${kv#*=} ;; regions=*) regions=${kv#*=} ;;
        size=*) size=${kv#*=} ;; hbdec=*) hbdec=${kv#*=} ;; fmw=*) fmw=${kv#*=} ;;
        sharable=*) sharable=${kv#*=} ;;
        *) die "cxl_topology: unknown argument $kv" ;;
        esac
    done
    pxb="pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1"
    [ "$hbdec" = 1 ] && pxb+=",hdm_for_passthrough=on"
    dev="cxl-type3,bus=rp0,id=dcd0,num-dc-regions=$regions"
    CXL_ARGS=()
    if [ -n "$memdev" ]; then
        CXL_ARGS+=(-object "memory-backend-file,id=dc0,size=$size,mem-path=$memdev,share=on")
        dev+=",volatile-dc-memdev=dc0,sn=99"
    else
        dev+=",dc-regions-total-size=$size,sn=99"
    fi
    [ -n "$sharable" ] && dev+=",dc-regions-sharable=$sharable"
    CXL_ARGS+=(-device "$pxb" -device "cxl-rp,port=0,bus=cxl.1,id=rp0,chassis=0,slot=2"
               -device "$dev" -M "cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=$fmw")
}

# guest_machine [MEM]: sets GUEST_MACHINE to the machine the bare-metal
# guest runs on (TCG: /dev/kvm here is a nested software emulator;
# isa-debug-exit carries its verdict).  MEM (default 2G) up to 2.75G keeps
# the window at CXL_WINDOW.
guest_machine() {
    GUEST_MACHINE=(-machine "q35,cxl=on" -accel tcg -m "${1:-2G}" -smp 1 -nodefaults
                   -display none -no-reboot -device "isa-debug-exit,iobase=0xf4,iosize=0x04")
}

# serve_guest_args SERIAL QMP_SOCK [GUEST_OPTION...]: sets QEMU_ARGS to run
# the bare-metal guest in mode=serve (it accepts every offer and answers
# every release; guest/README.md) on the typical topology, or on the one
# the array SERVE_TOPOLOGY gives (cxl_topology's arguments).
serve_guest_args() {
    local serial=$1 sock=$2
    shift 2
    guest_machine
    cxl_topology ${SERVE_TOPOLOGY[@]+"${SERVE_TOPOLOGY[@]}"}
    QEMU_ARGS=("${GUEST_MACHINE[@]}" -serial "file:$serial" -qmp "unix:$sock,server=on,wait=off"
               "${CXL_ARGS[@]}" -kernel "$GUEST_ELF"
               -append "mode=serve window=$CXL_WINDOW hbdec=1${*:+ $*}")
}
