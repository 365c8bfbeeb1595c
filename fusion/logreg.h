/*
 * fusion/logreg.h — L2-regularised logistic regression.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Minimises, as scikit-learn's LogisticRegression(C=C, penalty="l2") does,
 *
 *     sum_i sw_i * log(1 + exp(-s_i * (x_i . w + b)))  +  |w|^2 / (2 C)
 *
 * with s_i = +1 for label 1 and -1 for label 0; the intercept b is not
 * penalised. Two solvers reach the same optimum: Newton's method with a
 * Cholesky solve (exact to machine precision, used when n * p^2 is small)
 * and L-BFGS (one fused pass over the rows per evaluation, used for large
 * matrices). Gradients, Hessians and predictions are parallel over samples
 * with OpenMP; per-thread partial sums are added in thread order, so a
 * result is bit-for-bit reproducible for a given thread count.
 */
#ifndef MMDX_FUSION_LOGREG_H
#define MMDX_FUSION_LOGREG_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"

typedef enum mmdx_logreg_solver {
    MMDX_LOGREG_AUTO = 0,
    MMDX_LOGREG_NEWTON = 1,
    MMDX_LOGREG_LBFGS = 2
} mmdx_logreg_solver;

typedef struct mmdx_logreg_options {
    double C;            /**< inverse regularisation strength (> 0); INFINITY = none */
    int fit_intercept;   /**< 1 to fit b (default), 0 to keep b = 0 */
    int max_iter;        /**< iteration limit (default 1000) */
    double tol;          /**< L-BFGS stops when max|gradient| of the objective / sum(sw) <= tol */
    int n_threads;       /**< OpenMP threads (>= 1) */
    mmdx_logreg_solver solver;
    int use_blas;        /**< 1: L-BFGS's passes over x through CBLAS dgemv when built with it (default) */
} mmdx_logreg_options;

/** Defaults: C = 1, intercept, 1000 iterations, tol 1e-6, 1 thread, automatic solver, BLAS. */
void mmdx_logreg_options_init(mmdx_logreg_options *o);

/** What the fit did. */
typedef struct mmdx_logreg_info {
    int iterations;
    int evaluations;
    double objective;    /**< final objective / sum(sw) */
    double grad_max;     /**< final max|gradient| / sum(sw) */
    int converged;       /**< 1 when the tolerance was reached */
    mmdx_logreg_solver solver; /**< the solver actually used */
} mmdx_logreg_info;

/**
 * Fit. x is n x p row-major (finite values only: the caller imputes), y in
 * {0,1}, sw per-sample weights (> 0) or NULL for 1. On success coef[p] and
 * *intercept hold the solution; info may be NULL. Not reaching the
 * tolerance within max_iter is not an error (info->converged = 0).
 * Errors: MMDX_EINVAL (bad options, a single class), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_logreg_fit(double *coef, double *intercept, const double *x, size_t n,
                                     size_t p, const int32_t *y, const double *sw,
                                     const mmdx_logreg_options *o, mmdx_logreg_info *info,
                                     mmdx_error *err);

/** Decision values (log-odds) x_i . coef + intercept for n rows, parallel over rows. */
void mmdx_logreg_decision(double *out, const double *coef, double intercept, const double *x,
                          size_t n, size_t p, int n_threads);

/** log(1 + exp(-m)) without overflow. */
double mmdx_log1pexp_neg(double m);

/** The logistic function 1 / (1 + exp(-z)) without overflow. */
double mmdx_sigmoid(double z);

#endif
