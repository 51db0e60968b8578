#!/bin/bash
# scripts/interactive.sh does what it prints: start it in the background,
# take the qmp-shell line and the example commands from its output, type
# each example into qmp-shell, check every reply (and what the guest did in
# between), then stop it with --stop.
#
# The instance runs on sockets and a state directory of its own (QMP_SOCK,
# HMP_SOCK, STATE_DIR), so a user's interactive session is left alone.
#
#   bash tests/interactive.sh        (from anywhere; 'make check' runs it)
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"
SCRIPT=scripts/interactive.sh
STEP_TIMEOUT=15                     # seconds for the guest to answer

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# ---- prerequisites: a missing piece is an error, never a skip --------------

[ -x "$TOP/$SCRIPT" ] || fail "no $SCRIPT"
[ -x "$QEMU" ] || fail "no QEMU binary (build it first)"
[ -f "$TOP/build/qemu/scripts/qmp/qmp-shell" ] || fail "no qmp-shell in build/qemu"
[ -x /usr/bin/python3 ] || fail "/usr/bin/python3 not found"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cxl-interactive.XXXXXX")
export QMP_SOCK=$WORK/qmp.sock HMP_SOCK=$WORK/hmp.sock STATE_DIR=$WORK/state
# qmp-shell keeps its readline history in ~/.qmp-shell_history: not ours.
export HOME=$WORK

cleanup() {
    local rc=$? pid
    if [ $rc -ne 0 ] && [ -f "$STATE_DIR/serial.log" ]; then
        echo "---- last lines of the guest serial log ----" >&2
        tail -n 15 "$STATE_DIR/serial.log" | tr -d '\r' >&2
    fi
    pid=$(cat "$STATE_DIR/qemu.pid" 2>/dev/null || true)
    (cd "$TOP" && "$SCRIPT" --stop) > /dev/null 2>&1 || true
    # --stop failing must not leave QEMU behind
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- start it ------------------------------------------------------------------

# From the repo root, as the README shows it.
cd "$TOP"
"$SCRIPT" > "$WORK/out" 2>&1 || fail "$SCRIPT failed: $(cat "$WORK/out")"
QEMU_PID=$(cat "$STATE_DIR/qemu.pid")
kill -0 "$QEMU_PID" 2>/dev/null || fail "QEMU is not running after $SCRIPT returned"
ok "$SCRIPT started QEMU in the background (pid $QEMU_PID) and returned"

grep -qF "QMP socket:  $QMP_SOCK" "$WORK/out" || fail "the QMP socket is not printed"
grep -qF "HMP socket:  $HMP_SOCK" "$WORK/out" || fail "the HMP socket is not printed"
grep -qF -- "--stop" "$WORK/out" || fail "how to stop it is not printed"

# The attach line, exactly as README.md has it (with this test's socket).
attach=$(sed -n 's/^  \(build\/qemu\/scripts\/qmp\/qmp-shell .*\)$/\1/p' "$WORK/out")
[ "$attach" = "build/qemu/scripts/qmp/qmp-shell $QMP_SOCK" ] ||
    fail "expected the line 'build/qemu/scripts/qmp/qmp-shell $QMP_SOCK', got '$attach'"
read -ra QMP_SHELL <<< "$attach"
ok "prints the socket and the attach line: $attach"

# The examples: the indented lines after "then type".
mapfile -t EXAMPLES < <(awk '/^then type/ { on = 1; next }
                              on && /^  [a-z]/ { print substr($0, 3); got = 1; next }
                              got && /^$/ { exit }' "$WORK/out")
names=$(printf '%s\n' "${EXAMPLES[@]}" | cut -d' ' -f1 | tr '\n' ' ')
[ "$names" = "object-add cxl-add-dynamic-capacity query-cxl-dynamic-capacity cxl-release-dynamic-capacity query-cxl-dynamic-capacity object-del " ] ||
    fail "unexpected example commands: $names"
# what the examples must show a user: a tag, a numeric size, a tag-based release
ADD_BACKEND=${EXAMPLES[0]} ADD=${EXAMPLES[1]} QUERY=${EXAMPLES[2]} RELEASE=${EXAMPLES[3]} DEL=${EXAMPLES[5]}
[[ $ADD_BACKEND =~ \ size=[0-9]+\  ]] || fail "object-add without a numeric size: $ADD_BACKEND"
[[ $ADD_BACKEND =~ \ tag=([0-9a-f-]{36})( |$) ]] || fail "object-add without a tag: $ADD_BACKEND"
TAG=${BASH_REMATCH[1]}
[[ $ADD =~ \ tag=$TAG\  ]] || fail "cxl-add-dynamic-capacity does not use the backend's tag: $ADD"
[[ $RELEASE =~ removal-policy=tag-based.*\ extents=\[\] ]] || fail "release is not tag-based: $RELEASE"
[[ $ADD_BACKEND =~ \ mem-path=([^ ]+) ]] || fail "object-add has no mem-path: $ADD_BACKEND"
BACKING=${BASH_REMATCH[1]}
[[ $ADD_BACKEND =~ \ id=([^ ]+) ]] && MEMDEV=${BASH_REMATCH[1]}
ok "prints ${#EXAMPLES[@]} example commands: $names"

# ---- type them ----------------------------------------------------------------

OUT=
# qsh LINE: one qmp-shell session that types LINE; OUT gets what it printed.
# A user would type all the lines into one session: QMP state does not
# depend on the connection, so the result is the same.
qsh() {
    OUT=$(printf '%s\n' "$1" | timeout 20 "${QMP_SHELL[@]}" 2>&1) ||
        fail "qmp-shell failed on: $1
$OUT"
    grep -q '^Connected to QEMU' <<< "$OUT" || fail "qmp-shell did not connect: $OUT"
}

# run LINE WHAT: LINE must get a successful reply.
run() {
    qsh "$1"
    if ! grep -q '{"return"' <<< "$OUT" || grep -q '{"error"' <<< "$OUT"; then
        fail "$2: '$1' did not succeed:
$OUT"
    fi
}

# until_query TEXT WHAT: the example query, repeated until its reply has TEXT
# (the guest answers asynchronously).
until_query() {
    local deadline=$((SECONDS + STEP_TIMEOUT))
    while :; do
        run "$QUERY" "$2"
        grep -qF -- "$1" <<< "$OUT" && return 0
        [ $SECONDS -lt $deadline ] || fail "$2: the query never showed $1; last reply:
$OUT"
        sleep 0.2
    done
}

run "$ADD_BACKEND" "creating the tagged backend"
ok "object-add: a memory-backend-file with tag $TAG"

run "$ADD" "offering the capacity"
ok "cxl-add-dynamic-capacity with the tag"

until_query '"status": "accepted"' "the guest accepting"
if ! grep -qF "\"memdev\": \"$MEMDEV\"" <<< "$OUT" || ! grep -qF "\"tag\": \"$TAG\"" <<< "$OUT"; then
    fail "the query does not show memdev $MEMDEV and tag $TAG: $OUT"
fi
ok "query-cxl-dynamic-capacity: accepted, memdev $MEMDEV, tag $TAG"

# What the output promises after the add: the guest's line in the backend
# file, and the direct-map alias in 'info mtree' on the HMP socket.
deadline=$((SECONDS + STEP_TIMEOUT))
until head -c 512 "$BACKING" 2>/dev/null | tr -d '\0' | grep -q '^cxl-tagmem guest: dpa=0x0 '; do
    [ $SECONDS -lt $deadline ] || fail "the guest's line is not at the start of $BACKING"
    sleep 0.2
done
ok "the guest's line is in the backend file: $(head -c 512 "$BACKING" | tr -d '\0' | head -c 100)..."

mtree=$(qmp_py --hmp-socket "$HMP_SOCK" info mtree) || fail "cannot talk to the HMP socket $HMP_SOCK"
grep -q "alias cxl-dc-direct-map @$MEMDEV " <<< "$mtree" ||
    fail "'info mtree' on the HMP socket shows no cxl-dc-direct-map alias of $MEMDEV"
ok "HMP socket: 'info mtree' shows the cxl-dc-direct-map alias of $MEMDEV"

run "$RELEASE" "asking for the capacity back"
ok "cxl-release-dynamic-capacity removal-policy=tag-based extents=[]"
until_query '{"return": []}' "the guest releasing"
ok "query-cxl-dynamic-capacity: [] once the guest has released"

run "$DEL" "deleting the backend"
ok "object-del id=$MEMDEV"

tr -d '\r' < "$STATE_DIR/serial.log" > "$WORK/serial.copy"
grep -q '^SERVE ERROR' "$WORK/serial.copy" && fail "the guest reported an error"
grep -q '^SERVE released dpa=0x0 ' "$WORK/serial.copy" || fail "the guest did not release"
ok "the guest accepted and released without error"

# ---- a second start is refused; --stop stops ----------------------------------

if "$SCRIPT" > "$WORK/out2" 2>&1; then
    fail "a second $SCRIPT started although one is running"
fi
grep -q 'already running' "$WORK/out2" || fail "unclear refusal: $(cat "$WORK/out2")"
ok "a second start is refused: $(cat "$WORK/out2")"

"$SCRIPT" --stop > "$WORK/out3" 2>&1 || fail "$SCRIPT --stop failed: $(cat "$WORK/out3")"
kill -0 "$QEMU_PID" 2>/dev/null && fail "QEMU still runs after --stop"
if [ -e "$QMP_SOCK" ] || [ -e "$HMP_SOCK" ] || [ -e "$STATE_DIR" ]; then
    fail "--stop left sockets or $STATE_DIR behind"
fi
ok "$SCRIPT --stop: $(cat "$WORK/out3"), sockets and state removed"

echo "PASS: interactive.sh prints commands that work"
