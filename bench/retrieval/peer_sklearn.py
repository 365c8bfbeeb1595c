#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The scikit-learn peer of the retrieval benchmark (run by run.sh).

    bench/retrieval/peer_sklearn.py DIR [SINGLE]

Reads DIR/base.f32 and DIR/queries.f32 (raw float32, 32 columns, written by
`bench_retrieval_similar gen`) and DIR/exact.i64 (mmdx's exact top-10), times
sklearn.neighbors.NearestNeighbors(algorithm='brute', metric='cosine') on all
queries at once and on the first SINGLE (default 100) one at a time, and
compares its top-10 with mmdx's: the share of (query, rank) slots with the
same id, of queries with the same set, and the largest similarity gap where
they differ (near-ties in float32 may swap). Prints "key value" lines.
"""
import sys
import time

import numpy as np
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_info

DIM, K = 32, 10


def main():
    d = sys.argv[1]
    single = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    x = np.fromfile(d + "/base.f32", dtype=np.float32).reshape(-1, DIM)
    q = np.fromfile(d + "/queries.f32", dtype=np.float32).reshape(-1, DIM)
    ours = np.fromfile(d + "/exact.i64", dtype=np.int64).reshape(len(q), K)

    t0 = time.perf_counter()
    nn = NearestNeighbors(n_neighbors=K, algorithm="brute", metric="cosine").fit(x)
    fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, ind = nn.kneighbors(q)
    batched = len(q) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(single):
        nn.kneighbors(q[i:i + 1])
    one = single / (time.perf_counter() - t0)

    same_slot = float(np.mean(ind == ours))
    same_set = float(np.mean([set(a) == set(b) for a, b in zip(ind, ours)]))
    gap = 0.0
    for i in np.nonzero((ind != ours).any(axis=1))[0]:
        sk = x[ind[i]].astype(np.float64) @ q[i].astype(np.float64)
        mm = x[ours[i]].astype(np.float64) @ q[i].astype(np.float64)
        gap = max(gap, float(np.max(np.abs(sk - mm))))
    blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
    b = blas[0] if blas else {}
    print("sk_fit_s %.3f" % fit)
    print("sk_batched_qps %.1f" % batched)
    print("sk_single_qps %.1f" % one)
    print("sk_agree_slots %.4f" % same_slot)
    print("sk_agree_sets %.4f" % same_set)
    print("sk_max_gap %.2e" % gap)
    print("sk_blas %s-%s-%s-%s-threads%s" % (b.get("internal_api"), b.get("version"), b.get("threading_layer"),
                                            b.get("architecture"), b.get("num_threads")))


if __name__ == "__main__":
    main()
