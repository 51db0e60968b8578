#!/bin/bash
# Run the qtests (the series' CXL qtests and the upstream ones over QOM,
# QAPI, host memory backends and HMP: common.sh check_qtests) through
# meson, checkpatch on every patch and the repo's own tests; print one
# summary line "N passed, N failed" last.
#
# meson runs each qtest as TAP: a failing case, a crash, a timeout or a
# plan that does not match the cases run fails the test.  A skipped case
# fails here too.  A checkpatch warning fails like an error (but for the
# MAINTAINERS question on files the series' MAINTAINERS entries name).
#
# Environment: CHECK_PARTS="qtests checkpatch repo" (default: all three),
# PATCHES_DIR (default patches/), CHECK_TIMEOUT_MULTIPLIER=10 (meson's
# per-test timeouts are for an idle machine; this one is shared).
set -uo pipefail
. "$(dirname "$0")/common.sh"

PARTS=${CHECK_PARTS:-qtests checkpatch repo}
PATCHES=${PATCHES_DIR:-$TOP/patches}
pass=0
fail=0
failed=()
ok()  { pass=$((pass + 1)); echo "PASS: $*"; }
bad() { fail=$((fail + 1)); failed+=("$*"); echo "FAIL: $*"; }
logdir="$BUILD/check-logs"
rm -rf "$logdir" && mkdir -p "$logdir"

# 1. qtests, through meson test (TAP, plan checked).  Each case counts.
if [[ " $PARTS " == *" qtests "* ]]; then
    names=()
    for t in $(check_qtests); do names+=("qtest-x86_64/$t"); done
    # configure's venv has the meson the build directory was made with
    MESON=$QEMU_BIN/pyvenv/bin/meson
    [ -x "$MESON" ] || MESON=meson
    log "meson test ${names[*]#qtest-x86_64/}"
    rm -f "$QEMU_BIN/meson-logs/cxl-check.json"
    (cd "$QEMU_BIN" && "$MESON" test --no-rebuild --print-errorlogs --num-processes 1 \
        --timeout-multiplier "${CHECK_TIMEOUT_MULTIPLIER:-10}" --logbase cxl-check \
        "${names[@]}") > "$logdir/meson-test.log" 2>&1
    rc=$?
    cp "$QEMU_BIN/meson-logs/cxl-check.txt" "$logdir/" 2>/dev/null
    if [ ! -s "$QEMU_BIN/meson-logs/cxl-check.json" ]; then
        bad "qtests: meson test ran nothing (exit $rc)"
        tail -30 "$logdir/meson-test.log"
    else
        # one line per test: NAME RESULT OK NOT_OK SKIP
        /usr/bin/python3 - "$QEMU_BIN/meson-logs/cxl-check.json" > "$logdir/qtests.sum" <<'PY'
import json, re, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    out = t.get("stdout") or ""
    oks = re.findall(r"^ok .*$", out, re.M)
    skips = [l for l in oks if re.search(r"#\s*SKIP", l, re.I)]
    bads = re.findall(r"^not ok ", out, re.M)
    print(t["name"].split("/")[-1], t["result"], len(oks) - len(skips), len(bads), len(skips))
PY
        declare -A seen=()
        while read -r t result n_ok n_bad n_skip; do
            seen[$t]=1
            if [ "$result" = OK ] && [ "$n_skip" -eq 0 ] && [ "$n_bad" -eq 0 ] && [ "$n_ok" -gt 0 ]; then
                pass=$((pass + n_ok))
                echo "PASS: qtest $t ($n_ok cases)"
            elif [ "$result" = OK ] && [ "$n_skip" -gt 0 ]; then
                pass=$((pass + n_ok))
                bad "qtest $t: $n_skip case(s) skipped (a skip is a failure here)"
            else
                pass=$((pass + n_ok))
                fail=$((fail + (n_bad > 0 ? n_bad - 1 : 0)))
                bad "qtest $t: $result ($n_ok ok, $n_bad not ok; log $logdir/cxl-check.txt)"
            fi
        done < "$logdir/qtests.sum"
        for t in $(check_qtests); do
            [ -n "${seen[$t]:-}" ] || bad "qtest $t: not run by meson (not built or not registered)"
        done
        [ "$rc" -eq 0 ] || grep -qv ' OK ' "$logdir/qtests.sum" ||
            bad "qtests: meson test exited $rc: $(tail -3 "$logdir/meson-test.log")"
    fi
fi

# 2. checkpatch on every patch of the series: a warning fails like an
# error, except "added ... file(s), does MAINTAINERS need updating?" for
# files that an entry the series adds to MAINTAINERS already names.
if [[ " $PARTS " == *" checkpatch "* ]] && [ -f "$PATCHES/series" ]; then
    git -C "$QEMU_SRC" diff base..HEAD -- MAINTAINERS | sed -n 's/^+F:/F:/p' \
        > "$logdir/series-maintainers"
    while read -r p; do
        case "$p" in ''|'#'*) continue ;; esac
        (cd "$QEMU_SRC" && ./scripts/checkpatch.pl --no-tree "$PATCHES/$p") \
            > "$logdir/checkpatch-$p.log" 2>&1
        rc=$?
        if [ "$rc" -eq 0 ] && ! grep -qE '^(ERROR|WARNING):' "$logdir/checkpatch-$p.log" &&
           grep -q '^total: 0 errors, 0 warnings' "$logdir/checkpatch-$p.log"; then
            ok "checkpatch $p"
        elif [ "$rc" -eq 0 ] && /usr/bin/python3 "$TOP/scripts/maintainers-covered.py" \
                "$logdir/series-maintainers" "$logdir/checkpatch-$p.log" > /dev/null; then
            ok "checkpatch $p (its new files are in the series' MAINTAINERS entries)"
        else
            /usr/bin/python3 "$TOP/scripts/maintainers-covered.py" \
                "$logdir/series-maintainers" "$logdir/checkpatch-$p.log"
            bad "checkpatch $p"
            grep -v '^$' "$logdir/checkpatch-$p.log" | head -40
        fi
    done < "$PATCHES/series"
fi

# 3. the repo's own tests
if [[ " $PARTS " == *" repo "* ]]; then
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
fi

echo
if [ ${#failed[@]} -gt 0 ]; then
    printf 'failed: %s\n' "${failed[@]}"
fi
echo "logs: $logdir"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
