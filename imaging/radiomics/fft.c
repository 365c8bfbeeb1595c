/*
 * imaging/radiomics/fft.c — mixed-radix (2, 3, 5) complex FFT, applied
 * along each axis of a 3-D array.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdlib.h>

#include "fft.h"
#include "mmdx/common.h"

size_t rad_fft_good_size(size_t n)
{
    if (n <= 1)
        return 1;
    for (size_t m = n;; m++) {
        size_t r = m;
        while (r % 2 == 0)
            r /= 2;
        while (r % 3 == 0)
            r /= 3;
        while (r % 5 == 0)
            r /= 5;
        if (r == 1)
            return m;
    }
}

typedef struct plan {
    size_t n;
    int nf;
    int f[64];
    double complex *tw; /* exp(-2 pi i j / n), j < n */
} plan;

static int plan_make(plan *p, size_t n)
{
    p->n = n;
    p->nf = 0;
    size_t r = n;
    static const int primes[3] = {5, 3, 2};
    for (int q = 0; q < 3; q++)
        while (r % (size_t)primes[q] == 0) {
            p->f[p->nf++] = primes[q];
            r /= (size_t)primes[q];
        }
    if (r != 1)
        return MMDX_EINVAL;
    p->tw = malloc(n * sizeof *p->tw);
    if (!p->tw)
        return MMDX_ENOMEM;
    for (size_t j = 0; j < n; j++)
        p->tw[j] = cexp(-2.0 * M_PI * I * (double)j / (double)n);
    return 0;
}

/* Decimation in time: out[0..n) = DFT of in[0], in[s], in[2s], ... */
static void fft_rec(const double complex *in, size_t s, double complex *out, size_t n, const int *f,
                    const plan *pl, size_t twstride, int inv)
{
    if (n == 1) {
        out[0] = in[0];
        return;
    }
    const int p = f[0];
    const size_t m = n / (size_t)p;
    for (int r = 0; r < p; r++)
        fft_rec(in + (size_t)r * s, s * (size_t)p, out + (size_t)r * m, m, f + 1, pl, twstride * (size_t)p, inv);
    double complex t[5], wp[5];
    for (int r = 0; r < p; r++) {
        double complex w = pl->tw[(size_t)r * m * twstride % pl->n];
        wp[r] = inv ? conj(w) : w;
    }
    for (size_t k = 0; k < m; k++) {
        for (int r = 0; r < p; r++) {
            double complex w = pl->tw[(size_t)r * k * twstride];
            t[r] = out[(size_t)r * m + k] * (inv ? conj(w) : w);
        }
        for (int q = 0; q < p; q++) {
            double complex acc = 0;
            for (int r = 0; r < p; r++)
                acc += t[r] * wp[(r * q) % p];
            out[k + (size_t)q * m] = acc;
        }
    }
}

int rad_fft3(double complex *data, const size_t dims[3], int inverse)
{
    const size_t total = dims[0] * dims[1] * dims[2];
    const size_t stride[3] = {1, dims[0], dims[0] * dims[1]};
    int rc = 0;
    for (int a = 0; a < 3 && !rc; a++) {
        const size_t n = dims[a];
        if (n == 1)
            continue;
        plan pl;
        if ((rc = plan_make(&pl, n)))
            break;
        const size_t lines = total / n;
#pragma omp parallel
        {
            double complex *buf = malloc(2 * n * sizeof *buf);
            if (!buf) {
#pragma omp atomic write
                rc = MMDX_ENOMEM;
            }
#pragma omp for schedule(static)
            for (size_t l = 0; l < lines; l++) {
                if (!buf)
                    continue;
                /* first element of line l along axis a */
                size_t base;
                if (a == 0)
                    base = l * n;
                else if (a == 1)
                    base = (l / dims[0]) * dims[0] * dims[1] + l % dims[0];
                else
                    base = l;
                for (size_t j = 0; j < n; j++)
                    buf[j] = data[base + j * stride[a]];
                fft_rec(buf, 1, buf + n, n, pl.f, &pl, 1, inverse);
                for (size_t j = 0; j < n; j++)
                    data[base + j * stride[a]] = buf[n + j];
            }
            free(buf);
        }
        free(pl.tw);
    }
    if (!rc && inverse) {
        const double scale = 1.0 / (double)total;
        for (size_t q = 0; q < total; q++)
            data[q] *= scale;
    }
    return rc;
}
