/* SPDX-License-Identifier: Apache-2.0 */
#include "dense.h"

#include <string.h>

#ifdef MMDX_HAVE_CBLAS
#include <cblas.h>
#endif

void mmdx_dense_blas_single_threaded(void)
{
#ifdef MMDX_HAVE_CBLAS
    openblas_set_num_threads(1);
#endif
}

int mmdx_dense_have_blas(void)
{
#ifdef MMDX_HAVE_CBLAS
    return 1;
#else
    return 0;
#endif
}

/* C[i][:] for one output row i: the k-loop outermost so that the inner loop runs along a row of B. */
static void row_nn(size_t i, size_t n, size_t k, double alpha, const double *a, size_t lda, const double *b,
                   size_t ldb, double *ci)
{
    const double *ai = a + i * lda;
    for (size_t l = 0; l < k; l++) {
        double s = alpha * ai[l];
        if (s == 0.0)
            continue;
        const double *bl = b + l * ldb;
        for (size_t j = 0; j < n; j++)
            ci[j] += s * bl[j];
    }
}

static void loops(int n_threads, int ta, int tb, size_t m, size_t n, size_t k, double alpha, const double *a,
                  size_t lda, const double *b, size_t ldb, double beta, double *c, size_t ldc)
{
    long long mm = (long long)m;
    int nt = (n_threads > 1 && m * n * k > 32768) ? n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long long ii = 0; ii < mm; ii++) {
        size_t i = (size_t)ii;
        double *ci = c + i * ldc;
        if (beta == 0.0)
            memset(ci, 0, n * sizeof *ci);
        else if (beta != 1.0)
            for (size_t j = 0; j < n; j++)
                ci[j] *= beta;
        if (!ta && !tb) {
            row_nn(i, n, k, alpha, a, lda, b, ldb, ci);
        } else if (!ta && tb) { /* B^T: dot products of rows */
            const double *ai = a + i * lda;
            for (size_t j = 0; j < n; j++) {
                const double *bj = b + j * ldb;
                double s = 0;
                for (size_t l = 0; l < k; l++)
                    s += ai[l] * bj[l];
                ci[j] += alpha * s;
            }
        } else if (ta && !tb) { /* A^T: column i of A against the rows of B */
            for (size_t l = 0; l < k; l++) {
                double s = alpha * a[l * lda + i];
                if (s == 0.0)
                    continue;
                const double *bl = b + l * ldb;
                for (size_t j = 0; j < n; j++)
                    ci[j] += s * bl[j];
            }
        } else {
            for (size_t j = 0; j < n; j++) {
                double s = 0;
                for (size_t l = 0; l < k; l++)
                    s += a[l * lda + i] * b[j * ldb + l];
                ci[j] += alpha * s;
            }
        }
    }
}

void mmdx_dense_gemm(mmdx_dense_engine engine, int n_threads, int trans_a, int trans_b, size_t m, size_t n,
                     size_t k, double alpha, const double *a, size_t lda, const double *b, size_t ldb,
                     double beta, double *c, size_t ldc)
{
    if (m == 0 || n == 0)
        return;
#ifdef MMDX_HAVE_CBLAS
    if (engine == MMDX_DENSE_BLAS && k > 0) {
        /* OpenBLAS runs single-threaded (mmdx_dense_blas_single_threaded); the threads split C's rows */
        int nt = (n_threads > 1 && m >= 16 && m * n * k > 32768) ? n_threads : 1;
        long long blocks = nt, mm = (long long)m;
#pragma omp parallel for num_threads(nt) schedule(static)
        for (long long bi = 0; bi < blocks; bi++) {
            size_t i0 = (size_t)(bi * mm / blocks), i1 = (size_t)((bi + 1) * mm / blocks);
            if (i1 > i0)
                cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                            (int)(i1 - i0), (int)n, (int)k, alpha, trans_a ? a + i0 : a + i0 * lda, (int)lda, b,
                            (int)ldb, beta, c + i0 * ldc, (int)ldc);
        }
        return;
    }
#else
    (void)engine;
#endif
    loops(n_threads, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
