#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# End-to-end screening throughput: `mmdx screen` over a generated cohort with
# every modality, into a PostgreSQL with durable commits, with 1 and 2 threads.
# Reports the median patients/second over REPS runs, each stage's share of the
# time (read+hash, encode per modality, predict, store) and peak memory.
#
#   bench/screen/run.sh [BUILD_DIR [BASELINE_BUILD_DIR]]     (default: build)
# Environment: PATIENTS (default 1000), REPS (default 3), IMAGE_SIZE and
# SLICES of each CT series (defaults 40 and 12, `mmdx synth`'s own; the
# screening size of issue 15 is IMAGE_SIZE=64 SLICES=16), MMDX_DB (an admin
# DSN of a server to use; default: a throwaway durable server started here).
# With a BASELINE_BUILD_DIR, both builds screen the same cohort with the same
# model, their runs alternating (baseline, build; 1 then 2 threads; REPS
# rounds), and the table puts them side by side. The load average before and
# after is printed: the machine may be shared.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
mmdx=$build/bin/mmdx
baseline=${2:+$(cd "$2" && pwd)}
image_size=${IMAGE_SIZE:-40}
slices=${SLICES:-12}
patients=${PATIENTS:-1000}
reps=${REPS:-3}
work=$(mktemp -d)
started_pg=0
cleanup() {
    [ $started_pg = 1 ] && sh "$here/tests/support/pg_server.sh" stop "$work/pg" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== generating $patients patients (all modalities) and a training cohort"
size="--image-size $image_size --slices $slices"
"$mmdx" synth --patients "$patients" --missing 0 --seed 1 $size --out "$work/cohort" --no-progress
"$mmdx" synth --patients 300 --seed 2 $size --out "$work/train" --no-progress
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/site.key"
chmod 600 "$work/site.key"
export MMDX_SITE_KEY=$work/site.key
# Same encoder settings for training and screening: the screening cohort's configuration.
"$mmdx" train --cohort "$work/train/cohort.csv" --config "$work/cohort/mmdx.conf" --fusion late \
    --out "$work/model.mmdx" --no-progress >/dev/null

if [ -z "${MMDX_DB:-}" ]; then
    MMDX_DB=$(sh "$here/tests/support/pg_server.sh" start "$work/pg" --durable)
    started_pg=1
fi
admin=$MMDX_DB

builds="new:$build"
[ -n "$baseline" ] && builds="baseline:$baseline $builds"
echo "== screening ${image_size}x${image_size}x$slices CT + VCF + FHIR per patient (builds x threads x $reps rounds, a fresh database each)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$work/results.jsonl"
for rep in $(seq 1 "$reps"); do
    for threads in 1 2; do
        for b in $builds; do
            label=${b%%:*}
            bin=${b#*:}/bin/mmdx
            db=mmdx_bench_screen_$$_${label}_${threads}_$rep
            PGOPTIONS="-c client_min_messages=warning" psql "$admin" -X -q -c "DROP DATABASE IF EXISTS $db" \
                -c "CREATE DATABASE $db" >/dev/null
            dsn="$admin dbname=$db"
            "$bin" db migrate --db "$dsn" >/dev/null
            /usr/bin/time -v -o "$work/time.txt" "$bin" screen --model "$work/model.mmdx" \
                --cohort "$work/cohort/cohort.csv" --config "$work/cohort/mmdx.conf" --db "$dsn" \
                --threads "$threads" --json --no-progress > "$work/summary.json"
            rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
            /usr/bin/python3 - "$work/summary.json" "$threads" "$rss" "$label" >> "$work/results.jsonl" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["threads"] = int(sys.argv[2]); s["rss_kib"] = int(sys.argv[3]); s["build"] = sys.argv[4]
print(json.dumps(s))
PY
            PGOPTIONS="-c client_min_messages=warning" psql "$admin" -X -q -c "DROP DATABASE $db" >/dev/null
        done
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

/usr/bin/python3 - "$work/results.jsonl" "$patients" "$reps" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
n, reps = int(sys.argv[2]), int(sys.argv[3])
print(f"\n{n} patients, every modality; medians of {reps} runs per build and thread count\n")
print("| build | threads | patients/s | per core | vs 1 thread | wall (s) | peak RSS (MiB) | stage shares |")
print("|---|---|---|---|---|---|---|---|")
for b in ("baseline", "new"):
    base = None
    for t in (1, 2):
        rs = [r for r in rows if r["threads"] == t and r["build"] == b]
        if not rs:
            continue
        assert all(r["screened"] == n and r["failed"] == 0 for r in rs), "every patient must be screened"
        pps = statistics.median(r["patients_per_second"] for r in rs)
        wall = statistics.median(r["seconds"]["total"] for r in rs)
        rss = max(r["rss_kib"] for r in rs) / 1024
        sec = {}
        for r in rs:
            for k, v in r["seconds"].items():
                if k != "total":
                    sec.setdefault(k, []).append(v)
        med = {k: statistics.median(v) for k, v in sec.items()}
        tot = sum(med.values()) or 1
        shares = ", ".join(f"{k.replace('_', ' ')} {100 * v / tot:.0f}%" for k, v in med.items())
        base = base or pps
        print(f"| {b} | {t} | {pps:.1f} | {pps / t:.1f} | {pps / base:.2f}x | {wall:.2f} | {rss:.0f} | {shares} |")
PY
