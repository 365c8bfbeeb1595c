/*
 * imaging/radiomics/fft.c — mixed-radix (2, 3, 4, 5) complex FFT, applied
 * along each axis of a 3-D array.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Recursive decimation in time with small hand-written butterflies. The
 * complex arithmetic is spelled out on (re, im) pairs: C's complex multiply
 * goes through a library call (for its inf/NaN rules) that made the FFT five
 * times slower. A double complex array has the layout of double[2] pairs.
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
    double *tw; /* n pairs: exp(-2 pi i j / n) */
} plan;

static int plan_make(plan *p, size_t n)
{
    p->n = n;
    p->nf = 0;
    size_t r = n;
    while (r % 4 == 0) {
        p->f[p->nf++] = 4;
        r /= 4;
    }
    static const int primes[3] = {2, 3, 5};
    for (int q = 0; q < 3; q++)
        while (r % (size_t)primes[q] == 0) {
            p->f[p->nf++] = primes[q];
            r /= (size_t)primes[q];
        }
    if (r != 1)
        return MMDX_EINVAL;
    p->tw = malloc(2 * n * sizeof *p->tw);
    if (!p->tw)
        return MMDX_ENOMEM;
    for (size_t j = 0; j < n; j++) {
        double a = -2.0 * M_PI * (double)j / (double)n;
        p->tw[2 * j] = cos(a);
        p->tw[2 * j + 1] = sin(a);
    }
    return 0;
}

/* out[0..n) = DFT of in[0], in[s], in[2s], ... (pairs); sign = -1 forward, +1 inverse */
static void fft_rec(const double *in, size_t s, double *out, size_t n, const int *f, const plan *pl,
                    size_t twstride, double sign)
{
    const int p = f[0];
    const size_t m = n / (size_t)p;
    if (m > 1) {
        for (int r = 0; r < p; r++)
            fft_rec(in + 2 * (size_t)r * s, s * (size_t)p, out + 2 * (size_t)r * m, m, f + 1, pl,
                    twstride * (size_t)p, sign);
    } else {
        for (int r = 0; r < p; r++) {
            out[2 * r] = in[2 * (size_t)r * s];
            out[2 * r + 1] = in[2 * (size_t)r * s + 1];
        }
    }
    const double *tw = pl->tw;
    double tr[5], ti[5];
    for (size_t k = 0; k < m; k++) {
        /* twiddled inputs t[r] = out[r*m + k] * W_n^(r k) */
        for (int r = 0; r < p; r++) {
            double xr = out[2 * ((size_t)r * m + k)], xi = out[2 * ((size_t)r * m + k) + 1];
            if (r == 0 || k == 0) {
                tr[r] = xr;
                ti[r] = xi;
            } else {
                size_t j = (size_t)r * k * twstride;
                /* forward: W = tw; inverse: conj(tw) */
                double wr = tw[2 * j], wi = (sign < 0) ? tw[2 * j + 1] : -tw[2 * j + 1];
                tr[r] = xr * wr - xi * wi;
                ti[r] = xr * wi + xi * wr;
            }
        }
        double *o0 = out + 2 * k;
        const size_t st = 2 * m;
        switch (p) {
        case 2:
            o0[0] = tr[0] + tr[1];
            o0[1] = ti[0] + ti[1];
            o0[st] = tr[0] - tr[1];
            o0[st + 1] = ti[0] - ti[1];
            break;
        case 4: {
            /* W_4 = -i forward, +i inverse */
            double ar = tr[0] + tr[2], ai = ti[0] + ti[2], br = tr[0] - tr[2], bi = ti[0] - ti[2];
            double cr = tr[1] + tr[3], ci = ti[1] + ti[3], dr = tr[1] - tr[3], di = ti[1] - ti[3];
            /* (-i * sign_f) * d: forward multiplies d by -i */
            double er = sign < 0 ? di : -di, ei = sign < 0 ? -dr : dr;
            o0[0] = ar + cr;
            o0[1] = ai + ci;
            o0[st] = br + er;
            o0[st + 1] = bi + ei;
            o0[2 * st] = ar - cr;
            o0[2 * st + 1] = ai - ci;
            o0[3 * st] = br - er;
            o0[3 * st + 1] = bi - ei;
            break;
        }
        default: {
            /* radix 3 or 5: direct small DFT with W_p^q = W_n^(q m) */
            for (int q = 0; q < p; q++) {
                double sr = 0, si = 0;
                for (int r = 0; r < p; r++) {
                    size_t j = (size_t)((r * q) % p) * m * twstride;
                    double wr = tw[2 * j], wi = (sign < 0) ? tw[2 * j + 1] : -tw[2 * j + 1];
                    sr += tr[r] * wr - ti[r] * wi;
                    si += tr[r] * wi + ti[r] * wr;
                }
                o0[(size_t)q * st] = sr;
                o0[(size_t)q * st + 1] = si;
            }
            break;
        }
        }
    }
}

/* Lines transformed together along axes 1 and 2, for whole cache lines. */
#define FFT_BLOCK 8

/*
 * Transform along axis a the lines whose coordinates on the other two axes
 * are below lim[] (the others are known to be zero, or not needed).
 */
static int transform_axis(double *data, const size_t dims[3], int a, double sign, const size_t lim[3])
{
    const size_t n = dims[a];
    if (n == 1)
        return 0;
    plan pl;
    int rc = plan_make(&pl, n);
    if (rc)
        return rc;
    const size_t stride[3] = {1, dims[0], dims[0] * dims[1]};
    /* the two other axes: u (inner) and v (outer) */
    const int u = a == 0 ? 1 : 0, v = a == 2 ? 1 : 2;
    const size_t nu = lim[u], nv = lim[v];
    const size_t width = a == 0 ? 1 : FFT_BLOCK;
    const size_t per_v = (nu + width - 1) / width;
    const size_t blocks = per_v * nv;
#pragma omp parallel
    {
        double *buf = malloc(2 * n * (width + 1) * sizeof *buf);
        if (!buf) {
#pragma omp atomic write
            rc = MMDX_ENOMEM;
        }
#pragma omp for schedule(static)
        for (size_t b = 0; b < blocks; b++) {
            if (!buf)
                continue;
            size_t iv = b / per_v, iu0 = (b % per_v) * width;
            size_t cnt = iu0 + width <= nu ? width : nu - iu0;
            double *tmp = buf + 2 * n * width;
            for (size_t w = 0; w < cnt; w++) {
                const double *src = data + 2 * ((iu0 + w) * stride[u] + iv * stride[v]);
                for (size_t j = 0; j < n; j++) {
                    buf[2 * (w * n + j)] = src[2 * j * stride[a]];
                    buf[2 * (w * n + j) + 1] = src[2 * j * stride[a] + 1];
                }
            }
            for (size_t w = 0; w < cnt; w++) {
                fft_rec(buf + 2 * w * n, 1, tmp, n, pl.f, &pl, 1, sign);
                double *dst = data + 2 * ((iu0 + w) * stride[u] + iv * stride[v]);
                for (size_t j = 0; j < n; j++) {
                    dst[2 * j * stride[a]] = tmp[2 * j];
                    dst[2 * j * stride[a] + 1] = tmp[2 * j + 1];
                }
            }
        }
        free(buf);
    }
    free(pl.tw);
    return rc;
}

int rad_fft3_box(double complex *cdata, const size_t dims[3], int inverse, const size_t box[3])
{
    double *data = (double *)cdata;
    const double sign = inverse ? 1.0 : -1.0;
    const size_t *b = box ? box : dims;
    int rc = 0;
    if (!inverse) {
        /* data zero outside the box: axis 0 only where y, z are in it, axis 1 where z is */
        const size_t l0[3] = {dims[0], b[1], b[2]}, l1[3] = {dims[0], dims[1], b[2]};
        if (!(rc = transform_axis(data, dims, 0, sign, l0)) && !(rc = transform_axis(data, dims, 1, sign, l1)))
            rc = transform_axis(data, dims, 2, sign, dims);
    } else {
        /* only the box of the result is needed: the mirror order */
        const size_t l1[3] = {dims[0], dims[1], b[2]}, l0[3] = {dims[0], b[1], b[2]};
        if (!(rc = transform_axis(data, dims, 2, sign, dims)) && !(rc = transform_axis(data, dims, 1, sign, l1)))
            rc = transform_axis(data, dims, 0, sign, l0);
        if (!rc) {
            const double scale = 1.0 / ((double)dims[0] * (double)dims[1] * (double)dims[2]);
            for (size_t k = 0; k < b[2]; k++)
                for (size_t j = 0; j < b[1]; j++)
                    for (size_t i = 0; i < b[0]; i++) {
                        size_t q = 2 * (i + dims[0] * (j + dims[1] * k));
                        data[q] *= scale;
                        data[q + 1] *= scale;
                    }
        }
    }
    return rc;
}

int rad_fft3(double complex *cdata, const size_t dims[3], int inverse)
{
    return rad_fft3_box(cdata, dims, inverse, NULL);
}

double rad_fft3_real_even_cost(const size_t dims[3])
{
    const double h0 = (double)(dims[0] / 2 + 1), h1 = (double)(dims[1] / 2 + 1), h2 = (double)(dims[2] / 2 + 1);
    return h0 * h1 * h2 * (h0 + h1 + h2);
}

/* C[u][a] = c_a cos(2 pi u a / L), u, a in [0, h]: c_a = 2 for the pairs a,
 * L-a folded onto a, 1 for a = 0 and (L even) a = L/2. */
static double *cosine_matrix(size_t L)
{
    const size_t h = L / 2, n = h + 1;
    double *c = malloc(n * n * sizeof *c);
    if (!c)
        return NULL;
    for (size_t u = 0; u < n; u++)
        for (size_t a = 0; a < n; a++) {
            double w = (a == 0 || 2 * a == L) ? 1.0 : 2.0;
            c[u * n + a] = w * cos(2.0 * M_PI * (double)((u * a) % L) / (double)L);
        }
    return c;
}

int rad_fft3_real_even(double *oct, const size_t dims[3])
{
    const size_t n0 = dims[0] / 2 + 1, n1 = dims[1] / 2 + 1, n2 = dims[2] / 2 + 1;
    const size_t total = n0 * n1 * n2;
    double *tmp = malloc(total * sizeof *tmp);
    double *c0 = cosine_matrix(dims[0]), *c1 = cosine_matrix(dims[1]), *c2 = cosine_matrix(dims[2]);
    int rc = 0;
    if (!tmp || !c0 || !c1 || !c2) {
        rc = MMDX_ENOMEM;
        goto done;
    }
    /* axis 0: tmp[u, b, c] = sum_a C0[u][a] oct[a, b, c] (dot products of contiguous lines) */
    for (size_t l = 0; l < n1 * n2; l++) {
        const double *x = oct + l * n0;
        double *y = tmp + l * n0;
        for (size_t u = 0; u < n0; u++) {
            const double *cu = c0 + u * n0;
            double s = 0;
            for (size_t a = 0; a < n0; a++)
                s += cu[a] * x[a];
            y[u] = s;
        }
    }
    /* axis 1: oct[:, v, c] = sum_b C1[v][b] tmp[:, b, c] (rows of n0) */
    for (size_t k = 0; k < n2; k++)
        for (size_t v = 0; v < n1; v++) {
            double *y = oct + n0 * (v + n1 * k);
            for (size_t i = 0; i < n0; i++)
                y[i] = 0;
            for (size_t b = 0; b < n1; b++) {
                const double w = c1[v * n1 + b], *x = tmp + n0 * (b + n1 * k);
                for (size_t i = 0; i < n0; i++)
                    y[i] += w * x[i];
            }
        }
    /* axis 2: tmp[:, :, w] = sum_c C2[w][c] oct[:, :, c] (planes of n0 n1) */
    const size_t plane = n0 * n1;
    for (size_t w = 0; w < n2; w++) {
        double *y = tmp + plane * w;
        for (size_t i = 0; i < plane; i++)
            y[i] = 0;
        for (size_t c = 0; c < n2; c++) {
            const double f = c2[w * n2 + c], *x = oct + plane * c;
            for (size_t i = 0; i < plane; i++)
                y[i] += f * x[i];
        }
    }
    for (size_t i = 0; i < total; i++)
        oct[i] = tmp[i];
done:
    free(tmp);
    free(c0);
    free(c1);
    free(c2);
    return rc;
}
