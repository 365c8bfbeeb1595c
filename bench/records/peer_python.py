#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Peer for the records benchmark: the same bulk export read the way a Python
pipeline would (stdlib json, line by line), computing a subset of mmdx's
features for cross-checking: per patient, glucose (LOINC 2345-7, mg/dL or
mmol/L -> mmol/L) count and mean over the 730 days before the index date,
and the latest systolic blood pressure (8480-6 component) in that window.

    peer_python.py EXPORT_DIR INDEX_DATE OUT.csv
"""
import csv
import datetime as dt
import json
import os
import sys

GLUCOSE = {"2345-7", "2339-0", "1558-6", "41653-7", "15074-8", "14749-6"}


def instant(s):
    if len(s) == 10:
        s += "T00:00:00+00:00"
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def main():
    folder, index, out = sys.argv[1:4]
    end = instant(index) + 86400
    lo = end - 730 * 86400
    glu = {}
    sbp = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".ndjson"):
            continue
        with open(os.path.join(folder, name)) as f:
            for line in f:
                r = json.loads(line)
                if r.get("resourceType") != "Observation" or r.get("status") in ("entered-in-error", "cancelled"):
                    continue
                pid = r["subject"]["reference"].split("/")[-1]
                t = instant(r["effectiveDateTime"])
                if not (lo <= t < end):
                    continue
                codes = {c.get("code") for c in r["code"]["coding"] if c.get("system") == "http://loinc.org"}
                if codes & GLUCOSE:
                    q = r["valueQuantity"]
                    v = q["value"] / 18.0156 if q["code"] == "mg/dL" else q["value"]
                    if 0.5 <= v <= 100:
                        glu.setdefault(pid, []).append(v)
                for comp in r.get("component", []):
                    if any(c.get("code") == "8480-6" for c in comp["code"]["coding"]):
                        v = comp["valueQuantity"]["value"]
                        if 40 <= v <= 300 and (pid not in sbp or t >= sbp[pid][0]):
                            sbp[pid] = (t, v)
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["patient_id", "glucose_count", "glucose_mean", "sbp_latest"])
        for pid in sorted(set(glu) | set(sbp)):
            g = glu.get(pid, [])
            w.writerow([pid, len(g), repr(sum(g) / len(g)) if g else "", repr(sbp[pid][1]) if pid in sbp else ""])


if __name__ == "__main__":
    main()
