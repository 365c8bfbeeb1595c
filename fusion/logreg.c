/* SPDX-License-Identifier: Apache-2.0 */
#include "logreg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "dense.h"
#include "hot.h"
#include "lbfgs.h"

#ifdef MMDX_HAVE_CBLAS
#include <cblas.h>
#endif

void mmdx_logreg_options_init(mmdx_logreg_options *o)
{
    o->C = 1.0;
    o->fit_intercept = 1;
    o->max_iter = 1000;
    o->tol = 1e-6;
    o->n_threads = 1;
    o->solver = MMDX_LOGREG_AUTO;
    o->use_blas = 1;
}

double mmdx_log1pexp_neg(double m)
{
    return m > 0 ? log1p(exp(-m)) : -m + log1p(exp(m));
}

double mmdx_sigmoid(double z)
{
    if (z >= 0)
        return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

/* The problem as the solvers see it: parameters theta = (w[0..p-1], b). */
typedef struct problem {
    const double *x;
    size_t n, p;
    const int32_t *y;
    const double *sw;
    double inv_c;     /* 1/C, 0 when unpenalised */
    double sw_sum;
    int fit_intercept;
    int n_threads;
    int use_blas;
    double *partial;  /* n_threads x (p + 2): gradient then loss, per thread */
    double *scratch;  /* n_threads x 2 x LOGREG_BLOCK: the BLAS pass's z and residuals */
} problem;

/* Rows per dgemv pair: 128 x 300 doubles stay in L2 between X w and X^T r,
 * so the pass still reads X from memory once. */
#define LOGREG_BLOCK 128

/* Four running sums in a fixed order: shorter dependency chains than one,
 * and the same result on every machine. */
static inline double dot(const double *a, const double *b, size_t p)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t j = 0;
    for (; j + 4 <= p; j += 4) {
        s0 += a[j] * b[j];
        s1 += a[j + 1] * b[j + 1];
        s2 += a[j + 2] * b[j + 2];
        s3 += a[j + 3] * b[j + 3];
    }
    for (; j < p; j++)
        s0 += a[j] * b[j];
    return (s0 + s1) + (s2 + s3);
}

/* One pass over the rows of [lo, hi): loss and gradient accumulated into acc
 * (p gradient entries, intercept, loss). */
MMDX_HOT static void eval_rows(const problem *pr, const double *theta, size_t lo, size_t hi, double *acc)
{
    size_t p = pr->p;
    double b = theta[p];
    memset(acc, 0, (p + 2) * sizeof *acc);
    for (size_t i = lo; i < hi; i++) {
        const double *xi = pr->x + i * p;
        double z = dot(xi, theta, p) + b;
        double wgt = pr->sw ? pr->sw[i] : 1.0;
        double m = pr->y[i] ? z : -z;
        acc[p + 1] += wgt * mmdx_log1pexp_neg(m);
        double r = wgt * (mmdx_sigmoid(z) - (pr->y[i] ? 1.0 : 0.0));
        for (size_t j = 0; j < p; j++)
            acc[j] += r * xi[j];
        acc[p] += r;
    }
}

#ifdef MMDX_HAVE_CBLAS
/* eval_rows through CBLAS: per block of rows z = X w (dgemv), the losses and
 * residuals, then gradient += X^T r (dgemv). OpenBLAS is single-threaded here
 * (mmdx_dense_blas_single_threaded) and the blocks are fixed: the same sums in
 * the same order on every run with the same thread count. */
static void eval_rows_blas(const problem *pr, const double *theta, size_t lo, size_t hi, double *acc,
                           double *z)
{
    size_t p = pr->p;
    double b = theta[p], *r = z + LOGREG_BLOCK;
    memset(acc, 0, (p + 2) * sizeof *acc);
    for (size_t i0 = lo; i0 < hi; i0 += LOGREG_BLOCK) {
        size_t nb = hi - i0 < LOGREG_BLOCK ? hi - i0 : LOGREG_BLOCK;
        const double *xb = pr->x + i0 * p;
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)nb, (int)p, 1.0, xb, (int)p, theta, 1, 0.0, z, 1);
        for (size_t k = 0; k < nb; k++) {
            size_t i = i0 + k;
            double zi = z[k] + b;
            double wgt = pr->sw ? pr->sw[i] : 1.0;
            acc[p + 1] += wgt * mmdx_log1pexp_neg(pr->y[i] ? zi : -zi);
            r[k] = wgt * (mmdx_sigmoid(zi) - (pr->y[i] ? 1.0 : 0.0));
            acc[p] += r[k];
        }
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)nb, (int)p, 1.0, xb, (int)p, r, 1, 1.0, acc, 1);
    }
}
#endif

static void eval_range(const problem *pr, const double *theta, size_t lo, size_t hi, int t)
{
    double *acc = pr->partial + (size_t)t * (pr->p + 2);
#ifdef MMDX_HAVE_CBLAS
    if (pr->use_blas) {
        eval_rows_blas(pr, theta, lo, hi, acc, pr->scratch + (size_t)t * 2 * LOGREG_BLOCK);
        return;
    }
#endif
    eval_rows(pr, theta, lo, hi, acc);
}

/* Objective and gradient, both divided by sum(sw) as scikit-learn does. */
static double objective(void *ctx, const double *theta, double *grad)
{
    problem *pr = ctx;
    size_t p = pr->p, n = pr->n;
    int nt = pr->n_threads;
    if (nt <= 1 || n < 2048) {
        eval_range(pr, theta, 0, n, 0);
    } else {
#pragma omp parallel num_threads(nt)
        {
            int t = omp_get_thread_num(), T = omp_get_num_threads();
            size_t chunk = (n + (size_t)T - 1) / (size_t)T;
            size_t lo = (size_t)t * chunk, hi = lo + chunk > n ? n : lo + chunk;
            if (lo > n)
                lo = n;
            eval_range(pr, theta, lo, hi, t);
        }
        /* fixed summation order: reproducible for a given thread count */
        for (int t = 1; t < nt; t++) {
            const double *src = pr->partial + (size_t)t * (p + 2);
            for (size_t j = 0; j < p + 2; j++)
                pr->partial[j] += src[j];
        }
    }
    double *acc = pr->partial;
    double reg = 0.5 * pr->inv_c * dot(theta, theta, p);
    for (size_t j = 0; j < p; j++)
        grad[j] = (acc[j] + pr->inv_c * theta[j]) / pr->sw_sum;
    grad[p] = pr->fit_intercept ? acc[p] / pr->sw_sum : 0.0;
    return (acc[p + 1] + reg) / pr->sw_sum;
}

static double grad_max(const double *g, size_t m)
{
    double v = 0;
    for (size_t j = 0; j < m; j++)
        if (fabs(g[j]) > v)
            v = fabs(g[j]);
    return v;
}

/* Hessian (upper triangle, (p+1) x (p+1), divided by sum(sw)) of rows [lo, hi). */
static void hessian_rows(const problem *pr, const double *theta, size_t lo, size_t hi, double *h)
{
    size_t p = pr->p, q = p + 1;
    memset(h, 0, q * q * sizeof *h);
    for (size_t i = lo; i < hi; i++) {
        const double *xi = pr->x + i * p;
        double s = mmdx_sigmoid(dot(xi, theta, p) + theta[p]);
        double d = (pr->sw ? pr->sw[i] : 1.0) * s * (1.0 - s);
        for (size_t a = 0; a < p; a++) {
            double da = d * xi[a];
            double *row = h + a * q;
            for (size_t c = a; c < p; c++)
                row[c] += da * xi[c];
            row[p] += da;
        }
        h[p * q + p] += d;
    }
}

/* Cholesky factorisation in place (lower triangle used); 0 on success. */
static int cholesky(double *a, size_t q)
{
    for (size_t j = 0; j < q; j++) {
        double d = a[j * q + j];
        for (size_t k = 0; k < j; k++)
            d -= a[j * q + k] * a[j * q + k];
        if (!(d > 0))
            return -1;
        d = sqrt(d);
        a[j * q + j] = d;
        for (size_t i = j + 1; i < q; i++) {
            double s = a[i * q + j];
            for (size_t k = 0; k < j; k++)
                s -= a[i * q + k] * a[j * q + k];
            a[i * q + j] = s / d;
        }
    }
    return 0;
}

static void cholesky_solve(const double *l, size_t q, double *b)
{
    for (size_t i = 0; i < q; i++) {
        double s = b[i];
        for (size_t k = 0; k < i; k++)
            s -= l[i * q + k] * b[k];
        b[i] = s / l[i * q + i];
    }
    for (size_t i = q; i-- > 0;) {
        double s = b[i];
        for (size_t k = i + 1; k < q; k++)
            s -= l[k * q + i] * b[k];
        b[i] = s / l[i * q + i];
    }
}

static int newton(problem *pr, double *theta, const mmdx_logreg_options *o, mmdx_logreg_info *info,
                  mmdx_error *err)
{
    size_t p = pr->p, q = p + 1;
    int nt = pr->n_threads < 1 ? 1 : pr->n_threads;
    double *h = malloc((size_t)nt * q * q * sizeof *h);
    double *g = malloc(q * sizeof *g), *d = malloc(q * sizeof *d), *trial = malloc(q * sizeof *trial),
           *gt = malloc(q * sizeof *gt);
    if (!h || !g || !d || !trial || !gt) {
        free(h), free(g), free(d), free(trial), free(gt);
        return mmdx_error_set(err, MMDX_ENOMEM, "logistic regression: out of memory (Newton, %zu features)", p);
    }
    double f = objective(pr, theta, g);
    info->evaluations = 1;
    int it;
    for (it = 0; it < o->max_iter; it++) {
        if (grad_max(g, q) <= 1e-12)
            break;
        size_t n = pr->n;
        if (nt <= 1 || n < 1024) {
            hessian_rows(pr, theta, 0, n, h);
        } else {
#pragma omp parallel num_threads(nt)
            {
                int t = omp_get_thread_num(), T = omp_get_num_threads();
                size_t chunk = (n + (size_t)T - 1) / (size_t)T;
                size_t lo = (size_t)t * chunk, hi = lo + chunk > n ? n : lo + chunk;
                if (lo > n)
                    lo = n;
                hessian_rows(pr, theta, lo, hi, h + (size_t)t * q * q);
            }
            for (int t = 1; t < nt; t++)
                for (size_t k = 0; k < q * q; k++)
                    h[k] += h[(size_t)t * q * q + k];
        }
        /* scale, add the penalty, mirror the upper triangle into the lower */
        for (size_t a = 0; a < q; a++) {
            for (size_t c = a; c < q; c++) {
                double v = h[a * q + c] / pr->sw_sum;
                if (a == c && a < p)
                    v += pr->inv_c / pr->sw_sum;
                h[a * q + c] = h[c * q + a] = v;
            }
        }
        if (!pr->fit_intercept) {
            for (size_t a = 0; a < q; a++)
                h[a * q + p] = h[p * q + a] = 0;
            h[p * q + p] = 1;
        }
        if (cholesky(h, q) != 0) {
            free(h), free(g), free(d), free(trial), free(gt);
            return mmdx_error_set(err, MMDX_EINVAL,
                                  "logistic regression: the Hessian is singular (perfectly separable "
                                  "data without regularisation, or a constant feature); set a finite C");
        }
        for (size_t j = 0; j < q; j++)
            d[j] = -g[j];
        cholesky_solve(h, q, d);
        double slope = dot(g, d, q);
        double step = 1.0, ft = f;
        int accepted = 0;
        for (int ls = 0; ls < 60; ls++) {
            for (size_t j = 0; j < q; j++)
                trial[j] = theta[j] + step * d[j];
            ft = objective(pr, trial, gt);
            info->evaluations++;
            if (ft <= f + 1e-4 * step * slope || (ft <= f && step < 1e-3)) {
                accepted = 1;
                break;
            }
            step *= 0.5;
        }
        if (!accepted)
            break; /* no further decrease representable: at the optimum to rounding */
        double change = 0;
        for (size_t j = 0; j < q; j++)
            change = fmax(change, fabs(trial[j] - theta[j]));
        memcpy(theta, trial, q * sizeof *theta);
        memcpy(g, gt, q * sizeof *g);
        f = ft;
        if (change <= 1e-14 * (1.0 + grad_max(theta, q)))
            break;
    }
    info->iterations = it;
    info->objective = f;
    info->grad_max = grad_max(g, q);
    info->converged = info->grad_max <= fmax(o->tol, 1e-9);
    free(h), free(g), free(d), free(trial), free(gt);
    return 0;
}

int mmdx_logreg_fit(double *coef, double *intercept, const double *x, size_t n, size_t p,
                    const int32_t *y, const double *sw, const mmdx_logreg_options *o,
                    mmdx_logreg_info *info, mmdx_error *err)
{
    mmdx_logreg_info local;
    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);
    if (!(o->C > 0))
        return mmdx_error_set(err, MMDX_EINVAL, "logistic regression: C must be > 0 (got %g)", o->C);
    if (o->max_iter < 1 || !(o->tol > 0))
        return mmdx_error_set(err, MMDX_EINVAL, "logistic regression: max_iter must be >= 1 and tol > 0");
    size_t pos = 0;
    double sw_sum = 0;
    for (size_t i = 0; i < n; i++) {
        pos += y[i] ? 1 : 0;
        double w = sw ? sw[i] : 1.0;
        if (!(w > 0) || !isfinite(w))
            return mmdx_error_set(err, MMDX_EINVAL, "logistic regression: sample weight %zu is not a positive number", i);
        sw_sum += w;
    }
    if (pos == 0 || pos == n)
        return mmdx_error_set(err, MMDX_EINVAL,
                              "logistic regression: the training labels hold a single class (%zu samples, all %d)",
                              n, pos ? 1 : 0);
    int nt = o->n_threads < 1 ? 1 : o->n_threads;
    problem pr = {x, n, p, y, sw, isinf(o->C) ? 0.0 : 1.0 / o->C, sw_sum, o->fit_intercept, nt,
                  o->use_blas && mmdx_dense_have_blas(), NULL, NULL};
    if (pr.use_blas)
        mmdx_dense_blas_single_threaded();
    pr.partial = malloc((size_t)nt * (p + 2) * sizeof *pr.partial);
    pr.scratch = malloc((size_t)nt * 2 * LOGREG_BLOCK * sizeof *pr.scratch);
    double *theta = calloc(p + 1, sizeof *theta);
    if (!pr.partial || !pr.scratch || !theta) {
        free(pr.partial), free(pr.scratch), free(theta);
        return mmdx_error_set(err, MMDX_ENOMEM, "logistic regression: out of memory (%zu x %zu)", n, p);
    }
    /* start from the intercept-only optimum: the weighted prevalence's log-odds */
    if (o->fit_intercept) {
        double pw = 0;
        for (size_t i = 0; i < n; i++)
            pw += y[i] ? (sw ? sw[i] : 1.0) : 0.0;
        theta[p] = log(pw / (sw_sum - pw));
    }
    mmdx_logreg_solver solver = o->solver;
    if (solver == MMDX_LOGREG_AUTO) {
        double work = (double)n * (double)(p + 1) * (double)(p + 1);
        solver = (work <= 2e8 && p <= 2000) ? MMDX_LOGREG_NEWTON : MMDX_LOGREG_LBFGS;
    }
    info->solver = solver;
    int rc;
    if (solver == MMDX_LOGREG_NEWTON) {
        rc = newton(&pr, theta, o, info, err);
    } else {
        mmdx_lbfgs_result res;
        rc = mmdx_lbfgs_minimize(theta, p + 1, objective, &pr, o->max_iter, o->tol, 10, &res, err);
        info->iterations = res.iterations;
        info->evaluations = res.evaluations;
        info->objective = res.f;
        info->grad_max = res.grad_max;
        info->converged = res.converged;
    }
    if (rc == 0) {
        memcpy(coef, theta, p * sizeof *coef);
        *intercept = o->fit_intercept ? theta[p] : 0.0;
    }
    free(pr.partial);
    free(pr.scratch);
    free(theta);
    return rc;
}

void mmdx_logreg_decision(double *out, const double *coef, double intercept, const double *x,
                          size_t n, size_t p, int n_threads)
{
    int nt = (n_threads < 1 || n < 4096) ? 1 : n_threads;
    long long nn = (long long)n;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long long i = 0; i < nn; i++)
        out[i] = dot(x + (size_t)i * p, coef, p) + intercept;
}
