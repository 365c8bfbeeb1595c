#!/bin/sh
# Regenerate the seed corpus of fuzz_masks (tests/fuzz/corpus/masks): masks
# drawn on the 4x4 grid of fuzz_masks.c and of the CT seeds of fuzz_dicom
# (0.5 mm pixels, one slice at z = 5, frame of reference 2.25.80) — a binary
# and a fractional DICOM SEG made with DCMTK's dump2dcm, fuzz_dicom's RT
# Structure Set seed, NIfTI masks (uint8 and float, and one on another grid).
# Run from the repository root.
set -eu
out=tests/fuzz/corpus/masks
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

/usr/bin/python3 - "$tmp" "$out" <<'PY'
import struct, sys
tmp, out = sys.argv[1], sys.argv[2]
# SEG pixel data: one frame of 4x4, 1 bit per pixel (LSB first)
bits = [1 if (i % 4) in (1, 2) and (i // 4) in (1, 2) else 0 for i in range(16)]
packed = bytes(sum(bits[b * 8 + k] << k for k in range(8)) for b in range(2))
open(tmp + "/seg.raw", "wb").write(packed)
open(tmp + "/frac.raw", "wb").write(bytes((i * 37) % 256 for i in range(16)))

def nifti(path, dims, datatype, bitpix, fmt, values, pixdim=(0.5, 0.5, 1.0)):
    hdr = bytearray(348)
    struct.pack_into("<i", hdr, 0, 348)
    struct.pack_into("<8h", hdr, 40, 3, dims[0], dims[1], dims[2], 1, 1, 1, 1)
    struct.pack_into("<hh", hdr, 70, datatype, bitpix)
    struct.pack_into("<8f", hdr, 76, 1.0, pixdim[0], pixdim[1], pixdim[2], 1, 1, 1, 1)
    struct.pack_into("<f", hdr, 108, 352.0)          # vox_offset
    struct.pack_into("<f", hdr, 112, 1.0)            # scl_slope
    struct.pack_into("<hh", hdr, 252, 0, 1)          # qform_code 0, sform_code 1
    # sform in RAS: LPS (-x, -y) of the grid, origin (-10, -10, 5) LPS = (10, 10, 5) RAS
    struct.pack_into("<4f", hdr, 280, -pixdim[0], 0, 0, 10.0)
    struct.pack_into("<4f", hdr, 296, 0, -pixdim[1], 0, 10.0)
    struct.pack_into("<4f", hdr, 312, 0, 0, pixdim[2], 5.0)
    hdr[344:348] = b"n+1\0"
    open(path, "wb").write(bytes(hdr) + b"\0\0\0\0" + struct.pack("<%d%s" % (len(values), fmt), *values))

nifti(out + "/nifti_uint8.nii", (4, 4, 1), 2, 8, "B", bits)
nifti(out + "/nifti_float.nii", (4, 4, 1), 16, 32, "f", [0.25 * (i % 5) for i in range(16)])
nifti(out + "/nifti_other_grid.nii", (3, 4, 1), 2, 8, "B", [1] * 12)
PY

common='(0008,0016) UI =SegmentationStorage
(0008,0018) UI [2.25.95]
(0008,0060) CS [SEG]
(0008,0070) LO [mmdx]
(0008,1090) LO [make_mask_seeds]
(0018,1020) LO [1]
(0020,000d) UI [2.25.78]
(0020,000e) UI [2.25.96]
(0020,0013) IS [1]
(0020,0052) UI [2.25.80]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME2]
(0028,0008) IS [1]
(0028,0010) US 4
(0028,0011) US 4
(0028,0103) US 0
(0062,0002) SQ (Sequence with explicit length #=1)
  (fffe,e000) na (Item with explicit length #=5)
    (0062,0003) SQ (Sequence with explicit length #=1)
      (fffe,e000) na (Item with explicit length #=3)
        (0008,0100) SH [123037004]
        (0008,0102) SH [SCT]
        (0008,0104) LO [Anatomical Structure]
      (fffe,e00d) na (ItemDelimitationItem for re-encoding)
    (fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
    (0062,0004) US 1
    (0062,0005) LO [GTV]
    (0062,0008) CS [MANUAL]
    (0062,000f) SQ (Sequence with explicit length #=1)
      (fffe,e000) na (Item with explicit length #=3)
        (0008,0100) SH [108369006]
        (0008,0102) SH [SCT]
        (0008,0104) LO [Tumor]
      (fffe,e00d) na (ItemDelimitationItem for re-encoding)
    (fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
  (fffe,e00d) na (ItemDelimitationItem for re-encoding)
(fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
(5200,9229) SQ (Sequence with explicit length #=1)
  (fffe,e000) na (Item with explicit length #=2)
    (0020,9116) SQ (Sequence with explicit length #=1)
      (fffe,e000) na (Item with explicit length #=1)
        (0020,0037) DS [1\0\0\0\1\0]
      (fffe,e00d) na (ItemDelimitationItem for re-encoding)
    (fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
    (0028,9110) SQ (Sequence with explicit length #=1)
      (fffe,e000) na (Item with explicit length #=2)
        (0018,0050) DS [1]
        (0028,0030) DS [0.5\0.5]
      (fffe,e00d) na (ItemDelimitationItem for re-encoding)
    (fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
  (fffe,e00d) na (ItemDelimitationItem for re-encoding)
(fffe,e0dd) na (SequenceDelimitationItem for re-encod.)'

frame() { # frame z
cat <<FRAME
  (fffe,e000) na (Item with explicit length #=3)
    (0020,9111) SQ (Sequence with explicit length #=1)
      (fffe,e000) na (Item with explicit length #=1)
        (0020,9157) UL 1\\$2
      (fffe,e00d) na (ItemDelimitationItem for re-encoding)
    (fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
    (0020,9113) SQ (Sequence with explicit length #=1)
      (fffe,e000) na (Item with explicit length #=1)
        (0020,0032) DS [-10\\-10\\$1]
      (fffe,e00d) na (ItemDelimitationItem for re-encoding)
    (fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
    (0062,000a) SQ (Sequence with explicit length #=1)
      (fffe,e000) na (Item with explicit length #=1)
        (0062,000b) US 1
      (fffe,e00d) na (ItemDelimitationItem for re-encoding)
    (fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
  (fffe,e00d) na (ItemDelimitationItem for re-encoding)
FRAME
}

seg() { # type bits pixels
    printf "%s\n" "$common"
    echo "(0028,0100) US $2"
    echo "(0028,0101) US $2"
    echo "(0028,0102) US $(($2 - 1))"
    echo "(0062,0001) CS [$1]"
    [ "$1" = FRACTIONAL ] && { echo "(0062,0010) CS [PROBABILITY]"; echo "(0062,000e) US 255"; }
    echo "(5200,9230) SQ (Sequence with explicit length #=1)"
    frame 5 1
    echo "(fffe,e0dd) na (SequenceDelimitationItem for re-encod.)"
    echo "(7fe0,0010) OB =$3"
}

seg BINARY 1 seg.raw > "$tmp/seg.dump"
seg FRACTIONAL 8 frac.raw > "$tmp/frac.dump"
cd "$tmp"
dump2dcm -q +te seg.dump seg.dcm
dump2dcm -q +te frac.dump frac.dcm
cd - >/dev/null
cp "$tmp/seg.dcm" "$out/seg_binary.dcm"
cp "$tmp/frac.dcm" "$out/seg_fractional.dcm"
cp tests/fuzz/corpus/dicom/rtstruct_square.dcm "$out/rtstruct_square.dcm"
ls "$out"
