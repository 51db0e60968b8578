#!/bin/bash
# 'make bench': what tagged dynamic capacity costs, in one run (design.md
# section 4).  Under TCG, with the bare-metal guest (guest/README.md):
#
# 1. Data path.  scripts/bench.sh bench on a DC-only device with one tagged
#    extent behind a host bridge decoder (DC_MODE=tagged HB_DECODER=1): the
#    guest times 8-byte loads and stores in its RAM and in the extent, trials
#    alternating.  Boot 1 has the extent direct-mapped as RAM (the default),
#    boot 2 runs with -global cxl-type3.x-dc-direct-map=off (MMIO path).
#    Ratios are only taken within one boot, as the host is noisy.
#    Target: direct-mapped extent >= 0.8x RAM throughput, loads and stores.
# 2. Control path.  The design's typical topology with the guest in
#    mode=serve; scripts/bench-control.py times over QMP, from the host, the
#    add of 16 and of 256 tagged extents until the guest has accepted all of
#    them, then their release until the guest has released all of them.
#    Target: 256 extents cost < 20x what 16 cost.
#
# The summary is printed at the end.  Exit status 0 when everything ran
# (whether or not the targets are met; the summary says), 1 when a run failed.
#
# Environment: QEMU=..., TRIALS=15 (guest trials per operation),
# COUNTS=16,256 and ROUNDS=3 (control path), KEEP=1 (keep the logs).
set -euo pipefail

. "$(dirname "$0")/common.sh"
PYTHON=/usr/bin/python3             # Debian's; bench-control.py uses the tree's qemu.qmp
TRIALS=${TRIALS:-15}
COUNTS=${COUNTS:-16,256}
ROUNDS=${ROUNDS:-3}
KEEP=${KEEP:-0}

die() { echo "bench: error: $*" >&2; exit 1; }

[ -x "$QEMU" ] || die "no QEMU binary at $QEMU (build it first)"
[ -x "$PYTHON" ] || die "$PYTHON not found"
make -s --no-print-directory -C "$TOP/guest" || die "cannot build the guest (make -C guest)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cxl-bench-all.XXXXXX")
QEMU_PID=
cleanup() {
    stop_pid "$QEMU_PID"
    if [ "$KEEP" = 1 ]; then echo "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

START=$SECONDS

# ---- 1. data path -------------------------------------------------------------

# data_run NAME QEMU_EXTRA: one bench.sh boot; its output goes to NAME.log.
data_run() {
    local log=$WORK/$1.log
    echo "== data path, $1: scripts/bench.sh bench, DC_MODE=tagged HB_DECODER=1${2:+ $2}"
    if ! QEMU="$QEMU" DC_MODE=tagged HB_DECODER=1 GUEST_ARGS="trials=$TRIALS" \
            QEMU_EXTRA="$2" TIMEOUT=60 "$TOP/scripts/bench.sh" bench > "$log" 2>&1; then
        tail -n 25 "$log" >&2
        die "bench.sh failed ($1)"
    fi
    grep '^host: direct map' "$log" | sed 's/^/   /'
}

data_run direct ""
data_run mmio "-global cxl-type3.x-dc-direct-map=off"

# Each boot must have measured what its row claims.
grep -q '^host: direct map: alias cxl-dc-direct-map' "$WORK/direct.log" ||
    die "boot 1: the extent was not direct-mapped"
grep -q '^host: direct map: none' "$WORK/mmio.log" ||
    die "boot 2: the extent was direct-mapped despite x-dc-direct-map=off"

# ---- 2. control path ----------------------------------------------------------

SERIAL=$WORK/serve.serial.log
SOCK=$WORK/qmp.sock
echo "== control path: serve-mode guest, add/accept and release of $COUNTS tagged extents"
# The design's typical topology (section 1; common.sh).  write=0: the
# guest does not stamp each accepted extent, so the time is the device's
# and the mailbox's, not the guest's own writes.
serve_guest_args "$SERIAL" "$SOCK" write=0
"$QEMU" "${QEMU_ARGS[@]}" > "$WORK/serve.qemu.out" 2>&1 &
QEMU_PID=$!

deadline=$((SECONDS + 30))
until [ -f "$SERIAL" ] && grep -q '^READY serving' "$SERIAL"; do
    kill -0 "$QEMU_PID" 2>/dev/null || die "QEMU exited: $(cat "$WORK/serve.qemu.out")"
    [ $SECONDS -lt $deadline ] || die "the serve-mode guest did not start"
    sleep 0.1
done

# The CTL lines show progress as it happens; the table printed after them
# goes into the summary.
if ! PYTHONUNBUFFERED=1 "$PYTHON" "$TOP/scripts/bench-control.py" "$SOCK" --counts "$COUNTS" \
        --rounds "$ROUNDS" --stop-guest 2>&1 | tee "$WORK/control.log" | sed -u -n 's/^CTL/   CTL/p'; then
    grep -v '^CTL' "$WORK/control.log" >&2
    tr -d '\r' < "$SERIAL" | grep -E 'ERROR' | head -5 >&2 || true
    die "control-path benchmark failed"
fi

# The guest ends on the 'q' key; isa-debug-exit status 1 means no error.
st=0
timeout 30 tail --pid="$QEMU_PID" -f /dev/null || die "the serve-mode guest did not stop"
wait "$QEMU_PID" || st=$?
QEMU_PID=
[ $st -eq 1 ] || die "serve-mode guest: $(tr -d '\r' < "$SERIAL" | grep -E '^SERVE (ERROR|done)' | head -3)"

# ---- summary ------------------------------------------------------------------

echo
echo "================ make bench summary ($((SECONDS - START)) s) ================"
echo "QEMU: $QEMU"
echo
# RESULT <ram|dc> load_ns=.. store_ns=.. load_min_ns=.. store_min_ns=.. (median, best)
results() { tr -d '\r' < "$1" | sed -n 's/^  | RESULT \(ram\|dc\) /\1 /p'; }
{ results "$WORK/direct.log" | sed 's/^/direct /'; results "$WORK/mmio.log" | sed 's/^/mmio /'; } |
awk -v trials="$TRIALS" '
    {
        for (i = 3; i <= NF; i++) { split($i, kv, "="); v[$1, $2, kv[1]] = kv[2] }
    }
    # one row: ns/access (best trial) and, for an extent, throughput vs the
    # RAM of the same boot (RAM ns / extent ns)
    function row(label, boot, what,    l, s, lm, sm) {
        l = v[boot, what, "load_ns"]; s = v[boot, what, "store_ns"]
        lm = v[boot, what, "load_min_ns"]; sm = v[boot, what, "store_min_ns"]
        printf "  %-34s %9.3f (%7.3f) %9.3f (%7.3f)", label, l, lm, s, sm
        if (what == "dc")
            printf "   %6.3f (%5.3f) %6.3f (%5.3f)", ratio(boot, "load", "_ns"), ratio(boot, "load", "_min_ns"),
                ratio(boot, "store", "_ns"), ratio(boot, "store", "_min_ns")
        printf "\n"
    }
    function ratio(boot, op, sfx) { return v[boot, "ram", op sfx] / v[boot, "dc", op sfx] }
    END {
        if (v["direct", "dc", "load_ns"] == "" || v["mmio", "dc", "load_ns"] == "") {
            print "error: RESULT lines missing"; exit 1
        }
        printf "data path: guest 8-byte accesses over a 1 MiB buffer, median of %d trials (best)\n", trials
        printf "  %-34s %19s %19s   %14s %14s\n", "", "load ns/access", "store ns/access",
            "load ratio", "store ratio"
        print "  boot 1: direct map on (default)"
        row("  guest RAM", "direct", "ram")
        row("  tagged extent, direct-mapped", "direct", "dc")
        print "  boot 2: -global cxl-type3.x-dc-direct-map=off"
        row("  guest RAM", "mmio", "ram")
        row("  tagged extent, MMIO path", "mmio", "dc")
        print "  ratio = extent throughput / RAM throughput in the same boot (RAM ns / extent ns)"
        l = ratio("direct", "load", "_ns"); s = ratio("direct", "store", "_ns")
        printf "  target direct-mapped >= 0.8x RAM (medians): load %.2fx, store %.2fx -> %s\n",
            l, s, (l >= 0.8 && s >= 0.8) ? "met" : "NOT met"
        printf "  direct map vs MMIO path (across the two boots): %.0fx faster loads, %.0fx faster stores\n",
            v["mmio", "dc", "load_ns"] / v["direct", "dc", "load_ns"],
            v["mmio", "dc", "store_ns"] / v["direct", "dc", "store_ns"]
    }'
echo
sed -n '/^control path:/,$p' "$WORK/control.log" | grep -v '^CTL'
