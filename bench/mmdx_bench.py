# SPDX-License-Identifier: Apache-2.0
"""Helpers the Python benchmarks share: running the mmdx CLI and reading and writing its CSV tables.

Import from a benchmark in a subfolder of bench/ with
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
"""
import csv
import os
import subprocess
import sys


def run(cmd, **kw):
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (res.returncode, " ".join(cmd), res.stderr[-3000:]))
    return res.stdout


def read_table(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def write_table(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def modalities(header):
    """The modalities of a feature table, from its `<modality>.present` columns."""
    return [h[:-len(".present")] for h in header if h.endswith(".present")]


class Mmdx:
    """The mmdx binary of a build, run without the caller's configuration or site key."""

    def __init__(self, build, work):
        self.bin = os.path.join(build, "bin", "mmdx")
        self.work = work
        self.env = dict(os.environ, MMDX_CONFIG="", MMDX_SITE_KEY="")

    def __call__(self, *args):
        return run([self.bin] + list(args), env=self.env)

    def train(self, features, fusion, out, extra=()):
        self("train", "--features", features, "--fusion", fusion, "--out", out, "--threads", "2",
             "--no-progress", *extra)

    def auroc(self, model, features):
        import json
        return json.loads(self("evaluate", "--model", model, "--features", features, "--json",
                               "--no-progress"))["overall"]["auroc"]


def block(header, rows, prefix):
    """The columns `<prefix>.*` of `mmdx predict --embeddings` rows as floats, and which rows have them."""
    import numpy as np
    cols = [i for i, h in enumerate(header) if h.startswith(prefix + ".")]
    have = np.array([r[cols[0]] != "" for r in rows], dtype=bool)
    x = np.array([[float(r[i]) if r[i] != "" else 0.0 for i in cols] for r in rows])
    return x, have


def unit_rows(x):
    """Rows scaled to unit length (cosine similarity is then a dot product); zero rows stay zero."""
    import numpy as np
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(n > 0, n, 1)


def own_rank(queries, gallery):
    """For row i of queries: how many gallery rows are more cosine-similar to it than gallery row i."""
    import numpy as np
    sim = unit_rows(queries) @ unit_rows(gallery).T
    return np.array([(sim[i] > sim[i, i]).sum() for i in range(len(queries))])
