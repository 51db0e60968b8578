#!/bin/bash
# Try tagged dynamic capacity by hand: start the patched QEMU (TCG) with the
# design's typical topology (design.md section 1: pxb-cxl with
# hdm_for_passthrough=on, one root port, a DC-only cxl-type3 with
# dc-regions-total-size=4G and no memory of its own) and the bare-metal guest
# in mode=serve, which accepts every capacity offer, writes a line at the
# start of each accepted extent and answers every release request
# (guest/README.md).  Then drive it from qmp-shell; the commands to type are
# printed.
#
#   scripts/interactive.sh               start QEMU in the background, print
#                                        how to attach, return
#   scripts/interactive.sh --foreground  the same, then stay attached showing
#                                        the guest's serial lines; Ctrl-C stops
#   scripts/interactive.sh --stop        stop a background instance
#
# Environment (the defaults suit one instance per machine):
#   QMP_SOCK=/tmp/cxl-tagmem.qmp   QMP socket (for qmp-shell)
#   HMP_SOCK=/tmp/cxl-tagmem.hmp   human monitor socket
#   STATE_DIR=/tmp/cxl-tagmem      pid file, QEMU log, guest serial log and
#                                  the example backend file (removed by --stop)
#   QEMU=...                       qemu-system-x86_64 (default: the tree's build)
#   QEMU_EXTRA=...                 more QEMU arguments, for example
#                                  "-global cxl-type3.x-dc-direct-map=off"
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
QMP_SOCK=${QMP_SOCK:-/tmp/cxl-tagmem.qmp}
HMP_SOCK=${HMP_SOCK:-/tmp/cxl-tagmem.hmp}
STATE_DIR=${STATE_DIR:-/tmp/cxl-tagmem}
QEMU_EXTRA=${QEMU_EXTRA:-}
PIDFILE=$STATE_DIR/qemu.pid
SERIAL=$STATE_DIR/serial.log
QEMU_LOG=$STATE_DIR/qemu.log
TAG=5be13bce-ae34-4a77-b6c3-16df975fcf1a
DCD=$DCD_PATH
SIZE=268435456              # qmp-shell takes sizes in bytes only

die() { echo "interactive: error: $*" >&2; exit 1; }

# The running instance's pid, if there is one (the pid file may be stale).
running_pid() {
    local pid
    pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
        grep -q qemu-system "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

stop() {
    local pid deadline
    if pid=$(running_pid); then
        kill "$pid"
        deadline=$((SECONDS + 10))
        while kill -0 "$pid" 2>/dev/null; do
            [ $SECONDS -lt $deadline ] || { kill -9 "$pid" 2>/dev/null || true; break; }
            sleep 0.1
        done
        echo "stopped QEMU (pid $pid)"
    else
        echo "no QEMU running from $PIDFILE"
    fi
    rm -f "$QMP_SOCK" "$HMP_SOCK"
    rm -rf "$STATE_DIR"
}

FOREGROUND=0
case ${1:-} in
"") ;;
--foreground) FOREGROUND=1 ;;
--stop) stop; exit 0 ;;
-h|--help) sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
*) die "unknown option $1 (try --help)" ;;
esac

if pid=$(running_pid); then
    die "QEMU is already running (pid $pid, QMP $QMP_SOCK); stop it with $0 --stop"
fi
[ -x "$QEMU" ] || die "no QEMU binary at $QEMU (build it first: make)"
make -s --no-print-directory -C "$TOP/guest" || die "cannot build the guest (make -C guest)"
for s in "$QMP_SOCK" "$HMP_SOCK"; do
    [ -e "$s" ] && [ ! -S "$s" ] && die "$s exists and is not a socket"
done

rm -rf "$STATE_DIR"
mkdir -p "$STATE_DIR"
rm -f "$QMP_SOCK" "$HMP_SOCK"

# setsid: the instance outlives this script and ignores the terminal's
# Ctrl-C and hang-up; --stop (or quit) ends it.
# The design's typical topology (common.sh).
serve_guest_args "$SERIAL" "$QMP_SOCK" "msg=hello from the guest, through the CXL window"
# shellcheck disable=SC2086  # QEMU_EXTRA is a list of arguments
setsid "$QEMU" "${QEMU_ARGS[@]}" -monitor "unix:$HMP_SOCK,server=on,wait=off" \
    -pidfile "$PIDFILE" $QEMU_EXTRA < /dev/null > "$QEMU_LOG" 2>&1 &
QEMU_PID=$!

# Until the guest has set up PCI, the mailbox and the decoders: offers made
# earlier would wait in the event log, but the user should start on a
# serving guest.
deadline=$((SECONDS + 30))
until [ -f "$SERIAL" ] && grep -q '^READY serving' "$SERIAL"; do
    if ! kill -0 "$QEMU_PID" 2>/dev/null; then
        cat "$QEMU_LOG" >&2
        rm -f "$QMP_SOCK" "$HMP_SOCK"
        die "QEMU exited during start-up (log above)"
    fi
    if [ $SECONDS -ge $deadline ]; then
        kill "$QEMU_PID" 2>/dev/null || true
        die "the guest did not start serving within 30 s; see $SERIAL"
    fi
    sleep 0.1
done

# The guest is told the window base; make sure QEMU agrees.  QMP takes one
# client at a time: this connection closes before qmp-shell is suggested.
if ! err=$(qmp_py --check-window "$QMP_SOCK" "$CXL_WINDOW" 2>&1); then
    kill "$QEMU_PID" 2>/dev/null || true
    die "$err"
fi

# Paths as the user can type them: relative from the repo root.
if [ "$PWD" = "$TOP" ]; then QMP_SHELL=build/qemu/scripts/qmp/qmp-shell; else
    QMP_SHELL=$TOP/build/qemu/scripts/qmp/qmp-shell; fi
BACKING=$STATE_DIR/tm0.img

cat <<EOT
QEMU is running (pid $QEMU_PID, TCG) with a DC-only CXL device $DCD
(2 DC regions of 2 GiB, dc-regions-total-size=4G, behind pxb-cxl with
hdm_for_passthrough=on), and the guest is serving: it accepts every offer,
writes a line at the start of each extent it accepts, and answers releases.

  QMP socket:  $QMP_SOCK
  HMP socket:  $HMP_SOCK   (socat - UNIX-CONNECT:$HMP_SOCK; try 'info mtree')
  guest log:   tail -f $SERIAL

Attach (one QMP client at a time):

  $QMP_SHELL $QMP_SOCK

then type, one at a time (sizes in bytes, lists in JSON):

  object-add qom-type=memory-backend-file id=tm0 size=$SIZE mem-path=$BACKING share=true tag=$TAG
  cxl-add-dynamic-capacity path=$DCD host-id=0 selection-policy=prescriptive region=0 tag=$TAG extents=[{"offset":0,"len":$SIZE}]
  query-cxl-dynamic-capacity path=$DCD
  cxl-release-dynamic-capacity path=$DCD host-id=0 removal-policy=tag-based region=0 tag=$TAG extents=[]
  query-cxl-dynamic-capacity path=$DCD
  object-del id=tm0

After the add, the query shows the extent "accepted" with memdev tm0, 'info
mtree' (HMP) shows a cxl-dc-direct-map alias of tm0 in the window, and the
guest's line is in the backend file:  head -c 200 $BACKING | tr -d '\\0'; echo
An empty line in qmp-shell prints the CXL_DYNAMIC_CAPACITY_CHANGE events.
object-del works once the guest has answered the release (query shows []).

EOT

if [ $FOREGROUND = 0 ]; then
    cat <<EOT
Stop it:  $0 --stop   (or 'quit' in qmp-shell)
EOT
    exit 0
fi

# Foreground: show the guest's lines until QEMU ends; Ctrl-C stops it.
echo "Stop it:  Ctrl-C here (or 'quit' in qmp-shell).  Guest serial output follows:"
trap 'stop; exit 0' INT TERM
tail -n +1 -f --pid="$QEMU_PID" "$SERIAL" &
wait "$QEMU_PID" 2>/dev/null || true
sleep 0.3                   # tail notices the exit within a second
echo "QEMU has exited"
rm -f "$QMP_SOCK" "$HMP_SOCK"
