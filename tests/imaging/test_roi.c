/*
 * tests/imaging/test_roi.c — masks from RTSTRUCT, SEG and NIfTI, grid checks,
 * the automatic mask.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom_series.h"
#include "error.h"
#include "roi.h"
#include "testsupport.h"

static mmdx_volume *image_of(const char *rel, char *for_uid)
{
    char *p = mmdx_test_data_path(rel);
    mmdx_volume *v = NULL;
    mmdx_dicom_volume_info info;
    ck_assert_msg(mmdx_dicom_read_volume(&v, &info, p, NULL) == 0, "%s", mmdx_last_error());
    if (for_uid)
        strcpy(for_uid, info.frame_of_reference_uid);
    free(p);
    return v;
}

static int load(mmdx_mask **m, const char *rel, const char *roi, const mmdx_volume *v, const char *for_uid)
{
    char *p = mmdx_test_data_path(rel);
    int rc = mmdx_roi_load(m, p, roi, v, for_uid);
    free(p);
    return rc;
}

static size_t count(const mmdx_mask *m)
{
    size_t n = 0;
    for (size_t i = 0; i < mmdx_grid_count(&m->grid); i++)
        n += m->data[i] != 0;
    return n;
}

static void assert_message_has(const char *needle)
{
    ck_assert_msg(strstr(mmdx_last_error(), needle) != NULL, "message \"%s\" lacks \"%s\"", mmdx_last_error(),
                  needle);
}

/* The rasterised RTSTRUCT must equal, voxel for voxel, the NIfTI mask IBSI ships with the data. */
static void check_rtstruct_vs_nifti(const char *image, const char *rtstruct, const char *roi, const char *nifti)
{
    char for_uid[80];
    mmdx_volume *v = image_of(image, for_uid);
    mmdx_mask *a = NULL, *b = NULL;
    ck_assert_msg(load(&a, rtstruct, roi, v, for_uid) == 0, "%s", mmdx_last_error());
    ck_assert_msg(load(&b, nifti, NULL, v, for_uid) == 0, "%s", mmdx_last_error());
    size_t n = mmdx_grid_count(&v->grid), diff = 0;
    for (size_t i = 0; i < n; i++)
        diff += (a->data[i] != 0) != (b->data[i] != 0);
    ck_assert_uint_gt(count(b), 0);
    ck_assert_msg(diff == 0, "%s: %zu of %zu mask voxels differ from %s (%zu vs %zu inside)", rtstruct, diff,
                  count(b), nifti, count(a), count(b));
    mmdx_mask_free(a);
    mmdx_mask_free(b);
    mmdx_volume_free(v);
}

START_TEST(pat1_rtstruct_rasterises_like_ibsi_nifti)
{
    mmdx_test_data_or_skip();
    check_rtstruct_vs_nifti("dicom/ibsi1_ct_phantom_PAT1/image", "dicom/ibsi1_ct_phantom_PAT1/rtstruct/DCM_RS_00060.dcm",
                            "GTV-1", "ibsi/ct_phantom_PAT1_nifti/mask_GTV-1.nii.gz");
}
END_TEST

START_TEST(sts025_rtstructs_rasterise_like_ibsi_nifti)
{
    mmdx_test_data_or_skip();
    static const char *const mod[] = {"CT", "PET", "MR_T1"};
    for (int i = 0; i < 3; i++) {
        char img[256], rs[256], nii[256];
        snprintf(img, sizeof img, "dicom/ibsi_validation_STS_025/%s/image", mod[i]);
        snprintf(rs, sizeof rs, "dicom/ibsi_validation_STS_025/%s/mask/RS.dcm", mod[i]);
        snprintf(nii, sizeof nii, "ibsi/STS_025_nifti/%s_mask.nii.gz", mod[i]);
        check_rtstruct_vs_nifti(img, rs, NULL, nii);
    }
}
END_TEST

START_TEST(roi_chosen_by_name)
{
    mmdx_test_data_or_skip();
    char for_uid[80];
    mmdx_volume *v = image_of("dicom/ibsi1_ct_phantom_PAT1/image", for_uid);
    mmdx_mask *m = NULL;
    ck_assert_int_eq(load(&m, "dicom/ibsi1_ct_phantom_PAT1/rtstruct/DCM_RS_00060.dcm", "gtv-1", v, for_uid), 0);
    size_t n = count(m);
    mmdx_mask_free(m);
    ck_assert_int_eq(load(&m, "dicom/ibsi1_ct_phantom_PAT1/rtstruct/DCM_RS_00060.dcm", NULL, v, for_uid), 0);
    ck_assert_uint_eq(count(m), n);
    mmdx_mask_free(m);
    ck_assert_int_eq(load(&m, "dicom/ibsi1_ct_phantom_PAT1/rtstruct/DCM_RS_00060.dcm", "GTV-2", v, for_uid),
                     MMDX_ENOTFOUND);
    ck_assert_ptr_null(m);
    assert_message_has("no ROI named 'GTV-2'");
    assert_message_has("'GTV-1'");
    mmdx_volume_free(v);
}
END_TEST

START_TEST(mask_of_another_study_refused)
{
    mmdx_test_data_or_skip();
    char for_uid[80];
    mmdx_volume *ct = image_of("dicom/pydicom_debian/CT_small.dcm", for_uid);
    mmdx_mask *m = NULL;
    /* NIfTI mask on another grid. */
    ck_assert_int_eq(load(&m, "ibsi/ct_phantom_PAT1_nifti/mask_GTV-1.nii.gz", NULL, ct, for_uid), MMDX_EFORMAT);
    assert_message_has("mask_GTV-1.nii.gz: mask on another grid");
    /* An RTSTRUCT drawn in another frame of reference. */
    ck_assert_int_eq(load(&m, "dicom/ibsi1_ct_phantom_PAT1/rtstruct/DCM_RS_00060.dcm", NULL, ct, for_uid),
                     MMDX_EFORMAT);
    assert_message_has("frame of reference");
    /* The same RTSTRUCT without a frame of reference to compare: its contours miss the slices. */
    ck_assert_int_eq(load(&m, "dicom/ibsi1_ct_phantom_PAT1/rtstruct/DCM_RS_00060.dcm", NULL, ct, NULL), MMDX_EFORMAT);
    assert_message_has("DCM_RS_00060.dcm: ROI 'GTV-1'");
    /* A SEG of 512x512 frames on a 128x128 image. */
    ck_assert_int_eq(load(&m, "dicom/pydicom_data/liver.dcm", NULL, ct, NULL), MMDX_EFORMAT);
    assert_message_has("liver.dcm: frames of 512x512");
    /* An image given as the mask. */
    ck_assert_int_eq(load(&m, "dicom/pydicom_debian/MR_small.dcm", NULL, ct, NULL), MMDX_EFORMAT);
    assert_message_has("not a mask");
    ck_assert_ptr_null(m);
    mmdx_volume_free(ct);
}
END_TEST

/* The grid a SEG's frames define (512x512 liver: 3 frames 1 mm apart). */
static mmdx_volume *liver_grid(size_t n)
{
    mmdx_grid g;
    memset(&g, 0, sizeof g);
    g.nx = g.ny = n;
    g.nz = 3;
    g.spacing[0] = g.spacing[1] = 0.810547;
    g.spacing[2] = 1.0;
    g.origin[0] = -235.2;
    g.origin[1] = -226.8;
    g.origin[2] = -128.69;
    g.direction[0] = g.direction[4] = g.direction[8] = 1;
    mmdx_volume *v = NULL;
    ck_assert_int_eq(mmdx_volume_new(&v, &g), 0);
    return v;
}

/* Set bits in the last `bytes` bytes of a file (its uncompressed bit-packed pixel data). */
static size_t tail_popcount(const char *rel, size_t bytes)
{
    char *p = mmdx_test_data_path(rel);
    size_t len = 0, n = 0;
    unsigned char *buf = (unsigned char *)mmdx_test_read_file(p, &len);
    ck_assert_ptr_nonnull(buf);
    for (size_t i = len - bytes; i < len; i++)
        for (int b = 0; b < 8; b++)
            n += (buf[i] >> b) & 1;
    free(buf);
    free(p);
    return n;
}

START_TEST(seg_every_encoding_same_mask)
{
    mmdx_test_data_or_skip();
    mmdx_volume *v = liver_grid(512);
    size_t expect = tail_popcount("dicom/pydicom_data/liver.dcm", 512 * 512 * 3 / 8);
    ck_assert_uint_gt(expect, 0);
    static const char *const files[] = {"dicom/pydicom_data/liver.dcm", "dicom/pydicom_data/liver_expb.dcm"};
    mmdx_mask *ref = NULL;
    for (size_t f = 0; f < 2; f++) {
        mmdx_mask *m = NULL;
        ck_assert_msg(load(&m, files[f], "Liver", v, NULL) == 0, "%s", mmdx_last_error());
        ck_assert_msg(count(m) == expect, "%s: %zu voxels, the pixel data holds %zu set bits", files[f], count(m),
                      expect);
        if (!ref) {
            ref = m;
            continue;
        }
        ck_assert_int_eq(memcmp(ref->data, m->data, mmdx_grid_count(&v->grid)), 0);
        mmdx_mask_free(m);
    }
    mmdx_mask_free(ref);
    /* JPEG 2000 encoded SEG: refused with the syntax named. */
    mmdx_mask *m = NULL;
    ck_assert_int_eq(load(&m, "dicom/pydicom_data/liver_j2k.dcm", NULL, v, NULL), MMDX_EUNSUPPORTED);
    assert_message_has("unsupported transfer syntax 1.2.840.10008.1.2.4.90");
    /* RLE with 1 bit allocated: DCMTK 3.6.7's RLE decoder refuses it (as dcmdrle does). */
    ck_assert_int_eq(load(&m, "dicom/pydicom_data/liver_rle.dcm", NULL, v, NULL), MMDX_EUNSUPPORTED);
    assert_message_has("liver_rle.dcm: unsupported: RLE Lossless pixel data with (0028,0100)");
    /* Deflated Image Frame Compression (2023) is newer than DCMTK 3.6.7. */
    ck_assert_int_eq(load(&m, "dicom/pydicom_data/liver_deflate.dcm", NULL, v, NULL), MMDX_EUNSUPPORTED);
    assert_message_has("unsupported transfer syntax 1.2.840.10008.1.2.8.1 (Deflated Image Frame Compression)");
    ck_assert_int_eq(load(&m, "dicom/pydicom_data/liver.dcm", "Spleen", v, NULL), MMDX_ENOTFOUND);
    assert_message_has("'Liver'");
    mmdx_volume_free(v);

    /* 510x510 frames are not byte aligned: frame 2 starts mid-byte. */
    v = liver_grid(510);
    size_t bits = 510 * 510 * 3;
    expect = tail_popcount("dicom/pydicom_data/liver_nonbyte_aligned.dcm", (bits + 7) / 8 + ((bits + 7) / 8) % 2);
    static const char *const odd[] = {"dicom/pydicom_data/liver_nonbyte_aligned.dcm"};
    for (size_t f = 0; f < 1; f++) {
        ck_assert_msg(load(&m, odd[f], NULL, v, NULL) == 0, "%s", mmdx_last_error());
        ck_assert_msg(count(m) == expect, "%s: %zu voxels, expected %zu", odd[f], count(m), expect);
        mmdx_mask_free(m);
    }
    mmdx_volume_free(v);
}
END_TEST

/* A structure set made here with dump2dcm (tests/fuzz/make_dicom_seeds.sh): a square
 * covering voxel centres (1..2, 1..2) of a 4x4 grid, plus a POINT contour that adds nothing. */
START_TEST(small_rtstruct_rasterised_exactly)
{
    char rs[2048], ct[2048];
    snprintf(rs, sizeof rs, "%s/tests/fuzz/corpus/dicom/rtstruct_square.dcm", mmdx_test_source_dir());
    snprintf(ct, sizeof ct, "%s/tests/fuzz/corpus/dicom/ct_explicit_le.dcm", mmdx_test_source_dir());
    mmdx_volume *v = NULL;
    mmdx_dicom_volume_info info;
    ck_assert_msg(mmdx_dicom_read_volume(&v, &info, ct, NULL) == 0, "%s", mmdx_last_error());
    mmdx_mask *m = NULL;
    ck_assert_msg(mmdx_roi_load(&m, rs, "GTV", v, info.frame_of_reference_uid) == 0, "%s", mmdx_last_error());
    static const uint8_t expect[16] = {0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0};
    ck_assert_int_eq(memcmp(m->data, expect, 16), 0);
    mmdx_mask_free(m);
    mmdx_volume_free(v);
}
END_TEST

START_TEST(auto_mask_is_otsu_and_largest_component)
{
    mmdx_grid g = {20, 20, 10, {1, 1, 2}, {0, 0, 0}, {1, 0, 0, 0, 1, 0, 0, 0, 1}};
    mmdx_volume *v = NULL;
    ck_assert_int_eq(mmdx_volume_new(&v, &g), 0);
    /* Background around 0 with a ripple, a 6x6x6 cube at ~100 and a 2x2x2 one at ~100 apart from it. */
    for (size_t k = 0; k < 10; k++)
        for (size_t j = 0; j < 20; j++)
            for (size_t i = 0; i < 20; i++) {
                size_t idx = i + 20 * (j + 20 * k);
                v->data[idx] = (float)((i * 7 + j * 3 + k) % 5);
                if (i >= 2 && i < 8 && j >= 2 && j < 8 && k >= 2 && k < 8)
                    v->data[idx] = 100.0f + (float)(i % 3);
                if (i >= 15 && i < 17 && j >= 15 && j < 17 && k >= 5 && k < 7)
                    v->data[idx] = 101.0f;
            }
    double t = mmdx_roi_otsu_threshold(v);
    ck_assert(t > 4 && t <= 100);
    mmdx_mask *m = NULL;
    ck_assert_int_eq(mmdx_roi_auto(&m, v), 0);
    ck_assert_uint_eq(count(m), 216);
    ck_assert_int_eq(m->data[2 + 20 * (2 + 20 * 2)], 1);
    ck_assert_int_eq(m->data[15 + 20 * (15 + 20 * 5)], 0);
    mmdx_mask_free(m);
    /* A constant image has no threshold: the whole image is the region (a blank slice still encodes). */
    for (size_t i = 0; i < mmdx_grid_count(&g); i++)
        v->data[i] = 7.0f;
    ck_assert(isnan(mmdx_roi_otsu_threshold(v)));
    ck_assert_int_eq(mmdx_roi_auto(&m, v), 0);
    ck_assert_uint_eq(count(m), mmdx_grid_count(&g));
    mmdx_mask_free(m);
    /* Nothing finite at all is an error. */
    for (size_t i = 0; i < mmdx_grid_count(&g); i++)
        v->data[i] = NAN;
    ck_assert_int_eq(mmdx_roi_auto(&m, v), MMDX_EFORMAT);
    ck_assert_ptr_null(m);
    assert_message_has("no finite voxel");
    mmdx_volume_free(v);
}
END_TEST

START_TEST(auto_mask_of_ct_is_the_body)
{
    mmdx_test_data_or_skip();
    mmdx_volume *v = image_of("dicom/ibsi1_ct_phantom_PAT1/image", NULL);
    mmdx_mask *m = NULL;
    ck_assert_int_eq(mmdx_roi_auto(&m, v), 0);
    double t = mmdx_roi_otsu_threshold(v);
    /* CT: Otsu separates air (-1000 HU) from tissue. */
    ck_assert(t > -900 && t < 0);
    size_t n = count(m), n_tissue = 0;
    for (size_t i = 0; i < mmdx_grid_count(&v->grid); i++)
        if (m->data[i]) {
            ck_assert(v->data[i] >= t);
            n_tissue++;
        }
    ck_assert_uint_eq(n, n_tissue);
    ck_assert_uint_gt(n, mmdx_grid_count(&v->grid) / 10);
    mmdx_mask_free(m);
    mmdx_volume_free(v);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("imaging_roi");
    TCase *t = tcase_create("roi");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, pat1_rtstruct_rasterises_like_ibsi_nifti);
    tcase_add_test(t, sts025_rtstructs_rasterise_like_ibsi_nifti);
    tcase_add_test(t, roi_chosen_by_name);
    tcase_add_test(t, mask_of_another_study_refused);
    tcase_add_test(t, seg_every_encoding_same_mask);
    tcase_add_test(t, small_rtstruct_rasterised_exactly);
    tcase_add_test(t, auto_mask_is_otsu_and_largest_component);
    tcase_add_test(t, auto_mask_of_ct_is_the_body);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return mmdx_test_run_suite(suite()); }
