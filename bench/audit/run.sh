#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Audited-store benchmark: mmdx's store against raw INSERTs (pgbench) on the
# same loopback PostgreSQL server, started here with durable settings
# (fsync on, synchronous_commit on) and stopped at the end.
#
#   bench/audit/run.sh [BUILD_DIR] [SCALE]      (defaults: build, 1)
#
# Prints a Markdown table for docs/BENCHMARKS.md.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
scale=${2:-1}
bin=$build/bench/bench_audit_store
[ -x "$bin" ] || { echo "build bench_audit_store first: cmake --build $build --target bench_audit_store" >&2; exit 1; }
state=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-bench-pg-XXXXXX")
cleanup() { sh "$here/tests/support/pg_server.sh" stop "$state" >/dev/null 2>&1 || true; rm -rf "$state"; }
trap cleanup EXIT INT TERM
dsn=$(sh "$here/tests/support/pg_server.sh" start "$state" --durable)
psql "$dsn" -qc "CREATE DATABASE bench_mmdx" >/dev/null
psql "$dsn" -qc "CREATE DATABASE bench_raw" >/dev/null
mdsn="$dsn dbname=bench_mmdx"
rdsn="$dsn dbname=bench_raw"

/usr/bin/time -v "$bin" "$mdsn" "$scale" > "$state/mmdx.txt" 2> "$state/time.txt"
val() { awk -v k="$1" '$1 == k { print $2 }' "$state/mmdx.txt"; }

# Peer: the same server's raw INSERT rate, no chain, no hashing, no triggers,
# the same row shape. Predictions: 500 rows per transaction; events: one per transaction.
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
pgb() { # clients transactions script -> transactions per second (median of 3)
    for i in 1 2 3; do
        PGPASSFILE="$state/pgpass" pgbench -n -h 127.0.0.1 -p "$(cat "$state/port")" -U mmdx_admin \
            -c "$1" -j "$1" -t "$2" -f "$3" bench_raw 2>/dev/null | awk '/^tps/ { print $3 }'
    done | sort -n | sed -n 2p
}
n_batches=$(awk -v s="$scale" 'BEGIN { printf "%d", 40 * s }')
n_events=$(awk -v s="$scale" 'BEGIN { printf "%d", 2000 * s }')
raw_p1=$(awk -v t="$(pgb 1 "$n_batches" "$state/batch.sql")" 'BEGIN { printf "%.0f", t * 500 }')
raw_p4=$(awk -v t="$(pgb 4 $((n_batches / 4)) "$state/batch.sql")" 'BEGIN { printf "%.0f", t * 500 }')
raw_e1=$(pgb 1 "$n_events" "$state/event.sql" | awk '{ printf "%.0f", $1 }')
raw_e4=$(pgb 4 $((n_events / 4)) "$state/event.sql" | awk '{ printf "%.0f", $1 }')
peak=$(awk '/Maximum resident/ { printf "%.1f", $6 / 1024 }' "$state/time.txt")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "| Work | mmdx (median of 3) | raw INSERT via pgbench (median of 3) | mmdx / raw |"
echo "|---|---|---|---|"
echo "| Predictions stored, 1 writer, 500 per transaction (+1 audit event each) | $(val predictions_per_s_1_writer) /s | $raw_p1 rows/s | $(ratio "$(val predictions_per_s_1_writer)" "$raw_p1") |"
echo "| Predictions stored, 4 concurrent writers | $(val predictions_per_s_4_writers) /s | $raw_p4 rows/s | $(ratio "$(val predictions_per_s_4_writers)" "$raw_p4") |"
echo "| Audit events appended, 1 writer, 1 per transaction | $(val events_per_s_1_writer) /s | $raw_e1 rows/s | $(ratio "$(val events_per_s_1_writer)" "$raw_e1") |"
echo "| Audit events appended, 4 concurrent writers | $(val events_per_s_4_writers) /s | $raw_e4 rows/s | $(ratio "$(val events_per_s_4_writers)" "$raw_e4") |"
echo "| Events verified (chain + rows + Merkle root, $(val verify_events) events, $(val verify_predictions) predictions) | $(val events_verified_per_s) /s | — | — |"
echo
echo "Peak memory of the mmdx benchmark process: $peak MiB."
