#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""How joint fusion does against early and late fusion, all through the mmdx CLI.

    bench/fusion/joint_eval.py --build build [--data ../shared/data] [--workdir DIR]
                               [--train 800] [--test 500] [--seed 1]

1. AUROC on held-out patients (`mmdx evaluate`), for early/logreg, late/logreg
   and joint, on
     - an `mmdx synth` cohort (CT series, VCF, FHIR bundle per patient, encoded
       by the plugins; 10% of modalities missing at random),
     - the fusion tests' generated cohort (tests/fusion/gen_cohort.c),
     - WDBC (scikit-learn's copy in the shared data) as three views of each
       tumour (the mean, standard error and worst of its ten measurements),
       5-fold cross-validation,
   with all modalities as given / one modality hidden for a random third of the
   test patients who have it / only one modality.
2. Imputation: the test patients' genomics (synth) or each view (WDBC) hidden,
   `mmdx predict --impute`, R^2 per feature family against the truth, and the
   training mean's R^2 (the baseline) for the same cells.
3. Alignment: `mmdx predict --embeddings`; for test patients with both, the
   rank of their own genomics token among every test patient's when queried
   with their imaging token (cosine): recall@1 and @10 against chance.
Prints Markdown tables (docs/fusion.md, docs/BENCHMARKS.md).
"""
import argparse
import os
import random
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from mmdx_bench import Mmdx, block, modalities, own_rank, read_table, run, write_table  # noqa: E402


def hide(header, rows, mod, fraction, rng, keep_one=True):
    """A copy of rows with `mod` absent for `fraction` of the patients who have it (never their last one)."""
    pcol = header.index(mod + ".present")
    fcols = [i for i, h in enumerate(header) if h.startswith(mod + ".") and i != pcol]
    pres = [header.index(m + ".present") for m in modalities(header)]
    out = []
    for r in rows:
        r = list(r)
        others = sum(1 for c in pres if c != pcol and r[c] == "1")
        if r[pcol] == "1" and (others > 0 or not keep_one) and rng.random() < fraction:
            r[pcol] = "0"
            for c in fcols:
                r[c] = ""
        out.append(r)
    return out


def only(header, rows, mod):
    """Patients who have `mod`, with every other modality removed."""
    out = []
    pcol = header.index(mod + ".present")
    for r in rows:
        if r[pcol] != "1":
            continue
        r = list(r)
        for m in modalities(header):
            if m == mod:
                continue
            c = header.index(m + ".present")
            r[c] = "0"
            for i, h in enumerate(header):
                if h.startswith(m + ".") and i != c:
                    r[i] = ""
        out.append(r)
    return out


FUSIONS = [("early", ()), ("late", ()), ("joint", ())]


def auroc_table(mm, name, train, test_header, test_rows, rng):
    models = {}
    for fusion, extra in FUSIONS:
        models[fusion] = os.path.join(mm.work, "%s_%s.mmdx" % (name, fusion))
        mm.train(train, fusion, models[fusion], extra)
    variants = [("all modalities", test_rows)]
    for m in modalities(test_header):
        variants.append(("%s hidden for a third" % m, hide(test_header, test_rows, m, 1 / 3, rng)))
    for m in modalities(test_header):
        variants.append(("only %s" % m, only(test_header, test_rows, m)))
    lines = []
    for label, rows in variants:
        path = os.path.join(mm.work, "%s_test_variant.csv" % name)
        write_table(path, test_header, rows)
        a = {f: mm.auroc(models[f], path) for f, _ in FUSIONS}
        lines.append((label, len(rows), a))
    return lines, models


def print_auroc(title, lines):
    print("\n**%s** (held-out AUROC)\n" % title)
    print("| test patients | n | early | late | joint | joint - best of early, late |")
    print("|---|---|---|---|---|---|")
    for label, n, a in lines:
        print("| %s | %d | %.4f | %.4f | %.4f | %+.4f |" % (label, n, a["early"], a["late"], a["joint"],
                                                          a["joint"] - max(a["early"], a["late"])))


def family(name):
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 else parts[0]


def imputation(mm, model, train_header, train_rows, test_header, test_rows, mod):
    """R^2 of the imputed `mod` features per family, and of the training mean, on test patients who have it."""
    keep = [r for r in test_rows if r[test_header.index(mod + ".present")] == "1" and
            any(r[test_header.index(m + ".present")] == "1" for m in modalities(test_header) if m != mod)]
    hidden = hide(test_header, keep, mod, 1.0, random.Random(0))
    path = os.path.join(mm.work, "impute_in.csv")
    write_table(path, test_header, hidden)
    out = os.path.join(mm.work, "impute_out.csv")
    mm("predict", "--model", model, "--features", path, "--out", os.path.join(mm.work, "impute_p.csv"),
       "--impute", out, "--no-progress")
    ih, irows = read_table(out)
    fams = {}
    for c, h in enumerate(test_header):
        if not h.startswith(mod + ".") or h.endswith(".present"):
            continue
        tr = np.array([float(r[train_header.index(h)]) for r in train_rows if r[train_header.index(h)] != ""])
        truth = np.array([float(r[c]) if r[c] != "" else np.nan for r in keep])
        est = np.array([float(r[ih.index(h)]) if r[ih.index(h)] != "" else np.nan for r in irows])
        ok = ~np.isnan(truth) & ~np.isnan(est)
        if ok.sum() < 10 or len(tr) == 0 or np.var(truth[ok]) == 0:
            continue
        sst = np.sum((truth[ok] - truth[ok].mean()) ** 2)
        f = fams.setdefault(family(h), [0.0, 0.0, 0.0, 0])
        f[0] += np.sum((est[ok] - truth[ok]) ** 2)
        f[1] += np.sum((tr.mean() - truth[ok]) ** 2)
        f[2] += sst
        f[3] += 1
    return len(keep), {k: (1 - v[0] / v[2], 1 - v[1] / v[2], v[3]) for k, v in sorted(fams.items())}


def print_imputation(title, n, fams):
    print("\n**%s** (%d test patients; R^2 pooled over each family's features)\n" % (title, n))
    print("| feature family | features | R^2 imputed | R^2 training mean |")
    print("|---|---|---|---|")
    for k, (r2, r2m, nf) in fams.items():
        print("| %s | %d | %.3f | %.3f |" % (k, nf, r2, r2m))


def alignment(mm, model, test, a, b):
    out = os.path.join(mm.work, "emb.csv")
    mm("predict", "--model", model, "--features", test, "--out", os.path.join(mm.work, "emb_p.csv"),
       "--embeddings", out, "--no-progress")
    h, rows = read_table(out)
    A, has_a = block(h, rows, a)
    B, has_b = block(h, rows, b)
    both = has_a & has_b
    rank = own_rank(A[both], B[both])
    n = int(both.sum())
    return n, float(np.mean(rank < 1)), float(np.mean(rank < 10)), 1 / n, min(10, n) / n


def wdbc_views(data, work):
    src = os.path.join(data, "tabular", "sklearn_breast_cancer_wdbc.csv")
    with open(src) as f:
        lines = f.read().split("\n")[1:]
    names = ["radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
             "concave_points", "symmetry", "fractal_dimension"]
    header = ["patient_id"]
    for view in ("mean", "se", "worst"):
        header.append(view + ".present")
        header += ["%s.%s" % (view, n) for n in names]
    header.append("label")
    rows = []
    for k, line in enumerate(l for l in lines if l.strip()):
        v = line.split(",")
        r = ["WDBC%03d" % k]
        for j in range(3):
            r.append("1")
            r += v[10 * j:10 * j + 10]
        r.append("1" if v[30].strip() == "0" else "0")  # malignant is the event
        rows.append(r)
    return header, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--data", default=os.environ.get("MMDX_TEST_DATA", "../shared/data"))
    ap.add_argument("--workdir", default="/tmp/mmdx-bench-joint")
    ap.add_argument("--train", type=int, default=800)
    ap.add_argument("--test", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", choices=("synth", "gen", "wdbc"),
                    help="only this cohort's AUROC table (no imputation or alignment)")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    mm = Mmdx(a.build, a.workdir)
    # each cohort its own random hiding, so that --only gives the full run's rows
    rng = random.Random(a.seed)
    print("Joint fusion evaluation (bench/fusion/joint_eval.py, seed %d)" % a.seed)

    if a.only in (None, "synth"):
        # 1a. mmdx synth, through the encoders
        feats = {}
        for part, n, seed in (("train", a.train, 100 + a.seed), ("test", a.test, 200 + a.seed)):
            d = os.path.join(a.workdir, "synth_" + part)
            feats[part] = os.path.join(a.workdir, "synth_%s.csv" % part)
            if not os.path.exists(feats[part]):
                mm("synth", "--patients", str(n), "--out", d, "--seed", str(seed), "--missing", "0.1",
                   "--threads", "2", "--no-progress")
                mm("encode", "--cohort", os.path.join(d, "cohort.csv"), "--config", os.path.join(d, "mmdx.conf"),
                   "--out", feats[part], "--threads", "2", "--no-progress")
        th, trows = read_table(feats["train"])
        sh, srows = read_table(feats["test"])
        synth_lines, synth_models = auroc_table(mm, "synth", feats["train"], sh, srows, rng)
        print_auroc("mmdx synth: %d training, %d test patients" % (a.train, a.test), synth_lines)

    if a.only in (None, "gen"):
        # 1b. the fusion tests' generated cohort
        gen = os.path.join(a.build, "bin", "mmdx_fusion_gen_cohort")
        gtr, gte = os.path.join(a.workdir, "gen_train.csv"), os.path.join(a.workdir, "gen_test.csv")
        run([gen, "--n", "2000", "--seed", str(10 + a.seed), "--out", gtr])
        run([gen, "--n", "2000", "--seed", str(20 + a.seed), "--out", gte])
        gh, grows = read_table(gte)
        gen_lines, _ = auroc_table(mm, "gen", gtr, gh, grows, random.Random(1000 + a.seed))
        print_auroc("generated cohort (gen_cohort): 2000 training, 2000 test patients", gen_lines)

    if a.only in (None, "wdbc"):
        # 1c. WDBC as three views, 5 folds
        wh, wrows = wdbc_views(a.data, a.workdir)
        order = list(range(len(wrows)))
        random.Random(a.seed).shuffle(order)
        folds = [order[k::5] for k in range(5)]
        acc = {}
        wdbc_rng = random.Random(2000 + a.seed)
        for k in range(5):
            test_idx = set(folds[k])
            tr = os.path.join(a.workdir, "wdbc_train.csv")
            write_table(tr, wh, [wrows[i] for i in order if i not in test_idx])
            lines, _ = auroc_table(mm, "wdbc", tr, wh, [wrows[i] for i in folds[k]], wdbc_rng)
            for label, n, res in lines:
                e = acc.setdefault(label, [0, {f: [] for f, _ in FUSIONS}])
                e[0] += n
                for f in res:
                    e[1][f].append(res[f])
        print_auroc("WDBC, three views (mean, se, worst), 5-fold cross-validation: mean fold AUROC",
                    [(label, v[0], {f: float(np.mean(x)) for f, x in v[1].items()}) for label, v in acc.items()])

    if a.only:
        return

    # 2. imputation
    n, fams = imputation(mm, synth_models["joint"], th, trows, sh, srows, "genomics")
    print_imputation("Imputing genomics from imaging and records (mmdx synth)", n, fams)
    n, fams = imputation(mm, synth_models["joint"], th, trows, sh, srows, "records")
    print_imputation("Imputing records from imaging and genomics (mmdx synth)", n, fams)
    wtr = os.path.join(a.workdir, "wdbc_all.csv")
    cut = int(0.7 * len(wrows))
    write_table(wtr, wh, [wrows[i] for i in order[:cut]])
    wmodel = os.path.join(a.workdir, "wdbc_joint.mmdx")
    mm.train(wtr, "joint", wmodel)
    for view in ("worst", "se"):
        n, fams = imputation(mm, wmodel, wh, [wrows[i] for i in order[:cut]], wh, [wrows[i] for i in order[cut:]],
                             view)
        print_imputation("WDBC: imputing the '%s' view from the other two (70/30 split)" % view, n, fams)

    # 3. alignment
    print("\n**Cross-modal alignment**: the patient's own token of modality B among all test patients', "
          "queried with their token of modality A (cosine)\n")
    print("| data | A -> B | patients | recall@1 | recall@10 | chance @1 | chance @10 |")
    print("|---|---|---|---|---|---|---|")
    for x, y in (("imaging", "genomics"), ("imaging", "records"), ("genomics", "records")):
        n, r1, r10, c1, c10 = alignment(mm, synth_models["joint"], feats["test"], x, y)
        print("| mmdx synth | %s -> %s | %d | %.3f | %.3f | %.3f | %.3f |" % (x, y, n, r1, r10, c1, c10))
    wte = os.path.join(a.workdir, "wdbc_test.csv")
    write_table(wte, wh, [wrows[i] for i in order[cut:]])
    for x, y in (("mean", "worst"), ("mean", "se")):
        n, r1, r10, c1, c10 = alignment(mm, wmodel, wte, x, y)
        print("| WDBC | %s -> %s | %d | %.3f | %.3f | %.3f | %.3f |" % (x, y, n, r1, r10, c1, c10))


if __name__ == "__main__":
    main()
