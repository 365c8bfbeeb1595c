/*
 * fusion/folds.h — stratified K-fold assignment.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_FUSION_FOLDS_H
#define MMDX_FUSION_FOLDS_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"

/**
 * Assign each of n samples (labels 0/1) to one of k folds so that every fold
 * gets the same share of each class (to within one sample): each class is
 * shuffled with the seed and dealt round-robin, the positives continuing where
 * the negatives stopped. fold[] receives values in [0, k). Deterministic for
 * a given seed. Needs k >= 2 and at least k samples of each class.
 * Errors: MMDX_EINVAL (message in err).
 */
MMDX_RESULT_USED int mmdx_folds_stratified(uint32_t *fold, const int32_t *labels, size_t n,
                                           unsigned k, uint64_t seed, mmdx_error *err);

#endif
