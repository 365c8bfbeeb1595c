#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""scikit-learn reference figures for the fusion tests, computed at test time.

  sklearn_reference.py table WDBC.csv OUT.csv
      Convert scikit-learn's breast_cancer.csv (header "569,30,...", 30 features,
      target 0 = malignant) into an mmdx feature table: patient_id, records.present,
      records.f00..f29, label (1 = malignant).
  sklearn_reference.py coef TABLE.csv
      StandardScaler on all rows, then LogisticRegression(C, class_weight) for each
      case, solved to convergence; prints "C class_weight intercept coef0 ... coef29".
      The solver is newton-cholesky (scikit-learn >= 1.2; its gradient ends below
      1e-12): lbfgs stops on scipy's relative-reduction test (ftol) whatever `tol`
      says, at |gradient| ~ 6e-7 on WDBC, C=1, which leaves coefficients ~1e-4 from
      the optimum.
  sklearn_reference.py cv TABLE.csv FOLDS.csv C
      The folds mmdx used (FOLDS.csv: patient_id,fold,...): per fold a pipeline of
      StandardScaler + LogisticRegression(C) fitted on the other folds; prints
      "pooled_auroc mean_fold_auroc".
"""
import csv
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

CASES = [(0.1, None), (1.0, None), (10.0, None), (1.0, "balanced")]


def read_table(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    cols = [i for i, h in enumerate(head) if h.startswith("records.f")]
    lab = head.index("label")
    ids = [r[0] for r in rows[1:]]
    x = np.array([[float(r[i]) for i in cols] for r in rows[1:]])
    y = np.array([int(r[lab]) for r in rows[1:]])
    return ids, x, y


def main():
    mode = sys.argv[1]
    if mode == "table":
        with open(sys.argv[2], newline="") as f:
            rows = list(csv.reader(f))[1:]
        with open(sys.argv[3], "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["patient_id", "records.present"] + ["records.f%02d" % j for j in range(30)] + ["label"])
            for i, r in enumerate(rows):
                w.writerow(["WDBC%03d" % (i + 1), "1"] + r[:30] + [str(1 - int(r[30]))])
    elif mode == "coef":
        _, x, y = read_table(sys.argv[2])
        xs = StandardScaler().fit_transform(x)
        for c, cw in CASES:
            m = LogisticRegression(C=c, class_weight=cw, solver="newton-cholesky", tol=1e-12, max_iter=1000)
            m.fit(xs, y)
            vals = [m.intercept_[0]] + list(m.coef_[0])
            print("%g %s %s" % (c, cw or "none", " ".join("%.17g" % v for v in vals)))
    elif mode == "cv":
        ids, x, y = read_table(sys.argv[2])
        c = float(sys.argv[4])
        with open(sys.argv[3], newline="") as f:
            fold_of = {r["patient_id"]: int(r["fold"]) for r in csv.DictReader(f)}
        folds = np.array([fold_of[i] for i in ids])
        oof = np.zeros(len(y))
        per_fold = []
        for k in sorted(set(folds)):
            tr, te = folds != k, folds == k
            model = make_pipeline(StandardScaler(), LogisticRegression(C=c))
            model.fit(x[tr], y[tr])
            p = model.predict_proba(x[te])[:, 1]
            oof[te] = p
            per_fold.append(roc_auc_score(y[te], p))
        print("%.17g %.17g" % (roc_auc_score(y, oof), float(np.mean(per_fold))))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
