#!/bin/bash
# Build and run the CXL qtests after each patch of the series in turn, in a
# separate worktree (build/bisect) so build/qemu is left alone.
set -uo pipefail
. "$(dirname "$0")/common.sh"

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
    subject=$(git -C "$QEMU_SRC" log -1 --format=%s "$c")
    log "[$n] $subject"
    git -C "$WT" checkout -q --detach "$c" || die "checkout $c failed"
    if ! QEMU_SRC="$WT" QEMU_BIN="$WT/build" "$TOP/scripts/build.sh" > "$BUILD/bisect-$n.log" 2>&1; then
        echo "FAIL: patch $n does not build (see build/bisect-$n.log)"
        tail -20 "$BUILD/bisect-$n.log"
        failed=$((failed + 1))
        continue
    fi
    for t in $(series_qtests "$WT"); do
        if (cd "$WT/build" && QTEST_QEMU_BINARY=./qemu-system-x86_64 \
                timeout 600 "./tests/qtest/$t" --tap -k) > "$BUILD/bisect-$n-$t.tap" 2>&1 &&
           ! grep -q '^not ok' "$BUILD/bisect-$n-$t.tap"; then
            echo "PASS: patch $n: $t ($(grep -c '^ok ' "$BUILD/bisect-$n-$t.tap") cases)"
        else
            echo "FAIL: patch $n: $t"
            grep '^not ok' "$BUILD/bisect-$n-$t.tap"
            failed=$((failed + 1))
        fi
    done
done
echo "bisect: $n patch(es), $failed failure(s)"
[ "$failed" -eq 0 ]
