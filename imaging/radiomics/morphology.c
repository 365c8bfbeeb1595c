/*
 * imaging/radiomics/morphology.c — morphological features (IBSI 3.1).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Mesh features use the marching-cubes mesh of the morphological mask;
 * point-set features (PCA, centre of mass) the voxel centres; integrated
 * intensity, Moran's I and Geary's C the intensity mask.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fft.h"
#include "hull.h"
#include "mesh.h"
#include "rad_internal.h"

#define MORPH_N 25
static const char *const morph_names[MORPH_N] = {
    "volume",      "vol_approx",     "area_mesh",   "av",          "comp_1",          "comp_2",
    "sph_dispr",   "sphericity",     "asphericity", "com",         "diam",            "pca_major",
    "pca_minor",   "pca_least",      "pca_elongation", "pca_flatness", "v_dens_aabb", "a_dens_aabb",
    "v_dens_aee",  "a_dens_aee",     "v_dens_conv_hull", "a_dens_conv_hull", "integ_int", "moran_i",
    "geary_c"};
const rad_family rad_fam_morph = {"morph", morph_names, MORPH_N};

/* Eigenvalues of a symmetric 3x3 matrix, descending. */
static void eig3(const double a[3][3], double ev[3])
{
    double p1 = a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2];
    if (p1 == 0) {
        ev[0] = a[0][0];
        ev[1] = a[1][1];
        ev[2] = a[2][2];
    } else {
        double q = (a[0][0] + a[1][1] + a[2][2]) / 3;
        double p2 = (a[0][0] - q) * (a[0][0] - q) + (a[1][1] - q) * (a[1][1] - q) + (a[2][2] - q) * (a[2][2] - q) +
                    2 * p1;
        double p = sqrt(p2 / 6);
        double b[3][3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                b[i][j] = (a[i][j] - (i == j ? q : 0)) / p;
        double r = (b[0][0] * (b[1][1] * b[2][2] - b[1][2] * b[2][1]) - b[0][1] * (b[1][0] * b[2][2] - b[1][2] * b[2][0]) +
                    b[0][2] * (b[1][0] * b[2][1] - b[1][1] * b[2][0])) /
                   2;
        double phi = r <= -1 ? M_PI / 3 : r >= 1 ? 0 : acos(r) / 3;
        ev[0] = q + 2 * p * cos(phi);
        ev[2] = q + 2 * p * cos(phi + 2 * M_PI / 3);
        ev[1] = 3 * q - ev[0] - ev[2];
    }
    /* sort descending */
    for (int i = 0; i < 2; i++)
        for (int j = i + 1; j < 3; j++)
            if (ev[j] > ev[i]) {
                double t = ev[i];
                ev[i] = ev[j];
                ev[j] = t;
            }
}

/* Surface area of an ellipsoid with semi-axes a >= b >= c (IBSI series, 20 terms). */
static double ellipsoid_area(double a, double b, double c)
{
    if (!(a > 0))
        return NAN;
    double al = sqrt(fmax(0, 1 - b * b / (a * a))), be = sqrt(fmax(0, 1 - c * c / (a * a)));
    /* q_nu = (al*be)^nu * P_nu((al^2+be^2)/(2 al be)), by the Legendre recurrence */
    double s2 = (al * al + be * be) / 2, ab2 = al * be * al * be;
    double qm1 = 1, q = s2, sum = 1; /* nu = 0 term: 1/(1-0) * 1 */
    sum += q / (1 - 4.0);
    for (int nu = 1; nu < 20; nu++) {
        double qn = ((2 * nu + 1) * s2 * q - nu * ab2 * qm1) / (nu + 1);
        qm1 = q;
        q = qn;
        sum += q / (1 - 4.0 * (nu + 1) * (nu + 1));
    }
    return 4 * M_PI * a * b * sum;
}

/*
 * Moran's I and Geary's C over the intensity mask. Both are sums over voxel
 * pairs weighted by 1/distance. On a regular grid the weight depends only on
 * the offset between the two voxels, so the pair sums are sums over offsets
 * of correlations, which FFTs give in O(M log M) (M: padded bounding box)
 * instead of O(N^2) — exact up to rounding (~1e-12). Small ROIs use the
 * direct double loop.
 */
/* Limits of the two exact methods: FFT work arrays, and the ROI size for the
 * O(N^2) loop (50 000 voxels: about 1.25e9 pairs, seconds). */
#define RAD_AUTOCORR_FFT_BYTES (1024.0 * 1024 * 1024)
#define RAD_AUTOCORR_DIRECT_MAX 50000

typedef struct autocorr_sums {
    double n, den;   /* voxel count, sum of squared deviations */
    double w, m, g;  /* sum of weights, Moran numerator, Geary numerator (ordered pairs) */
} autocorr_sums;

static int autocorr_direct(autocorr_sums *r, const rad_roi *roi, double mean)
{
    size_t n = roi->n_int;
    double *x = malloc(n * 4 * sizeof *x);
    if (!x)
        return MMDX_ENOMEM;
    double *px = x + n, *py = x + 2 * n, *pz = x + 3 * n;
    size_t c = 0;
    for (size_t k = 0; k < roi->nz; k++)
        for (size_t j = 0; j < roi->ny; j++)
            for (size_t i = 0; i < roi->nx; i++) {
                size_t v = i + roi->nx * (j + roi->ny * k);
                if (!roi->imask[v])
                    continue;
                x[c] = roi->img[v] - mean;
                px[c] = (double)i * roi->sp[0];
                py[c] = (double)j * roi->sp[1];
                pz[c] = (double)k * roi->sp[2];
                c++;
            }
    /* per-voxel partial sums, added in a fixed order afterwards: the result
     * must not depend on the thread count or scheduling */
    double *part = malloc(3 * n * sizeof *part);
    if (!part) {
        free(x);
        return MMDX_ENOMEM;
    }
#pragma omp parallel for schedule(dynamic, 256)
    for (size_t a = 0; a < n; a++) {
        double ws = 0, ms = 0, gs = 0;
        for (size_t b = a + 1; b < n; b++) {
            double dx = px[a] - px[b], dy = py[a] - py[b], dz = pz[a] - pz[b];
            double w = 1.0 / sqrt(dx * dx + dy * dy + dz * dz);
            double d = x[a] - x[b];
            ws += w;
            ms += w * x[b];
            gs += w * d * d;
        }
        part[3 * a] = ws;
        part[3 * a + 1] = ms * x[a];
        part[3 * a + 2] = gs;
    }
    double wsum = 0, msum = 0, gsum = 0;
    for (size_t a = 0; a < n; a++) {
        wsum += part[3 * a];
        msum += part[3 * a + 1];
        gsum += part[3 * a + 2];
    }
    free(part);
    free(x);
    /* unordered pairs counted once: double for ordered pairs */
    r->w = 2 * wsum;
    r->m = 2 * msum;
    r->g = 2 * gsum;
    return 0;
}

/*
 * With U = w * m and V = w * z (w: the 1/distance weight as a kernel over
 * offsets, zero at 0; *: correlation over the ROI box), the sums are
 *   sum of weights   = sum_p m(p) U(p),   Moran numerator = sum_p z(p) V(p),
 *   Geary numerator  = 2 sum_p z(p)^2 U(p) - 2 sum_p z(p) V(p).
 * w is real and even, so its transform is real and one FFT of z + i m gives
 * V + i U. The box is padded to at least 2n-1 per axis so nothing wraps.
 */
/* 1/distance of offset (di, dj, dk) voxels (not all 0). */
static double inverse_distance(const rad_roi *roi, ptrdiff_t di, ptrdiff_t dj, ptrdiff_t dk)
{
    double dx = (double)di * roi->sp[0], dy = (double)dj * roi->sp[1], dz = (double)dk * roi->sp[2];
    return 1.0 / sqrt(dx * dx + dy * dy + dz * dz);
}

/*
 * The transform of the kernel w over the padded box: w is real and even
 * along every axis, so is its transform. Into khat[] (the octant, n0 = L0/2+1
 * fastest, see rad_fft3_real_even) when a cosine transform of the octant is
 * cheaper than a complex FFT of the whole box (screening-size ROIs), else
 * into kfull[] (the whole box, complex). Exactly one of *khat, *kfull is set.
 */
static int kernel_transform(double **khat, double complex **kfull, const rad_roi *roi, const size_t ext[3],
                            const size_t L[3])
{
    const size_t total = L[0] * L[1] * L[2];
    *khat = NULL;
    *kfull = NULL;
    if (rad_fft3_real_even_cost(L) < 2.5 * (double)total * log2((double)total)) {
        const size_t n0 = L[0] / 2 + 1, n1 = L[1] / 2 + 1, n2 = L[2] / 2 + 1;
        double *o = calloc(n0 * n1 * n2, sizeof *o);
        if (!o)
            return MMDX_ENOMEM;
        /* L >= 2 ext - 1: the offsets 0..ext-1 fit in the octant */
        for (size_t k = 0; k < ext[2]; k++)
            for (size_t j = 0; j < ext[1]; j++)
                for (size_t i = 0; i < ext[0]; i++)
                    if (i || j || k)
                        o[i + n0 * (j + n1 * k)] = inverse_distance(roi, (ptrdiff_t)i, (ptrdiff_t)j, (ptrdiff_t)k);
        int rc = rad_fft3_real_even(o, L);
        if (rc) {
            free(o);
            return rc;
        }
        *khat = o;
        return 0;
    }
    double complex *K = calloc(total, sizeof *K);
    if (!K)
        return MMDX_ENOMEM;
    for (ptrdiff_t dk = -(ptrdiff_t)ext[2] + 1; dk < (ptrdiff_t)ext[2]; dk++)
        for (ptrdiff_t dj = -(ptrdiff_t)ext[1] + 1; dj < (ptrdiff_t)ext[1]; dj++)
            for (ptrdiff_t di = -(ptrdiff_t)ext[0] + 1; di < (ptrdiff_t)ext[0]; di++) {
                if (!di && !dj && !dk)
                    continue;
                size_t a = (size_t)((di + (ptrdiff_t)L[0]) % (ptrdiff_t)L[0]) +
                           L[0] * ((size_t)((dj + (ptrdiff_t)L[1]) % (ptrdiff_t)L[1]) +
                                   L[1] * (size_t)((dk + (ptrdiff_t)L[2]) % (ptrdiff_t)L[2]));
                K[a] = inverse_distance(roi, di, dj, dk);
            }
    int rc = rad_fft3(K, L, 0);
    if (rc) {
        free(K);
        return rc;
    }
    *kfull = K;
    return 0;
}

/*
 * With U = w * m and V = w * z (w: the 1/distance weight as a kernel over
 * offsets, zero at 0; *: correlation over the ROI box), the sums are
 *   sum of weights   = sum_p m(p) U(p),   Moran numerator = sum_p z(p) V(p),
 *   Geary numerator  = 2 sum_p z(p)^2 U(p) - 2 sum_p z(p) V(p).
 * w is real and even, so its transform is real and one FFT of z + i m gives
 * V + i U. The box is padded to at least 2n-1 per axis so nothing wraps.
 */
static int autocorr_fft(autocorr_sums *r, const rad_roi *roi, double mean, const size_t lo[3], const size_t ext[3],
                        const size_t L[3])
{
    const size_t total = L[0] * L[1] * L[2];
    double complex *X = calloc(total, sizeof *X), *K = NULL;
    double *khat = NULL;
    if (!X)
        return MMDX_ENOMEM;
    for (size_t k = 0; k < ext[2]; k++)
        for (size_t j = 0; j < ext[1]; j++)
            for (size_t i = 0; i < ext[0]; i++) {
                size_t v = (lo[0] + i) + roi->nx * ((lo[1] + j) + roi->ny * (lo[2] + k));
                if (roi->imask[v])
                    X[i + L[0] * (j + L[1] * k)] = (roi->img[v] - mean) + I;
            }
    int rc = rad_fft3_box(X, L, 0, ext);
    if (!rc)
        rc = kernel_transform(&khat, &K, roi, ext, L);
    if (rc)
        goto done;
    /* correlation with an even real kernel: multiply by its (real) transform */
    if (khat) {
        const size_t n0 = L[0] / 2 + 1, n1 = L[1] / 2 + 1;
        for (size_t w = 0; w < L[2]; w++) {
            const size_t fw = w <= L[2] / 2 ? w : L[2] - w;
            for (size_t v = 0; v < L[1]; v++) {
                const size_t fv = v <= L[1] / 2 ? v : L[1] - v;
                const double *row = khat + n0 * (fv + n1 * fw);
                double *x = (double *)(X + L[0] * (v + L[1] * w));
                for (size_t u = 0; u < L[0]; u++) {
                    const double kr = row[u <= L[0] / 2 ? u : L[0] - u];
                    x[2 * u] *= kr;
                    x[2 * u + 1] *= kr;
                }
            }
        }
    } else {
        for (size_t q = 0; q < total; q++) {
            double kr = creal(K[q]);
            X[q] = kr * creal(X[q]) + I * (kr * cimag(X[q]));
        }
    }
    if ((rc = rad_fft3_box(X, L, 1, ext)))
        goto done;
    double wsum = 0, msum = 0, qsum = 0;
    for (size_t k = 0; k < ext[2]; k++)
        for (size_t j = 0; j < ext[1]; j++)
            for (size_t i = 0; i < ext[0]; i++) {
                size_t v = (lo[0] + i) + roi->nx * ((lo[1] + j) + roi->ny * (lo[2] + k));
                if (!roi->imask[v])
                    continue;
                double z = roi->img[v] - mean;
                size_t a = i + L[0] * (j + L[1] * k);
                double V = creal(X[a]), U = cimag(X[a]);
                wsum += U;
                msum += z * V;
                qsum += z * z * U;
            }
    r->w = wsum;
    r->m = msum;
    r->g = 2 * qsum - 2 * msum;
done:
    free(X);
    free(K);
    free(khat);
    return rc;
}

static void autocorrelation(double *moran, double *geary, const rad_roi *roi)
{
    *moran = *geary = NAN;
    const size_t n = roi->n_int;
    if (n < 2)
        return;
    size_t lo[3] = {roi->nx, roi->ny, roi->nz}, hi[3] = {0, 0, 0};
    double mean = 0;
    for (size_t k = 0; k < roi->nz; k++)
        for (size_t j = 0; j < roi->ny; j++)
            for (size_t i = 0; i < roi->nx; i++) {
                size_t v = i + roi->nx * (j + roi->ny * k);
                if (!roi->imask[v])
                    continue;
                const size_t idx[3] = {i, j, k};
                for (int a = 0; a < 3; a++) {
                    if (idx[a] < lo[a])
                        lo[a] = idx[a];
                    if (idx[a] > hi[a])
                        hi[a] = idx[a];
                }
                mean += roi->img[v];
            }
    mean /= (double)n;
    double den = 0;
    for (size_t v = 0; v < roi->n; v++)
        if (roi->imask[v])
            den += (roi->img[v] - mean) * (roi->img[v] - mean);
    if (!(den > 0))
        return;
    size_t ext[3], L[3];
    double m = 1;
    for (int a = 0; a < 3; a++) {
        ext[a] = hi[a] - lo[a] + 1;
        L[a] = rad_fft_good_size(2 * ext[a] - 1);
        m *= (double)L[a];
    }
    /* direct: ~N^2/2 pair terms; FFT: about 2.2 transforms of M log M, two arrays of M */
    double direct_cost = (double)n * (double)n / 2, fft_cost = 2.2 * 5 * m * log2(m);
    double fft_bytes = 2 * m * sizeof(double complex);
    autocorr_sums r = {0};
    int rc;
    int fft_fits = fft_bytes <= RAD_AUTOCORR_FFT_BYTES;
    if (fft_fits && (fft_cost < direct_cost || n > RAD_AUTOCORR_DIRECT_MAX))
        rc = autocorr_fft(&r, roi, mean, lo, ext, L);
    else if (n <= RAD_AUTOCORR_DIRECT_MAX)
        rc = autocorr_direct(&r, roi, mean);
    else
        return; /* too large for either: NaN (documented) */
    if (rc || !(r.w > 0))
        return;
    *moran = (double)n / r.w * r.m / den;
    *geary = (double)(n - 1) / (2 * r.w) * r.g / den;
}

int rad_morph(double *out, const rad_roi *roi, const mmdx_radiomics_settings *s, mmdx_error *err)
{
    rad_fill_nan(out, MORPH_N);
    rad_mesh mesh;
    int rc = rad_mesh_build(&mesh, roi->morph, roi->nx, roi->ny, roi->nz, roi->sp);
    if (rc)
        return mmdx_error_set(err, rc, "radiomics: out of memory for the ROI mesh");
    const double V = mesh.volume, A = mesh.area;
    const double vox = roi->sp[0] * roi->sp[1] * roi->sp[2];
    out[0] = V;
    out[1] = (double)roi->n_morph * vox;
    out[2] = A;
    out[3] = A / V;
    out[4] = V / (sqrt(M_PI) * pow(A, 1.5));
    out[5] = 36 * M_PI * V * V / (A * A * A);
    out[6] = A / cbrt(36 * M_PI * V * V);
    out[7] = cbrt(36 * M_PI * V * V) / A;
    out[8] = cbrt(A * A * A / (36 * M_PI * V * V)) - 1;

    /* centre of mass shift, PCA of the morphological voxel centres */
    double cg[3] = {0, 0, 0}, ci[3] = {0, 0, 0}, wsum = 0;
    double cov[3][3] = {{0}};
    for (size_t k = 0; k < roi->nz; k++)
        for (size_t j = 0; j < roi->ny; j++)
            for (size_t i = 0; i < roi->nx; i++) {
                size_t v = i + roi->nx * (j + roi->ny * k);
                double p[3] = {(double)i * roi->sp[0], (double)j * roi->sp[1], (double)k * roi->sp[2]};
                if (roi->morph[v])
                    for (int q = 0; q < 3; q++)
                        cg[q] += p[q];
                if (roi->imask[v]) {
                    for (int q = 0; q < 3; q++)
                        ci[q] += roi->img[v] * p[q];
                    wsum += roi->img[v];
                }
            }
    const double nm = (double)roi->n_morph;
    for (int q = 0; q < 3; q++)
        cg[q] /= nm;
    for (size_t k = 0; k < roi->nz; k++)
        for (size_t j = 0; j < roi->ny; j++)
            for (size_t i = 0; i < roi->nx; i++) {
                if (!roi->morph[i + roi->nx * (j + roi->ny * k)])
                    continue;
                double d[3] = {(double)i * roi->sp[0] - cg[0], (double)j * roi->sp[1] - cg[1],
                               (double)k * roi->sp[2] - cg[2]};
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 3; b++)
                        cov[a][b] += d[a] * d[b];
            }
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            cov[a][b] /= nm > 1 ? nm - 1 : 1;
    if (roi->n_int && wsum != 0) {
        double d2 = 0;
        for (int q = 0; q < 3; q++) {
            double d = cg[q] - ci[q] / wsum;
            d2 += d * d;
        }
        out[9] = sqrt(d2);
    }
    double ev[3];
    eig3(cov, ev);
    for (int q = 0; q < 3; q++)
        if (ev[q] < 0)
            ev[q] = 0;
    out[11] = 4 * sqrt(ev[0]);
    out[12] = 4 * sqrt(ev[1]);
    out[13] = 4 * sqrt(ev[2]);
    out[14] = ev[0] > 0 ? sqrt(ev[1] / ev[0]) : NAN;
    out[15] = ev[0] > 0 ? sqrt(ev[2] / ev[0]) : NAN;

    /* bounding box of the mesh */
    double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    for (size_t v = 0; v < mesh.nv; v++)
        for (int q = 0; q < 3; q++) {
            lo[q] = fmin(lo[q], mesh.v[3 * v + q]);
            hi[q] = fmax(hi[q], mesh.v[3 * v + q]);
        }
    double ext[3] = {hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]};
    out[16] = V / (ext[0] * ext[1] * ext[2]);
    out[17] = A / (2 * (ext[0] * ext[1] + ext[0] * ext[2] + ext[1] * ext[2]));
    double a = 2 * sqrt(ev[0]), b = 2 * sqrt(ev[1]), c = 2 * sqrt(ev[2]);
    out[18] = 3 * V / (4 * M_PI * a * b * c);
    out[19] = A / ellipsoid_area(a, b, c);

    rad_hull hull;
    rc = rad_hull_compute(&hull, mesh.v, mesh.nv);
    rad_mesh_release(&mesh);
    if (rc)
        return mmdx_error_set(err, rc, "radiomics: out of memory for the convex hull");
    out[10] = hull.diameter;
    out[20] = V / hull.volume;
    out[21] = A / hull.area;

    if (roi->n_int) {
        double sum = 0;
        for (size_t v = 0; v < roi->n; v++)
            if (roi->imask[v])
                sum += roi->img[v];
        out[22] = sum / (double)roi->n_int * V;
        if (!s->moran_max_voxels || roi->n_int <= (size_t)s->moran_max_voxels)
            autocorrelation(&out[23], &out[24], roi);
    }
    return 0;
}
