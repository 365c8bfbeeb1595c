/*
 * fusion/fusion_plugins.h — the function tables of the "early", "late" and
 * "joint" fusion plugins, also linked directly into tests.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Early fusion: one pipeline (imputation, missingness indicators,
 * standardisation, classifier) on the concatenated features of all
 * modalities. A modality's contribution is measured by occlusion: the
 * log-odds minus the log-odds with that modality treated as absent.
 *
 * Late fusion: one pipeline per modality trained on the patients who have it;
 * its out-of-fold log-odds are calibrated (Platt) and a combiner learns
 * weights on the calibrated evidence, logit(p) = b + sum_m w_m z_m, with
 * z_m = calibrated log-odds of modality m minus the log-odds of its training
 * prevalence, and z_m = 0 for a modality the patient does not have; w_m z_m
 * is the modality's contribution.
 */
#ifndef MMDX_FUSION_PLUGINS_H
#define MMDX_FUSION_PLUGINS_H

#include "mmdx/plugin.h"

#define MMDX_FUSION_EARLY_VERSION "1.0.0"
#define MMDX_FUSION_LATE_VERSION "1.0.0"
#define MMDX_FUSION_JOINT_VERSION "1.0.0"

extern const mmdx_fusion_vtable mmdx_fusion_early_vtable;
extern const mmdx_fusion_vtable mmdx_fusion_late_vtable;
/** Joint fusion (fusion/joint.h): a shared representation, with embed and impute. */
extern const mmdx_fusion_vtable mmdx_fusion_joint_vtable;

/** Coefficients of an early-fusion logistic model (for tests): NULL for an MLP. Borrowed. */
const double *mmdx_fusion_early_coef(const void *model, size_t *n_cols, double *intercept);

#endif
