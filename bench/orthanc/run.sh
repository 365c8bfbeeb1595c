#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Benchmark: studies screened inside Orthanc by the mmdx-orthanc plugin,
# against `mmdx predict` on the same files (the same encoders and model
# without the PACS: the plugin's overhead is the difference).
#
#   bench/orthanc/run.sh BUILD_DIR [WORK_DIR] [STUDIES]
#
# BUILD_DIR is a built tree (cmake --build BUILD_DIR: mmdx, the encoder and
# fusion plugins, mmdx_orthanc_plugin). The script starts a throwaway
# PostgreSQL (tests/support/pg_server.sh) and Orthanc on free loopback ports,
# trains a small model on the IBSI CT phantom's schema (as the tests do),
# sends STUDIES (default 10) copies of the 60-slice phantom under new UIDs and
# PatientIDs with storescu, one after the other, and waits until all are
# screened. It prints:
#   - storescu wall time per study (Orthanc's ingest, median);
#   - the worker's time per study (instances fetched, encoded, predicted,
#     stored, SR written: the result's screening_seconds; median and max);
#   - throughput from the first storescu to the last result (StableAge 2 s
#     included once per study in the latency, not in the worker time);
#   - `mmdx predict` on one study from files (median of 3): the same work
#     without the PACS;
#   - Orthanc's peak resident memory (VmHWM) with the plugin loaded.
# Needs the shared data (MMDX_TEST_DATA, default ../shared/data), Orthanc,
# DCMTK's storescu/dcmodify, psql, curl and python3.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR [WORK_DIR] [STUDIES]}" && pwd)
work=${2:-${TMPDIR:-/tmp}/mmdx-bench-orthanc}
n=${3:-10}
data=${MMDX_TEST_DATA:-$src/../shared/data}
ct=$data/dicom/ibsi1_ct_phantom_PAT1/image
mmdx=$build/bin/mmdx
plugin=$(find "$build" -name 'libmmdx-orthanc.so' | head -n 1)
orthanc_bin=${MMDX_ORTHANC_BIN:-/usr/sbin/Orthanc}
[ -d "$ct" ] || { echo "run.sh: no test data at $data" >&2; exit 1; }
[ -x "$orthanc_bin" ] || { echo "run.sh: Orthanc not found ($orthanc_bin)" >&2; exit 1; }
[ -n "$plugin" ] || { echo "run.sh: build mmdx_orthanc_plugin first" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work"
cd "$work"
orthanc_pid=
cleanup() {
    [ -n "$orthanc_pid" ] && kill "$orthanc_pid" 2>/dev/null && wait "$orthanc_pid" 2>/dev/null
    sh "$src/tests/support/pg_server.sh" stop "$work/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

echo "== PostgreSQL" >&2
sh "$src/tests/support/pg_server.sh" start "$work/pg" --durable >/dev/null
admin=$(cat "$work/pg/dsn")
psql "$admin dbname=postgres" -qc "CREATE DATABASE bench" >/dev/null
dsn="$admin dbname=bench"

echo "== model" >&2
if [ -e "$build/lib/mmdx/plugins/mmdx_imaging.so" ]; then
    printf '[imaging]\ninterpolation = linear\nspacing = 4\ndiscretisation = fbn:16\nfamilies = morph,stat,ih,cm,rlm,szm\nmoran_max_voxels = 1000\n' > mmdx.conf
else
    echo "# no imaging encoder in this build" > mmdx.conf
fi
python3 - "$n" <<'EOF'
import json, sys
n = int(sys.argv[1])
entries = []
for i in range(n):
    pid = "B%03d" % i
    entries.append({"resource": {"resourceType": "Patient", "id": pid, "gender": "male" if i % 2 else "female",
                                 "birthDate": "19%02d-03-04" % (40 + i % 50)}})
    entries.append({"resource": {"resourceType": "Observation", "id": "o%d" % i, "status": "final",
                                 "subject": {"reference": "Patient/" + pid}, "effectiveDateTime": "2024-05-01",
                                 "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
                                 "valueQuantity": {"value": 5.5 + (i % 7) * 0.3, "unit": "%",
                                                   "system": "http://unitsofmeasure.org", "code": "%"}}})
json.dump({"resourceType": "Bundle", "type": "collection", "entry": entries}, open("records.json", "w"))
EOF
printf 'patient_id,dicom,record\nB000,%s,%s/records.json\n' "$ct" "$work" > reference.csv
"$mmdx" encode --config mmdx.conf --cohort reference.csv --out reference_features.csv --no-progress 2>/dev/null
python3 - <<'EOF'
import csv, math, random
rows = list(csv.reader(open("reference_features.csv")))
head, ref = rows[0], rows[1]
random.seed(1)
with open("train.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(head + ["label"])
    for r in range(60):
        out, score, firsts = ["T%03d" % r], 0.0, set()
        for name, v in zip(head[1:], ref[1:]):
            if name.endswith(".present"):
                out.append("1")
                continue
            u = random.uniform(-1, 1)
            mod = name.split(".")[0]
            if mod not in firsts:
                firsts.add(mod)
                score += u
            base = float(v) if v not in ("", "nan") else None
            out.append(repr(u if base is None else base + (0.2 * abs(base) + 0.01) * u))
        w.writerow(out + [int(score > 0)])
EOF
"$mmdx" train --config mmdx.conf --features train.csv --fusion early --classifier logreg --out model.mmdx --no-progress 2>/dev/null

echo "== studies" >&2
i=0
while [ "$i" -lt "$n" ]; do
    d=$(printf 'study%03d' "$i")
    mkdir -p "$d"
    cp "$ct"/*.dcm "$d/"
    uids=$(python3 -c 'import uuid; print("2.25.%d 2.25.%d" % (uuid.uuid4().int, uuid.uuid4().int))')
    st=${uids% *}
    se=${uids#* }
    dcmodify -nb -q -gin -m "PatientID=$(printf 'B%03d' "$i")" -m "StudyInstanceUID=$st" \
        -m "SeriesInstanceUID=$se" "$d"/*.dcm
    i=$((i + 1))
done

echo "== Orthanc" >&2
ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
http=${ports% *}
dicom=${ports#* }
python3 - "$work" "$http" "$dicom" "$plugin" "$dsn" "$build" <<'EOF'
import json, sys
work, http, dicom, plugin, dsn, build = sys.argv[1:]
json.dump({"Name": "mmdx-bench", "StorageDirectory": work + "/storage", "IndexDirectory": work + "/storage",
           "HttpPort": int(http), "DicomPort": int(dicom), "DicomAet": "BENCH", "RemoteAccessAllowed": False,
           "AuthenticationEnabled": False, "StableAge": 2, "Plugins": [plugin],
           "Mmdx": {"Model": work + "/model.mmdx", "Database": dsn, "PluginFolder": build + "/lib/mmdx/plugins",
                    "SiteConfig": work + "/mmdx.conf", "Records": work + "/records.json",
                    "WorkFolder": work + "/work", "PollInterval": 1,
                    "SeriesSelection": [{"Name": "CT", "Attributes": {"Modality": "^CT$"}, "MinSlices": 10}]}},
          open(work + "/orthanc.json", "w"), indent=1)
EOF
"$orthanc_bin" --logfile="$work/orthanc.log" "$work/orthanc.json" >/dev/null 2>&1 &
orthanc_pid=$!
t=0
until curl -sf "http://127.0.0.1:$http/system" >/dev/null; do
    sleep 0.2
    t=$((t + 1))
    [ "$t" -lt 150 ] || { echo "run.sh: Orthanc did not start" >&2; exit 1; }
done

now() { python3 -c 'import time; print(time.time())'; }
t0=$(now)
: > storescu.times
i=0
while [ "$i" -lt "$n" ]; do
    d=$(printf 'study%03d' "$i")
    s=$(now)
    storescu -aet BENCHSCU -aec BENCH +sd 127.0.0.1 "$dicom" "$d"
    e=$(now)
    echo "$s $e" >> storescu.times
    i=$((i + 1))
done
while :; do
    done_n=$(psql "$dsn" -tAc "SELECT count(*) FROM mmdx_orthanc.studies WHERE state IN ('done', 'failed')" 2>/dev/null || echo 0)
    [ "$done_n" -ge "$n" ] && break
    sleep 0.5
done
t1=$(now)
failed=$(psql "$dsn" -tAc "SELECT count(*) FROM mmdx_orthanc.studies WHERE state = 'failed'")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$orthanc_pid/status")
psql "$dsn" -tAc "SELECT result->>'screening_seconds' FROM mmdx_orthanc.studies WHERE state = 'done'" > worker.times

printf 'patient_id,dicom,record\nB000,%s/study000,%s/records.json\n' "$work" "$work" > one.csv
: > predict.times
for r in 1 2 3; do
    s=$(now)
    "$mmdx" predict --config mmdx.conf --model model.mmdx --cohort one.csv --out pred.csv --no-progress 2>/dev/null
    e=$(now)
    echo "$s $e" | awk '{print $2 - $1}' >> predict.times
done

python3 - "$n" "$t0" "$t1" "$failed" "$hwm" <<'EOF'
import statistics, sys
n, t0, t1, failed, hwm = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
scu = [float(b) - float(a) for a, b in (l.split() for l in open("storescu.times"))]
work = [float(l) for l in open("worker.times") if l.strip()]
pred = [float(l) for l in open("predict.times") if l.strip()]
print("| measure | value |")
print("| --- | --- |")
print("| studies (60 CT slices each) | %d (%d failed) |" % (n, failed))
print("| storescu per study, median (Orthanc ingest) | %.2f s |" % statistics.median(scu))
print("| plugin worker per study, median / max | %.2f s / %.2f s |" % (statistics.median(work), max(work)))
print("| `mmdx predict` on one study from files, median of 3 | %.2f s |" % statistics.median(pred))
print("| worker / `mmdx predict` | %.2f |" % (statistics.median(work) / statistics.median(pred)))
print("| first storescu to last result | %.1f s (%.1f studies/min) |" % (t1 - t0, 60 * n / (t1 - t0)))
print("| Orthanc peak RSS with the plugin (VmHWM) | %.0f MiB |" % (hwm / 1024))
EOF
