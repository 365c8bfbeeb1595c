#!/bin/sh
# Benchmark: `mmdx genomics score` against plink2 (VCF import included),
# bcftools query (the text-formatting floor of htslib) and `bgzip -dc` (the
# decompression floor: reading the file at all), side by side in one run, on
# a generated bgzipped VCF of 500,000 variants x 500 samples (GT
# only, 1% missing) and a 100,000-variant PGS Catalog scoring file.
#
#   bench/genomics/run.sh BUILD_DIR [WORK_DIR] [REPEATS]
#
# BUILD_DIR holds bin/mmdx and the generator (cmake --build BUILD_DIR --target
# mmdx genomics genomics_gen_vcf). WORK_DIR (default $TMPDIR/mmdx-bench-
# genomics) keeps the generated data between runs. Each command runs REPEATS
# times (default 3); the table gives the median wall time, the peak resident
# memory (GNU time) and the ratio to plink2. The script also checks that mmdx
# and plink2 agree on every sample (6 significant digits).
set -eu
bench_dir=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR [WORK_DIR] [REPEATS]}" && pwd)
work=${2:-${TMPDIR:-/tmp}/mmdx-bench-genomics}
repeats=${3:-3}
variants=${VARIANTS:-500000}
samples=${SAMPLES:-500}
rows=${SCORE_ROWS:-100000}
threads=${THREADS:-2}
mkdir -p "$work"
cd "$work"
gen=$(find "$build" -name genomics_gen_vcf -type f | head -n 1)
mmdx=$build/bin/mmdx
tag="v${variants}_s${samples}_r${rows}"

if [ ! -s "big_$tag.vcf.gz.tbi" ]; then
    echo "generating $variants variants x $samples samples, $rows score rows ..." >&2
    "$gen" --prefix "big_$tag" --variants "$variants" --samples "$samples" --score-rows "$rows" \
        --missing 0.01 --multiallelic 0 --flip 0.15 --absent 100 --seed 1
    bgzip -f -@ "$threads" "big_$tag.vcf"
    tabix -f -p vcf "big_$tag.vcf.gz"
fi
vcf=big_$tag.vcf.gz
size=$(du -m "$vcf" | cut -f1)
# A sparse score (every 100th row) shows what the index query saves.
awk '/^#/ || /^rsID/ || (++n % 100 == 0)' "big_$tag.pgs.txt" > "small_$tag.pgs.txt"
small_rows=$(grep -vc '^#' "small_$tag.pgs.txt")
small_rows=$((small_rows - 1))

. "$bench_dir/measure.sh"  # measure NAME COMMAND...

{
    measure mmdx "'$mmdx' genomics score --vcf $vcf --score big_$tag.pgs.txt --out mmdx.tsv --threads $threads --min-overlap 0.5 --quiet"
    measure mmdx_noindex "'$mmdx' genomics score --vcf $vcf --score big_$tag.pgs.txt --out mmdx_noindex.tsv --threads $threads --min-overlap 0.5 --quiet --regions no"
    measure plink2 "plink2 --vcf $vcf --score big_$tag.plink2.txt 1 2 3 header cols=+scoresums --threads $threads --out plink2"
    measure bcftools_query "bcftools query -f '[%GT]\n' $vcf"
    measure bgzip_dc "bgzip -@ $threads -dc $vcf"
    measure mmdx_sparse_index "'$mmdx' genomics score --vcf $vcf --score small_$tag.pgs.txt --out sparse.tsv --threads $threads --min-overlap 0.5 --quiet --regions yes"
    measure mmdx_sparse_stream "'$mmdx' genomics score --vcf $vcf --score small_$tag.pgs.txt --out sparse_stream.tsv --threads $threads --min-overlap 0.5 --quiet --regions no"
} > results.txt

# mmdx and plink2 must agree before the times mean anything
python3 - <<'EOF'
import csv, math, sys
ours = {r['#IID']: r for r in csv.DictReader(open('mmdx.tsv'), delimiter='\t')}
bad = 0
rd = csv.DictReader(open('plink2.sscore'), delimiter='\t')
psum = [c for c in rd.fieldnames if c.endswith('_SUM') and c != 'NAMED_ALLELE_DOSAGE_SUM'][0]
pavg = [c for c in rd.fieldnames if c.endswith('_AVG')][0]
for r in rd:
    o = ours[r['#IID']]
    for a, b in (('SYNTH_SUM', psum), ('SYNTH_AVG', pavg)):
        x, y = float(o[a]), float(r[b])
        if '%.6g' % x != r[b] and abs(x - y) > 0.5 * 10 ** (math.floor(math.log10(abs(y))) - 5) * (1 + 1e-9):
            bad += 1
if bad:
    sys.exit('mmdx and plink2 disagree on %d values' % bad)
print('mmdx and plink2 agree on all %d samples' % len(ours), file=sys.stderr)
EOF
cmp -s mmdx.tsv mmdx_noindex.tsv || { echo "index and streaming runs differ" >&2; exit 1; }
cmp -s sparse.tsv sparse_stream.tsv || { echo "sparse index and streaming runs differ" >&2; exit 1; }

plink=$(awk '$1=="plink2"{print $2}' results.txt)
floor=$(awk '$1=="bgzip_dc"{print $2}' results.txt)
echo
echo "Input: $variants variants x $samples samples, bgzipped VCF ${size} MB (GT only, 1% missing); score: $rows rows; $threads threads; median of $repeats runs"
echo
echo "(mmdx: --regions auto, which streams this dense score; mmdx_noindex: --regions no;"
echo "mmdx_sparse_*: a $small_rows-row score, through the index or streamed.)"
echo
echo "| Command | Median wall (s) | Ratio to plink2 | Ratio to bgzip -dc | Peak memory (MiB) |"
echo "|---|---|---|---|---|"
awk -v p="$plink" -v f="$floor" '{printf "| %s | %.2f | %.2f | %.2f | %s |\n", $1, $2, $2 / p, $2 / f, $3}' results.txt
