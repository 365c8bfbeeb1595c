/* SPDX-License-Identifier: Apache-2.0 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "dataset_check.h"
#include "folds.h"
#include "fusion_plugins.h"
#include "pipeline.h"

typedef struct late_part {
    int used;            /* 0: the modality has no features */
    double prior_logit;  /* log-odds of the prevalence among training patients with the modality */
    double calib_a, calib_b; /* Platt: calibrated log-odds = a + b * raw log-odds */
    double weight;       /* combiner weight */
    mmdx_pipeline *pl;
} late_part;

typedef struct late_model {
    size_t n_features, n_modalities;
    double intercept;    /* combiner intercept */
    late_part *parts;    /* n_modalities */
} late_model;

static void late_free(void *model)
{
    late_model *lm = model;
    if (!lm)
        return;
    for (size_t m = 0; lm->parts && m < lm->n_modalities; m++)
        mmdx_pipeline_free(lm->parts[m].pl);
    free(lm->parts);
    free(lm);
}

static double logit(double p) { return log(p / (1.0 - p)); }

/* Out-of-fold raw log-odds of one modality's pipeline on its rows. */
static int oof_logits(const mmdx_dataset *d, const size_t *rows, size_t k, const uint8_t *use,
                      const mmdx_fusion_options *o, uint64_t seed, double *oof, mmdx_error *err)
{
    int32_t *y = malloc(k * sizeof *y);
    uint32_t *fold = malloc(k * sizeof *fold);
    size_t *tr = malloc(k * sizeof *tr), *te = malloc(k * sizeof *te);
    double *out = malloc(k * sizeof *out);
    int rc = 0;
    if (!y || !fold || !tr || !te || !out)
        rc = mmdx_error_set(err, MMDX_ENOMEM, "late fusion: out of memory");
    for (size_t r = 0; r < k && !rc; r++)
        y[r] = d->labels[rows[r]];
    if (!rc)
        rc = mmdx_folds_stratified(fold, y, k, o->inner_folds, seed, err);
    for (unsigned f = 0; f < o->inner_folds && !rc; f++) {
        size_t ntr = 0, nte = 0;
        for (size_t r = 0; r < k; r++) {
            if (fold[r] == f)
                te[nte++] = rows[r];
            else
                tr[ntr++] = rows[r];
        }
        mmdx_pipeline *pl = NULL;
        rc = mmdx_pipeline_fit(&pl, d, tr, ntr, use, 1, o, err);
        if (!rc)
            rc = mmdx_pipeline_logit(pl, d, te, nte, UINT32_MAX, out, o->n_threads, err);
        mmdx_pipeline_free(pl);
        for (size_t r = 0, t = 0; r < k && !rc; r++)
            if (fold[r] == f)
                oof[r] = out[t++];
    }
    free(y), free(fold), free(tr), free(te), free(out);
    return rc;
}

/*
 * Platt scaling of out-of-fold log-odds with Platt's smoothed targets:
 * label 1 counts as (N+ + 1)/(N+ + 2), label 0 as 1/(N- + 2). Each patient
 * enters twice, once per class, weighted by its target, so a modality that
 * separates its (small) training set still gets a finite slope.
 */
static int platt(double *a, double *b, const double *oof, const mmdx_dataset *d, const size_t *rows, size_t k,
                 size_t pos, mmdx_error *err)
{
    double hi = ((double)pos + 1.0) / ((double)pos + 2.0), lo = 1.0 / ((double)(k - pos) + 2.0);
    double *x = malloc(2 * k * sizeof *x), *w = malloc(2 * k * sizeof *w);
    int32_t *y = malloc(2 * k * sizeof *y);
    int rc = 0;
    if (!x || !w || !y) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, "late fusion: out of memory");
    } else {
        for (size_t r = 0; r < k; r++) {
            double t = d->labels[rows[r]] ? hi : lo;
            x[2 * r] = x[2 * r + 1] = oof[r];
            y[2 * r] = 1, w[2 * r] = t;
            y[2 * r + 1] = 0, w[2 * r + 1] = 1.0 - t;
        }
        mmdx_logreg_options o;
        mmdx_logreg_options_init(&o);
        o.C = INFINITY;
        o.solver = MMDX_LOGREG_NEWTON;
        rc = mmdx_logreg_fit(b, a, x, 2 * k, 1, y, w, &o, NULL, err);
    }
    free(x), free(w), free(y);
    return rc;
}

static int late_fit(void **model, const mmdx_fusion_params *params, const mmdx_dataset *d,
                    mmdx_error *err)
{
    *model = NULL;
    mmdx_fusion_options o;
    int rc = mmdx_fusion_check_dataset(d, 1, err);
    if (!rc)
        rc = mmdx_fusion_options_parse(&o, params, err);
    if (rc)
        return rc;
    size_t n = d->n_samples, M = d->n_modalities, F = d->n_features;
    late_model *lm = calloc(1, sizeof *lm);
    uint8_t *use = malloc(F);
    size_t *rows = malloc(n * sizeof *rows);
    double *oof = malloc(n * sizeof *oof), *z = calloc(n * M, sizeof *z);
    if (!lm || !use || !rows || !oof || !z || !(lm->parts = calloc(M, sizeof *lm->parts))) {
        free(use), free(rows), free(oof), free(z);
        late_free(lm);
        return mmdx_error_set(err, MMDX_ENOMEM, "late fusion: out of memory");
    }
    lm->n_features = F;
    lm->n_modalities = M;
    size_t n_used = 0;
    for (size_t m = 0; m < M && !rc; m++) {
        late_part *part = &lm->parts[m];
        size_t nf = 0, k = 0, pos = 0;
        for (size_t j = 0; j < F; j++)
            nf += (use[j] = d->feature_modality[j] == m);
        if (nf == 0)
            continue;
        for (size_t i = 0; i < n; i++)
            if (d->present[i * M + m]) {
                rows[k++] = i;
                pos += (size_t)d->labels[i];
            }
        const char *name = d->modalities ? d->modalities[m] : "?";
        if (pos < 2 || k - pos < 2) {
            rc = mmdx_error_set(err, MMDX_EINVAL,
                                "late fusion: modality '%s' is present for %zu patients (%zu with label 1, "
                                "%zu with label 0); its classifier needs at least 2 of each class",
                                name, k, pos, k - pos);
            break;
        }
        /* a small cohort gets fewer inner folds rather than a refusal: each fold needs both classes */
        mmdx_fusion_options om = o;
        size_t smaller = pos < k - pos ? pos : k - pos;
        if (smaller < om.inner_folds)
            om.inner_folds = (unsigned)smaller;
        part->used = 1;
        n_used++;
        part->prior_logit = logit((double)pos / (double)k);
        rc = oof_logits(d, rows, k, use, &om, o.seed + 0x9e3779b97f4a7c15ULL * (m + 1), oof, err);
        if (rc)
            break;
        rc = platt(&part->calib_a, &part->calib_b, oof, d, rows, k, pos, err);
        if (rc)
            break;
        for (size_t r = 0; r < k; r++)
            z[rows[r] * M + m] = part->calib_a + part->calib_b * oof[r] - part->prior_logit;
        rc = mmdx_pipeline_fit(&part->pl, d, rows, k, use, 1, &o, err);
    }
    if (!rc && n_used == 0)
        rc = mmdx_error_set(err, MMDX_EINVAL, "late fusion: no modality has features");
    if (!rc) {
        /* the combiner on out-of-fold evidence; unused modalities are zero columns */
        double *w = calloc(M, sizeof *w);
        double *sw = NULL;
        rc = w ? mmdx_class_weights(&sw, d->labels, n, o.class_weight_balanced, err)
               : mmdx_error_set(err, MMDX_ENOMEM, "late fusion: out of memory");
        if (!rc) {
            mmdx_logreg_options lo;
            mmdx_logreg_options_init(&lo);
            lo.C = o.combiner_C;
            lo.solver = MMDX_LOGREG_NEWTON;
            rc = mmdx_logreg_fit(w, &lm->intercept, z, n, M, d->labels, sw, &lo, NULL, err);
        }
        for (size_t m = 0; m < M && !rc; m++)
            lm->parts[m].weight = lm->parts[m].used ? w[m] : 0.0;
        free(w), free(sw);
    }
    free(use), free(rows), free(oof), free(z);
    if (rc) {
        late_free(lm);
        return rc;
    }
    *model = lm;
    return 0;
}

static int late_predict(const void *model, const mmdx_dataset *data, double *probability,
                        double *contribution, mmdx_error *err)
{
    const late_model *lm = model;
    int rc = mmdx_fusion_check_dataset(data, 0, err);
    if (rc)
        return rc;
    if (data->n_features != lm->n_features || data->n_modalities != lm->n_modalities)
        return mmdx_error_set(err, MMDX_ESCHEMA,
                              "late fusion: the model was trained on %zu features of %zu modalities, "
                              "the data has %zu features of %zu modalities",
                              lm->n_features, lm->n_modalities, data->n_features, data->n_modalities);
    size_t n = data->n_samples, M = data->n_modalities;
    double *acc = malloc(n * sizeof *acc), *s = malloc(n * sizeof *s);
    size_t *rows = malloc(n * sizeof *rows);
    if (!acc || !s || !rows) {
        free(acc), free(s), free(rows);
        return mmdx_error_set(err, MMDX_ENOMEM, "late fusion: out of memory");
    }
    if (contribution)
        memset(contribution, 0, n * M * sizeof *contribution);
    for (size_t i = 0; i < n; i++)
        acc[i] = lm->intercept;
    int T = omp_get_max_threads();
    for (size_t m = 0; m < M && !rc; m++) {
        const late_part *part = &lm->parts[m];
        if (!part->used)
            continue;
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (data->present[i * M + m])
                rows[k++] = i;
        rc = mmdx_pipeline_logit(part->pl, data, rows, k, UINT32_MAX, s, T, err);
        for (size_t r = 0; r < k && !rc; r++) {
            double c = part->weight * (part->calib_a + part->calib_b * s[r] - part->prior_logit);
            acc[rows[r]] += c;
            if (contribution)
                contribution[rows[r] * M + m] = c;
        }
    }
    for (size_t i = 0; i < n && !rc; i++)
        probability[i] = mmdx_sigmoid(acc[i]);
    free(acc), free(s), free(rows);
    return rc;
}

static int late_save(const void *model, void **buf, size_t *len, mmdx_error *err)
{
    const late_model *lm = model;
    mmdx_blob_writer w = {0};
    mmdx_blob_printf(&w, "mmdx-late 1\nfeatures %zu\nmodalities %zu\ncombiner_intercept %a\n", lm->n_features,
                     lm->n_modalities, lm->intercept);
    for (size_t m = 0; m < lm->n_modalities; m++) {
        const late_part *p = &lm->parts[m];
        mmdx_blob_printf(&w, "modality %zu %d %a %a %a %a\n", m, p->used, p->prior_logit, p->calib_a,
                         p->calib_b, p->weight);
        if (p->used)
            mmdx_pipeline_save(p->pl, &w);
    }
    if (w.failed) {
        free(w.data);
        return mmdx_error_set(err, MMDX_ENOMEM, "late fusion: out of memory while saving");
    }
    *buf = w.data;
    *len = w.len;
    return 0;
}

static void free_buffer(void *buf) { free(buf); }

static int late_load(void **model, const void *buf, size_t len, mmdx_error *err)
{
    *model = NULL;
    mmdx_blob_reader r;
    mmdx_blob_reader_init(&r, buf, len, "late fusion model", err);
    uint64_t nf, nm, idx, used;
    int rc = mmdx_blob_read_header(&r, "mmdx-late", &nf, &nm);
    if (rc)
        return rc;
    late_model *lm = calloc(1, sizeof *lm);
    if (!lm || !(lm->parts = calloc(nm ? nm : 1, sizeof *lm->parts))) {
        free(lm);
        return mmdx_error_set(err, MMDX_ENOMEM, "late fusion: out of memory");
    }
    lm->n_features = (size_t)nf;
    lm->n_modalities = (size_t)nm;
    rc = mmdx_blob_key(&r, "combiner_intercept");
    if (!rc)
        rc = mmdx_blob_double(&r, &lm->intercept);
    if (!rc)
        rc = mmdx_blob_eol(&r);
    for (size_t m = 0; m < lm->n_modalities && !rc; m++) {
        late_part *p = &lm->parts[m];
        rc = mmdx_blob_key(&r, "modality");
        if (!rc)
            rc = mmdx_blob_u64(&r, &idx, 1024);
        if (!rc && idx != m)
            rc = mmdx_blob_fail(&r, "modality %llu out of order (expected %zu)", (unsigned long long)idx, m);
        if (!rc)
            rc = mmdx_blob_u64(&r, &used, 1);
        if (!rc)
            rc = mmdx_blob_double(&r, &p->prior_logit);
        if (!rc)
            rc = mmdx_blob_double(&r, &p->calib_a);
        if (!rc)
            rc = mmdx_blob_double(&r, &p->calib_b);
        if (!rc)
            rc = mmdx_blob_double(&r, &p->weight);
        if (!rc)
            rc = mmdx_blob_eol(&r);
        p->used = (int)used;
        if (!rc && p->used)
            rc = mmdx_pipeline_load(&p->pl, &r, lm->n_features, lm->n_modalities);
    }
    if (!rc && r.p != r.end)
        rc = mmdx_blob_fail(&r, "unexpected data after the model");
    if (rc) {
        late_free(lm);
        return rc;
    }
    *model = lm;
    return 0;
}

const mmdx_fusion_vtable mmdx_fusion_late_vtable = {
    sizeof(mmdx_fusion_vtable), 0, late_fit, late_predict, late_save, free_buffer, late_load, late_free,
    NULL, NULL, NULL, /* no shared representation (ABI 1.1) */
};
