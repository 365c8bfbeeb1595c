/*
 * imaging/radiomics/intensity.c — local intensity, intensity statistics,
 * intensity histogram and intensity-volume histogram features (IBSI 3.2-3.5).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rad_internal.h"

static const char *const loc_names[] = {"peak_loc", "peak_glob"};
const rad_family rad_fam_loc = {"loc", loc_names, 2};

static const char *const stat_names[] = {"mean", "var", "skew", "kurt", "median", "min", "p10", "p90", "max",
                                         "iqr", "range", "mad", "rmad", "medad", "cov", "qcod", "energy", "rms"};
const rad_family rad_fam_stat = {"stat", stat_names, 18};

static const char *const ih_names[] = {"mean", "var", "skew", "kurt", "median", "min", "p10", "p90",
                                       "max", "mode", "iqr", "range", "mad", "rmad", "medad", "cov",
                                       "qcod", "entropy", "uniformity", "max_grad", "max_grad_g", "min_grad",
                                       "min_grad_g"};
const rad_family rad_fam_ih = {"ih", ih_names, 23};

/* Most intensity steps an intensity-volume histogram may have. */
#define RAD_IVH_MAX_LEVELS 1.0e7

static const char *const ivh_names[] = {"v10", "v90", "i10", "i90", "diff_v10_v90", "diff_i10_i90"};
const rad_family rad_fam_ivh = {"ivh", ivh_names, 6};

double rad_quantile_sorted(const double *v, size_t n, double q)
{
    if (!n)
        return NAN;
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    double f = pos - (double)lo;
    return v[lo] + (v[hi] - v[lo]) * f;
}

/* The IBSI statistics shared by the stat and ih families, on sorted values. */
typedef struct moments {
    double mean, var, skew, kurt, median, min, p10, p25, p75, p90, max, mad, rmad, medad, energy;
} moments;

static void describe(moments *m, const double *v, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    m->mean = sum / (double)n;
    double m2 = 0, m3 = 0, m4 = 0, mad = 0, energy = 0;
    for (size_t i = 0; i < n; i++) {
        double d = v[i] - m->mean;
        m2 += d * d;
        m3 += d * d * d;
        m4 += d * d * d * d;
        mad += fabs(d);
        energy += v[i] * v[i];
    }
    m2 /= (double)n;
    m3 /= (double)n;
    m4 /= (double)n;
    m->var = m2;
    m->skew = m2 > 0 ? m3 / pow(m2, 1.5) : 0;
    m->kurt = m2 > 0 ? m4 / (m2 * m2) - 3 : 0;
    m->mad = mad / (double)n;
    m->energy = energy;
    m->min = v[0];
    m->max = v[n - 1];
    m->median = rad_quantile_sorted(v, n, 0.5);
    m->p10 = rad_quantile_sorted(v, n, 0.10);
    m->p25 = rad_quantile_sorted(v, n, 0.25);
    m->p75 = rad_quantile_sorted(v, n, 0.75);
    m->p90 = rad_quantile_sorted(v, n, 0.90);
    double s = 0, r = 0;
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] >= m->p10 && v[i] <= m->p90) {
            s += v[i];
            c++;
        }
    double mu = c ? s / (double)c : NAN;
    for (size_t i = 0; i < n; i++)
        if (v[i] >= m->p10 && v[i] <= m->p90)
            r += fabs(v[i] - mu);
    m->rmad = c ? r / (double)c : NAN;
    double md = 0;
    for (size_t i = 0; i < n; i++)
        md += fabs(v[i] - m->median);
    m->medad = md / (double)n;
}

/* Order-preserving key of a float: sorting the keys as unsigned integers sorts the floats. */
static uint32_t float_key(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

/* Sort n floats (finite) into v[] as doubles: a radix sort on their keys,
 * four passes of 8 bits (the sorted sequence of values is what qsort gives). */
static int sort_floats(double *v, const float *x, size_t n)
{
    uint32_t *k = malloc(2 * (n ? n : 1) * sizeof *k), *t = k ? k + n : NULL;
    if (!k)
        return MMDX_ENOMEM;
    for (size_t i = 0; i < n; i++)
        k[i] = float_key(x[i]);
    for (int shift = 0; shift < 32; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((k[i] >> shift) & 255u) + 1]++;
        for (int b = 0; b < 256; b++)
            count[b + 1] += count[b];
        for (size_t i = 0; i < n; i++)
            t[count[(k[i] >> shift) & 255u]++] = k[i];
        uint32_t *swap = k;
        k = t;
        t = swap;
    }
    /* after an even number of passes the keys are back in the first half */
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (k[i] & 0x80000000u) ? k[i] & 0x7FFFFFFFu : ~k[i];
        float f;
        memcpy(&f, &u, sizeof f);
        v[i] = f;
    }
    free(k < t ? k : t);
    return 0;
}

/* Sorted values of the intensity mask: raw intensities, or grey levels (a counting sort). */
static double *roi_values(const rad_roi *roi, int grey)
{
    const size_t n = roi->n_int;
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return NULL;
    if (grey) {
        size_t ng = (size_t)(roi->ng > 0 ? roi->ng : 0);
        size_t *count = calloc(ng + 1, sizeof *count); /* grey levels are 1..ng */
        if (!count) {
            free(v);
            return NULL;
        }
        for (size_t i = 0; i < roi->n; i++)
            if (roi->imask[i])
                count[roi->gl[i]]++;
        size_t c = 0;
        for (size_t g = 1; g <= ng; g++)
            for (size_t q = 0; q < count[g]; q++)
                v[c++] = (double)g;
        free(count);
        return v;
    }
    float *x = malloc((n ? n : 1) * sizeof *x);
    if (!x) {
        free(v);
        return NULL;
    }
    size_t c = 0;
    for (size_t i = 0; i < roi->n; i++)
        if (roi->imask[i])
            x[c++] = roi->img[i];
    int rc = sort_floats(v, x, c);
    free(x);
    if (rc) {
        free(v);
        return NULL;
    }
    return v;
}

void rad_stat(double *out, const rad_roi *roi)
{
    rad_fill_nan(out, rad_fam_stat.count);
    if (!roi->n_int)
        return;
    double *v = roi_values(roi, 0);
    if (!v)
        return;
    moments m;
    size_t n = roi->n_int;
    describe(&m, v, n);
    double sd = sqrt(m.var);
    const double vals[18] = {m.mean, m.var, m.skew, m.kurt, m.median, m.min, m.p10, m.p90, m.max,
                             m.p75 - m.p25, m.max - m.min, m.mad, m.rmad, m.medad,
                             m.mean != 0 ? sd / m.mean : NAN,
                             (m.p75 + m.p25) != 0 ? (m.p75 - m.p25) / (m.p75 + m.p25) : NAN,
                             m.energy, sqrt(m.energy / (double)n)};
    memcpy(out, vals, sizeof vals);
    free(v);
}

void rad_ih(double *out, const rad_roi *roi)
{
    rad_fill_nan(out, rad_fam_ih.count);
    if (!roi->n_int || roi->ng < 1)
        return;
    double *v = roi_values(roi, 1);
    size_t ng = (size_t)roi->ng;
    double *h = calloc(ng + 1, sizeof *h);
    if (!v || !h) {
        free(v);
        free(h);
        return;
    }
    size_t n = roi->n_int;
    moments m;
    describe(&m, v, n);
    for (size_t i = 0; i < n; i++)
        h[(size_t)v[i]] += 1;
    /* mode: highest count; ties -> closest to the mean, left one on equal distance */
    size_t mode = 1;
    for (size_t i = 1; i <= ng; i++) {
        if (h[i] > h[mode])
            mode = i;
        else if (h[i] == h[mode] && fabs((double)i - m.mean) < fabs((double)mode - m.mean))
            mode = i;
    }
    double entropy = 0, uniformity = 0;
    for (size_t i = 1; i <= ng; i++) {
        double p = h[i] / (double)n;
        if (p > 0)
            entropy -= p * log2(p);
        uniformity += p * p;
    }
    double gmax = -INFINITY, gmin = INFINITY;
    size_t imax = 1, imin = 1;
    for (size_t i = 1; i <= ng; i++) {
        double g;
        if (ng == 1)
            g = 0;
        else if (i == 1)
            g = h[2] - h[1];
        else if (i == ng)
            g = h[ng] - h[ng - 1];
        else
            g = (h[i + 1] - h[i - 1]) / 2;
        if (g > gmax) {
            gmax = g;
            imax = i;
        }
        if (g < gmin) {
            gmin = g;
            imin = i;
        }
    }
    double sd = sqrt(m.var);
    const double vals[23] = {m.mean, m.var, m.skew, m.kurt, m.median, m.min, m.p10, m.p90, m.max, (double)mode,
                             m.p75 - m.p25, m.max - m.min, m.mad, m.rmad, m.medad,
                             m.mean != 0 ? sd / m.mean : NAN,
                             (m.p75 + m.p25) != 0 ? (m.p75 - m.p25) / (m.p75 + m.p25) : NAN,
                             entropy, uniformity, gmax, (double)imax, gmin, (double)imin};
    memcpy(out, vals, sizeof vals);
    free(v);
    free(h);
}

int rad_ivh(double *out, const rad_roi *roi, const mmdx_radiomics_settings *s, mmdx_error *err)
{
    rad_fill_nan(out, rad_fam_ivh.count);
    if (!roi->n_int)
        return 0;
    const size_t n = roi->n_int;
    double *x = malloc(n * sizeof *x);
    int32_t *d = NULL;
    if (!x)
        return MMDX_ENOMEM;
    double gmin, gmax, w;
    size_t c = 0;
    if (s->ivh_discr == MMDX_RAD_DISCR_NONE) {
        /* discrete calibrated intensities (CT): as they are, unit interval */
        for (size_t i = 0; i < roi->n; i++)
            if (roi->imask[i])
                x[c++] = roi->img[i];
        gmin = isnan(s->reseg_min) ? roi->imin : s->reseg_min;
        gmax = isnan(s->reseg_max) ? roi->imax : s->reseg_max;
        w = 1;
    } else {
        d = malloc(roi->n * sizeof *d);
        if (!d) {
            free(x);
            return MMDX_ENOMEM;
        }
        int32_t ng = rad_discretise(roi, s->ivh_discr, s->ivh_bin_number, s->ivh_bin_width, s->ivh_bin_min,
                                    s->reseg_min, d, err);
        if (ng < 0) {
            free(x);
            free(d);
            return ng;
        }
        if (s->ivh_discr == MMDX_RAD_DISCR_FBS) {
            /* continuous calibrated intensities: bin centres */
            double lo = !isnan(s->ivh_bin_min) ? s->ivh_bin_min : !isnan(s->reseg_min) ? s->reseg_min : roi->imin;
            double hi = !isnan(s->reseg_max) ? s->reseg_max : roi->imax;
            w = s->ivh_bin_width;
            for (size_t i = 0; i < roi->n; i++)
                if (roi->imask[i])
                    x[c++] = lo + ((double)d[i] - 0.5) * w;
            gmin = lo + 0.5 * w;
            gmax = hi - 0.5 * w;
            if (gmax < gmin)
                gmax = gmin;
        } else {
            /* arbitrary units: bin numbers */
            for (size_t i = 0; i < roi->n; i++)
                if (roi->imask[i])
                    x[c++] = d[i];
            gmin = 1;
            gmax = ng;
            w = 1;
        }
    }
    free(d);
    double span_levels = (gmax - gmin) / w;
    if (!(span_levels >= 0 && span_levels <= RAD_IVH_MAX_LEVELS)) {
        free(x);
        return 0; /* a range of intensities too wide for unit steps: NaN */
    }
    size_t levels = (size_t)llround(span_levels) + 1;
    double *below = calloc(levels + 1, sizeof *below); /* count at each level */
    if (!below) {
        free(x);
        return MMDX_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        double l = nearbyint((x[i] - gmin) / w);
        if (l < 0)
            l = 0;
        if (l > (double)(levels - 1))
            l = (double)(levels - 1);
        below[(size_t)l] += 1;
    }
    free(x);
    /* nu[l] = fraction of voxels with level >= l */
    double *nu = malloc(levels * sizeof *nu);
    if (!nu) {
        free(below);
        return MMDX_ENOMEM;
    }
    double acc = 0;
    for (size_t l = 0; l < levels; l++) {
        nu[l] = 1 - acc / (double)n;
        acc += below[l];
    }
    free(below);
    double span = (double)(levels - 1);
    double vx[2], ix[2];
    const double fr[2] = {0.10, 0.90};
    for (int f = 0; f < 2; f++) {
        /* V_x: nu at the lowest level whose intensity fraction reaches x */
        vx[f] = 0;
        for (size_t l = 0; l < levels; l++) {
            double gamma = span > 0 ? (double)l / span : 1.0;
            if (gamma >= fr[f] - 1e-12) {
                vx[f] = nu[l];
                break;
            }
        }
        /* I_x: lowest intensity whose volume fraction is at most x */
        ix[f] = gmax + w;
        for (size_t l = 0; l < levels; l++)
            if (nu[l] <= fr[f] + 1e-12) {
                ix[f] = gmin + (double)l * w;
                break;
            }
    }
    free(nu);
    out[0] = vx[0];
    out[1] = vx[1];
    out[2] = ix[0];
    out[3] = ix[1];
    out[4] = vx[0] - vx[1];
    out[5] = ix[0] - ix[1];
    return 0;
}

/*
 * Local intensity: the mean image intensity in a 1 cm^3 sphere (all image
 * voxels of the crop, in or out of the ROI) around ROI voxels. The sphere is
 * a set of rows along x (one per (dy, dz)), so with per-row prefix sums the
 * mean costs one subtraction per row instead of one addition per voxel.
 */
typedef struct sphere_rows {
    ptrdiff_t *dj, *dk, *rx; /* row offsets and half-width along x, in voxels */
    size_t count;
} sphere_rows;

/* Offsets beyond the crop never hit a voxel: extents are clamped to it
 * (which also bounds the work for absurdly small voxel spacings). */
static ptrdiff_t extent(double r, double spacing, size_t n)
{
    double e = floor(r / spacing);
    return e < (double)n ? (ptrdiff_t)e : (ptrdiff_t)n;
}

static int sphere_make(sphere_rows *sp, const double spacing[3], const size_t dims[3])
{
    const double r = 10.0 * cbrt(3.0 / (4.0 * M_PI)); /* mm */
    const ptrdiff_t ey = extent(r, spacing[1], dims[1]), ez = extent(r, spacing[2], dims[2]);
    const ptrdiff_t ex = extent(r, spacing[0], dims[0]);
    size_t cap = (size_t)((2 * ey + 1) * (2 * ez + 1));
    sp->dj = malloc(cap * sizeof *sp->dj);
    sp->dk = malloc(cap * sizeof *sp->dk);
    sp->rx = malloc(cap * sizeof *sp->rx);
    sp->count = 0;
    if (!sp->dj || !sp->dk || !sp->rx)
        return MMDX_ENOMEM;
    for (ptrdiff_t c = -ez; c <= ez; c++)
        for (ptrdiff_t b = -ey; b <= ey; b++) {
            double y = (double)b * spacing[1], z = (double)c * spacing[2];
            double rem = r * r - y * y - z * z;
            if (rem < -1e-9)
                continue;
            /* largest a with (a*sx)^2 <= rem, with the same slack as a direct test */
            ptrdiff_t a = extent(sqrt(rem > 0 ? rem : 0), spacing[0], (size_t)ex);
            while (a < ex && (double)(a + 1) * spacing[0] * (double)(a + 1) * spacing[0] <= rem + 1e-9)
                a++;
            while (a > 0 && (double)a * spacing[0] * (double)a * spacing[0] > rem + 1e-9)
                a--;
            sp->dj[sp->count] = b;
            sp->dk[sp->count] = c;
            sp->rx[sp->count] = a;
            sp->count++;
        }
    return 0;
}

void rad_loc(double *out, const rad_roi *roi)
{
    rad_fill_nan(out, rad_fam_loc.count);
    if (!roi->n_int)
        return;
    const size_t nx = roi->nx, ny = roi->ny, nz = roi->nz;
    sphere_rows sp;
    double *prefix = malloc((nx + 1) * ny * nz * sizeof *prefix);
    const size_t dims[3] = {nx, ny, nz};
    if (sphere_make(&sp, roi->sp, dims) || !prefix)
        goto done;
    for (size_t row = 0; row < ny * nz; row++) {
        double *p = prefix + row * (nx + 1);
        p[0] = 0;
        for (size_t i = 0; i < nx; i++)
            p[i + 1] = p[i] + roi->img[row * nx + i];
    }
    double local = -INFINITY, global = -INFINITY;
#pragma omp parallel for schedule(dynamic, 1) reduction(max : local, global)
    for (size_t k = 0; k < nz; k++)
        for (size_t j = 0; j < ny; j++)
            for (size_t i = 0; i < nx; i++) {
                size_t v = i + nx * (j + ny * k);
                if (!roi->imask[v])
                    continue;
                double sum = 0;
                double cnt = 0;
                for (size_t q = 0; q < sp.count; q++) {
                    ptrdiff_t b = (ptrdiff_t)j + sp.dj[q], c = (ptrdiff_t)k + sp.dk[q];
                    if (b < 0 || c < 0 || (size_t)b >= ny || (size_t)c >= nz)
                        continue;
                    ptrdiff_t a0 = (ptrdiff_t)i - sp.rx[q], a1 = (ptrdiff_t)i + sp.rx[q];
                    if (a0 < 0)
                        a0 = 0;
                    if (a1 > (ptrdiff_t)nx - 1)
                        a1 = (ptrdiff_t)nx - 1;
                    const double *p = prefix + ((size_t)b + ny * (size_t)c) * (nx + 1);
                    sum += p[a1 + 1] - p[a0];
                    cnt += (double)(a1 - a0 + 1);
                }
                double mval = sum / cnt;
                if (mval > global)
                    global = mval;
                if (roi->img[v] == roi->imax && mval > local)
                    local = mval;
            }
    out[0] = local;
    out[1] = global;
done:
    free(prefix);
    free(sp.dj);
    free(sp.dk);
    free(sp.rx);
}
