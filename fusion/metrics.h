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

/** AUROC and AUPRC of one ranking (NaN as in mmdx_metrics). Errors: MMDX_ENOMEM. */
MMDX_RESULT_USED int mmdx_metrics_areas(double *auroc, double *auprc, const double *score, const int32_t *y,
                                        size_t n);

typedef enum mmdx_curve_kind {
    MMDX_CURVE_ROC = 0, /**< x false-positive rate, y true-positive rate */
    MMDX_CURVE_PR = 1   /**< x recall, y precision */
} mmdx_curve_kind;

/** One vertex of a curve: the operating point of "score >= threshold". */
typedef struct mmdx_curve_point {
    double x, y;
    double threshold; /**< +inf for the ROC's (0, 0) */
} mmdx_curve_point;

/**
 * The curve the areas above are computed from, one vertex per group of tied
 * scores, highest score first. ROC: (0, 0), then (FPR, TPR) after each
 * group, ending at (1, 1); the trapezoids under it sum to the AUROC (a tie
 * group is one diagonal segment). PR: (recall, precision) after each group
 * holding a positive; the AUPRC is the sum of recall step x precision, i.e.
 * the area under the right-continuous step through these vertices (from
 * recall 0 at the first vertex's precision).
 * *out is malloc'd (free()), *n_out vertices.
 * Errors: MMDX_EINVAL (no positives; for ROC also no negatives), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_metrics_curve(mmdx_curve_point **out, size_t *n_out, mmdx_curve_kind kind,
                                        const double *score, const int32_t *y, size_t n);

/** Areas and both curves of one ranking (curves NULL where a class they need is absent). */
typedef struct mmdx_sorted_metrics {
    double auroc, auprc;
    mmdx_curve_point *roc, *pr; /**< malloc'd (free()) */
    size_t n_roc, n_pr;
} mmdx_sorted_metrics;

/**
 * All of the above in one walk over scores ALREADY in decreasing order (no
 * sort: what the bootstrap draws). Errors: MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_metrics_sorted(mmdx_sorted_metrics *out, const double *score, const int32_t *y, size_t n);

/** One bin of a reliability diagram. */
typedef struct mmdx_calibration_bin {
    double lo, hi;         /**< predicted probability in [lo, hi) (the last bin includes 1) */
    size_t n;              /**< patients in the bin */
    double mean_predicted; /**< NaN when n == 0 */
    double observed;       /**< fraction with label 1; NaN when n == 0 */
} mmdx_calibration_bin;

/**
 * Equal-width bins of predicted probability (fills bins[0..n_bins)).
 * Errors: MMDX_EINVAL (n_bins == 0, a probability outside [0, 1] or NaN).
 */
MMDX_RESULT_USED int mmdx_metrics_calibration(mmdx_calibration_bin *bins, size_t n_bins, const double *prob,
                                              const int32_t *y, size_t n);

#endif
