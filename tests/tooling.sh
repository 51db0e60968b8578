#!/bin/bash
# The tooling keeps its promises: a tree made from patches/ exports back to
# exactly patches/ (so 'make tree && make export' leaves git status clean),
# a broken patch stops 'make tree' (and so 'make check') with an error, and
# check-stable applies a fix after the fixes its message says it needs.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# git am onto the 10k-file base starts a detached auto gc, which could still
# be writing into a tree while the trap removes it ("Directory not empty").
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=gc.auto GIT_CONFIG_VALUE_0=0

[ -d "$TOP/build/src" ] || { echo "FAIL: no build/src; run 'make tree' first"; exit 1; }

echo "== a tree made from patches/ exports to the same patches/"
QEMU_SRC="$tmp/tree" "$TOP/scripts/mktree.sh" > "$tmp/mktree.log"
QEMU_SRC="$tmp/tree" PATCHES_DIR="$tmp/out" "$TOP/scripts/export.sh" > "$tmp/export.log" 2>&1
if ! diff -r -x cover-letter.txt "$TOP/patches" "$tmp/out" > "$tmp/diff"; then
    echo "FAIL: re-exporting the series changes patches/:"
    head -40 "$tmp/diff"
    exit 1
fi
echo "ok: $(grep -c . "$TOP/patches/series") patches re-export byte for byte"

echo "== a patch that does not apply stops the tree"
mkdir -p "$tmp/broken"
cp "$TOP"/patches/*.patch "$TOP/patches/series" "$tmp/broken/"
victim=$(head -1 "$tmp/broken/series")
# change a context line of the first hunk so that it no longer matches
awk 'BEGIN { done = 0 } /^@@/ { hunk = 1 } hunk && !done && /^ / { print " cxl-tagmem: broken on purpose"; done = 1; next } { print }' \
    "$TOP/patches/$victim" > "$tmp/broken/$victim"
cmp -s "$TOP/patches/$victim" "$tmp/broken/$victim" && { echo "FAIL: could not break $victim"; exit 1; }
rm -rf "$tmp/tree"
if QEMU_SRC="$tmp/tree" PATCHES_DIR="$tmp/broken" "$TOP/scripts/mktree.sh" > "$tmp/broken.log" 2>&1; then
    echo "FAIL: mktree accepted a broken $victim"
    exit 1
fi
grep -q "does not apply" "$tmp/broken.log" || { echo "FAIL: no clear error:"; cat "$tmp/broken.log"; exit 1; }
echo "ok: $(grep 'does not apply' "$tmp/broken.log")"
echo "== check-stable applies the fixes a fix says it needs, and only those"
mkdir -p "$tmp/stable"
cp "$TOP"/patches/*.patch "$tmp/stable/"
fix=$(grep -l -m1 '^On a stable branch this needs' "$TOP"/patches/0*.patch | head -1)
fix=$(basename "$fix")
echo "$fix" > "$tmp/stable/series"
PATCHES_DIR="$tmp/stable" "$TOP/scripts/check-stable.sh" > "$tmp/stable.log" 2>&1 ||
    { echo "FAIL: check-stable refused $fix:"; cat "$tmp/stable.log"; exit 1; }
grep -q "^ok: 1 $fix applies to base after " "$tmp/stable.log" ||
    { echo "FAIL: check-stable did not apply what $fix needs:"; cat "$tmp/stable.log"; exit 1; }
# without the sentence, the fix no longer applies to base
sed -i '/^On a stable branch this needs/,/^$/d' "$tmp/stable/$fix"
if PATCHES_DIR="$tmp/stable" "$TOP/scripts/check-stable.sh" > "$tmp/stable2.log" 2>&1 ||
   ! grep -q "does not apply to base by itself" "$tmp/stable2.log"; then
    echo "FAIL: check-stable accepted $fix without the fixes it needs:"
    cat "$tmp/stable2.log"
    exit 1
fi
echo "ok: $fix applies after what it names, and not without"
echo "PASS: tooling"
