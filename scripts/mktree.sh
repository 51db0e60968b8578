#!/bin/bash
# Create build/qemu: a git tree with the pristine base (tag 'base') and the
# series from patches/ applied on top with git am.
set -euo pipefail
. "$(dirname "$0")/common.sh"

"$TOP/scripts/fetch-base.sh"
if [ -d "$QEMU_SRC/.git" ]; then
    die "$QEMU_SRC exists; remove it (make distclean-tree) to recreate it"
fi
log "creating $QEMU_SRC"
rm -rf "$QEMU_SRC"
cp -a "$BUILD/src" "$QEMU_SRC"
rm -f "$QEMU_SRC/.cxl-tagmem-base-ok"
cd "$QEMU_SRC"
git init -q -b master .
git config user.name "$GIT_IDENT_NAME"
git config user.email "$GIT_IDENT_EMAIL"
git config core.autocrlf false
git config am.threeWay false
git config format.signature ""
# the meson build directory lives inside the tree
printf "/build/\n/build-san/\n/build-fuzz/\n/build-docs/\n" >> .git/info/exclude
git add -A .
# The +ds tarball bundles subprojects that QEMU's .gitignore hides; without
# them configure tries the network.
git add -f subprojects
GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z" \
    git commit -q -m "QEMU $BASE_VERSION (Debian source, Debian patches applied)"
git tag base
PATCHES="${PATCHES_DIR:-$TOP/patches}"
if [ -f "$PATCHES/series" ]; then
    while read -r p; do
        case "$p" in ''|'#'*) continue ;; esac
        GIT_COMMITTER_DATE="2026-01-01T00:00:00Z" git am -q --committer-date-is-author-date "$PATCHES/$p" ||
            { git am --abort 2>/dev/null; die "patches/$p does not apply"; }
    done < "$PATCHES/series"
fi
log "build/qemu: $(git rev-list --count base..HEAD) patch(es) on base"
