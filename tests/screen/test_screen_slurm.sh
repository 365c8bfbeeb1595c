#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Submits scripts/slurm-screen.sh as a 3-task array job to a real
# single-node Slurm cluster started here (tests/screen/slurm_cluster.sh),
# against the PostgreSQL of the ctest fixture, and checks that the stored
# predictions equal those of one `mmdx screen` process over the whole cohort.
#
#   test_screen_slurm.sh BUILD_DIR SOURCE_DIR     (env MMDX_PG_STATE)
# Exit 77 (skip) without slurm-wlm/munge or a PostgreSQL server, except
# under CI=true where that fails.
set -eu
build=$1
src=$2
mmdx=$build/bin/mmdx

skip() {
    if [ "${CI:-}" = true ]; then echo "FAIL: $*" >&2; exit 1; fi
    echo "SKIP: $*" >&2
    exit 77
}
PATH=$PATH:/usr/sbin
for b in munged slurmctld slurmd sbatch squeue psql; do
    command -v "$b" >/dev/null 2>&1 || skip "$b is not installed (scripts/install-deps.sh)"
done
[ -n "${MMDX_PG_STATE:-}" ] && [ -f "$MMDX_PG_STATE/dsn" ] || skip "no PostgreSQL test server (run through ctest)"

tmp=$(mktemp -d)
cluster=$tmp/slurm
cleanup() {
    sh "$src/tests/screen/slurm_cluster.sh" stop "$cluster" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

admin=$(cat "$MMDX_PG_STATE/dsn")
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql "$1" -X -A -t -v ON_ERROR_STOP=1 -c "$2"; }
new_db() {
    name=screen_slurm_$$_$1
    psql_q "$admin" "DROP DATABASE IF EXISTS $name" >/dev/null
    psql_q "$admin" "CREATE DATABASE $name" >/dev/null
    dsn="$admin dbname=$name"
    "$mmdx" db migrate --db "$dsn" >/dev/null
    echo "$dsn"
}
content="SELECT coalesce(string_agg(patient || '|' || probability::text || '|' || coalesce(decision::text, '') || '|' || contributions || '|' || input_hashes, E'\n' ORDER BY patient), '') FROM mmdx.predictions"

# A cohort and a signed model.
"$mmdx" synth --patients 30 --out "$tmp/cohort" --seed 5 --missing 0.2 --image-size 16 --slices 6 --no-progress 2>/dev/null
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$tmp/site.key"
chmod 600 "$tmp/site.key"
export MMDX_SITE_KEY=$tmp/site.key
export MMDX_CONFIG=$tmp/cohort/mmdx.conf
"$mmdx" train --cohort "$tmp/cohort/cohort.csv" --modalities genomics,records --fusion early \
    --out "$tmp/model.mmdx" --no-progress >/dev/null 2>&1

# The reference: one process.
ref_db=$(new_db ref)
"$mmdx" screen --model "$tmp/model.mmdx" --cohort "$tmp/cohort/cohort.csv" --db "$ref_db" --no-progress \
    >/dev/null 2>&1 || [ $? -eq 3 ]
psql_q "$ref_db" "$content" > "$tmp/ref.txt"
[ -s "$tmp/ref.txt" ] || { echo "FAIL: the single-process run stored nothing" >&2; exit 1; }

# The cluster path: the shipped script as a 3-task array job.
SLURM_CONF=$(sh "$src/tests/screen/slurm_cluster.sh" start "$cluster") || skip "the Slurm cluster did not start"
export SLURM_CONF
slurm_db=$(new_db slurm)
export MMDX="$mmdx" MMDX_DB="$slurm_db"
job=$(sbatch --parsable --array=1-3 --cpus-per-task=1 --chdir="$tmp" --output="$tmp/task-%a.log" \
    "$src/scripts/slurm-screen.sh" "$tmp/model.mmdx" "$tmp/cohort/cohort.csv")
i=0
while [ -n "$(squeue -h -j "$job" 2>/dev/null)" ]; do
    i=$((i + 1))
    if [ $i -gt 600 ]; then
        echo "FAIL: the array job did not finish in 120 s" >&2
        squeue >&2 || true
        tail -20 "$cluster/slurmctld.log" "$cluster/slurmd.log" >&2 || true
        exit 1
    fi
    sleep 0.2
done
for k in 1 2 3; do
    grep -q "shard $k/3" "$tmp/task-$k.log" || { echo "FAIL: task $k did not screen shard $k/3" >&2; cat "$tmp/task-$k.log" >&2; exit 1; }
    grep -q "mmdx screen: run " "$tmp/task-$k.log" || { echo "FAIL: task $k printed no summary" >&2; cat "$tmp/task-$k.log" >&2; exit 1; }
done
runs=$(psql_q "$slurm_db" "SELECT count(*) FROM mmdx.runs")
[ "$runs" = 3 ] || { echo "FAIL: expected 3 runs (one per shard), found $runs" >&2; exit 1; }
dups=$(psql_q "$slurm_db" "SELECT count(*) - count(DISTINCT patient) FROM mmdx.predictions")
[ "$dups" = 0 ] || { echo "FAIL: $dups patients stored twice" >&2; exit 1; }
psql_q "$slurm_db" "$content" > "$tmp/slurm.txt"
if ! cmp -s "$tmp/ref.txt" "$tmp/slurm.txt"; then
    echo "FAIL: the array job's stored predictions differ from the single-process run's" >&2
    diff "$tmp/ref.txt" "$tmp/slurm.txt" | head -20 >&2
    exit 1
fi
"$mmdx" audit verify --db "$slurm_db" >/dev/null
echo "slurm array job (3 shards) == single process: $(wc -l < "$tmp/ref.txt") predictions"
