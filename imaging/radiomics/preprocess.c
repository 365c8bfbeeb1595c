/*
 * imaging/radiomics/preprocess.c — IBSI image processing before features:
 * interpolation to a new grid, re-segmentation, discretisation.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Interpolation grid (IBSI 1, "Notes on interpolation"): along an axis with
 * n voxels of spacing s resampled to s', the new grid has ceil(n*s/s')
 * voxels and is centred on the original one, so new voxel t sits at
 * original (fractional) index x0 + t*s'/s with x0 = (n-1)/2 - (n'-1)/2*s'/s.
 * Outside the image, intensities take the nearest boundary value.
 * Only the part of the new grid around the ROI (plus the 1 cm^3 sphere
 * of the local intensity peak) is evaluated; that changes no feature.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rad_internal.h"

/* Radius of a 1 cm^3 sphere in mm (local intensity peak), with a margin. */
#define RAD_PEAK_RADIUS_MM 6.3

/* Largest interpolated grid accepted (per axis, in all). */
#define RAD_MAX_AXIS 65536.0
#define RAD_MAX_VOXELS 1.0e9

/* Extra source voxels around the evaluated region for the cubic prefilter
 * (its recursive filter decays as 0.268^n: 24 voxels leave < 1e-13). */
#define RAD_SPLINE_PAD 24

void rad_fill_nan(double *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = NAN;
}

void rad_roi_release(rad_roi *roi)
{
    free(roi->img);
    free(roi->morph);
    free(roi->imask);
    free(roi->gl);
    memset(roi, 0, sizeof *roi);
}

/* Per-axis resampling plan: new voxel t of the crop -> original position. */
typedef struct axis_plan {
    size_t n_src;       /* original voxels along the axis */
    size_t t0, count;   /* crop of the new grid: new indices t0 .. t0+count-1 */
    double x0, step;    /* original position of new index t: x0 + t*step */
    double spacing;     /* new spacing, mm */
} axis_plan;

static double plan_pos(const axis_plan *p, size_t local)
{
    return p->x0 + (double)(p->t0 + local) * p->step;
}

static void plan_axis(axis_plan *p, size_t n, double s, double s_new, int resample, size_t lo, size_t hi)
{
    p->n_src = n;
    size_t n_new;
    if (resample) {
        /* the caller has checked that this is at most RAD_MAX_AXIS */
        n_new = (size_t)ceil((double)n * s / s_new - 1e-9);
        if (n_new < 1)
            n_new = 1;
        p->step = s_new / s;
        p->x0 = 0.5 * (double)(n - 1) - 0.5 * (double)(n_new - 1) * p->step;
        p->spacing = s_new;
    } else {
        n_new = n;
        p->step = 1.0;
        p->x0 = 0.0;
        p->spacing = s;
    }
    /* New indices whose position lies within one source voxel of the ROI
     * bounding box [lo, hi] can hold a (partial) ROI value. */
    double tlo = ceil(((double)lo - 1.0 - p->x0) / p->step);
    double thi = floor(((double)hi + 1.0 - p->x0) / p->step);
    double margin = ceil(RAD_PEAK_RADIUS_MM / p->spacing) + 1.0;
    tlo -= margin;
    thi += margin;
    if (tlo < 0)
        tlo = 0;
    if (thi > (double)(n_new - 1))
        thi = (double)(n_new - 1);
    p->t0 = (size_t)tlo;
    p->count = (size_t)(thi - tlo) + 1;
}

static size_t clampz(double x, size_t n)
{
    if (x <= 0)
        return 0;
    if (x >= (double)(n - 1))
        return n - 1;
    return (size_t)x;
}

/* Taps of a 1-D interpolation kernel at position x. */
typedef struct taps {
    int count;
    ptrdiff_t idx[4];
    double w[4];
} taps;

static void linear_taps(taps *t, double x, size_t n)
{
    if (n == 1 || x <= 0) {
        t->count = 1;
        t->idx[0] = 0;
        t->w[0] = 1;
        return;
    }
    if (x >= (double)(n - 1)) {
        t->count = 1;
        t->idx[0] = (ptrdiff_t)n - 1;
        t->w[0] = 1;
        return;
    }
    double f = floor(x);
    double a = x - f;
    t->count = 2;
    t->idx[0] = (ptrdiff_t)f;
    t->idx[1] = (ptrdiff_t)f + 1;
    t->w[0] = 1 - a;
    t->w[1] = a;
}

static void nearest_taps(taps *t, double x, size_t n)
{
    t->count = 1;
    /* round half up, as nearest-neighbour samplers usually do */
    t->idx[0] = (ptrdiff_t)clampz(floor(x + 0.5), n);
    t->w[0] = 1;
}

/* Cubic B-spline weights; idx relative to the coefficient array origin `org`
 * (coefficient c at array position q holds source index q + org). */
static void cubic_taps(taps *t, double x, ptrdiff_t org)
{
    double f = floor(x);
    double u = x - f;
    double u2 = u * u, u3 = u2 * u;
    t->count = 4;
    for (int m = 0; m < 4; m++)
        t->idx[m] = (ptrdiff_t)f - 1 + m - org;
    t->w[0] = (1 - u) * (1 - u) * (1 - u) / 6.0;
    t->w[1] = (3 * u3 - 6 * u2 + 4) / 6.0;
    t->w[2] = (-3 * u3 + 3 * u2 + 3 * u + 1) / 6.0;
    t->w[3] = u3 / 6.0;
}

/* In-place cubic B-spline prefilter of a line (mirror boundary, as the
 * usual recursive implementation). */
static void spline_prefilter_line(double *c, size_t n, size_t stride)
{
    if (n < 2)
        return;
    const double z = sqrt(3.0) - 2.0;
    const double lambda = (1 - z) * (1 - 1 / z);
    for (size_t i = 0; i < n; i++)
        c[i * stride] *= lambda;
    /* causal initialisation (mirror boundary, truncated where z^k < 1e-17;
     * the data are padded far beyond the evaluated region anyway) */
    {
        double zn = z, sum = c[0];
        size_t lim = 30 < n ? 30 : n;
        for (size_t i = 1; i < lim; i++) {
            sum += zn * c[i * stride];
            zn *= z;
        }
        c[0] = sum;
    }
    for (size_t i = 1; i < n; i++)
        c[i * stride] += z * c[(i - 1) * stride];
    c[(n - 1) * stride] = (z / (z * z - 1)) * (c[(n - 1) * stride] + z * c[(n - 2) * stride]);
    for (size_t i = n - 1; i-- > 0;)
        c[i * stride] = z * (c[(i + 1) * stride] - c[i * stride]);
}

/* Source image extended by nearest values: value at (possibly outside) index. */
static float src_at(const mmdx_volume *v, ptrdiff_t i, ptrdiff_t j, ptrdiff_t k)
{
    const mmdx_grid *g = &v->grid;
    size_t ii = i < 0 ? 0 : (size_t)i >= g->nx ? g->nx - 1 : (size_t)i;
    size_t jj = j < 0 ? 0 : (size_t)j >= g->ny ? g->ny - 1 : (size_t)j;
    size_t kk = k < 0 ? 0 : (size_t)k >= g->nz ? g->nz - 1 : (size_t)k;
    return v->data[ii + g->nx * (jj + g->ny * kk)];
}

typedef struct coeffs {
    double *c;
    ptrdiff_t org[3];
    size_t dim[3];
} coeffs;

/* Cubic spline coefficients over the source region the plans need. */
static int build_coeffs(coeffs *co, const mmdx_volume *v, const axis_plan plan[3], const int resampled[3])
{
    for (int a = 0; a < 3; a++) {
        double plo = plan_pos(&plan[a], 0), phi = plan_pos(&plan[a], plan[a].count - 1);
        ptrdiff_t pad = resampled[a] ? RAD_SPLINE_PAD : 0;
        co->org[a] = (ptrdiff_t)floor(plo) - 2 - pad;
        ptrdiff_t end = (ptrdiff_t)ceil(phi) + 2 + pad;
        co->dim[a] = (size_t)(end - co->org[a] + 1);
    }
    size_t n = co->dim[0] * co->dim[1] * co->dim[2];
    co->c = malloc(n * sizeof *co->c);
    if (!co->c)
        return MMDX_ENOMEM;
    const size_t dx = co->dim[0], dy = co->dim[1], dz = co->dim[2];
    for (size_t k = 0; k < dz; k++)
        for (size_t j = 0; j < dy; j++)
            for (size_t i = 0; i < dx; i++)
                co->c[i + dx * (j + dy * k)] = src_at(v, co->org[0] + (ptrdiff_t)i, co->org[1] + (ptrdiff_t)j,
                                                      co->org[2] + (ptrdiff_t)k);
    /* prefilter along each resampled axis */
    if (resampled[0]) {
#pragma omp parallel for schedule(static)
        for (size_t l = 0; l < dy * dz; l++)
            spline_prefilter_line(co->c + l * dx, dx, 1);
    }
    if (resampled[1]) {
#pragma omp parallel for schedule(static)
        for (size_t k = 0; k < dz; k++)
            for (size_t i = 0; i < dx; i++)
                spline_prefilter_line(co->c + i + dx * dy * k, dy, dx);
    }
    if (resampled[2]) {
#pragma omp parallel for schedule(static)
        for (size_t l = 0; l < dx * dy; l++)
            spline_prefilter_line(co->c + l, dz, dx * dy);
    }
    return 0;
}

static void make_taps(taps *t, int method, double x, size_t n, ptrdiff_t org, int resampled)
{
    if (!resampled) {
        /* positions are exact source indices */
        t->count = 1;
        t->idx[0] = (ptrdiff_t)llround(x) - (method == MMDX_RAD_INTERP_CUBIC ? org : 0);
        t->w[0] = 1;
        return;
    }
    switch (method) {
    case MMDX_RAD_INTERP_NEAREST: nearest_taps(t, x, n); break;
    case MMDX_RAD_INTERP_CUBIC: cubic_taps(t, x, org); break;
    default: linear_taps(t, x, n); break;
    }
}

/* Resample the image (method) and the mask into roi->img / roi->morph. */
static int resample(rad_roi *roi, const mmdx_radiomics_settings *s, const mmdx_volume *image,
                    const mmdx_mask *mask, const axis_plan plan[3], const int resampled[3])
{
    const mmdx_grid *g = &image->grid;
    const size_t nx = roi->nx, ny = roi->ny, nz = roi->nz;
    coeffs co = {0};
    int method = s->interp == MMDX_RAD_INTERP_NONE ? MMDX_RAD_INTERP_LINEAR : s->interp;
    int rc = 0;
    if (method == MMDX_RAD_INTERP_CUBIC && (rc = build_coeffs(&co, image, plan, resampled)))
        return rc;
    taps *tx = malloc(nx * sizeof *tx), *ty = malloc(ny * sizeof *ty), *tz = malloc(nz * sizeof *tz);
    taps *mx = malloc(nx * sizeof *mx), *my = malloc(ny * sizeof *my), *mz = malloc(nz * sizeof *mz);
    if (!tx || !ty || !tz || !mx || !my || !mz) {
        rc = MMDX_ENOMEM;
        goto done;
    }
    const size_t nsrc[3] = {g->nx, g->ny, g->nz};
    taps *it[3] = {tx, ty, tz}, *mt[3] = {mx, my, mz};
    const size_t cnt[3] = {nx, ny, nz};
    int mmethod = s->mask_interp == MMDX_RAD_INTERP_NEAREST ? MMDX_RAD_INTERP_NEAREST : MMDX_RAD_INTERP_LINEAR;
    for (int a = 0; a < 3; a++)
        for (size_t l = 0; l < cnt[a]; l++) {
            double x = plan_pos(&plan[a], l);
            make_taps(&it[a][l], method, x, nsrc[a], co.org[a], resampled[a]);
            make_taps(&mt[a][l], mmethod, x, nsrc[a], 0, resampled[a]);
        }
    const double pv = s->mask_partial_volume;
    const int cubic = method == MMDX_RAD_INTERP_CUBIC;
    const size_t cdx = co.dim[0], cdy = co.dim[1];
#pragma omp parallel for schedule(static)
    for (size_t k = 0; k < nz; k++) {
        for (size_t j = 0; j < ny; j++) {
            for (size_t i = 0; i < nx; i++) {
                const taps *a = &tx[i], *b = &ty[j], *c = &tz[k];
                double v = 0;
                for (int r = 0; r < c->count; r++)
                    for (int q = 0; q < b->count; q++)
                        for (int p = 0; p < a->count; p++) {
                            double w = a->w[p] * b->w[q] * c->w[r];
                            if (cubic)
                                v += w * co.c[(size_t)a->idx[p] + cdx * ((size_t)b->idx[q] + cdy * (size_t)c->idx[r])];
                            else
                                v += w * image->data[(size_t)a->idx[p] +
                                                     g->nx * ((size_t)b->idx[q] + g->ny * (size_t)c->idx[r])];
                        }
                const taps *ma = &mx[i], *mb = &my[j], *mc = &mz[k];
                double m = 0;
                for (int r = 0; r < mc->count; r++)
                    for (int q = 0; q < mb->count; q++)
                        for (int p = 0; p < ma->count; p++)
                            if (mask->data[(size_t)ma->idx[p] + g->nx * ((size_t)mb->idx[q] + g->ny * (size_t)mc->idx[r])])
                                m += ma->w[p] * mb->w[q] * mc->w[r];
                size_t o = i + nx * (j + ny * k);
                roi->img[o] = (float)v;
                /* a tiny slack: 0.5 must not become 0.4999999 through rounding */
                roi->morph[o] = m >= pv - 1e-9;
            }
        }
    }
done:
    free(tx);
    free(ty);
    free(tz);
    free(mx);
    free(my);
    free(mz);
    free(co.c);
    return rc;
}

int32_t rad_discretise(const rad_roi *roi, int32_t method, int32_t bins, double width, double bin_min,
                       double reseg_min, int32_t *out, mmdx_error *err)
{
    int32_t ng = 0;
    double lo = roi->imin, hi = roi->imax;
    if (method == MMDX_RAD_DISCR_FBS && !isnan(bin_min))
        lo = bin_min;
    else if (method == MMDX_RAD_DISCR_FBS && !isnan(reseg_min))
        lo = reseg_min;
    for (size_t v = 0; v < roi->n; v++) {
        if (!roi->imask[v]) {
            out[v] = 0;
            continue;
        }
        double x = roi->img[v];
        double g;
        switch (method) {
        case MMDX_RAD_DISCR_FBN:
            g = hi > lo ? (x >= hi ? bins : floor(bins * (x - lo) / (hi - lo)) + 1) : 1;
            if (g > bins)
                g = bins; /* rounding just below the maximum */
            break;
        case MMDX_RAD_DISCR_FBS:
            g = floor((x - lo) / width) + 1;
            break;
        default:
            if (x != floor(x) || x < 1 || x > (double)(1 << 20))
                return mmdx_error_set(err, MMDX_EINVAL,
                                      "radiomics: discretisation 'none' needs integer intensities in 1..%d inside "
                                      "the ROI (found %g); use fbn or fbs",
                                      1 << 20, x);
            g = x;
            break;
        }
        if (!(g >= 1))
            g = 1; /* FBS with a lower bound above the ROI minimum; NaN from an overflowing range */
        if (g > (double)(1 << 24))
            return mmdx_error_set(err, MMDX_EINVAL, "radiomics: discretisation gives more than %d grey levels",
                                  1 << 24);
        out[v] = (int32_t)g;
        if (out[v] > ng)
            ng = out[v];
    }
    if (method == MMDX_RAD_DISCR_FBN)
        ng = bins;
    return ng;
}

static void resegment(rad_roi *roi, const mmdx_radiomics_settings *s)
{
    for (size_t v = 0; v < roi->n; v++) {
        /* a NaN or infinite intensity (a float image's missing value) has no grey level */
        uint8_t in = roi->morph[v] && isfinite(roi->img[v]);
        if (in && !isnan(s->reseg_min) && roi->img[v] < s->reseg_min)
            in = 0;
        if (in && !isnan(s->reseg_max) && roi->img[v] > s->reseg_max)
            in = 0;
        roi->imask[v] = in;
    }
    if (s->reseg_outlier_sigma) {
        double sum = 0, sum2 = 0;
        size_t cnt = 0;
        for (size_t v = 0; v < roi->n; v++)
            if (roi->imask[v]) {
                sum += roi->img[v];
                cnt++;
            }
        if (cnt) {
            double mean = sum / (double)cnt;
            for (size_t v = 0; v < roi->n; v++)
                if (roi->imask[v])
                    sum2 += (roi->img[v] - mean) * (roi->img[v] - mean);
            double sd = sqrt(sum2 / (double)cnt);
            for (size_t v = 0; v < roi->n; v++)
                if (roi->imask[v] && (roi->img[v] < mean - 3 * sd || roi->img[v] > mean + 3 * sd))
                    roi->imask[v] = 0;
        }
    }
    roi->n_morph = roi->n_int = 0;
    roi->imin = INFINITY;
    roi->imax = -INFINITY;
    for (size_t v = 0; v < roi->n; v++) {
        roi->n_morph += roi->morph[v];
        if (roi->imask[v]) {
            roi->n_int++;
            if (roi->img[v] < roi->imin)
                roi->imin = roi->img[v];
            if (roi->img[v] > roi->imax)
                roi->imax = roi->img[v];
        }
    }
}

int rad_roi_build(rad_roi *roi, const mmdx_radiomics_settings *s, const mmdx_volume *image,
                  const mmdx_mask *mask, mmdx_error *err)
{
    memset(roi, 0, sizeof *roi);
    const mmdx_grid *g = &image->grid;
    size_t lo[3] = {g->nx, g->ny, g->nz}, hi[3] = {0, 0, 0};
    size_t count = 0;
    for (size_t k = 0; k < g->nz; k++)
        for (size_t j = 0; j < g->ny; j++)
            for (size_t i = 0; i < g->nx; i++)
                if (mask->data[i + g->nx * (j + g->ny * k)]) {
                    const size_t idx[3] = {i, j, k};
                    for (int a = 0; a < 3; a++) {
                        if (idx[a] < lo[a])
                            lo[a] = idx[a];
                        if (idx[a] > hi[a])
                            hi[a] = idx[a];
                    }
                    count++;
                }
    if (!count)
        return mmdx_error_set(err, MMDX_EINVAL, "radiomics: the ROI mask is empty");
    const size_t n_src[3] = {g->nx, g->ny, g->nz};
    axis_plan plan[3];
    int resampled[3];
    double new_voxels = 1;
    for (int a = 0; a < 3; a++) {
        resampled[a] = s->interp != MMDX_RAD_INTERP_NONE && !(a == 2 && s->interp_2d);
        double len = resampled[a] ? ceil((double)n_src[a] * g->spacing[a] / s->spacing[a]) : (double)n_src[a];
        new_voxels *= len;
        if (len > RAD_MAX_AXIS || new_voxels > RAD_MAX_VOXELS)
            return mmdx_error_set(err, MMDX_EINVAL,
                                  "radiomics: resampling a %zux%zux%zu image of %gx%gx%g mm to %gx%gx%g mm gives "
                                  "too large a grid",
                                  g->nx, g->ny, g->nz, g->spacing[0], g->spacing[1], g->spacing[2], s->spacing[0],
                                  s->spacing[1], s->spacing[2]);
    }
    for (int a = 0; a < 3; a++) {
        plan_axis(&plan[a], n_src[a], g->spacing[a], resampled[a] ? s->spacing[a] : g->spacing[a], resampled[a],
                  lo[a], hi[a]);
        roi->sp[a] = plan[a].spacing;
    }
    roi->nx = plan[0].count;
    roi->ny = plan[1].count;
    roi->nz = plan[2].count;
    roi->n = roi->nx * roi->ny * roi->nz;
    roi->img = malloc(roi->n * sizeof *roi->img);
    roi->morph = calloc(roi->n, 1);
    roi->imask = calloc(roi->n, 1);
    roi->gl = calloc(roi->n, sizeof *roi->gl);
    if (!roi->img || !roi->morph || !roi->imask || !roi->gl) {
        rad_roi_release(roi);
        return mmdx_error_set(err, MMDX_ENOMEM, "radiomics: out of memory for a %zux%zux%zu ROI", plan[0].count,
                              plan[1].count, plan[2].count);
    }
    int rc = resample(roi, s, image, mask, plan, resampled);
    if (rc) {
        rad_roi_release(roi);
        return mmdx_error_set(err, rc, "radiomics: out of memory while interpolating");
    }
    if (s->round_intensities)
        for (size_t v = 0; v < roi->n; v++)
            roi->img[v] = nearbyintf(roi->img[v]);
    resegment(roi, s);
    if (!roi->n_morph) {
        rad_roi_release(roi);
        return mmdx_error_set(err, MMDX_EINVAL,
                              "radiomics: the ROI vanishes after interpolation (partial-volume threshold %g)",
                              s->mask_partial_volume);
    }
    if (roi->n_int) {
        int32_t ng = rad_discretise(roi, s->discr, s->bin_number, s->bin_width, s->bin_min, s->reseg_min, roi->gl, err);
        if (ng < 0) {
            rad_roi_release(roi);
            return ng;
        }
        roi->ng = ng;
    }
    return 0;
}
