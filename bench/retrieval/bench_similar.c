/*
 * bench/retrieval/bench_similar.c — similar-patient search at a million
 * patients: the FAISS HNSW index of retrieval/ann.h against the exact search
 * of retrieval/exact.h, on clustered unit vectors. Driven by run.sh, which
 * runs scikit-learn (peer_sklearn.py) on the same files in the same run.
 * SPDX-License-Identifier: Apache-2.0
 *
 *   bench_retrieval_similar gen   DIR [N] [NQ]   write DIR/base.f32 (N x 32), DIR/queries.f32 (NQ x 32)
 *   bench_retrieval_similar exact DIR            time exact search; write DIR/exact.i64 (NQ x 10 ids)
 *   bench_retrieval_similar ann   DIR            build, save, load, time the HNSW index; recall@10
 *                                                against DIR/exact.i64
 *
 * The vectors: a mixture of 1,000 Gaussian clusters in 32 dimensions (centres
 * uniform on the sphere, unequal log-normal weights and spreads), each point
 * normalised — a cohort of patient embeddings rather than uniform noise.
 * Seeded, one generator stream per row: the same files on every machine.
 * Prints "key value" lines (times in seconds, rates per second); run.sh
 * measures each process's peak memory with GNU time.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ann.h"
#include "error.h"
#include "exact.h"
#include "rng.h"
#include "vector.h"

#define DIM 32
#define K 10
#define CLUSTERS 1000
#define SEED 20261204u

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_retrieval_similar: %s: %s\n", what, mmdx_last_error());
    exit(1);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p)
        exit(1);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void write_file(const char *dir, const char *name, const void *data, size_t bytes)
{
    char *path = join(dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, bytes, f) != bytes || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    free(path);
}

static void *read_file(const char *dir, const char *name, size_t *bytes)
{
    char *path = join(dir, name);
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        perror(path);
        exit(1);
    }
    *bytes = (size_t)st.st_size;
    void *data = malloc(*bytes ? *bytes : 1);
    if (!data || fread(data, 1, *bytes, f) != *bytes) {
        fprintf(stderr, "%s: read error\n", path);
        exit(1);
    }
    fclose(f);
    free(path);
    return data;
}

typedef struct mixture {
    float centre[CLUSTERS][DIM];
    double spread[CLUSTERS]; /* per-component standard deviation */
    double cum[CLUSTERS];    /* cumulative weights */
} mixture;

static void mixture_init(mixture *m)
{
    mmdx_rng r;
    mmdx_rng_seed(&r, SEED);
    double total = 0;
    for (int c = 0; c < CLUSTERS; c++) {
        for (int j = 0; j < DIM; j++)
            m->centre[c][j] = (float)mmdx_rng_normal(&r);
        (void)mmdx_vec_normalise(m->centre[c], DIM);
        /* noise of norm about 0.3..0.8 against the centre's 1 */
        m->spread[c] = (0.05 + 0.1 * mmdx_rng_uniform(&r));
        total += exp(0.7 * mmdx_rng_normal(&r));
        m->cum[c] = total;
    }
    for (int c = 0; c < CLUSTERS; c++)
        m->cum[c] /= total;
}

/* Rows first..first+n-1 of a stream family: row i from its own stream. */
static void draw(const mixture *m, uint64_t family, size_t n, float *x)
{
    long long nn = (long long)n;
#pragma omp parallel for schedule(static)
    for (long long ii = 0; ii < nn; ii++) {
        mmdx_rng r;
        mmdx_rng_seed_stream(&r, SEED + family, (uint64_t)ii);
        double u = mmdx_rng_uniform(&r);
        size_t lo = 0, hi = CLUSTERS - 1;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (m->cum[mid] > u)
                hi = mid;
            else
                lo = mid + 1;
        }
        float *v = x + (size_t)ii * DIM;
        for (int j = 0; j < DIM; j++)
            v[j] = m->centre[lo][j] + (float)(m->spread[lo] * mmdx_rng_normal(&r));
        (void)mmdx_vec_normalise(v, DIM);
    }
}

static int gen(const char *dir, size_t n, size_t nq)
{
    mixture *m = malloc(sizeof *m);
    float *x = malloc(n * DIM * sizeof *x), *q = malloc(nq * DIM * sizeof *q);
    if (!m || !x || !q)
        return 1;
    mixture_init(m);
    draw(m, 1, n, x);
    draw(m, 2, nq, q);
    write_file(dir, "base.f32", x, n * DIM * sizeof *x);
    write_file(dir, "queries.f32", q, nq * DIM * sizeof *q);
    printf("rows %zu\nqueries %zu\n", n, nq);
    free(m);
    free(x);
    free(q);
    return 0;
}

static float *load_rows(const char *dir, const char *name, size_t *n)
{
    size_t bytes;
    float *x = read_file(dir, name, &bytes);
    *n = bytes / (DIM * sizeof *x);
    return x;
}

/* queries per second, one call per query */
static double one_at_a_time(int (*search)(const void *, const float *, int64_t *, float *), const void *ctx,
                            const float *q, size_t nq)
{
    int64_t ids[K];
    float sims[K];
    double t0 = now();
    for (size_t i = 0; i < nq; i++)
        if (search(ctx, q + i * DIM, ids, sims) < 0)
            die("search");
    return (double)nq / (now() - t0);
}

typedef struct rows_ctx {
    const float *x;
    size_t n;
} rows_ctx;

static int exact_one(const void *ctx, const float *q, int64_t *ids, float *sims)
{
    const rows_ctx *c = ctx;
    return mmdx_exact_search(c->x, c->n, DIM, q, 1, K, ids, sims);
}

static int ann_one(const void *ctx, const float *q, int64_t *ids, float *sims)
{
    return mmdx_ann_search(ctx, q, 1, K, ids, sims);
}

static int exact(const char *dir)
{
    size_t n, nq;
    float *x = load_rows(dir, "base.f32", &n), *q = load_rows(dir, "queries.f32", &nq);
    int64_t *ids = malloc(nq * K * sizeof *ids);
    float *sims = malloc(nq * K * sizeof *sims);
    double t0 = now();
    if (mmdx_exact_search(x, n, DIM, q, nq, K, ids, sims) < 0)
        die("exact search");
    double batched = (double)nq / (now() - t0);
    rows_ctx c = {x, n};
    double single = one_at_a_time(exact_one, &c, q, nq);
    write_file(dir, "exact.i64", ids, nq * K * sizeof *ids);
    printf("exact_batched_qps %.1f\nexact_single_qps %.1f\n", batched, single);
    free(x);
    free(q);
    free(ids);
    free(sims);
    return 0;
}

static double recall(const int64_t *ids, const int64_t *truth, size_t nq)
{
    size_t hit = 0;
    for (size_t i = 0; i < nq; i++)
        for (size_t j = 0; j < K; j++)
            for (size_t t = 0; t < K; t++)
                hit += ids[i * K + j] >= 0 && ids[i * K + j] == truth[i * K + t];
    return (double)hit / (double)(nq * K);
}

static int ann(const char *dir)
{
    size_t n, nq, tbytes;
    float *x = load_rows(dir, "base.f32", &n), *q = load_rows(dir, "queries.f32", &nq);
    int64_t *truth = read_file(dir, "exact.i64", &tbytes);
    if (tbytes != nq * K * sizeof *truth) {
        fprintf(stderr, "exact.i64 does not match the queries: run `exact` first\n");
        return 1;
    }
    mmdx_ann *a, *b;
    double t0 = now();
    if (mmdx_ann_new(&a, DIM, NULL) < 0 || mmdx_ann_add(a, x, n) < 0)
        die("build");
    double build = now() - t0;
    free(x); /* the index holds its own copy */
    char *path = join(dir, "index.ann");
    if (mmdx_ann_save(a, path) < 0)
        die("save");
    mmdx_ann_free(a);
    struct stat st;
    if (stat(path, &st) != 0)
        return 1;
    t0 = now();
    if (mmdx_ann_load(&b, path, DIM, NULL) < 0)
        die("load");
    double load = now() - t0;
    int64_t *ids = malloc(nq * K * sizeof *ids);
    float *sims = malloc(nq * K * sizeof *sims);
    t0 = now();
    if (mmdx_ann_search(b, q, nq, K, ids, sims) < 0)
        die("search");
    double batched = (double)nq / (now() - t0);
    double single = one_at_a_time(ann_one, b, q, nq);
    printf("ann_build_s %.2f\nann_load_s %.2f\nann_bytes_per_row %.1f\nann_batched_qps %.1f\n"
           "ann_single_qps %.1f\nann_recall10 %.4f\n",
           build, load, (double)st.st_size / (double)n, batched, single, recall(ids, truth, nq));
    mmdx_ann_free(b);
    free(path);
    free(q);
    free(truth);
    free(ids);
    free(sims);
    return 0;
}

static const char USAGE[] =
    "usage: bench_retrieval_similar gen DIR [N] [NQ]   write N stored and NQ query vectors (default 1000000 1000)\n"
    "       bench_retrieval_similar exact DIR         time exact search, write its top-10 (DIR/exact.i64)\n"
    "       bench_retrieval_similar ann DIR           build, save, load and time the FAISS index; recall@10\n"
    "Run by bench/retrieval/run.sh; prints \"key value\" lines.\n";

/* a count argument: absent gives the default, anything but a positive integer is refused */
static size_t count_arg(int argc, char **argv, int i, size_t def)
{
    if (argc <= i)
        return def;
    char *end;
    unsigned long long v = strtoull(argv[i], &end, 10);
    if (*end || v == 0 || argv[i][0] == '-') {
        fprintf(stderr, "bench_retrieval_similar: \"%s\" is not a positive count\n%s", argv[i], USAGE);
        exit(2);
    }
    return (size_t)v;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (argc >= 3 && argc <= 5 && strcmp(argv[1], "gen") == 0)
        return gen(argv[2], count_arg(argc, argv, 3, 1000000), count_arg(argc, argv, 4, 1000));
    if (argc == 3 && strcmp(argv[1], "exact") == 0)
        return exact(argv[2]);
    if (argc == 3 && strcmp(argv[1], "ann") == 0)
        return ann(argv[2]);
    fputs(USAGE, stderr);
    return 2;
}
