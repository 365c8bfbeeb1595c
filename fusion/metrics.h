/*
 * fusion/metrics.h — discrimination and calibration of predicted probabilities.
 * SPDX-License-Identifier: Apache-2.0
 *
 * AUROC is the Mann-Whitney statistic with ties counted one half (equal to
 * scikit-learn's roc_auc_score); AUPRC is average precision (scikit-learn's
 * average_precision_score: sum over thresholds of recall step x precision);
 * the Brier score is the mean squared error of the probability. Calibration
 * follows Van Calster et al.: the slope is b in logit P(y) = a + b logit(p)
 * fitted by maximum likelihood, and the intercept is a with the slope fixed
 * at 1 ("calibration-in-the-large"; 0 and 1 are perfect). Probabilities are
 * clipped to [1e-15, 1 - 1e-15] before taking logits.
 */
#ifndef MMDX_FUSION_METRICS_H
#define MMDX_FUSION_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"

typedef struct mmdx_metrics {
    size_t n, n_pos;
    double auroc;          /**< NaN when one class is absent */
    double auprc;          /**< NaN without positives */
    double brier;
    double log_loss;
    double cal_slope;      /**< NaN when it cannot be estimated (one class, separable, constant p) */
    double cal_intercept;  /**< NaN when one class is absent */
    double threshold;      /**< decision: p >= threshold */
    size_t tp, fp, tn, fn;
    double sensitivity, specificity, ppv, npv; /**< NaN when the denominator is 0 */
} mmdx_metrics;

/** Compute every metric over n predictions. Errors: MMDX_ENOMEM, MMDX_EINVAL (n == 0). */
MMDX_RESULT_USED int mmdx_metrics_compute(mmdx_metrics *out, const double *prob, const int32_t *y,
                                          size_t n, double threshold);

/** AUROC alone (NaN when a class is absent). Errors: MMDX_ENOMEM. */
MMDX_RESULT_USED int mmdx_auroc(double *out, const double *score, const int32_t *y, size_t n);

#endif
