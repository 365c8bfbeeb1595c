#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Retrieval benchmark: similar-patient search over 1,000,000 clustered 32-d
# unit vectors with 1,000 queries (bench_similar.c): mmdx's exact search, the
# FAISS HNSW index (build, file size, batched and one-at-a-time queries,
# recall@10 against exact) and scikit-learn's brute-force NearestNeighbors
# (peer_sklearn.py, its top-10 checked against mmdx's exact), in the same run,
# REPEATS times, the three alternating; prints medians and the largest peak
# RSS (GNU time) as a Markdown table for docs/BENCHMARKS.md.
#
#   bench/retrieval/run.sh [BUILD_DIR] [N] [REPEATS]   (defaults: build, 1000000, 3)
#   env: NQ (queries, default 1000), WORK (data folder, default
#   $TMPDIR/mmdx-bench-retrieval; the generated vectors are kept there and reused)
set -eu
case ${1:-} in -h | --help) sed -n '3,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
n=${2:-1000000}
repeats=${3:-3}
nq=${NQ:-1000}
bin=$build/bench/bench_retrieval_similar
[ -x "$bin" ] || { echo "build it first: cmake --build $build --target bench_retrieval_similar" >&2; exit 1; }
work=${WORK:-${TMPDIR:-/tmp}/mmdx-bench-retrieval}/n$n-q$nq
mkdir -p "$work"
# generated once per (N, NQ); a partial file from an interrupted run is made again
size() { stat -c %s "$1" 2> /dev/null || echo 0; }
if [ "$(size "$work/base.f32")" -ne $((n * 128)) ] || [ "$(size "$work/queries.f32")" -ne $((nq * 128)) ]; then
    "$bin" gen "$work" "$n" "$nq" > /dev/null
fi
results=$work/results
: > "$results"

# run NAME COMMAND...: its "key value" lines, and its peak RSS, into $results
run() {
    name=$1
    shift
    /usr/bin/time -f "%M" -o "$work/rss" "$@" > "$work/out"
    cat "$work/out" >> "$results"
    echo "${name}_rss_kib $(cat "$work/rss")" >> "$results"
}
i=0
while [ "$i" -lt "$repeats" ]; do
    run exact "$bin" exact "$work" # writes exact.i64, read by the other two
    run ann "$bin" ann "$work"
    run sk /usr/bin/python3 "$here/bench/retrieval/peer_sklearn.py" "$work"
    i=$((i + 1))
done
rm -f "$work/index.ann"

/usr/bin/python3 - "$results" "$n" "$nq" <<'PY'
import statistics, sys
vals = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    vals.setdefault(k, []).append(v)
n, nq = int(sys.argv[2]), int(sys.argv[3])
med = lambda k: statistics.median(float(v) for v in vals[k])
mib = lambda k: max(float(v) for v in vals[k]) / 1024
print("| Measure | mmdx exact (sgemm + heaps) | mmdx FAISS HNSW | scikit-learn brute, cosine |")
print("|---|---|---|---|")
print("| Queries/s, {:,} at once (k = 10) | %.0f | %.0f | %.0f |".format(nq) % ( med("exact_batched_qps"), med("ann_batched_qps"), med("sk_batched_qps")))
print("| Queries/s, one at a time | %.1f | %.0f | %.1f (first 100) |" % (med("exact_single_qps"), med("ann_single_qps"), med("sk_single_qps")))
print("| Recall@10 against mmdx exact | 1 | %.4f | %.4f (same set for %.1f%% of queries) |" % (med("ann_recall10"), med("sk_agree_slots"), 100 * med("sk_agree_sets")))
print("| Build / fit | — | %.1f s (file loads in %.2f s) | %.2f s |" % (med("ann_build_s"), med("ann_load_s"), med("sk_fit_s")))
print("| Bytes per stored patient | %d (the float32 rows) | %.0f (index file / n) | — |" % (32 * 4, med("ann_bytes_per_row")))
print("| Peak RSS (MiB, largest of the runs) | %.0f | %.0f | %.0f |" % (mib("exact_rss_kib"), mib("ann_rss_kib"), mib("sk_rss_kib")))
print()
print("Ratios (medians): mmdx exact / scikit-learn, batched: %.2fx; FAISS / mmdx exact: %.1fx batched, %.1fx one at a time, recall@10 %.4f."
      % (med("exact_batched_qps") / med("sk_batched_qps"), med("ann_batched_qps") / med("exact_batched_qps"),
         med("ann_single_qps") / med("exact_single_qps"), med("ann_recall10")))
print("Largest similarity gap where scikit-learn's and mmdx's top-10 differ: %.1e. BLAS (both): %s. Repeats: %d."
      % (max(float(v) for v in vals["sk_max_gap"]), vals["sk_blas"][0], len(vals["exact_batched_qps"])))
PY
