/* SPDX-License-Identifier: Apache-2.0 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "dataset_check.h"
#include "fusion_plugins.h"
#include "pipeline.h"

typedef struct early_model {
    size_t n_features, n_modalities;
    mmdx_pipeline *pl;
} early_model;

static void early_free(void *model)
{
    early_model *em = model;
    if (!em)
        return;
    mmdx_pipeline_free(em->pl);
    free(em);
}

static int early_fit(void **model, const mmdx_fusion_params *params, const mmdx_dataset *train,
                     mmdx_error *err)
{
    *model = NULL;
    mmdx_fusion_options o;
    int rc = mmdx_fusion_check_dataset(train, 1, err);
    if (!rc)
        rc = mmdx_fusion_options_parse(&o, params, err);
    if (rc)
        return rc;
    early_model *em = calloc(1, sizeof *em);
    if (!em)
        return mmdx_error_set(err, MMDX_ENOMEM, "early fusion: out of memory");
    em->n_features = train->n_features;
    em->n_modalities = train->n_modalities;
    rc = mmdx_pipeline_fit(&em->pl, train, NULL, train->n_samples, NULL, 1, &o, err);
    if (rc) {
        free(em);
        return rc;
    }
    *model = em;
    return 0;
}

static int early_predict(const void *model, const mmdx_dataset *data, double *probability,
                         double *contribution, mmdx_error *err)
{
    const early_model *em = model;
    int rc = mmdx_fusion_check_dataset(data, 0, err);
    if (rc)
        return rc;
    if (data->n_features != em->n_features || data->n_modalities != em->n_modalities)
        return mmdx_error_set(err, MMDX_ESCHEMA,
                              "early fusion: the model was trained on %zu features of %zu modalities, "
                              "the data has %zu features of %zu modalities",
                              em->n_features, em->n_modalities, data->n_features, data->n_modalities);
    size_t n = data->n_samples, M = data->n_modalities;
    int T = omp_get_max_threads();
    double *full = malloc(n * sizeof *full), *masked = malloc(n * sizeof *masked);
    size_t *rows = malloc(n * sizeof *rows);
    if (!full || !masked || !rows) {
        free(full), free(masked), free(rows);
        return mmdx_error_set(err, MMDX_ENOMEM, "early fusion: out of memory");
    }
    rc = mmdx_pipeline_logit(em->pl, data, NULL, n, UINT32_MAX, full, T, err);
    for (size_t i = 0; i < n && !rc; i++)
        probability[i] = mmdx_sigmoid(full[i]);
    if (contribution && !rc) {
        memset(contribution, 0, n * M * sizeof *contribution);
        for (size_t m = 0; m < M && !rc; m++) {
            if (!mmdx_prep_uses_modality(&em->pl->prep, data, (uint32_t)m))
                continue;
            size_t k = 0;
            for (size_t i = 0; i < n; i++)
                if (data->present[i * M + m])
                    rows[k++] = i;
            rc = mmdx_pipeline_logit(em->pl, data, rows, k, (uint32_t)m, masked, T, err);
            for (size_t r = 0; r < k && !rc; r++)
                contribution[rows[r] * M + m] = full[rows[r]] - masked[r];
        }
    }
    free(full), free(masked), free(rows);
    return rc;
}

static int early_save(const void *model, void **buf, size_t *len, mmdx_error *err)
{
    const early_model *em = model;
    mmdx_blob_writer w = {0};
    mmdx_blob_printf(&w, "mmdx-early 1\nfeatures %zu\nmodalities %zu\n", em->n_features, em->n_modalities);
    mmdx_pipeline_save(em->pl, &w);
    if (w.failed) {
        free(w.data);
        return mmdx_error_set(err, MMDX_ENOMEM, "early fusion: out of memory while saving");
    }
    *buf = w.data;
    *len = w.len;
    return 0;
}

static void free_buffer(void *buf) { free(buf); }

static int early_load(void **model, const void *buf, size_t len, mmdx_error *err)
{
    *model = NULL;
    mmdx_blob_reader r;
    mmdx_blob_reader_init(&r, buf, len, "early fusion model", err);
    uint64_t nf, nm;
    int rc = mmdx_blob_read_header(&r, "mmdx-early", &nf, &nm);
    if (rc)
        return rc;
    early_model *em = calloc(1, sizeof *em);
    if (!em)
        return mmdx_error_set(err, MMDX_ENOMEM, "early fusion: out of memory");
    em->n_features = (size_t)nf;
    em->n_modalities = (size_t)nm;
    rc = mmdx_pipeline_load(&em->pl, &r, em->n_features, em->n_modalities);
    if (!rc && r.p != r.end)
        rc = mmdx_blob_fail(&r, "unexpected data after the model");
    if (rc) {
        early_free(em);
        return rc;
    }
    *model = em;
    return 0;
}

const double *mmdx_fusion_early_coef(const void *model, size_t *n_cols, double *intercept)
{
    const early_model *em = model;
    *n_cols = em->pl->prep.n_cols;
    *intercept = em->pl->intercept;
    return em->pl->kind == MMDX_CLASSIFIER_LOGREG ? em->pl->coef : NULL;
}

const mmdx_fusion_vtable mmdx_fusion_early_vtable = {
    sizeof(mmdx_fusion_vtable), 0, early_fit, early_predict, early_save, free_buffer, early_load,
    early_free, NULL, NULL, NULL, /* no shared representation (ABI 1.1) */
};
