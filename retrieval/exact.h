/*
 * retrieval/exact.h — exact top-k search by inner product (cosine on unit
 * vectors): the search of `mmdx similar --search exact` and of cohorts too
 * small for the index, and the reference the index of ann.h is measured
 * against.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Similarities are computed in tiles with OpenBLAS's cblas_sgemm (float32,
 * as stored) and scanned into a k-heap per query while the tile is in cache,
 * so memory stays bounded (a tile of at most 4 MiB per thread, besides the
 * caller's arrays) whatever n and nq are. Thread-safe: nothing is shared
 * between calls.
 */
#ifndef MMDX_RETRIEVAL_EXACT_H
#define MMDX_RETRIEVAL_EXACT_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"

/**
 * The k rows of x (n x dim floats, row-major; ids 0..n-1) with the largest
 * inner product with each of nq queries (nq x dim floats), in the layout of
 * mmdx_ann_search(): ids[q*k+j] and sims[q*k+j], best first; ties go to the
 * lower id, so the result is deterministic; where n < k the rest is padded
 * with id -1 and similarity -INFINITY. A row whose similarity is NaN is
 * never returned (it counts as absent).
 *
 * x may be NULL when n == 0 (every slot padded); q, ids and sims may be NULL
 * when nq == 0. Parallel over blocks of queries with OpenMP, each thread
 * taking its tiles' products and heap scans in turn; with a single block (a
 * single query) OpenBLAS's own threads share the product. (Alternating
 * OpenBLAS's parallel products with OpenMP's parallel scans was 2-3 times
 * slower on 2 cores: each pool's spinning workers took the other's cores.)
 *
 * Errors: MMDX_EINVAL (k == 0, dim == 0 or above INT_MAX, nq * k
 * overflowing, a NULL array that is needed), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_exact_search(const float *x, size_t n, uint32_t dim, const float *q, size_t nq,
                                       size_t k, int64_t *ids, float *sims);

#endif
