/*
 * model/crossval.h — K-fold cross-validation of a fusion plugin (host side).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_FUSION_CROSSVAL_H
#define MMDX_FUSION_CROSSVAL_H

#include <stdio.h>

#include "loader.h"
#include "mmdx/plugin.h"

typedef struct mmdx_cv_result {
    unsigned k;
    uint32_t *fold;      /**< n: the fold each patient was held out in */
    double *prob;        /**< n: out-of-fold probability */
    double *fold_auroc;  /**< k: AUROC within each held-out fold */
} mmdx_cv_result;

/**
 * Stratified K-fold (seeded) cross-validation: fit the plugin on K-1 folds
 * with `params`, predict the held-out fold. `messages` gets a progress
 * display (NULL: none). Errors: the plugin's (its message in the last
 * error), MMDX_EINVAL (too few patients of a class for K folds), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_crossval(mmdx_cv_result *out, const mmdx_plugin *plugin,
                                   const mmdx_fusion_params *params, const mmdx_dataset *d,
                                   unsigned k, uint64_t seed, FILE *messages);

void mmdx_cv_result_free(mmdx_cv_result *r);

/** The threshold maximising Youden's J (sensitivity + specificity - 1) over prob[]. */
double mmdx_youden_threshold(const double *prob, const int32_t *y, size_t n);

#endif
