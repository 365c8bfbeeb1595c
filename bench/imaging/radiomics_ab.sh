#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The radiomics engine of two builds side by side on the benchmark phantoms
# (bench/imaging/phantom.h): synth64 (4 screening-size patients, 64x64x16),
# ct512 (gen_ct_phantom's chest CT, 512x512x100) and cylinder
# (bench_radiomics_synthetic's volume). Runs alternate (baseline, new) for
# ROUNDS rounds, with 1 and with 2 OpenMP threads; each run times REPEATS
# calls of mmdx_radiomics_compute per case and reports their median wall and
# CPU time (bench_radiomics_phantoms time). The table gives, per phantom, the
# median over rounds of the time per patient (synth64: the mean over its 4
# patients), the ratio, and the peak memory of the whole run (GNU time).
#
#   bench/imaging/radiomics_ab.sh BASELINE_BUILD NEW_BUILD [REPEATS] [ROUNDS]
#
# Both builds need bench_radiomics_phantoms (cmake --build B --target
# bench_radiomics_phantoms); for the baseline of issue 15, build the sources
# of main at 63a8c0a with this folder's phantom.c, phantom.h,
# bench_radiomics_phantoms.c and CMakeLists.txt copied in. The machine may be
# shared: the load average is printed before and after.
set -eu
old=$(cd "${1:?usage: radiomics_ab.sh BASELINE_BUILD NEW_BUILD [REPEATS] [ROUNDS]}" && pwd)
new=$(cd "${2:?usage: radiomics_ab.sh BASELINE_BUILD NEW_BUILD [REPEATS] [ROUNDS]}" && pwd)
repeats=${3:-9}
rounds=${4:-3}
phantoms=${PHANTOMS:-synth64 ct512 cylinder}
out=$(mktemp)
trap 'rm -f "$out" "$out.t"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
    for p in $phantoms; do
        for t in 1 2; do
            for b in old new; do
                dir=$old
                [ $b = new ] && dir=$new
                OMP_NUM_THREADS=$t /usr/bin/time -f "%M" -o "$out.t" "$dir/bin/bench_radiomics_phantoms" time "$p" "$repeats" |
                    awk -v b=$b -v p=$p -v t=$t '{print b, p, t, $1, $2, $3}' >> "$out"
                # the peak memory of the run, on its last line
                sed -i "\$s/\$/ $(cat "$out.t")/" "$out"
            done
        done
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(lambda: collections.defaultdict(list))
peak = collections.defaultdict(int)
for line in open(sys.argv[1]):
    f = line.split()
    b, p, t, case, wall, cpu = f[0], f[1], int(f[2]), f[3], float(f[4]), float(f[5])
    rss = int(f[-1]) if len(f) > 6 else 0
    runs[(b, p, t)][case].append((wall, cpu))
    peak[(b, p, t)] = max(peak[(b, p, t)], rss)
def per_patient(b, p, t, k):
    cases = runs[(b, p, t)]
    return statistics.mean(statistics.median(x[k] for x in v) for v in cases.values())
print("\n| phantom | threads | main wall ms | new wall ms | wall ratio | main CPU ms | new CPU ms | CPU ratio | peak MiB main / new |")
print("|---|---|---|---|---|---|---|---|---|")
for (b, p, t) in sorted(k for k in runs if k[0] == "old"):
    if (("new", p, t)) not in runs:
        continue
    ow, nw = per_patient("old", p, t, 0), per_patient("new", p, t, 0)
    oc, nc = per_patient("old", p, t, 1), per_patient("new", p, t, 1)
    print(f"| {p} | {t} | {ow*1e3:.1f} | {nw*1e3:.1f} | {ow/nw:.2f}x | {oc*1e3:.1f} | {nc*1e3:.1f} | {oc/nc:.2f}x | "
          f"{peak[('old', p, t)]/1024:.0f} / {peak[('new', p, t)]/1024:.0f} |")
PY
