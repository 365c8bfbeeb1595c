#!/bin/sh
# Run one libFuzzer target for a bounded time on a copy of its committed
# corpus, and print its line of the reliability matrix (row 6,
# docs/reliability.md "Fuzzing").
#
#   scripts/fuzz-run.sh FUZZER CORPUS WORKDIR SECONDS [extra libFuzzer flags]
#
# FUZZER is a target built with -DMMDX_FUZZ=ON (clang); CORPUS its committed
# seeds (never written to: the run grows WORKDIR/corpus, a copy). A crash,
# leak, timeout (-timeout, 25 s per input) or memory blow-up (-rss_limit_mb)
# leaves the reproducer in WORKDIR (crash-*, leak-*, timeout-*, oom-*) and
# makes this script exit 1. Used by the fuzz ctests (tests/CMakeLists.txt,
# label `fuzz`) that scripts/test.sh runs, and by hand for longer runs.
set -eu
[ $# -ge 4 ] || { echo "usage: $0 FUZZER CORPUS WORKDIR SECONDS [flags]" >&2; exit 2; }
fuzzer=$1 corpus=$2 work=$3 seconds=$4
shift 4
name=$(basename "$fuzzer")
rm -rf "$work/corpus"
mkdir -p "$work/corpus"
cp "$corpus"/* "$work/corpus/"
seeds=$(ls "$work/corpus" | wc -l)
log="$work/fuzz.log"

status=0
start=$(date +%s)
# -malloc_limit_mb above the RSS limit: DCMTK reserves (without touching)
# the length an element claims, up to 4 GiB, and htslib's bcf_read the two
# lengths a BCF record claims, up to 2 x 4 GiB, before finding the data
# short (mmdx then refuses the file: tests/cli/test_bad_input.c shows it
# under a 2 GiB address-space limit); the RSS limit still catches real
# growth. One process: ctest -j runs the targets side by side.
"$fuzzer" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -malloc_limit_mb=8400 \
    -print_final_stats=1 -artifact_prefix="$work/" "$@" "$work/corpus" >"$log" 2>&1 || status=$?
elapsed=$(( $(date +%s) - start ))

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
found=$(ls "$work" | grep -c -E '^(crash|leak|timeout|oom|slow-unit)-' || true)
after=$(ls "$work/corpus" | wc -l)
result=pass
if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
    result=fail
    echo "$name: libFuzzer exit $status; reproducers in $work:" >&2
    ls "$work" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' >&2 || true
    tail -n 40 "$log" >&2
fi
printf 'MMDX-RELIABILITY\t6\t%s\t%s\t%s execs in %s s, corpus %s -> %s inputs, new crashes %s\n' \
    "$name" "$result" "${execs:-0}" "$elapsed" "$seeds" "$after" "$found"
[ "$result" = pass ]
