/*
 * tests/imaging/test_nifti_io.c — NIfTI-1 reading: geometry (sform, qform,
 * pixdim) in DICOM LPS, intensity scaling, mask thresholding, bad input.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Files are written with nifticlib itself into a temporary folder.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nifti1_io.h>

#include "nifti_io.h"
#include "testsupport.h"

static char *tmp;

static void setup(void) { tmp = mmdx_test_tmpdir(); }
static void teardown(void)
{
    mmdx_test_rmtree(tmp);
    free(tmp);
}

static char *path_in_tmp(const char *name)
{
    char *p = malloc(strlen(tmp) + strlen(name) + 2);
    sprintf(p, "%s/%s", tmp, name);
    return p;
}

/* A 4x3x2 image of `datatype`; voxel v holds v (or the value of fill()). */
static nifti_image *make_image(int datatype, int nt)
{
    int dims[8] = {nt > 1 ? 4 : 3, 4, 3, 2, nt, 1, 1, 1};
    nifti_image *nim = nifti_make_new_nim(dims, datatype, 1);
    ck_assert_ptr_nonnull(nim);
    nim->pixdim[1] = nim->dx = 0.5f;
    nim->pixdim[2] = nim->dy = 0.75f;
    nim->pixdim[3] = nim->dz = 2.5f;
    return nim;
}

static void write_image(nifti_image *nim, const char *path)
{
    ck_assert_int_eq(nifti_set_filenames(nim, path, 0, 1), 0);
    nifti_image_write(nim);
    nifti_image_free(nim);
}

START_TEST(sform_to_lps)
{
    nifti_image *nim = make_image(DT_FLOAT32, 1);
    float *d = nim->data;
    for (size_t v = 0; v < nim->nvox; v++)
        d[v] = (float)v - 5.0f;
    /* i -> -x (RAS) 1 mm, j -> +y 2 mm, k -> +z 3 mm, origin (10, 20, 30) RAS */
    nim->sform_code = NIFTI_XFORM_SCANNER_ANAT;
    nim->qform_code = 0;
    memset(&nim->sto_xyz, 0, sizeof nim->sto_xyz);
    nim->sto_xyz.m[0][0] = -1;
    nim->sto_xyz.m[1][1] = 2;
    nim->sto_xyz.m[2][2] = 3;
    nim->sto_xyz.m[0][3] = 10;
    nim->sto_xyz.m[1][3] = 20;
    nim->sto_xyz.m[2][3] = 30;
    nim->sto_xyz.m[3][3] = 1;
    char *p = path_in_tmp("sform.nii.gz");
    write_image(nim, p);

    mmdx_volume *v = NULL;
    mmdx_error err = {0};
    ck_assert_msg(mmdx_nifti_read_volume(&v, p, &err) == 0, "%s", err.message);
    ck_assert_uint_eq(v->grid.nx, 4);
    ck_assert_uint_eq(v->grid.ny, 3);
    ck_assert_uint_eq(v->grid.nz, 2);
    ck_assert_double_eq_tol(v->grid.spacing[0], 1, 1e-6);
    ck_assert_double_eq_tol(v->grid.spacing[1], 2, 1e-6);
    ck_assert_double_eq_tol(v->grid.spacing[2], 3, 1e-6);
    /* LPS: x and y negated -> axis i along +L, j along -P, k along +S */
    const double dir[9] = {1, 0, 0, 0, -1, 0, 0, 0, 1};
    for (int q = 0; q < 9; q++)
        ck_assert_double_eq_tol(v->grid.direction[q], dir[q], 1e-9);
    ck_assert_double_eq_tol(v->grid.origin[0], -10, 1e-6);
    ck_assert_double_eq_tol(v->grid.origin[1], -20, 1e-6);
    ck_assert_double_eq_tol(v->grid.origin[2], 30, 1e-6);
    ck_assert_float_eq(v->data[0], -5.0f);
    ck_assert_float_eq(v->data[23], 18.0f);
    mmdx_volume_free(v);
    free(p);
}
END_TEST

START_TEST(qform_and_pixdim)
{
    /* qform: identity rotation, pixdim spacing, offset */
    nifti_image *nim = make_image(DT_INT16, 1);
    nim->sform_code = 0;
    nim->qform_code = NIFTI_XFORM_SCANNER_ANAT;
    nim->quatern_b = nim->quatern_c = nim->quatern_d = 0;
    nim->qfac = 1;
    nim->qoffset_x = 1;
    nim->qoffset_y = 2;
    nim->qoffset_z = 3;
    char *p = path_in_tmp("qform.nii");
    write_image(nim, p);
    mmdx_volume *v = NULL;
    mmdx_error err = {0};
    ck_assert_msg(mmdx_nifti_read_volume(&v, p, &err) == 0, "%s", err.message);
    ck_assert_double_eq_tol(v->grid.spacing[0], 0.5, 1e-6);
    ck_assert_double_eq_tol(v->grid.spacing[1], 0.75, 1e-6);
    ck_assert_double_eq_tol(v->grid.spacing[2], 2.5, 1e-6);
    const double dir[9] = {-1, 0, 0, 0, -1, 0, 0, 0, 1};
    for (int q = 0; q < 9; q++)
        ck_assert_double_eq_tol(v->grid.direction[q], dir[q], 1e-9);
    ck_assert_double_eq_tol(v->grid.origin[0], -1, 1e-6);
    ck_assert_double_eq_tol(v->grid.origin[1], -2, 1e-6);
    ck_assert_double_eq_tol(v->grid.origin[2], 3, 1e-6);
    mmdx_volume_free(v);
    free(p);
}
END_TEST

START_TEST(scaling_applied)
{
    nifti_image *nim = make_image(DT_INT16, 1);
    int16_t *d = nim->data;
    for (size_t v = 0; v < nim->nvox; v++)
        d[v] = (int16_t)(v * 100);
    nim->scl_slope = 2;
    nim->scl_inter = -1024;
    char *p = path_in_tmp("scaled.nii.gz");
    write_image(nim, p);
    mmdx_volume *v = NULL;
    mmdx_error err = {0};
    ck_assert_msg(mmdx_nifti_read_volume(&v, p, &err) == 0, "%s", err.message);
    ck_assert_float_eq(v->data[0], -1024.0f);
    ck_assert_float_eq(v->data[5], 5 * 100 * 2 - 1024.0f);
    mmdx_volume_free(v);
    free(p);
}
END_TEST

START_TEST(mask_threshold)
{
    nifti_image *nim = make_image(DT_FLOAT32, 1);
    float *d = nim->data;
    const float vals[6] = {0.0f, 0.49f, 0.5f, 1.0f, 7.0f, -1.0f};
    for (size_t v = 0; v < nim->nvox; v++)
        d[v] = vals[v % 6];
    char *p = path_in_tmp("mask.nii.gz");
    write_image(nim, p);
    mmdx_mask *m = NULL;
    mmdx_error err = {0};
    ck_assert_msg(mmdx_nifti_read_mask(&m, p, &err) == 0, "%s", err.message);
    for (size_t v = 0; v < 24; v++)
        ck_assert_uint_eq(m->data[v], vals[v % 6] >= 0.5f ? 1 : 0);
    mmdx_mask_free(m);
    free(p);
}
END_TEST

START_TEST(ibsi_phantom_geometry)
{
    mmdx_test_data_or_skip();
    char *p = mmdx_test_data_path("ibsi/digital_phantom/nifti/image/phantom.nii.gz");
    mmdx_volume *v = NULL;
    mmdx_error err = {0};
    ck_assert_msg(mmdx_nifti_read_volume(&v, p, &err) == 0, "%s", err.message);
    /* 5 x 4 x 4 voxels of 2 mm (IBSI reference manual, digital phantom) */
    ck_assert_uint_eq(v->grid.nx, 5);
    ck_assert_uint_eq(v->grid.ny, 4);
    ck_assert_uint_eq(v->grid.nz, 4);
    for (int a = 0; a < 3; a++)
        ck_assert_double_eq_tol(v->grid.spacing[a], 2.0, 1e-6);
    mmdx_volume_free(v);
    free(p);
}
END_TEST

START_TEST(bad_input)
{
    mmdx_volume *v = NULL;
    mmdx_mask *m = NULL;
    mmdx_error err = {0};
    char *missing = path_in_tmp("missing.nii.gz");
    ck_assert_int_eq(mmdx_nifti_read_volume(&v, missing, &err), MMDX_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.message, "missing.nii.gz"));
    ck_assert_ptr_null(v);

    char *text = path_in_tmp("notnifti.nii");
    mmdx_test_write_file(text, "this is not an image, just some text long enough to look like a header.......\n");
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(mmdx_nifti_read_volume(&v, text, &err), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "notnifti.nii"));

    /* a valid file cut in the middle of its data */
    nifti_image *nim = make_image(DT_FLOAT32, 1);
    char *full = path_in_tmp("full.nii");
    write_image(nim, full);
    size_t len = 0;
    char *bytes = mmdx_test_read_file(full, &len);
    ck_assert_ptr_nonnull(bytes);
    char *cut = path_in_tmp("cut.nii");
    FILE *f = fopen(cut, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(bytes, 1, len - 40, f);
    fclose(f);
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(mmdx_nifti_read_mask(&m, cut, &err), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "cut.nii"));
    ck_assert_ptr_null(m);

    /* two volumes (4-D) */
    char *four = path_in_tmp("four.nii.gz");
    write_image(make_image(DT_FLOAT32, 2), four);
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(mmdx_nifti_read_volume(&v, four, &err), MMDX_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.message, "dim"));

    /* complex data */
    char *cplx = path_in_tmp("complex.nii.gz");
    write_image(make_image(DT_COMPLEX64, 1), cplx);
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(mmdx_nifti_read_volume(&v, cplx, &err), MMDX_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.message, "datatype"));

    free(missing);
    free(text);
    free(bytes);
    free(full);
    free(cut);
    free(four);
    free(cplx);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("nifti_io");
    TCase *tc = tcase_create("nifti");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sform_to_lps);
    tcase_add_test(tc, qform_and_pixdim);
    tcase_add_test(tc, scaling_applied);
    tcase_add_test(tc, mask_threshold);
    tcase_add_test(tc, ibsi_phantom_geometry);
    tcase_add_test(tc, bad_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    nifti_set_debug_level(0); /* the library's own stderr chatter on bad files */
    return mmdx_test_run_suite(suite());
}
