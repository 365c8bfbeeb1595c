/* SPDX-License-Identifier: Apache-2.0 */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"

void mmdx_report_free(mmdx_report *r)
{
    if (!r)
        return;
    for (size_t g = 0; g < r->n_groups; g++)
        free(r->groups[g].pattern);
    free(r->groups);
    free(r);
}

char *mmdx_report_pattern(const mmdx_dataset *d, size_t i)
{
    size_t len = 1;
    for (size_t m = 0; m < d->n_modalities; m++)
        len += strlen(d->modalities[m]) + 1;
    char *s = malloc(len + 8);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (size_t m = 0; m < d->n_modalities; m++) {
        if (!d->present[i * d->n_modalities + m])
            continue;
        if (s[0])
            strcat(s, "+");
        strcat(s, d->modalities[m]);
    }
    if (!s[0])
        strcpy(s, "none");
    return s;
}

int mmdx_report_new(mmdx_report **out, const mmdx_dataset *d, const double *prob, double threshold)
{
    *out = NULL;
    size_t n = d->n_samples;
    mmdx_report *r = calloc(1, sizeof *r);
    char **pat = calloc(n ? n : 1, sizeof *pat);
    size_t *grp = calloc(n ? n : 1, sizeof *grp);
    double *gp = malloc((n ? n : 1) * sizeof *gp);
    int32_t *gy = malloc((n ? n : 1) * sizeof *gy);
    int rc = (!r || !pat || !grp || !gp || !gy) ? mmdx_fail(MMDX_ENOMEM, "out of memory") : 0;
    size_t cap_groups = 0;
    if (!rc && mmdx_array_reserve(&r->groups, &cap_groups, 1, sizeof *r->groups, 4, 1) < 0)
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (!rc) {
        r->n_groups = 1;
        r->groups[0].pattern = strdup("all");
        if (!r->groups[0].pattern || mmdx_metrics_compute(&r->groups[0].m, prob, d->labels, n, threshold) != 0)
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    /* groups in order of first appearance */
    for (size_t i = 0; i < n && !rc; i++) {
        if (!(pat[i] = mmdx_report_pattern(d, i))) {
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
            break;
        }
        size_t g;
        for (g = 1; g < r->n_groups; g++)
            if (strcmp(r->groups[g].pattern, pat[i]) == 0)
                break;
        if (g == r->n_groups) {
            if (mmdx_array_reserve(&r->groups, &cap_groups, r->n_groups + 1, sizeof *r->groups, 4, 0) < 0) {
                rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
                break;
            }
            memset(&r->groups[g], 0, sizeof r->groups[g]);
            r->groups[g].pattern = strdup(pat[i]);
            r->n_groups++;
            if (!r->groups[g].pattern)
                rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        }
        grp[i] = g;
    }
    for (size_t g = 1; g < r->n_groups && !rc; g++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (grp[i] == g)
                gp[k] = prob[i], gy[k++] = d->labels[i];
        if (mmdx_metrics_compute(&r->groups[g].m, gp, gy, k, threshold) != 0)
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    for (size_t i = 0; pat && i < n; i++)
        free(pat[i]);
    free(pat), free(grp), free(gp), free(gy);
    if (rc) {
        mmdx_report_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

static void num(FILE *f, double v)
{
    if (isnan(v))
        fprintf(f, " %8s", "-");
    else
        fprintf(f, " %8.4f", v);
}

void mmdx_report_print(const mmdx_report *r, FILE *f)
{
    const mmdx_metrics *a = &r->groups[0].m;
    fprintf(f, "patients %zu (label 1: %zu), threshold %.4g\n", a->n, a->n_pos, a->threshold);
    fprintf(f, "%-28s %6s %6s %8s %8s %8s %8s %8s %6s %6s %6s %6s\n", "modalities", "n", "pos", "AUROC",
            "AUPRC", "Brier", "cal.slp", "cal.int", "TP", "FP", "TN", "FN");
    for (size_t g = 0; g < r->n_groups; g++) {
        const mmdx_metrics *m = &r->groups[g].m;
        fprintf(f, "%-28s %6zu %6zu", r->groups[g].pattern, m->n, m->n_pos);
        num(f, m->auroc);
        num(f, m->auprc);
        num(f, m->brier);
        num(f, m->cal_slope);
        num(f, m->cal_intercept);
        fprintf(f, " %6zu %6zu %6zu %6zu\n", m->tp, m->fp, m->tn, m->fn);
    }
    fprintf(f, "sensitivity %.4f  specificity %.4f  PPV %.4f  NPV %.4f (all patients, at the threshold)\n",
            a->sensitivity, a->specificity, a->ppv, a->npv);
}

static json_object *jnum(double v) { return isfinite(v) ? json_object_new_double(v) : NULL; }

json_object *mmdx_metrics_json(const mmdx_metrics *m)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "n", json_object_new_int64((int64_t)m->n));
    json_object_object_add(o, "positives", json_object_new_int64((int64_t)m->n_pos));
    json_object_object_add(o, "auroc", jnum(m->auroc));
    json_object_object_add(o, "auprc", jnum(m->auprc));
    json_object_object_add(o, "brier", jnum(m->brier));
    json_object_object_add(o, "log_loss", jnum(m->log_loss));
    json_object_object_add(o, "calibration_slope", jnum(m->cal_slope));
    json_object_object_add(o, "calibration_intercept", jnum(m->cal_intercept));
    json_object_object_add(o, "threshold", jnum(m->threshold));
    json_object *cm = json_object_new_object();
    json_object_object_add(cm, "tp", json_object_new_int64((int64_t)m->tp));
    json_object_object_add(cm, "fp", json_object_new_int64((int64_t)m->fp));
    json_object_object_add(cm, "tn", json_object_new_int64((int64_t)m->tn));
    json_object_object_add(cm, "fn", json_object_new_int64((int64_t)m->fn));
    json_object_object_add(o, "confusion", cm);
    json_object_object_add(o, "sensitivity", jnum(m->sensitivity));
    json_object_object_add(o, "specificity", jnum(m->specificity));
    json_object_object_add(o, "ppv", jnum(m->ppv));
    json_object_object_add(o, "npv", jnum(m->npv));
    return o;
}

json_object *mmdx_report_json(const mmdx_report *r)
{
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    json_object_object_add(o, "overall", mmdx_metrics_json(&r->groups[0].m));
    for (size_t g = 1; g < r->n_groups; g++) {
        json_object *e = mmdx_metrics_json(&r->groups[g].m);
        json_object_object_add(e, "modalities", json_object_new_string(r->groups[g].pattern));
        json_object_array_add(arr, e);
    }
    json_object_object_add(o, "by_modalities", arr);
    return o;
}
