/*
 * imaging/radiomics/texture_cm.c — grey level co-occurrence matrix (IBSI 3.6).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Symmetric matrices at Chebyshev distance delta along the 13 (3-D) or 4
 * (in-slice) directions, aggregated in the six IBSI ways. Slices or
 * directions with an empty matrix are left out of averages.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rad_internal.h"

#define CM_N 25
static const char *const cm_names[CM_N] = {
    "joint_max",     "joint_avg",    "joint_var",        "joint_entr",    "diff_avg",      "diff_var",
    "diff_entr",     "sum_avg",      "sum_var",          "sum_entr",      "energy",        "contrast",
    "dissimilarity", "inv_diff",     "inv_diff_norm",    "inv_diff_mom",  "inv_diff_mom_norm",
    "inv_var",       "corr",         "auto_corr",        "clust_tend",    "clust_shade",   "clust_prom",
    "info_corr1",    "info_corr2"};
const rad_family rad_fam_cm = {"cm", cm_names, CM_N};

/* Features of one count matrix (ng x ng); returns 0 when empty (out NaN). */
static int cm_features(double *out, const double *m, size_t ng)
{
    rad_fill_nan(out, CM_N);
    double total = 0;
    for (size_t q = 0; q < ng * ng; q++)
        total += m[q];
    if (!(total > 0))
        return 0;
    double *pi = calloc(ng, sizeof *pi), *pd = calloc(ng, sizeof *pd), *ps = calloc(2 * ng + 1, sizeof *ps);
    if (!pi || !pd || !ps) {
        free(pi);
        free(pd);
        free(ps);
        return 0;
    }
    double jmax = 0, javg = 0, jentr = 0, energy = 0, contrast = 0, dissim = 0, idiff = 0, idiffn = 0, idm = 0,
           idmn = 0, autoc = 0;
    const double dng = (double)ng;
    for (size_t i = 0; i < ng; i++)
        for (size_t j = 0; j < ng; j++) {
            double p = m[i * ng + j] / total;
            if (p == 0)
                continue;
            double gi = (double)(i + 1), gj = (double)(j + 1);
            double d = fabs(gi - gj);
            if (p > jmax)
                jmax = p;
            javg += gi * p;
            jentr -= p * log2(p);
            energy += p * p;
            contrast += d * d * p;
            dissim += d * p;
            idiff += p / (1 + d);
            idiffn += p / (1 + d / dng);
            idm += p / (1 + d * d);
            idmn += p / (1 + d * d / (dng * dng));
            autoc += gi * gj * p;
            pi[i] += p;
            pd[(size_t)d] += p;
            ps[i + j + 2] += p;
        }
    double jvar = 0, ct = 0, cs = 0, cp = 0, corr_num = 0;
    double mu = 0;
    for (size_t i = 0; i < ng; i++)
        mu += (double)(i + 1) * pi[i];
    double sigma2 = 0;
    for (size_t i = 0; i < ng; i++)
        sigma2 += ((double)(i + 1) - mu) * ((double)(i + 1) - mu) * pi[i];
    for (size_t i = 0; i < ng; i++)
        for (size_t j = 0; j < ng; j++) {
            double p = m[i * ng + j] / total;
            if (p == 0)
                continue;
            double gi = (double)(i + 1), gj = (double)(j + 1);
            jvar += (gi - javg) * (gi - javg) * p;
            double t = gi + gj - 2 * mu;
            ct += t * t * p;
            cs += t * t * t * p;
            cp += t * t * t * t * p;
            corr_num += (gi - mu) * (gj - mu) * p;
        }
    double davg = 0, dvar = 0, dentr = 0, ivar = 0;
    for (size_t k = 0; k < ng; k++) {
        davg += (double)k * pd[k];
        if (pd[k] > 0)
            dentr -= pd[k] * log2(pd[k]);
        if (k > 0)
            ivar += pd[k] / ((double)k * (double)k);
    }
    for (size_t k = 0; k < ng; k++)
        dvar += ((double)k - davg) * ((double)k - davg) * pd[k];
    double savg = 0, svar = 0, sentr = 0;
    for (size_t k = 2; k <= 2 * ng; k++) {
        savg += (double)k * ps[k];
        if (ps[k] > 0)
            sentr -= ps[k] * log2(ps[k]);
    }
    for (size_t k = 2; k <= 2 * ng; k++)
        svar += ((double)k - savg) * ((double)k - savg) * ps[k];
    /* information correlation: marginals are equal (symmetric matrix) */
    double hx = 0, hxy1 = 0, hxy2 = 0;
    for (size_t i = 0; i < ng; i++)
        if (pi[i] > 0)
            hx -= pi[i] * log2(pi[i]);
    for (size_t i = 0; i < ng; i++)
        for (size_t j = 0; j < ng; j++) {
            if (pi[i] == 0 || pi[j] == 0)
                continue;
            double pp = pi[i] * pi[j];
            double p = m[i * ng + j] / total;
            hxy1 -= p * log2(pp);
            hxy2 -= pp * log2(pp);
        }
    out[0] = jmax;
    out[1] = javg;
    out[2] = jvar;
    out[3] = jentr;
    out[4] = davg;
    out[5] = dvar;
    out[6] = dentr;
    out[7] = savg;
    out[8] = svar;
    out[9] = sentr;
    out[10] = energy;
    out[11] = contrast;
    out[12] = dissim;
    out[13] = idiff;
    out[14] = idiffn;
    out[15] = idm;
    out[16] = idmn;
    out[17] = ivar;
    out[18] = sigma2 > 0 ? corr_num / sigma2 : NAN;
    out[19] = autoc;
    out[20] = ct;
    out[21] = cs;
    out[22] = cp;
    out[23] = hx > 0 ? (jentr - hxy1) / hx : NAN;
    out[24] = hxy2 > jentr ? sqrt(1 - exp(-2 * (hxy2 - jentr))) : 0;
    free(pi);
    free(pd);
    free(ps);
    return 1;
}

/* Add the co-occurrences along direction d (times distance) of the voxels of
 * slices k0..k1-1 (in-slice directions only when those are one slice). */
static void cm_count(double *m, const rad_roi *roi, const int d[3], int distance, size_t k0, size_t k1)
{
    const rad_padded *p = roi->pad;
    const size_t ng = (size_t)roi->ng;
    const ptrdiff_t off = rad_padded_offset(p, d[0] * distance, d[1] * distance, d[2] * distance);
    const int32_t *gl = p->gl;
    for (size_t q = p->slice[k0]; q < p->slice[k1]; q++) {
        const size_t v = p->vox[q];
        const int32_t a = gl[v], b = gl[(ptrdiff_t)v + off];
        if (!b)
            continue;
        m[(size_t)(a - 1) * ng + (size_t)(b - 1)] += 1;
        m[(size_t)(b - 1) * ng + (size_t)(a - 1)] += 1;
    }
}

static void mean_accumulate(double *sum, const double *f, size_t n, size_t *count)
{
    for (size_t q = 0; q < n; q++)
        sum[q] += f[q];
    (*count)++;
}

static void mean_finish(double *out, const double *sum, size_t n, size_t count)
{
    for (size_t q = 0; q < n; q++)
        out[q] = count ? sum[q] / (double)count : NAN;
}

int rad_cm(double *const out[RAD_AGG_N], const rad_roi *roi, int distance)
{
    for (int a = 0; a < RAD_AGG_N; a++)
        if (out[a])
            rad_fill_nan(out[a], CM_N);
    if (!roi->n_int || roi->ng < 1 || roi->ng > RAD_MAX_TEXTURE_LEVELS)
        return 0;
    const size_t ng = (size_t)roi->ng, mm = ng * ng;
    int rc = 0;
    if (out[RAD_AGG_3D_AVG] || out[RAD_AGG_3D_MRG]) {
        double *mats = calloc(13 * mm, sizeof *mats);
        if (!mats)
            return MMDX_ENOMEM;
#pragma omp parallel for schedule(dynamic, 1)
        for (int d = 0; d < 13; d++)
            cm_count(mats + (size_t)d * mm, roi, rad_dirs[d], distance, 0, roi->nz);
        double f[CM_N], sum[CM_N] = {0};
        size_t cnt = 0;
        for (int d = 0; d < 13; d++)
            if (cm_features(f, mats + (size_t)d * mm, ng))
                mean_accumulate(sum, f, CM_N, &cnt);
        if (out[RAD_AGG_3D_AVG])
            mean_finish(out[RAD_AGG_3D_AVG], sum, CM_N, cnt);
        for (int d = 1; d < 13; d++)
            for (size_t q = 0; q < mm; q++)
                mats[q] += mats[(size_t)d * mm + q];
        if (out[RAD_AGG_3D_MRG])
            cm_features(out[RAD_AGG_3D_MRG], mats, ng);
        free(mats);
    }
    if (out[RAD_AGG_2D_AVG] || out[RAD_AGG_2D_SMRG] || out[RAD_AGG_25D_DMRG] || out[RAD_AGG_25D_MRG]) {
        const size_t nz = roi->nz;
        double *dir_acc = calloc(4 * mm, sizeof *dir_acc);
        double *feat_avg = calloc(nz * 4 * CM_N, sizeof *feat_avg);
        double *feat_smrg = calloc(nz * CM_N, sizeof *feat_smrg);
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
                for (int d = 0; d < 4; d++)
                    cm_count(mats + (size_t)d * mm, roi, rad_dirs[d], distance, k, k + 1);
                double *merged = mats + 4 * mm;
                for (int d = 0; d < 4; d++) {
                    ok_avg[k * 4 + (size_t)d] = cm_features(feat_avg + (k * 4 + (size_t)d) * CM_N, mats + (size_t)d * mm, ng);
                    for (size_t q = 0; q < mm; q++)
                        merged[q] += mats[(size_t)d * mm + q];
                }
                ok_smrg[k] = cm_features(feat_smrg + k * CM_N, merged, ng);
#pragma omp critical(rad_cm_merge)
                for (size_t q = 0; q < 4 * mm; q++)
                    dir_acc[q] += mats[q];
            }
            free(mats);
        }
        if (rc)
            goto done2d;
        double sum[CM_N] = {0}, f[CM_N];
        size_t cnt = 0;
        for (size_t q = 0; q < nz * 4; q++)
            if (ok_avg[q])
                mean_accumulate(sum, feat_avg + q * CM_N, CM_N, &cnt);
        if (out[RAD_AGG_2D_AVG])
            mean_finish(out[RAD_AGG_2D_AVG], sum, CM_N, cnt);
        memset(sum, 0, sizeof sum);
        cnt = 0;
        for (size_t k = 0; k < nz; k++)
            if (ok_smrg[k])
                mean_accumulate(sum, feat_smrg + k * CM_N, CM_N, &cnt);
        if (out[RAD_AGG_2D_SMRG])
            mean_finish(out[RAD_AGG_2D_SMRG], sum, CM_N, cnt);
        memset(sum, 0, sizeof sum);
        cnt = 0;
        for (int d = 0; d < 4; d++)
            if (cm_features(f, dir_acc + (size_t)d * mm, ng))
                mean_accumulate(sum, f, CM_N, &cnt);
        if (out[RAD_AGG_25D_DMRG])
            mean_finish(out[RAD_AGG_25D_DMRG], sum, CM_N, cnt);
        for (int d = 1; d < 4; d++)
            for (size_t q = 0; q < mm; q++)
                dir_acc[q] += dir_acc[(size_t)d * mm + q];
        if (out[RAD_AGG_25D_MRG])
            cm_features(out[RAD_AGG_25D_MRG], dir_acc, ng);
    done2d:
        free(dir_acc);
        free(feat_avg);
        free(feat_smrg);
        free(ok_avg);
        free(ok_smrg);
    }
    return rc;
}
