/*
 * retrieval/vector.h — L2 normalisation, the one place vectors of the shared
 * space are made unit length (inner product is then the cosine similarity):
 * patients' vectors (space.c), the benchmark's and the tests' data.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Norms are computed in double. A vector of norm 0, or with a non-finite
 * component, has no direction: it is left unchanged (or not added) and the
 * caller decides what that means. Pure and thread-safe.
 */
#ifndef MMDX_RETRIEVAL_VECTOR_H
#define MMDX_RETRIEVAL_VECTOR_H

#include <stddef.h>
#include <stdint.h>

/** Scale v (dim floats) in place to unit length. 1 when scaled; 0 when v has no direction (v unchanged). */
int mmdx_vec_normalise(float *v, uint32_t dim);

/** mmdx_vec_normalise() on each of the n rows of x (n x dim floats); OpenMP-parallel for large x. */
void mmdx_vec_normalise_rows(float *x, size_t n, uint32_t dim);

/** acc += v / |v| (dim doubles each). 1 when added; 0 when v has no direction (acc unchanged). */
int mmdx_vec_add_unit(double *acc, const double *v, uint32_t dim);

#endif
