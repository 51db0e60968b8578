#!/bin/bash
# 'make run-shared' works (design.md section 9): scripts/run-shared.sh checks
# every step itself (guest B reads the exact text guest A wrote, before and
# after the release in VM A; the shared file holds it; B keeps its extents;
# both guests end without error).  It runs twice: with the direct map (B
# reads RAM aliases of the file) and with x-dc-direct-map=off (B reads
# through the MMIO path).  A few seconds of guest time each.
#
#   bash tests/run-shared.sh        (from the repo root; 'make check' does)
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
failed=()
# run NAME QEMU_EXTRA: one run-shared.sh, its transcript shown.
run() {
    local rc=0
    echo "== run-shared.sh, $1"
    QEMU_EXTRA=$2 TIMEOUT=30 bash "$TOP/scripts/run-shared.sh" 2>&1 | sed "s/^/  $1: /" || rc=$?
    if [ $rc -eq 0 ]; then echo "ok: run-shared.sh, $1"; else failed+=("$1"); fi
}

run direct-map ""
run mmio "-global cxl-type3.x-dc-direct-map=off"

if [ ${#failed[@]} -gt 0 ]; then
    echo "FAIL: run-shared.sh failed in: ${failed[*]}"
    exit 1
fi
echo "PASS: run-shared (direct map and MMIO path)"
