#!/bin/sh
# The README's main command on the bundled sample cohort: every patient gets a
# row, missing modalities are marked missing, labels are carried through.
# SPDX-License-Identifier: Apache-2.0
set -eu
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$src"
"$build/bin/mmdx" encode --config examples/sample-cohort/mmdx.conf \
    --cohort examples/sample-cohort/cohort.csv --out "$tmp/features.csv" 2>"$tmp/err" || fail "$(cat "$tmp/err")"
f=$tmp/features.csv
[ "$(wc -l < "$f")" -eq 9 ] || fail "expected 8 patients + header"
# imaging columns come first when the imaging plugin is built; the sample has no images.
head -1 "$f" | grep -Eq '^patient_id,(imaging\.[^,]+,)*genomics.present,genomics.prs.demo0001,' || fail "header: $(head -1 "$f")"
head -1 "$f" | grep -q ',records.present,records.age,' || fail "records columns missing"
head -1 "$f" | grep -q ',label$' || fail "label column missing"
col() { head -1 "$f" | tr ',' '\n' | grep -n "^$1\$" | cut -d: -f1; }
g=$(col genomics.present) r=$(col records.present) i=$(col imaging.present)
[ -z "$i" ] || [ "$(cut -d, -f"$i" "$f" | sort -u | tr -d '\n')" = "0imaging.present" ] || fail "no patient has an image"
# DEMO-007 has no VCF, DEMO-004 no record.
[ "$(grep '^DEMO-007,' "$f" | cut -d, -f"$g")" = 0 ] || fail "DEMO-007 genomics should be missing"
[ "$(grep '^DEMO-004,' "$f" | cut -d, -f"$r")" = 0 ] || fail "DEMO-004 records should be missing"
[ "$(grep '^DEMO-001,' "$f" | cut -d, -f"$g")" = 1 ] || fail "DEMO-001 genomics should be present"
[ "$(grep -c ',[01]$' "$f")" -eq 8 ] || fail "every row ends with its label"
echo "sample cohort: ok"
