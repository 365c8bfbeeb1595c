#!/bin/sh
# `mmdx genomics score --config`: the site configuration's [genomics] scores and
# scoring options are the defaults, the command line overrides them, and a bad
# value is refused naming file and line.
# SPDX-License-Identifier: Apache-2.0
set -eu
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
mmdx=$build/bin/mmdx
s=$src/examples/sample-cohort
cd "$tmp"
unset MMDX_CONFIG MMDX_PLUGIN_PATH || true

"$mmdx" genomics score --vcf "$s/genomics/cohort.vcf" --score "$s/scores/demo_prs.txt" --out direct.tsv --quiet \
    || fail "scoring with --score"
"$mmdx" genomics score --vcf "$s/genomics/cohort.vcf" --config "$s/mmdx.conf" --out configured.tsv --quiet \
    || fail "scoring with the configuration's score line"
cmp -s direct.tsv configured.tsv || fail "the configured score differs from --score"

# A configuration option sets the default (no imputation changes DEMO-006's sum)...
printf '[genomics]\nscore = %s/scores/demo_prs.txt\nmean_impute = no\n' "$s" > noimpute.conf
"$mmdx" genomics score --vcf "$s/genomics/cohort.vcf" --config noimpute.conf --out noimpute.tsv --quiet \
    || fail "scoring with mean_impute = no"
cmp -s direct.tsv noimpute.tsv && fail "mean_impute = no in the configuration was ignored"
# ... and the command line overrides the configuration's score list.
"$mmdx" genomics score --vcf "$s/genomics/cohort.vcf" --config noimpute.conf --no-mean-imputation \
    --score "$s/scores/demo_prs.txt" --out both.tsv --quiet || fail "command line over configuration"
cmp -s noimpute.tsv both.tsv || fail "same options, different result"

printf '[genomics]\n\nmin_overlap = 2\n' > bad.conf
if "$mmdx" genomics score --vcf "$s/genomics/cohort.vcf" --score "$s/scores/demo_prs.txt" --config bad.conf \
    --out x.tsv 2> err.txt; then fail "min_overlap = 2 accepted"; fi
grep -q "bad.conf:3: min_overlap = '2'" err.txt || fail "error does not name file and line: $(cat err.txt)"
[ ! -e x.tsv ] || fail "output written despite the error"
echo "genomics score --config: ok"
