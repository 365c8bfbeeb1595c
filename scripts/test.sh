#!/bin/sh
# The project's test command (README "Run the tests"; .ci/run calls exactly this).
#
# Installs the Debian packages (scripts/install-deps.sh), builds with warnings
# as errors and runs every test with ctest; then builds again with
# AddressSanitizer + UndefinedBehaviorSanitizer and runs the suite again;
# then builds the libFuzzer targets with clang and runs each for a bounded
# time on its committed corpus (a crash fails the run and leaves its
# reproducer in build-fuzz/fuzz-runs/<target>/).
# Tests start the servers they need themselves (PostgreSQL, ...).
#
#   scripts/test.sh            everything
#   scripts/test.sh --no-asan  skip the sanitizer pass
#   scripts/test.sh --no-fuzz  skip the fuzzing pass
# Environment: MMDX_TEST_DATA (shared test data, default ../shared/data),
# JOBS (parallel build/test jobs, default 2), MMDX_FUZZ_SECONDS (per fuzz
# target, default 10).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
jobs=${JOBS:-2}
asan=1
fuzz=1
for arg in "$@"; do
    case "$arg" in
        --no-asan) asan=0 ;;
        --no-fuzz) fuzz=0 ;;
        *) echo "usage: $0 [--no-asan] [--no-fuzz]" >&2; exit 2 ;;
    esac
done

scripts/install-deps.sh

run_suite() {
    dir=$1; shift
    echo "== configure $dir ($*)"
    cmake -S . -B "$dir" -DMMDX_WERROR=ON -DMMDX_TEST_HOOKS=ON "$@" >/dev/null
    echo "== build $dir"
    cmake --build "$dir" -j"$jobs"
    echo "== test $dir"
    rc=0
    (cd "$dir" && ctest -j"$jobs" --output-on-failure --timeout 900) || rc=$?
    [ "$dir" = build-test ] && reliability_table "$dir"
    return "$rc"
}

# The reliability matrix (docs/reliability.md) of the build trees named (the
# first pass's, then with the fuzz pass's row 6), failed cases included, into
# build-test/reliability.md; its totals on the console.
reliability_table() {
    echo "== reliability matrix"
    python3 scripts/reliability-table.py "$@" --write build-test/reliability.md || true
}

start=$(date +%s)
run_suite build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "$asan" = 1 ]; then
    # detect_leaks: every test must free what it allocates.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DMMDX_SANITIZE=ON
fi
if [ "$fuzz" = 1 ]; then
    # Reliability row 6: every libFuzzer target (tests/CMakeLists.txt,
    # mmdx_add_fuzzer), instrumented with clang; only the fuzz targets are
    # built, -O1 to keep the build short. ctest runs JOBS targets at a time,
    # one libFuzzer process each (scripts/fuzz-run.sh).
    echo "== configure build-fuzz (clang, libFuzzer)"
    CC=clang CXX=clang++ cmake -S . -B build-fuzz -DMMDX_FUZZ=ON -DCMAKE_BUILD_TYPE= \
        -DCMAKE_C_FLAGS="-O1 -gline-tables-only" -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" \
        -DMMDX_FUZZ_SECONDS="${MMDX_FUZZ_SECONDS:-10}" >/dev/null
    echo "== build build-fuzz (fuzz targets)"
    cmake --build build-fuzz -j"$jobs" --target mmdx_fuzzers
    echo "== fuzz build-fuzz"
    (cd build-fuzz && ctest -L fuzz -j"$jobs" --output-on-failure --timeout 300)
    reliability_table build-test build-fuzz
fi
echo "== all tests passed in $(( $(date +%s) - start )) s"
