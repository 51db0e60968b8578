#!/bin/bash
# The documentation's examples must work as written.
#
# 1. docs/system/devices/cxl.rst (in build/qemu, added by the series),
#    section "Tagged dynamic capacity": every literal block that is a
#    qemu-system-x86_64 command line is booted under TCG (-accel tcg
#    -display none, our own QMP socket).  A command line followed by
#    (QEMU) lines also gets the serve-mode bare-metal guest (-kernel
#    guest/guest.elf -append "mode=serve window=... [hbdec=1]", hbdec=1 when
#    it has hdm_for_passthrough=on), and its (QEMU) lines are typed into the
#    tree's scripts/qmp/qmp-shell in document order.  Every one must
#    succeed, except a line followed by a documented reply: qmp-shell must
#    print exactly that reply.  Between lines the test waits for what the
#    text says happens (the guest accepts an offer before anything but a
#    query follows; it has released the extents before the next line),
#    polling query-cxl-dynamic-capacity and checking the
#    CXL_DYNAMIC_CAPACITY_CHANGE events.  The other command lines (the
#    FM-API one) must boot and answer QMP: query-pci, every -device in the
#    QOM tree, qom-list of the cxl-type3.
# 2. README.md: the five-minute tour's lines, run the same way against
#    scripts/interactive.sh (with sockets and a state directory of our own,
#    stopped with --stop afterwards); every make target it names exists
#    (make -n TARGET) and every repository path it names exists.
#
# The commands are the documents', verbatim except that mem-path= points
# into a temporary directory.  A failure names the file and line.  Nothing
# is skipped: a missing binary or guest is a failure.
#
#   bash tests/docs.sh        (from anywhere; 'make check' runs it)
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"   # PYTHONPATH: the tree's python/qemu
QMP_SHELL=$TOP/build/qemu/scripts/qmp/qmp-shell
RST=$TOP/build/qemu/docs/system/devices/cxl.rst
HELPER=$TOP/tests/docs_examples.py
PY=/usr/bin/python3

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# ---- prerequisites: a missing piece is an error, never a skip --------------

[ -x "$PY" ] || fail "$PY not found"
[ -f "$HELPER" ] || fail "no $HELPER"
[ -x "$QEMU" ] || fail "no QEMU binary at $QEMU (build it first: make build)"
[ -f "$QMP_SHELL" ] || fail "no qmp-shell at $QMP_SHELL"
[ -f "$RST" ] || fail "no $RST (is the series applied in build/qemu?)"
[ -x "$TOP/scripts/interactive.sh" ] || fail "no executable scripts/interactive.sh"
make -s --no-print-directory -C "$TOP/guest" || fail "cannot build the guest (make -C guest)"
[ -f "$TOP/guest/guest.elf" ] || fail "no guest image guest/guest.elf"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cxl-docs.XXXXXX")
# scripts/interactive.sh's instance: sockets and state of its own, so that a
# user's instance (/tmp/cxl-tagmem.*) is left alone.
I_QMP=$WORK/tour.qmp
I_HMP=$WORK/tour.hmp
I_STATE=$WORK/tour-state

cleanup() {
    local rc=$? f pid i
    # the helper, if a signal interrupted the test: it stops its own QEMU
    pid=$(cat "$WORK/helper.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && grep -qF docs_examples.py "/proc/$pid/cmdline" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for i in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            [ "$i" -lt 50 ] || kill -9 "$pid" 2>/dev/null || true
            sleep 0.2
        done
    fi
    # the tour's instance, if the helper did not stop it
    (cd "$TOP" && QMP_SOCK=$I_QMP HMP_SOCK=$I_HMP STATE_DIR=$I_STATE \
        scripts/interactive.sh --stop) > /dev/null 2>&1 || true
    # QEMU processes the helper started (-pidfile in $WORK), if it was killed
    for f in "$WORK"/*.pid "$I_STATE/qemu.pid"; do
        [ -f "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null || true)
        if [ -n "$pid" ] && grep -qF "$WORK" "/proc/$pid/cmdline" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            sleep 0.5
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$WORK"
    if [ $rc -ge 128 ]; then
        echo "FAIL: tests/docs.sh interrupted (exit $rc)" >&2
    elif [ $rc -ne 0 ]; then
        echo "FAIL: tests/docs.sh (see the message above)" >&2
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# helper OUTFILE ARGS...: run docs_examples.py, its output also in OUTFILE.
# In the background, so that a signal interrupts the wait and the trap
# stops it at once; the status is the helper's (pipefail).
helper() {
    local out=$1
    shift
    timeout 150 "$PY" "$HELPER" "$@" 2>&1 | tee "$out" &
    wait $!
}

# qmp-shell keeps its readline history in ~/.qmp-shell_history: not ours.
export HOME=$WORK
START=$SECONDS

# ---- 1. cxl.rst ------------------------------------------------------------

echo "== docs/system/devices/cxl.rst: Tagged dynamic capacity"
out=$WORK/rst.out
helper "$out" rst --top "$TOP" --work "$WORK" ||
    fail "docs/system/devices/cxl.rst: an example does not work as documented (above)"
RST_LINES=$(sed -n 's/^cxl.rst: \([0-9]*\) (QEMU) line(s) run$/\1/p' "$out")
RST_BOOTS=$(grep -c 'QEMU boots and answers QMP' "$out" || true)

# ---- 2. README.md ----------------------------------------------------------

echo "== README.md: five-minute tour"
out=$WORK/readme.out
helper "$out" readme-tour --top "$TOP" --work "$WORK" \
    --qmp-sock "$I_QMP" --hmp-sock "$I_HMP" --state-dir "$I_STATE" ||
    fail "README.md: the five-minute tour does not work as documented (above)"
README_LINES=$(sed -n 's/^README.md: \([0-9]*\) (QEMU) line(s) run$/\1/p' "$out")

echo "== README.md: make targets and paths"
"$PY" "$HELPER" readme-refs --top "$TOP" > "$WORK/refs" ||
    fail "README.md: cannot extract the make targets and paths"
ntargets=0
npaths=0
while IFS=$'\t' read -r kind name line rel; do
    case $kind in
    make)
        # -n: print the recipes, run nothing; the outer make's flags and
        # jobserver are not this check's business.
        if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
                make -n --no-print-directory -C "$TOP" "$name" > "$WORK/make.out" 2>&1; then
            fail "README.md:$line: 'make $name': no such target in Makefile:
$(tail -3 "$WORK/make.out")"
        fi
        ntargets=$((ntargets + 1))
        ok "README.md:$line: make $name (make -n $name succeeds)"
        ;;
    path)
        case $name in
        ../*)
            echo "   README.md:$line: $name is outside the repository, not checked"
            continue
            ;;
        esac
        if [ -e "$TOP/$rel$name" ]; then
            where=$rel$name
        elif [ -z "$rel" ] && [ -e "$TOP/build/qemu/$name" ]; then
            where=build/qemu/$name          # a path of the QEMU tree
        else
            fail "README.md:$line: names '$rel$name', which exists neither in $TOP nor in $TOP/build/qemu"
        fi
        npaths=$((npaths + 1))
        ok "README.md:$line: $name exists ($where)"
        ;;
    *) fail "unexpected helper output: $kind $name" ;;
    esac
done < "$WORK/refs"
[ "$ntargets" -gt 0 ] || fail "README.md: no make target found (extraction broken?)"
[ "$npaths" -gt 0 ] || fail "README.md: no path found (extraction broken?)"

echo "PASS: docs.sh: cxl.rst ${RST_BOOTS} command line(s) booted, ${RST_LINES} (QEMU) line(s);" \
    "README.md ${README_LINES} (QEMU) line(s), $ntargets make target(s), $npaths path(s)" \
    "($((SECONDS - START)) s)"
