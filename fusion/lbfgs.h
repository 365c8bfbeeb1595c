/*
 * fusion/lbfgs.h — limited-memory BFGS for smooth unconstrained problems.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_FUSION_LBFGS_H
#define MMDX_FUSION_LBFGS_H

#include <stddef.h>

#include "mmdx/common.h"

/** Objective: returns f(theta) and writes its gradient into grad (m entries). */
typedef double (*mmdx_lbfgs_fn)(void *ctx, const double *theta, double *grad);

typedef struct mmdx_lbfgs_result {
    int iterations;
    int evaluations;
    double f;
    double grad_max;
    int converged;
} mmdx_lbfgs_result;

/**
 * Minimise fn from theta (updated in place, m entries) until max|grad| <= tol
 * or max_iter iterations, keeping `history` correction pairs. The line search
 * backtracks from the unit step until the Armijo condition holds; pairs
 * violating the curvature condition are skipped. Errors: MMDX_ENOMEM,
 * MMDX_EINVAL (a non-finite objective at the start).
 */
MMDX_RESULT_USED int mmdx_lbfgs_minimize(double *theta, size_t m, mmdx_lbfgs_fn fn, void *ctx,
                                         int max_iter, double tol, int history,
                                         mmdx_lbfgs_result *res, mmdx_error *err);

#endif
