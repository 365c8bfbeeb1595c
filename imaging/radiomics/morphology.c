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

/* Moran's I and Geary's C over the intensity mask (exact, O(N^2)). */
static void autocorrelation(double *moran, double *geary, const rad_roi *roi)
{
    *moran = *geary = NAN;
    size_t n = roi->n_int;
    if (n < 2)
        return;
    double *x = malloc(n * 4 * sizeof *x);
    if (!x)
        return;
    double *px = x + n, *py = x + 2 * n, *pz = x + 3 * n;
    size_t c = 0;
    double mean = 0;
    for (size_t k = 0; k < roi->nz; k++)
        for (size_t j = 0; j < roi->ny; j++)
            for (size_t i = 0; i < roi->nx; i++) {
                size_t v = i + roi->nx * (j + roi->ny * k);
                if (!roi->imask[v])
                    continue;
                x[c] = roi->img[v];
                px[c] = (double)i * roi->sp[0];
                py[c] = (double)j * roi->sp[1];
                pz[c] = (double)k * roi->sp[2];
                mean += x[c];
                c++;
            }
    mean /= (double)n;
    double den = 0;
    for (size_t i = 0; i < n; i++) {
        x[i] -= mean;
        den += x[i] * x[i];
    }
    double wsum = 0, msum = 0, gsum = 0;
#pragma omp parallel for schedule(dynamic, 256) reduction(+ : wsum, msum, gsum)
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
        wsum += ws;
        msum += ms * x[a];
        gsum += gs;
    }
    free(x);
    /* each unordered pair counted once: double both sums (ratios unchanged) */
    if (den > 0) {
        *moran = (double)n / (2 * wsum) * (2 * msum) / den;
        *geary = (double)(n - 1) / (2 * 2 * wsum) * (2 * gsum) / den;
    } else {
        *moran = *geary = NAN;
    }
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
