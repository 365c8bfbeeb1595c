/* SPDX-License-Identifier: Apache-2.0 */
#include "bootstrap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

double mmdx_curve_at(const mmdx_curve_point *c, size_t n, mmdx_curve_kind kind, double x)
{
    if (n == 0)
        return NAN;
    if (kind == MMDX_CURVE_PR) {
        /* right-continuous step: the precision of the first vertex reaching recall x */
        for (size_t i = 0; i < n; i++)
            if (c[i].x >= x)
                return c[i].y;
        return c[n - 1].y;
    }
    /* the last vertex at or left of x (the top of a vertical rise), then linear to the next */
    size_t i = 0;
    while (i + 1 < n && c[i + 1].x <= x)
        i++;
    if (i + 1 >= n || c[i + 1].x == c[i].x)
        return c[i].y;
    double t = (x - c[i].x) / (c[i + 1].x - c[i].x);
    return c[i].y + t * (c[i + 1].y - c[i].y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sort v[0..m) (NaN excluded beforehand) and read the 2.5th and 97.5th percentiles. */
static void interval(double *v, size_t m, double *lo, double *hi)
{
    if (m == 0) {
        *lo = *hi = NAN;
        return;
    }
    qsort(v, m, sizeof *v, cmp_double);
    double q[2] = {0.025, 0.975}, *o[2] = {lo, hi};
    for (int k = 0; k < 2; k++) {
        double h = q[k] * (double)(m - 1);
        size_t a = (size_t)floor(h);
        size_t b = a + 1 < m ? a + 1 : a;
        *o[k] = v[a] + (h - (double)a) * (v[b] - v[a]);
    }
}

/* Keep the finite values of column j of a B x G matrix. */
static size_t column(const double *mat, unsigned B, size_t G, size_t j, double *out)
{
    size_t m = 0;
    for (unsigned b = 0; b < B; b++)
        if (!isnan(mat[(size_t)b * G + j]))
            out[m++] = mat[(size_t)b * G + j];
    return m;
}

/* One replicate: areas and both curves on the grid (NaN where a curve does not exist). */
static int replicate(const double *prob, const int32_t *y, size_t n, uint64_t seed, unsigned b, const double *grid,
                     double *p, int32_t *yy, double *auroc, double *auprc, double *roc, double *pr)
{
    mmdx_rng r;
    mmdx_rng_seed_stream(&r, seed, b);
    for (size_t i = 0; i < n; i++) {
        size_t k = mmdx_rng_below(&r, n);
        p[i] = prob[k];
        yy[i] = y[k];
    }
    if (mmdx_metrics_areas(auroc, auprc, p, yy, n) != 0)
        return MMDX_ENOMEM;
    mmdx_curve_kind kinds[2] = {MMDX_CURVE_ROC, MMDX_CURVE_PR};
    double *rows[2] = {roc, pr};
    for (int c = 0; c < 2; c++) {
        mmdx_curve_point *pts = NULL;
        size_t np = 0;
        int rc = mmdx_metrics_curve(&pts, &np, kinds[c], p, yy, n);
        if (rc == MMDX_ENOMEM)
            return rc;
        for (size_t j = 0; j < MMDX_BOOTSTRAP_GRID; j++)
            rows[c][j] = rc == 0 ? mmdx_curve_at(pts, np, kinds[c], grid[j]) : NAN;
        free(pts);
    }
    return 0;
}

int mmdx_bootstrap_run(mmdx_bootstrap *out, const double *prob, const int32_t *y, size_t n, unsigned B,
                       uint64_t seed)
{
    memset(out, 0, sizeof *out);
    if (n == 0 || B == 0)
        return MMDX_EINVAL;
    out->replicates = B;
    out->seed = seed;
    const size_t G = MMDX_BOOTSTRAP_GRID;
    for (size_t j = 0; j < G; j++)
        out->grid[j] = (double)j / (double)(G - 1);
    double *auroc = malloc(B * sizeof *auroc), *auprc = malloc(B * sizeof *auprc);
    double *roc = malloc((size_t)B * G * sizeof *roc), *pr = malloc((size_t)B * G * sizeof *pr);
    double *col = malloc((B > G ? B : G) * sizeof *col);
    int rc = (auroc && auprc && roc && pr && col) ? 0 : MMDX_ENOMEM;
    if (rc == 0) {
#pragma omp parallel
        {
            double *p = malloc(n * sizeof *p);
            int32_t *yy = malloc(n * sizeof *yy);
            int mine = (p && yy) ? 0 : MMDX_ENOMEM;
#pragma omp for schedule(dynamic, 4)
            for (unsigned b = 0; b < B; b++)
                if (mine == 0)
                    mine = replicate(prob, y, n, seed, b, out->grid, p, yy, &auroc[b], &auprc[b], roc + (size_t)b * G,
                                     pr + (size_t)b * G);
            if (mine)
#pragma omp atomic write
                rc = mine;
            free(p), free(yy);
        }
    }
    if (rc == 0) {
        size_t m = column(auroc, B, 1, 0, col);
        out->used_roc = (unsigned)m;
        interval(col, m, &out->auroc_lo, &out->auroc_hi);
        m = column(auprc, B, 1, 0, col);
        out->used_pr = (unsigned)m;
        interval(col, m, &out->auprc_lo, &out->auprc_hi);
        for (size_t j = 0; j < G; j++) {
            interval(col, column(roc, B, G, j, col), &out->roc_lo[j], &out->roc_hi[j]);
            interval(col, column(pr, B, G, j, col), &out->pr_lo[j], &out->pr_hi[j]);
        }
    }
    free(auroc), free(auprc), free(roc), free(pr), free(col);
    return rc;
}
