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

/* Offsets of the neighbourhood of Chebyshev radius delta (in-slice when
 * planar), in the order c (z), b (y), a (x) ascending, centre left out. */
static ptrdiff_t *neighbour_offsets(size_t *count, const rad_padded *p, int delta, int planar)
{
    const int dz = planar ? 0 : delta;
    const size_t side = 2 * (size_t)delta + 1;
    ptrdiff_t *off = malloc(side * side * (planar ? 1 : side) * sizeof *off);
    size_t n = 0;
    if (off)
        for (int c = -dz; c <= dz; c++)
            for (int b = -delta; b <= delta; b++)
                for (int a = -delta; a <= delta; a++)
                    if (a || b || c)
                        off[n++] = rad_padded_offset(p, a, b, c);
    *count = n;
    return off;
}

/* Per-voxel neighbourhood pass over the voxels of slices k0..k1-1 (a
 * neighbourhood in-slice when planar, the only case with one slice). ngt_n/ngt_s:
 * ng each; ngl: ng x nj. Either may be NULL. Returns 0 or MMDX_ENOMEM. */
static int neighbour_pass(double *ngt_n, double *ngt_s, double *ngl, size_t nj, const rad_roi *roi, int delta,
                          int alpha, int planar, size_t k0, size_t k1)
{
    const rad_padded *p = roi->pad;
    size_t no;
    ptrdiff_t *off = neighbour_offsets(&no, p, delta, planar);
    if (!off)
        return MMDX_ENOMEM;
    const int32_t *gl = p->gl;
    for (size_t q = p->slice[k0]; q < p->slice[k1]; q++) {
        const size_t v = p->vox[q];
        const int32_t g = gl[v];
        double sum = 0;
        size_t w = 0, dep = 1;
        for (size_t o = 0; o < no; o++) {
            int32_t h = gl[(ptrdiff_t)v + off[o]];
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
    free(off);
    return 0;
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

static void average_finish(double *out, const double *sum, size_t n, size_t cnt)
{
    if (out)
        for (size_t q = 0; q < n; q++)
            out[q] = cnt ? sum[q] / (double)cnt : NAN;
}

/* One pass, or two when the distances differ, filling what is not NULL. */
static int passes(double *ngt_n, double *ngt_s, double *ngl, size_t nj, const rad_roi *roi, int ngt_distance,
                  int ngl_distance, int coarseness, int planar, size_t k0, size_t k1)
{
    if (ngt_n && ngl && ngt_distance == ngl_distance)
        return neighbour_pass(ngt_n, ngt_s, ngl, nj, roi, ngt_distance, coarseness, planar, k0, k1);
    int rc = 0;
    if (ngt_n)
        rc = neighbour_pass(ngt_n, ngt_s, NULL, 0, roi, ngt_distance, 0, planar, k0, k1);
    if (!rc && ngl)
        rc = neighbour_pass(NULL, NULL, ngl, nj, roi, ngl_distance, coarseness, planar, k0, k1);
    return rc;
}

int rad_neighbours(double *const ngt[RAD_DIM_N], double *const ngl[RAD_DIM_N], const rad_roi *roi, int ngt_distance,
                   int ngl_distance, int coarseness)
{
    for (int d = 0; d < RAD_DIM_N; d++) {
        if (ngt[d])
            rad_fill_nan(ngt[d], NGT_N);
        if (ngl[d])
            rad_fill_nan(ngl[d], NGL_N);
    }
    if (!roi->n_int || roi->ng < 1 || roi->ng > RAD_MAX_TEXTURE_LEVELS)
        return 0;
    const size_t ng = (size_t)roi->ng, nz = roi->nz;
    const size_t side = 2 * (size_t)ngl_distance + 1;
    int rc = 0;
    if (ngt[RAD_DIM_3D] || ngl[RAD_DIM_3D]) {
        const size_t nj = side * side * side;
        double *n = ngt[RAD_DIM_3D] ? calloc(2 * ng, sizeof *n) : NULL;
        double *m = ngl[RAD_DIM_3D] ? calloc(ng * nj, sizeof *m) : NULL;
        if ((ngt[RAD_DIM_3D] && !n) || (ngl[RAD_DIM_3D] && !m))
            rc = MMDX_ENOMEM;
        if (!rc)
            rc = passes(n, n ? n + ng : NULL, m, nj, roi, ngt_distance, ngl_distance, coarseness, 0, 0, nz);
        if (!rc && n)
            ngt_features(ngt[RAD_DIM_3D], n, n + ng, ng);
        if (!rc && m)
            ngl_features(ngl[RAD_DIM_3D], m, ng, nj, (double)roi->n_int);
        free(n);
        free(m);
        if (rc)
            return rc;
    }
    const int want_t = ngt[RAD_DIM_2D] || ngt[RAD_DIM_25D], want_l = ngl[RAD_DIM_2D] || ngl[RAD_DIM_25D];
    if (!want_t && !want_l)
        return 0;
    const size_t nj = side * side, mm = ng * nj;
    double *per_t = want_t ? calloc(nz * 2 * ng, sizeof *per_t) : NULL;
    double *per_l = want_l ? calloc(nz * mm, sizeof *per_l) : NULL;
    if ((want_t && !per_t) || (want_l && !per_l)) {
        free(per_t);
        free(per_l);
        return MMDX_ENOMEM;
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t k = 0; k < nz; k++) {
        int r = passes(per_t ? per_t + k * 2 * ng : NULL, per_t ? per_t + k * 2 * ng + ng : NULL,
                       per_l ? per_l + k * mm : NULL, nj, roi, ngt_distance, ngl_distance, coarseness, 1, k, k + 1);
        if (r) {
#pragma omp atomic write
            rc = r;
        }
    }
    if (!rc && per_t) {
        double sum[NGT_N] = {0}, f[NGT_N];
        size_t cnt = 0;
        for (size_t k = 0; k < nz; k++)
            if (ngt_features(f, per_t + k * 2 * ng, per_t + k * 2 * ng + ng, ng)) {
                for (int q = 0; q < NGT_N; q++)
                    sum[q] += f[q];
                cnt++;
            }
        average_finish(ngt[RAD_DIM_2D], sum, NGT_N, cnt);
        for (size_t k = 1; k < nz; k++)
            for (size_t q = 0; q < 2 * ng; q++)
                per_t[q] += per_t[k * 2 * ng + q];
        if (ngt[RAD_DIM_25D])
            ngt_features(ngt[RAD_DIM_25D], per_t, per_t + ng, ng);
    }
    if (!rc && per_l) {
        const rad_padded *p = roi->pad;
        double sum[NGL_N] = {0}, f[NGL_N], nvt = 0;
        size_t cnt = 0;
        for (size_t k = 0; k < nz; k++) {
            double nv = (double)(p->slice[k + 1] - p->slice[k]);
            nvt += nv;
            if (ngl_features(f, per_l + k * mm, ng, nj, nv)) {
                for (int q = 0; q < NGL_N; q++)
                    sum[q] += f[q];
                cnt++;
            }
        }
        average_finish(ngl[RAD_DIM_2D], sum, NGL_N, cnt);
        for (size_t k = 1; k < nz; k++)
            for (size_t q = 0; q < mm; q++)
                per_l[q] += per_l[k * mm + q];
        if (ngl[RAD_DIM_25D])
            ngl_features(ngl[RAD_DIM_25D], per_l, ng, nj, nvt);
    }
    free(per_t);
    free(per_l);
    return rc;
}
