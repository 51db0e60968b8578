#!/bin/bash
# Build each patch of the series in turn and run CXL qtests after it, in a
# separate worktree (build/bisect) so build/qemu is left alone.
#
# BISECT_QTESTS=all (default): every series qtest present at that patch.
# BISECT_QTESTS=touched (CI): only the qtests whose source file the patch
# adds or changes, cxl-test when it touches none; every patch is still
# built, and 'make check' runs everything on the last one.
# BISECT_FROM=N: start at patch N (the earlier ones were checked before).
# BISECT_TO=N: stop after patch N.
set -uo pipefail
. "$(dirname "$0")/common.sh"

MODE=${BISECT_QTESTS:-all}
case $MODE in all|touched) ;; *) die "BISECT_QTESTS must be all or touched" ;; esac
[ -d "$QEMU_SRC/.git" ] || die "no $QEMU_SRC; run 'make tree' first"
WT="$BUILD/bisect"
if [ ! -d "$WT/.git" ] && [ ! -f "$WT/.git" ]; then
    git -C "$QEMU_SRC" worktree prune
    git -C "$QEMU_SRC" worktree add -q --detach "$WT" base
    # worktrees do not carry the ignored subprojects that 'base' forced in
    git -C "$WT" checkout -q base -- subprojects
fi
commits=$(git -C "$QEMU_SRC" rev-list --reverse base..HEAD)
n=0
failed=0
for c in $commits; do
    n=$((n + 1))
    [ "$n" -ge "${BISECT_FROM:-1}" ] || continue
    [ "$n" -le "${BISECT_TO:-$n}" ] || { n=$((n - 1)); break; }
    subject=$(git -C "$QEMU_SRC" log -1 --format=%s "$c")
    log "[$n] $subject"
    git -C "$WT" checkout -q --detach "$c" || die "checkout $c failed"
    all=$(series_qtests "$WT")
    if [ "$MODE" = touched ]; then
        run=$(git -C "$WT" diff --name-only "$c^" "$c" -- 'tests/qtest/*-test.c' |
              sed 's|^tests/qtest/||; s|\.c$||' | grep -xF -f <(echo "$all") || true)
        run=${run:-cxl-test}
    else
        run=$all
    fi
    if ! QEMU_SRC="$WT" QEMU_BIN="$WT/build" QTESTS="${run//$'\n'/ }" "$TOP/scripts/build.sh" \
            > "$BUILD/bisect-$n.log" 2>&1; then
        echo "FAIL: patch $n does not build (see build/bisect-$n.log)"
        tail -20 "$BUILD/bisect-$n.log"
        failed=$((failed + 1))
        continue
    fi
    for t in $run; do
        if (cd "$WT/build" && QTEST_QEMU_BINARY=./qemu-system-x86_64 QTEST_QEMU_IMG=./qemu-img \
                timeout 600 "./tests/qtest/$t" --tap -k) > "$BUILD/bisect-$n-$t.tap" 2>&1 &&
           ! grep -q '^not ok' "$BUILD/bisect-$n-$t.tap" && grep -q '^ok ' "$BUILD/bisect-$n-$t.tap"; then
            echo "PASS: patch $n: $t ($(grep -c '^ok ' "$BUILD/bisect-$n-$t.tap") cases)"
        else
            echo "FAIL: patch $n: $t"
            grep '^not ok' "$BUILD/bisect-$n-$t.tap"
            failed=$((failed + 1))
        fi
    done
done
echo "bisect: $n patch(es), $failed failure(s) (qtests: $MODE)"
[ "$failed" -eq 0 ]
