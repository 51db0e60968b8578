#!/bin/bash
# The fixes for stable (patches with "Cc: qemu-stable@nongnu.org") keep
# their promises: they come first, each carries a regression test, and
# each one's code (everything outside tests/) applies to pristine base by
# itself.  Test hunks may need the earlier fix that created their file.
#
# STABLE_BUILD=1 also builds each fix's code alone on base (build/stable
# worktree) and runs cxl-test against it.
set -uo pipefail
. "$(dirname "$0")/common.sh"

PATCHES=${PATCHES_DIR:-$TOP/patches}
[ -f "$PATCHES/series" ] || die "no $PATCHES/series"
[ -d "$QEMU_SRC/.git" ] || die "no $QEMU_SRC; run 'make tree' first"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

# filterdiff is not everywhere: split the patch on "diff --git" ourselves
code_part() {
    awk '/^diff --git / { keep = ($3 !~ /^a\/tests\//) } keep' "$1"
}

n=0
fixes=0
in_front=1
while read -r p; do
    case "$p" in ''|'#'*) continue ;; esac
    n=$((n + 1))
    if ! grep -q '^Cc: qemu-stable@nongnu.org$' "$PATCHES/$p"; then
        in_front=0
        continue
    fi
    fixes=$((fixes + 1))
    [ "$in_front" -eq 1 ] || bad "$p: a fix for stable after a feature patch"
    grep -q '^diff --git a/tests/qtest/' "$PATCHES/$p" ||
        bad "$p: no regression test under tests/qtest"
    code_part "$PATCHES/$p" > "$tmp/code.diff"
    if [ -s "$tmp/code.diff" ]; then
        GIT_INDEX_FILE="$tmp/index" git -C "$QEMU_SRC" read-tree base
        if ! GIT_INDEX_FILE="$tmp/index" git -C "$QEMU_SRC" apply --cached --check \
                "$tmp/code.diff" 2> "$tmp/apply.log"; then
            bad "$p: its code does not apply to base by itself: $(head -2 "$tmp/apply.log")"
            continue
        fi
    fi
    fixes_line=$(grep -m1 '^Fixes: ' "$PATCHES/$p" || echo "Fixes: (none identified)")
    echo "ok: $n $p applies to base alone; $fixes_line"
    if [ "${STABLE_BUILD:-0}" = 1 ] && [ -s "$tmp/code.diff" ]; then
        WT="$BUILD/stable"
        if [ ! -e "$WT/.git" ]; then
            git -C "$QEMU_SRC" worktree prune
            git -C "$QEMU_SRC" worktree add -q --detach "$WT" base
            git -C "$WT" checkout -q base -- subprojects
        fi
        git -C "$WT" checkout -q -f --detach base
        git -C "$WT" apply "$tmp/code.diff" || { bad "$p: apply in $WT"; continue; }
        if QEMU_SRC="$WT" QEMU_BIN="$WT/build" QTESTS="cxl-test" "$TOP/scripts/build.sh" \
                > "$BUILD/stable-$n.log" 2>&1 &&
           (cd "$WT/build" && QTEST_QEMU_BINARY=./qemu-system-x86_64 \
                ./tests/qtest/cxl-test --tap -k) > "$BUILD/stable-$n.tap" 2>&1 &&
           ! grep -q '^not ok' "$BUILD/stable-$n.tap"; then
            echo "ok: $n builds alone on base, cxl-test passes"
        else
            bad "$p: does not build alone on base or cxl-test fails (build/stable-$n.log)"
        fi
        git -C "$WT" checkout -q -f --detach base
    fi
done < "$PATCHES/series"
[ "$fixes" -gt 0 ] || bad "no patch carries Cc: qemu-stable@nongnu.org"
echo "stable: $fixes fix(es) in front, $failed failure(s)"
[ "$failed" -eq 0 ]
