/*
 * fusion/pipeline.h — preprocessing plus one classifier (logistic regression
 * or MLP): the unit both fusion plugins are built from.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_FUSION_PIPELINE_H
#define MMDX_FUSION_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "logreg.h"
#include "mlp.h"
#include "options.h"
#include "prep.h"

typedef struct mmdx_pipeline {
    mmdx_prep prep;
    mmdx_classifier_kind kind;
    double *coef;        /**< logreg: prep.n_cols coefficients (standardised scale) */
    double intercept;    /**< logreg */
    mmdx_mlp *mlp;       /**< mlp */
    mmdx_logreg_info logreg_info;
    mmdx_mlp_info mlp_info;
} mmdx_pipeline;

/**
 * Fit preprocessing and classifier on rows (NULL = all) of d, using features
 * with use[j] != 0 (NULL = all); `indicators` adds missingness columns.
 * Labels come from d->labels. Class weights follow o. Errors: MMDX_EINVAL
 * (single class, too few samples), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_pipeline_fit(mmdx_pipeline **out, const mmdx_dataset *d,
                                       const size_t *rows, size_t n_rows, const uint8_t *use,
                                       int indicators, const mmdx_fusion_options *o,
                                       mmdx_error *err);

/**
 * Log-odds for rows (NULL = all) of d; mask_modality as in
 * mmdx_prep_transform. Thread-safe on a shared pipeline.
 * Errors: MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_pipeline_logit(const mmdx_pipeline *pl, const mmdx_dataset *d,
                                         const size_t *rows, size_t n_rows,
                                         uint32_t mask_modality, double *out, int n_threads,
                                         mmdx_error *err);

void mmdx_pipeline_save(const mmdx_pipeline *pl, mmdx_blob_writer *w);
MMDX_RESULT_USED int mmdx_pipeline_load(mmdx_pipeline **out, mmdx_blob_reader *r,
                                        size_t n_features, size_t n_modalities);
void mmdx_pipeline_free(mmdx_pipeline *pl);

/** Per-sample weights for class balancing (n / (2 n_class)), or NULL when not balanced. */
MMDX_RESULT_USED int mmdx_class_weights(double **out, const int32_t *y, size_t n, int balanced,
                                        mmdx_error *err);

#endif
