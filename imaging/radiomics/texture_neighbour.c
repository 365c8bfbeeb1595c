/*
 * imaging/radiomics/texture_neighbour.c — neighbourhood grey tone difference
 * (IBSI 3.11) and neighbouring grey level dependence (IBSI 3.12) matrices.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Neighbourhoods: Chebyshev distance delta, in-slice for "2d"/"25d"; only
 * neighbours inside the intensity mask count. "2d": per-slice features
 * averaged over slices; "25d": matrices merged over slices.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rad_internal.h"

#define NGT_N 5
static const char *const ngt_names[NGT_N] = {"coarseness", "contrast", "busyness", "complexity", "strength"};
const rad_family rad_fam_ngt = {"ngt", ngt_names, NGT_N};

#define NGL_N 17
static const char *const ngl_names[NGL_N] = {"lde",  "hde",       "lgce", "hgce",      "ldlge",   "ldhge",
                                             "hdlge", "hdhge",    "glnu", "glnu_norm", "dcnu",    "dcnu_norm",
                                             "dc_perc", "gl_var", "dc_var", "dc_entr", "dc_energy"};
const rad_family rad_fam_ngl = {"ngl", ngl_names, NGL_N};

/* Per-voxel neighbourhood pass over slices k0..k1-1. ngt_n/ngt_s: ng each;
 * ngl: ng x nj. Either may be NULL. */
static void neighbour_pass(double *ngt_n, double *ngt_s, double *ngl, size_t nj, const rad_roi *roi, int delta,
                           int alpha, int planar, size_t k0, size_t k1)
{
    const size_t nx = roi->nx, ny = roi->ny;
    const int dz = planar ? 0 : delta;
    for (size_t k = k0; k < k1; k++)
        for (size_t j = 0; j < ny; j++)
            for (size_t i = 0; i < nx; i++) {
                int32_t g = roi->gl[i + nx * (j + ny * k)];
                if (!g)
                    continue;
                double sum = 0;
                size_t w = 0, dep = 1;
                for (int c = -dz; c <= dz; c++)
                    for (int b = -delta; b <= delta; b++)
                        for (int a = -delta; a <= delta; a++) {
                            if (!a && !b && !c)
                                continue;
                            ptrdiff_t x = (ptrdiff_t)i + a, y = (ptrdiff_t)j + b, z = (ptrdiff_t)k + c;
                            if (x < 0 || y < 0 || z < (ptrdiff_t)k0 || (size_t)x >= nx || (size_t)y >= ny ||
                                (size_t)z >= k1)
                                continue;
                            int32_t h = roi->gl[(size_t)x + nx * ((size_t)y + ny * (size_t)z)];
                            if (!h)
                                continue;
                            sum += h;
                            w++;
                            if (abs(h - g) <= alpha)
                                dep++;
                        }
                if (ngt_n && w) {
                    ngt_n[g - 1] += 1;
                    ngt_s[g - 1] += fabs((double)g - sum / (double)w);
                }
                if (ngl)
                    ngl[(size_t)(g - 1) * nj + dep - 1] += 1;
            }
}

static int ngt_features(double *out, const double *n, const double *s, size_t ng)
{
    rad_fill_nan(out, NGT_N);
    double nvc = 0;
    for (size_t i = 0; i < ng; i++)
        nvc += n[i];
    if (!(nvc > 0))
        return 0;
    double ps = 0, ssum = 0;
    size_t ngp = 0;
    for (size_t i = 0; i < ng; i++) {
        double p = n[i] / nvc;
        ps += p * s[i];
        ssum += s[i];
        ngp += n[i] > 0;
    }
    double con = 0, bus_den = 0, cplx = 0, str = 0;
    for (size_t i = 0; i < ng; i++) {
        double pi = n[i] / nvc;
        if (pi == 0)
            continue;
        for (size_t j = 0; j < ng; j++) {
            double pj = n[j] / nvc;
            if (pj == 0)
                continue;
            double gi = (double)(i + 1), gj = (double)(j + 1);
            con += pi * pj * (gi - gj) * (gi - gj);
            bus_den += fabs(gi * pi - gj * pj);
            cplx += fabs(gi - gj) * (pi * s[i] + pj * s[j]) / (pi + pj);
            str += (pi + pj) * (gi - gj) * (gi - gj);
        }
    }
    out[0] = ps > 0 ? 1.0 / ps : 1e6;
    out[1] = ngp > 1 ? con / ((double)ngp * (double)(ngp - 1)) * ssum / nvc : 0;
    out[2] = bus_den > 0 ? ps / bus_den : 0;
    out[3] = cplx / nvc;
    out[4] = ssum > 0 ? str / ssum : 0;
    return 1;
}

static int ngl_features(double *out, const double *m, size_t ng, size_t nj, double nv)
{
    rad_sizelike_features(out, m, ng, nj, nv);
    return !isnan(out[0]);
}

int rad_ngt(double *const out[RAD_DIM_N], const rad_roi *roi, int distance)
{
    for (int d = 0; d < RAD_DIM_N; d++)
        if (out[d])
            rad_fill_nan(out[d], NGT_N);
    if (!roi->n_int || roi->ng < 1 || roi->ng > RAD_MAX_TEXTURE_LEVELS)
        return 0;
    const size_t ng = (size_t)roi->ng, nz = roi->nz;
    if (out[RAD_DIM_3D]) {
        double *n = calloc(2 * ng, sizeof *n);
        if (!n)
            return MMDX_ENOMEM;
        neighbour_pass(n, n + ng, NULL, 0, roi, distance, 0, 0, 0, nz);
        ngt_features(out[RAD_DIM_3D], n, n + ng, ng);
        free(n);
    }
    if (out[RAD_DIM_2D] || out[RAD_DIM_25D]) {
        double *per = calloc(nz * 2 * ng, sizeof *per);
        if (!per)
            return MMDX_ENOMEM;
#pragma omp parallel for schedule(dynamic, 1)
        for (size_t k = 0; k < nz; k++)
            neighbour_pass(per + k * 2 * ng, per + k * 2 * ng + ng, NULL, 0, roi, distance, 0, 1, k, k + 1);
        double sum[NGT_N] = {0}, f[NGT_N];
        size_t cnt = 0;
        for (size_t k = 0; k < nz; k++)
            if (ngt_features(f, per + k * 2 * ng, per + k * 2 * ng + ng, ng)) {
                for (int q = 0; q < NGT_N; q++)
                    sum[q] += f[q];
                cnt++;
            }
        if (out[RAD_DIM_2D])
            for (int q = 0; q < NGT_N; q++)
                out[RAD_DIM_2D][q] = cnt ? sum[q] / (double)cnt : NAN;
        for (size_t k = 1; k < nz; k++)
            for (size_t q = 0; q < 2 * ng; q++)
                per[q] += per[k * 2 * ng + q];
        if (out[RAD_DIM_25D])
            ngt_features(out[RAD_DIM_25D], per, per + ng, ng);
        free(per);
    }
    return 0;
}

int rad_ngl(double *const out[RAD_DIM_N], const rad_roi *roi, int distance, int coarseness)
{
    for (int d = 0; d < RAD_DIM_N; d++)
        if (out[d])
            rad_fill_nan(out[d], NGL_N);
    if (!roi->n_int || roi->ng < 1 || roi->ng > RAD_MAX_TEXTURE_LEVELS)
        return 0;
    const size_t ng = (size_t)roi->ng, nz = roi->nz;
    const size_t side = 2 * (size_t)distance + 1;
    if (out[RAD_DIM_3D]) {
        size_t nj = side * side * side;
        double *m = calloc(ng * nj, sizeof *m);
        if (!m)
            return MMDX_ENOMEM;
        neighbour_pass(NULL, NULL, m, nj, roi, distance, coarseness, 0, 0, nz);
        ngl_features(out[RAD_DIM_3D], m, ng, nj, (double)roi->n_int);
        free(m);
    }
    if (out[RAD_DIM_2D] || out[RAD_DIM_25D]) {
        size_t nj = side * side, mm = ng * nj;
        double *per = calloc(nz * mm, sizeof *per);
        double *nv = calloc(nz, sizeof *nv);
        if (!per || !nv) {
            free(per);
            free(nv);
            return MMDX_ENOMEM;
        }
        const size_t slice = roi->nx * roi->ny;
#pragma omp parallel for schedule(dynamic, 1)
        for (size_t k = 0; k < nz; k++) {
            neighbour_pass(NULL, NULL, per + k * mm, nj, roi, distance, coarseness, 1, k, k + 1);
            for (size_t v = k * slice; v < (k + 1) * slice; v++)
                nv[k] += roi->imask[v];
        }
        double sum[NGL_N] = {0}, f[NGL_N], nvt = 0;
        size_t cnt = 0;
        for (size_t k = 0; k < nz; k++) {
            nvt += nv[k];
            if (ngl_features(f, per + k * mm, ng, nj, nv[k])) {
                for (int q = 0; q < NGL_N; q++)
                    sum[q] += f[q];
                cnt++;
            }
        }
        if (out[RAD_DIM_2D])
            for (int q = 0; q < NGL_N; q++)
                out[RAD_DIM_2D][q] = cnt ? sum[q] / (double)cnt : NAN;
        for (size_t k = 1; k < nz; k++)
            for (size_t q = 0; q < mm; q++)
                per[q] += per[k * mm + q];
        if (out[RAD_DIM_25D])
            ngl_features(out[RAD_DIM_25D], per, ng, nj, nvt);
        free(per);
        free(nv);
    }
    return 0;
}
