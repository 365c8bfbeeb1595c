#!/bin/sh
# The README's "Step by step" block, run as written (its first line, the build,
# is done already: build/ here is the build tree under test), against a fresh
# database of the test PostgreSQL server.
# SPDX-License-Identifier: Apache-2.0
set -eu
build=$1 src=$2
skip() { echo "SKIP: $*"; exit 77; }
[ -n "${MMDX_PG_STATE:-}" ] && [ -f "$MMDX_PG_STATE/dsn" ] || skip "no PostgreSQL test server (run through ctest)"
admin=$(cat "$MMDX_PG_STATE/dsn")
tmp=$(mktemp -d)
name="readme_steps_$$"
cleanup() {
    PGOPTIONS="-c client_min_messages=warning" psql "$admin" -X -q -c "DROP DATABASE IF EXISTS $name" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
PGOPTIONS="-c client_min_messages=warning" psql "$admin" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $name" >/dev/null

# The block between "Step by step" and the end of its code fence.
awk '/^Step by step/ { on = 1 } on && /^```sh$/ { code = 1; next } code && /^```$/ { exit } code { print }' \
    "$src/README.md" > "$tmp/steps.sh"
grep -q '^mmdx screen' "$tmp/steps.sh" || { echo "FAIL: no step-by-step block found in README.md" >&2; exit 1; }
# The build line builds the tree under test: here it is already built.
grep -v '^cmake ' "$tmp/steps.sh" > "$tmp/run.sh"
ln -s "$build" "$tmp/build"
cd "$tmp"
if ! env -u MMDX_CONFIG -u MMDX_SITE_KEY MMDX_DB="$admin dbname=$name" sh -eu run.sh > out.txt 2> err.txt; then
    echo "FAIL: the README's step-by-step block failed:" >&2
    tail -30 err.txt >&2
    exit 1
fi
grep -q "The audit log is intact" out.txt || { echo "FAIL: audit verify did not report an intact log" >&2; cat out.txt >&2; exit 1; }
# Nothing was dropped silently: the model uses the polygenic score the configuration names.
grep -aq '^feature: genomics\.prs\.' model.mmdx || { echo "FAIL: the model has no polygenic score feature" >&2; exit 1; }
if grep -q "warning" err.txt; then
    echo "FAIL: the README's steps print warnings:" >&2
    grep warning err.txt >&2
    exit 1
fi
# The defect the block once had: training without the configuration warns, and screening with it
# then says what is wrong instead of showing two hashes.
mmdx=$build/bin/mmdx
env -u MMDX_CONFIG "$mmdx" train --cohort train/cohort.csv --fusion late --site-key site.key --out bare.mmdx \
    --no-progress 2> train.err || { echo "FAIL: training without --config failed" >&2; cat train.err >&2; exit 1; }
grep -q "warning: no site configuration was given (--config): the genomics encoder runs with its built-in defaults (no polygenic score)" train.err ||
    { echo "FAIL: no warning about the missing configuration" >&2; cat train.err >&2; exit 1; }
set +e
env -u MMDX_CONFIG "$mmdx" screen --model bare.mmdx --cohort cohort/cohort.csv --config cohort/mmdx.conf \
    --site-key site.key --no-db --out bare.csv --no-progress > /dev/null 2> screen.err
code=$?
set -e
[ "$code" -eq 3 ] || { echo "FAIL: screen exited $code, expected 3" >&2; cat screen.err >&2; exit 1; }
grep -q "was trained without a \[genomics\] section in the configuration, and the configuration now has one: pass the configuration used at training" screen.err ||
    { echo "FAIL: the refusal does not say what is wrong" >&2; cat screen.err >&2; exit 1; }
rows=$(($(wc -l < results.csv) - 1))
[ "$rows" -eq 60 ] || { echo "FAIL: results.csv has $rows patients, expected 60" >&2; exit 1; }
echo "README step by step: ok ($rows patients screened)"
