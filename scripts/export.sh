#!/bin/bash
# Write build/qemu's commits since 'base' back to patches/ (deterministic).
set -euo pipefail
. "$(dirname "$0")/common.sh"

cd "$QEMU_SRC"
if [ -n "$(git status --porcelain)" ]; then
    echo "warning: build/qemu has uncommitted changes; they are not exported:" >&2
    git status --short >&2
fi
n=$(git rev-list --count base..HEAD)
[ "$n" -gt 0 ] || die "no commits on top of base"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The cover letter text lives in patches/cover-letter.txt: subject line,
# blank line, body.  format-patch adds the shortlog and diffstat.
OUT="${PATCHES_DIR:-$TOP/patches}"
cover="$TOP/patches/cover-letter.txt"
[ -f "$cover" ] || die "missing $cover"
git -c core.abbrev=12 -c branch.master.description="$(cat "$cover")" \
    format-patch -q --zero-commit --no-signature --cover-letter \
    --cover-from-description=subject --subject-prefix="PATCH" \
    --no-base -o "$tmp" base..HEAD
# Drop the time of export from the cover letter so re-exports are identical.
sed -i '0,/^Date: /s/^Date: .*/Date: Thu, 1 Jan 2026 00:00:00 +0000/' "$tmp/0000-cover-letter.patch"
mkdir -p "$OUT"
rm -f "$OUT"/[0-9][0-9][0-9][0-9]-*.patch
cp "$tmp"/*.patch "$OUT/"
(cd "$OUT" && ls [0-9][0-9][0-9][0-9]-*.patch | grep -v '^0000-') > "$OUT/series"
log "exported $n patch(es) to $OUT"
