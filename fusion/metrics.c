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

static void auc_ap(const scored *v, size_t n, double *auroc, double *ap)
{
    size_t P = 0;
    for (size_t i = 0; i < n; i++)
        P += (size_t)v[i].y;
    size_t N = n - P;
    double auc = 0, prec_sum = 0;
    size_t tp = 0, fp = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, gp = 0, gn = 0;
        while (j < n && v[j].s == v[i].s) {
            gp += (size_t)v[j].y;
            gn += (size_t)(1 - v[j].y);
            j++;
        }
        /* negatives in this group rank below the positives seen before, half for ties */
        auc += (double)gn * ((double)tp + 0.5 * (double)gp);
        tp += gp;
        fp += gn;
        if (gp)
            prec_sum += (double)gp * ((double)tp / (double)(tp + fp));
        i = j;
    }
    *auroc = (P && N) ? auc / ((double)P * (double)N) : NAN;
    *ap = P ? prec_sum / (double)P : NAN;
}

int mmdx_auroc(double *out, const double *score, const int32_t *y, size_t n)
{
    scored *v = sorted(score, y, n);
    if (!v)
        return MMDX_ENOMEM;
    double ap;
    auc_ap(v, n, out, &ap);
    free(v);
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
    scored *v = sorted(prob, y, n);
    double *L = malloc(n * sizeof *L);
    if (!v || !L) {
        free(v), free(L);
        return MMDX_ENOMEM;
    }
    m->n = n;
    m->threshold = threshold;
    auc_ap(v, n, &m->auroc, &m->auprc);
    free(v);
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
