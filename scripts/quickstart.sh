#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The README's main command: from a fresh Debian 12 machine to a screened,
# audited sample cohort.
#
#   scripts/quickstart.sh
#
# Installs the Debian packages (scripts/install-deps.sh), builds mmdx and its
# plugins, generates a small synthetic cohort (CT series, VCFs, FHIR bundles)
# for training and another for screening, starts a throwaway local PostgreSQL
# unless MMDX_DB names one, creates the schema, trains a signed late-fusion
# model, screens the cohort into the database and a CSV, and verifies the audit
# log. Environment: MMDX_DB (a database to use instead of the throwaway one; its
# password in ~/.pgpass), PATIENTS (screened patients, default 100), JOBS
# (build jobs, default 2), BUILD_DIR (default build-quickstart), MMDX_QUICKSTART_DIR (keep the outputs there; default:
# a temporary folder removed at the end), MMDX_BIN (an mmdx already built: skip
# the dependencies and the build; the test suite runs the script that way).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
jobs=${JOBS:-2}
patients=${PATIENTS:-100}
start=$(date +%s)

step() { echo "== $*"; }

if [ -n "${MMDX_BIN:-}" ]; then
    mmdx=$MMDX_BIN
else
    step "dependencies"
    scripts/install-deps.sh

    step "build"
    build=${BUILD_DIR:-build-quickstart}
    if [ -f "$build/CMakeCache.txt" ]; then
        cmake -S . -B "$build" >/dev/null
    else
        cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    fi
    cmake --build "$build" -j"$jobs" >/dev/null
    mmdx=$(cd "$build" && pwd)/bin/mmdx
fi

if [ -n "${MMDX_QUICKSTART_DIR:-}" ]; then
    work=$MMDX_QUICKSTART_DIR
    mkdir -p "$work"
    keep=1
else
    work=$(mktemp -d)
    keep=0
fi
pg_started=0
cleanup() {
    [ $pg_started = 1 ] && sh "$here/tests/support/pg_server.sh" stop "$work/pg" >/dev/null 2>&1 || true
    [ $keep = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "sample cohorts (synthetic: nothing here is real patient data)"
rm -rf "$work/train" "$work/cohort"
"$mmdx" synth --patients 200 --seed 2 --out "$work/train" --no-progress
"$mmdx" synth --patients "$patients" --seed 1 --out "$work/cohort" --no-progress
# One secret per site: it signs the model and keys the audit log's HMACs.
openssl rand -hex 32 > "$work/site.key"
chmod 600 "$work/site.key"
export MMDX_SITE_KEY=$work/site.key
export MMDX_CONFIG=$work/cohort/mmdx.conf

if [ -z "${MMDX_DB:-}" ]; then
    step "throwaway PostgreSQL"
    MMDX_DB=$(sh "$here/tests/support/pg_server.sh" start "$work/pg")
    pg_started=1
fi
export MMDX_DB
"$mmdx" db migrate --site-key "$MMDX_SITE_KEY"

step "train a signed late-fusion model"
"$mmdx" train --cohort "$work/train/cohort.csv" --fusion late --out "$work/model.mmdx" --no-progress

step "screen"
status=0
"$mmdx" screen --model "$work/model.mmdx" --cohort "$work/cohort/cohort.csv" --out "$work/results.csv" \
    --keep-going --no-progress || status=$?

step "audit verify"
"$mmdx" audit verify --site-key "$MMDX_SITE_KEY"

echo "== done in $(( $(date +%s) - start )) s; results: $work/results.csv$( [ $keep = 1 ] || echo ' (temporary: set MMDX_QUICKSTART_DIR to keep it)')"
exit "$status"
