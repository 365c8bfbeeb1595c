/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Retrieval at scale: N stored 32-d embeddings (a seeded mixture of 1,000
 * clusters, unit length, like patients' fused vectors) and Q queries drawn
 * the same way. Times exact search (batched), the FAISS HNSW build, FAISS
 * search (batched and one query at a time), recall@10 of FAISS against
 * exact, and the saved index's bytes per stored patient. Writes the vectors
 * and the exact top-10 to OUT for bench/retrieval/sklearn_nn.py.
 *
 *   bench_similar OUT [N] [Q]      (defaults 1000000 1000)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ann.h"
#include "exact.h"

#define DIM 32
#define K 10
#define CLUSTERS 1000

static uint64_t st = 88172645463325252ull;

static double uniform(void)
{
    st ^= st << 13;
    st ^= st >> 7;
    st ^= st << 17;
    return (double)(st >> 11) / 9007199254740992.0;
}

static double gauss(void)
{
    double u = uniform() + 1e-300, v = uniform();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static void draw(float *x, size_t n, const float *centres)
{
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)(uniform() * CLUSTERS) % CLUSTERS;
        double n2 = 0;
        for (int j = 0; j < DIM; j++) {
            double v = centres[c * DIM + j] + 0.35 * gauss();
            x[i * DIM + j] = (float)v;
            n2 += v * v;
        }
        for (int j = 0; j < DIM; j++)
            x[i * DIM + j] = (float)(x[i * DIM + j] / sqrt(n2));
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static void save(const char *dir, const char *name, const void *p, size_t bytes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, bytes, f) != bytes || fclose(f) != 0) {
        fprintf(stderr, "bench_similar: cannot write %s\n", path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_similar OUT [N] [Q]\n");
        return 2;
    }
    const char *out = argv[1];
    size_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000, nq = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000;
    float *centres = malloc((size_t)CLUSTERS * DIM * sizeof *centres), *x = malloc(n * DIM * sizeof *x),
          *q = malloc(nq * DIM * sizeof *q), *s = malloc(nq * K * sizeof *s);
    int64_t *exact = malloc(nq * K * sizeof *exact), *approx = malloc(nq * K * sizeof *approx);
    if (!centres || !x || !q || !s || !exact || !approx)
        return 1;
    for (size_t i = 0; i < (size_t)CLUSTERS * DIM; i++)
        centres[i] = (float)gauss();
    draw(x, n, centres);
    draw(q, nq, centres);
    mkdir(out, 0700);
    save(out, "x.f32", x, n * DIM * sizeof *x);
    save(out, "q.f32", q, nq * DIM * sizeof *q);

    double t0 = now();
    if (mmdx_exact_search(x, n, DIM, q, nq, K, exact, s) != 0)
        return 1;
    double t_exact = now() - t0;
    save(out, "exact_ids.i64", exact, nq * K * sizeof *exact);

    mmdx_ann *a;
    t0 = now();
    if (mmdx_ann_new(&a, DIM, NULL) != 0 || mmdx_ann_add(a, x, n) != 0)
        return 1;
    double t_build = now() - t0;
    t0 = now();
    if (mmdx_ann_search(a, q, nq, K, approx, s) != 0)
        return 1;
    double t_batch = now() - t0;
    t0 = now();
    for (size_t i = 0; i < nq; i++)
        if (mmdx_ann_search(a, q + i * DIM, 1, K, approx + i * K, s + i * K) != 0)
            return 1;
    double t_single = now() - t0;
    size_t hit = 0;
    for (size_t i = 0; i < nq; i++)
        for (int j = 0; j < K; j++)
            for (int m = 0; m < K; m++)
                if (approx[i * K + m] == exact[i * K + j]) {
                    hit++;
                    break;
                }
    char path[4096];
    snprintf(path, sizeof path, "%s/index.faiss", out);
    if (mmdx_ann_save(a, path) != 0)
        return 1;
    struct stat sb;
    stat(path, &sb);
    printf("{\"n\": %zu, \"queries\": %zu, \"exact_s\": %.4f, \"exact_qps\": %.1f, \"build_s\": %.3f, "
           "\"index_batch_qps\": %.1f, \"index_single_qps\": %.1f, \"recall_at_10\": %.4f, "
           "\"index_bytes_per_patient\": %.1f, \"raw_bytes_per_patient\": %d}\n",
           n, nq, t_exact, nq / t_exact, t_build, nq / t_batch, nq / t_single, (double)hit / (double)(nq * K),
           (double)sb.st_size / (double)n, DIM * 4);
    mmdx_ann_free(a);
    free(centres);
    free(x);
    free(q);
    free(s);
    free(exact);
    free(approx);
    return 0;
}
