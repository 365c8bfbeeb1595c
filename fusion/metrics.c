/* SPDX-License-Identifier: Apache-2.0 */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "logreg.h"

typedef struct scored {
    double s;
    int32_t y;
} scored;

static int by_score_desc(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x < y) - (x > y);
}

/* Sort by decreasing score; both AUROC and AUPRC walk the tie groups. */
static scored *sorted(const double *score, const int32_t *y, size_t n)
{
    scored *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        v[i].s = score[i], v[i].y = y[i] ? 1 : 0;
    qsort(v, n, sizeof *v, by_score_desc);
    return v;
}

/*
 * The ROC walk every curve and area here comes from: one step per group of
 * tied scores (highest first), with the counts after the group.
 */
typedef struct tie_step {
    double score;
    size_t tp, fp; /* cumulative, this group included */
    size_t gp, gn; /* positives and negatives in the group */
} tie_step;

static size_t tie_groups(const scored *v, size_t n, tie_step *out)
{
    size_t k = 0, tp = 0, fp = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, gp = 0, gn = 0;
        while (j < n && v[j].s == v[i].s) {
            gp += (size_t)v[j].y;
            gn += (size_t)(1 - v[j].y);
            j++;
        }
        tp += gp;
        fp += gn;
        out[k++] = (tie_step){v[i].s, tp, fp, gp, gn};
        i = j;
    }
    return k;
}

static void auc_ap(const tie_step *st, size_t k, double *auroc, double *ap)
{
    size_t P = k ? st[k - 1].tp : 0, N = k ? st[k - 1].fp : 0;
    double auc = 0, prec_sum = 0;
    for (size_t g = 0; g < k; g++) {
        /* negatives in this group rank below the positives seen before, half for ties */
        auc += (double)st[g].gn * ((double)(st[g].tp - st[g].gp) + 0.5 * (double)st[g].gp);
        if (st[g].gp)
            prec_sum += (double)st[g].gp * ((double)st[g].tp / (double)(st[g].tp + st[g].fp));
    }
    *auroc = (P && N) ? auc / ((double)P * (double)N) : NAN;
    *ap = P ? prec_sum / (double)P : NAN;
}

/* The tie groups of the scores (sorted here unless already in decreasing order), malloc'd; NULL: out of memory. */
static tie_step *walk(const double *score, const int32_t *y, size_t n, int presorted, size_t *k)
{
    scored *v = presorted ? malloc((n ? n : 1) * sizeof *v) : sorted(score, y, n);
    tie_step *st = malloc((n ? n : 1) * sizeof *st);
    if (!v || !st) {
        free(v), free(st);
        return NULL;
    }
    for (size_t i = 0; presorted && i < n; i++)
        v[i].s = score[i], v[i].y = y[i] ? 1 : 0;
    *k = tie_groups(v, n, st);
    free(v);
    return st;
}

int mmdx_metrics_areas(double *auroc, double *auprc, const double *score, const int32_t *y, size_t n)
{
    size_t k;
    tie_step *st = walk(score, y, n, 0, &k);
    if (!st)
        return MMDX_ENOMEM;
    auc_ap(st, k, auroc, auprc);
    free(st);
    return 0;
}

int mmdx_auroc(double *out, const double *score, const int32_t *y, size_t n)
{
    double ap;
    return mmdx_metrics_areas(out, &ap, score, y, n);
}

/* One curve from the walk; MMDX_EINVAL when a class it needs is absent. */
static int curve_of(const tie_step *st, size_t k, mmdx_curve_kind kind, mmdx_curve_point **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    size_t P = k ? st[k - 1].tp : 0, N = k ? st[k - 1].fp : 0;
    if (!P || (kind == MMDX_CURVE_ROC && !N))
        return MMDX_EINVAL;
    mmdx_curve_point *c = malloc((k + 1) * sizeof *c);
    if (!c)
        return MMDX_ENOMEM;
    size_t m = 0;
    if (kind == MMDX_CURVE_ROC)
        c[m++] = (mmdx_curve_point){0, 0, INFINITY};
    for (size_t g = 0; g < k; g++) {
        if (kind == MMDX_CURVE_ROC)
            c[m++] = (mmdx_curve_point){(double)st[g].fp / (double)N, (double)st[g].tp / (double)P, st[g].score};
        else if (st[g].gp) /* recall moves only where positives are: AP's steps */
            c[m++] = (mmdx_curve_point){(double)st[g].tp / (double)P,
                                        (double)st[g].tp / (double)(st[g].tp + st[g].fp), st[g].score};
    }
    *out = c;
    *n_out = m;
    return 0;
}

int mmdx_metrics_curve(mmdx_curve_point **out, size_t *n_out, mmdx_curve_kind kind, const double *score,
                       const int32_t *y, size_t n)
{
    size_t k;
    tie_step *st = walk(score, y, n, 0, &k);
    if (!st) {
        *out = NULL;
        *n_out = 0;
        return MMDX_ENOMEM;
    }
    int rc = curve_of(st, k, kind, out, n_out);
    free(st);
    return rc;
}

int mmdx_metrics_sorted(mmdx_sorted_metrics *out, const double *score, const int32_t *y, size_t n)
{
    memset(out, 0, sizeof *out);
    size_t k;
    tie_step *st = walk(score, y, n, 1, &k);
    if (!st)
        return MMDX_ENOMEM;
    auc_ap(st, k, &out->auroc, &out->auprc);
    int rc = curve_of(st, k, MMDX_CURVE_ROC, &out->roc, &out->n_roc);
    if (rc != MMDX_ENOMEM) {
        int rc2 = curve_of(st, k, MMDX_CURVE_PR, &out->pr, &out->n_pr);
        rc = rc2 == MMDX_ENOMEM ? rc2 : 0;
    }
    free(st);
    if (rc) {
        free(out->roc), free(out->pr);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

int mmdx_metrics_calibration(mmdx_calibration_bin *bins, size_t n_bins, const double *prob, const int32_t *y,
                             size_t n)
{
    if (n_bins == 0)
        return MMDX_EINVAL;
    memset(bins, 0, n_bins * sizeof *bins);
    for (size_t i = 0; i < n; i++) {
        double p = prob[i];
        if (!(p >= 0 && p <= 1))
            return MMDX_EINVAL;
        size_t b = (size_t)(p * (double)n_bins);
        if (b >= n_bins)
            b = n_bins - 1;
        bins[b].n++;
        bins[b].mean_predicted += p;
        bins[b].observed += y[i] ? 1 : 0;
    }
    for (size_t b = 0; b < n_bins; b++) {
        bins[b].lo = (double)b / (double)n_bins;
        bins[b].hi = (double)(b + 1) / (double)n_bins;
        if (bins[b].n) {
            bins[b].mean_predicted /= (double)bins[b].n;
            bins[b].observed /= (double)bins[b].n;
        } else {
            bins[b].mean_predicted = bins[b].observed = NAN;
        }
    }
    return 0;
}

static double clip_logit(double p)
{
    if (p < 1e-15)
        p = 1e-15;
    if (p > 1 - 1e-15)
        p = 1 - 1e-15;
    return log(p / (1 - p));
}

/* Calibration-in-the-large: a with sum(sigmoid(a + L_i) - y_i) = 0, by Newton. */
static double cal_in_the_large(const double *L, const int32_t *y, size_t n)
{
    double a = 0;
    for (int it = 0; it < 100; it++) {
        double g = 0, h = 0;
        for (size_t i = 0; i < n; i++) {
            double s = mmdx_sigmoid(a + L[i]);
            g += s - (y[i] ? 1 : 0);
            h += s * (1 - s);
        }
        if (!(h > 0))
            return NAN;
        double step = g / h;
        if (step > 5)
            step = 5;
        if (step < -5)
            step = -5;
        a -= step;
        if (fabs(step) < 1e-12)
            break;
    }
    return a;
}

int mmdx_metrics_compute(mmdx_metrics *m, const double *prob, const int32_t *y, size_t n,
                         double threshold)
{
    memset(m, 0, sizeof *m);
    if (n == 0)
        return MMDX_EINVAL;
    double *L = malloc(n * sizeof *L);
    if (!L || mmdx_metrics_areas(&m->auroc, &m->auprc, prob, y, n) != 0) {
        free(L);
        return MMDX_ENOMEM;
    }
    m->n = n;
    m->threshold = threshold;
    double brier = 0, ll = 0;
    for (size_t i = 0; i < n; i++) {
        int yi = y[i] ? 1 : 0;
        m->n_pos += (size_t)yi;
        brier += (prob[i] - yi) * (prob[i] - yi);
        L[i] = clip_logit(prob[i]);
        ll += mmdx_log1pexp_neg(yi ? L[i] : -L[i]);
        int pred = prob[i] >= threshold;
        if (pred && yi)
            m->tp++;
        else if (pred)
            m->fp++;
        else if (yi)
            m->fn++;
        else
            m->tn++;
    }
    m->brier = brier / (double)n;
    m->log_loss = ll / (double)n;
    m->sensitivity = (m->tp + m->fn) ? (double)m->tp / (double)(m->tp + m->fn) : NAN;
    m->specificity = (m->tn + m->fp) ? (double)m->tn / (double)(m->tn + m->fp) : NAN;
    m->ppv = (m->tp + m->fp) ? (double)m->tp / (double)(m->tp + m->fp) : NAN;
    m->npv = (m->tn + m->fn) ? (double)m->tn / (double)(m->tn + m->fn) : NAN;
    m->cal_slope = m->cal_intercept = NAN;
    if (m->n_pos > 0 && m->n_pos < n) {
        m->cal_intercept = cal_in_the_large(L, y, n);
        double b, a;
        mmdx_logreg_options o;
        mmdx_logreg_options_init(&o);
        o.C = INFINITY;
        o.solver = MMDX_LOGREG_NEWTON;
        o.max_iter = 200;
        mmdx_logreg_info info;
        if (mmdx_logreg_fit(&b, &a, L, n, 1, y, NULL, &o, &info, NULL) == 0 && info.grad_max < 1e-6 &&
            isfinite(b))
            m->cal_slope = b;
    }
    free(L);
    return 0;
}
