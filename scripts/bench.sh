#!/bin/bash
# Boot the bare-metal test guest (guest/guest.elf) under TCG next to an
# emulated CXL Dynamic Capacity Device, offer it capacity over QMP and report.
#
#   scripts/bench.sh [bench|demo|check]       (default: bench)
#
#   bench  guest times 8-byte loads/stores in RAM and in the accepted extent;
#          prints ns/access for both and the ratio          (make bench)
#   demo   guest writes a message into the extent; we show it from the host
#          side (the backing file), then release the capacity (make run)
#   check  guest pattern-writes/verifies the extent, checks an unaccepted DPA,
#          releases; we then verify the pattern in the backing file (make check)
#
# Environment:
#   QEMU=...        qemu-system-x86_64 (default: the tree's build)
#   GUEST=...       guest image (default: guest/guest.elf)
#   DC_MODE=memdev  10.2.2 device: volatile-dc-memdev backs the whole DC region
#   DC_MODE=tagged  DC-only device (dc-regions-total-size), capacity added
#                   with a tag naming a memory-backend-file made by object-add
#   MEM=1G          guest RAM (-m); above 2.75G the window moves, see WINDOW
#   DC_SIZE=1G      DC region size (backend size / dc-regions-total-size)
#   EXTENT_LEN=...  bytes offered (default 256 MiB), at region offset 0
#   TAG=<uuid>      tag used in tagged mode
#   HB_DECODER=1    pxb-cxl with hdm_for_passthrough=on; the guest then also
#                   commits the host bridge's HDM decoder
#   WINDOW=0x...    CFMW base the guest maps the DC region at (default
#                   0x110000000, right for -m up to 2.75G without maxmem;
#                   checked against 'info mtree' at run time)
#   GUEST_ARGS=...  extra guest options, e.g. "buf=2048 trials=7 commit=late"
#   QEMU_EXTRA=...  extra QEMU arguments
#   TIMEOUT=120     seconds before the run is abandoned
#   KEEP=1          keep the work directory (serial log, backing files)
set -euo pipefail

. "$(dirname "$0")/common.sh"
MODE=${1:-bench}
GUEST=${GUEST:-$GUEST_ELF}
DC_MODE=${DC_MODE:-memdev}
MEM=${MEM:-1G}
DC_SIZE=${DC_SIZE:-1G}
EXTENT_LEN=${EXTENT_LEN:-268435456}
TAG=${TAG:-5be13bce-ae34-4a77-b6c3-16df975fcf1a}
HB_DECODER=${HB_DECODER:-0}
WINDOW=${WINDOW:-$CXL_WINDOW}
GUEST_ARGS=${GUEST_ARGS:-}
QEMU_EXTRA=${QEMU_EXTRA:-}
TIMEOUT=${TIMEOUT:-120}
KEEP=${KEEP:-0}

case $MODE in bench|demo|check) ;; *) echo "usage: $0 [bench|demo|check]" >&2; exit 2 ;; esac
case $DC_MODE in memdev|tagged) ;; *) echo "DC_MODE must be memdev or tagged" >&2; exit 2 ;; esac
[ -x "$QEMU" ] || { echo "error: no QEMU binary at $QEMU (build it first)" >&2; exit 2; }
[ -f "$GUEST" ] || { echo "error: no guest image at $GUEST (make -C guest)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cxl-bench.XXXXXX")
SERIAL=$WORK/serial.log
QMP_SOCK=$WORK/qmp.sock
QEMU_PID=
cleanup() {
    stop_pid "$QEMU_PID"
    if [ "$KEEP" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ---- topology ---------------------------------------------------------------

# The DC backend: where guest writes to the extent land on the host.
if [ "$DC_MODE" = memdev ]; then
    BACKING=$WORK/dc0.img           # whole DC region; file offset = DPA
else
    BACKING=$WORK/tm0.img           # one tagged backend; file offset = DPA - extent start
fi

# QEMU's command line: the guest's machine and the CXL topology
# (common.sh), here with one DC region and a 4G window.
guest_machine "$MEM"
if [ "$DC_MODE" = memdev ]; then
    cxl_topology regions=1 size="$DC_SIZE" hbdec="$HB_DECODER" fmw=4G memdev="$BACKING"
else
    cxl_topology regions=1 size="$DC_SIZE" hbdec="$HB_DECODER" fmw=4G
fi
# shellcheck disable=SC2206  # QEMU_EXTRA is a list of arguments
QEMU_ARGS=("${GUEST_MACHINE[@]}" -serial "file:$SERIAL" -qmp "unix:$QMP_SOCK,server=on,wait=off"
           "${CXL_ARGS[@]}" $QEMU_EXTRA)

guest_cmdline() {
    local a="mode=$MODE window=$WINDOW"
    [ "$DC_MODE" = tagged ] && a="$a tag=$TAG"
    [ "$HB_DECODER" = 1 ] && a="$a hbdec=1"
    echo "$a $GUEST_ARGS"
}

# ---- QMP ------------------------------------------------------------------

# qmp CMD_JSON...: one connection, each command in turn; prints each reply
# (and any events) as JSON, fails on an error reply.
qmp() { qmp_py "$QMP_SOCK" "$@"; }

extents_json() { echo "[{\"offset\":0,\"len\":$EXTENT_LEN}]"; }

# Offer EXTENT_LEN bytes at region 0 offset 0 to the guest.
dc_offer() {
    if [ "$DC_MODE" = memdev ]; then
        qmp "{\"execute\":\"cxl-add-dynamic-capacity\",\"arguments\":{\"path\":\"$DCD_PATH\",\"host-id\":0,\"selection-policy\":\"prescriptive\",\"region\":0,\"extents\":$(extents_json)}}"
    else
        qmp "{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"memory-backend-file\",\"id\":\"tm0\",\"size\":$EXTENT_LEN,\"mem-path\":\"$BACKING\",\"share\":true,\"tag\":\"$TAG\"}}" \
            "{\"execute\":\"cxl-add-dynamic-capacity\",\"arguments\":{\"path\":\"$DCD_PATH\",\"host-id\":0,\"selection-policy\":\"prescriptive\",\"region\":0,\"tag\":\"$TAG\",\"extents\":$(extents_json)}}"
    fi
}

# Ask the guest to give the capacity back (it answers with Release DC).
dc_release_request() {
    local tag=""
    [ "$DC_MODE" = tagged ] && tag=",\"tag\":\"$TAG\""
    qmp "{\"execute\":\"cxl-release-dynamic-capacity\",\"arguments\":{\"path\":\"$DCD_PATH\",\"host-id\":0,\"removal-policy\":\"prescriptive\",\"region\":0$tag,\"extents\":$(extents_json)}}"
}

# ---- helpers ----------------------------------------------------------------

# Guest serial lines are echoed as they arrive ("  | ..."), so the host's
# QMP actions show up interleaved with what the guest does.
SHOWN=0
pump() {
    local n
    [ -f "$SERIAL" ] || return 0
    n=$(wc -l < "$SERIAL")
    if [ "$n" -gt "$SHOWN" ]; then
        sed -n "$((SHOWN + 1)),${n}p" "$SERIAL" | tr -d '\r' | sed 's/^/  | /'
        SHOWN=$n
    fi
}

# wait_for REGEX: until the serial log has a matching line (or QEMU died).
wait_for() {
    local deadline=$((SECONDS + TIMEOUT))
    until grep -qE "$1" "$SERIAL" 2>/dev/null; do
        pump
        if ! kill -0 "$QEMU_PID" 2>/dev/null; then
            echo "error: QEMU exited before the guest printed /$1/" >&2; return 1
        fi
        if [ $SECONDS -ge $deadline ]; then
            echo "error: timed out waiting for /$1/" >&2; return 1
        fi
        sleep 0.1
    done
    pump
}

# Waits for QEMU to exit; isa-debug-exit status 1 means the guest passed.
wait_exit() {
    local deadline=$((SECONDS + TIMEOUT)) st=0
    while kill -0 "$QEMU_PID" 2>/dev/null; do
        pump
        if [ $SECONDS -ge $deadline ]; then
            echo "error: guest did not finish within ${TIMEOUT}s" >&2; return 1
        fi
        sleep 0.2
    done
    wait "$QEMU_PID" || st=$?
    QEMU_PID=
    pump
    if [ $st -ne 1 ]; then
        echo "error: guest failed (QEMU exit status $st; 1 = pass, 3 = guest error)" >&2
        return 1
    fi
}

# The guest cannot discover the window base without parsing ACPI CEDT, so it
# is told (window=); make sure QEMU agrees before offering capacity.
check_window() { qmp_py --check-window "$QMP_SOCK" "$WINDOW"; }

# Whether the accepted extent reaches the guest as RAM (a cxl-dc-direct-map
# alias in the window) or through the MMIO path: says which one a bench run
# measured.  'info mtree' lists a tree once per view, hence sort -u.
show_direct_map() {
    local maps
    maps=$(qmp_py --hmp "$QMP_SOCK" info mtree |
        grep -o 'alias cxl-dc-direct-map @[^ ]* [0-9a-f]*-[0-9a-f]*' | sort -u || true)
    if [ -n "$maps" ]; then
        echo "host: direct map: $maps" | head -1
    else
        echo "host: direct map: none (the extent is reached through the MMIO path)"
    fi
}

# The first accepted extent's DPA, from the guest's EXTENT line.
extent_dpa() {
    printf '%d' "$(sed -n 's/.*EXTENT dpa=\(0x[0-9a-f]*\).*/\1/p' "$SERIAL" | tr -d '\r' | head -1)"
}

# Offset of that extent in the backing file.
file_offset() {
    if [ "$DC_MODE" = memdev ]; then extent_dpa; else echo 0; fi
}

# ---- run --------------------------------------------------------------------

echo "== cxl-tagmem $MODE: TCG, DC_MODE=$DC_MODE, extent $EXTENT_LEN bytes =="
"$QEMU" "${QEMU_ARGS[@]}" -kernel "$GUEST" -append "$(guest_cmdline)" \
    >"$WORK/qemu.out" 2>&1 &
QEMU_PID=$!

ok=1
wait_for '^READY' && check_window && dc_offer || ok=0
if [ $ok = 1 ] && [ "$MODE" = bench ]; then
    wait_for '^EXTENT ' && show_direct_map || ok=0
fi
if [ $ok = 1 ] && [ "$MODE" = demo ]; then
    if wait_for '^DEMO waiting'; then
        off=$(file_offset)
        echo "host: reading $BACKING at offset $off:"
        python3 -c 'import sys; f=open(sys.argv[1],"rb"); f.seek(int(sys.argv[2])); print("host:   \"" + f.read(512).split(b"\0")[0].decode(errors="replace") + "\"")' "$BACKING" "$off"
        echo "host: asking the guest to release the capacity"
        dc_release_request || ok=0
    else
        ok=0
    fi
fi
[ $ok = 1 ] && { wait_exit || ok=0; }
pump
if [ -s "$WORK/qemu.out" ]; then echo "-- qemu stderr --"; sed 's/^/  ! /' "$WORK/qemu.out"; fi
[ $ok = 1 ] || exit 1

case $MODE in
bench)
    # RESULT <name> load_ns=X store_ns=Y load_min_ns=.. store_min_ns=.. ...
    tr -d '\r' < "$SERIAL" | awk '
        /^RESULT (ram|dc) / {
            for (i = 3; i <= NF; i++) { split($i, kv, "="); v[$2, kv[1]] = kv[2] }
        }
        function row(name, a, b, fmt) { printf "%-34s " fmt " " fmt "\n", name, a, b }
        END {
            if (v["ram","load_ns"] == "" || v["dc","load_ns"] == "") { print "error: no RESULT lines"; exit 1 }
            printf "\n%-34s %12s %12s\n", "median of trials", "load ns/op", "store ns/op"
            for (k = 0; k < 2; k++) {
                sfx = k ? "_min_ns" : "_ns"
                if (k) printf "%-34s %12s %12s\n", "best trial (min)", "", ""
                rl = v["ram","load" sfx]; rs = v["ram","store" sfx]
                dl = v["dc","load" sfx];  ds = v["dc","store" sfx]
                row("  guest RAM", rl, rs, "%12.3f")
                row("  DC extent via CFMW", dl, ds, "%12.3f")
                row("  slowdown (extent/RAM)", dl / rl, ds / rs, "%11.1fx")
                row("  throughput ratio (extent/RAM)", rl / dl, rs / ds, "%12.3f")
            }
            print "(slowdown = extent time / RAM time; throughput ratio = extent throughput /"
            print " RAM throughput = RAM time / extent time; target with direct mapping >= 0.8)"
        }'
    ;;
check)
    # The guest wrote pattern(dpa) at these offsets of each extent; the data
    # must be in the backing file at the right place, and stay after release.
    python3 - "$BACKING" "$(file_offset)" "$(extent_dpa)" "$EXTENT_LEN" <<'EOF'
import struct, sys
path, fbase, dpa, length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
M = (1 << 64) - 1
pattern = lambda dpa: (dpa * 0x9E3779B97F4A7C15 + 0x0123456789ABCDEF) & M
offs = [0, 8, (1 << 20) - 8] + list(range(1 << 20, length, 1 << 16)) + [length - 8]
bad = 0
with open(path, "rb") as f:
    for o in offs:
        f.seek(fbase + o)
        got = struct.unpack("<Q", f.read(8))[0]
        if got != pattern(dpa + o):
            bad += 1
            if bad <= 5:
                print("HOST FAIL %s @0x%x: 0x%016x want 0x%016x" % (path, fbase + o, got, pattern(dpa + o)))
print("HOST check %s: %d offsets, %d mismatches -> %s" % (path, len(offs), bad, "PASS" if not bad else "FAIL"))
sys.exit(1 if bad else 0)
EOF
    ;;
demo)
    echo "demo finished"
    ;;
esac
