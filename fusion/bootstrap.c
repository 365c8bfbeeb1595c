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

/*
 * One replicate, drawn as counts over the patients in decreasing score order
 * (p_sorted, y_sorted), so that it needs no sort: areas and both curves on
 * the grid (NaN where a curve does not exist).
 */
static int replicate(const double *p_sorted, const int32_t *y_sorted, size_t n, uint64_t seed, unsigned b,
                     const double *grid, size_t *count, double *p, int32_t *yy, double *auroc, double *auprc,
                     double *roc, double *pr)
{
    mmdx_rng r;
    mmdx_rng_seed_stream(&r, seed, b);
    memset(count, 0, n * sizeof *count);
    for (size_t i = 0; i < n; i++)
        count[mmdx_rng_below(&r, n)]++;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < count[i]; c++)
            p[m] = p_sorted[i], yy[m++] = y_sorted[i];
    mmdx_sorted_metrics sm;
    if (mmdx_metrics_sorted(&sm, p, yy, n) != 0)
        return MMDX_ENOMEM;
    *auroc = sm.auroc;
    *auprc = sm.auprc;
    for (size_t j = 0; j < MMDX_BOOTSTRAP_GRID; j++) {
        roc[j] = sm.roc ? mmdx_curve_at(sm.roc, sm.n_roc, MMDX_CURVE_ROC, grid[j]) : NAN;
        pr[j] = sm.pr ? mmdx_curve_at(sm.pr, sm.n_pr, MMDX_CURVE_PR, grid[j]) : NAN;
    }
    free(sm.roc), free(sm.pr);
    return 0;
}

typedef struct by_score {
    double p;
    int32_t y;
} by_score;

static int score_desc(const void *a, const void *b)
{
    double x = ((const by_score *)a)->p, y = ((const by_score *)b)->p;
    return (x < y) - (x > y);
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
    double *col = malloc((B > G ? B : G) * sizeof *col), *ps = malloc(n * sizeof *ps);
    int32_t *ys = malloc(n * sizeof *ys);
    by_score *v = malloc(n * sizeof *v);
    int rc = (auroc && auprc && roc && pr && col && ps && ys && v) ? 0 : MMDX_ENOMEM;
    if (rc == 0) {
        /* sorted once; each replicate keeps this order */
        for (size_t i = 0; i < n; i++)
            v[i] = (by_score){prob[i], y[i] ? 1 : 0};
        qsort(v, n, sizeof *v, score_desc);
        for (size_t i = 0; i < n; i++)
            ps[i] = v[i].p, ys[i] = v[i].y;
#pragma omp parallel
        {
            double *p = malloc(n * sizeof *p);
            int32_t *yy = malloc(n * sizeof *yy);
            size_t *count = malloc(n * sizeof *count);
            int mine = (p && yy && count) ? 0 : MMDX_ENOMEM;
#pragma omp for schedule(dynamic, 4)
            for (unsigned b = 0; b < B; b++)
                if (mine == 0)
                    mine = replicate(ps, ys, n, seed, b, out->grid, count, p, yy, &auroc[b], &auprc[b],
                                     roc + (size_t)b * G, pr + (size_t)b * G);
            if (mine)
#pragma omp atomic write
                rc = mine;
            free(p), free(yy), free(count);
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
    free(auroc), free(auprc), free(roc), free(pr), free(col), free(ps), free(ys), free(v);
    return rc;
}
