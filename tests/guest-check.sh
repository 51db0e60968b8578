#!/bin/bash
# Run the bare-metal guest's self-check (scripts/bench.sh check) against the
# built QEMU in each device configuration:
#
#   DC_MODE=memdev               10.2.2 device, volatile-dc-memdev backing
#   DC_MODE=tagged               DC-only device, tagged memory-backend-file
#   DC_MODE=tagged HB_DECODER=1  the same behind hdm_for_passthrough=on
#
# In each, the guest pattern-writes and verifies the extent through the CXL
# window, checks the extent list and tag, checks that an unaccepted DPA is
# not backed and releases the capacity; bench.sh then finds the pattern in
# the backing file on the host.  Every configuration runs even if an earlier
# one fails; the test fails if any does.
#
#   bash tests/guest-check.sh        (from the repo root; 'make check' does)
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QEMU=${QEMU:-$TOP/build/qemu/build/qemu-system-x86_64}
BENCH=$TOP/scripts/bench.sh

[ -x "$QEMU" ] || { echo "FAIL: no QEMU binary at $QEMU (build it first)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 not found" >&2; exit 1; }
# a no-op when guest.elf is up to date; builds a missing or stale one
make -s --no-print-directory -C "$TOP/guest" ||
    { echo "FAIL: cannot build the guest (make -C guest)" >&2; exit 1; }

LOGS=$(mktemp -d "${TMPDIR:-/tmp}/cxl-guest-check.XXXXXX")
trap 'rm -rf "$LOGS"' EXIT
# bench.sh kills its own QEMU and removes its work directory on exit.

failed=()
# run NAME VAR=VALUE...: one bench.sh check with that environment.  TIMEOUT
# bounds each of bench.sh's waits; a run takes a few seconds.
run() {
    local name=$1 log="$LOGS/$1.log" rc=0
    shift
    env "$@" QEMU="$QEMU" TIMEOUT=30 bash "$BENCH" check > "$log" 2>&1 || rc=$?
    # what the guest checked, and the host's look at the backing file
    grep -E '^  \| CHECK |^HOST check' "$log" | sed "s/^/  $name: /" || true
    if [ $rc -eq 0 ] && grep -q '^HOST check .* -> PASS' "$log"; then
        echo "ok: bench.sh check, $name"
    else
        echo "FAIL: bench.sh check, $name (exit status $rc); last lines:"
        tail -n 20 "$log" | sed 's/^/    /'
        failed+=("$name")
    fi
}

run memdev DC_MODE=memdev
run tagged DC_MODE=tagged
run tagged-hbdec DC_MODE=tagged HB_DECODER=1

if [ ${#failed[@]} -gt 0 ]; then
    echo "FAIL: guest check failed in: ${failed[*]}"
    exit 1
fi
echo "PASS: guest check (memdev, tagged, tagged with host bridge decoder)"
