/*
 * bench/imaging/phantom.c — the imaging benchmark's synthetic volumes.
 * SPDX-License-Identifier: Apache-2.0
 */
#define _XOPEN_SOURCE 700 /* nftw, mkdtemp */
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dicom_series.h"
#include "error.h"
#include "phantom.h"
#include "roi.h"
#include "synth.h"

#define SYNTH_PATIENTS 4
#define SYNTH_SEED 15
#define MORAN_MAX_VOXELS 100000 /* the imaging plugin's default (imaging/encoder.c) */

/* xorshift64, sum of 4 uniforms: roughly normal, sd 1 */
static double noise(uint64_t *rng)
{
    double s = 0;
    for (int i = 0; i < 4; i++) {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        s += (double)(*rng >> 11) / 9007199254740992.0;
    }
    return (s - 2.0) * 1.732;
}

static int inside_ellipse(double x, double y, double cx, double cy, double rx, double ry)
{
    double dx = (x - cx) / rx, dy = (y - cy) / ry;
    return dx * dx + dy * dy <= 1.0;
}

void mmdx_phantom_ct_init(mmdx_phantom_ct *p, int nx, int ny, int nz)
{
    p->nx = nx;
    p->ny = ny;
    p->nz = nz;
    p->origin[0] = -(nx - 1) * MMDX_PHANTOM_CT_SX / 2;
    p->origin[1] = -(ny - 1) * MMDX_PHANTOM_CT_SY / 2;
    p->origin[2] = -(nz - 1) * MMDX_PHANTOM_CT_SZ / 2;
    p->rng = 88172645463325252ull;
}

void mmdx_phantom_ct_slice(mmdx_phantom_ct *p, int k, uint16_t *px, uint8_t *mask)
{
    const int nx = p->nx, ny = p->ny;
    const double tx = -60, ty = -10, tz = 0, tr = 20; /* tumour centre and radius, mm (LPS) */
    const double z = p->origin[2] + k * MMDX_PHANTOM_CT_SZ;
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++) {
            double x = p->origin[0] + i * MMDX_PHANTOM_CT_SX, y = p->origin[1] + j * MMDX_PHANTOM_CT_SY, hu = -1000;
            uint8_t in = 0;
            if (inside_ellipse(x, y, 0, 0, 0.45 * nx * MMDX_PHANTOM_CT_SX, 0.33 * ny * MMDX_PHANTOM_CT_SY)) {
                hu = 40;
                if (inside_ellipse(x, y, -70, -10, 55, 70) || inside_ellipse(x, y, 70, -10, 55, 70))
                    hu = -850;
                if (inside_ellipse(x, y, 0, 80, 18, 16))
                    hu = 700;
                double d = sqrt((x - tx) * (x - tx) + (y - ty) * (y - ty) + (z - tz) * (z - tz));
                if (d <= tr) {
                    hu = 50 + 20 * cos(d / 4.0);
                    in = 1;
                }
                hu += 15 * noise(&p->rng);
            }
            long stored = lround(hu + 1024);
            px[(size_t)j * (size_t)nx + (size_t)i] = (uint16_t)(stored < 0 ? 0 : stored > 4095 ? 4095 : stored);
            mask[(size_t)j * (size_t)nx + (size_t)i] = in;
        }
}

static void grid_init(mmdx_grid *g, size_t nx, size_t ny, size_t nz, double sx, double sy, double sz)
{
    memset(g, 0, sizeof *g);
    g->nx = nx;
    g->ny = ny;
    g->nz = nz;
    g->spacing[0] = sx;
    g->spacing[1] = sy;
    g->spacing[2] = sz;
    g->direction[0] = g->direction[4] = g->direction[8] = 1;
}

static int new_pair(mmdx_volume **image, mmdx_mask **mask, const mmdx_grid *g)
{
    *image = NULL;
    *mask = NULL;
    if (mmdx_volume_new(image, g) < 0 || mmdx_mask_new(mask, g) < 0) {
        mmdx_volume_free(*image);
        *image = NULL;
        return mmdx_fail(MMDX_ENOMEM, "phantom: out of memory for %zux%zux%zu voxels", g->nx, g->ny, g->nz);
    }
    return 0;
}

int mmdx_phantom_ct_volume(mmdx_volume **image, mmdx_mask **mask, int nx, int ny, int nz)
{
    mmdx_phantom_ct p;
    mmdx_phantom_ct_init(&p, nx, ny, nz);
    mmdx_grid g;
    grid_init(&g, (size_t)nx, (size_t)ny, (size_t)nz, MMDX_PHANTOM_CT_SX, MMDX_PHANTOM_CT_SY, MMDX_PHANTOM_CT_SZ);
    memcpy(g.origin, p.origin, sizeof g.origin);
    int rc = new_pair(image, mask, &g);
    if (rc < 0)
        return rc;
    const size_t plane = (size_t)nx * (size_t)ny;
    uint16_t *px = malloc(plane * sizeof *px);
    if (!px) {
        mmdx_volume_free(*image);
        mmdx_mask_free(*mask);
        *image = NULL;
        *mask = NULL;
        return mmdx_fail(MMDX_ENOMEM, "phantom: out of memory");
    }
    for (int k = 0; k < nz; k++) {
        mmdx_phantom_ct_slice(&p, k, px, (*mask)->data + (size_t)k * plane);
        float *dst = (*image)->data + (size_t)k * plane;
        for (size_t q = 0; q < plane; q++)
            dst[q] = (float)((double)px[q] - 1024.0);
    }
    free(px);
    return 0;
}

int mmdx_phantom_cylinder_volume(mmdx_volume **image, mmdx_mask **mask, size_t *roi_voxels, double frac)
{
    const size_t nx = 512, ny = 512, nz = 100;
    mmdx_grid g;
    grid_init(&g, nx, ny, nz, 0.7, 0.7, 3);
    int rc = new_pair(image, mask, &g);
    if (rc < 0)
        return rc;
    unsigned x = 1;
    size_t roi = 0;
    for (size_t k = 0; k < nz; k++)
        for (size_t j = 0; j < ny; j++)
            for (size_t i = 0; i < nx; i++) {
                size_t q = i + nx * (j + ny * k);
                x = x * 1103515245u + 12345u;
                double dx = ((double)i - 256.0) / 256, dy = ((double)j - 256.0) / 200, dz = ((double)k - 50.0) / 50;
                int in = dx * dx + dy * dy < frac && fabs(dz) < 0.9;
                (*image)->data[q] = in ? (float)(40 + (int)((x >> 16) % 200) - 100) : -1000.0f;
                (*mask)->data[q] = (uint8_t)in;
                roi += (size_t)in;
            }
    *roi_voxels = roi;
    return 0;
}

void mmdx_phantom_settings(mmdx_radiomics_settings *s)
{
    mmdx_radiomics_settings_init(s);
    s->moran_max_voxels = MORAN_MAX_VOXELS;
}

void mmdx_phantom_cases_free(mmdx_phantom_case *c, size_t n)
{
    for (size_t q = 0; q < n; q++) {
        mmdx_volume_free(c[q].image);
        mmdx_mask_free(c[q].mask);
        c[q].image = NULL;
        c[q].mask = NULL;
    }
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int load_synth(mmdx_phantom_case *c, size_t *n)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096], out[4200], series[4300];
    snprintf(dir, sizeof dir, "%s/mmdx-phantom-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return mmdx_fail(MMDX_EIO, "%s: cannot create a temporary folder", dir);
    snprintf(out, sizeof out, "%s/cohort", dir);
    mmdx_synth_options o;
    mmdx_synth_options_init(&o);
    o.n_patients = SYNTH_PATIENTS;
    o.out = out;
    o.seed = SYNTH_SEED;
    o.missing = 0;
    o.image_size = 64;
    o.slices = 16;
    o.n_threads = 1;
    mmdx_synth_summary s;
    int rc = mmdx_synth_run(&o, &s);
    for (size_t p = 0; rc == 0 && p < SYNTH_PATIENTS; p++) {
        snprintf(c[p].name, sizeof c[p].name, "synth64_SYN%06zu", p + 1);
        snprintf(series, sizeof series, "%s/dicom/SYN%06zu", out, p + 1);
        rc = mmdx_dicom_read_volume(&c[p].image, NULL, series, NULL);
        if (rc == 0)
            rc = mmdx_roi_auto(&c[p].mask, c[p].image);
        *n = p + 1;
    }
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    if (rc < 0) {
        mmdx_phantom_cases_free(c, *n);
        *n = 0;
    }
    return rc;
}

int mmdx_phantom_load(mmdx_phantom_case *c, size_t *n, const char *phantom)
{
    *n = 0;
    memset(c, 0, MMDX_PHANTOM_MAX_CASES * sizeof *c);
    if (!strcmp(phantom, "synth64"))
        return load_synth(c, n);
    int rc;
    size_t roi;
    if (!strcmp(phantom, "ct512"))
        rc = mmdx_phantom_ct_volume(&c[0].image, &c[0].mask, 512, 512, 100);
    else if (!strcmp(phantom, "cylinder"))
        rc = mmdx_phantom_cylinder_volume(&c[0].image, &c[0].mask, &roi, 0.1);
    else
        return mmdx_fail(MMDX_EINVAL, "unknown phantom '%s' (synth64, ct512, cylinder)", phantom);
    if (rc == 0) {
        snprintf(c[0].name, sizeof c[0].name, "%s", phantom);
        *n = 1;
    }
    return rc;
}
