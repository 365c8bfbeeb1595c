/* SPDX-License-Identifier: Apache-2.0 */
/* core/strmap: the one string map (screen's resume, records' ids); core/rng's streams; core/array. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdint.h>

#include "array.h"
#include "core_suites.h"
#include "mmdx/common.h"
#include "rng.h"
#include "strmap.h"

START_TEST(strmap_put_set_get_grow)
{
    mmdx_strmap *m = mmdx_strmap_new();
    ck_assert_ptr_nonnull(m);
    char key[32];
    for (size_t i = 0; i < 5000; i++) { /* far past the first growth */
        snprintf(key, sizeof key, "SYN%06zu", i);
        ck_assert_int_eq(mmdx_strmap_put(m, key, i, NULL), 1);
    }
    ck_assert_uint_eq(mmdx_strmap_count(m), 5000);
    size_t v = 0, old = 0;
    ck_assert_int_eq(mmdx_strmap_put(m, "SYN000042", 7, &old), 0); /* put keeps the first value */
    ck_assert_uint_eq(old, 42);
    ck_assert_int_eq(mmdx_strmap_get(m, "SYN000042", &v), 1);
    ck_assert_uint_eq(v, 42);
    ck_assert_int_eq(mmdx_strmap_set(m, "SYN000042", 7), 0); /* set replaces */
    ck_assert_int_eq(mmdx_strmap_get(m, "SYN000042", &v), 1);
    ck_assert_uint_eq(v, 7);
    ck_assert_int_eq(mmdx_strmap_set(m, "new key", 9), 0);
    ck_assert_uint_eq(mmdx_strmap_count(m), 5001);
    ck_assert_int_eq(mmdx_strmap_get(m, "SYN004999", NULL), 1); /* presence only */
    ck_assert_int_eq(mmdx_strmap_get(m, "SYN005000", &v), 0);
    ck_assert_int_eq(mmdx_strmap_get(m, "", &v), 0);
    size_t seen = 0;
    for (size_t i = 0; i < mmdx_strmap_slots(m); i++) {
        const char *k;
        seen += (size_t)mmdx_strmap_slot(m, i, &k, &v);
    }
    ck_assert_uint_eq(seen, 5001);
    mmdx_strmap_free(m);
    mmdx_strmap_free(NULL);
}
END_TEST

START_TEST(rng_streams)
{
    /* a stream is the generator seeded from (seed, stream): reproducible, and streams differ */
    mmdx_rng a, b, c;
    mmdx_rng_seed_stream(&a, 7, 3);
    mmdx_rng_seed_stream(&b, 7, 3);
    mmdx_rng_seed_stream(&c, 7, 4);
    int same_ab = 1, same_ac = 1;
    for (int i = 0; i < 100; i++) {
        uint64_t x = mmdx_rng_next(&a), y = mmdx_rng_next(&b), z = mmdx_rng_next(&c);
        same_ab &= x == y;
        same_ac &= x == z;
    }
    ck_assert(same_ab);
    ck_assert(!same_ac);
    /* the first draw of seed 1 (xoshiro256** seeded by splitmix64): fixed on every platform */
    mmdx_rng r;
    mmdx_rng_seed(&r, 1);
    uint64_t first = mmdx_rng_next(&r);
    mmdx_rng_seed(&r, 1);
    ck_assert(mmdx_rng_next(&r) == first);
    double u = mmdx_rng_uniform(&r);
    ck_assert(u >= 0 && u < 1);
}
END_TEST

START_TEST(array_reserve_grows_zeroes_and_refuses_overflow)
{
    uint32_t *a = NULL;
    size_t cap = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        ck_assert_int_eq(mmdx_array_reserve(&a, &cap, (size_t)i + 1, sizeof *a, 4, 0), 0);
        ck_assert_uint_ge(cap, (size_t)i + 1);
        a[i] = i;
    }
    ck_assert_uint_eq(cap, 1024); /* 4, doubled */
    for (uint32_t i = 0; i < 1000; i++)
        ck_assert_uint_eq(a[i], i);
    /* a jump past double: exactly the next power-of-two multiple; new elements zeroed */
    ck_assert_int_eq(mmdx_array_reserve(&a, &cap, 5000, sizeof *a, 4, 1), 0);
    ck_assert_uint_eq(cap, 8192);
    ck_assert_uint_eq(a[999], 999);
    for (size_t i = 1024; i < cap; i++)
        ck_assert_uint_eq(a[i], 0);
    /* overflow leaves array and capacity as they were */
    uint32_t *before = a;
    ck_assert_int_eq(mmdx_array_reserve(&a, &cap, SIZE_MAX / 2, sizeof *a, 4, 0), MMDX_ENOMEM);
    ck_assert_ptr_eq(a, before);
    ck_assert_uint_eq(cap, 8192);
    free(a);
}
END_TEST

TCase *strmap_tcase(void)
{
    TCase *tc = tcase_create("strmap_rng");
    tcase_add_test(tc, strmap_put_set_get_grow);
    tcase_add_test(tc, rng_streams);
    tcase_add_test(tc, array_reserve_grows_zeroes_and_refuses_overflow);
    return tc;
}
