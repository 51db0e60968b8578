#!/bin/bash
# End-to-end test of tagged dynamic capacity, driven the way a person does
# it: through QEMU's own scripts/qmp/qmp-shell, one typed line at a time.
#
# QEMU (TCG) runs the design's typical DC-only topology (design.md section 1:
# pxb-cxl with hdm_for_passthrough=on, one root port, a cxl-type3 with
# dc-regions-total-size and no memory of its own).  The guest is
# guest/guest.elf in mode=serve: it accepts every capacity offer, stamps a
# line at the start of each accepted extent and answers every release
# request (guest/README.md).  The scenario:
#
#   object-add a tagged memory-backend-file (1 GiB)
#   stop; cxl-add-dynamic-capacity with the tag, as two extents
#   query: both pending, bound to the backend; migrate refused
#   cont; the guest accepts: query shows them accepted, the accepted event
#   arrives, the guest's lines are in the backend file at the right slices
#   object-del refused naming the device; migrate refused naming the device
#   tag-based cxl-release-dynamic-capacity with extents=[]; the guest
#   releases: released event, query empty, data still in the file
#   object-del works; migrate to a file works again; send-key q ends the
#   guest, which reports no error
#
# Every qmp-shell reply is checked (exact JSON fragments, or the parsed
# reply); the session is saved as a transcript (path printed at the end).
#
#   bash tests/qmp-shell.sh          (from the repo root; 'make check' does)
#
# Environment: QEMU=..., TRANSCRIPT=... (default build/test-logs/qmp-shell.transcript),
# STEP_TIMEOUT=20 (seconds to wait for any one step).
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"
QMP_SHELL=$QEMU_SRC/scripts/qmp/qmp-shell
GUEST=$GUEST_ELF
LOGDIR=$TOP/build/test-logs
TRANSCRIPT=${TRANSCRIPT:-$LOGDIR/qmp-shell.transcript}
SERIAL_COPY=${TRANSCRIPT%.transcript}.serial.log
STEP_TIMEOUT=${STEP_TIMEOUT:-20}

TAG=5be13bce-ae34-4a77-b6c3-16df975fcf1a
DCD=$DCD_PATH
BACKEND_SIZE=1073741824             # 1 GiB backend ...
EXT0_OFF=0                          # ... offered as two extents of region 0:
EXT0_LEN=268435456                  # 256 MiB at offset 0 -> backend [0, 256M)
EXT1_OFF=536870912                  # 768 MiB at offset 512 MiB
EXT1_LEN=805306368                  #                    -> backend [256M, 1G)
WINDOW=$CXL_WINDOW                  # checked below

fail() {
    echo "FAIL: $*" >&2
    if [ -s "$TRANSCRIPT" ]; then
        echo "---- last lines of the qmp-shell transcript ($TRANSCRIPT) ----" >&2
        tail -n 25 "$TRANSCRIPT" >&2
    fi
    if [ -n "${SERIAL:-}" ] && [ -f "$SERIAL" ]; then
        echo "---- last lines of the guest serial log (kept in $SERIAL_COPY) ----" >&2
        tail -n 15 "$SERIAL" | tr -d '\r' >&2
    fi
    exit 1
}
ok() { echo "ok: $*"; }

# The transcript is this run's, from the start: fail() shows its tail.
mkdir -p "$(dirname "$TRANSCRIPT")"
: > "$TRANSCRIPT"
rm -f "$SERIAL_COPY"

# ---- prerequisites: a missing piece is an error, never a skip --------------

[ -x "$QEMU" ] || fail "no QEMU binary at $QEMU (build it first)"
[ -f "$QMP_SHELL" ] || fail "no qmp-shell at $QMP_SHELL"
command -v python3 >/dev/null || fail "python3 not found"
# make is a no-op when the guest is up to date, and rebuilds a stale one
# (an old image without mode=serve would fail in a confusing way).
make -s --no-print-directory -C "$TOP/guest" || fail "cannot build the guest (make -C guest)"
[ -f "$GUEST" ] || fail "no guest image at $GUEST"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cxl-qmp-shell.XXXXXX")
SERIAL=$WORK/serial.log
SOCK=$WORK/qmp.sock
FIFO=$WORK/shell.in
BACKING=$WORK/tm0.img
MIGFILE=$WORK/vm.mig
QEMU_PID=
SHELL_PID=

cleanup() {
    local rc=$?
    exec 3>&-                                   # EOF for qmp-shell
    stop_pid "$SHELL_PID" "$QEMU_PID"
    [ -f "$SERIAL" ] && tr -d '\r' < "$SERIAL" > "$SERIAL_COPY"
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- QEMU and the serving guest --------------------------------------------

# The design's typical topology (scripts/common.sh).
serve_guest_args "$SERIAL" "$SOCK"
"$QEMU" "${QEMU_ARGS[@]}" > "$WORK/qemu.out" 2>&1 &
QEMU_PID=$!

# wait_serial REGEX WHAT: until a guest serial line matches.
wait_serial() {
    local deadline=$((SECONDS + STEP_TIMEOUT))
    until [ -f "$SERIAL" ] && tr -d '\r' < "$SERIAL" | grep -qE "$1"; do
        kill -0 "$QEMU_PID" 2>/dev/null ||
            fail "QEMU exited while waiting for the guest to print /$1/ ($2): $(cat "$WORK/qemu.out")"
        [ $SECONDS -lt $deadline ] || fail "timed out waiting for the guest to print /$1/ ($2)"
        sleep 0.1
    done
}

wait_serial '^READY serving' "guest start-up"
ok "guest is serving (PCI, mailbox, host bridge and device decoders set up)"
grep -q '^SERVE ERROR\|^ERROR' "$SERIAL" && fail "guest reported an error during start-up"

# The guest cannot read the window base from ACPI, it is told window=.
# QMP takes one client at a time, so ask before qmp-shell connects.
err=$(qmp_py --check-window "$SOCK" "$WINDOW" 2>&1) || fail "$err"
ok "CXL fixed memory window at $WINDOW, as the guest was told"

# ---- qmp-shell ---------------------------------------------------------------

# qmp-shell reads its input from a FIFO that we keep open on fd 3 and prints
# (unbuffered) into the transcript.  -v echoes each command as the JSON it
# sends.  HOME points into the work directory: qmp-shell saves its readline
# history in ~/.qmp-shell_history, which is not ours to touch.
mkfifo "$FIFO"
HOME=$WORK PYTHONUNBUFFERED=1 \
    "$QMP_SHELL" -v "$SOCK" < "$FIFO" >> "$TRANSCRIPT" 2>&1 &
SHELL_PID=$!
exec 3> "$FIFO"

prompts() { grep -c '^(QEMU) ' "$TRANSCRIPT" || true; }

# wait_prompt N: until qmp-shell has printed its N-th prompt, i.e. it has
# finished the previous command and waits for input.
wait_prompt() {
    local deadline=$((SECONDS + STEP_TIMEOUT))
    until [ "$(prompts)" -ge "$1" ]; do
        kill -0 "$SHELL_PID" 2>/dev/null || fail "qmp-shell exited unexpectedly"
        [ $SECONDS -lt $deadline ] || fail "timed out waiting for qmp-shell's prompt"
        sleep 0.05
    done
}

NSENT=0
OUT=
# qsh LINE: type LINE at the (QEMU) prompt and wait for the next prompt.
# The line is also written into the transcript after the prompt, as a
# terminal would echo it.  OUT gets what qmp-shell printed in between: the
# JSON it sent (-v), the reply and, for an empty line, the pending events.
qsh() {
    local start
    wait_prompt $((NSENT + 1))
    kill -0 "$SHELL_PID" 2>/dev/null || fail "qmp-shell exited unexpectedly"
    start=$(stat -c %s "$TRANSCRIPT")
    printf '%s\n' "$1" >> "$TRANSCRIPT"
    printf '%s\n' "$1" >&3
    NSENT=$((NSENT + 1))
    wait_prompt $((NSENT + 1))
    # drop the echoed input line and the trailing new prompt
    OUT=$(tail -c +"$((start + 1))" "$TRANSCRIPT" | sed '1d;$d')
}

# expect TEXT WHAT: TEXT must appear verbatim in qmp-shell's last output.
expect() {
    grep -qF -- "$1" <<< "$OUT" || fail "$2: expected $1 in qmp-shell's output, got:
$OUT"
}

# expect_return JSON WHAT: the reply's "return" value must equal JSON
# (lists compare regardless of order).
expect_return() {
    python3 - "$1" "$OUT" <<'EOF' || fail "$2: expected {\"return\": $1}, got:
$OUT"
import json, sys
def norm(v):
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return sorted((norm(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
    return v
want = json.loads(sys.argv[1])
replies = [json.loads(l) for l in sys.argv[2].splitlines()
           if l.startswith('{"return"') or l.startswith('{"error"')]
sys.exit(0 if replies and "return" in replies[-1] and norm(replies[-1]["return"]) == norm(want) else 1)
EOF
}

# expect_error_naming TEXT WHAT: an error reply whose message contains TEXT.
expect_error_naming() {
    python3 - "$1" "$OUT" <<'EOF' || fail "$2: expected an error naming $1, got:
$OUT"
import json, sys
replies = [json.loads(l) for l in sys.argv[2].splitlines() if l.startswith('{"error"')]
sys.exit(0 if replies and sys.argv[1] in replies[-1]["error"]["desc"] else 1)
EOF
}

# file_text OFFSET: the NUL-terminated text at OFFSET of the backend file.
file_text() {
    python3 - "$BACKING" "$1" <<'EOF'
import sys
with open(sys.argv[1], "rb") as f:
    f.seek(int(sys.argv[2]))
    print(f.read(512).split(b"\0")[0].decode(errors="replace"))
EOF
}

# check_stamp OFFSET DPA LEN WHAT: the guest's line for the extent at DPA is
# at OFFSET of the backend file (the extents take consecutive slices).
check_stamp() {
    local got want
    want=$(printf 'cxl-tagmem guest: dpa=0x%x len=0x%x tag=%s: ' "$2" "$3" "$TAG")
    got=$(file_text "$1")
    case $got in
    "$want"*) ok "$4: backend file offset $1 holds \"${got:0:80}...\"" ;;
    *) fail "$4: backend file offset $1 holds \"$got\", expected it to start with \"$want\"" ;;
    esac
}

EXTENTS="[{\"offset\":$EXT0_OFF,\"len\":$EXT0_LEN},{\"offset\":$EXT1_OFF,\"len\":$EXT1_LEN}]"
entry() {   # entry STATUS OFFSET LEN: one query-cxl-dynamic-capacity element
    echo "{\"region\":0,\"offset\":$2,\"len\":$3,\"status\":\"$1\",\"tag\":\"$TAG\",\"memdev\":\"tm0\"}"
}
both() { echo "[$(entry "$1" $EXT0_OFF $EXT0_LEN),$(entry "$1" $EXT1_OFF $EXT1_LEN)]"; }

wait_prompt 1
grep -q '^Connected to QEMU' "$TRANSCRIPT" || fail "qmp-shell did not connect"
ok "qmp-shell connected to $SOCK"

qsh "query-cxl-dynamic-capacity path=$DCD"
expect_return '[]' "query before any capacity"
ok "query-cxl-dynamic-capacity: nothing yet"

qsh "object-add qom-type=memory-backend-file id=tm0 size=$BACKEND_SIZE mem-path=$BACKING share=true tag=$TAG"
expect '{"return": {}}' "object-add of the tagged backend"
ok "object-add memory-backend-file id=tm0 size=1G tag=$TAG"

# Stopped vCPUs cannot answer, so the offer is seen pending, not already
# accepted 1 ms later.
qsh "stop"
expect '{"return": {}}' "stop"
qsh "cxl-add-dynamic-capacity path=$DCD host-id=0 selection-policy=prescriptive region=0 tag=$TAG extents=$EXTENTS"
expect '{"return": {}}' "cxl-add-dynamic-capacity with the tag"
ok "cxl-add-dynamic-capacity: two extents (256 MiB at 0, 768 MiB at 512 MiB) tagged $TAG"

qsh "query-cxl-dynamic-capacity path=$DCD"
expect '"status": "pending"' "query while the guest is stopped"
expect_return "$(both pending)" "query while the guest is stopped"
ok "query: both extents pending, tag and memdev tm0 shown"

qsh "migrate uri=file:$MIGFILE"
expect '{"error": {' "migrate while capacity is pending"
expect_error_naming "$DCD" "migrate while capacity is pending"
ok "migrate refused while pending, naming $DCD"

qsh "cont"
expect '{"return": {}}' "cont"
wait_serial "^SERVE accepted dpa=0x$(printf %x $EXT1_OFF) " "the guest accepting the offer"
wait_serial '^SERVE extent list: 2 accepted' "the guest stamping the extents"
grep -q '^SERVE ERROR' "$SERIAL" && fail "guest: $(grep '^SERVE ERROR' "$SERIAL" | head -1)"
ok "guest accepted both extents (one Add DC Response) and wrote through the window"

qsh "query-cxl-dynamic-capacity path=$DCD"
expect '"status": "accepted"' "query after the guest accepted"
expect '"memdev": "tm0"' "query after the guest accepted"
expect_return "$(both accepted)" "query after the guest accepted"
ok "query: both extents accepted, bound to memdev tm0"

# qmp-shell prints the events it has received when given an empty line
# (as Python dicts); the query above made it read them off the socket.
qsh ""
expect "'event': 'CXL_DYNAMIC_CAPACITY_CHANGE'" "accepted event"
expect "'change': 'accepted'" "accepted event"
expect "'path': '$DCD'" "accepted event"
expect "'tag': '$TAG'" "accepted event"
expect "'extents': [{'len': $EXT0_LEN, 'offset': $EXT0_OFF}, {'len': $EXT1_LEN, 'offset': $EXT1_OFF}]" "accepted event"
ok "event CXL_DYNAMIC_CAPACITY_CHANGE change=accepted with both extents and the tag"

check_stamp 0 $EXT0_OFF $EXT0_LEN "extent 0 -> first slice"
check_stamp $EXT0_LEN $EXT1_OFF $EXT1_LEN "extent 1 -> second slice"

qsh "object-del id=tm0"
expect "\"desc\": \"object 'tm0' is in use by $DCD, can not be deleted\"" "object-del of a bound backend"
ok "object-del refused: object 'tm0' is in use by $DCD"

qsh "migrate uri=file:$MIGFILE"
expect '{"error": {' "migrate while capacity is accepted"
expect_error_naming "$DCD" "migrate while capacity is accepted"
ok "migrate refused while accepted, naming $DCD"

qsh "cxl-release-dynamic-capacity path=$DCD host-id=0 removal-policy=tag-based region=0 tag=$TAG extents=[]"
expect '{"return": {}}' "tag-based release"
wait_serial "^SERVE released dpa=0x$(printf %x $EXT1_OFF) " "the guest releasing"
wait_serial '^SERVE extent list: 0 accepted' "the guest releasing"
grep -q '^SERVE ERROR' "$SERIAL" && fail "guest: $(grep '^SERVE ERROR' "$SERIAL" | head -1)"
ok "cxl-release-dynamic-capacity removal-policy=tag-based extents=[]: guest released both (Release DC)"

qsh "query-cxl-dynamic-capacity path=$DCD"
expect '{"return": []}' "query after the release"
ok "query: nothing left"

qsh ""
expect "'change': 'released'" "released event"
expect "'tag': '$TAG'" "released event"
expect "'extents': [{'len': $EXT0_LEN, 'offset': $EXT0_OFF}, {'len': $EXT1_LEN, 'offset': $EXT1_OFF}]" "released event"
ok "event CXL_DYNAMIC_CAPACITY_CHANGE change=released with both extents and the tag"

# design 3.3: data in a file-backed backend stays in the file
check_stamp 0 $EXT0_OFF $EXT0_LEN "after release, extent 0's data"
check_stamp $EXT0_LEN $EXT1_OFF $EXT1_LEN "after release, extent 1's data"

qsh "object-del id=tm0"
expect '{"return": {}}' "object-del after the release"
ok "object-del id=tm0 works once nothing is bound"

# The blocker must be gone: a migration to a file now runs to completion.
qsh "migrate uri=file:$MIGFILE"
expect '{"return": {}}' "migrate after the release"
deadline=$((SECONDS + STEP_TIMEOUT))
while :; do
    qsh "query-migrate"
    grep -qF '"status": "completed"' <<< "$OUT" && break
    grep -qF '"status": "failed"' <<< "$OUT" && fail "migration after the release failed: $OUT"
    [ $SECONDS -lt $deadline ] || fail "migration after the release did not complete: $OUT"
    sleep 0.2
done
ok "migrate uri=file:... allowed again and completed"
qsh "cont"
expect '{"return": {}}' "cont after the migration"

# EOF ends qmp-shell.  It goes first: the key below makes QEMU exit, and a
# qmp-shell still connected then would see the socket close under it.
exec 3>&-
st=0
wait "$SHELL_PID" || st=$?
SHELL_PID=
[ $st -eq 0 ] || fail "qmp-shell exited with status $st"
ok "qmp-shell closed on EOF"

# 'q' on the PS/2 keyboard tells the serving guest to stop (guest/README.md);
# QEMU exits through isa-debug-exit, 1 = guest passed.
err=$(qmp_py "$SOCK" '{"execute": "send-key", "arguments": {"keys": [{"type": "qcode", "data": "q"}]}}' 2>&1) ||
    fail "send-key q: $err"
wait_serial '^DONE mode=serve' "the guest finishing"
grep -q '^DONE mode=serve rc=0' "$SERIAL" ||
    fail "guest finished with errors: $(tr -d '\r' < "$SERIAL" | grep -E '^SERVE (ERROR|done)')"
st=0
wait "$QEMU_PID" || st=$?
QEMU_PID=
[ $st -eq 1 ] || fail "QEMU exit status $st (1 = the guest passed): $(cat "$WORK/qemu.out")"
ok "guest stopped on send-key q with no error; QEMU exit status 1 (pass)"

echo "PASS: qmp-shell scenario ($NSENT lines typed into qmp-shell)"
echo "transcript: $TRANSCRIPT"
echo "guest serial log: $SERIAL_COPY"
