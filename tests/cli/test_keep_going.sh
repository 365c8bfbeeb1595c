#!/bin/sh
# --keep-going means the same in encode, predict and screen: a patient whose
# genomics input is broken is processed on the modalities left (genomics
# marked missing; predict and screen give the same probability). Without it,
# each exits 3 (bad input) and writes no result for that patient.
# SPDX-License-Identifier: Apache-2.0
set -eu
build=$1
mmdx=$build/bin/mmdx
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
unset MMDX_CONFIG MMDX_SITE_KEY MMDX_DB || true
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_exit() { # code, then the command
    want=$1; shift
    set +e
    "$@" > out.txt 2> err.txt
    got=$?
    set -e
    [ "$got" -eq "$want" ] || { cat err.txt >&2; fail "exit $got (want $want): $*"; }
}
"$mmdx" synth --patients 30 --out c --seed 3 > /dev/null 2>&1
openssl rand -hex 32 > site.key && chmod 600 site.key
"$mmdx" train --config c/mmdx.conf --cohort c/cohort.csv --fusion late --site-key site.key --out m.mmdx \
    --no-progress > /dev/null 2>&1
printf 'not a vcf\n' | gzip > c/genomics/SYN000002.vcf.gz

common="--cohort c/cohort.csv --config c/mmdx.conf --no-progress"
# shellcheck disable=SC2086
{
    expect_exit 3 "$mmdx" encode $common --out f.csv
    [ ! -e f.csv ] || fail "encode wrote f.csv without --keep-going"
    grep -q "cohort.csv:3: genomics: c/genomics/SYN000002.vcf.gz: not a VCF" err.txt || fail "encode: no file/line named"
    expect_exit 3 "$mmdx" predict --model m.mmdx --site-key site.key $common --out p.csv
    [ ! -e p.csv ] || fail "predict wrote p.csv without --keep-going"
    expect_exit 3 "$mmdx" screen --model m.mmdx --site-key site.key $common --no-db --out s.csv
    grep -q '^SYN000002,,,,,,imaging+records,failed,genomics: malformed input$' s.csv || fail "screen: patient not listed as failed"

    expect_exit 0 "$mmdx" encode $common --out f.csv --keep-going
    expect_exit 0 "$mmdx" predict --model m.mmdx --site-key site.key $common --out p.csv --keep-going
    rm -f s.csv
    expect_exit 0 "$mmdx" screen --model m.mmdx --site-key site.key $common --no-db --out s.csv --keep-going
}
# encode: genomics marked missing for that patient only
col=$(head -1 f.csv | tr ',' '\n' | grep -n '^genomics.present$' | cut -d: -f1)
[ "$(awk -F, -v c="$col" '$1 == "SYN000002" { print $c }' f.csv)" = 0 ] || fail "encode: genomics not marked missing"
[ "$(awk -F, -v c="$col" 'NR > 1 && $c == 1' f.csv | wc -l)" -eq 20 ] || fail "encode: other patients lost genomics (21 had it, one broken)"
# predict and screen: the same probability and contributions, from imaging and records
p=$(grep '^SYN000002,' p.csv | cut -d, -f2-6)
s=$(grep '^SYN000002,' s.csv | cut -d, -f2-6)
[ -n "$p" ] && [ "$p" = "$s" ] || fail "predict ($p) and screen ($s) differ for the patient"
grep -q '^SYN000002,.*,imaging+records,partial,genomics: malformed input$' s.csv || fail "screen: not partial"
echo "keep-going: same meaning in encode, predict and screen ($p)"
