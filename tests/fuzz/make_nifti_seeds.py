#!/usr/bin/env python3
"""Write the seed corpus of fuzz_nifti_radiomics: small NIfTI-1 files made
here (no outside data), some with a settings line in front.
SPDX-License-Identifier: Apache-2.0
Usage: make_nifti_seeds.py OUTDIR"""
import math
import os
import struct
import sys

DT = {'uint8': (2, 'B'), 'int16': (4, 'h'), 'float32': (16, 'f'), 'float64': (64, 'd')}


def nifti(dims, dtype, values, pixdim=(1.0, 1.0, 1.0), sform=None, slope=0.0, inter=0.0):
    code, fmt = DT[dtype]
    h = bytearray(348)
    struct.pack_into('<i', h, 0, 348)
    nd = len(dims)
    struct.pack_into('<8h', h, 40, nd, *(list(dims) + [1] * (7 - nd)))
    struct.pack_into('<h', h, 70, code)
    struct.pack_into('<h', h, 72, struct.calcsize(fmt) * 8)
    struct.pack_into('<8f', h, 76, 1.0, *(list(pixdim) + [1.0] * (7 - len(pixdim))))
    struct.pack_into('<f', h, 108, 352.0)
    struct.pack_into('<2f', h, 112, slope, inter)
    if sform:
        struct.pack_into('<h', h, 254, 1)  # sform_code
        struct.pack_into('<12f', h, 280, *[v for row in sform for v in row])
    else:
        struct.pack_into('<h', h, 252, 1)  # qform_code, identity quaternion
    h[344:348] = b'n+1\0'
    return bytes(h) + b'\0' * 4 + struct.pack('<%d%s' % (len(values), fmt), *values)


def main(out):
    os.makedirs(out, exist_ok=True)
    seeds = {}
    # a 6x5x4 block of grey levels 1..6 around a hole, zeros outside
    vals = []
    for k in range(4):
        for j in range(5):
            for i in range(6):
                inside = 0 < i < 5 and 0 < j < 4
                vals.append((i * 7 + j * 3 + k * 5) % 6 + 1 if inside and (i, j, k) != (2, 2, 2) else 0)
    seeds['levels_int16.nii'] = nifti((6, 5, 4), 'int16', vals, (2.0, 2.0, 2.0))
    seeds['levels_settings.nii'] = b'#discretisation=none;aggregation=all;ivh_discretisation=none\n' + \
        seeds['levels_int16.nii']
    # float CT-like values with missing values and a rotated, anisotropic sform
    fv = [(-1000.0 + 37.5 * ((i * 13 + j * 7 + k * 3) % 40)) if (i + j + k) % 5 else 0.2 for k in range(3)
          for j in range(6) for i in range(7)]
    fv[10] = float('nan')
    fv[40] = float('inf')
    c, s = math.cos(0.3), math.sin(0.3)
    sform = [(-0.8 * c, -0.8 * s, 0.0, 12.5), (0.8 * s, -0.8 * c, 0.0, -7.0), (0.0, 0.0, 2.5, 40.0)]
    seeds['float_sform.nii'] = nifti((7, 6, 3), 'float32', fv, (0.8, 0.8, 2.5), sform)
    seeds['float_linear.nii'] = b'#interpolation=linear;spacing=1.5;round_intensities=true;' \
        b'resegment_range=-900,400;discretisation=fbs:25;ivh_discretisation=fbs:2.5\n' + seeds['float_sform.nii']
    seeds['float_cubic2d.nii'] = b'#interpolation=cubic;interpolation_2d=true;spacing=0.5,0.5,1;' \
        b'resegment_outliers=true;discretisation=fbn:8;ivh_discretisation=fbn:100;cm_distance=2\n' + \
        seeds['float_sform.nii']
    # scaled uint8 with a single voxel ROI
    seeds['uint8_scaled.nii'] = nifti((3, 3, 3), 'uint8', [0] * 13 + [9] + [0] * 13, slope=0.5, inter=-1.0)
    # broken: truncated data, two volumes, garbage
    seeds['truncated.nii'] = seeds['levels_int16.nii'][:-17]
    seeds['four_d.nii'] = nifti((2, 2, 2, 2), 'float64', [1.0] * 16)
    seeds['garbage.nii'] = b'not a nifti file at all\n' * 20
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main(sys.argv[1])
