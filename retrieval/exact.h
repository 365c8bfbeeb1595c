/*
 * retrieval/exact.h — exact top-k by inner product (cosine on unit vectors),
 * the reference the index is measured against and the search of small
 * candidate sets. Blocks of similarities through OpenBLAS's sgemm, a k-heap
 * per query; memory bounded by the block, not by n x nq.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_RETRIEVAL_EXACT_H
#define MMDX_RETRIEVAL_EXACT_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"

/**
 * For each of nq queries (nq x dim) the k rows of x (n x dim) of largest
 * inner product: ids[q*k+j], sims[q*k+j], best first, ties by the lower id;
 * id -1 and sim -INFINITY where n < k. MMDX_EINVAL (k == 0), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_exact_search(const float *x, size_t n, uint32_t dim, const float *q, size_t nq, size_t k,
                                       int64_t *ids, float *sims);

#endif
