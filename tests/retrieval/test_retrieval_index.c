/* SPDX-License-Identifier: Apache-2.0 */
/* Exact search against a double-precision brute force; the FAISS index's recall, growth and files. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ann.h"
#include "error.h"
#include "exact.h"
#include "index_file.h"
#include "testsupport.h"

static uint64_t rng_state;

static double uniform(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* n unit vectors around `clusters` centres (clusters 0: uniform directions). */
static float *vectors(size_t n, uint32_t d, size_t clusters, uint64_t seed)
{
    rng_state = seed;
    float *c = malloc((clusters ? clusters : 1) * d * sizeof *c), *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < (clusters ? clusters : 1) * d; i++)
        c[i] = (float)(uniform() * 2 - 1);
    for (size_t i = 0; i < n; i++) {
        double n2 = 0;
        size_t k = clusters ? (size_t)(uniform() * clusters) % clusters : 0;
        for (uint32_t j = 0; j < d; j++) {
            double v = (clusters ? c[k * d + j] : 0) + (uniform() * 2 - 1) * (clusters ? 0.4 : 1);
            x[i * d + j] = (float)v;
            n2 += v * v;
        }
        for (uint32_t j = 0; j < d; j++)
            x[i * d + j] = (float)(x[i * d + j] / sqrt(n2));
    }
    free(c);
    return x;
}

/* The reference: every similarity in double, sorted, ties by row. */
static void brute(const float *x, size_t n, uint32_t d, const float *q, size_t k, int64_t *ids)
{
    double *best = malloc(k * sizeof *best);
    for (size_t j = 0; j < k; j++) {
        best[j] = -INFINITY;
        ids[j] = -1;
    }
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (uint32_t c = 0; c < d; c++)
            s += (double)x[i * d + c] * q[c];
        s = (float)s; /* compared at float precision, as the search keeps them */
        size_t pos = k;
        while (pos > 0 && (s > best[pos - 1] || ids[pos - 1] < 0))
            pos--;
        if (pos == k)
            continue;
        memmove(best + pos + 1, best + pos, (k - pos - 1) * sizeof *best);
        memmove(ids + pos + 1, ids + pos, (k - pos - 1) * sizeof *ids);
        best[pos] = s;
        ids[pos] = (int64_t)i;
    }
    free(best);
}

START_TEST(exact_equals_brute_force)
{
    static const struct { size_t n; uint32_t d; size_t k; } cases[] = {
        {1000, 32, 10}, {5000, 8, 1}, {7, 32, 10}, {300, 1, 5}, {9000, 17, 25}};
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        size_t n = cases[t].n, k = cases[t].k, nq = 70;
        uint32_t d = cases[t].d;
        float *x = vectors(n, d, 20, 11 + t), *q = vectors(nq, d, 20, 99 + t);
        int64_t *ids = malloc(nq * k * sizeof *ids), *ref = malloc(k * sizeof *ref);
        float *sims = malloc(nq * k * sizeof *sims);
        ck_assert_int_eq(mmdx_exact_search(x, n, d, q, nq, k, ids, sims), 0);
        for (size_t a = 0; a < nq; a++) {
            brute(x, n, d, q + a * d, k, ref);
            for (size_t j = 0; j < k; j++) {
                if (ref[j] < 0) {
                    ck_assert_int_eq(ids[a * k + j], -1);
                    ck_assert(isinf(sims[a * k + j]));
                    continue;
                }
                /* the same row, or one of exactly the same similarity (a float tie) */
                if (ids[a * k + j] != ref[j]) {
                    double s1 = 0, s2 = 0;
                    for (uint32_t c = 0; c < d; c++) {
                        s1 += (double)x[ids[a * k + j] * d + c] * q[a * d + c];
                        s2 += (double)x[ref[j] * d + c] * q[a * d + c];
                    }
                    ck_assert_msg(fabs(s1 - s2) < 1e-6, "case %zu query %zu rank %zu: row %lld, expected %lld", t, a,
                                  j, (long long)ids[a * k + j], (long long)ref[j]);
                }
                if (j)
                    ck_assert(sims[a * k + j] <= sims[a * k + j - 1]);
            }
        }
        free(x);
        free(q);
        free(ids);
        free(ref);
        free(sims);
    }
    float one = 1;
    int64_t id;
    float s;
    ck_assert_int_eq(mmdx_exact_search(&one, 1, 1, &one, 1, 0, &id, &s), MMDX_EINVAL);
}
END_TEST

/* duplicates: ties go to the lower row */
START_TEST(exact_ties_by_row)
{
    float x[6 * 2] = {1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0}, q[2] = {1, 0};
    int64_t ids[4];
    float s[4];
    ck_assert_int_eq(mmdx_exact_search(x, 6, 2, q, 1, 4, ids, s), 0);
    ck_assert_int_eq(ids[0], 0);
    ck_assert_int_eq(ids[1], 2);
    ck_assert_int_eq(ids[2], 3);
    ck_assert_int_eq(ids[3], 5);
}
END_TEST

static double recall(const int64_t *got, const int64_t *want, size_t nq, size_t k)
{
    size_t hit = 0;
    for (size_t a = 0; a < nq; a++)
        for (size_t j = 0; j < k; j++)
            for (size_t i = 0; i < k; i++)
                if (got[a * k + i] == want[a * k + j]) {
                    hit++;
                    break;
                }
    return (double)hit / (double)(nq * k);
}

START_TEST(index_recall_growth_and_files)
{
    const size_t n = 20000, nq = 200, k = 10;
    const uint32_t d = 32;
    float *x = vectors(n, d, 200, 5), *q = vectors(nq, d, 200, 6);
    int64_t *want = malloc(nq * k * sizeof *want), *got = malloc(nq * k * sizeof *got),
            *got2 = malloc(nq * k * sizeof *got2);
    float *s = malloc(nq * k * sizeof *s), *s2 = malloc(nq * k * sizeof *s2);
    ck_assert_int_eq(mmdx_exact_search(x, n, d, q, nq, k, want, s), 0);
    mmdx_ann *a;
    ck_assert_int_eq(mmdx_ann_new(&a, d, NULL), 0);
    /* grown in two steps, as new predictions arrive: ids are the rows in order */
    ck_assert_int_eq(mmdx_ann_add(a, x, n / 2), 0);
    ck_assert_int_eq(mmdx_ann_add(a, x + n / 2 * d, n - n / 2), 0);
    ck_assert_uint_eq(mmdx_ann_count(a), n);
    ck_assert_int_eq(mmdx_ann_search(a, q, nq, k, got, s), 0);
    double r = recall(got, want, nq, k);
    ck_assert_msg(r >= 0.95, "recall@10 %.3f", r);
    /* saved and loaded: the same answers */
    char *tmp = mmdx_test_tmpdir(), path[4096];
    snprintf(path, sizeof path, "%s/i.faiss", tmp);
    ck_assert_int_eq(mmdx_ann_save(a, path), 0);
    mmdx_ann *b;
    ck_assert_int_eq(mmdx_ann_load(&b, path, d, NULL), 0);
    ck_assert_int_eq(mmdx_ann_search(b, q, nq, k, got2, s2), 0);
    ck_assert_int_eq(memcmp(got, got2, nq * k * sizeof *got), 0);
    mmdx_ann_free(b);
    /* the wrong size, a missing file, a damaged one */
    ck_assert_int_eq(mmdx_ann_load(&b, path, 16, NULL), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "i.faiss"));
    snprintf(path, sizeof path, "%s/none.faiss", tmp);
    ck_assert_int_eq(mmdx_ann_load(&b, path, d, NULL), MMDX_ENOTFOUND);
    snprintf(path, sizeof path, "%s/bad.faiss", tmp);
    /* (a file with FAISS's own header but broken inside makes FAISS itself leak what it read
     * so far; mmdx never hands it one: the index record's SHA-256 is checked first, below) */
    mmdx_test_write_file(path, "this is not an index at all");
    ck_assert_int_eq(mmdx_ann_load(&b, path, d, NULL), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "bad.faiss"));
    ck_assert_int_eq(mmdx_ann_search(a, q, 1, 0, got, s), MMDX_EINVAL);

    /* the index with its row record: saved, loaded, refused when they do not belong together */
    mmdx_index_file f;
    mmdx_index_rows rows = {0}, back;
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(mmdx_index_rows_push(&rows, (int64_t)(3 * i + 7)), 0);
    ck_assert_int_eq(mmdx_index_file_open(&f, tmp, "mmdx-audit/x", "ab", "fused"), 0);
    ck_assert_int_eq(mmdx_index_file_save(&f, a, &rows), 0);
    mmdx_ann *c;
    ck_assert_int_eq(mmdx_index_file_load(&f, d, &c, &back), 0);
    ck_assert_uint_eq(back.n, n);
    ck_assert_int_eq(back.last_seq, rows.last_seq);
    ck_assert_int_eq(memcmp(back.seq, rows.seq, n * sizeof *rows.seq), 0);
    mmdx_ann_free(c);
    mmdx_index_rows_free(&back);
    /* another index in its place: the record names a different file hash */
    ck_assert_int_eq(mmdx_ann_add(a, x, 1), 0);
    char ip[4200];
    snprintf(ip, sizeof ip, "%s.faiss", f.base);
    ck_assert_int_eq(mmdx_ann_save(a, ip), 0);
    ck_assert_int_eq(mmdx_index_file_load(&f, d, &c, &back), MMDX_EFORMAT);
    ck_assert_ptr_null(c);
    mmdx_index_file_close(&f);
    /* a folder others may write is refused */
    char open_dir[4096];
    snprintf(open_dir, sizeof open_dir, "%s/shared", tmp);
    ck_assert_int_eq(mmdx_index_file_open(&f, open_dir, "o", "m", "fused"), 0);
    mmdx_index_file_close(&f);
    ck_assert_int_eq(chmod(open_dir, 0777), 0);
    ck_assert_int_eq(mmdx_index_file_open(&f, open_dir, "o", "m", "fused"), MMDX_EPERM);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "writable by others"));
    mmdx_index_rows_free(&rows);
    mmdx_ann_free(a);
    mmdx_test_rmtree(tmp);
    free(tmp);
    free(x);
    free(q);
    free(want);
    free(got);
    free(got2);
    free(s);
    free(s2);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("retrieval_index");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, exact_equals_brute_force);
    tcase_add_test(t, exact_ties_by_row);
    tcase_add_test(t, index_recall_growth_and_files);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return mmdx_test_run_suite(suite());
}
