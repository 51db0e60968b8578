#!/bin/bash
# The tooling keeps its promises: a tree made from patches/ exports back to
# exactly patches/ (so 'make tree && make export' leaves git status clean),
# and a broken patch stops 'make tree' (and so 'make check') with an error.
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
echo "PASS: tooling"
