#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Similar-patient and cross-modal retrieval in joint fusion's shared space, all through the mmdx CLI.

    bench/retrieval/subtype_eval.py --build build [--workdir DIR] [--patients 1500] [--seeds 1,2,3]
                                    [--missing 0.15] [--image-size 40] [--slices 12] [--config F]

Per seed: an `mmdx synth --subtypes 4` cohort (the three modalities share a
latent subtype, synth/synth.h), split by patient into two thirds training and
one third test; `mmdx encode --cohort` for the raw features; `mmdx train
--fusion joint` on the training patients (with the [joint] section of
--config, if given); `mmdx predict --embeddings` on the test patients.

(a) precision@10: for each test patient, the share of its 10 most
    cosine-similar other test patients that have its subtype, on
      - the fused vector (all test patients),
      - the imaging token (test patients with imaging),
      - the raw features (early fusion's: every feature, z-scored with the
        training patients' observed values, missing and absent values 0 = the
        training mean; all test patients),
      - the raw imaging features alone (test patients with imaging),
      - the three tokens, each scaled to unit length and concatenated (an
        absent modality's block 0), and the same for the raw features' three
        blocks (so that each modality weighs the same, as in the tokens),
      - the true latent components of truth.csv (the ceiling), and imaging's own
        (z_imaging and, with subtypes, z_imaging_shape: the ceiling for imaging),
    against chance (the share of same-subtype patients among the others).
(b) cross-modal: the test patients with all three modalities re-embedded from
    a copy of the manifest with their genomics and records blanked (imaging
    only, through the encoders); recall@10: how often the patient's own
    full-modality fused vector is among the 10 nearest of all those patients'
    full-modality fused vectors; the same on the raw features (the other
    modalities' blocks 0); against chance (10 / n).
Prints a Markdown table (docs/fusion.md), medians over the seeds.
"""
import argparse
import json
import os
import random
import shutil
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from mmdx_bench import Mmdx, block, own_rank, read_table, unit_rows, write_table  # noqa: E402

K = 10


def precision_at_k(x, labels, k=K):
    """Mean share of same-label rows among each row's k most cosine-similar other rows."""
    u = unit_rows(x)
    sim = u @ u.T
    np.fill_diagonal(sim, -np.inf)
    nearest = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    return float(np.mean(labels[nearest] == labels[:, None]))


def precision_at_k_euclidean(v, labels, k=K):
    """precision_at_k by Euclidean distance (for the true components: a cosine of scalars is only their signs)."""
    v = v.reshape(len(v), -1)
    dist = np.sqrt(((v[:, None, :] - v[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(dist, np.inf)
    nearest = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return float(np.mean(labels[nearest] == labels[:, None]))


def cross_precision_at_k(q, g, labels, k=K):
    """Row i of q queries gallery g (row i of g is the same patient, left out): mean same-label share of its k nearest."""
    sim = unit_rows(q) @ unit_rows(g).T
    np.fill_diagonal(sim, -np.inf)
    nearest = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    return float(np.mean(labels[nearest] == labels[:, None]))


def chance_precision(labels):
    n = len(labels)
    same = np.array([np.sum(labels == v) - 1 for v in labels])
    return float(np.mean(same / (n - 1)))


def feature_columns(header, prefix=""):
    return [i for i, h in enumerate(header)
            if h not in ("patient_id", "label") and not h.endswith(".present") and h.startswith(prefix)]


def numeric(rows, cols):
    return np.array([[float(r[i]) if r[i] != "" else np.nan for i in cols] for r in rows])


def standardised(train, test):
    """test z-scored with train's observed values, missing -> 0; and which columns were kept (not constant)."""
    with warnings.catch_warnings():  # a feature no training patient has is all NaN: dropped below
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, sd = np.nanmean(train, axis=0), np.nanstd(train, axis=0)
    keep = np.isfinite(sd) & (sd > 0)
    return np.nan_to_num((test[:, keep] - mean[keep]) / sd[keep]), keep


def cohort(mm, d, n, seed, missing, image_size, slices):
    """An `mmdx synth --subtypes 4` cohort in d and its encoded features (made once)."""
    feats = os.path.join(d, "features.csv")
    if not os.path.exists(feats):
        if os.path.exists(d):
            shutil.rmtree(d)
        mm("synth", "--patients", str(n), "--out", d, "--seed", str(seed), "--missing", str(missing),
           "--subtypes", "4", "--image-size", str(image_size), "--slices", str(slices), "--threads", "2",
           "--no-progress")
        mm("encode", "--cohort", os.path.join(d, "cohort.csv"), "--config", os.path.join(d, "mmdx.conf"),
           "--out", feats, "--threads", "2", "--no-progress")
    return feats


def evaluate(mm, seed, n=1500, missing=0.15, image_size=40, slices=12, config=None, test_fraction=1 / 3):
    """Train on a seeded split of a seeded cohort; the retrieval measures on its test patients."""
    d = os.path.join(mm.work, "cohort_%d_%d_%g_%d_%d" % (seed, n, missing, image_size, slices))
    fh, frows = read_table(cohort(mm, d, n, seed, missing, image_size, slices))
    th, trows = read_table(os.path.join(d, "truth.csv"))
    subtype = {r[0]: int(r[th.index("subtype")]) for r in trows}
    truth_z = {r[0]: [float(r[th.index(c)]) for c in ("z_imaging", "z_genomics", "z_records")] for r in trows}
    # imaging's true components: its size/density component and, where the generator draws one, its shape's
    img_cols = ["z_imaging"] + (["z_imaging_shape"] if "z_imaging_shape" in th else [])
    truth_img = {r[0]: [float(r[th.index(c)]) for c in img_cols] for r in trows}

    order = list(range(len(frows)))
    random.Random(seed).shuffle(order)
    cut = int(round(len(order) * (1 - test_fraction)))
    train_rows = [frows[i] for i in sorted(order[:cut])]
    test_rows = [frows[i] for i in sorted(order[cut:])]
    run_dir = os.path.join(mm.work, "run_%d" % seed)
    os.makedirs(run_dir, exist_ok=True)
    train_csv, test_csv = os.path.join(run_dir, "train.csv"), os.path.join(run_dir, "test.csv")
    write_table(train_csv, fh, train_rows)
    write_table(test_csv, fh, test_rows)
    model = os.path.join(run_dir, "joint.mmdx")
    extra = ["--seed", str(seed)] + (["--config", config] if config else [])
    mm.train(train_csv, "joint", model, extra)
    emb = os.path.join(run_dir, "embeddings.csv")
    mm("predict", "--model", model, "--features", test_csv, "--out", os.path.join(run_dir, "p.csv"),
       "--embeddings", emb, "--no-progress")
    eh, erows = read_table(emb)
    ids = [r[0] for r in erows]
    assert ids == [r[0] for r in test_rows]
    labels = np.array([subtype[i] for i in ids])
    fused, _ = block(eh, erows, "fused")
    img_token, has_img = block(eh, erows, "imaging")

    cols = feature_columns(fh)
    raw, kept = standardised(numeric(train_rows, cols), numeric(test_rows, cols))
    raw_blocks = {}
    for m in ("imaging", "genomics", "records"):
        mcols = feature_columns(fh, m + ".")
        raw_blocks[m], _ = standardised(numeric(train_rows, mcols), numeric(test_rows, mcols))
    raw_img = raw_blocks["imaging"]
    tokens = [block(eh, erows, m) for m in ("imaging", "genomics", "records")]
    token_cat = np.hstack([unit_rows(t) * have[:, None] for t, have in tokens])
    raw_cat = np.hstack([unit_rows(raw_blocks[m]) for m in ("imaging", "genomics", "records")])
    res = {
        "n_train": len(train_rows), "n_test": len(test_rows), "n_imaging": int(has_img.sum()),
        "p10_fused": precision_at_k(fused, labels),
        "p10_imaging_token": precision_at_k(img_token[has_img], labels[has_img]),
        "p10_raw": precision_at_k(raw, labels),
        "p10_raw_imaging": precision_at_k(raw_img[has_img], labels[has_img]),
        "p10_tokens": precision_at_k(token_cat, labels),
        "p10_token_mean": precision_at_k(sum(unit_rows(t) * have[:, None] for t, have in tokens), labels),
        "p10_raw_blocks": precision_at_k(raw_cat, labels),
        "p10_truth": precision_at_k(np.array([truth_z[i] for i in ids]), labels),
        "p10_truth_imaging": precision_at_k_euclidean(np.array([truth_img[i] for i in ids])[has_img],
                                                       labels[has_img]),
        "p10_chance": chance_precision(labels), "p10_chance_imaging": chance_precision(labels[has_img]),
    }

    # (b) cross-modal: the complete test patients from imaging alone, through the encoders.
    mh, mrows = read_table(os.path.join(d, "cohort.csv"))
    present = [fh.index(m + ".present") for m in ("imaging", "genomics", "records")]
    complete = {r[0] for r in test_rows if all(r[c] == "1" for c in present)}
    blank = [mh.index(c) for c in ("vcf", "vcf_sample", "record")]
    only_img = [[("" if i in blank else v) for i, v in enumerate(r)] for r in mrows if r[0] in complete]
    manifest = os.path.join(d, "imaging_only_%d.csv" % seed)  # beside cohort.csv: its paths are relative
    write_table(manifest, mh, only_img)
    emb_img = os.path.join(run_dir, "embeddings_imaging_only.csv")
    mm("predict", "--model", model, "--cohort", manifest, "--config", os.path.join(d, "mmdx.conf"),
       "--out", os.path.join(run_dir, "p_img.csv"), "--embeddings", emb_img, "--no-progress")
    qh, qrows = read_table(emb_img)
    query, _ = block(qh, qrows, "fused")
    full = {i: v for i, v in zip(ids, fused)}
    gallery = np.array([full[r[0]] for r in qrows])
    # the raw baseline: imaging-only rows are the full rows with the other modalities' columns at 0
    keep_raw = {i: v for i, v in zip(ids, raw)}
    raw_full = np.array([keep_raw[r[0]] for r in qrows])
    is_img = np.array([fh[c].startswith("imaging.") for c, k in zip(cols, kept) if k])
    raw_query = raw_full * is_img
    nq = len(qrows)
    qlabels = np.array([subtype[r[0]] for r in qrows])
    res.update({
        "p10_xmodal_fused": cross_precision_at_k(query, gallery, qlabels),
        "p10_xmodal_raw": cross_precision_at_k(raw_query, raw_full, qlabels),
        "p10_chance_complete": chance_precision(qlabels),
        "n_complete": nq,
        "r10_fused": float(np.mean(own_rank(query, gallery) < K)),
        "r10_raw": float(np.mean(own_rank(raw_query, raw_full) < K)),
        "r10_chance": min(K, nq) / nq,
    })
    return res


ROWS = [
    ("fused vector (all test patients)", "p10_fused", "p10_chance"),
    ("imaging token (test patients with imaging)", "p10_imaging_token", "p10_chance_imaging"),
    ("raw features, z-scored (all)", "p10_raw", "p10_chance"),
    ("raw imaging features, z-scored (with imaging)", "p10_raw_imaging", "p10_chance_imaging"),
    ("three tokens, each unit length, concatenated (all)", "p10_tokens", "p10_chance"),
    ("mean of the unit tokens, as `mmdx similar --using` all three (all)", "p10_token_mean", "p10_chance"),
    ("raw features, each modality's block unit length (all)", "p10_raw_blocks", "p10_chance"),
    ("true latent components (ceiling)", "p10_truth", "p10_chance"),
    ("true imaging components alone, by distance (the ceiling for imaging)", "p10_truth_imaging", "p10_chance_imaging"),
    ("query imaging only, gallery full: fused vectors (complete patients)", "p10_xmodal_fused", "p10_chance_complete"),
    ("query imaging only, gallery full: raw features (complete patients)", "p10_xmodal_raw", "p10_chance_complete"),
]


def report(results):
    med = {k: float(np.median([r[k] for r in results])) for k in results[0]}
    seeds = ", ".join(str(r["seed"]) for r in results)
    print("\n**precision@10 of same-subtype neighbours** (cosine, query left out; median over seeds %s)\n" % seeds)
    print("| space | " + " | ".join("seed %d" % r["seed"] for r in results) + " | median | chance |")
    print("|---|" + "---|" * (len(results) + 2))
    for label, key, chance in ROWS:
        print("| %s | %s | %.3f | %.3f |" % (label, " | ".join("%.3f" % r[key] for r in results), med[key],
                                             med[chance]))
    print("\n**cross-modal recall@10**: complete test patients embedded from imaging only, their own "
          "full-modality vector among all complete test patients' (median n = %d)\n" % med["n_complete"])
    print("| space | " + " | ".join("seed %d" % r["seed"] for r in results) + " | median | chance |")
    print("|---|" + "---|" * (len(results) + 2))
    for label, key in (("fused vector", "r10_fused"), ("raw features (other modalities 0)", "r10_raw")):
        print("| %s | %s | %.3f | %.3f |" % (label, " | ".join("%.3f" % r[key] for r in results), med[key],
                                             med["r10_chance"]))
    return med


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--workdir", default="/tmp/mmdx-bench-retrieval")
    ap.add_argument("--patients", type=int, default=1500)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--missing", type=float, default=0.15)
    ap.add_argument("--image-size", type=int, default=40)
    ap.add_argument("--slices", type=int, default=12)
    ap.add_argument("--config", help="site configuration whose [joint] section trains the model")
    ap.add_argument("--json", help="also write every seed's measures here")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    mm = Mmdx(a.build, a.workdir)
    results = []
    for seed in (int(s) for s in a.seeds.split(",")):
        r = evaluate(mm, seed, a.patients, a.missing, a.image_size, a.slices, a.config)
        r["seed"] = seed
        results.append(r)
        print("seed %d: %s" % (seed, json.dumps({k: round(v, 4) for k, v in r.items()})), file=sys.stderr)
    print("Retrieval in the shared space (bench/retrieval/subtype_eval.py, %d patients, --missing %g, "
          "%dx%dx%d CT)" % (a.patients, a.missing, a.image_size, a.image_size, a.slices))
    report(results)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
