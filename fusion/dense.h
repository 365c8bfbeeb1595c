/*
 * fusion/dense.h — the dense matrix products of the joint fusion network:
 * one call, two engines (plain loops parallel over output rows with
 * OpenMP, or OpenBLAS's CBLAS), so that the benchmark can measure both.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Row-major. C = alpha * op(A) * op(B) + beta * C with op(X) = X or X^T,
 * C m x n, op(A) m x k, op(B) k x n. The loop engine computes each element
 * of C in one thread, in a fixed order: its result does not depend on the
 * thread count. CBLAS (OpenBLAS, single-threaded) gets blocks of C's rows,
 * one per thread: reproducible for a fixed thread count.
 */
#ifndef MMDX_FUSION_DENSE_H
#define MMDX_FUSION_DENSE_H

#include <stddef.h>

typedef enum mmdx_dense_engine { MMDX_DENSE_LOOPS = 0, MMDX_DENSE_BLAS = 1 } mmdx_dense_engine;

void mmdx_dense_gemm(mmdx_dense_engine engine, int n_threads, int trans_a, int trans_b, size_t m, size_t n,
                     size_t k, double alpha, const double *a, size_t lda, const double *b, size_t ldb,
                     double beta, double *c, size_t ldc);

/** Whether this build has the CBLAS engine. */
int mmdx_dense_have_blas(void);

/**
 * Make OpenBLAS single-threaded (process-wide): the callers parallelise
 * over blocks of rows themselves, and OpenBLAS's own threads on small
 * products only oversubscribe the cores (measured in docs/BENCHMARKS.md).
 */
void mmdx_dense_blas_single_threaded(void);

#endif
