#!/bin/sh
# Regenerate the seed corpus of fuzz_dicom (tests/fuzz/corpus/dicom) with
# DCMTK's own tools: tiny images in every transfer syntax mmdx decodes, a
# colour and a MONOCHROME1 image, a multi-frame RT-Dose-like object, an RT
# Structure Set drawn on the 4x4 CT image, a truncated file and a non-DICOM
# text. Run from the repository root.
set -eu
out=tests/fuzz/corpus/dicom
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
/usr/bin/python3 - "$tmp" <<'PY'
import struct, sys
d = sys.argv[1]
open(d + "/g16.raw", "wb").write(struct.pack("<16h", *[(i * 37) % 400 - 100 for i in range(16)]))
open(d + "/rgb.raw", "wb").write(bytes((i * 29) % 256 for i in range(27)))
open(d + "/mf.raw", "wb").write(struct.pack("<32I", *[i * 1000 for i in range(32)]))
PY
common='(0008,0018) UI [2.25.77]
(0020,000d) UI [2.25.78]
(0020,000e) UI [2.25.79]
(0020,0052) UI [2.25.80]'
cat > "$tmp/ct.dump" <<DUMP
(0008,0016) UI =CTImageStorage
(0008,0060) CS [CT]
$common
(0020,0032) DS [-10\\-10\\5]
(0020,0037) DS [1\\0\\0\\0\\1\\0]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME2]
(0028,0010) US 4
(0028,0011) US 4
(0028,0030) DS [0.5\\0.5]
(0028,0100) US 16
(0028,0101) US 12
(0028,0102) US 11
(0028,0103) US 1
(0028,1052) DS [-1024]
(0028,1053) DS [1]
(7fe0,0010) OW =g16.raw
DUMP
cat > "$tmp/cr.dump" <<DUMP
(0008,0016) UI =ComputedRadiographyImageStorage
(0008,0060) CS [CR]
$common
(0018,1164) DS [0.2\\0.2]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME1]
(0028,0010) US 4
(0028,0011) US 4
(0028,0100) US 16
(0028,0101) US 10
(0028,0102) US 9
(0028,0103) US 0
(7fe0,0010) OW =g16.raw
DUMP
cat > "$tmp/rgb.dump" <<DUMP
(0008,0016) UI =SecondaryCaptureImageStorage
(0008,0060) CS [OT]
$common
(0028,0002) US 3
(0028,0004) CS [RGB]
(0028,0006) US 0
(0028,0010) US 3
(0028,0011) US 3
(0028,0100) US 8
(0028,0101) US 8
(0028,0102) US 7
(0028,0103) US 0
(7fe0,0010) OB =rgb.raw
DUMP
cat > "$tmp/dose.dump" <<DUMP
(0008,0016) UI =RTDoseStorage
(0008,0060) CS [RTDOSE]
$common
(0020,0032) DS [0\\0\\0]
(0020,0037) DS [1\\0\\0\\0\\1\\0]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME2]
(0028,0008) IS [2]
(0028,0010) US 4
(0028,0011) US 4
(0028,0030) DS [2\\2]
(0028,0100) US 32
(0028,0101) US 32
(0028,0102) US 31
(0028,0103) US 0
(3004,000c) DS [0\\3]
(7fe0,0010) OW =mf.raw
DUMP
cat > "$tmp/rs.dump" <<'DUMP'
(0008,0016) UI =RTStructureSetStorage
(0008,0018) UI [2.25.90]
(0008,0060) CS [RTSTRUCT]
(0020,000d) UI [2.25.78]
(0020,000e) UI [2.25.91]
(3006,0002) SH [RS]
(3006,0010) SQ (Sequence with explicit length #=1)
  (fffe,e000) na (Item with explicit length #=1)
    (0020,0052) UI [2.25.80]
  (fffe,e00d) na (ItemDelimitationItem for re-encoding)
(fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
(3006,0020) SQ (Sequence with explicit length #=1)
  (fffe,e000) na (Item with explicit length #=3)
    (3006,0022) IS [1]
    (3006,0024) UI [2.25.80]
    (3006,0026) LO [GTV]
  (fffe,e00d) na (ItemDelimitationItem for re-encoding)
(fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
(3006,0039) SQ (Sequence with explicit length #=1)
  (fffe,e000) na (Item with explicit length #=2)
    (3006,0040) SQ (Sequence with explicit length #=2)
      (fffe,e000) na (Item with explicit length #=3)
        (3006,0042) CS [CLOSED_PLANAR]
        (3006,0046) IS [4]
        (3006,0050) DS [-9.5\-9.5\5\-8.6\-9.5\5\-8.6\-8.6\5\-9.5\-8.6\5]
      (fffe,e00d) na (ItemDelimitationItem for re-encoding)
      (fffe,e000) na (Item with explicit length #=3)
        (3006,0042) CS [POINT]
        (3006,0046) IS [1]
        (3006,0050) DS [-9\-9\5]
      (fffe,e00d) na (ItemDelimitationItem for re-encoding)
    (fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
    (3006,0084) IS [1]
  (fffe,e00d) na (ItemDelimitationItem for re-encoding)
(fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
DUMP
cd "$tmp"
dump2dcm -q +te rs.dump rs.dcm
dump2dcm -q +te ct.dump ct.dcm
dump2dcm -q +te cr.dump cr.dcm
dump2dcm -q +te rgb.dump rgb.dcm
dump2dcm -q +te dose.dump dose.dcm
cd - >/dev/null
cp "$tmp/ct.dcm" "$out/ct_explicit_le.dcm"
cp "$tmp/cr.dcm" "$out/cr_monochrome1.dcm"
cp "$tmp/rgb.dcm" "$out/rgb_3x3.dcm"
cp "$tmp/dose.dcm" "$out/dose_2frames.dcm"
cp "$tmp/rs.dcm" "$out/rtstruct_square.dcm"
dcmconv -q +ti "$tmp/ct.dcm" "$out/ct_implicit.dcm"
dcmconv -q +tb "$tmp/ct.dcm" "$out/ct_bigendian.dcm"
dcmconv -q +td "$tmp/ct.dcm" "$out/ct_deflated.dcm"
dcmconv -q -F +ti "$tmp/ct.dcm" "$out/ct_no_meta.dcm"
dcmcrle -q "$tmp/ct.dcm" "$out/ct_rle.dcm"
dcmcjpeg -q +e1 "$tmp/ct.dcm" "$out/ct_jpeg_lossless.dcm"
dcmcjpls -q "$tmp/ct.dcm" "$out/ct_jpegls.dcm"
dcmcjpeg -q +eb "$tmp/rgb.dcm" "$out/rgb_jpeg_baseline.dcm"
head -c 300 "$tmp/ct.dcm" > "$out/ct_truncated.dcm"
# A JPEG frame whose SOF3 marker is broken: DCMTK's decoder (and dcmdjpeg) loop on it forever.
/usr/bin/python3 -c "
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
b[b.find(b'\\xff\\xc3') + 1] = 1
open(sys.argv[2], 'wb').write(b)" "$out/ct_jpeg_lossless.dcm" "$out/regress_jpeg_bad_sof.dcm"
printf 'patient_id,dicom\nP1,a.dcm\n' > "$out/not_dicom.txt"
ls -l "$out"
