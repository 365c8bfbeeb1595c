/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * retrieval/exact.h against a naive double-precision brute force on random
 * data (n < k, nothing stored, k = 1, dim = 1, several query blocks and row
 * tiles), exact ties broken by the lower id, NaN rows, bad arguments; and the
 * vector helpers of retrieval/vector.h. No timing is asserted
 * (bench/retrieval/ measures speed).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "exact.h"
#include "rng.h"
#include "rows.h"
#include "testsupport.h"
#include "vector.h"

typedef struct scored {
    double s;
    int64_t id;
} scored;

static int by_score(const void *pa, const void *pb)
{
    const scored *a = pa, *b = pb;
    if (a->s != b->s)
        return a->s > b->s ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* The reference: every similarity in double, sorted (ties by id), the first k. */
static void naive(const float *x, size_t n, uint32_t dim, const float *q, size_t nq, size_t k, int64_t *ids,
                  double *sims)
{
    scored *all = malloc((n ? n : 1) * sizeof *all);
    for (size_t i = 0; i < nq; i++) {
        for (size_t j = 0; j < n; j++)
            all[j] = (scored){mmdx_test_dot(q + i * dim, x + j * dim, dim), (int64_t)j};
        qsort(all, n, sizeof *all, by_score);
        for (size_t j = 0; j < k; j++) {
            ids[i * k + j] = j < n ? all[j].id : -1;
            sims[i * k + j] = j < n ? all[j].s : -INFINITY;
        }
    }
    free(all);
}

/* Small integers in -1..1: every product and sum is exact in float, so ties are real ties. */
static float *integer_rows(size_t n, uint32_t dim, mmdx_rng *r)
{
    float *x = malloc((n ? n : 1) * dim * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; i < n * dim; i++)
        x[i] = (float)mmdx_rng_below(r, 3) - 1.0f;
    return x;
}

/* Our result against the reference: the same ids, except (random data only)
 * where two rows' similarities are within float rounding of each other;
 * similarities to float precision; padding where n < k. */
static void check_exact(size_t n, uint32_t dim, size_t nq, size_t k, uint64_t seed, int exact_ties)
{
    float *x, *q;
    if (exact_ties) {
        mmdx_rng r;
        mmdx_rng_seed(&r, seed);
        x = integer_rows(n, dim, &r);
        q = integer_rows(nq, dim, &r);
    } else {
        x = mmdx_test_rows(n, dim, seed, 1);
        q = mmdx_test_rows(nq, dim, seed + 1, 1);
    }
    int64_t *ids = malloc(nq * k * sizeof *ids), *ref = malloc(nq * k * sizeof *ref);
    float *sims = malloc(nq * k * sizeof *sims);
    double *rsims = malloc(nq * k * sizeof *rsims);
    ck_assert_int_eq(mmdx_exact_search(n ? x : NULL, n, dim, q, nq, k, ids, sims), 0);
    naive(x, n, dim, q, nq, k, ref, rsims);
    for (size_t i = 0; i < nq * k; i++) {
        if (ref[i] < 0) {
            ck_assert_int_eq(ids[i], -1);
            ck_assert(isinf(sims[i]) && sims[i] < 0);
            continue;
        }
        ck_assert_int_ge(ids[i], 0);
        ck_assert_int_lt(ids[i], (int64_t)n);
        double mine = mmdx_test_dot(q + (i / k) * dim, x + (size_t)ids[i] * dim, dim);
        if (exact_ties)
            ck_assert_msg(ids[i] == ref[i], "n %zu query %zu rank %zu: id %lld, expected %lld", n, i / k, i % k,
                          (long long)ids[i], (long long)ref[i]);
        else if (ids[i] != ref[i])
            ck_assert_double_le(fabs(mine - rsims[i]), 1e-5);
        ck_assert_double_le(fabs((double)sims[i] - mine), 1e-5);
        if (i % k > 0)
            ck_assert_float_le(sims[i], sims[i - 1]);
    }
    free(x);
    free(q);
    free(ids);
    free(ref);
    free(sims);
    free(rsims);
}

START_TEST(exact_matches_naive)
{
    check_exact(1000, 32, 17, 10, 1, 0);
    check_exact(10000, 32, 300, 10, 2, 0); /* several query blocks and row tiles */
    check_exact(5, 32, 4, 10, 3, 0);       /* n < k: padding */
    check_exact(0, 8, 3, 4, 4, 0);         /* nothing to find */
    check_exact(2000, 32, 50, 1, 5, 0);    /* k = 1 */
    check_exact(500, 1, 20, 7, 6, 0);      /* dim = 1: only two directions */
}
END_TEST

START_TEST(exact_ties_go_to_the_lower_id)
{
    check_exact(700, 4, 40, 25, 7, 1);      /* many exact ties */
    check_exact(300, 1, 10, 300, 8, 1);     /* k = n, everything tied three ways */
    check_exact(20000, 3, 300, 50, 9, 1);   /* ties across row tiles and query blocks */
    /* duplicates, by hand */
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

START_TEST(exact_bad_arguments)
{
    float x[4] = {1, 0, 0, 1}, s[2];
    int64_t id[2];
    ck_assert_int_eq(mmdx_exact_search(x, 2, 2, x, 1, 0, id, s), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "k must be"));
    ck_assert_int_eq(mmdx_exact_search(x, 2, 0, x, 1, 1, id, s), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "dimension 0"));
    ck_assert_int_eq(mmdx_exact_search(NULL, 2, 2, x, 1, 1, id, s), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_exact_search(x, 2, 2, x, SIZE_MAX / 2, 4, id, s), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_exact_search(x, 2, 2, x, 0, 1, NULL, NULL), 0);
}
END_TEST

START_TEST(exact_skips_nan_rows)
{
    float x[6] = {1, 0, NAN, 0, 0.5f, 0.5f};
    float q[2] = {1, 0}, s[3];
    int64_t id[3];
    ck_assert_int_eq(mmdx_exact_search(x, 3, 2, q, 1, 3, id, s), 0);
    ck_assert_int_eq(id[0], 0);
    ck_assert_int_eq(id[1], 2);
    ck_assert_int_eq(id[2], -1);
}
END_TEST

START_TEST(vector_normalise)
{
    float v[3] = {3, 0, 4};
    ck_assert_int_eq(mmdx_vec_normalise(v, 3), 1);
    ck_assert_float_eq_tol(v[0], 0.6f, 1e-7f);
    ck_assert_float_eq_tol(v[2], 0.8f, 1e-7f);
    float z[2] = {0, 0};
    ck_assert_int_eq(mmdx_vec_normalise(z, 2), 0);
    ck_assert(z[0] == 0 && z[1] == 0);
    float bad[2] = {NAN, 1};
    ck_assert_int_eq(mmdx_vec_normalise(bad, 2), 0);
    ck_assert(isnan(bad[0]) && bad[1] == 1);
    float *x = mmdx_test_rows(100000, 32, 9, 1); /* large enough for the parallel path */
    for (size_t i = 0; i < 100000; i += 97)
        ck_assert_double_le(fabs(mmdx_test_dot(x + i * 32, x + i * 32, 32) - 1.0), 1e-6);
    free(x);
}
END_TEST

START_TEST(vector_add_unit)
{
    double acc[2] = {0, 1}, v[2] = {3, 4}, zero[2] = {0, 0}, nan[2] = {NAN, 1};
    ck_assert_int_eq(mmdx_vec_add_unit(acc, v, 2), 1);
    ck_assert_double_eq_tol(acc[0], 0.6, 1e-15);
    ck_assert_double_eq_tol(acc[1], 1.8, 1e-15);
    ck_assert_int_eq(mmdx_vec_add_unit(acc, zero, 2), 0);
    ck_assert_int_eq(mmdx_vec_add_unit(acc, nan, 2), 0);
    ck_assert_double_eq_tol(acc[0], 0.6, 1e-15);
    ck_assert_double_eq_tol(acc[1], 1.8, 1e-15);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("retrieval_exact");
    TCase *t = tcase_create("exact");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, exact_matches_naive);
    tcase_add_test(t, exact_ties_go_to_the_lower_id);
    tcase_add_test(t, exact_bad_arguments);
    tcase_add_test(t, exact_skips_nan_rows);
    suite_add_tcase(s, t);
    TCase *v = tcase_create("vector");
    tcase_add_test(v, vector_normalise);
    tcase_add_test(v, vector_add_unit);
    suite_add_tcase(s, v);
    return mmdx_test_run_suite(s);
}
