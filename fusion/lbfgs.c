/* SPDX-License-Identifier: Apache-2.0 */
#include "lbfgs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double dotv(const double *a, const double *b, size_t m)
{
    double s = 0;
    for (size_t j = 0; j < m; j++)
        s += a[j] * b[j];
    return s;
}

static double amax(const double *a, size_t m)
{
    double v = 0;
    for (size_t j = 0; j < m; j++)
        v = fmax(v, fabs(a[j]));
    return v;
}

int mmdx_lbfgs_minimize(double *theta, size_t m, mmdx_lbfgs_fn fn, void *ctx, int max_iter,
                        double tol, int history, mmdx_lbfgs_result *res, mmdx_error *err)
{
    memset(res, 0, sizeof *res);
    size_t hist = history < 1 ? 1 : (size_t)history;
    double *s = malloc(hist * m * sizeof *s), *y = malloc(hist * m * sizeof *y);
    double *rho = malloc(hist * sizeof *rho), *alpha = malloc(hist * sizeof *alpha);
    double *g = malloc(m * sizeof *g), *d = malloc(m * sizeof *d), *xt = malloc(m * sizeof *xt),
           *gt = malloc(m * sizeof *gt);
    if (!s || !y || !rho || !alpha || !g || !d || !xt || !gt) {
        free(s), free(y), free(rho), free(alpha), free(g), free(d), free(xt), free(gt);
        return mmdx_error_set(err, MMDX_ENOMEM, "L-BFGS: out of memory (%zu parameters)", m);
    }
    double f = fn(ctx, theta, g);
    res->evaluations = 1;
    if (!isfinite(f)) {
        free(s), free(y), free(rho), free(alpha), free(g), free(d), free(xt), free(gt);
        return mmdx_error_set(err, MMDX_EINVAL, "L-BFGS: the objective is not finite at the start");
    }
    size_t stored = 0, head = 0; /* ring buffer of correction pairs */
    int it;
    for (it = 0; it < max_iter; it++) {
        if (amax(g, m) <= tol) {
            res->converged = 1;
            break;
        }
        /* two-loop recursion: d = -H g */
        for (size_t j = 0; j < m; j++)
            d[j] = -g[j];
        for (size_t k = 0; k < stored; k++) {
            size_t idx = (head + hist - 1 - k) % hist;
            alpha[idx] = rho[idx] * dotv(s + idx * m, d, m);
            for (size_t j = 0; j < m; j++)
                d[j] -= alpha[idx] * y[idx * m + j];
        }
        if (stored > 0) {
            size_t last = (head + hist - 1) % hist;
            double gamma = dotv(s + last * m, y + last * m, m) / dotv(y + last * m, y + last * m, m);
            for (size_t j = 0; j < m; j++)
                d[j] *= gamma;
        } else {
            double gn = sqrt(dotv(g, g, m));
            for (size_t j = 0; j < m; j++)
                d[j] /= gn > 1 ? gn : 1.0;
        }
        for (size_t k = stored; k-- > 0;) {
            size_t idx = (head + hist - 1 - k) % hist;
            double beta = rho[idx] * dotv(y + idx * m, d, m);
            for (size_t j = 0; j < m; j++)
                d[j] += (alpha[idx] - beta) * s[idx * m + j];
        }
        double slope = dotv(g, d, m);
        if (!(slope < 0)) { /* not a descent direction: restart from steepest descent */
            stored = 0;
            for (size_t j = 0; j < m; j++)
                d[j] = -g[j];
            slope = -dotv(g, g, m);
        }
        double step = 1.0, ft = f;
        int ok = 0;
        for (int ls = 0; ls < 50; ls++) {
            for (size_t j = 0; j < m; j++)
                xt[j] = theta[j] + step * d[j];
            ft = fn(ctx, xt, gt);
            res->evaluations++;
            if (isfinite(ft) && ft <= f + 1e-4 * step * slope) {
                ok = 1;
                break;
            }
            step *= 0.5;
        }
        if (!ok)
            break; /* no decrease representable: as close to the optimum as rounding allows */
        /* store the pair when the curvature condition holds */
        size_t idx = head;
        for (size_t j = 0; j < m; j++) {
            s[idx * m + j] = xt[j] - theta[j];
            y[idx * m + j] = gt[j] - g[j];
        }
        double sy = dotv(s + idx * m, y + idx * m, m);
        if (sy > 1e-12 * dotv(y + idx * m, y + idx * m, m) && sy > 0) {
            rho[idx] = 1.0 / sy;
            head = (head + 1) % hist;
            if (stored < hist)
                stored++;
        }
        memcpy(theta, xt, m * sizeof *theta);
        memcpy(g, gt, m * sizeof *g);
        f = ft;
    }
    res->iterations = it;
    res->f = f;
    res->grad_max = amax(g, m);
    if (res->grad_max <= tol)
        res->converged = 1;
    free(s), free(y), free(rho), free(alpha), free(g), free(d), free(xt), free(gt);
    return 0;
}
