#!/bin/sh
# The project's test command (README "Run the tests"; .ci/run calls exactly this).
#
# Installs the Debian packages (scripts/install-deps.sh), builds with warnings
# as errors and runs every test with ctest; then builds again with
# AddressSanitizer + UndefinedBehaviorSanitizer and runs the suite again.
# Tests start the servers they need themselves (PostgreSQL, ...).
#
#   scripts/test.sh            everything
#   scripts/test.sh --no-asan  skip the sanitizer pass
# Environment: MMDX_TEST_DATA (shared test data, default ../shared/data),
# JOBS (parallel build/test jobs, default 2).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
jobs=${JOBS:-2}
asan=1
[ "${1:-}" = "--no-asan" ] && asan=0

scripts/install-deps.sh

run_suite() {
    dir=$1; shift
    echo "== configure $dir ($*)"
    cmake -S . -B "$dir" -DMMDX_WERROR=ON "$@" >/dev/null
    echo "== build $dir"
    cmake --build "$dir" -j"$jobs"
    echo "== test $dir"
    rc=0
    (cd "$dir" && ctest -j"$jobs" --output-on-failure --timeout 900) || rc=$?
    [ "$dir" = build-test ] && reliability_table "$dir"
    return "$rc"
}

# The reliability matrix (docs/reliability.md) of the first pass, failed cases
# included, into BUILD/reliability.md; its totals on the console.
reliability_table() {
    echo "== reliability matrix"
    python3 scripts/reliability-table.py "$1" --write "$1/reliability.md" || true
}

start=$(date +%s)
run_suite build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "$asan" = 1 ]; then
    # detect_leaks: every test must free what it allocates.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DMMDX_SANITIZE=ON
fi
echo "== all tests passed in $(( $(date +%s) - start )) s"
