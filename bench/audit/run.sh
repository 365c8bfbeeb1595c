#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Audited-store benchmark: mmdx's store against raw INSERTs (pgbench) of the
# same row shape on the same loopback PostgreSQL server, started here with
# durable settings (fsync and synchronous_commit on) and stopped at the end.
# Each measurement is repeated 3 times, mmdx and pgbench alternating (the
# disk's fsync latency drifts), and the medians are reported.
#
#   bench/audit/run.sh [BUILD_DIR] [SCALE] [OLD_BUILD_DIR]   (defaults: build, 1, none)
#
# SCALE 1: 20,000 predictions and 1,000 events per measurement.
# OLD_BUILD_DIR: another build's bench_audit_store (e.g. of an older commit,
# with this bench_store.c), measured in the same alternation into its own
# database, for an old-versus-new comparison from one run.
# Prints a Markdown table for docs/BENCHMARKS.md.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
scale=${2:-1}
old=${3:-}
bin=$build/bench/bench_audit_store
[ -x "$bin" ] || { echo "build it first: cmake --build $build --target bench_audit_store" >&2; exit 1; }
oldbin=
if [ -n "$old" ]; then
    oldbin=$old/bench/bench_audit_store
    [ -x "$oldbin" ] || { echo "no $oldbin" >&2; exit 1; }
fi
state=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-bench-pg-XXXXXX")
cleanup() { sh "$here/tests/support/pg_server.sh" stop "$state" >/dev/null 2>&1 || true; rm -rf "$state"; }
trap cleanup EXIT INT TERM
dsn=$(sh "$here/tests/support/pg_server.sh" start "$state" --durable)
port=$(cat "$state/port")
psql "$dsn" -qc "CREATE DATABASE bench_mmdx" >/dev/null
psql "$dsn" -qc "CREATE DATABASE bench_raw" >/dev/null
mdsn="$dsn dbname=bench_mmdx"
rdsn="$dsn dbname=bench_raw"
odsn="$dsn dbname=bench_old"

n_preds=$(awk -v s="$scale" 'BEGIN { printf "%d", 20000 * s }')
n_events=$(awk -v s="$scale" 'BEGIN { printf "%d", 1000 * s }')
n_batches=$((n_preds / 500))

BENCH_RUN=$("$bin" "$mdsn" setup 2>/dev/null)
export BENCH_RUN
if [ -n "$oldbin" ]; then
    psql "$dsn" -qc "CREATE DATABASE bench_old" >/dev/null
    OLD_RUN=$("$oldbin" "$odsn" setup 2>/dev/null)
fi

psql "$rdsn" -q <<'SQL' >/dev/null
CREATE TABLE p (run uuid, patient text, study text, probability float8, decision smallint,
                contributions text, input_hashes text, PRIMARY KEY (run, patient));
CREATE TABLE e (seq bigserial PRIMARY KEY, ts timestamptz DEFAULT now(), action text, detail text);
SQL
cat > "$state/batch.sql" <<'SQL'
INSERT INTO p SELECT '11111111-1111-4111-8111-111111111111', 'C' || :client_id || '-' || g || '-' || random(),
    '1.2.826.0.1.3680043.8.498.1', 0.5, 1, '{"imaging": 0.31, "genomics": 0.12, "records": -0.05}',
    '{"ct": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}'
    FROM generate_series(1, 500) g;
SQL
cat > "$state/event.sql" <<'SQL'
INSERT INTO e (action, detail) VALUES ('model.load', '{"bench": true}');
SQL
pgb() { # clients transactions script -> transactions per second
    PGPASSFILE="$state/pgpass" pgbench -n -h 127.0.0.1 -p "$port" -U mmdx_admin \
        -c "$1" -j "$1" -t "$2" -f "$3" bench_raw 2>/dev/null | awk '/^tps/ { printf "%.0f\n", $3 }'
}
mm() { # mode n -> rate; peak RSS of each run collected in $state/rss
    "$bin" "$mdsn" "$1" "$2" 2>>"$state/rss"
}
om() { # the old build: mode n -> rate
    BENCH_RUN=$OLD_RUN "$oldbin" "$odsn" "$1" "$2" 2>/dev/null
}
: > "$state/results"
for rep in 1 2 3; do
    if [ -n "$oldbin" ]; then
        echo "op1 $(om preds1 "$n_preds")" >> "$state/results"
        echo "op4 $(om preds4 "$n_preds")" >> "$state/results"
    fi
    echo "mp1 $(mm preds1 "$n_preds")" >> "$state/results"
    echo "rp1 $(( $(pgb 1 "$n_batches" "$state/batch.sql") * 500 ))" >> "$state/results"
    echo "mp4 $(mm preds4 "$n_preds")" >> "$state/results"
    echo "rp4 $(( $(pgb 4 $((n_batches / 4)) "$state/batch.sql") * 500 ))" >> "$state/results"
    echo "me1 $(mm events1 "$n_events")" >> "$state/results"
    echo "re1 $(pgb 1 "$n_events" "$state/event.sql")" >> "$state/results"
    echo "me4 $(mm events4 "$n_events")" >> "$state/results"
    echo "re4 $(pgb 4 $((n_events / 4)) "$state/event.sql")" >> "$state/results"
done
for rep in 1 2 3; do
    echo "mv $(mm verify 0)" >> "$state/results"
done
med() { awk -v k="$1" '$1 == k { print $2 }' "$state/results" | sort -n | sed -n 2p; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
vline=$(awk '$1 == "mv" { print $2, $3, $4 }' "$state/results" | sort -n | sed -n 2p)
set -- $vline
if [ -n "$oldbin" ]; then
    echo "| Work | old mmdx (median of 3) | old / raw |"
    echo "|---|---|---|"
    echo "| Predictions stored, 1 writer | $(med op1) /s | $(ratio "$(med op1)" "$(med rp1)") |"
    echo "| Predictions stored, 4 concurrent writers | $(med op4) /s | $(ratio "$(med op4)" "$(med rp4)") |"
    echo
fi
echo "| Work | mmdx (median of 3) | raw INSERT via pgbench (median of 3) | mmdx / raw |"
echo "|---|---|---|---|"
echo "| Predictions stored, 1 writer, 500 per transaction, each with its audit event | $(med mp1) /s | $(med rp1) rows/s | $(ratio "$(med mp1)" "$(med rp1)") |"
echo "| Predictions stored, 4 concurrent writers | $(med mp4) /s | $(med rp4) rows/s | $(ratio "$(med mp4)" "$(med rp4)") |"
echo "| Audit events appended, 1 writer, 1 per transaction | $(med me1) /s | $(med re1) rows/s | $(ratio "$(med me1)" "$(med re1)") |"
echo "| Audit events appended, 4 concurrent writers | $(med me4) /s | $(med re4) rows/s | $(ratio "$(med me4)" "$(med re4)") |"
echo "| Events verified (chain, rows, Merkle root, no HMAC; $2 events, $3 predictions) | $1 /s | — | — |"
echo
peak=$(awk '/peak_rss_kib/ && $2 > m { m = $2 } END { printf "%.1f", m / 1024 }' "$state/rss")
echo "Peak memory of the mmdx benchmark process (largest of all runs, 4 writers included): $peak MiB."
