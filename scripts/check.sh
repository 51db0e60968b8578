#!/bin/bash
# Run the qtests of the series, checkpatch on every patch and the repo's own
# tests; print one summary line "N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/common.sh"

pass=0
fail=0
failed=()
ok()  { pass=$((pass + 1)); echo "PASS: $*"; }
bad() { fail=$((fail + 1)); failed+=("$*"); echo "FAIL: $*"; }
logdir="$BUILD/check-logs"
rm -rf "$logdir" && mkdir -p "$logdir"

# 1. qtests (TAP: every test case counts)
for t in $(series_qtests); do
    bin="$QEMU_BIN/tests/qtest/$t"
    if [ ! -x "$bin" ]; then
        bad "qtest $t: not built"
        continue
    fi
    log "qtest $t"
    (cd "$QEMU_BIN" && QTEST_QEMU_BINARY=./qemu-system-x86_64 \
        QTEST_QEMU_IMG=./qemu-img timeout 600 "$bin" --tap -k) > "$logdir/$t.tap" 2>&1
    rc=$?
    n_ok=$(grep -c '^ok ' "$logdir/$t.tap")
    n_bad=$(grep -c '^not ok ' "$logdir/$t.tap")
    n_skip=$(grep -c '^ok .*# SKIP' "$logdir/$t.tap")
    grep -E '^(ok|not ok) ' "$logdir/$t.tap" | sed "s|^|  $t: |"
    if [ "$n_skip" -gt 0 ]; then
        bad "qtest $t: $n_skip case(s) skipped (a skip is a failure here)"
    fi
    pass=$((pass + n_ok - n_skip))
    fail=$((fail + n_bad))
    [ "$n_bad" -gt 0 ] && failed+=("qtest $t: $n_bad case(s)")
    if [ "$rc" -ne 0 ] && [ "$n_bad" -eq 0 ]; then
        bad "qtest $t: exit code $rc"
        tail -20 "$logdir/$t.tap"
    elif [ "$n_ok" -eq 0 ] && [ "$n_bad" -eq 0 ]; then
        bad "qtest $t: ran no test case"
    fi
done

# 2. checkpatch on every patch of the series
if [ -f "$TOP/patches/series" ]; then
    while read -r p; do
        case "$p" in ''|'#'*) continue ;; esac
        if (cd "$QEMU_SRC" && ./scripts/checkpatch.pl --no-tree -q "$TOP/patches/$p") \
                > "$logdir/checkpatch-$p.log" 2>&1; then
            ok "checkpatch $p"
        else
            bad "checkpatch $p"
            cat "$logdir/checkpatch-$p.log"
        fi
    done < "$TOP/patches/series"
fi

# 3. the repo's own tests
for t in "$TOP"/tests/*.sh; do
    [ -e "$t" ] || continue
    name=$(basename "$t" .sh)
    log "repo test $name"
    if timeout 900 bash "$t" > "$logdir/$name.log" 2>&1; then
        ok "repo test $name"
    else
        bad "repo test $name"
        tail -30 "$logdir/$name.log"
    fi
done

echo
if [ ${#failed[@]} -gt 0 ]; then
    printf 'failed: %s\n' "${failed[@]}"
fi
echo "logs: $logdir"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
