#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Fit-time benchmark of the fusion classifiers against scikit-learn, same data, same run.

    bench/fusion/bench_fusion.py --build build [--n 100000] [--p 300] [--repeats 3]
                                 [--mlp-repeats 1] [--workdir DIR] [--skip-mlp]
                                 [--joint] [--joint-epochs 10] [--only-joint]

Generates (seeded) an n x p float64 training matrix and a 20,000-row test matrix
with a logistic outcome (30 informative columns, one interaction, columns on
different scales), then times, each in its own process:
  - mmdx early fusion / logreg (standardise + L-BFGS, C=1), 1 and 2 threads, and
    scikit-learn StandardScaler + LogisticRegression(C=1, lbfgs, max_iter=1000);
  - mmdx early fusion / mlp (64 ReLU, Adam 1e-3, batch 200, alpha 1e-4, 10%
    validation split, patience 5, <= 50 epochs), 1 and 2 threads, and
    scikit-learn StandardScaler + MLPClassifier with the same settings
    (early_stopping=True, n_iter_no_change=5, max_iter=50).
  - with --joint: mmdx joint fusion (the columns split into three modalities of
    100; d = 32, encoders/decoders 64 hidden, 4 heads, about 60,000 parameters) for
    --joint-epochs epochs with the CBLAS and the loop engine, 2 threads (libgomp's
    default waiting: the joint fit's many short parallel regions lose a third of
    their speed to passive waiting), against
    scikit-learn MLPClassifier(hidden_layer_sizes=(192,)) (about 58,000 parameters),
    the same epochs, batch 128, Adam 3e-3, alpha 1, 10% validation.
Prints medians of fit wall and CPU time, test AUROC, peak RSS (GNU time) and the ratio
to scikit-learn, as a Markdown table.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

TEST_ROWS = 20000


def generate(workdir, n, p, seed=20261127):
    prefix = os.path.join(workdir, "m%dx%d" % (n, p))
    if os.path.exists(prefix + ".test.lab"):
        return prefix
    rng = np.random.default_rng(seed)
    beta = np.zeros(p)
    beta[rng.choice(p, 30, replace=False)] = rng.normal(0, 0.5, 30)
    scales = rng.uniform(0.1, 100.0, p)
    offsets = rng.normal(0, 50, p)
    for part, rows in (("train", n), ("test", TEST_ROWS)):
        z = rng.standard_normal((rows, p))
        z += 0.3 * rng.standard_normal((rows, 1))  # a shared factor: correlated columns
        eta = z @ beta - 1.0 + 0.5 * z[:, 0] * z[:, 1]
        y = (rng.random(rows) < 1 / (1 + np.exp(-eta))).astype(np.uint8)
        x = z * scales + offsets
        x.astype(np.float64).tofile(prefix + ".%s.f64" % part)
        y.tofile(prefix + ".%s.lab" % part)
    return prefix


def sklearn_worker(prefix, n, p, kind, joint_epochs=10):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    xtr = np.fromfile(prefix + ".train.f64").reshape(n, p)
    ytr = np.fromfile(prefix + ".train.lab", dtype=np.uint8)
    xte = np.fromfile(prefix + ".test.f64").reshape(TEST_ROWS, p)
    yte = np.fromfile(prefix + ".test.lab", dtype=np.uint8)
    if kind == "logreg":
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    elif kind == "joint":  # the MLP of about the joint network's size, the same epochs
        model = make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=(192,), alpha=1.0, batch_size=128, learning_rate_init=3e-3,
            early_stopping=True, validation_fraction=0.1, n_iter_no_change=joint_epochs,
            max_iter=joint_epochs, random_state=1))
    else:
        model = make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=(64,), alpha=1e-4, batch_size=200, learning_rate_init=1e-3,
            early_stopping=True, validation_fraction=0.1, n_iter_no_change=5, max_iter=50,
            random_state=1))
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(xtr, ytr)
    fit, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    auc = roc_auc_score(yte, model.predict_proba(xte)[:, 1])
    print(json.dumps({"engine": "scikit-learn " + kind, "threads": 1, "fit_seconds": fit,
                      "fit_cpu_seconds": fit_cpu, "test_auroc": auc}))


def timed(cmd, env=None):
    """Run cmd under GNU time; return (its JSON line, peak RSS in MiB)."""
    res = subprocess.run(["/usr/bin/time", "-f", "PEAK_KB %M"] + cmd, capture_output=True, text=True,
                         env=dict(os.environ, **(env or {})))
    if res.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), res.stderr))
    peak = [l for l in res.stderr.splitlines() if l.startswith("PEAK_KB")][-1]
    return json.loads(res.stdout.strip().splitlines()[-1]), int(peak.split()[1]) / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--p", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--mlp-repeats", type=int, default=1)
    ap.add_argument("--workdir", default="/tmp/mmdx-bench-fusion")
    ap.add_argument("--skip-mlp", action="store_true")
    ap.add_argument("--joint", action="store_true")
    ap.add_argument("--only-joint", action="store_true")
    ap.add_argument("--joint-epochs", type=int, default=10)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--prefix", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        sklearn_worker(a.prefix, a.n, a.p, a.worker, a.joint_epochs)
        return
    os.makedirs(a.workdir, exist_ok=True)
    prefix = generate(a.workdir, a.n, a.p)
    fit_bin = os.path.join(a.build, "bin", "mmdx_bench_fusion_fit")
    me = os.path.abspath(__file__)
    mlp_cfg = ["hidden=64", "alpha=1e-4", "batch_size=200", "learning_rate=1e-3", "validation_fraction=0.1",
               "patience=5", "max_epochs=50"]
    # Two threads on a shared machine: libgomp's default spin-waiting at the MLP's
    # per-minibatch barriers burns the CPU the other thread needs; passive waiting
    # is the setting for oversubscribed hosts (docs/fusion.md).
    passive = {"OMP_WAIT_POLICY": "passive"}
    runs = [] if a.only_joint else [("logreg", "scikit-learn", ["/usr/bin/python3", me, "--worker", "logreg",
                                                                  "--prefix", prefix, "--n", str(a.n), "--p", str(a.p)],
                                      a.repeats, None)]
    for t in () if a.only_joint else (1, 2):
        runs.append(("logreg", "mmdx %d thread%s, OpenBLAS" % (t, "s (passive wait)" if t > 1 else ""),
                     [fit_bin, prefix, str(a.n), str(TEST_ROWS), str(a.p), "logreg", str(t)], a.repeats,
                     passive if t > 1 else None))
    if not a.only_joint:  # the same fit with the fused loop instead of CBLAS dgemv
        runs.append(("logreg", "mmdx 1 thread, loops",
                     [fit_bin, prefix, str(a.n), str(TEST_ROWS), str(a.p), "logreg", "1", "blas=no"], a.repeats,
                     None))
    if not a.skip_mlp and not a.only_joint:
        runs.append(("mlp", "scikit-learn", ["/usr/bin/python3", me, "--worker", "mlp", "--prefix", prefix,
                                              "--n", str(a.n), "--p", str(a.p)], a.mlp_repeats, None))
        for t in (1, 2):
            runs.append(("mlp", "mmdx %d thread%s" % (t, "s (passive wait)" if t > 1 else ""),
                         [fit_bin, prefix, str(a.n), str(TEST_ROWS), str(a.p), "mlp", str(t)] + mlp_cfg,
                         a.mlp_repeats, passive if t > 1 else None))
    if a.joint or a.only_joint:
        e = str(a.joint_epochs)
        runs.append(("joint", "scikit-learn", ["/usr/bin/python3", me, "--worker", "joint", "--prefix", prefix,
                                                "--n", str(a.n), "--p", str(a.p), "--joint-epochs", e],
                     a.mlp_repeats, None))
        for blas in ("yes", "no"):
            runs.append(("joint", "mmdx 2 threads, %s" % ("OpenBLAS" if blas == "yes" else "loops"),
                         [fit_bin, prefix, str(a.n), str(TEST_ROWS), str(a.p), "joint", "2", "max_epochs=" + e,
                          "patience=" + e, "blas=" + blas], a.mlp_repeats, None))
    results = []
    for kind, label, cmd, reps, env in runs:
        fits, cpus, aucs, peaks = [], [], [], []
        for _ in range(reps):
            out, peak = timed(cmd, env)
            fits.append(out["fit_seconds"])
            cpus.append(out["fit_cpu_seconds"])
            aucs.append(out["test_auroc"])
            peaks.append(peak)
            print("  %-6s %-16s fit %.3f s (cpu %.3f s)  AUROC %.5f  peak %.0f MiB"
                  % (kind, label, fits[-1], cpus[-1], aucs[-1], peak), file=sys.stderr, flush=True)
        results.append((kind, label, statistics.median(fits), statistics.median(cpus), statistics.median(aucs),
                        max(peaks), reps))
    print("Matrix %d x %d float64 (test %d rows), %s" % (a.n, a.p, TEST_ROWS, time.strftime("%Y-%m-%d")))
    print()
    print("| classifier | engine | median fit wall (s) | median fit CPU (s) | runs | test AUROC | peak RSS (MiB) "
          "| wall speed-up vs scikit-learn |")
    print("|---|---|---|---|---|---|---|---|")
    for kind, label, fit, cpu, auc, peak, reps in results:
        ref = [r for r in results if r[0] == kind and r[1] == "scikit-learn"][0]
        print("| %s | %s | %.3f | %.3f | %d | %.4f | %.0f | %.2fx |" % (kind, label, fit, cpu, reps, auc, peak,
                                                                   ref[2] / fit))


if __name__ == "__main__":
    main()
