/* SPDX-License-Identifier: Apache-2.0 */
/* The generator's CT series read back by the imaging module's DICOM reader. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom_series.h"
#include "error.h"
#include "synth.h"
#include "testsupport.h"

/* A cohort of n patients with every modality, 8 slices of size x size, on 2 threads. */
static void run_synth(const char *out, size_t n, uint64_t seed, int size, int subtypes)
{
    mmdx_synth_options o;
    mmdx_synth_options_init(&o);
    o.n_patients = n;
    o.out = out;
    o.seed = seed;
    o.missing = 0;
    o.image_size = size;
    o.slices = 8;
    o.n_threads = 2;
    o.n_subtypes = subtypes;
    mmdx_synth_summary s;
    ck_assert_msg(mmdx_synth_run(&o, &s) == 0, "%s", mmdx_last_error());
}

START_TEST(ct_series_reads_back_as_a_volume_in_hounsfield_units)
{
    char *dir = mmdx_test_tmpdir();
    char out[4096], series[8192];
    snprintf(out, sizeof out, "%s/cohort", dir);
    run_synth(out, 4, 9, 24, 0);
    for (int p = 1; p <= 4; p++) {
        snprintf(series, sizeof series, "%s/dicom/SYN%06d", out, p);
        mmdx_volume *v = NULL;
        mmdx_dicom_volume_info info;
        ck_assert_msg(mmdx_dicom_read_volume(&v, &info, series, NULL) == 0, "%s", mmdx_last_error());
        ck_assert_str_eq(info.modality, "CT");
        ck_assert_uint_eq(info.n_objects, 8);
        ck_assert(info.rescaled);
        ck_assert_uint_eq(v->grid.nx, 24);
        ck_assert_uint_eq(v->grid.ny, 24);
        ck_assert_uint_eq(v->grid.nz, 8);
        ck_assert_double_eq_tol(v->grid.spacing[0], 1.0, 1e-9);
        ck_assert_double_eq_tol(v->grid.spacing[2], 2.0, 1e-9);
        ck_assert_double_eq_tol(v->grid.origin[0], -12.0, 1e-9);
        ck_assert_double_eq_tol(v->grid.origin[2], 0.0, 1e-9);
        /* Soft tissue around 35-40 HU, a lesion of at least 100 HU in the middle. */
        size_t n = mmdx_grid_count(&v->grid), lesion = 0, tissue = 0;
        double tissue_sum = 0;
        for (size_t i = 0; i < n; i++) {
            if (v->data[i] >= 90) {
                lesion++;
            } else {
                tissue++;
                tissue_sum += v->data[i];
            }
        }
        ck_assert_double_eq_tol(tissue_sum / (double)tissue, 37.5, 3.0);
        ck_assert_msg(lesion > 30 && lesion < n / 2, "%zu lesion voxels of %zu", lesion, n);
        size_t centre = 12 + 24 * (12 + 24 * 3);
        ck_assert_msg(v->data[centre] >= 60, "centre voxel %g HU", v->data[centre]);
        mmdx_volume_free(v);
    }
    mmdx_test_rmtree(dir);
    free(dir);
}
END_TEST

/* The lesion's in-plane second moments on its centre slice: the sqrt of their ratio is the axis ratio. */
static double lesion_axis_ratio(const mmdx_volume *v, double cx, double cy, int cz)
{
    const size_t nx = v->grid.nx, ny = v->grid.ny;
    double n = 0, sx = 0, sy = 0, sxx = 0, syy = 0;
    for (size_t y = 1; y + 1 < ny; y++)
        for (size_t x = 1; x + 1 < nx; x++) {
            if (fabs((double)x - cx) > 14 || fabs((double)y - cy) > 14)
                continue;
            double m = 0; /* 3x3 mean: the scan's noise averaged down, the lesion (>= 100 HU) kept */
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                    m += v->data[(size_t)cz * nx * ny + (y + dy) * nx + (x + dx)];
            if (m / 9 < 90)
                continue;
            n++, sx += x, sy += y, sxx += (double)x * x, syy += (double)y * y;
        }
    ck_assert_msg(n >= 9, "lesion of %g voxels on its centre slice", n);
    double vx = sxx / n - (sx / n) * (sx / n), vy = syy / n - (sy / n) * (sy / n);
    return sqrt(vx / vy);
}

/* The scan's noise: the sd of the tissue in the first rows (far from any lesion), after the row's mean. */
static double tissue_sd(const mmdx_volume *v)
{
    const size_t nx = v->grid.nx;
    double s = 0, s2 = 0, n = 0;
    for (size_t y = 0; y < 4; y++) {
        double mean = 0;
        for (size_t x = 0; x < nx; x++)
            mean += v->data[y * nx + x];
        mean /= (double)nx;
        for (size_t x = 0; x < nx; x++) {
            double d = v->data[y * nx + x] - mean;
            s += d, s2 += d * d, n++;
        }
    }
    return sqrt(s2 / n - (s / n) * (s / n));
}

/* With subtypes, the lesion's shape carries imaging's second component (truth.csv's z_imaging_shape):
   its in-plane axis ratio is exp(0.35 z) (clamped to 0.4..2.5); and the scan's noise varies from
   patient to patient, where the cohort without subtypes keeps 10 HU. */
START_TEST(subtype_lesions_are_shaped_by_their_second_component)
{
    char *dir = mmdx_test_tmpdir();
    char out[4096], series[8192], path[8192];
    const int n = 24;
    double sd_lo = 1e9, sd_hi = 0, sum_xy = 0, sum_xx = 0, sum_yy = 0;
    for (int with = 0; with < 2; with++) {
        snprintf(out, sizeof out, "%s/cohort%d", dir, with);
        run_synth(out, (size_t)n, 21, 48, with ? 4 : 0);
        /* each patient's components and lesion, drawn again as the run drew them */
        snprintf(path, sizeof path, "%s/truth.csv", out);
        FILE *f = fopen(path, "r");
        ck_assert_ptr_nonnull(f);
        char line[512];
        ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
        ck_assert(with ? strstr(line, ",subtype,z_imaging_shape\n") != NULL : strstr(line, "subtype") == NULL);
        for (int p = 1; p <= n; p++) {
            ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
            double z_shape = 0;
            if (with) {
                const char *last = strrchr(line, ',');
                ck_assert_ptr_nonnull(last);
                z_shape = atof(last + 1);
            }
            snprintf(series, sizeof series, "%s/dicom/SYN%06d", out, p);
            mmdx_volume *v = NULL;
            mmdx_dicom_volume_info info;
            ck_assert_msg(mmdx_dicom_read_volume(&v, &info, series, NULL) == 0, "%s", mmdx_last_error());
            /* the lesion's centre: the brightest 3x3 mean of the middle slices is near it */
            double best = -1e9, cx = 0, cy = 0;
            int cz = 0;
            for (int z = 3; z <= 4; z++)
                for (size_t y = 8; y < 40; y++)
                    for (size_t x = 8; x < 40; x++) {
                        double m = 0;
                        for (int dy = -2; dy <= 2; dy++)
                            for (int dx = -2; dx <= 2; dx++)
                                m += v->data[(size_t)z * 48 * 48 + (y + dy) * 48 + (x + dx)];
                        if (m > best)
                            best = m, cx = (double)x, cy = (double)y, cz = z;
                    }
            double ratio = lesion_axis_ratio(v, cx, cy, cz), sd = tissue_sd(v);
            if (with) {
                double want = log(fmin(fmax(exp(0.35 * z_shape), 0.4), 2.5));
                sum_xy += log(ratio) * want, sum_xx += want * want, sum_yy += log(ratio) * log(ratio);
                sd_lo = fmin(sd_lo, sd), sd_hi = fmax(sd_hi, sd);
            } else {
                ck_assert_msg(fabs(log(ratio)) < 0.3, "patient %d: round lesion with axis ratio %.2f", p, ratio);
                ck_assert_msg(fabs(sd - 10) < 1.5, "patient %d: tissue noise %.2f HU without subtypes", p, sd);
            }
            mmdx_volume_free(v);
        }
        fclose(f);
    }
    /* measured against drawn log axis ratios: the shape is what the component says (0 if unrelated) */
    double r = sum_xy / sqrt(sum_xx * sum_yy);
    ck_assert_msg(r > 0.8, "log axis ratio vs 0.35 z_imaging_shape: correlation %.3f", r);
    ck_assert_msg(sd_hi / sd_lo > 1.5, "scan noise %.1f..%.1f HU: it does not vary between patients", sd_lo, sd_hi);
    mmdx_test_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("synth_imaging");
    TCase *tc = tcase_create("dicom");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, ct_series_reads_back_as_a_volume_in_hounsfield_units);
    tcase_add_test(tc, subtype_lesions_are_shaped_by_their_second_component);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return mmdx_test_run_suite(suite()); }
