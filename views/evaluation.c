/* SPDX-License-Identifier: Apache-2.0 */
#include "evaluation.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "array.h"
#include "error.h"

typedef struct pattern_count {
    char *pattern;
    size_t n, n_pos;
} pattern_count;

struct mmdx_eval_view {
    mmdx_report *report;       /* NULL without labels */
    mmdx_bootstrap **boot;     /* per report group, NULL entries when not computable */
    pattern_count *patterns;
    size_t n_patterns;
    mmdx_view_chart *charts;
    size_t n_charts, cap_charts;
    unsigned replicates;
    uint64_t seed;
};

void mmdx_eval_view_free(mmdx_eval_view *v)
{
    if (!v)
        return;
    for (size_t g = 0; v->report && g < v->report->n_groups; g++)
        free(v->boot ? v->boot[g] : NULL);
    free(v->boot);
    mmdx_report_free(v->report);
    for (size_t i = 0; i < v->n_patterns; i++)
        free(v->patterns[i].pattern);
    free(v->patterns);
    for (size_t i = 0; i < v->n_charts; i++) {
        free(v->charts[i].name);
        free(v->charts[i].caption);
        mmdx_plot_free(v->charts[i].plot);
    }
    free(v->charts);
    free(v);
}

const mmdx_report *mmdx_eval_view_report(const mmdx_eval_view *v) { return v->report; }

const mmdx_bootstrap *mmdx_eval_view_bootstrap(const mmdx_eval_view *v, size_t g)
{
    return v->report && g < v->report->n_groups ? v->boot[g] : NULL;
}

size_t mmdx_eval_view_n_patterns(const mmdx_eval_view *v) { return v->n_patterns; }

void mmdx_eval_view_pattern(const mmdx_eval_view *v, size_t i, const char **pattern, size_t *n, size_t *n_pos)
{
    *pattern = v->patterns[i].pattern;
    *n = v->patterns[i].n;
    *n_pos = v->patterns[i].n_pos;
}

size_t mmdx_eval_view_n_charts(const mmdx_eval_view *v) { return v->n_charts; }

const mmdx_view_chart *mmdx_eval_view_chart(const mmdx_eval_view *v, size_t i) { return &v->charts[i]; }

void mmdx_eval_view_bootstrap_setting(const mmdx_eval_view *v, unsigned *replicates, uint64_t *seed)
{
    *replicates = v->replicates;
    *seed = v->seed;
}

/* Take ownership of `p` as chart `name`; frees it on failure. */
static int add_chart(mmdx_eval_view *v, mmdx_plot *p, const char *name, const char *caption)
{
    char *n = strdup(name), *c = strdup(caption);
    if (!n || !c || mmdx_array_reserve(&v->charts, &v->cap_charts, v->n_charts + 1, sizeof *v->charts, 8, 0) < 0) {
        free(n), free(c);
        mmdx_plot_free(p);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    v->charts[v->n_charts++] = (mmdx_view_chart){n, c, p};
    return 0;
}

/* The patients of one report group: indices into the cohort. */
typedef struct group_rows {
    size_t *idx;
    size_t n;
} group_rows;

static void gather(const double *prob, const int32_t *y, const group_rows *g, double *gp, int32_t *gy)
{
    for (size_t k = 0; k < g->n; k++)
        gp[k] = prob[g->idx[k]], gy[k] = y[g->idx[k]];
}

static int add_curve(mmdx_plot *p, mmdx_curve_kind kind, const char *label, const double *prob, const int32_t *y,
                     size_t n)
{
    mmdx_curve_point *c;
    size_t m;
    int rc = mmdx_metrics_curve(&c, &m, kind, prob, y, n);
    if (rc == MMDX_ENOMEM)
        return mmdx_fail(rc, "out of memory");
    if (rc < 0)
        return 0; /* a class is absent: no curve */
    double *x = malloc(m * sizeof *x), *yy = malloc(m * sizeof *yy);
    if (!x || !yy)
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < m; i++)
        x[i] = c[i].x, yy[i] = c[i].y;
    if (!rc)
        rc = mmdx_plot_line(p, label, x, yy, m, kind == MMDX_CURVE_PR ? MMDX_PLOT_STEP : MMDX_PLOT_LINEAR);
    free(x), free(yy), free(c);
    return rc;
}

static void interval_text(char *buf, size_t cap, const char *name, double v, double lo, double hi)
{
    if (isnan(lo))
        snprintf(buf, cap, "%s %.3f", name, v);
    else
        snprintf(buf, cap, "%s %.3f [%.3f, %.3f]", name, v, lo, hi);
}

/* ROC or PR curves: all patients with the band, then each evaluable group. */
static int curves_chart(mmdx_eval_view *v, mmdx_curve_kind kind, const double *prob, const int32_t *y,
                        const group_rows *rows, double *gp, int32_t *gy)
{
    const mmdx_report *r = v->report;
    int roc = kind == MMDX_CURVE_ROC;
    mmdx_plot *p;
    int rc = mmdx_plot_new(&p, roc ? "ROC curve" : "Precision-recall curve",
                           roc ? "False-positive rate (1 - specificity)" : "Recall (sensitivity)",
                           roc ? "True-positive rate (sensitivity)" : "Precision (positive predictive value)", 0, 1,
                           0, 1);
    if (rc < 0)
        return rc;
    char sub[160], label[200], iv[96];
    snprintf(sub, sizeof sub, "Shaded: pointwise 95%% bootstrap band of all patients (B = %u, seed %llu)",
             v->replicates, (unsigned long long)v->seed);
    rc = mmdx_plot_subtitle(p, sub);
    for (size_t g = 0; !rc && g < r->n_groups; g++) {
        const mmdx_metrics *m = &r->groups[g].m;
        const mmdx_bootstrap *b = v->boot[g];
        if (!b || (roc ? isnan(m->auroc) : isnan(m->auprc)))
            continue;
        interval_text(iv, sizeof iv, roc ? "AUROC" : "AUPRC", roc ? m->auroc : m->auprc, roc ? b->auroc_lo : b->auprc_lo,
                      roc ? b->auroc_hi : b->auprc_hi);
        snprintf(label, sizeof label, "%s (n=%zu): %s", g ? r->groups[g].pattern : "all patients", m->n, iv);
        gather(prob, y, &rows[g], gp, gy);
        rc = add_curve(p, kind, label, gp, gy, rows[g].n);
        if (!rc && g == 0)
            rc = mmdx_plot_band(p, b->grid, roc ? b->roc_lo : b->pr_lo, roc ? b->roc_hi : b->pr_hi,
                                MMDX_BOOTSTRAP_GRID);
    }
    if (!rc) {
        double prev = (double)r->groups[0].m.n_pos / (double)r->groups[0].m.n;
        snprintf(label, sizeof label, "chance (prevalence %.3f)", prev);
        rc = roc ? mmdx_plot_reference(p, "chance", 0, 0, 1, 1) : mmdx_plot_reference(p, label, 0, prev, 1, prev);
    }
    if (rc) {
        mmdx_plot_free(p);
        return rc;
    }
    return add_chart(v, p, roc ? "roc" : "pr",
                     roc ? "ROC curves with AUROC and its 95% bootstrap interval, overall and by modalities present."
                         : "Precision-recall curves with AUPRC (average precision) and its 95% bootstrap interval.");
}

static int calibration_chart(mmdx_eval_view *v, size_t g, const double *prob, const int32_t *y, size_t n)
{
    const mmdx_report_group *rg = &v->report->groups[g];
    mmdx_calibration_bin bins[MMDX_VIEW_CALIBRATION_BINS];
    int rc = mmdx_metrics_calibration(bins, MMDX_VIEW_CALIBRATION_BINS, prob, y, n);
    if (rc < 0)
        return mmdx_fail(rc, "calibration: a probability outside [0, 1]");
    double mx[MMDX_VIEW_CALIBRATION_BINS], my[MMDX_VIEW_CALIBRATION_BINS], lo[MMDX_VIEW_CALIBRATION_BINS],
        hi[MMDX_VIEW_CALIBRATION_BINS], cnt[MMDX_VIEW_CALIBRATION_BINS];
    for (size_t b = 0; b < MMDX_VIEW_CALIBRATION_BINS; b++)
        mx[b] = bins[b].mean_predicted, my[b] = bins[b].observed, lo[b] = bins[b].lo, hi[b] = bins[b].hi,
        cnt[b] = (double)bins[b].n;
    char title[256], sub[200], name[256];
    snprintf(title, sizeof title, "Calibration: %s (n=%zu)", g ? rg->pattern : "all patients", rg->m.n);
    mmdx_plot *p;
    if ((rc = mmdx_plot_new(&p, title, "Predicted risk", "Observed fraction with label 1", 0, 1, 0, 1)) < 0)
        return rc;
    snprintf(sub, sizeof sub, "%d equal-width bins; calibration slope %.2f, intercept %.2f; Brier %.3f",
             MMDX_VIEW_CALIBRATION_BINS, rg->m.cal_slope, rg->m.cal_intercept, rg->m.brier);
    rc = mmdx_plot_subtitle(p, sub);
    if (!rc)
        rc = mmdx_plot_reference(p, "perfect calibration", 0, 0, 1, 1);
    if (!rc)
        rc = mmdx_plot_markers(p, "observed vs mean predicted, per bin", mx, my, MMDX_VIEW_CALIBRATION_BINS);
    if (!rc)
        rc = mmdx_plot_histogram(p, "patients", lo, hi, cnt, MMDX_VIEW_CALIBRATION_BINS);
    if (rc) {
        mmdx_plot_free(p);
        return rc;
    }
    snprintf(name, sizeof name, g ? "calibration-%s" : "calibration", rg->pattern);
    return add_chart(v, p, name,
                     "Reliability diagram: observed fraction against mean predicted risk per bin; "
                     "below, the patients per bin.");
}

/* Mean contribution of each modality over the patients that have it (by label when known). */
static int contributions_chart(mmdx_eval_view *v, const mmdx_dataset *d, const double *contrib)
{
    size_t M = d->n_modalities, n = d->n_samples;
    int by_label = d->labels != NULL, rc = 0;
    double *sum = calloc(3 * M + 1, sizeof *sum);
    size_t *cnt = calloc(3 * M + 1, sizeof *cnt);
    if (!sum || !cnt) {
        free(sum), free(cnt);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    double lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t m = 0; m < M; m++) {
            if (!d->present[i * M + m] || !isfinite(contrib[i * M + m]))
                continue;
            size_t s = by_label ? (size_t)(d->labels[i] ? 1 : 2) : 0;
            sum[s * M + m] += contrib[i * M + m];
            cnt[s * M + m]++;
        }
    for (size_t k = 0; k < 3 * M; k++) {
        sum[k] = cnt[k] ? sum[k] / (double)cnt[k] : 0;
        lo = fmin(lo, sum[k]), hi = fmax(hi, sum[k]);
    }
    double pad = (hi - lo) * 0.15 + 1e-3;
    mmdx_plot *p;
    /* categorical x axis: the value range is the y axis */
    rc = mmdx_plot_new(&p, "Contribution of each modality", "Modality (patients who have it)",
                       "Mean contribution to the log-odds", 0, 1, lo - (lo < 0 ? pad : 0), hi + pad);
    if (!rc)
        rc = mmdx_plot_subtitle(p, by_label ? "Mean over the patients with the modality, by true label"
                                            : "Mean over the patients with the modality");
    if (!rc && by_label) {
        rc = mmdx_plot_bars(p, "label 1", d->modalities, sum + M, M);
        if (!rc)
            rc = mmdx_plot_bars(p, "label 0", d->modalities, sum + 2 * M, M);
    } else if (!rc) {
        rc = mmdx_plot_bars(p, "all patients", d->modalities, sum, M);
    }
    free(sum), free(cnt);
    if (rc) {
        mmdx_plot_free(p);
        return rc;
    }
    return add_chart(v, p, "contributions",
                     "Mean per-modality contribution to the model's log-odds (positive: towards a positive result).");
}

static int risk_chart(mmdx_eval_view *v, const double *prob, size_t n, double threshold)
{
    enum { BINS = 10 };
    double cnt[BINS] = {0}, top = 0;
    static const char *const names[BINS] = {"0-.1", ".1-.2", ".2-.3", ".3-.4", ".4-.5",
                                            ".5-.6", ".6-.7", ".7-.8", ".8-.9", ".9-1"};
    for (size_t i = 0; i < n; i++) {
        size_t b = (size_t)(prob[i] * BINS);
        cnt[b >= BINS ? BINS - 1 : b]++;
    }
    for (size_t b = 0; b < BINS; b++)
        top = fmax(top, cnt[b]);
    mmdx_plot *p;
    int rc = mmdx_plot_new(&p, "Distribution of the predicted risk", "Predicted risk", "Patients", 0, 1, 0,
                           top * 1.15 + 1);
    char sub[96];
    snprintf(sub, sizeof sub, "%zu patients; decision threshold %.3g", n, threshold);
    if (!rc)
        rc = mmdx_plot_subtitle(p, sub);
    if (!rc)
        rc = mmdx_plot_bars(p, "patients", names, cnt, BINS);
    if (rc) {
        mmdx_plot_free(p);
        return rc;
    }
    return add_chart(v, p, "risk", "Patients by predicted risk, in tenths.");
}

static int count_patterns(mmdx_eval_view *v, const mmdx_dataset *d, char **pat)
{
    size_t cap = 0;
    for (size_t i = 0; i < d->n_samples; i++) {
        size_t k;
        for (k = 0; k < v->n_patterns; k++)
            if (!strcmp(v->patterns[k].pattern, pat[i]))
                break;
        if (k == v->n_patterns) {
            if (mmdx_array_reserve(&v->patterns, &cap, k + 1, sizeof *v->patterns, 4, 0) < 0 ||
                !(v->patterns[k].pattern = strdup(pat[i])))
                return mmdx_fail(MMDX_ENOMEM, "out of memory");
            v->patterns[k].n = v->patterns[k].n_pos = 0;
            v->n_patterns++;
        }
        v->patterns[k].n++;
        v->patterns[k].n_pos += d->labels && d->labels[i] == 1;
    }
    return 0;
}

/* The labelled part: report, per-group bootstraps, curves and calibration diagrams. */
static int labelled(mmdx_eval_view *v, const mmdx_dataset *d, const double *prob, double threshold, char **pat)
{
    size_t n = d->n_samples;
    int rc = mmdx_report_new(&v->report, d, prob, threshold);
    if (rc < 0)
        return rc;
    size_t G = v->report->n_groups;
    group_rows *rows = calloc(G, sizeof *rows);
    double *gp = malloc(n * sizeof *gp);
    int32_t *gy = malloc(n * sizeof *gy);
    if (!rows || !gp || !gy || !(v->boot = calloc(G, sizeof *v->boot)))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t g = 0; !rc && g < G; g++) {
        if (!(rows[g].idx = malloc(n * sizeof *rows[g].idx))) {
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
            break;
        }
        for (size_t i = 0; i < n; i++)
            if (g == 0 || !strcmp(pat[i], v->report->groups[g].pattern))
                rows[g].idx[rows[g].n++] = i;
        const mmdx_metrics *m = &v->report->groups[g].m;
        if (m->n_pos == 0 || m->n_pos == m->n)
            continue;
        if (!(v->boot[g] = malloc(sizeof *v->boot[g]))) {
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
            break;
        }
        gather(prob, d->labels, &rows[g], gp, gy);
        if (mmdx_bootstrap_run(v->boot[g], gp, gy, rows[g].n, v->replicates, v->seed) < 0)
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    if (!rc)
        rc = curves_chart(v, MMDX_CURVE_ROC, prob, d->labels, rows, gp, gy);
    if (!rc)
        rc = curves_chart(v, MMDX_CURVE_PR, prob, d->labels, rows, gp, gy);
    for (size_t g = 0; !rc && g < G; g++) {
        if (!v->boot[g] || (g > 0 && G == 2))
            continue; /* one combination only: the same patients as "all" */
        gather(prob, d->labels, &rows[g], gp, gy);
        rc = calibration_chart(v, g, gp, gy, rows[g].n);
    }
    for (size_t g = 0; rows && g < G; g++)
        free(rows[g].idx);
    free(rows), free(gp), free(gy);
    return rc;
}

int mmdx_eval_view_new(mmdx_eval_view **out, const mmdx_dataset *d, const double *prob, const double *contrib,
                       double threshold, const mmdx_view_options *o)
{
    *out = NULL;
    size_t n = d->n_samples;
    if (n == 0)
        return mmdx_fail(MMDX_EINVAL, "views: no patients to show");
    for (size_t i = 0; i < n; i++) {
        if (!(prob[i] >= 0 && prob[i] <= 1))
            return mmdx_fail(MMDX_EINVAL, "views: patient %zu: probability %g is not in [0, 1]", i + 1, prob[i]);
        if (d->labels && d->labels[i] != 0 && d->labels[i] != 1)
            return mmdx_fail(MMDX_EINVAL, "views: patient %zu: label %d is not 0 or 1", i + 1, (int)d->labels[i]);
    }
    mmdx_eval_view *v = calloc(1, sizeof *v);
    char **pat = calloc(n, sizeof *pat);
    int rc = (v && pat) ? 0 : mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (!rc) {
        v->replicates = o && o->bootstrap ? o->bootstrap : MMDX_VIEW_DEFAULT_BOOTSTRAP;
        v->seed = o ? o->seed : 0;
    }
    for (size_t i = 0; !rc && i < n; i++)
        if (!(pat[i] = mmdx_report_pattern(d, i)))
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (!rc)
        rc = count_patterns(v, d, pat);
    if (!rc && d->labels)
        rc = labelled(v, d, prob, threshold, pat);
    if (!rc && contrib && d->n_modalities)
        rc = contributions_chart(v, d, contrib);
    if (!rc)
        rc = risk_chart(v, prob, n, threshold);
    for (size_t i = 0; pat && i < n; i++)
        free(pat[i]);
    free(pat);
    if (rc) {
        mmdx_eval_view_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

static int make_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : mmdx_fail(MMDX_EIO, "--plots %s: exists and is not a folder", dir);
    if (mkdir(dir, 0755) != 0)
        return mmdx_fail(MMDX_EIO, "--plots %s: cannot create the folder: %s", dir, strerror(errno));
    return 0;
}

int mmdx_eval_view_write_plots(const mmdx_eval_view *v, const char *dir)
{
    int rc = make_dir(dir);
    for (size_t i = 0; !rc && i < v->n_charts; i++) {
        char name[256];
        snprintf(name, sizeof name, "%s", v->charts[i].name);
        for (char *c = name; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                  strchr("._+-", *c)))
                *c = '_';
        static const char *const ext[2] = {"svg", "png"};
        for (int f = 0; !rc && f < 2; f++) {
            size_t len = strlen(dir) + strlen(name) + 8;
            char *path = malloc(len);
            if (!path)
                return mmdx_fail(MMDX_ENOMEM, "out of memory");
            snprintf(path, len, "%s/%s.%s", dir, name, ext[f]);
            rc = mmdx_plot_write(v->charts[i].plot, f ? MMDX_PLOT_PNG : MMDX_PLOT_SVG, path);
            free(path);
        }
    }
    return rc;
}
