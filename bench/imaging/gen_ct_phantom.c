/*
 * bench/imaging/gen_ct_phantom.c — a synthetic chest CT for the imaging
 * benchmark: per-slice DCMTK dump files with raw 16-bit pixels (turned into
 * DICOM by DCMTK's dump2dcm in run.sh) and a NIfTI-1 mask of the tumour.
 * SPDX-License-Identifier: Apache-2.0
 *
 *   gen_ct_phantom OUTDIR [NX NY NZ]      (default 512 512 100)
 *
 * Writes OUTDIR/slice_NNNN.dump + slice_NNNN.raw and OUTDIR/tumour.nii.
 * Anatomy (HU): air -1000 outside an elliptic body of soft tissue (40),
 * two lungs (-850), a vertebra (700) and a 20 mm-radius tumour (30..70) in
 * the right lung, with deterministic noise (sd about 15 HU).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phantom.h"

#define SX MMDX_PHANTOM_CT_SX /* mm */
#define SY MMDX_PHANTOM_CT_SY
#define SZ MMDX_PHANTOM_CT_SZ

static void put_u32(unsigned char *h, int off, uint32_t v) { memcpy(h + off, &v, 4); }
static void put_i16(unsigned char *h, int off, int16_t v) { memcpy(h + off, &v, 2); }
static void put_f32(unsigned char *h, int off, float v) { memcpy(h + off, &v, 4); }

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 5) {
        fprintf(stderr, "usage: gen_ct_phantom OUTDIR [NX NY NZ]\n");
        return 2;
    }
    const char *dir = argv[1];
    int nx = argc == 5 ? atoi(argv[2]) : 512, ny = argc == 5 ? atoi(argv[3]) : 512, nz = argc == 5 ? atoi(argv[4]) : 100;
    if (nx < 16 || ny < 16 || nz < 2) {
        fprintf(stderr, "gen_ct_phantom: sizes too small\n");
        return 2;
    }
    mmdx_phantom_ct ph;
    mmdx_phantom_ct_init(&ph, nx, ny, nz);
    const double ox = ph.origin[0], oy = ph.origin[1], oz = ph.origin[2];
    uint16_t *px = malloc((size_t)nx * ny * sizeof *px);
    uint8_t *mask = calloc((size_t)nx * ny * nz, 1);
    if (!px || !mask)
        return 1;
    char path[4096];
    for (int k = 0; k < nz; k++) {
        double z = oz + k * SZ;
        mmdx_phantom_ct_slice(&ph, k, px, mask + (size_t)nx * ny * k);
        snprintf(path, sizeof path, "%s/slice_%04d.raw", dir, k);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(px, sizeof *px, (size_t)nx * ny, f) != (size_t)nx * ny || fclose(f) != 0) {
            perror(path);
            return 1;
        }
        snprintf(path, sizeof path, "%s/slice_%04d.dump", dir, k);
        f = fopen(path, "w");
        if (!f) {
            perror(path);
            return 1;
        }
        fprintf(f,
                "(0008,0016) UI =CTImageStorage\n"
                "(0008,0018) UI [2.25.1000%d]\n"
                "(0008,0060) CS [CT]\n"
                "(0010,0010) PN [BENCH^PHANTOM]\n"
                "(0010,0020) LO [BENCH1]\n"
                "(0018,0050) DS [%g]\n"
                "(0020,000d) UI [2.25.1001]\n"
                "(0020,000e) UI [2.25.1002]\n"
                "(0020,0013) IS [%d]\n"
                "(0020,0032) DS [%.4f\\%.4f\\%.4f]\n"
                "(0020,0037) DS [1\\0\\0\\0\\1\\0]\n"
                "(0020,0052) UI [2.25.1003]\n"
                "(0028,0002) US 1\n"
                "(0028,0004) CS [MONOCHROME2]\n"
                "(0028,0010) US %d\n"
                "(0028,0011) US %d\n"
                "(0028,0030) DS [%g\\%g]\n"
                "(0028,0100) US 16\n"
                "(0028,0101) US 12\n"
                "(0028,0102) US 11\n"
                "(0028,0103) US 0\n"
                "(0028,1052) DS [-1024]\n"
                "(0028,1053) DS [1]\n"
                "(7fe0,0010) OW =slice_%04d.raw\n",
                k, SZ, k + 1, ox, oy, z, ny, nx, SY, SX, k);
        if (fclose(f) != 0)
            return 1;
    }
    /* NIfTI-1 mask: RAS world, so x and y of LPS are negated in the sform. */
    unsigned char h[352];
    memset(h, 0, sizeof h);
    put_u32(h, 0, 348);
    put_i16(h, 40, 3);
    put_i16(h, 42, (int16_t)nx);
    put_i16(h, 44, (int16_t)ny);
    put_i16(h, 46, (int16_t)nz);
    put_i16(h, 48, 1);
    put_i16(h, 50, 1);
    put_i16(h, 52, 1);
    put_i16(h, 70, 2); /* DT_UINT8 */
    put_i16(h, 72, 8);
    put_f32(h, 76, 1);
    put_f32(h, 80, (float)SX);
    put_f32(h, 84, (float)SY);
    put_f32(h, 88, (float)SZ);
    put_f32(h, 108, 352);
    h[123] = 2; /* xyzt_units: mm */
    put_i16(h, 254, 1); /* sform_code: scanner */
    float srow[3][4] = {{(float)-SX, 0, 0, (float)-ox}, {0, (float)-SY, 0, (float)-oy}, {0, 0, (float)SZ, (float)oz}};
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            put_f32(h, 280 + 16 * r + 4 * c, srow[r][c]);
    memcpy(h + 344, "n+1", 4);
    snprintf(path, sizeof path, "%s/tumour.nii", dir);
    FILE *f = fopen(path, "wb");
    size_t n = (size_t)nx * ny * nz;
    if (!f || fwrite(h, 1, sizeof h, f) != sizeof h || fwrite(mask, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    free(px);
    free(mask);
    return 0;
}
