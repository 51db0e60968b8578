#!/bin/bash
# 'make check-guest': boot a real Debian kernel under TCG with the design's
# DC-only CXL Type 3 device and check that it probes it cleanly
# (design.md section 5: no Debian kernel has DCD support, but `cxl list`
# must show the memdev, with no oops, BUG or call trace).
#
# Everything the guest needs comes from Debian with `apt-get download` and
# `dpkg-deb -x` (nothing is installed into the host) and is cached under
# build/guest-kernel/:
#   kernel   linux-image-amd64 of GUEST_KERNEL_SUITE (default
#            bookworm-backports), resolved to its linux-image-<abi>-amd64
#            package; or GUEST_KERNEL_PKG=<package> for another one.
#            Its config must have CXL_BUS, CXL_PORT, CXL_ACPI, CXL_PCI,
#            CXL_MEM and CXL_PMEM as =y or =m.
#   userland busybox-static (shell, insmod, cpio), and ndctl's `cxl` with
#            the library packages it depends on (the libc too).
# The initramfs holds busybox, cxl, its libraries, the CXL modules (with
# their depends=/softdep pre: modules, in load order) and
# tests/guest-kernel/init.
#
# The run: the guest loads the modules, waits for mem0, runs `cxl list -M`
# and more detailed listings, and says it is ready.  The host then adds a
# tagged memory-backend-ram and offers it to the device with
# cxl-add-dynamic-capacity (a DC event the kernel cannot use), queries it,
# and tells the guest to go on; the guest lists again, prints its cxl dmesg
# lines and powers off.
#
# Pass: QEMU exits by the guest's poweroff within the time limit, the guest
# finished, cxl_mem bound mem0 (@@MEMDEV-DRIVER cxl_mem), both `cxl list -M`
# runs show "memdev":"mem0", the QMP commands succeeded and the query's
# reply lists the offered extent with its tag, and the serial log has no
# Call Trace, Oops, BUG, panic or WARNING.  A missing package or tool is an
# error, never a skip.
#
# Environment: QEMU=... (default build/qemu/build/qemu-system-x86_64),
# GUEST_KERNEL_SUITE, GUEST_KERNEL_PKG, GUEST_TIMEOUT (seconds for the whole
# boot, default 300), GUEST_INIT (default tests/guest-kernel/init; another
# /init, e.g. to see a check fail).
# Logs: build/test-logs/check-guest.{serial,qmp,qemu-stderr}.log
set -euo pipefail
. "$(dirname "$0")/common.sh"

GK=$BUILD/guest-kernel
DEBS=$GK/debs
KERNEL_SUITE=${GUEST_KERNEL_SUITE:-bookworm-backports}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-300}
LOGDIR=$BUILD/test-logs
SERIAL_LOG=$LOGDIR/check-guest.serial.log
QMP_LOG=$LOGDIR/check-guest.qmp.log
QEMU_ERR=$LOGDIR/check-guest.qemu-stderr.log
INIT_SRC=${GUEST_INIT:-$TOP/tests/guest-kernel/init}
TAG=0c6e5fd4-6b0e-4b39-9d3c-2f1a8e7c5a11
EXT_LEN=268435456                      # 256 MiB at offset 0 of region 0
# kernel modules the guest loads (built-in is fine too), with the config
# options that build them.  cxl_pmem is what udev would load for the
# nvdimm-bridge the kernel registers; it pulls in libnvdimm.
CXL_MODULES=(cxl_core cxl_port cxl_acpi cxl_pci cxl_mem cxl_pmem)
CXL_CONFIGS=(CXL_BUS CXL_PORT CXL_ACPI CXL_PCI CXL_MEM CXL_PMEM)

fail() { echo "FAIL: check-guest: $*" >&2; exit 1; }
start=$(date +%s)

# ---- prerequisites ----------------------------------------------------------
[ -x "$QEMU" ] || fail "no QEMU binary at $QEMU (run 'make build' first)"
[ -f "$INIT_SRC" ] || fail "missing $INIT_SRC"
for t in apt-get apt-cache dpkg-deb xz python3 timeout; do
    command -v "$t" >/dev/null || fail "'$t' not found (run scripts/deps.sh)"
done
mkdir -p "$DEBS" "$LOGDIR"

# apt-cache is slow (about a second a call here): one call per batch.
# pkg_info PKG[/SUITE]...: PVER, PARCH and PDEPS (Pre-Depends and Depends)
# of each package's candidate (or the suite's) version.
declare -A PVER=() PARCH=() PDEPS=()
pkg_info() {
    local p v a d
    while IFS=';' read -r p v a d; do
        PVER[$p]=$v PARCH[$p]=$a PDEPS[$p]=$d
    done < <(apt-cache show --no-all-versions "$@" 2>/dev/null | awk '
        function out() { if (p != "") print p ";" v ";" a ";" d; p = v = a = d = "" }
        /^Package:/ { out(); p = $2 }
        /^Version:/ { v = $2 }
        /^Architecture:/ { a = $2 }
        /^(Pre-)?Depends:/ { sub(/^[^:]*: */, ""); d = d (d == "" ? "" : ", ") $0 }
        END { out() }')
    for p in "$@"; do
        [ -n "${PVER[${p%%/*}]:-}" ] || fail "apt knows no package $p (run scripts/deps.sh, or apt-get update)"
    done
}

# fetch PKG: the path of PKG_VERSION_ARCH.deb (pkg_info's version) in $DEBS,
# downloaded with apt-get if not cached.
fetch() {
    local pkg=$1 ver=${PVER[$1]} f
    f="$DEBS/${pkg}_${ver//:/%3a}_${PARCH[$1]}.deb"
    if [ ! -s "$f" ]; then
        log "apt-get download $pkg=$ver" >&2
        if ! (cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2); then
            echo "apt-get download $pkg=$ver failed" >&2
            return 1
        fi
        [ -s "$f" ] || fail "apt-get download $pkg=$ver did not produce $f"
    fi
    echo "$f"
}
# A download fails when apt's lists are older than the archive (the version
# they name is gone): update them once and start again.
retry_after_update() {
    [ -z "${CHECK_GUEST_APT_UPDATED:-}" ] || fail "apt-get download failed even after apt-get update"
    log "apt-get update (the package lists may be stale), then starting again"
    apt-get update -qq || fail "apt-get update failed"
    exec env CHECK_GUEST_APT_UPDATED=1 bash "$0" "$@"
}

# ---- 1. the kernel ----------------------------------------------------------
if [ -n "${GUEST_KERNEL_PKG:-}" ]; then
    kpkg=$GUEST_KERNEL_PKG
else
    pkg_info "linux-image-amd64/$KERNEL_SUITE"
    dep=${PDEPS[linux-image-amd64]}
    # "linux-image-6.12.95+deb12-amd64 (= 6.12.95-1~bpo12+1)"
    kpkg=$(sed -E 's/^([^ ,(]+).*/\1/' <<<"$dep")
    [ -n "$kpkg" ] || fail "cannot parse the Depends of linux-image-amd64 in $KERNEL_SUITE: $dep"
    kpkg=$kpkg/$KERNEL_SUITE
fi
pkg_info "$kpkg"
kpkg=${kpkg%%/*}
kver=${PVER[$kpkg]}
KDIR=$GK/kernel/${kpkg}_${kver//:/%3a}
if [ ! -f "$KDIR/.extracted" ]; then
    kdeb=$(fetch "$kpkg") || retry_after_update "$@"
    log "dpkg-deb -x $(basename "$kdeb")"
    rm -rf "$KDIR" "$KDIR.tmp"
    mkdir -p "$KDIR.tmp"
    dpkg-deb -x "$kdeb" "$KDIR.tmp" || fail "dpkg-deb -x $kdeb failed"
    touch "$KDIR.tmp/.extracted"
    mv "$KDIR.tmp" "$KDIR"
    # keep only this kernel (and its .deb) in the cache
    for old in "$GK"/kernel/*; do
        [ "$old" = "$KDIR" ] || rm -rf "$old"
    done
    find "$DEBS" -name 'linux-image-*.deb' ! -name "$(basename "$kdeb")" -delete
fi
vmlinuz=$(ls "$KDIR"/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$vmlinuz" ] || fail "no boot/vmlinuz-* in $kpkg"
krel=${vmlinuz##*/vmlinuz-}
kconfig=$KDIR/boot/config-$krel
MODDIR=$KDIR/lib/modules/$krel
[ -f "$kconfig" ] || fail "no boot/config-$krel in $kpkg"
[ -d "$MODDIR" ] || fail "no lib/modules/$krel in $kpkg"
for c in "${CXL_CONFIGS[@]}"; do
    grep -qE "^CONFIG_$c=[ym]$" "$kconfig" || fail "$kpkg has no CONFIG_$c (=y or =m): $(grep -E "CONFIG_${c}[= ]" "$kconfig" || echo unset)"
done
log "kernel: $kpkg $kver (release $krel): $(grep -E "^CONFIG_($(IFS='|'; echo "${CXL_CONFIGS[*]}"))=" "$kconfig" | sed 's/^CONFIG_//' | tr '\n' ' ')"

# ---- 2. userland: busybox-static, ndctl's cxl and its libraries --------------
# The closure of ndctl's Depends over library packages (lib*): cxl and the
# libraries it links, from the same suite, nothing of the host's.
declare -A seen=()
level=(busybox-static ndctl)
ulist=()
while [ ${#level[@]} -gt 0 ]; do
    pkg_info "${level[@]}"
    next=()
    for p in "${level[@]}"; do
        seen[$p]=1
        ulist+=("$p")
        [ "$p" = busybox-static ] && continue
        for d in $(tr ',' '\n' <<<"${PDEPS[$p]}" |
                   sed -E 's/\|.*//; s/\(.*\)//; s/:any//; s/[[:space:]]//g' | grep '^lib' || true); do
            [ -n "${seen[$d]:-}" ] || next+=("$d")
        done
    done
    mapfile -t level < <(printf '%s\n' "${next[@]}" | sort -u | grep . || true)
done
UDIR=$GK/userland
ustamp=$(for p in "${ulist[@]}"; do echo "$p=${PVER[$p]}"; done | sort)
if [ ! -f "$UDIR/.extracted" ] || [ "$(cat "$UDIR/.extracted")" != "$ustamp" ]; then
    rm -rf "$UDIR" "$UDIR.tmp"
    mkdir -p "$UDIR.tmp"
    for p in "${ulist[@]}"; do
        deb=$(fetch "$p") || retry_after_update "$@"
        dpkg-deb -x "$deb" "$UDIR.tmp" || fail "dpkg-deb -x $deb failed"
    done
    echo "$ustamp" > "$UDIR.tmp/.extracted"
    mv "$UDIR.tmp" "$UDIR"
fi
BB=$UDIR/bin/busybox
LDSO=$UDIR/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
[ -x "$BB" ] || fail "busybox-static has no bin/busybox"
[ -x "$UDIR/usr/bin/cxl" ] || fail "ndctl has no usr/bin/cxl"
[ -x "$LDSO" ] || fail "libc6 has no lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"

# ---- 3. the initramfs --------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cxl-check-guest.XXXXXX")
QPID=
cleanup() {
    stop_pid "$QPID"
    rm -rf "$WORK"
}
trap cleanup EXIT
S=$WORK/root
mkdir -p "$S"/{bin,sbin,usr/bin,usr/sbin,lib/x86_64-linux-gnu,usr/lib/x86_64-linux-gnu,lib64,etc,dev,proc,sys,tmp}
mkdir -p "$S/lib/modules/$krel"   # libkmod (via libcxl) looks there
cp "$BB" "$S/bin/busybox"
cp "$UDIR/usr/bin/cxl" "$S/usr/bin/cxl"
for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu; do
    [ -d "$UDIR/$d" ] || continue
    find "$UDIR/$d" -maxdepth 1 \( -type f -o -type l \) -name '*.so*' -exec cp -P {} "$S/$d/" \;
done
ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$S/lib64/ld-linux-x86-64.so.2"
# every library cxl needs must resolve inside the initramfs
lddout=$("$LDSO" --inhibit-cache --library-path "$S/lib/x86_64-linux-gnu:$S/usr/lib/x86_64-linux-gnu" \
         --list "$S/usr/bin/cxl" 2>&1) || fail "cannot resolve cxl's libraries: $lddout"
if grep -q 'not found' <<<"$lddout" ||
   awk '$2 == "=>" && index($1, "/") != 1 && index($3, "/") == 1 { print $3 }' <<<"$lddout" |
       grep -v "^$S/" | grep -q . ||
   [ ! -e "$S/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ]; then
    fail "cxl's libraries are not all in the initramfs: $lddout"
fi

# modules: each wanted module that is not built in, after its dependencies
modpath() {   # modpath NAME: the module's file, '-' and '_' alike
    find "$MODDIR/kernel" -name "$1.ko*" -o -name "${1//_/-}.ko*" | head -n 1
}
modinfo_field() {   # modinfo_field FILE FIELD
    local dec
    case "$1" in
        *.ko.xz) dec="xz -dc" ;;
        *.ko.gz) dec="gzip -dc" ;;
        *.ko.zst) command -v zstd >/dev/null || fail "$1 is zstd-compressed and there is no zstd"; dec="zstd -dc" ;;
        *) dec="cat" ;;
    esac
    $dec "$1" | tr '\0' '\n' | grep -a "^$2=" | head -n 1 | cut -d= -f2- || true
}
declare -A mstate=()
order=()
add_module() {   # add_module NAME [optional]
    local m=${1//-/_} f dep softdep
    [ -n "${mstate[$m]:-}" ] && return 0
    if grep -qE "(^|/)($m|${m//_/-})\.ko$" "$MODDIR/modules.builtin"; then
        mstate[$m]=builtin
        return 0
    fi
    f=$(modpath "$m")
    if [ -z "$f" ]; then
        [ "${2:-}" = optional ] && return 0
        fail "module $m is neither built into $krel nor in its lib/modules"
    fi
    mstate[$m]=visiting
    # "depends=a,b" must load first; so should softdep "pre: c d" (if present)
    for dep in $(modinfo_field "$f" depends | tr ',' ' '); do
        add_module "$dep"
    done
    softdep=$(modinfo_field "$f" softdep | sed -E 's/post:.*//; s/^.*pre://')
    for dep in $softdep; do
        add_module "$dep" optional
    done
    case "$f" in
        *.ko.xz) xz -dc "$f" ;;
        *.ko.gz) gzip -dc "$f" ;;
        *.ko.zst) zstd -dc "$f" ;;
        *) cat "$f" ;;
    esac > "$S/lib/modules/$m.ko"
    mstate[$m]=module
    order+=("$m")
}
for m in "${CXL_MODULES[@]}"; do add_module "$m"; done
printf '%s\n' "${order[@]}" > "$S/etc/cxl-modules"
builtin=()
for m in "${!mstate[@]}"; do [ "${mstate[$m]}" = builtin ] && builtin+=("$m"); done
log "modules: load ${order[*]}; built in: ${builtin[*]}"
GO_TIMEOUT=$((GUEST_TIMEOUT / 2))
echo "$GO_TIMEOUT" > "$S/etc/check-guest.args"
cp "$INIT_SRC" "$S/init"
chmod 755 "$S/init"
INITRD=$GK/initramfs.cpio
(cd "$S" && find . | sort | "$BB" cpio -o -H newc) > "$INITRD.tmp" 2>/dev/null ||
    fail "cannot create the initramfs"
mv "$INITRD.tmp" "$INITRD"
log "initramfs: $INITRD ($(( $(stat -c %s "$INITRD") / 1024 )) KiB)"

# ---- 4. boot ---------------------------------------------------------------
QMP_SOCK=$WORK/qmp.sock
# The CXL drivers' dev_dbg() messages go to the log buffer (not the console),
# and the guest prints that buffer at the end.
DYNDBG=
for m in "${CXL_MODULES[@]}"; do DYNDBG+=" $m.dyndbg=+p"; done
mkfifo "$WORK/serial-in"
exec 3<>"$WORK/serial-in"
: > "$SERIAL_LOG"
: > "$QMP_LOG"
log "prepared in $(( $(date +%s) - start ))s"
log "booting $krel under TCG (limit ${GUEST_TIMEOUT}s); serial log: $SERIAL_LOG"
# -nodefaults: q35's default empty CD-ROM on AHCI stalls SeaBIOS for ~32 s
# under TCG ("Timeout at ahci_command"), before the kernel even starts.
# The design's typical topology (common.sh).
cxl_topology
timeout -k 5 "$GUEST_TIMEOUT" "$QEMU" -accel tcg \
    -machine q35,cxl=on -m 2G -smp 2 -nodefaults -display none -serial stdio -no-reboot \
    -kernel "$vmlinuz" -initrd "$INITRD" \
    -append "console=ttyS0 panic=-1 printk.time=1 $DYNDBG" \
    "${CXL_ARGS[@]}" -qmp "unix:$QMP_SOCK,server=on,wait=off" \
    <&3 > "$SERIAL_LOG" 2> "$QEMU_ERR" &
QPID=$!

# qmp CMD_JSON...: one connection, each command's reply printed as
# "QMP <cmd> -> <reply>"; exits non-zero on an error reply.
qmp() { qmp_py "$QMP_SOCK" "$@"; }

qmp_ok=0
ready=0
while kill -0 "$QPID" 2>/dev/null; do
    if grep -q '^@@READY-FOR-DC' "$SERIAL_LOG"; then ready=1; break; fi
    sleep 1
done
if [ $ready = 1 ]; then
    log "guest is up ($(( $(date +%s) - start ))s); offering a tagged extent over QMP"
    if qmp "{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"memory-backend-ram\",\"id\":\"gk-tm0\",\"size\":$EXT_LEN,\"tag\":\"$TAG\"}}" \
           "{\"execute\":\"cxl-add-dynamic-capacity\",\"arguments\":{\"path\":\"$DCD_PATH\",\"host-id\":0,\"selection-policy\":\"prescriptive\",\"region\":0,\"tag\":\"$TAG\",\"extents\":[{\"offset\":0,\"len\":$EXT_LEN}]}}" \
           >> "$QMP_LOG" 2>&1; then
        sleep 5   # give the guest's kernel time to react to the DC event
        if qmp "{\"execute\":\"query-cxl-dynamic-capacity\",\"arguments\":{\"path\":\"$DCD_PATH\"}}" > "$WORK/query.log" 2>&1; then
            qmp_ok=1
        fi
        cat "$WORK/query.log" >> "$QMP_LOG"
    fi
    echo go >&3
fi
rc=0
wait "$QPID" || rc=$?
QPID=
elapsed=$(( $(date +%s) - start ))
tr -d '\r' < "$SERIAL_LOG" > "$WORK/serial" && mv "$WORK/serial" "$SERIAL_LOG"

# ---- 5. report and verdict ---------------------------------------------------
set +e   # an empty grep in the report is no error; the verdict is below
section() {   # section NAME TAG: the lines between @@NAME-BEGIN TAG and @@NAME-END TAG
    awk -v b="@@$1-BEGIN $2" -v e="@@$1-END $2" \
        'index($0, e) == 1 { p = 0 } p { print } index($0, b) == 1 { p = 1 }' "$SERIAL_LOG"
}
echo "---- guest: markers ----"
grep -E '^@@(GUEST-START|INSMOD|MEMDEV|MEMDEV-DRIVER|SYSFS|GOT|NO-GO|GUEST-DONE)' "$SERIAL_LOG" | sed 's/^/  /' || true
for when in boot after-dc; do
    echo "---- guest: cxl list -M ($when) ----"
    section CXL-LIST-M "$when" | sed 's/^/  /'
    grep -E "^@@CXL-LIST-M-END $when " "$SERIAL_LOG" | sed 's/^/  /' || true
done
echo "---- guest: cxl list -B -P -E -D -M -T -u (boot) ----"
section CXL-LIST-DETAIL boot | sed 's/^/  /'
echo "---- guest: cxl list -M -I -H -u (boot) ----"
section CXL-LIST-MEMDEV boot | sed 's/^/  /'
echo "---- guest: dmesg | grep -i cxl ----"
sed -n '/^@@DMESG-CXL-BEGIN/,/^@@DMESG-CXL-END/p' "$SERIAL_LOG" | grep -v '^@@' | sed 's/^/  /'
echo "---- host: QMP ----"
sed 's/^/  /' "$QMP_LOG"
if [ -s "$QEMU_ERR" ]; then
    echo "---- host: QEMU stderr ----"
    sed 's/^/  /' "$QEMU_ERR"
fi
echo "---- run time: ${elapsed}s (QEMU exit status $rc) ----"

problems=()
[ $rc = 124 ] || [ $rc = 137 ] && problems+=("the guest did not finish within ${GUEST_TIMEOUT}s")
[ $rc != 0 ] && [ $rc != 124 ] && [ $rc != 137 ] && problems+=("QEMU exited with status $rc")
[ $ready = 1 ] || problems+=("the guest never became ready (no @@READY-FOR-DC)")
grep -q '^@@GUEST-DONE ok' "$SERIAL_LOG" || problems+=("the guest did not finish cleanly (no '@@GUEST-DONE ok')")
for when in boot after-dc; do
    grep -q "^@@CXL-LIST-M-END $when rc=0" "$SERIAL_LOG" || problems+=("cxl list -M ($when) failed or did not run")
    section CXL-LIST-M "$when" | grep -q '"memdev":"mem0"' ||
        problems+=("cxl list -M ($when) does not show \"memdev\":\"mem0\"")
done
grep -qx '@@MEMDEV-DRIVER cxl_mem' "$SERIAL_LOG" ||
    problems+=("cxl_mem did not bind mem0: $(grep '^@@MEMDEV-DRIVER' "$SERIAL_LOG" || echo 'no @@MEMDEV-DRIVER line')")
[ $ready = 0 ] || [ $qmp_ok = 1 ] || problems+=("a QMP command failed (see above)")
# The query's reply (not the command qmp.py prints before it) must list
# the offered extent with its tag.
if [ $qmp_ok = 1 ] && ! python3 - "$WORK/query.log" "$TAG" "$EXT_LEN" <<'EOF'
import json, sys
log, tag, length = sys.argv[1], sys.argv[2], int(sys.argv[3])
reply = next(json.loads(l.split(" -> ", 1)[1]) for l in open(log) if l.startswith("QMP {"))
sys.exit(not any(e.get("tag") == tag and e["region"] == 0 and e["offset"] == 0 and
                 e["len"] == length for e in reply.get("return", [])))
EOF
then
    problems+=("query-cxl-dynamic-capacity does not list the offered tagged extent: $(cat "$WORK/query.log")")
fi
bad=$(grep -nE 'Call Trace|Oops|\bBUG\b|Kernel panic|WARNING:|general protection fault|Unable to handle|RIP:' "$SERIAL_LOG" |
      grep -v '^[0-9]*:@@' || true)
[ -z "$bad" ] || problems+=("the kernel log has oops/BUG/call trace lines:"$'\n'"$bad")
if grep -qiE 'assert|abort|segmentation' "$QEMU_ERR"; then
    problems+=("QEMU reported an assertion/abort on stderr")
fi

if [ ${#problems[@]} -gt 0 ]; then
    echo "---- last lines of the serial log ($SERIAL_LOG) ----"
    tail -n 30 "$SERIAL_LOG" | sed 's/^/  /'
    for p in "${problems[@]}"; do echo "FAIL: check-guest: $p" >&2; done
    exit 1
fi
echo "PASS: check-guest: Debian kernel $krel ($kpkg $kver) probes the DC-only CXL device (cxl list shows mem0, no oops) and survives a tagged DC add (${elapsed}s)"
