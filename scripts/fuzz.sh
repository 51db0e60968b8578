#!/bin/bash
# 'make fuzz': a bounded libFuzzer campaign over the CXL Type 3 Dynamic
# Capacity paths (type3 mailbox, HDM decoders, fixed memory window, FM-API
# through a switch mailbox CCI), with the cxl-dcd-fuzz target of
# tests/qtest/fuzz/cxl_dcd_fuzz.c in an ASan/UBSan + libFuzzer build.
#
# Environment:
#   FUZZ_SECONDS   total fuzzing time in seconds (default 300)
#   FUZZ_TARGET    fuzz target name (default cxl-dcd-fuzz)
#   FUZZ_MAX_LEN   libFuzzer -max_len (default 4096)
#   FUZZ_TIMEOUT   seconds one input may run (default 10; the target
#                  enforces it, libFuzzer's -timeout cannot: QEMU blocks
#                  SIGALRM)
#   FUZZ_ARGS      extra libFuzzer arguments
#   FUZZ_BUILD_ONLY=1  configure and build, do not fuzz
#   FUZZ_BUILD_ONLY=objects  configure and compile only the fuzz targets'
#                      sources (tests/qtest/fuzz/*.c; what CI does)
#   FUZZ_REPRO=FILE    run one input (e.g. a crash file) and exit
#   FUZZ_LEAK_CHECK=1  run LeakSanitizer after every input (slower)
#   FUZZ_KEEP_GOING=0  stop at the first crash (default: restart the fuzzer
#                      until FUZZ_SECONDS are used, at most FUZZ_MAX_RESTARTS)
#   CXL_FUZZ_*         options of the cxl-dcd-fuzz target, see
#                      tests/qtest/fuzz/cxl_dcd_fuzz.c
#
# Exit status: 0 if the fuzzer ran and found no crash; 1 if it found one or
# stopped on an input that crashed before (a known crash in the corpus);
# 2 on setup errors and when the fuzzer never ran (unknown target, start-up
# failure, no input executed).
set -uo pipefail
. "$(dirname "$0")/common.sh"

FUZZ_BIN_DIR="$QEMU_SRC/build-fuzz"
FUZZ_EXE=qemu-fuzz-x86_64
FUZZ_SECONDS=${FUZZ_SECONDS:-300}
FUZZ_TARGET=${FUZZ_TARGET:-cxl-dcd-fuzz}
FUZZ_MAX_LEN=${FUZZ_MAX_LEN:-4096}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}
export CXL_FUZZ_TIMEOUT=$FUZZ_TIMEOUT
CORPUS="$BUILD/fuzz-corpus/$FUZZ_TARGET"
CRASHES="$BUILD/fuzz-crashes"
LOGDIR="$BUILD/fuzz-logs"
CLANG_VER=14

fail() { echo "error: $*" >&2; exit 2; }

# --- dependencies (idempotent) ---------------------------------------------
# clang + the compiler-rt runtimes (libFuzzer, ASan, UBSan) + lld, on top
# of what the normal build needs (scripts/deps.sh).
"$(dirname "$0")/deps.sh" || fail "deps.sh failed"
FUZZ_PKGS=("clang-$CLANG_VER" "libclang-rt-$CLANG_VER-dev" "lld-$CLANG_VER"
           "llvm-$CLANG_VER")
missing=()
for p in "${FUZZ_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" ||
        fail "apt-get install ${missing[*]} failed"
fi
[ -d "$QEMU_SRC/.git" ] || fail "no $QEMU_SRC; run 'make tree' first"

# --- configure and build ----------------------------------------------------
configure_build "$FUZZ_BIN_DIR" --disable-docs --enable-fuzzing --enable-asan --enable-ubsan \
    --cc="clang-$CLANG_VER" --cxx="clang++-$CLANG_VER"
mkdir -p "$BUILD"
if [ "${FUZZ_BUILD_ONLY:-0}" = objects ]; then
    # CI: compile the fuzz targets' own sources (tests/qtest/fuzz/) with
    # clang and the sanitizers, not the whole QEMU they link into.
    mapfile -t objs < <(ninja -C "$FUZZ_BIN_DIR" -t targets all |
        sed -n "s|^\($FUZZ_EXE\.p/tests_qtest_fuzz_[^:]*\.o\): .*|\1|p")
    [ ${#objs[@]} -gt 0 ] || fail "no tests/qtest/fuzz objects of $FUZZ_EXE in $FUZZ_BIN_DIR"
    log "compiling the fuzz targets: ${objs[*]##*/}"
    ninja_build "$FUZZ_BIN_DIR" "${objs[@]}" > "$BUILD/fuzz-build.log" 2>&1 ||
        { tail -30 "$BUILD/fuzz-build.log"; fail "fuzz target compile failed (log: $BUILD/fuzz-build.log)"; }
    exit 0
fi
log "building $FUZZ_EXE"
ninja_build "$FUZZ_BIN_DIR" "$FUZZ_EXE" > "$BUILD/fuzz-build.log" 2>&1 ||
    { tail -30 "$BUILD/fuzz-build.log"; fail "fuzzer build failed (log: $BUILD/fuzz-build.log)"; }
[ "${FUZZ_BUILD_ONLY:-0}" = 1 ] && { log "built $FUZZ_BIN_DIR/$FUZZ_EXE"; exit 0; }
link_firmware "$FUZZ_BIN_DIR"

# Trees made before mktree.sh knew about build-fuzz: keep 'git status' clean
grep -qx '/build-fuzz/' "$QEMU_SRC/.git/info/exclude" 2>/dev/null ||
    echo '/build-fuzz/' >> "$QEMU_SRC/.git/info/exclude"

FUZZER="$FUZZ_BIN_DIR/$FUZZ_EXE"
mkdir -p "$CORPUS" "$CRASHES" "$LOGDIR"
# The child of each run reports through ASan/UBSan; any report is a crash.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:handle_abort=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
if [ "${FUZZ_LEAK_CHECK:-0}" = 1 ]; then
    # LeakSanitizer in each child, after its input.  A child forked while
    # the call_rcu thread was freeing a flat view sees that block as lost.
    supp="$LOGDIR/lsan.supp"
    { cat "$TOP/scripts/lsan.supp" 2>/dev/null
      echo "leak:object_property_del_all"; } > "$supp"
    export CXL_FUZZ_LEAK_CHECK=1
    export ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:$ASAN_OPTIONS"
    export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$supp}"
fi
SYMB=$(command -v "llvm-symbolizer-$CLANG_VER" || command -v llvm-symbolizer || true)
[ -n "$SYMB" ] && export ASAN_SYMBOLIZER_PATH="$SYMB"

if [ -n "${FUZZ_REPRO:-}" ]; then
    log "running $FUZZ_REPRO"
    exec "$FUZZER" --fuzz-target="$FUZZ_TARGET" -runs=1 "$FUZZ_REPRO"
fi

# --- seed corpus --------------------------------------------------------------
# Operations are separated by "FUZZ"; the first byte selects the operation
# (enum CXLFuzzOp in tests/qtest/fuzz/cxl_dcd_fuzz.c).
seed() {
    local f="$CORPUS/seed-$1"
    [ -e "$f" ] || printf "$2" > "$f"
}
if [ "$FUZZ_TARGET" = cxl-dcd-fuzz ]; then
    # the guest accepts everything offered, writes and reads the window
    seed accept-all '\x02\xff\x00\x00\x00'
    seed accept-rw '\x02\xff\x00\x00\x00FUZZ\x07\x02\x00\x00\x00\x00\x11\x22\x33\x44\x55\x66\x77\x88FUZZ\x07\x01\x00\x00\x00\x00'
    # accept with More, then the rest; decline
    seed accept-more '\x02\x01\x01\x00\x01FUZZ\x02\x02\x00\x00\x00'
    seed decline '\x02\x00\x02\x00\x00'
    # FM: Initiate DC Add of tm2 (tag C) at DPA 64M, the guest accepts it
    seed fm-add '\x04\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20\x00\x01\x03FUZZ\x02\xff\x00\x00\x00'
    # FM: tag-based release of tag A after acceptance, the guest releases
    seed fm-release '\x02\xff\x00\x00\x00FUZZ\x04\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01FUZZ\x02\x00\x00\xff\x00'
    # QMP: add tm2 at region 0 offset 32M, accept, tag-based release
    seed qmp-add '\x0b\x00\x00\x00\x03\x01\x10\x00\x01\x00\x00FUZZ\x02\xff\x00\x00\x00FUZZ\x0b\x01\x00\x00\x01\x00\x00\x01FUZZ\x02\x00\x00\xff\x00'
    # accept, uncommit the device decoder, reset
    seed hdm-reset '\x02\xff\x00\x00\x00FUZZ\x06\x00\x00\x00\x04\x00\x00\x00\x00FUZZ\x0b\x06\x00\x00'
    # mailbox: Get DC Config, Get DC Extent List; tunnel: Get DCD Info
    seed mbox '\x00\x00\x04\x00\x02\x00FUZZ\x00\x00\x05\x00\x10\x00\x00\x00\x00\x00\x00\x00FUZZ\x03\x00\x00\x00'
    # CDAT entries of the device
    seed cdat '\x0a\x00\x00\x00\x0cFUZZ\x0a\x00\x01\x00\x0c'
    # fixed-size FM commands: 5601h, then accept and 5603h, 5602h
    seed fm-fixed '\x03\x00\x01\x10\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x02\x00FUZZ\x02\xff\x00\x00\x00FUZZ\x03\x00\x03\x10\x00\x00\x00\x00\x00\x00\x00\x00\x0c\x00\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00FUZZ\x03\x00\x02\x10\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00'
    # poison on accepted capacity: inject (4301h), list (4300h), clear (4302h)
    seed poison '\x02\xff\x00\x00\x00FUZZ\x00\x00\x0f\x04\x08\x00FUZZ\x00\x00\x0e\x04\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x40\x00\x00\x00\x00\x00FUZZ\x00\x00\x10\x04\x48\x00'
fi

# --- campaign ---------------------------------------------------------------
stamp=$(date +%Y%m%d-%H%M%S)
before=$(mktemp)
ls "$CRASHES" > "$before" 2>/dev/null
start=$(date +%s)
deadline=$((start + FUZZ_SECONDS))
total_execs=0
run=0
cov="" ft="" corp="" broken="" known=""
log "fuzzing $FUZZ_TARGET for ${FUZZ_SECONDS}s (corpus $CORPUS, crashes $CRASHES)"
while :; do
    now=$(date +%s)
    left=$((deadline - now))
    [ "$left" -gt 0 ] || break
    run=$((run + 1))
    rlog="$LOGDIR/$stamp-run$run.log"
    # one job, one worker: the machine is shared
    "$FUZZER" --fuzz-target="$FUZZ_TARGET" -max_total_time="$left" \
        -max_len="$FUZZ_MAX_LEN" -rss_limit_mb=4096 \
        -print_final_stats=1 -artifact_prefix="$CRASHES/" \
        ${FUZZ_ARGS:-} "$CORPUS" > "$rlog" 2>&1
    rc=$?
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$rlog" | tail -1)
    total_execs=$((total_execs + ${n:-0}))
    last=$(grep -E '^#[0-9]+.*cov: ' "$rlog" | tail -1)
    if [ -n "$last" ]; then
        cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
        ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
        corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
    fi
    echo "run $run: exit $rc, ${n:-0} executions, cov ${cov:-?} ft ${ft:-?} (log $rlog)"
    if [ "$rc" -eq 0 ]; then
        break
    fi
    if ! grep -q 'Test unit written to' "$rlog"; then
        echo "fuzzer failed without saving an input:"
        tail -20 "$rlog"
        broken="run $run exited $rc without saving an input (log $rlog)"
        break
    fi
    # the most telling line of the report
    for pat in '==CXL-FUZZ==' 'Assertion|assertion failed|should not be reached|is not an instance' \
               'runtime error' 'ERROR: AddressSanitizer: [a-z]' 'ERROR: LeakSanitizer' \
               'ERROR: AddressSanitizer|ERROR: libFuzzer'; do
        why=$(grep -v '^qmp\|^  ->' "$rlog" | grep -m1 -E "$pat") && break
    done
    echo "    ${why:-?}" | cut -c1-200
    unit=$(sed -n "s|.*Test unit written to $CRASHES/||p" "$rlog" | tail -1)
    if grep -qxF "$unit" "$before" || grep -qxF "$unit" <<<"${seen:-}"; then
        # the same input again (a corpus file that crashes): restarting is
        # useless, and it is a crash all the same
        echo "    $unit crashed before: not restarting (fix the bug; the input is"
        echo "    in the corpus, FUZZ_REPRO=$CRASHES/$unit reproduces it)"
        known="$unit"
        break
    fi
    seen="${seen:-}$unit"$'\n'
    [ "${FUZZ_KEEP_GOING:-1}" = 1 ] && [ "$run" -lt "${FUZZ_MAX_RESTARTS:-20}" ] || break
done
end=$(date +%s)
elapsed=$((end - start))

# Minimize the corpus (each run replays all of it first) and measure its
# coverage, in one merge pass
merged="$CORPUS.merge"
rm -rf "$merged" && mkdir -p "$merged"
corpus_cov=$("$FUZZER" --fuzz-target="$FUZZ_TARGET" -merge=1 -max_len="$FUZZ_MAX_LEN" \
                "$merged" "$CORPUS" 2>&1 | sed -n 's/^MERGE-OUTER: \(.* new files .*\)/\1/p' | tail -1)
if [ -n "$corpus_cov" ] && [ -n "$(ls "$merged")" ]; then
    rm -rf "$CORPUS.old" && mv "$CORPUS" "$CORPUS.old" && mv "$merged" "$CORPUS" &&
        rm -rf "$CORPUS.old"
else
    rm -rf "$merged"
fi

echo
echo "== fuzz summary ($FUZZ_TARGET)"
echo "tree:        $(git -C "$QEMU_SRC" describe --always --dirty 2>/dev/null) ($(git -C "$QEMU_SRC" log -1 --format=%s 2>/dev/null))"
echo "time:        ${elapsed}s in $run run(s)"
echo "executions:  $total_execs"
echo "exec/s:      $((elapsed > 0 ? total_execs / elapsed : 0))"
echo "coverage:    cov ${cov:-?} ft ${ft:-?} corpus ${corp:-?} (last run)"
echo "corpus:      $(ls "$CORPUS" | wc -l) inputs after minimizing (${corpus_cov:-merge failed})"
new_crashes=$(ls "$CRASHES" 2>/dev/null | grep -vxF -f "$before" || true)
rm -f "$before"
status=0
if [ -n "$new_crashes" ]; then
    echo "crashes:     $(wc -l <<<"$new_crashes") new in $CRASHES:"
    sed 's/^/  /' <<<"$new_crashes"
    status=1
fi
if [ -n "$known" ]; then
    echo "crashes:     stopped on $CRASHES/$known, which crashed before"
    status=1
fi
if [ "$status" = 1 ]; then
    echo "reproduce:   FUZZ_REPRO=$CRASHES/<file> scripts/fuzz.sh (CXL_FUZZ_TRACE=1 to trace)"
    exit 1
fi
# A campaign that executed nothing proves nothing.
if [ -n "$broken" ] || [ "$total_execs" -eq 0 ]; then
    echo "error:       the fuzzer did not run: ${broken:-no input was executed}" >&2
    exit 2
fi
echo "crashes:     none"
exit 0
