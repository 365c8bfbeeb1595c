/* SPDX-License-Identifier: Apache-2.0 */
/* Exact top-k by inner product: sgemm tiles, a k-heap per query, OpenMP over blocks of queries. */
#include "exact.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "error.h"

/* A tile of similarities (queries x rows) of at most this many floats
 * (4 MiB, one per thread): small enough to stay in the last-level cache
 * between the product and the heap scan, large enough that sgemm runs at
 * speed. */
#define TILE_FLOATS ((size_t)1 << 20)
#define MAX_QUERY_BLOCK 256
#define MIN_ROW_BLOCK 1024

/* Each query's k-heap lives in the caller's output arrays: a min-heap whose
 * root is the worst kept row (lowest similarity; among equal ones the
 * highest id). */
static int worse(float sa, int64_t ia, float sb, int64_t ib) { return sa < sb || (sa == sb && ia > ib); }

static void swap(float *s, int64_t *id, size_t a, size_t b)
{
    float ts = s[a];
    int64_t ti = id[a];
    s[a] = s[b];
    id[a] = id[b];
    s[b] = ts;
    id[b] = ti;
}

static void sift_down(float *s, int64_t *id, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(s[l], id[l], s[m], id[m]))
            m = l;
        if (r < n && worse(s[r], id[r], s[m], id[m]))
            m = r;
        if (m == i)
            return;
        swap(s, id, i, m);
        i = m;
    }
}

static void sift_up(float *s, int64_t *id, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!worse(s[i], id[i], s[p], id[p]))
            return;
        swap(s, id, i, p);
        i = p;
    }
}

/* Offer the rows first..first+len-1 of one query's similarities. Rows arrive
 * in increasing id order, so a row tying the root has the higher id and loses:
 * once the heap is full only a strictly greater similarity enters. */
static void offer(const float *row, size_t len, int64_t first, size_t k, float *s, int64_t *id, size_t *count)
{
    size_t c = *count, j = 0;
    for (; j < len && c < k; j++) {
        if (isnan(row[j]))
            continue;
        s[c] = row[j];
        id[c] = first + (int64_t)j;
        sift_up(s, id, c);
        c++;
    }
    *count = c;
    if (c < k)
        return;
    float root = s[0];
    for (; j < len; j++) {
        if (row[j] > root) {
            s[0] = row[j];
            id[0] = first + (int64_t)j;
            sift_down(s, id, k, 0);
            root = s[0];
        }
    }
}

/* Heap to best-first order, then padding. */
static void finish(size_t k, size_t count, float *s, int64_t *id)
{
    for (size_t n = count; n > 1; n--) {
        swap(s, id, 0, n - 1);
        sift_down(s, id, n - 1, 0);
    }
    for (size_t j = count; j < k; j++) {
        s[j] = -INFINITY;
        id[j] = -1;
    }
}

/* One block of qb queries against all n rows, serially: tile by tile, the
 * product then the heap scan while the tile is still in cache. */
static void search_block(const float *x, size_t n, uint32_t dim, const float *q, size_t qb, size_t k,
                         int64_t *ids, float *sims, float *tile, size_t rb_max, size_t *count)
{
    for (size_t i = 0; i < qb; i++)
        count[i] = 0;
    for (size_t r0 = 0; r0 < n; r0 += rb_max) {
        size_t rb = n - r0 < rb_max ? n - r0 : rb_max;
        /* tile (qb x rb) = Q_block (qb x dim) * X_block^T (dim x rb) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)qb, (int)rb, (int)dim, 1.0f, q, (int)dim,
                    x + r0 * dim, (int)dim, 0.0f, tile, (int)rb);
        for (size_t i = 0; i < qb; i++)
            offer(tile + i * rb, rb, (int64_t)r0, k, sims + i * k, ids + i * k, &count[i]);
    }
    for (size_t i = 0; i < qb; i++)
        finish(k, count[i], sims + i * k, ids + i * k);
}

int mmdx_exact_search(const float *x, size_t n, uint32_t dim, const float *q, size_t nq, size_t k, int64_t *ids,
                      float *sims)
{
    if (k == 0)
        return mmdx_fail(MMDX_EINVAL, "exact search: k must be at least 1");
    if (dim == 0 || dim > INT_MAX)
        return mmdx_fail(MMDX_EINVAL, "exact search: dimension %u out of range", dim);
    if (nq == 0)
        return 0;
    if (nq > SIZE_MAX / k)
        return mmdx_fail(MMDX_EINVAL, "exact search: %zu queries x k = %zu is too large", nq, k);
    if (!q || !ids || !sims || (n > 0 && !x))
        return mmdx_fail(MMDX_EINVAL, "exact search: NULL array");

    /* query blocks: at least one per thread when there are enough queries */
    size_t threads = (size_t)omp_get_max_threads();
    size_t qb_max = (nq + threads - 1) / threads;
    if (qb_max > MAX_QUERY_BLOCK)
        qb_max = MAX_QUERY_BLOCK;
    size_t rb_max = TILE_FLOATS / qb_max;
    if (rb_max < MIN_ROW_BLOCK)
        rb_max = MIN_ROW_BLOCK;
    if (rb_max > n)
        rb_max = n > 0 ? n : 1;
    long long blocks = (long long)((nq + qb_max - 1) / qb_max);
    int failed = 0;
#pragma omp parallel if (blocks > 1) reduction(|| : failed)
    {
        float *tile = malloc(qb_max * rb_max * sizeof *tile);
        size_t *count = malloc(qb_max * sizeof *count);
        failed = !tile || !count;
#pragma omp for schedule(dynamic)
        for (long long b = 0; b < blocks; b++) {
            size_t q0 = (size_t)b * qb_max, qb = nq - q0 < qb_max ? nq - q0 : qb_max;
            if (!failed)
                search_block(x, n, dim, q + q0 * dim, qb, k, ids + q0 * k, sims + q0 * k, tile, rb_max, count);
        }
        free(tile);
        free(count);
    }
    if (failed)
        return mmdx_fail(MMDX_ENOMEM, "exact search: out of memory for a %zu x %zu tile", qb_max, rb_max);
    return 0;
}
