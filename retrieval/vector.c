/* SPDX-License-Identifier: Apache-2.0 */
/* L2 normalisation of the shared space's vectors. */
#include "vector.h"

#include <math.h>

/* 1/|v| from the sum of squares; 0 when there is no direction. */
static double inverse_norm(double sum_sq)
{
    return sum_sq > 0.0 && isfinite(sum_sq) ? 1.0 / sqrt(sum_sq) : 0.0;
}

int mmdx_vec_normalise(float *v, uint32_t dim)
{
    double ss = 0.0;
    for (uint32_t i = 0; i < dim; i++)
        ss += (double)v[i] * v[i];
    double inv = inverse_norm(ss);
    if (inv == 0.0)
        return 0;
    for (uint32_t i = 0; i < dim; i++)
        v[i] = (float)(v[i] * inv);
    return 1;
}

void mmdx_vec_normalise_rows(float *x, size_t n, uint32_t dim)
{
    long long rows = (long long)n;
#pragma omp parallel for schedule(static) if (n * dim > 65536)
    for (long long i = 0; i < rows; i++)
        (void)mmdx_vec_normalise(x + (size_t)i * dim, dim);
}

int mmdx_vec_add_unit(double *acc, const double *v, uint32_t dim)
{
    double ss = 0.0;
    for (uint32_t i = 0; i < dim; i++)
        ss += v[i] * v[i];
    double inv = inverse_norm(ss);
    if (inv == 0.0)
        return 0;
    for (uint32_t i = 0; i < dim; i++)
        acc[i] += v[i] * inv;
    return 1;
}
