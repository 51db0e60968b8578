#!/bin/bash
# The fixes for stable (patches with "Cc: qemu-stable@nongnu.org") keep
# their promises: they come first, each carries a regression test, and
# each one's code (everything outside tests/) applies to pristine base by
# itself, or after the fixes its message says it needs ("On a stable
# branch this needs "SUBJECT" [and "SUBJECT"] first").  Test hunks may
# need the earlier fix that created their file.
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

# The patch files of the fixes that $1's message says it needs on a
# stable branch, by their subjects
needs() {
    python3 - "$1" "$PATCHES" <<'PY'
import email, glob, os, re, sys

def subject(path):
    with open(path) as f:
        msg = email.message_from_file(f)
    return re.sub(r'^\[PATCH[^]]*\] ', '', ' '.join(msg['Subject'].split()))

text = open(sys.argv[1]).read().split('\n---\n', 1)[0]
m = re.search(r'On a stable branch this needs (.*?) first',
              ' '.join(text.split()))
by_subject = {subject(f): f
              for f in sorted(glob.glob(os.path.join(sys.argv[2], '0*.patch')))}
for s in re.findall(r'"([^"]+)"', m.group(1)) if m else []:
    print(by_subject.get(s, 'missing: ' + s))
PY
}

# Apply to $tmp/index the code of $1, after that of the fixes it needs
apply_with_needs() {
    local p=$1 f
    while IFS= read -r f; do
        case "$f" in missing:*) echo "no patch has the subject${f#missing:}"; return 1 ;; esac
        apply_with_needs "$f" || return 1
        basename "$f" >> "$tmp/needed"
    done < <(needs "$p")
    grep -qxF "$(basename "$p")" "$tmp/applied" && return 0
    code_part "$p" > "$tmp/part.diff"
    if [ -s "$tmp/part.diff" ]; then
        GIT_INDEX_FILE="$tmp/index" git -C "$QEMU_SRC" apply --cached \
            "$tmp/part.diff" || return 1
    fi
    basename "$p" >> "$tmp/applied"
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
    fixes_line=$(grep -m1 '^Fixes: ' "$PATCHES/$p" || echo "Fixes: (none identified)")
    : > "$tmp/needed"
    : > "$tmp/applied"
    GIT_INDEX_FILE="$tmp/index" git -C "$QEMU_SRC" read-tree base
    if [ -n "$(needs "$PATCHES/$p")" ]; then
        if ! apply_with_needs "$PATCHES/$p" > "$tmp/apply.log" 2>&1; then
            bad "$p: its code does not apply to base after the fixes it needs: $(head -2 "$tmp/apply.log")"
            continue
        fi
        echo "ok: $n $p applies to base after $(sort -u "$tmp/needed" | cut -c1-4 | tr '\n' ' ')(named in its message); $fixes_line"
    elif [ -s "$tmp/code.diff" ] &&
         ! GIT_INDEX_FILE="$tmp/index" git -C "$QEMU_SRC" apply --cached --check \
                "$tmp/code.diff" 2> "$tmp/apply.log"; then
        bad "$p: its code does not apply to base by itself: $(head -2 "$tmp/apply.log")"
        continue
    else
        echo "ok: $n $p applies to base alone; $fixes_line"
    fi
    if [ "${STABLE_BUILD:-0}" = 1 ] && [ -s "$tmp/code.diff" ]; then
        WT="$BUILD/stable"
        if [ ! -e "$WT/.git" ]; then
            git -C "$QEMU_SRC" worktree prune
            git -C "$QEMU_SRC" worktree add -q --detach "$WT" base
            git -C "$WT" checkout -q base -- subprojects
        fi
        git -C "$WT" checkout -q -f --detach base
        # the fixes it needs first, if any ($tmp/applied ends with it)
        [ -s "$tmp/applied" ] || basename "$p" > "$tmp/applied"
        ok_apply=1
        while read -r f; do
            code_part "$PATCHES/$f" > "$tmp/part.diff"
            [ -s "$tmp/part.diff" ] || continue
            git -C "$WT" apply "$tmp/part.diff" || ok_apply=0
        done < "$tmp/applied"
        [ "$ok_apply" = 1 ] || { bad "$p: apply in $WT"; continue; }
        if QEMU_SRC="$WT" QEMU_BIN="$WT/build" QTESTS="cxl-test" "$TOP/scripts/build.sh" \
                > "$BUILD/stable-$n.log" 2>&1 &&
           (cd "$WT/build" && QTEST_QEMU_BINARY=./qemu-system-x86_64 \
                ./tests/qtest/cxl-test --tap -k) > "$BUILD/stable-$n.tap" 2>&1 &&
           ! grep -q '^not ok' "$BUILD/stable-$n.tap"; then
            echo "ok: $n builds on base with $(wc -l < "$tmp/applied") patch(es) applied, cxl-test passes"
        else
            bad "$p: does not build on base (with what it needs) or cxl-test fails (build/stable-$n.log)"
        fi
        git -C "$WT" checkout -q -f --detach base
    fi
done < "$PATCHES/series"
[ "$fixes" -gt 0 ] || bad "no patch carries Cc: qemu-stable@nongnu.org"
echo "stable: $fixes fix(es) in front, $failed failure(s)"
[ "$failed" -eq 0 ]
