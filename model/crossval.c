/* SPDX-License-Identifier: Apache-2.0 */
#include "crossval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "folds.h"
#include "cohort_input.h"
#include "metrics.h"
#include "progress.h"

void mmdx_cv_result_free(mmdx_cv_result *r)
{
    free(r->fold);
    free(r->prob);
    free(r->fold_auroc);
    memset(r, 0, sizeof *r);
}

int mmdx_crossval(mmdx_cv_result *out, const mmdx_plugin *plugin, const mmdx_fusion_params *params,
                  const mmdx_dataset *d, unsigned k, uint64_t seed, FILE *messages)
{
    memset(out, 0, sizeof *out);
    size_t n = d->n_samples;
    out->k = k;
    out->fold = malloc(n * sizeof *out->fold);
    out->prob = malloc(n * sizeof *out->prob);
    out->fold_auroc = malloc(k * sizeof *out->fold_auroc);
    size_t *tr = malloc(n * sizeof *tr), *te = malloc(n * sizeof *te);
    double *p = malloc(n * sizeof *p), *contrib = malloc(n * d->n_modalities * sizeof *contrib);
    int32_t *yte = malloc(n * sizeof *yte);
    int rc = 0;
    if (!out->fold || !out->prob || !out->fold_auroc || !tr || !te || !p || !contrib || !yte)
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    mmdx_error err;
    memset(&err, 0, sizeof err);
    if (!rc && (rc = mmdx_folds_stratified(out->fold, d->labels, n, k, seed, &err)) != 0)
        rc = mmdx_fail_from(&err, rc);
    mmdx_progress *pg = rc ? NULL : mmdx_progress_new("cross-validation folds", k, messages);
    for (unsigned f = 0; f < k && !rc; f++) {
        size_t ntr = 0, nte = 0;
        for (size_t i = 0; i < n; i++) {
            if (out->fold[i] == f)
                te[nte++] = i;
            else
                tr[ntr++] = i;
        }
        mmdx_dataset dtr, dte;
        if ((rc = mmdx_dataset_subset(&dtr, d, tr, ntr)) != 0)
            break;
        if ((rc = mmdx_dataset_subset(&dte, d, te, nte)) != 0) {
            mmdx_dataset_subset_free(&dtr);
            break;
        }
        void *model = NULL;
        memset(&err, 0, sizeof err);
        rc = plugin->fusion.fit(&model, params, &dtr, &err);
        if (rc)
            rc = mmdx_fail_from(&err, rc);
        if (!rc) {
            memset(&err, 0, sizeof err);
            rc = plugin->fusion.predict(model, &dte, p, contrib, &err);
            if (rc)
                rc = mmdx_fail_from(&err, rc);
        }
        if (model)
            plugin->fusion.free_model(model);
        for (size_t t = 0; t < nte && !rc; t++) {
            out->prob[te[t]] = p[t];
            yte[t] = d->labels[te[t]];
        }
        if (!rc && mmdx_auroc(&out->fold_auroc[f], p, yte, nte) != 0)
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        mmdx_dataset_subset_free(&dtr);
        mmdx_dataset_subset_free(&dte);
        mmdx_progress_step(pg, rc != 0);
    }
    mmdx_progress_free(pg);
    free(tr), free(te), free(p), free(contrib), free(yte);
    if (rc)
        mmdx_cv_result_free(out);
    return rc;
}

typedef struct py {
    double p;
    int32_t y;
} py;

static int desc(const void *a, const void *b)
{
    double x = ((const py *)a)->p, y = ((const py *)b)->p;
    return (x < y) - (x > y);
}

double mmdx_youden_threshold(const double *prob, const int32_t *y, size_t n)
{
    py *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return 0.5;
    size_t P = 0;
    for (size_t i = 0; i < n; i++)
        v[i].p = prob[i], v[i].y = y[i], P += (size_t)(y[i] != 0);
    size_t N = n - P;
    qsort(v, n, sizeof *v, desc);
    double best = -1, thr = 0.5;
    size_t tp = 0, fp = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j].p == v[i].p) {
            tp += (size_t)(v[j].y != 0);
            fp += (size_t)(v[j].y == 0);
            j++;
        }
        /* predicting positive for p >= v[i].p */
        double J = (P ? (double)tp / (double)P : 0) + (N ? 1.0 - (double)fp / (double)N : 0) - 1.0;
        if (J > best && v[i].p > 0 && v[i].p < 1) {
            best = J;
            thr = v[i].p;
        }
        i = j;
    }
    free(v);
    return thr;
}
