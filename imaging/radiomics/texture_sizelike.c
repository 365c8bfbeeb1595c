/*
 * imaging/radiomics/texture_sizelike.c — features shared by the run length,
 * size zone, distance zone and dependence matrices (IBSI 3.7-3.10, 3.12).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdlib.h>

#include "rad_internal.h"

const int rad_dirs[13][3] = {
    {1, 0, 0}, {0, 1, 0}, {1, 1, 0}, {1, -1, 0}, {0, 0, 1},  {1, 0, 1},  {1, 0, -1},
    {0, 1, 1}, {0, 1, -1}, {1, 1, 1}, {1, 1, -1}, {1, -1, 1}, {-1, 1, 1},
};

void rad_sizelike_features(double *out, const double *m, size_t ng, size_t nj, double nv)
{
    rad_fill_nan(out, RAD_SIZELIKE_N);
    double ns = 0;
    for (size_t q = 0; q < ng * nj; q++)
        ns += m[q];
    if (!(ns > 0))
        return;
    double *ri = calloc(ng, sizeof *ri), *rj = calloc(nj, sizeof *rj);
    if (!ri || !rj) {
        free(ri);
        free(rj);
        return;
    }
    double se = 0, le = 0, lg = 0, hg = 0, sl = 0, sh = 0, ll = 0, lh = 0, entr = 0, energy = 0;
    double mu_i = 0, mu_j = 0;
    for (size_t i = 0; i < ng; i++)
        for (size_t j = 0; j < nj; j++) {
            double v = m[i * nj + j];
            if (v == 0)
                continue;
            double gi = (double)(i + 1), gj = (double)(j + 1);
            double i2 = gi * gi, j2 = gj * gj;
            se += v / j2;
            le += v * j2;
            lg += v / i2;
            hg += v * i2;
            sl += v / (i2 * j2);
            sh += v * i2 / j2;
            ll += v * j2 / i2;
            lh += v * i2 * j2;
            ri[i] += v;
            rj[j] += v;
            double p = v / ns;
            entr -= p * log2(p);
            energy += p * p;
            mu_i += gi * p;
            mu_j += gj * p;
        }
    double glnu = 0, jnu = 0, var_i = 0, var_j = 0;
    for (size_t i = 0; i < ng; i++) {
        glnu += ri[i] * ri[i];
        var_i += ((double)(i + 1) - mu_i) * ((double)(i + 1) - mu_i) * ri[i] / ns;
    }
    for (size_t j = 0; j < nj; j++) {
        jnu += rj[j] * rj[j];
        var_j += ((double)(j + 1) - mu_j) * ((double)(j + 1) - mu_j) * rj[j] / ns;
    }
    free(ri);
    free(rj);
    out[0] = se / ns;
    out[1] = le / ns;
    out[2] = lg / ns;
    out[3] = hg / ns;
    out[4] = sl / ns;
    out[5] = sh / ns;
    out[6] = ll / ns;
    out[7] = lh / ns;
    out[8] = glnu / ns;
    out[9] = glnu / (ns * ns);
    out[10] = jnu / ns;
    out[11] = jnu / (ns * ns);
    out[12] = nv > 0 ? ns / nv : NAN;
    out[13] = var_i;
    out[14] = var_j;
    out[15] = entr;
    out[16] = energy;
}

void rad_sizelike_features_sparse(double *out, const rad_sizelike_entry *e, size_t n, size_t ng, size_t nj, double nv)
{
    rad_fill_nan(out, RAD_SIZELIKE_N);
    double ns = 0;
    for (size_t q = 0; q < n; q++)
        ns += e[q].count;
    if (!(ns > 0))
        return;
    double *ri = calloc(ng, sizeof *ri), *rj = calloc(nj, sizeof *rj);
    if (!ri || !rj) {
        free(ri);
        free(rj);
        return;
    }
    double se = 0, le = 0, lg = 0, hg = 0, sl = 0, sh = 0, ll = 0, lh = 0, entr = 0, energy = 0;
    double mu_i = 0, mu_j = 0;
    for (size_t q = 0; q < n; q++) {
        double v = e[q].count;
        double gi = (double)e[q].i, gj = (double)e[q].j;
        double i2 = gi * gi, j2 = gj * gj;
        se += v / j2;
        le += v * j2;
        lg += v / i2;
        hg += v * i2;
        sl += v / (i2 * j2);
        sh += v * i2 / j2;
        ll += v * j2 / i2;
        lh += v * i2 * j2;
        ri[e[q].i - 1] += v;
        rj[e[q].j - 1] += v;
        double p = v / ns;
        entr -= p * log2(p);
        energy += p * p;
        mu_i += gi * p;
        mu_j += gj * p;
    }
    double glnu = 0, jnu = 0, var_i = 0, var_j = 0;
    for (size_t i = 0; i < ng; i++) {
        glnu += ri[i] * ri[i];
        var_i += ((double)(i + 1) - mu_i) * ((double)(i + 1) - mu_i) * ri[i] / ns;
    }
    for (size_t j = 0; j < nj; j++) {
        jnu += rj[j] * rj[j];
        var_j += ((double)(j + 1) - mu_j) * ((double)(j + 1) - mu_j) * rj[j] / ns;
    }
    free(ri);
    free(rj);
    const double f[RAD_SIZELIKE_N] = {se / ns, le / ns, lg / ns, hg / ns, sl / ns, sh / ns, ll / ns, lh / ns,
                                      glnu / ns, glnu / (ns * ns), jnu / ns, jnu / (ns * ns),
                                      nv > 0 ? ns / nv : NAN, var_i, var_j, entr, energy};
    for (int q = 0; q < RAD_SIZELIKE_N; q++)
        out[q] = f[q];
}
