#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Records encoder benchmark: a generated bulk-data export of N patients (NDJSON,
# several hundred MB) encoded by `mmdx encode records --all` (1 thread, and
# --threads 2), side by side with
# a Python peer streaming the same files (stdlib json). Reports median wall
# time, patients/s, resources/s, MB/s and peak RSS of each, the ratio, and
# cross-checks the features both compute.
#
#   bench/records/run.sh [PATIENTS] [RUNS]       (defaults 10000 and 3)
#   env: BUILD=build  WORK=/tmp/mmdx-bench-records  PYTHON=/usr/bin/python3
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
N=${1:-10000}
RUNS=${2:-3}
BUILD=${BUILD:-$root/build}
WORK=${WORK:-/tmp/mmdx-bench-records}
PY=${PYTHON:-/usr/bin/python3}
MMDX=$BUILD/bin/mmdx
INDEX=2024-01-01
export_dir=$WORK/export-$N

[ -x "$MMDX" ] || { echo "run.sh: build mmdx first ($MMDX)" >&2; exit 1; }
mkdir -p "$WORK"
if [ ! -f "$export_dir/.complete" ]; then
    rm -rf "$export_dir"
    "$PY" "$here/gen_bulk.py" "$export_dir" --patients "$N" > "$WORK/gen-$N.log"
    touch "$export_dir/.complete"
fi
bytes=$(cat "$export_dir"/*.ndjson | wc -c)
resources=$(cat "$export_dir"/*.ndjson | wc -l)

measure() { # label, command...: appends "label seconds maxrss_kb" per run
    label=$1
    shift
    i=0
    while [ $i -lt "$RUNS" ]; do
        /usr/bin/time -f "$label %e %M %U %S" -a -o "$WORK/times-$N.txt" "$@" > /dev/null 2>> "$WORK/stderr-$N.log"
        i=$((i + 1))
    done
}

: > "$WORK/times-$N.txt"
: > "$WORK/stderr-$N.log"
# interleave the tools so that machine load affects both alike
r=0
while [ $r -lt "$RUNS" ]; do
    RUNS_SAVED=$RUNS
    RUNS=1
    measure mmdx "$MMDX" encode records "$export_dir" --all --out "$WORK/mmdx-$N.csv" --index-date $INDEX --no-progress
    measure mmdx-t2 "$MMDX" encode records "$export_dir" --all --out "$WORK/mmdx-t2-$N.csv" --index-date $INDEX \
        --no-progress --threads 2
    measure python "$PY" "$here/peer_python.py" "$export_dir" $INDEX "$WORK/peer-$N.csv"
    RUNS=$RUNS_SAVED
    r=$((r + 1))
done

"$PY" - "$WORK/times-$N.txt" "$WORK/mmdx-$N.csv" "$WORK/peer-$N.csv" "$N" "$bytes" "$resources" "$RUNS" \
    "$WORK/mmdx-t2-$N.csv" <<'PYEOF'
import csv, statistics, sys
times, mmdx_csv, peer_csv, n, nbytes, nres, runs, t2_csv = sys.argv[1:9]
n, nbytes, nres = int(n), int(nbytes), int(nres)
rows = [l.split() for l in open(times) if l.strip()]
res = {}
cpu = {}
for label, sec, kb, user, system in rows:
    res.setdefault(label, []).append((float(sec), int(kb)))
    cpu.setdefault(label, []).append(float(user) + float(system))
print(f"records benchmark: {n} patients, {nres} resources, {nbytes / 2**20:.0f} MiB NDJSON, {runs} runs each")
med = {}
for label in ("mmdx", "mmdx-t2", "python"):
    secs = [s for s, _ in res[label]]
    rss = max(k for _, k in res[label]) / 1024
    m = statistics.median(secs)
    med[label] = m
    print(f"  {label:8s} median {m:7.2f} s  (runs {', '.join(f'{s:.2f}' for s in secs)})  "
          f"{n / m:8.0f} patients/s  {nres / m:9.0f} resources/s  {nbytes / 2**20 / m:6.1f} MiB/s  peak RSS {rss:.0f} MiB"
          f"  CPU {statistics.median(cpu[label]):.2f} s")
print(f"  ratio python/mmdx wall time: {med['python'] / med['mmdx']:.2f}x (1 thread), "
      f"{med['python'] / med['mmdx-t2']:.2f}x (--threads 2); CPU time: "
      f"{statistics.median(cpu['python']) / statistics.median(cpu['mmdx']):.2f}x (1 thread)")
print(f"  machine load average at the end: {open('/proc/loadavg').read().split()[0]} on {__import__('os').cpu_count()} cores")
same = open(mmdx_csv).read() == open(t2_csv).read()
print(f"  --threads 2 table identical to 1 thread: {'yes' if same else 'NO'}")
# cross-check the features both compute
mm = {r["patient_id"]: r for r in csv.DictReader(open(mmdx_csv))}
bad = checked = 0
for r in csv.DictReader(open(peer_csv)):
    m = mm.get(r["patient_id"])
    checked += 1
    if m is None:
        bad += 1
        continue
    def close(a, b):
        if a == "" or b == "":
            return a == b
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))
    cnt = m["records.lab.glucose.count"]
    if not (float(cnt) == float(r["glucose_count"]) and close(m["records.lab.glucose.mean"], r["glucose_mean"])
            and close(m["records.lab.sbp.latest"], r["sbp_latest"])):
        bad += 1
print(f"  cross-check (glucose count/mean, latest systolic BP): {checked - bad}/{checked} patients agree")
sys.exit(1 if bad or not same else 0)
PYEOF
