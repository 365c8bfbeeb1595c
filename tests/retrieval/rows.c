/* SPDX-License-Identifier: Apache-2.0 */
#include "rows.h"

#include <check.h>
#include <stdlib.h>

#include "rng.h"
#include "vector.h"

float *mmdx_test_rows(size_t n, uint32_t dim, uint64_t seed, int unit)
{
    float *x = malloc((n ? n : 1) * dim * sizeof *x);
    ck_assert_ptr_nonnull(x);
    mmdx_rng r;
    mmdx_rng_seed(&r, seed);
    for (size_t i = 0; i < n * dim; i++)
        x[i] = (float)mmdx_rng_normal(&r);
    if (unit)
        mmdx_vec_normalise_rows(x, n, dim);
    return x;
}

double mmdx_test_dot(const float *a, const float *b, uint32_t dim)
{
    double s = 0;
    for (uint32_t i = 0; i < dim; i++)
        s += (double)a[i] * b[i];
    return s;
}
