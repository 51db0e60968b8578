#!/bin/bash
# 'make run-shared': one tagged allocation in two VMs (design.md section 9,
# the famfs case).  Two QEMU processes, each with the topology of 'make run'
# (a DC-only cxl-type3 with one DC region, here sharable:
# dc-regions-sharable=1) and the bare-metal guest in mode=serve.  Each gets a
# memory-backend-file of the SAME file (share=on) with the SAME tag, and the
# same extents.  Guest A writes a message at the start of each extent; guest
# B, which writes nothing (write=0), reads it through its own CXL window when
# it gets the key 'r' (guest/README.md); the host prints the file.  Then the
# capacity is released in VM A only: B still reads the message and the file
# still holds it.
#
# Every step is checked: exit status 0 only if B read A's exact text (with a
# per-run nonce) both times, the file holds it, A's release left B's extents
# accepted, and both guests ended without error.
#
# Environment:
#   SHARABLE=1     dc-regions-sharable=1 on both devices (SHARABLE=0: without
#                  the property; the sharing is the file either way)
#   QEMU=...       qemu-system-x86_64 (default: the tree's build)
#   QEMU_EXTRA=... more QEMU arguments for both VMs, for example
#                  "-global cxl-type3.x-dc-direct-map=off" (the MMIO path)
#   TIMEOUT=60     seconds to wait for any one step
#   KEEP=1         keep the work directory (serial logs, the shared file)
set -euo pipefail
. "$(dirname "$0")/common.sh"

SHARABLE=${SHARABLE:-1}
QEMU_EXTRA=${QEMU_EXTRA:-}
TIMEOUT=${TIMEOUT:-60}
KEEP=${KEEP:-0}
TAG=5be13bce-ae34-4a77-b6c3-16df975fcf1a
MiB=1048576
# One 256 MiB backend, offered as two extents of region 0 (2 MiB aligned):
# 128 MiB at offset 0 -> file [0, 128M), 128 MiB at 512 MiB -> file [128M, 256M).
BACKEND_SIZE=$((256 * MiB))
EXT_OFF=(0 $((512 * MiB)))
EXT_LEN=($((128 * MiB)) $((128 * MiB)))
EXT_FILE=(0 $((128 * MiB)))
EXTENTS="[{\"offset\":${EXT_OFF[0]},\"len\":${EXT_LEN[0]}},{\"offset\":${EXT_OFF[1]},\"len\":${EXT_LEN[1]}}]"
NONCE=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
MSG="written by guest A, nonce $NONCE"

fail() {
    local vm
    echo "FAIL: $*" >&2
    for vm in A B; do
        [ -f "$WORK/$vm.serial" ] || continue
        echo "---- last lines of guest $vm's serial log ----" >&2
        tail -n 12 "$WORK/$vm.serial" | tr -d '\r' >&2
        [ -s "$WORK/$vm.out" ] && sed "s/^/  $vm ! /" "$WORK/$vm.out" >&2
    done
    exit 1
}

[ -x "$QEMU" ] || fail "no QEMU binary at $QEMU (build it first: make build)"
make -s --no-print-directory -C "$TOP/guest" || fail "cannot build the guest (make -C guest)"
case $SHARABLE in
1) "$QEMU" -device cxl-type3,help 2>/dev/null | grep -q 'dc-regions-sharable=' ||
       fail "this QEMU has no cxl-type3 property dc-regions-sharable (SHARABLE=0 runs without it)" ;;
0) ;;
*) fail "SHARABLE must be 0 or 1" ;;
esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cxl-shared.XXXXXX")
SHARED=$WORK/shared.img
declare -A PID=() SHOWN=()
cleanup() {
    local rc=$?
    stop_pid "${PID[A]:-}" "${PID[B]:-}"
    if [ "$KEEP" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# set -e stops on a failed command in a function too; say where (once,
# from the main shell).
set -E
trap '[ "$BASH_SUBSHELL" = 0 ] || exit 1; fail "unexpected error at line $LINENO: $BASH_COMMAND"' ERR

# ---- the two VMs -----------------------------------------------------------

SERVE_TOPOLOGY=(regions=1 size=1G fmw=4G)
[ "$SHARABLE" = 1 ] && SERVE_TOPOLOGY+=(sharable=1)

# start_vm VM GUEST_OPTION...: QEMU with the serving guest in the background.
start_vm() {
    local vm=$1
    shift
    serve_guest_args "$WORK/$vm.serial" "$WORK/$vm.qmp" "$@"
    # shellcheck disable=SC2086  # QEMU_EXTRA is a list of arguments
    "$QEMU" "${QEMU_ARGS[@]}" $QEMU_EXTRA > "$WORK/$vm.out" 2>&1 &
    PID[$vm]=$!
    SHOWN[$vm]=0
}

# show VM: the guest's new serial lines, but for its start-up chatter.
show() {
    local n f=$WORK/$1.serial
    [ -f "$f" ] || return 0
    n=$(wc -l < "$f")
    if [ "$n" -gt "${SHOWN[$1]}" ]; then
        sed -n "$((SHOWN[$1] + 1)),${n}p" "$f" | tr -d '\r' |
            { grep -E '^(READY|SERVE|ERROR|DONE)' || true; } | sed "s/^/  $1 | /"
        SHOWN[$1]=$n
    fi
}

# wait_guest VM REGEX [N]: until the guest has printed N (default 1) lines
# matching REGEX.
wait_guest() {
    local vm=$1 deadline=$((SECONDS + TIMEOUT))
    until [ "$({ tr -d '\r' < "$WORK/$vm.serial"; } 2>/dev/null | grep -cE "$2")" -ge "${3:-1}" ]; do
        show "$vm"
        kill -0 "${PID[$vm]}" 2>/dev/null || fail "QEMU $vm exited before guest $vm printed /$2/"
        [ $SECONDS -lt $deadline ] || fail "timed out waiting for guest $vm to print /$2/"
        sleep 0.1
    done
    show "$vm"
}

# qmp VM CMD_JSON...: QMP commands to that VM (scripts/qmp.py), shown.
qmp() {
    local vm=$1 rc=0
    shift
    qmp_py "$WORK/$vm.qmp" "$@" 2>&1 | sed "s/^/$vm: /" || rc=$?
    [ $rc -eq 0 ] || fail "QMP to $vm failed"
}

send_key() {
    qmp_py "$WORK/$1.qmp" "{\"execute\":\"send-key\",\"arguments\":{\"keys\":[{\"type\":\"qcode\",\"data\":\"$2\"}]}}" \
        > /dev/null || fail "send-key $2 to $1 failed"
}

# The same backend (same file, share=on, same tag) and the same extents.
offer() {
    qmp "$1" "{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"memory-backend-file\",\"id\":\"tm0\",\"size\":$BACKEND_SIZE,\"mem-path\":\"$SHARED\",\"share\":true,\"tag\":\"$TAG\"}}" \
        "{\"execute\":\"cxl-add-dynamic-capacity\",\"arguments\":{\"path\":\"$DCD_PATH\",\"host-id\":0,\"selection-policy\":\"prescriptive\",\"region\":0,\"tag\":\"$TAG\",\"extents\":$EXTENTS}}"
    wait_guest "$1" '^SERVE extent list: 2 accepted'
}

# The line guest A writes at the start of extent I (guest/main.c stamp()).
expected() {
    printf 'cxl-tagmem guest: dpa=0x%x len=0x%x tag=%s: %s' "${EXT_OFF[$1]}" "${EXT_LEN[$1]}" "$TAG" "$MSG"
}

# b_reads N: key 'r' to B for the N-th time; in B's answer (the lines
# before its N-th "SERVE read K extent(s)"), each extent must start with A's
# line, read through B's own window.
b_reads() {
    local i got dpa
    echo "host: send-key r to B (read the start of each extent through the window of B)"
    send_key B r
    wait_guest B '^SERVE read [0-9]+ extent' "$1"
    tr -d '\r' < "$WORK/B.serial" | grep -E '^SERVE read [0-9]+ extent' | sed -n "$1p" |
        grep -q '^SERVE read 2 extent' || fail "guest B does not hold both extents"
    for i in 0 1; do
        dpa=$(printf '0x%x' "${EXT_OFF[$i]}")
        got=$(tr -d '\r' < "$WORK/B.serial" | awk -v n="$1" -v dpa="$dpa" '
            /^SERVE read [0-9]+ extent/ { k++; next }
            k == n - 1 && index($0, "SERVE read ") == 1 && index($0, " dpa=" dpa " ") {
                sub(/^[^:]*: /, ""); print }')
        [ "$got" = "$(expected $i)" ] ||
            fail "guest B read \"$got\" at dpa $dpa, expected \"$(expected $i)\""
    done
}

# file_check: the host reads the shared file; A's lines are at the slices.
file_check() {
    local i got
    for i in 0 1; do
        got=$(dd if="$SHARED" bs=256 count=1 skip="${EXT_FILE[$i]}" iflag=skip_bytes status=none |
              tr '\0' '\n' | head -n 1)
        echo "host: $SHARED at offset ${EXT_FILE[$i]}: \"$got\""
        [ "$got" = "$(expected $i)" ] || fail "the shared file at offset ${EXT_FILE[$i]} holds \"$got\""
    done
}

# b_still_accepted: VM B's device still has both extents, bound to its tm0.
b_still_accepted() {
    local q
    q=$(qmp_py "$WORK/B.qmp" "{\"execute\":\"query-cxl-dynamic-capacity\",\"arguments\":{\"path\":\"$DCD_PATH\"}}") ||
        fail "query-cxl-dynamic-capacity in B failed: $q"
    [ "$(grep -o '"status": "accepted"' <<< "$q" | wc -l)" -eq 2 ] ||
        fail "the extents in B are not both accepted after the release in A: $q"
    echo "host: query-cxl-dynamic-capacity in B: both extents still accepted"
}

dev="cxl-type3 num-dc-regions=1 dc-regions-total-size=1G"
[ "$SHARABLE" = 1 ] && dev+=" dc-regions-sharable=1" || dev+=" (SHARABLE=0: no dc-regions-sharable)"
cat <<EOT
==> Demo: one tagged allocation shared by two VMs
    QEMU A and QEMU B (TCG), each: q35, pxb-cxl -> cxl-rp -> $dev
    each VM: object-add memory-backend-file mem-path=<one file> share=on tag=$TAG,
             cxl-add-dynamic-capacity: the same two extents (128 MiB at 0 and at 512 MiB)
    guest A (mode=serve) writes a line at the start of each extent it accepts;
    guest B (mode=serve write=0) reads them through its own window on key 'r'
EOT
start_vm A "msg=$MSG"
start_vm B write=0
wait_guest A '^READY serving'
wait_guest B '^READY serving'
for vm in A B; do
    err=$(qmp_py --check-window "$WORK/$vm.qmp" "$CXL_WINDOW" 2>&1) || fail "$vm: $err"
done

echo "host: the shared file is $SHARED; offering it to A"
offer A
echo "host: offering the same file, tag and extents to B"
offer B
maps=$(qmp_py --hmp "$WORK/B.qmp" info mtree | { grep -o "alias cxl-dc-direct-map @tm0 [0-9a-f]*-[0-9a-f]*" || true; } | sort -u | wc -l)
echo "host: info mtree in B: $maps cxl-dc-direct-map alias(es) of tm0 (0: B reads through the MMIO path)"
b_reads 1
file_check

echo "host: releasing the capacity in VM A only"
qmp A "{\"execute\":\"cxl-release-dynamic-capacity\",\"arguments\":{\"path\":\"$DCD_PATH\",\"host-id\":0,\"removal-policy\":\"tag-based\",\"region\":0,\"tag\":\"$TAG\",\"extents\":[]}}"
wait_guest A '^SERVE extent list: 0 accepted'
b_still_accepted
b_reads 2
file_check

for vm in A B; do send_key "$vm" q; done
for vm in A B; do
    wait_guest "$vm" '^DONE mode=serve'
    tr -d '\r' < "$WORK/$vm.serial" | grep -q '^DONE mode=serve rc=0' || fail "guest $vm reported errors"
    st=0
    wait "${PID[$vm]}" || st=$?
    PID[$vm]=
    [ $st -eq 1 ] || fail "QEMU $vm exit status $st (1 = the guest passed)"
done
echo "PASS: guest B read the message of guest A through its own CXL window, before and"
echo "      after VM A released the capacity; the shared file still holds it"
