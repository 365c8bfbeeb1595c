#!/bin/sh
# Benchmark: reading + decoding + every radiomics feature of a 512x512x100 CT
# series with mmdx, against DCMTK's own dcmdjpeg and dcm2pnm (dcmj2pnm for the
# JPEG files) decoding the same files, side by side in one run.
#
#   bench/imaging/run.sh BUILD_DIR [WORK_DIR] [REPEATS]
#
# BUILD_DIR holds bin/mmdx, the imaging plugin, imaging_gen_ct_phantom and
# bench_imaging (cmake --build BUILD_DIR --target mmdx imaging
# imaging_gen_ct_phantom bench_imaging). WORK_DIR (default $TMPDIR/mmdx-bench-
# imaging) keeps the generated series between runs. The phantom is written as
# DCMTK dump files and turned into DICOM by DCMTK's dump2dcm (uncompressed
# explicit little endian), then compressed with dcmcjpeg (JPEG lossless, SV1).
# Each command runs REPEATS times (default 3); the table gives the median wall
# time, slices per second and peak resident memory (GNU time). The peers run
# once per file, as they are used. The script first checks that the JPEG and
# the uncompressed series decode to identical voxels.
set -eu
bench_dir=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR [WORK_DIR] [REPEATS]}" && pwd)
work=${2:-${TMPDIR:-/tmp}/mmdx-bench-imaging}
repeats=${3:-3}
threads=${THREADS:-2}
nx=${NX:-512}
ny=${NY:-512}
nz=${NZ:-100}
gen=$(find "$build" -name imaging_gen_ct_phantom -type f | head -n 1)
bench=$(find "$build" -name bench_imaging -type f | head -n 1)
mmdx=$build/bin/mmdx
tag="${nx}x${ny}x${nz}"
mkdir -p "$work"
cd "$work"

if [ ! -e "done_$tag" ]; then
    echo "generating a ${tag} CT phantom with DCMTK (dump2dcm, dcmcjpeg) ..." >&2
    rm -rf "raw_$tag" "plain_$tag" "jpeg_$tag"
    mkdir -p "raw_$tag" "plain_$tag" "jpeg_$tag"
    "$gen" "raw_$tag" "$nx" "$ny" "$nz"
    (cd "raw_$tag" && for d in slice_*.dump; do
        dump2dcm -q +te "$d" "../plain_$tag/${d%.dump}.dcm"
        dcmcjpeg +e1 "../plain_$tag/${d%.dump}.dcm" "../jpeg_$tag/${d%.dump}.dcm"
    done)
    mv "raw_$tag/tumour.nii" "tumour_$tag.nii"
    rm -rf "raw_$tag"
    touch "done_$tag"
fi
plain=plain_$tag
jpeg=jpeg_$tag
mask=tumour_$tag.nii
"$bench" same "$plain" "$jpeg" >&2

. "$bench_dir/measure.sh"  # measure NAME COMMAND...

mkdir -p out
{
    measure mmdx_read_plain_1t "OMP_NUM_THREADS=1 '$bench' read $plain 1"
    measure mmdx_read_jpeg_1t "OMP_NUM_THREADS=1 '$bench' read $jpeg 1"
    measure mmdx_read_jpeg "'$bench' read $jpeg $threads"
    measure mmdx_encode_jpeg "'$bench' encode $jpeg $mask $threads"
    measure mmdx_cli_jpeg "'$mmdx' encode imaging $jpeg --mask $mask --threads $threads"
    measure dcmdjpeg "for f in $jpeg/*.dcm; do dcmdjpeg \$f out/d.dcm || exit 1; done"
    measure dcmj2pnm_jpeg "for f in $jpeg/*.dcm; do dcmj2pnm \$f out/p.pgm || exit 1; done"
    measure dcm2pnm_plain "for f in $plain/*.dcm; do dcm2pnm \$f out/p.pgm || exit 1; done"
} > results.txt

peer=$(awk '$1 == "dcmdjpeg" {print $2}' results.txt)
echo "| command | median s | slices/s | peak MiB | time vs dcmdjpeg |"
echo "|---|---|---|---|---|"
awk -v nz="$nz" -v peer="$peer" '{printf "| %s | %.2f | %.0f | %s | %.2f |\n", $1, $2, ($2 > 0 ? nz / $2 : 0), $3, $2 / peer}' results.txt
