#!/bin/bash
# 'make check-sanitize': a second build of the tree with AddressSanitizer
# and UndefinedBehaviorSanitizer, then every qtest of the series under it.
# Any sanitizer report fails the run.
set -uo pipefail
. "$(dirname "$0")/common.sh"

SAN="$QEMU_SRC/build-san"
configure_build "$SAN" --disable-docs --enable-asan --enable-ubsan
targets=(qemu-system-x86_64)
for t in $(series_qtests); do
    targets+=("tests/qtest/$t")
done
log "building with ASan/UBSan"
ninja_build "$SAN" "${targets[@]}" > "$BUILD/sanitize-build.log" 2>&1 ||
    { tail -30 "$BUILD/sanitize-build.log"; die "sanitizer build failed"; }
link_firmware "$SAN"

logdir="$BUILD/sanitize-logs"
rm -rf "$logdir" && mkdir -p "$logdir"
# Reports go to files, one per process, so a report from a QEMU that a
# qtest started is seen even if the test itself passes.
export ASAN_OPTIONS="detect_leaks=1:log_path=$logdir/asan:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$logdir/ubsan"
export LSAN_OPTIONS="suppressions=$TOP/scripts/lsan.supp"
fail=0
for t in $(series_qtests); do
    log "qtest $t under ASan/UBSan"
    if ! (cd "$SAN" && QTEST_QEMU_BINARY=./qemu-system-x86_64 \
            timeout 1800 "./tests/qtest/$t" --tap -k) > "$logdir/$t.tap" 2>&1 ||
       grep -q '^not ok' "$logdir/$t.tap"; then
        echo "FAIL: $t"
        grep '^not ok' "$logdir/$t.tap"
        fail=1
    else
        echo "PASS: $t ($(grep -c '^ok ' "$logdir/$t.tap") cases)"
    fi
done
# ASan warns once per process that it does not fully follow coroutine
# stack switches; that warning alone is not a report.
reports=$(for f in $(find "$logdir" -name 'asan.*' -o -name 'ubsan.*' | sort); do
              grep -qv "ASan doesn't fully support makecontext/swapcontext" "$f" && echo "$f"
          done)
if [ -n "$reports" ]; then
    echo "sanitizer reports:"
    for r in $reports; do
        echo "== $r"
        head -40 "$r"
    done
    fail=1
else
    echo "no sanitizer reports"
fi
[ "$fail" -eq 0 ]
