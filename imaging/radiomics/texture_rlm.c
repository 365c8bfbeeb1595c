/*
 * imaging/radiomics/texture_rlm.c — grey level run length matrix (IBSI 3.7).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Runs along the 13 (3-D) or 4 (in-slice) directions, aggregated in the six
 * IBSI ways. For merged matrices the voxel count of the run percentage is
 * the sum over the merged matrices.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rad_internal.h"

#define RLM_N 16
static const char *const rlm_names[RLM_N] = {"sre",  "lre",       "lgre", "hgre",      "srlge",  "srhge",
                                             "lrlge", "lrhge",    "glnu", "glnu_norm", "rlnu",   "rlnu_norm",
                                             "r_perc", "gl_var",  "rl_var", "rl_entr"};
const rad_family rad_fam_rlm = {"rlm", rlm_names, RLM_N};

/* Count runs along direction d of the voxels of slices k0..k1-1 into m
 * (ng x nr; in-slice directions only when those are one slice); returns the
 * number of voxels visited. */
static double rl_count(double *m, size_t nr, const rad_roi *roi, const int d[3], size_t k0, size_t k1)
{
    const rad_padded *p = roi->pad;
    const ptrdiff_t off = rad_padded_offset(p, d[0], d[1], d[2]);
    const int32_t *gl = p->gl;
    for (size_t q = p->slice[k0]; q < p->slice[k1]; q++) {
        const size_t v = p->vox[q];
        const int32_t g = gl[v];
        /* start of a run: the previous voxel along d differs */
        if (gl[(ptrdiff_t)v - off] == g)
            continue;
        size_t len = 1;
        while (gl[(ptrdiff_t)v + (ptrdiff_t)len * off] == g)
            len++;
        m[(size_t)(g - 1) * nr + (len - 1)] += 1;
    }
    return (double)(p->slice[k1] - p->slice[k0]);
}

static int rl_features(double *out, const double *m, size_t ng, size_t nr, double nv)
{
    double f[RAD_SIZELIKE_N];
    rad_sizelike_features(f, m, ng, nr, nv);
    memcpy(out, f, RLM_N * sizeof *out);
    return !isnan(f[0]);
}

static void acc(double *sum, const double *f, size_t *cnt)
{
    for (size_t q = 0; q < RLM_N; q++)
        sum[q] += f[q];
    (*cnt)++;
}

static void finish(double *out, const double *sum, size_t cnt)
{
    if (!out)
        return;
    for (size_t q = 0; q < RLM_N; q++)
        out[q] = cnt ? sum[q] / (double)cnt : NAN;
}

int rad_rlm(double *const out[RAD_AGG_N], const rad_roi *roi)
{
    for (int a = 0; a < RAD_AGG_N; a++)
        if (out[a])
            rad_fill_nan(out[a], RLM_N);
    if (!roi->n_int || roi->ng < 1 || roi->ng > RAD_MAX_TEXTURE_LEVELS)
        return 0;
    const size_t ng = (size_t)roi->ng;
    size_t nr = roi->nx;
    if (roi->ny > nr)
        nr = roi->ny;
    if (roi->nz > nr)
        nr = roi->nz;
    const size_t mm = ng * nr;
    int rc = 0;
    if (out[RAD_AGG_3D_AVG] || out[RAD_AGG_3D_MRG]) {
        double *mats = calloc(13 * mm, sizeof *mats);
        double nv[13];
        if (!mats)
            return MMDX_ENOMEM;
#pragma omp parallel for schedule(dynamic, 1)
        for (int d = 0; d < 13; d++)
            nv[d] = rl_count(mats + (size_t)d * mm, nr, roi, rad_dirs[d], 0, roi->nz);
        double f[RLM_N], sum[RLM_N] = {0}, nvt = 0;
        size_t cnt = 0;
        for (int d = 0; d < 13; d++) {
            if (rl_features(f, mats + (size_t)d * mm, ng, nr, nv[d]))
                acc(sum, f, &cnt);
            nvt += nv[d];
        }
        finish(out[RAD_AGG_3D_AVG], sum, cnt);
        for (int d = 1; d < 13; d++)
            for (size_t q = 0; q < mm; q++)
                mats[q] += mats[(size_t)d * mm + q];
        if (out[RAD_AGG_3D_MRG])
            rl_features(out[RAD_AGG_3D_MRG], mats, ng, nr, nvt);
        free(mats);
    }
    if (out[RAD_AGG_2D_AVG] || out[RAD_AGG_2D_SMRG] || out[RAD_AGG_25D_DMRG] || out[RAD_AGG_25D_MRG]) {
        const size_t nz = roi->nz;
        double *dir_acc = calloc(4 * mm, sizeof *dir_acc);
        double dir_nv[4] = {0, 0, 0, 0};
        double *feat_avg = calloc(nz * 4 * RLM_N, sizeof *feat_avg);
        double *feat_smrg = calloc(nz * RLM_N, sizeof *feat_smrg);
        int *ok_avg = calloc(nz * 4, sizeof *ok_avg), *ok_smrg = calloc(nz, sizeof *ok_smrg);
        if (!dir_acc || !feat_avg || !feat_smrg || !ok_avg || !ok_smrg) {
            rc = MMDX_ENOMEM;
            goto done2d;
        }
#pragma omp parallel
        {
            double *mats = calloc(5 * mm, sizeof *mats);
            if (!mats) {
#pragma omp atomic write
                rc = MMDX_ENOMEM;
            }
#pragma omp for schedule(dynamic, 1)
            for (size_t k = 0; k < nz; k++) {
                if (!mats)
                    continue;
                memset(mats, 0, 5 * mm * sizeof *mats);
                double nv[4], nvs = 0;
                double *merged = mats + 4 * mm;
                for (int d = 0; d < 4; d++) {
                    nv[d] = rl_count(mats + (size_t)d * mm, nr, roi, rad_dirs[d], k, k + 1);
                    ok_avg[k * 4 + (size_t)d] =
                        rl_features(feat_avg + (k * 4 + (size_t)d) * RLM_N, mats + (size_t)d * mm, ng, nr, nv[d]);
                    for (size_t q = 0; q < mm; q++)
                        merged[q] += mats[(size_t)d * mm + q];
                    nvs += nv[d];
                }
                ok_smrg[k] = rl_features(feat_smrg + k * RLM_N, merged, ng, nr, nvs);
#pragma omp critical(rad_rlm_merge)
                {
                    for (size_t q = 0; q < 4 * mm; q++)
                        dir_acc[q] += mats[q];
                    for (int d = 0; d < 4; d++)
                        dir_nv[d] += nv[d];
                }
            }
            free(mats);
        }
        if (rc)
            goto done2d;
        double sum[RLM_N] = {0}, f[RLM_N];
        size_t cnt = 0;
        for (size_t q = 0; q < nz * 4; q++)
            if (ok_avg[q])
                acc(sum, feat_avg + q * RLM_N, &cnt);
        finish(out[RAD_AGG_2D_AVG], sum, cnt);
        memset(sum, 0, sizeof sum);
        cnt = 0;
        for (size_t k = 0; k < nz; k++)
            if (ok_smrg[k])
                acc(sum, feat_smrg + k * RLM_N, &cnt);
        finish(out[RAD_AGG_2D_SMRG], sum, cnt);
        memset(sum, 0, sizeof sum);
        cnt = 0;
        for (int d = 0; d < 4; d++)
            if (rl_features(f, dir_acc + (size_t)d * mm, ng, nr, dir_nv[d]))
                acc(sum, f, &cnt);
        finish(out[RAD_AGG_25D_DMRG], sum, cnt);
        for (int d = 1; d < 4; d++) {
            for (size_t q = 0; q < mm; q++)
                dir_acc[q] += dir_acc[(size_t)d * mm + q];
            dir_nv[0] += dir_nv[d];
        }
        if (out[RAD_AGG_25D_MRG])
            rl_features(out[RAD_AGG_25D_MRG], dir_acc, ng, nr, dir_nv[0]);
    done2d:
        free(dir_acc);
        free(feat_avg);
        free(feat_smrg);
        free(ok_avg);
        free(ok_smrg);
    }
    return rc;
}
