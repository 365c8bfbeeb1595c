#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Retrieval benchmark: mmdx's exact search and FAISS index against
# scikit-learn's brute-force NearestNeighbors on the same 1,000,000 stored
# 32-d embeddings and 1,000 queries, 3 runs each, medians and peak memory.
#
#   bench/retrieval/run.sh [BUILD_DIR] [N] [REPEATS]   (defaults: build, 1000000, 3)
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
n=${2:-1000000}
repeats=${3:-3}
bin=$build/bench/bench_similar
[ -x "$bin" ] || { echo "build it first: cmake --build $build --target bench_similar" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-bench-similar-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work"
i=1
while [ "$i" -le "$repeats" ]; do
    /usr/bin/time -f "%M" -o rss_mmdx_$i "$bin" "$work/v" "$n" 1000 > mmdx_$i.json
    /usr/bin/time -f "%M" -o rss_sk_$i /usr/bin/python3 "$here/bench/retrieval/sklearn_nn.py" "$work/v" > sk_$i.json
    i=$((i + 1))
done
/usr/bin/python3 - "$work" "$repeats" <<'PY'
import json, statistics, sys
w, runs = sys.argv[1], range(1, int(sys.argv[2]) + 1)
m = [json.load(open(f"{w}/mmdx_{i}.json")) for i in runs]
s = [json.load(open(f"{w}/sk_{i}.json")) for i in runs]
rss = lambda p: max(int(open(f"{w}/{p}_{i}").read().split()[-1]) for i in runs) / 1024
med = lambda rows, k: statistics.median(r[k] for r in rows)
print(f"| stored | {m[0]['n']:,} x 32 | queries | {m[0]['queries']:,} |")
print("|---|---|---|---|")
print(f"| mmdx exact (sgemm + heap) | {med(m, 'exact_qps'):.0f} queries/s | scikit-learn brute | {med(s, 'sklearn_qps'):.0f} queries/s |")
print(f"| exact / scikit-learn | {med(m, 'exact_qps') / med(s, 'sklearn_qps'):.2f}x faster | top-10 agreement | {med(s, 'agreement_at_10'):.4f} |")
print(f"| FAISS HNSW build | {med(m, 'build_s'):.1f} s | recall@10 vs exact | {med(m, 'recall_at_10'):.4f} |")
print(f"| FAISS batched | {med(m, 'index_batch_qps'):.0f} queries/s ({med(m, 'index_batch_qps') / med(m, 'exact_qps'):.1f}x exact) | one at a time | {med(m, 'index_single_qps'):.0f} queries/s |")
print(f"| index bytes / patient | {med(m, 'index_bytes_per_patient'):.0f} (vectors alone {m[0]['raw_bytes_per_patient']}) | peak RSS mmdx / sklearn | {rss('rss_mmdx'):.0f} / {rss('rss_sk'):.0f} MiB |")
PY
