/*
 * tests/imaging/test_radiomics.c — the radiomics engine on synthetic images:
 * settings parsing, the fixed name list, the interpolation grid, mesh and
 * convex hull geometry, re-segmentation, errors, and reentrancy.
 * (Values against the IBSI reference: test_radiomics_ibsi.c.)
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "radiomics/fft.h"
#include "radiomics/radiomics.h"
#include "testsupport.h"

static mmdx_grid grid_of(size_t nx, size_t ny, size_t nz, double sx, double sy, double sz)
{
    mmdx_grid g;
    memset(&g, 0, sizeof g);
    g.nx = nx;
    g.ny = ny;
    g.nz = nz;
    g.spacing[0] = sx;
    g.spacing[1] = sy;
    g.spacing[2] = sz;
    g.direction[0] = g.direction[4] = g.direction[8] = 1;
    return g;
}

static mmdx_volume *volume(const mmdx_grid *g)
{
    mmdx_volume *v = NULL;
    ck_assert_int_eq(mmdx_volume_new(&v, g), 0);
    return v;
}

static mmdx_mask *mask(const mmdx_grid *g)
{
    mmdx_mask *m = NULL;
    ck_assert_int_eq(mmdx_mask_new(&m, g), 0);
    return m;
}

static mmdx_radiomics_features *compute_ok(const mmdx_radiomics_settings *s, const mmdx_volume *v,
                                           const mmdx_mask *m)
{
    mmdx_radiomics_features *f = NULL;
    mmdx_error err = {0};
    ck_assert_msg(mmdx_radiomics_compute(&f, s, v, m, &err) == 0, "%s", err.message);
    return f;
}

START_TEST(settings_parse)
{
    mmdx_radiomics_settings s;
    mmdx_radiomics_settings_init(&s);
    mmdx_error err = {0};
    ck_assert_int_eq(mmdx_radiomics_settings_check(&s, &err), 0);
    ck_assert_int_eq(s.discr, MMDX_RAD_DISCR_FBN);
    ck_assert_int_eq(s.bin_number, 32);
    ck_assert_int_eq(mmdx_radiomics_settings_set(&s, "spacing", "1,2,3", &err), 0);
    ck_assert_double_eq(s.spacing[2], 3);
    ck_assert_int_eq(mmdx_radiomics_settings_set(&s, "spacing", "2.5", &err), 0);
    ck_assert_double_eq(s.spacing[0], 2.5);
    ck_assert_double_eq(s.spacing[2], 2.5);
    ck_assert_int_eq(mmdx_radiomics_settings_set(&s, "discretisation", "fbs:25@-500", &err), 0);
    ck_assert_int_eq(s.discr, MMDX_RAD_DISCR_FBS);
    ck_assert_double_eq(s.bin_width, 25);
    ck_assert_double_eq(s.bin_min, -500);
    ck_assert_int_eq(mmdx_radiomics_settings_set(&s, "resegment_range", "-1000,", &err), 0);
    ck_assert_double_eq(s.reseg_min, -1000);
    ck_assert(isnan(s.reseg_max));
    ck_assert_int_eq(mmdx_radiomics_settings_set(&s, "aggregation", "2d_avg, 3d_mrg", &err), 0);
    ck_assert_uint_eq(s.aggregation, MMDX_RAD_AGG_2D_AVG | MMDX_RAD_AGG_3D_MRG);
    ck_assert_int_eq(mmdx_radiomics_settings_set(&s, "families", "morph,cm", &err), 0);
    ck_assert_uint_eq(s.families, MMDX_RAD_FAM_MORPH | MMDX_RAD_FAM_CM);
    ck_assert_int_eq(mmdx_radiomics_settings_set(&s, "interpolation", "tricubic", &err), 0);
    ck_assert_int_eq(s.interp, MMDX_RAD_INTERP_CUBIC);

    /* bad input: the message names key and value */
    static const char *const bad[][2] = {
        {"spacing", "abc"},         {"spacing", "0"},           {"spacing", "1,2"},
        {"discretisation", "fbn:0"}, {"discretisation", "fbs:-1"}, {"discretisation", "quantile"},
        {"resegment_range", "400,-500"}, {"resegment_range", "12"}, {"families", "morph,bogus"},
        {"aggregation", ""},        {"cm_distance", "0"},        {"cm_distance", "1.5"},
        {"interpolation", "sinc"},  {"mask_partial_volume", "1.5"}, {"round_intensities", "maybe"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&err, 0, sizeof err);
        ck_assert_msg(mmdx_radiomics_settings_set(&s, bad[i][0], bad[i][1], &err) == MMDX_EINVAL, "%s=%s accepted",
                      bad[i][0], bad[i][1]);
        ck_assert_ptr_nonnull(strstr(err.message, bad[i][0]));
    }
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(mmdx_radiomics_settings_set(&s, "no_such_key", "1", &err), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "no_such_key"));

    /* interpolation without a spacing is inconsistent */
    mmdx_radiomics_settings_init(&s);
    s.interp = MMDX_RAD_INTERP_LINEAR;
    ck_assert_int_eq(mmdx_radiomics_settings_check(&s, &err), MMDX_EINVAL);
}
END_TEST

static int name_ok(const char *n)
{
    const char *dot = strchr(n, '.');
    if (!dot || dot == n || !dot[1] || strchr(dot + 1, '.'))
        return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
            return 0;
    return 1;
}

START_TEST(names_fixed)
{
    mmdx_radiomics_settings s;
    mmdx_radiomics_settings_init(&s);
    mmdx_error err = {0};
    mmdx_radiomics_features *f = NULL;
    ck_assert_int_eq(mmdx_radiomics_names(&f, &s, &err), 0);
    /* default: morph 25 + loc 2 + stat 18 + ih 23 + ivh 6 + cm 2x25 + rlm 2x16 + szm 16 + dzm 16 + ngt 5 + ngl 17 */
    ck_assert_uint_eq(f->count, 25 + 2 + 18 + 23 + 6 + 50 + 32 + 16 + 16 + 5 + 17);
    for (size_t i = 0; i < f->count; i++) {
        ck_assert_msg(name_ok(f->names[i]), "bad name %s", f->names[i]);
        ck_assert(isnan(f->values[i]));
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(f->names[i], f->names[j]);
    }
    ck_assert(isnan(mmdx_radiomics_get(f, "morph.volume")));
    ck_assert_int_eq(strcmp(f->names[0], "morph.volume"), 0);
    mmdx_radiomics_features_free(f);

    s.aggregation = MMDX_RAD_AGG_ALL;
    ck_assert_int_eq(mmdx_radiomics_names(&f, &s, &err), 0);
    ck_assert_uint_eq(f->count, 25 + 2 + 18 + 23 + 6 + 6 * 25 + 6 * 16 + 3 * (16 + 16 + 5 + 17));
    mmdx_radiomics_features_free(f);

    s.families = MMDX_RAD_FAM_STAT;
    ck_assert_int_eq(mmdx_radiomics_names(&f, &s, &err), 0);
    ck_assert_uint_eq(f->count, 18);
    ck_assert_str_eq(f->names[17], "stat.rms");
    mmdx_radiomics_features_free(f);
}
END_TEST

/* Interpolation grid: ceil(n*s/s') voxels centred on the original grid. */
START_TEST(interpolation_grid)
{
    mmdx_grid g = grid_of(4, 5, 5, 1, 1, 1);
    mmdx_volume *v = volume(&g);
    mmdx_mask *m = mask(&g);
    for (size_t k = 0; k < 5; k++)
        for (size_t j = 0; j < 5; j++)
            for (size_t i = 0; i < 4; i++) {
                v->data[i + 4 * (j + 5 * k)] = (float)i + 10.0f * (float)j + 100.0f * (float)k;
                m->data[i + 4 * (j + 5 * k)] = 1;
            }
    mmdx_radiomics_settings s;
    mmdx_radiomics_settings_init(&s);
    s.families = MMDX_RAD_FAM_STAT | MMDX_RAD_FAM_MORPH;
    s.interp = MMDX_RAD_INTERP_LINEAR;
    s.spacing[0] = s.spacing[1] = s.spacing[2] = 2;
    /* x: 4 voxels -> 2 at positions 0.5, 2.5; y, z: 5 -> 3 at 0, 2, 4 */
    mmdx_radiomics_features *f = compute_ok(&s, v, m);
    ck_assert_double_eq_tol(mmdx_radiomics_get(f, "morph.vol_approx"), 2 * 3 * 3 * 8.0, 1e-9);
    ck_assert_double_eq_tol(mmdx_radiomics_get(f, "stat.min"), 0.5, 1e-5);
    ck_assert_double_eq_tol(mmdx_radiomics_get(f, "stat.max"), 2.5 + 40 + 400, 1e-4);
    ck_assert_double_eq_tol(mmdx_radiomics_get(f, "stat.mean"), 1.5 + 20 + 200, 1e-4);
    mmdx_radiomics_features_free(f);
    /* rounding to the nearest integer, halves to even: 0.5 -> 0, 2.5 -> 2 */
    s.round_intensities = 1;
    f = compute_ok(&s, v, m);
    ck_assert_double_eq_tol(mmdx_radiomics_get(f, "stat.mean"), 1 + 20 + 200, 1e-9);
    mmdx_radiomics_features_free(f);
    /* in-plane only: slices kept */
    s.interp_2d = 1;
    s.round_intensities = 0;
    f = compute_ok(&s, v, m);
    ck_assert_double_eq_tol(mmdx_radiomics_get(f, "morph.vol_approx"), 2 * 3 * 5 * 4.0, 1e-9);
    ck_assert_double_eq_tol(mmdx_radiomics_get(f, "stat.mean"), 1.5 + 20 + 200, 1e-4);
    mmdx_radiomics_features_free(f);
    /* a linear ramp stays exact under the cubic B-spline too (inside the image) */
    s.interp_2d = 0;
    s.interp = MMDX_RAD_INTERP_CUBIC;
    f = compute_ok(&s, v, m);
    ck_assert_double_eq_tol(mmdx_radiomics_get(f, "stat.mean"), 1.5 + 20 + 200, 1e-3);
    mmdx_radiomics_features_free(f);
    mmdx_volume_free(v);
    mmdx_mask_free(m);
}
END_TEST

/* A digital ball: mesh volume close to the ball's, nearly isotropic PCA. */
START_TEST(ball_geometry)
{
    const size_t n = 32;
    const double r = 10.0;
    mmdx_grid g = grid_of(n, n, n, 1, 1, 1);
    mmdx_volume *v = volume(&g);
    mmdx_mask *m = mask(&g);
    for (size_t k = 0; k < n; k++)
        for (size_t j = 0; j < n; j++)
            for (size_t i = 0; i < n; i++) {
                double x = (double)i - 15.5, y = (double)j - 15.5, z = (double)k - 15.5;
                size_t q = i + n * (j + n * k);
                m->data[q] = x * x + y * y + z * z <= r * r;
                v->data[q] = (float)(100.0 - x);
            }
    mmdx_radiomics_settings s;
    mmdx_radiomics_settings_init(&s);
    s.families = MMDX_RAD_FAM_MORPH;
    mmdx_radiomics_features *f = compute_ok(&s, v, m);
    const double vol = 4.0 / 3.0 * M_PI * r * r * r;
    ck_assert_double_eq_tol(mmdx_radiomics_get(f, "morph.volume"), vol, 0.02 * vol);
    ck_assert_double_eq_tol(mmdx_radiomics_get(f, "morph.diam"), 2 * r, 1.5);
    ck_assert_double_gt(mmdx_radiomics_get(f, "morph.sphericity"), 0.85);
    ck_assert_double_le(mmdx_radiomics_get(f, "morph.sphericity"), 1.0);
    ck_assert_double_gt(mmdx_radiomics_get(f, "morph.pca_elongation"), 0.99);
    ck_assert_double_gt(mmdx_radiomics_get(f, "morph.pca_flatness"), 0.99);
    /* the hull holds the (staircase) mesh: density below 1, but not far */
    ck_assert_double_gt(mmdx_radiomics_get(f, "morph.v_dens_conv_hull"), 0.9);
    ck_assert_double_le(mmdx_radiomics_get(f, "morph.v_dens_conv_hull"), 1.0 + 1e-9);
    /* intensity decreases along x: the intensity centre of mass shifts a little */
    ck_assert_double_gt(mmdx_radiomics_get(f, "morph.com"), 0.0);
    mmdx_radiomics_features_free(f);
    mmdx_volume_free(v);
    mmdx_mask_free(m);
}
END_TEST

/* A box: its marching-cubes mesh is convex and its volume known exactly. */
START_TEST(box_mesh_and_hull)
{
    mmdx_grid g = grid_of(10, 9, 8, 1, 1.5, 2);
    mmdx_volume *v = volume(&g);
    mmdx_mask *m = mask(&g);
    for (size_t k = 2; k < 6; k++)
        for (size_t j = 1; j < 7; j++)
            for (size_t i = 3; i < 8; i++)
                m->data[i + 10 * (j + 9 * k)] = 1;
    mmdx_radiomics_settings s;
    mmdx_radiomics_settings_init(&s);
    s.families = MMDX_RAD_FAM_MORPH;
    mmdx_radiomics_features *f = compute_ok(&s, v, m);
    /* a 5x6x4 block: the mesh cuts each edge and corner at the voxel half-way
     * points: volume = box - 12 edge prisms + 8 corner corrections */
    const double a = 5, b = 6 * 1.5, c = 4 * 2.0; /* box extents in mm */
    const double hx = 0.5, hy = 0.75, hz = 1.0;   /* half voxels */
    double expect = a * b * c - 4 * (a - 2 * hx) * hy * hz / 2 - 4 * (b - 2 * hy) * hx * hz / 2 -
                    4 * (c - 2 * hz) * hx * hy / 2 - 8 * (hx * hy * hz - hx * hy * hz / 6);
    ck_assert_double_eq_tol(mmdx_radiomics_get(f, "morph.volume"), expect, 1e-6);
    ck_assert_double_eq_tol(mmdx_radiomics_get(f, "morph.v_dens_conv_hull"), 1.0, 1e-9);
    ck_assert_double_eq_tol(mmdx_radiomics_get(f, "morph.a_dens_conv_hull"), 1.0, 1e-9);
    ck_assert_double_eq_tol(mmdx_radiomics_get(f, "morph.vol_approx"), a * b * c, 1e-9);
    mmdx_radiomics_features_free(f);
    mmdx_volume_free(v);
    mmdx_mask_free(m);
}
END_TEST

START_TEST(resegmentation_and_errors)
{
    mmdx_grid g = grid_of(6, 6, 6, 1, 1, 1);
    mmdx_volume *v = volume(&g);
    mmdx_mask *m = mask(&g);
    for (size_t q = 0; q < 216; q++) {
        v->data[q] = (float)(q % 7) - 3.0f;
        m->data[q] = (q / 36) > 0 && (q / 36) < 5;
    }
    mmdx_radiomics_settings s;
    mmdx_radiomics_settings_init(&s);
    mmdx_error err = {0};
    /* a range that leaves nothing: intensity features NaN, morphology kept */
    s.reseg_min = 100;
    mmdx_radiomics_features *f = compute_ok(&s, v, m);
    ck_assert(isnan(mmdx_radiomics_get(f, "stat.mean")));
    ck_assert(isnan(mmdx_radiomics_get(f, "cm_3d_avg.contrast")));
    ck_assert(isfinite(mmdx_radiomics_get(f, "morph.volume")));
    mmdx_radiomics_features_free(f);
    /* the range keeps [-1, 1] only */
    s.reseg_min = -1;
    s.reseg_max = 1;
    f = compute_ok(&s, v, m);
    ck_assert_double_eq(mmdx_radiomics_get(f, "stat.min"), -1);
    ck_assert_double_eq(mmdx_radiomics_get(f, "stat.max"), 1);
    mmdx_radiomics_features_free(f);

    /* discretisation "none" needs integers >= 1 */
    mmdx_radiomics_settings_init(&s);
    s.discr = MMDX_RAD_DISCR_NONE;
    ck_assert_int_eq(mmdx_radiomics_compute(&f, &s, v, m, &err), MMDX_EINVAL);
    ck_assert_ptr_null(f);
    ck_assert_ptr_nonnull(strstr(err.message, "none"));

    /* a mask on another grid */
    mmdx_radiomics_settings_init(&s);
    mmdx_grid g2 = grid_of(6, 6, 6, 1, 1, 1.5);
    mmdx_mask *m2 = mask(&g2);
    m2->data[100] = 1;
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(mmdx_radiomics_compute(&f, &s, v, m2, &err), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "grid"));
    /* an empty mask */
    mmdx_mask *m3 = mask(&g);
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(mmdx_radiomics_compute(&f, &s, v, m3, &err), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "empty"));
    mmdx_mask_free(m2);
    mmdx_mask_free(m3);
    mmdx_volume_free(v);
    mmdx_mask_free(m);
}
END_TEST

/* Several computations at once give the same values as one alone. */
typedef struct job {
    const mmdx_radiomics_settings *s;
    const mmdx_volume *v;
    const mmdx_mask *m;
    mmdx_radiomics_features *f;
    int rc;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    mmdx_error err = {0};
    j->rc = mmdx_radiomics_compute(&j->f, j->s, j->v, j->m, &err);
    return NULL;
}

static int same(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

START_TEST(reentrant)
{
    const size_t n = 24;
    mmdx_grid g = grid_of(n, n, 12, 0.8, 0.8, 2.0);
    mmdx_volume *v = volume(&g);
    mmdx_mask *m = mask(&g);
    unsigned x = 12345;
    for (size_t q = 0; q < n * n * 12; q++) {
        x = x * 1103515245u + 12345u;
        v->data[q] = (float)((x >> 16) % 200) - 100.0f;
        size_t i = q % n, j = (q / n) % n, k = q / (n * n);
        double dx = (double)i - 11.5, dy = (double)j - 11.5, dz = ((double)k - 5.5) * 2.5;
        m->data[q] = dx * dx + dy * dy + dz * dz < 90;
    }
    mmdx_radiomics_settings s[3];
    for (int t = 0; t < 3; t++)
        mmdx_radiomics_settings_init(&s[t]);
    s[1].interp = MMDX_RAD_INTERP_LINEAR;
    s[1].spacing[0] = s[1].spacing[1] = s[1].spacing[2] = 1.5;
    s[1].aggregation = MMDX_RAD_AGG_ALL;
    s[2].discr = MMDX_RAD_DISCR_FBS;
    s[2].bin_width = 10;
    s[2].reseg_outlier_sigma = 1;
    job serial[3], par[6];
    for (int t = 0; t < 3; t++) {
        serial[t] = (job){&s[t], v, m, NULL, 0};
        run_job(&serial[t]);
        ck_assert_int_eq(serial[t].rc, 0);
    }
    pthread_t th[6];
    for (int t = 0; t < 6; t++) {
        par[t] = (job){&s[t % 3], v, m, NULL, 0};
        ck_assert_int_eq(pthread_create(&th[t], NULL, run_job, &par[t]), 0);
    }
    for (int t = 0; t < 6; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_eq(par[t].rc, 0);
        const mmdx_radiomics_features *a = serial[t % 3].f, *b = par[t].f;
        ck_assert_uint_eq(a->count, b->count);
        for (size_t i = 0; i < a->count; i++)
            ck_assert_msg(same(a->values[i], b->values[i]), "%s differs: %.17g vs %.17g", a->names[i],
                          a->values[i], b->values[i]);
        mmdx_radiomics_features_free(par[t].f);
    }
    for (int t = 0; t < 3; t++)
        mmdx_radiomics_features_free(serial[t].f);
    mmdx_volume_free(v);
    mmdx_mask_free(m);
}
END_TEST


/* The FFT behind Moran's I and Geary's C against a naive DFT. */
START_TEST(fft_matches_dft)
{
    ck_assert_uint_eq(rad_fft_good_size(7), 8);
    ck_assert_uint_eq(rad_fft_good_size(11), 12);
    ck_assert_uint_eq(rad_fft_good_size(31), 32);
    ck_assert_uint_eq(rad_fft_good_size(121), 125);
    const size_t dims[3] = {20, 9, 5}; /* radix 4, 5, 3, 3, 5 */
    const size_t n = dims[0] * dims[1] * dims[2];
    double complex *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    unsigned r = 7;
    for (size_t q = 0; q < n; q++) {
        r = r * 1103515245u + 12345u;
        double re = (double)((r >> 8) % 1000) / 100.0;
        r = r * 1103515245u + 12345u;
        x[q] = re + I * ((double)((r >> 8) % 1000) / 100.0 - 5);
        y[q] = x[q];
    }
    ck_assert_int_eq(rad_fft3(y, dims, 0), 0);
    double maxerr = 0;
    for (size_t k2 = 0; k2 < dims[2]; k2++)
        for (size_t k1 = 0; k1 < dims[1]; k1 += 4)
            for (size_t k0 = 0; k0 < dims[0]; k0 += 3) {
                double complex acc = 0;
                for (size_t c = 0; c < dims[2]; c++)
                    for (size_t b = 0; b < dims[1]; b++)
                        for (size_t a = 0; a < dims[0]; a++) {
                            double ph = -2 * M_PI *
                                        ((double)(a * k0) / (double)dims[0] + (double)(b * k1) / (double)dims[1] +
                                         (double)(c * k2) / (double)dims[2]);
                            acc += x[a + dims[0] * (b + dims[1] * c)] * (cos(ph) + I * sin(ph));
                        }
                double e = cabs(acc - y[k0 + dims[0] * (k1 + dims[1] * k2)]);
                if (e > maxerr)
                    maxerr = e;
            }
    ck_assert_double_lt(maxerr, 1e-9);
    ck_assert_int_eq(rad_fft3(y, dims, 1), 0);
    for (size_t q = 0; q < n; q++)
        ck_assert_double_lt(cabs(y[q] - x[q]), 1e-12);
    free(x);
    free(y);
}
END_TEST

/* Moran's I and Geary's C: the engine (FFT for a large ROI, pair loop for a
 * small one) against the definition summed pair by pair here. */
static void check_autocorrelation(size_t nx, size_t ny, size_t nz, double radius)
{
    mmdx_grid g = grid_of(nx, ny, nz, 0.7, 0.8, 2.0);
    mmdx_volume *v = volume(&g);
    mmdx_mask *m = mask(&g);
    unsigned x = 99;
    size_t n = 0;
    for (size_t k = 0; k < nz; k++)
        for (size_t j = 0; j < ny; j++)
            for (size_t i = 0; i < nx; i++) {
                size_t q = i + nx * (j + ny * k);
                x = x * 1103515245u + 12345u;
                v->data[q] = (float)((x >> 16) % 100) + 200.0f * (float)sin(0.2 * (double)i) * (float)cos(0.15 * (double)j);
                double dx = ((double)i - (double)nx / 2) * 0.7, dy = ((double)j - (double)ny / 2) * 0.8,
                       dz = ((double)k - (double)nz / 2) * 2.0;
                m->data[q] = dx * dx + dy * dy + dz * dz <= radius * radius;
                n += m->data[q];
            }
    double *px = malloc(4 * n * sizeof *px), *py = px + n, *pz = px + 2 * n, *z = px + 3 * n;
    size_t c = 0;
    double mean = 0;
    for (size_t k = 0; k < nz; k++)
        for (size_t j = 0; j < ny; j++)
            for (size_t i = 0; i < nx; i++) {
                size_t q = i + nx * (j + ny * k);
                if (!m->data[q])
                    continue;
                px[c] = 0.7 * (double)i;
                py[c] = 0.8 * (double)j;
                pz[c] = 2.0 * (double)k;
                z[c] = v->data[q];
                mean += z[c++];
            }
    mean /= (double)n;
    double den = 0, W = 0, M = 0, G = 0;
    for (size_t a = 0; a < n; a++) {
        z[a] -= mean;
        den += z[a] * z[a];
    }
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < n; b++) {
            if (a == b)
                continue;
            double d = sqrt((px[a] - px[b]) * (px[a] - px[b]) + (py[a] - py[b]) * (py[a] - py[b]) +
                            (pz[a] - pz[b]) * (pz[a] - pz[b]));
            W += 1 / d;
            M += z[a] * z[b] / d;
            G += (z[a] - z[b]) * (z[a] - z[b]) / d;
        }
    free(px);
    mmdx_radiomics_settings s;
    mmdx_radiomics_settings_init(&s);
    s.families = MMDX_RAD_FAM_MORPH;
    mmdx_radiomics_features *f = compute_ok(&s, v, m);
    double moran = (double)n / W * M / den, geary = (double)(n - 1) / (2 * W) * G / den;
    ck_assert_double_eq_tol(mmdx_radiomics_get(f, "morph.moran_i"), moran, 1e-9 * fabs(moran) + 1e-12);
    ck_assert_double_eq_tol(mmdx_radiomics_get(f, "morph.geary_c"), geary, 1e-9 * geary);
    mmdx_radiomics_features_free(f);
    mmdx_volume_free(v);
    mmdx_mask_free(m);
}

START_TEST(autocorrelation_exact)
{
    check_autocorrelation(12, 12, 6, 4.0);   /* ~150 voxels: pair loop */
    check_autocorrelation(44, 40, 16, 14.0); /* ~11 000 voxels: FFT */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("radiomics");
    TCase *tc = tcase_create("engine");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, settings_parse);
    tcase_add_test(tc, names_fixed);
    tcase_add_test(tc, interpolation_grid);
    tcase_add_test(tc, ball_geometry);
    tcase_add_test(tc, box_mesh_and_hull);
    tcase_add_test(tc, resegmentation_and_errors);
    tcase_add_test(tc, reentrant);
    tcase_add_test(tc, fft_matches_dft);
    tcase_add_test(tc, autocorrelation_exact);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mmdx_test_run_suite(suite());
}
