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

START_TEST(ct_series_reads_back_as_a_volume_in_hounsfield_units)
{
    char *dir = mmdx_test_tmpdir();
    char out[4096], series[8192];
    snprintf(out, sizeof out, "%s/cohort", dir);
    mmdx_synth_options o;
    mmdx_synth_options_init(&o);
    o.n_patients = 4;
    o.out = out;
    o.seed = 9;
    o.missing = 0;
    o.image_size = 24;
    o.slices = 8;
    o.n_threads = 2;
    mmdx_synth_summary s;
    ck_assert_msg(mmdx_synth_run(&o, &s) == 0, "%s", mmdx_last_error());
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

static Suite *suite(void)
{
    Suite *s = suite_create("synth_imaging");
    TCase *tc = tcase_create("dicom");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, ct_series_reads_back_as_a_volume_in_hounsfield_units);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return mmdx_test_run_suite(suite()); }
