/* SPDX-License-Identifier: Apache-2.0 */
/* Exact top-k by inner product: sgemm over blocks of rows, a min-heap of the k best per query. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "error.h"
#include "exact.h"

#define BLOCK_ROWS 4096
#define BLOCK_QUERIES 64

/* a is worse than b: lower similarity, or equal and a later row */
static int worse(float sa, int64_t ia, float sb, int64_t ib)
{
    return sa < sb || (sa == sb && ia > ib);
}

/* The heap keeps the worst of the k best at the root. */
static void sift_down(float *s, int64_t *id, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && worse(s[l], id[l], s[w], id[w]))
            w = l;
        if (r < n && worse(s[r], id[r], s[w], id[w]))
            w = r;
        if (w == i)
            return;
        float ts = s[i];
        s[i] = s[w];
        s[w] = ts;
        int64_t ti = id[i];
        id[i] = id[w];
        id[w] = ti;
        i = w;
    }
}

static void offer(float *s, int64_t *id, size_t k, float sim, int64_t row)
{
    if (!worse(s[0], id[0], sim, row))
        return;
    s[0] = sim;
    id[0] = row;
    sift_down(s, id, k, 0);
}

int mmdx_exact_search(const float *x, size_t n, uint32_t dim, const float *q, size_t nq, size_t k, int64_t *ids,
                      float *sims)
{
    if (k == 0 || dim == 0)
        return mmdx_fail(MMDX_EINVAL, "exact search: k and the dimension must be at least 1");
    for (size_t i = 0; i < nq * k; i++) {
        sims[i] = -INFINITY;
        ids[i] = -1; /* -1 is "worse" than every row at -inf: a real row always displaces it */
    }
    int rc = 0;
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t q0 = 0; q0 < nq; q0 += BLOCK_QUERIES) {
        size_t mq = nq - q0 < BLOCK_QUERIES ? nq - q0 : BLOCK_QUERIES;
        float *block = malloc((size_t)BLOCK_ROWS * mq * sizeof *block);
        if (!block) {
#pragma omp atomic write
            rc = MMDX_ENOMEM;
            continue;
        }
        for (size_t r0 = 0; r0 < n; r0 += BLOCK_ROWS) {
            size_t mr = n - r0 < BLOCK_ROWS ? n - r0 : BLOCK_ROWS;
            /* block (mq x mr) = Q (mq x dim) . X^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mq, (int)mr, (int)dim, 1.0f, q + q0 * dim,
                        (int)dim, x + r0 * dim, (int)dim, 0.0f, block, (int)mr);
            for (size_t a = 0; a < mq; a++)
                for (size_t b = 0; b < mr; b++)
                    offer(sims + (q0 + a) * k, ids + (q0 + a) * k, k, block[a * mr + b], (int64_t)(r0 + b));
        }
        free(block);
        /* heap -> best first: pop the worst to the back */
        for (size_t a = 0; a < mq; a++) {
            float *s = sims + (q0 + a) * k;
            int64_t *id = ids + (q0 + a) * k;
            for (size_t m = k; m > 1; m--) {
                float ts = s[0];
                s[0] = s[m - 1];
                s[m - 1] = ts;
                int64_t ti = id[0];
                id[0] = id[m - 1];
                id[m - 1] = ti;
                sift_down(s, id, m - 1, 0);
            }
        }
    }
    return rc ? mmdx_fail(MMDX_ENOMEM, "exact search: out of memory") : 0;
}
