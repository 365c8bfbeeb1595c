#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The peer: scikit-learn's brute-force NearestNeighbors (cosine) on the vectors
bench_similar wrote; prints its time and its agreement with mmdx's exact top-10."""
import json
import sys
import time

import numpy as np
from sklearn.neighbors import NearestNeighbors

out = sys.argv[1]
x = np.fromfile(f"{out}/x.f32", dtype=np.float32).reshape(-1, 32)
q = np.fromfile(f"{out}/q.f32", dtype=np.float32).reshape(-1, 32)
ours = np.fromfile(f"{out}/exact_ids.i64", dtype=np.int64).reshape(-1, 10)
t0 = time.perf_counter()
nn = NearestNeighbors(n_neighbors=10, algorithm="brute", metric="cosine").fit(x)
_, ids = nn.kneighbors(q)
t = time.perf_counter() - t0
same = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, ours)])
print(json.dumps({"sklearn_s": round(t, 4), "sklearn_qps": round(len(q) / t, 1), "agreement_at_10": round(float(same), 4)}))
