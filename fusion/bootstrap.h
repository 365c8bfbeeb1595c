/*
 * fusion/bootstrap.h — bootstrap 95% confidence intervals of the AUROC and
 * AUPRC and pointwise bands around the ROC and precision-recall curves.
 * SPDX-License-Identifier: Apache-2.0
 *
 * B replicates, each n patients drawn with replacement; replicate b draws
 * from its own stream of `seed` (core/rng.h), so the result depends only on
 * the data, B and the seed, never on the number of threads. A replicate
 * without positives (ROC: or without negatives) does not count for that
 * curve; the intervals are the 2.5th and 97.5th percentiles (linear
 * interpolation between order statistics) over the replicates that count.
 * Curves are read on a grid of x in [0, 1]: the ROC by linear interpolation
 * (the upper point where it rises vertically), the PR curve as the step
 * whose area is the AUPRC.
 */
#ifndef MMDX_FUSION_BOOTSTRAP_H
#define MMDX_FUSION_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

#define MMDX_BOOTSTRAP_GRID 101 /**< x = 0, 0.01, ..., 1 */

typedef struct mmdx_bootstrap {
    unsigned replicates;            /**< B */
    uint64_t seed;
    unsigned used_roc, used_pr;     /**< replicates that counted for each curve */
    double auroc_lo, auroc_hi;      /**< NaN when no replicate counted */
    double auprc_lo, auprc_hi;
    double grid[MMDX_BOOTSTRAP_GRID];
    double roc_lo[MMDX_BOOTSTRAP_GRID], roc_hi[MMDX_BOOTSTRAP_GRID]; /**< TPR band at FPR = grid */
    double pr_lo[MMDX_BOOTSTRAP_GRID], pr_hi[MMDX_BOOTSTRAP_GRID];   /**< precision band at recall = grid */
} mmdx_bootstrap;

/**
 * Run B >= 1 replicates over n predictions (OpenMP over replicates).
 * Errors: MMDX_EINVAL (n == 0 or B == 0), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_bootstrap_run(mmdx_bootstrap *out, const double *prob, const int32_t *y, size_t n,
                                        unsigned replicates, uint64_t seed);

/** The value of a curve (vertices as from mmdx_metrics_curve) at x, read as the bands above. */
double mmdx_curve_at(const mmdx_curve_point *c, size_t n, mmdx_curve_kind kind, double x);

#endif
