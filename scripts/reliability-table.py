#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The reliability matrix's tables (issue #17, docs/reliability.md), from a test run.

Every reliability test prints, per case it tries, one line

    MMDX-RELIABILITY<TAB>row<TAB>case<TAB>pass|fail<TAB>figure

(tests/support/testsupport.c, mmdx_test_reliability). This script collects
those lines from BUILD_DIR/Testing/Temporary/LastTest.log (ctest's full
output) of each build tree named, in order (scripts/test.sh names the
-Werror pass's and the fuzz pass's), and prints the generated section of
docs/reliability.md: one table per row of the matrix (case, result, figure)
with a totals line.

    scripts/reliability-table.py BUILD_DIR...              print the section
    scripts/reliability-table.py BUILD_DIR... --write FILE replace the text between
        <!-- reliability:begin --> and <!-- reliability:end --> in FILE (a new FILE
        holds just the section); then print one totals line per row

Exit status: 0; 1 when a case failed; 2 when the log or FILE's markers are missing.
"""
import argparse
import os
import sys

BEGIN = "<!-- reliability:begin -->"
END = "<!-- reliability:end -->"
TAG = "MMDX-RELIABILITY\t"
ROWS = {
    1: "Tampering",
    2: "Crashes",
    3: "Database faults",
    4: "Concurrency",
    5: "Bad input",
    6: "Fuzzing",
    7: "Privileges and secrets",
}


def read_cases(log_path, rows):
    """Add the log's cases to {row: {case: (result, figure)}}, in order of first
    appearance; a case seen again (ctest --repeat, a rerun appended to the log,
    a later build tree) keeps its last result."""
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            at = line.find(TAG)
            if at < 0:
                continue
            fields = line[at + len(TAG):].rstrip("\r\n").split("\t")
            if len(fields) < 3 or not fields[0].isdigit():
                continue
            row, case, result = int(fields[0]), fields[1].strip(), fields[2].strip()
            figure = "\t".join(fields[3:]).strip()
            if result not in ("pass", "fail"):
                continue
            rows.setdefault(row, {})[case] = (result, figure)


def cell(text):
    return text.replace("|", "\\|") if text else "-"


def totals(cases):
    passed = sum(1 for r, _ in cases.values() if r == "pass")
    return passed, len(cases)


def section(rows):
    out = [BEGIN, ""]
    for row in sorted(set(ROWS) | set(rows)):
        title = ROWS.get(row, "Row %d" % row)
        out.append("### %d. %s" % (row, title))
        out.append("")
        cases = rows.get(row, {})
        if not cases:
            out.append("Not run in this build (no test printed a case for this row).")
            out.append("")
            continue
        out.append("| Case | Result | Figure |")
        out.append("|---|---|---|")
        for case, (result, figure) in cases.items():
            out.append("| %s | %s | %s |" % (cell(case), result, cell(figure)))
        passed, total = totals(cases)
        out.append("")
        out.append("**%d of %d pass.**" % (passed, total))
        out.append("")
    out.append(END)
    return "\n".join(out) + "\n"


def write(path, text):
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            old = f.read()
        b, e = old.find(BEGIN), old.find(END)
        if b < 0 or e < b:
            sys.stderr.write("reliability-table: %s has no %s ... %s markers\n" % (path, BEGIN, END))
            return False
        text = old[:b] + text.rstrip("\n") + old[e + len(END):]
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build_dirs", nargs="+", metavar="BUILD_DIR", help="a build tree ctest ran in")
    ap.add_argument("--write", metavar="FILE", help="update FILE between the markers")
    args = ap.parse_args()
    rows = {}
    for build_dir in args.build_dirs:
        log = os.path.join(build_dir, "Testing", "Temporary", "LastTest.log")
        if not os.path.exists(log):
            sys.stderr.write("reliability-table: %s not found (run ctest in %s first)\n" % (log, build_dir))
            return 2
        read_cases(log, rows)
    text = section(rows)
    if args.write:
        if not write(args.write, text):
            return 2
        for row in sorted(ROWS):
            cases = rows.get(row, {})
            passed, total = totals(cases)
            status = "%d/%d pass" % (passed, total) if total else "not run"
            print("reliability: %d. %-22s %s" % (row, ROWS[row], status))
        print("reliability: tables written to %s" % args.write)
    else:
        sys.stdout.write(text)
    failed = any(r == "fail" for cases in rows.values() for r, _ in cases.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
