/* SPDX-License-Identifier: Apache-2.0 */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

void mmdx_pipeline_free(mmdx_pipeline *pl)
{
    if (!pl)
        return;
    mmdx_prep_free(&pl->prep);
    free(pl->coef);
    mmdx_mlp_free(pl->mlp);
    free(pl);
}

int mmdx_class_weights(double **out, const int32_t *y, size_t n, int balanced, mmdx_error *err)
{
    *out = NULL;
    if (!balanced)
        return 0;
    size_t count[2] = {0, 0};
    for (size_t i = 0; i < n; i++)
        count[y[i] ? 1 : 0]++;
    double *w = malloc((n ? n : 1) * sizeof *w);
    if (!w)
        return mmdx_error_set(err, MMDX_ENOMEM, "class weights: out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t c = count[y[i] ? 1 : 0];
        w[i] = (double)n / (2.0 * (double)c);
    }
    *out = w;
    return 0;
}

int mmdx_pipeline_fit(mmdx_pipeline **out, const mmdx_dataset *d, const size_t *rows,
                      size_t n_rows, const uint8_t *use, int indicators,
                      const mmdx_fusion_options *o, mmdx_error *err)
{
    *out = NULL;
    mmdx_pipeline *pl = calloc(1, sizeof *pl);
    if (!pl)
        return mmdx_error_set(err, MMDX_ENOMEM, "fusion: out of memory");
    pl->kind = o->classifier;
    int rc = mmdx_prep_fit(&pl->prep, d, rows, n_rows, use, indicators, o->n_threads, err);
    if (rc) {
        free(pl);
        return rc;
    }
    size_t p = pl->prep.n_cols;
    double *x = malloc((n_rows * p > 0 ? n_rows * p : 1) * sizeof *x);
    int32_t *y = malloc((n_rows ? n_rows : 1) * sizeof *y);
    double *sw = NULL;
    if (!x || !y) {
        free(x), free(y);
        mmdx_pipeline_free(pl);
        return mmdx_error_set(err, MMDX_ENOMEM, "fusion: out of memory (%zu x %zu design matrix)", n_rows, p);
    }
    mmdx_prep_transform(&pl->prep, d, rows, n_rows, UINT32_MAX, x, o->n_threads);
    for (size_t r = 0; r < n_rows; r++)
        y[r] = d->labels[rows ? rows[r] : r] ? 1 : 0;
    rc = mmdx_class_weights(&sw, y, n_rows, o->class_weight_balanced, err);
    if (!rc && pl->kind == MMDX_CLASSIFIER_LOGREG) {
        pl->coef = calloc(p ? p : 1, sizeof *pl->coef);
        if (!pl->coef) {
            rc = mmdx_error_set(err, MMDX_ENOMEM, "fusion: out of memory");
        } else {
            mmdx_logreg_options lo;
            mmdx_logreg_options_init(&lo);
            lo.C = o->C;
            lo.max_iter = o->max_iter;
            lo.tol = o->tol;
            lo.n_threads = o->n_threads;
            lo.solver = (mmdx_logreg_solver)o->solver;
            lo.use_blas = o->use_blas;
            rc = mmdx_logreg_fit(pl->coef, &pl->intercept, x, n_rows, p, y, sw, &lo, &pl->logreg_info, err);
        }
    } else if (!rc) {
        rc = mmdx_mlp_fit(&pl->mlp, x, n_rows, p, y, sw, o, &pl->mlp_info, err);
    }
    free(x), free(y), free(sw);
    if (rc) {
        mmdx_pipeline_free(pl);
        return rc;
    }
    *out = pl;
    return 0;
}

int mmdx_pipeline_logit(const mmdx_pipeline *pl, const mmdx_dataset *d, const size_t *rows,
                        size_t n_rows, uint32_t mask_modality, double *out, int n_threads,
                        mmdx_error *err)
{
    size_t p = pl->prep.n_cols;
    /* transform in blocks so that a large cohort does not need a second full copy */
    size_t block = 4096;
    double *x = malloc(block * (p ? p : 1) * sizeof *x);
    if (!x)
        return mmdx_error_set(err, MMDX_ENOMEM, "fusion: out of memory");
    for (size_t start = 0; start < n_rows; start += block) {
        size_t nb = n_rows - start < block ? n_rows - start : block;
        if (rows) {
            mmdx_prep_transform(&pl->prep, d, rows + start, nb, mask_modality, x, n_threads);
        } else {
            size_t *idx = malloc(nb * sizeof *idx);
            if (!idx) {
                free(x);
                return mmdx_error_set(err, MMDX_ENOMEM, "fusion: out of memory");
            }
            for (size_t k = 0; k < nb; k++)
                idx[k] = start + k;
            mmdx_prep_transform(&pl->prep, d, idx, nb, mask_modality, x, n_threads);
            free(idx);
        }
        if (pl->kind == MMDX_CLASSIFIER_LOGREG)
            mmdx_logreg_decision(out + start, pl->coef, pl->intercept, x, nb, p, n_threads);
        else
            mmdx_mlp_logit(pl->mlp, x, nb, out + start, n_threads);
    }
    free(x);
    return 0;
}

void mmdx_pipeline_save(const mmdx_pipeline *pl, mmdx_blob_writer *w)
{
    mmdx_prep_save(&pl->prep, w);
    if (pl->kind == MMDX_CLASSIFIER_LOGREG) {
        mmdx_blob_printf(w, "classifier logreg\n");
        mmdx_blob_doubles(w, "coef", pl->coef, pl->prep.n_cols);
        mmdx_blob_printf(w, "intercept %a\n", pl->intercept);
    } else {
        mmdx_blob_printf(w, "classifier mlp\n");
        mmdx_mlp_save(pl->mlp, w);
    }
}

int mmdx_pipeline_load(mmdx_pipeline **out, mmdx_blob_reader *r, size_t n_features,
                       size_t n_modalities)
{
    *out = NULL;
    mmdx_pipeline *pl = calloc(1, sizeof *pl);
    if (!pl)
        return mmdx_error_set(r->err, MMDX_ENOMEM, "fusion: out of memory");
    char kind[16];
    int rc = mmdx_prep_load(&pl->prep, r, n_features, n_modalities);
    if (!rc)
        rc = mmdx_blob_key(r, "classifier");
    if (!rc)
        rc = mmdx_blob_word(r, kind, sizeof kind);
    if (!rc)
        rc = mmdx_blob_eol(r);
    if (!rc) {
        size_t p = pl->prep.n_cols;
        if (strcmp(kind, "logreg") == 0) {
            pl->kind = MMDX_CLASSIFIER_LOGREG;
            pl->coef = calloc(p ? p : 1, sizeof *pl->coef);
            if (!pl->coef)
                rc = mmdx_error_set(r->err, MMDX_ENOMEM, "fusion: out of memory");
            if (!rc)
                rc = mmdx_blob_doubles_read(r, "coef", pl->coef, p);
            if (!rc)
                rc = mmdx_blob_key(r, "intercept");
            if (!rc)
                rc = mmdx_blob_double(r, &pl->intercept);
            if (!rc)
                rc = mmdx_blob_eol(r);
        } else if (strcmp(kind, "mlp") == 0) {
            pl->kind = MMDX_CLASSIFIER_MLP;
            rc = mmdx_mlp_load(&pl->mlp, r, p);
        } else {
            rc = mmdx_blob_fail(r, "unknown classifier '%s'", kind);
        }
    }
    if (rc) {
        mmdx_pipeline_free(pl);
        return rc;
    }
    *out = pl;
    return 0;
}
