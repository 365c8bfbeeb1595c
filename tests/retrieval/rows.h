/*
 * tests/retrieval/rows.h — the retrieval tests' data: seeded random rows and
 * a double-precision inner product.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_TEST_RETRIEVAL_ROWS_H
#define MMDX_TEST_RETRIEVAL_ROWS_H

#include <stddef.h>
#include <stdint.h>

/** n x dim standard normal components (unit: each row L2-normalised), malloc'd; aborts the test on failure. */
float *mmdx_test_rows(size_t n, uint32_t dim, uint64_t seed, int unit);

/** The inner product of a and b (dim floats each), in double. */
double mmdx_test_dot(const float *a, const float *b, uint32_t dim);

#endif
