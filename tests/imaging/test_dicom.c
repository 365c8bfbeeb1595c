/*
 * tests/imaging/test_dicom.c — reading DICOM files and series into volumes.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Values are checked against what the files hold, read here independently
 * (raw pixel bytes at the end of uncompressed files, the NIfTI copies of
 * the IBSI data), and across transfer syntaxes of the same image.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dicom_series.h"
#include "error.h"
#include "nifti_io.h"
#include "testsupport.h"

static mmdx_volume *read_ok(const char *rel, mmdx_dicom_volume_info *info, const char *series)
{
    char *p = mmdx_test_data_path(rel);
    mmdx_volume *v = NULL;
    mmdx_dicom_read_options opt = {series, 2, 0};
    int rc = mmdx_dicom_read_volume(&v, info, p, &opt);
    ck_assert_msg(rc == 0, "%s: %s", rel, mmdx_last_error());
    free(p);
    return v;
}

/* Read a path expected to fail; returns the code and keeps the message. */
static int read_fail(const char *path, const char *series)
{
    mmdx_volume *v = NULL;
    mmdx_dicom_read_options opt = {series, 1, 0};
    int rc = mmdx_dicom_read_volume(&v, NULL, path, &opt);
    ck_assert_msg(rc < 0, "%s: read succeeded, expected a failure", path);
    ck_assert_ptr_null(v);
    return rc;
}

static void assert_message_has(const char *needle)
{
    ck_assert_msg(strstr(mmdx_last_error(), needle) != NULL, "message \"%s\" lacks \"%s\"", mmdx_last_error(),
                  needle);
}

static void assert_same_values(const mmdx_volume *a, const mmdx_volume *b, double tol, const char *what)
{
    ck_assert_msg(a->grid.nx == b->grid.nx && a->grid.ny == b->grid.ny && a->grid.nz == b->grid.nz, "%s: sizes differ",
                  what);
    size_t n = mmdx_grid_count(&a->grid), bad = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)a->data[i] - (double)b->data[i]) > tol)
            bad++;
    ck_assert_msg(bad == 0, "%s: %zu of %zu voxels differ by more than %g", what, bad, n, tol);
}

/* The 16-bit values of the Pixel Data element of an explicit-VR little-endian file, found by its tag. */
static uint16_t *pixel_u16(const char *rel, size_t count)
{
    char *p = mmdx_test_data_path(rel);
    size_t len = 0;
    unsigned char *buf = (unsigned char *)mmdx_test_read_file(p, &len);
    ck_assert_ptr_nonnull(buf);
    size_t at = 0;
    for (size_t i = 0; i + 12 <= len; i++)
        if (buf[i] == 0xe0 && buf[i + 1] == 0x7f && buf[i + 2] == 0x10 && buf[i + 3] == 0x00 && buf[i + 4] == 'O' &&
            (buf[i + 5] == 'W' || buf[i + 5] == 'B'))
            at = i + 12;
    ck_assert_msg(at > 0 && at + 2 * count <= len, "%s: no Pixel Data element found", rel);
    uint16_t *out = malloc(count * sizeof *out);
    for (size_t i = 0; i < count; i++)
        out[i] = (uint16_t)(buf[at + 2 * i] | (buf[at + 2 * i + 1] << 8));
    free(buf);
    free(p);
    return out;
}

START_TEST(pat1_series_matches_nifti_copy)
{
    mmdx_test_data_or_skip();
    mmdx_dicom_volume_info info;
    mmdx_volume *v = read_ok("dicom/ibsi1_ct_phantom_PAT1/image", &info, NULL);
    ck_assert_uint_eq(v->grid.nx, 204);
    ck_assert_uint_eq(v->grid.ny, 201);
    ck_assert_uint_eq(v->grid.nz, 60);
    ck_assert_uint_eq(info.n_objects, 60);
    ck_assert_str_eq(info.modality, "CT");
    ck_assert_int_eq(info.rescaled, 1);
    ck_assert_double_eq_tol(v->grid.spacing[0], 0.977, 1e-3);
    ck_assert_double_eq_tol(v->grid.spacing[2], 3.0, 1e-6);
    /* The NIfTI copy of the same series: same grid, same HU in every voxel. */
    char *np = mmdx_test_data_path("ibsi/ct_phantom_PAT1_nifti/image_phantom.nii.gz");
    mmdx_volume *n = NULL;
    mmdx_error err = {0};
    ck_assert_msg(mmdx_nifti_read_volume(&n, np, &err) == 0, "%s", err.message);
    ck_assert_msg(mmdx_grid_same(&v->grid, &n->grid, 1e-3), "DICOM and NIfTI grids differ");
    assert_same_values(v, n, 0.0, "PAT1 DICOM vs NIfTI");
    mmdx_volume_free(n);
    mmdx_volume_free(v);
    free(np);
}
END_TEST

START_TEST(study_folder_skips_rtstruct)
{
    mmdx_test_data_or_skip();
    mmdx_dicom_volume_info info;
    /* The study folder holds the 60 slices and the RTSTRUCT in subfolders. */
    mmdx_volume *v = read_ok("dicom/ibsi1_ct_phantom_PAT1", &info, NULL);
    ck_assert_uint_eq(v->grid.nz, 60);
    ck_assert_uint_eq(info.n_skipped, 1);
    mmdx_volume_free(v);
}
END_TEST

START_TEST(mixed_series_refused_unless_chosen)
{
    mmdx_test_data_or_skip();
    char *p = mmdx_test_data_path("dicom/ibsi_validation_STS_025");
    int rc = read_fail(p, NULL);
    ck_assert_int_eq(rc, MMDX_EFORMAT);
    assert_message_has("3 series");
    assert_message_has("1.3.6.1.4.1.14519.5.2.1.5168.1900.141218997755131153939359972784");
    assert_message_has("1.3.6.1.4.1.14519.5.2.1.5168.1900.513282521569292173637916414948");
    assert_message_has("1.3.6.1.4.1.14519.5.2.1.5168.1900.544115247131657316965832847537");
    mmdx_dicom_volume_info info;
    mmdx_volume *v = read_ok("dicom/ibsi_validation_STS_025",
                             &info, "1.3.6.1.4.1.14519.5.2.1.5168.1900.513282521569292173637916414948");
    ck_assert_str_eq(info.modality, "MR");
    ck_assert_uint_eq(v->grid.nz, 25);
    mmdx_volume_free(v);
    ck_assert_int_eq(read_fail(p, "1.2.3.4"), MMDX_ENOTFOUND);
    free(p);
}
END_TEST

START_TEST(ct_rescale_gives_hounsfield_units)
{
    mmdx_test_data_or_skip();
    mmdx_volume *v = read_ok("dicom/pydicom_debian/CT_small.dcm", NULL, NULL);
    ck_assert_uint_eq(v->grid.nx * v->grid.ny, 128 * 128);
    /* 16 bits allocated and stored, signed, slope 1, intercept -1024. */
    uint16_t *raw = pixel_u16("dicom/pydicom_debian/CT_small.dcm", 128 * 128);
    for (size_t i = 0; i < 128 * 128; i++)
        ck_assert_double_eq_tol(v->data[i], (double)(int16_t)raw[i] - 1024.0, 1e-3);
    free(raw);
    mmdx_volume_free(v);
}
END_TEST

START_TEST(monochrome1_inverted_then_rescaled)
{
    mmdx_test_data_or_skip();
    mmdx_dicom_volume_info info;
    mmdx_volume *v = read_ok("dicom/pydicom_debian/dicomdirtests/77654033/CR1/6154", &info, NULL);
    ck_assert_int_eq(info.inverted, 1);
    /* 12 bits stored, unsigned: v' = 4095 - v, then slope 0.684, intercept 200. */
    uint16_t *raw = pixel_u16("dicom/pydicom_debian/dicomdirtests/77654033/CR1/6154", 16 * 16);
    for (size_t i = 0; i < 16 * 16; i++)
        ck_assert_double_eq_tol(v->data[i], (4095.0 - (raw[i] & 0x0fff)) * 0.684 + 200.0, 1e-3);
    free(raw);
    mmdx_volume_free(v);
}
END_TEST

START_TEST(transfer_syntaxes_decode_to_the_same_values)
{
    mmdx_test_data_or_skip();
    static const char *const groups[][6] = {
        {"dicom/pydicom_debian/MR_small.dcm", "dicom/pydicom_debian/MR_small_bigendian.dcm",
         "dicom/pydicom_debian/MR_small_padded.dcm", NULL},
        {"dicom/pydicom_data/emri_small.dcm", "dicom/pydicom_data/emri_small_RLE.dcm",
         "dicom/pydicom_data/emri_small_big_endian.dcm", "dicom/pydicom_data/emri_small_jpeg_ls_lossless.dcm", NULL},
        {"dicom/pydicom_data/SC_rgb.dcm", "dicom/pydicom_data/SC_rgb_expb.dcm", "dicom/pydicom_debian/SC_rgb_rle.dcm",
         "dicom/pydicom_debian/SC_rgb_jpeg_gdcm.dcm", "dicom/pydicom_data/SC_rgb_gdcm2k_uncompressed.dcm", NULL},
        {"dicom/pydicom_data/SC_rgb_32bit_2frame.dcm", "dicom/pydicom_data/SC_rgb_expb_32bit_2frame.dcm",
         "dicom/pydicom_debian/SC_rgb_rle_32bit_2frame.dcm", NULL},
        {"dicom/pydicom_debian/rtdose.dcm", "dicom/pydicom_debian/rtdose_expb.dcm", NULL},
        {"dicom/pydicom_data/JLSL_RGB_ILV0.dcm", "dicom/pydicom_data/JLSL_RGB_ILV1.dcm",
         "dicom/pydicom_data/JLSL_RGB_ILV2.dcm", NULL},
        /* JPEG baseline: DCMTK's decoder against the decoded reference stored beside it. */
        {"dicom/pydicom_debian/SC_rgb_dcmtk_+eb+cr.dcm", "dicom/pydicom_data/SC_rgb_dcmtk_ebcr_dcmd.dcm", NULL},
        {"dicom/pydicom_debian/SC_rgb_jpeg_dcmtk.dcm", "dicom/pydicom_data/SC_rgb_dcmtk_ebcys4_dcmd.dcm", NULL},
        {"dicom/pydicom_debian/SC_jpeg_no_color_transform.dcm", "dicom/pydicom_debian/SC_rgb_jpeg_dcmd.dcm", NULL},
        /* Colour by pixel and by plane. */
        {"dicom/pydicom_data/color-px.dcm", "dicom/pydicom_data/color-pl.dcm", NULL},
        /* Float and double float pixel data. */
        {"dicom/pydicom_data/parametric_map_float.dcm", "dicom/pydicom_data/parametric_map_double_float.dcm", NULL},
    };
    for (size_t g = 0; g < sizeof groups / sizeof *groups; g++) {
        mmdx_volume *ref = read_ok(groups[g][0], NULL, NULL);
        for (size_t k = 1; groups[g][k]; k++) {
            mmdx_volume *v = read_ok(groups[g][k], NULL, NULL);
            assert_same_values(ref, v, 1e-4 * (1 + fabs(ref->data[0])), groups[g][k]);
            mmdx_volume_free(v);
        }
        mmdx_volume_free(ref);
    }
}
END_TEST

/* The last `count` bytes of a file (8-bit uncompressed pixel data stored last). */
static unsigned char *tail_bytes(const char *rel, size_t count)
{
    char *p = mmdx_test_data_path(rel);
    size_t len = 0;
    char *buf = mmdx_test_read_file(p, &len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_ge(len, count);
    unsigned char *out = malloc(count);
    memcpy(out, buf + len - count, count);
    free(buf);
    free(p);
    return out;
}

START_TEST(colour_to_grey_as_documented)
{
    mmdx_test_data_or_skip();
    /* RGB: BT.601 luma of the stored triplets. */
    mmdx_volume *rgb = read_ok("dicom/pydicom_data/SC_rgb.dcm", NULL, NULL);
    unsigned char *raw = tail_bytes("dicom/pydicom_data/SC_rgb.dcm", 100 * 100 * 3);
    for (size_t i = 0; i < 100 * 100; i++)
        ck_assert_double_eq_tol(rgb->data[i], 0.299 * raw[3 * i] + 0.587 * raw[3 * i + 1] + 0.114 * raw[3 * i + 2],
                                1e-3);
    free(raw);
    /* YBR_FULL: the Y sample; YBR_FULL_422 (Y1 Y2 Cb Cr per pixel pair) gives the same Y. */
    mmdx_volume *ybr = read_ok("dicom/pydicom_data/SC_ybr_full_uncompressed.dcm", NULL, NULL);
    raw = tail_bytes("dicom/pydicom_data/SC_ybr_full_uncompressed.dcm", 100 * 100 * 3);
    for (size_t i = 0; i < 100 * 100; i++)
        ck_assert_double_eq_tol(ybr->data[i], raw[3 * i], 1e-6);
    free(raw);
    mmdx_volume *y422 = read_ok("dicom/pydicom_debian/SC_ybr_full_422_uncompressed.dcm", NULL, NULL);
    assert_same_values(ybr, y422, 0.0, "YBR_FULL_422 Y vs YBR_FULL Y");
    /* JPEG baseline in YBR_FULL_422: DCMTK converts to RGB, then luma; close to the lossless Y. */
    mmdx_volume *jpg = read_ok("dicom/pydicom_debian/SC_rgb_dcmtk_+eb+cy+s2.dcm", NULL, NULL);
    mmdx_volume *jref = read_ok("dicom/pydicom_data/SC_rgb_dcmtk_ebcys2_dcmd.dcm", NULL, NULL);
    assert_same_values(jpg, jref, 1e-3, "JPEG YBR_FULL_422 vs its decoded reference");
    mmdx_volume_free(rgb);
    mmdx_volume_free(ybr);
    mmdx_volume_free(y422);
    mmdx_volume_free(jpg);
    mmdx_volume_free(jref);
}
END_TEST

START_TEST(multiframe_geometry)
{
    mmdx_test_data_or_skip();
    /* RT Dose: Grid Frame Offset Vector gives 5 mm between frames. */
    mmdx_volume *v = read_ok("dicom/pydicom_debian/rtdose.dcm", NULL, NULL);
    ck_assert_uint_eq(v->grid.nz, 15);
    ck_assert_double_eq_tol(v->grid.spacing[2], 5.0, 1e-6);
    mmdx_volume_free(v);
    /* Enhanced CT: per-frame positions and per-frame rescale (HU). */
    mmdx_dicom_volume_info info;
    v = read_ok("dicom/pydicom_data/eCT_Supplemental.dcm", &info, NULL);
    ck_assert_uint_eq(v->grid.nz, 2);
    ck_assert_int_eq(info.rescaled, 1);
    double lo = INFINITY;
    for (size_t i = 0; i < mmdx_grid_count(&v->grid); i++)
        lo = fmin(lo, v->data[i]);
    ck_assert_double_eq_tol(lo, -1024.0, 1e-6);
    mmdx_volume_free(v);
    /* Enhanced MR: ten frames sorted along the normal. */
    v = read_ok("dicom/pydicom_data/emri_small.dcm", NULL, NULL);
    ck_assert_uint_eq(v->grid.nz, 10);
    ck_assert(v->grid.spacing[2] > 0);
    mmdx_volume_free(v);
}
END_TEST

START_TEST(unsupported_transfer_syntax_named)
{
    mmdx_test_data_or_skip();
    char *p = mmdx_test_data_path("dicom/pydicom_debian/MR_small_jp2klossless.dcm");
    ck_assert_int_eq(read_fail(p, NULL), MMDX_EUNSUPPORTED);
    assert_message_has("unsupported transfer syntax 1.2.840.10008.1.2.4.90 (JPEG 2000");
    assert_message_has("MR_small_jp2klossless.dcm");
    free(p);
    p = mmdx_test_data_path("dicom/pydicom_data/HTJ2KLossless_08_RGB.dcm");
    ck_assert_int_eq(read_fail(p, NULL), MMDX_EUNSUPPORTED);
    assert_message_has("unsupported transfer syntax 1.2.840.10008.1.2.4.201");
    free(p);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Bad input made here                                                     */
/* ---------------------------------------------------------------------- */

static void copy_prefix(const char *from, const char *to, long keep)
{
    size_t len = 0;
    char *buf = mmdx_test_read_file(from, &len);
    ck_assert_ptr_nonnull(buf);
    size_t n = keep < 0 ? len - (size_t)(-keep) : ((size_t)keep < len ? (size_t)keep : len);
    FILE *f = fopen(to, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
    fclose(f);
    free(buf);
}

START_TEST(truncated_file_names_file_and_tag)
{
    mmdx_test_data_or_skip();
    char *dir = mmdx_test_tmpdir(), path[1024];
    char *src = mmdx_test_data_path("dicom/pydicom_debian/CT_small.dcm");
    snprintf(path, sizeof path, "%s/cut_in_pixels.dcm", dir);
    copy_prefix(src, path, -5000);
    ck_assert_int_eq(read_fail(path, NULL), MMDX_EFORMAT);
    assert_message_has("cut_in_pixels.dcm");
    assert_message_has("(7FE0,0010)");
    snprintf(path, sizeof path, "%s/cut_in_header.dcm", dir);
    copy_prefix(src, path, 700);
    ck_assert_int_eq(read_fail(path, NULL), MMDX_EFORMAT);
    assert_message_has("cut_in_header.dcm");
    assert_message_has("truncated");
    free(src);
    mmdx_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(not_dicom_and_no_pixels)
{
    mmdx_test_data_or_skip();
    char *dir = mmdx_test_tmpdir(), path[1024];
    snprintf(path, sizeof path, "%s/notes.dcm", dir);
    mmdx_test_write_file(path, "patient_id,dicom\nP1,scan.dcm\n");
    ck_assert_int_eq(read_fail(path, NULL), MMDX_EFORMAT);
    assert_message_has("notes.dcm: not a DICOM file");
    char *rt = mmdx_test_data_path("dicom/ibsi1_ct_phantom_PAT1/rtstruct/DCM_RS_00060.dcm");
    ck_assert_int_eq(read_fail(rt, NULL), MMDX_EFORMAT);
    assert_message_has("no pixel data: (7FE0,0010)");
    snprintf(path, sizeof path, "%s/missing.dcm", dir);
    ck_assert_int_eq(read_fail(path, NULL), MMDX_ENOTFOUND);
    /* A folder with nothing DICOM in it. */
    ck_assert_int_eq(read_fail(dir, NULL), MMDX_ENOTFOUND);
    assert_message_has("no DICOM image");
    free(rt);
    mmdx_test_rmtree(dir);
    free(dir);
}
END_TEST

/* A series folder made of some PAT1 slices. */
static void copy_slices(const char *dir, const int *idx, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char rel[256], to[1024];
        snprintf(rel, sizeof rel, "dicom/ibsi1_ct_phantom_PAT1/image/DCM_IMG_%05d.dcm", idx[i]);
        char *from = mmdx_test_data_path(rel);
        snprintf(to, sizeof to, "%s/s%02zu.dcm", dir, i);
        copy_prefix(from, to, LONG_MAX);
        free(from);
    }
}

/* Edit one attribute of a file in place with dcmodify (DCMTK's own editor). */
static int dcmodify(const char *path, const char *assignment)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "dcmodify -nb -m '%s' '%s' >/dev/null 2>&1", assignment, path);
    return mmdx_test_run(cmd, NULL, NULL);
}

START_TEST(inconsistent_series_refused)
{
    mmdx_test_data_or_skip();
    char *dir = mmdx_test_tmpdir(), path[1024];
    /* Slice positions of PAT1 follow the file numbers; leave out slice 12. */
    static const int gap[] = {10, 11, 13, 14};
    copy_slices(dir, gap, 4);
    ck_assert_int_eq(read_fail(dir, NULL), MMDX_EFORMAT);
    assert_message_has("uneven slice spacing");
    assert_message_has("(0020,0032)");
    mmdx_test_rmtree(dir);
    free(dir);

    dir = mmdx_test_tmpdir();
    static const int dup[] = {10, 11, 11, 12};
    copy_slices(dir, dup, 4);
    ck_assert_int_eq(read_fail(dir, NULL), MMDX_EFORMAT);
    assert_message_has("same position");
    mmdx_test_rmtree(dir);
    free(dir);

    /* One slice with another pixel spacing (dcmodify, DCMTK's own editor). */
    dir = mmdx_test_tmpdir();
    static const int ok[] = {10, 11, 12, 13};
    copy_slices(dir, ok, 4);
    snprintf(path, sizeof path, "%s/s02.dcm", dir);
    ck_assert_int_eq(dcmodify(path, "(0028,0030)=0.5\\0.5"), 0);
    ck_assert_int_eq(read_fail(dir, NULL), MMDX_EFORMAT);
    assert_message_has("s02.dcm: (0028,0030) Pixel Spacing 0.5\\0.5 differs");
    /* Restore it, then tilt one slice's orientation. */
    copy_slices(dir, ok, 4);
    ck_assert_int_eq(dcmodify(path, "(0020,0037)=1\\0\\0\\0\\0.9950042\\0.0998334"), 0);
    ck_assert_int_eq(read_fail(dir, NULL), MMDX_EFORMAT);
    assert_message_has("(0020,0037) Image Orientation (Patient) differs");
    /* A malformed decimal string is refused with its tag, not read as a number. */
    copy_slices(dir, ok, 4);
    ck_assert_int_eq(dcmodify(path, "(0028,1052)=-10x0"), 0);
    ck_assert_int_eq(read_fail(dir, NULL), MMDX_EFORMAT);
    assert_message_has("(0028,1052)");
    mmdx_test_rmtree(dir);
    free(dir);
}
END_TEST

/* Every transfer syntax DCMTK can write losslessly, made here from one CT image with
 * DCMTK's own tools, must read back to the same Hounsfield units. */
START_TEST(generated_transfer_syntaxes_read_back_identical)
{
    mmdx_test_data_or_skip();
    static const struct {
        const char *tool, *name, *ts;
    } variants[] = {
        {"dcmconv +ti", "implicit.dcm", "1.2.840.10008.1.2"},
        {"dcmconv +tb", "bigendian.dcm", "1.2.840.10008.1.2.2"},
        {"dcmconv +td", "deflated.dcm", "1.2.840.10008.1.2.1.99"},
        {"dcmcjpeg +e1", "jpeg_sv1.dcm", "1.2.840.10008.1.2.4.70"},
        {"dcmcjpeg +el", "jpeg_lossless.dcm", "1.2.840.10008.1.2.4.57"},
        {"dcmcjpls +el", "jpegls.dcm", "1.2.840.10008.1.2.4.80"},
        {"dcmcrle", "rle.dcm", "1.2.840.10008.1.2.5"},
    };
    char *src = mmdx_test_data_path("dicom/pydicom_debian/CT_small.dcm");
    mmdx_volume *ref = read_ok("dicom/pydicom_debian/CT_small.dcm", NULL, NULL);
    char *dir = mmdx_test_tmpdir();
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++) {
        char path[1024], cmd[4096];
        snprintf(path, sizeof path, "%s/%s", dir, variants[i].name);
        snprintf(cmd, sizeof cmd, "%s '%s' '%s' >/dev/null 2>&1", variants[i].tool, src, path);
        ck_assert_msg(mmdx_test_run(cmd, NULL, NULL) == 0, "%s failed", cmd);
        mmdx_volume *v = NULL;
        mmdx_dicom_volume_info info;
        ck_assert_msg(mmdx_dicom_read_volume(&v, &info, path, NULL) == 0, "%s: %s", variants[i].name,
                      mmdx_last_error());
        ck_assert_str_eq(info.transfer_syntax, variants[i].ts);
        assert_same_values(ref, v, 0.0, variants[i].name);
        mmdx_volume_free(v);
    }
    mmdx_volume_free(ref);
    mmdx_test_rmtree(dir);
    free(dir);
    free(src);
}
END_TEST

/* The fuzzer reads from memory: same outcome as from the file, for every seed. */
START_TEST(memory_and_file_reading_agree)
{
    static const char *const seeds[] = {"ct_explicit_le.dcm", "ct_implicit.dcm", "ct_bigendian.dcm", "ct_deflated.dcm",
                                        "ct_no_meta.dcm", "ct_rle.dcm", "ct_jpeg_lossless.dcm", "ct_jpegls.dcm",
                                        "cr_monochrome1.dcm", "rgb_3x3.dcm", "rgb_jpeg_baseline.dcm",
                                        "dose_2frames.dcm", "ct_truncated.dcm", "not_dicom.txt"};
    int ok_count = 0;
    mmdx_volume *ct = NULL;
    for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/tests/fuzz/corpus/dicom/%s", mmdx_test_source_dir(), seeds[i]);
        size_t len = 0;
        char *buf = mmdx_test_read_file(path, &len);
        ck_assert_ptr_nonnull(buf);
        mmdx_volume *a = NULL, *b = NULL;
        int ra = mmdx_dicom_read_volume(&a, NULL, path, NULL);
        int rb = mmdx_dicom_read_memory(&b, NULL, buf, len, path);
        ck_assert_msg(ra == rb, "%s: file %d, memory %d (%s)", seeds[i], ra, rb, mmdx_last_error());
        if (ra == 0) {
            assert_same_values(a, b, 0.0, seeds[i]);
            ok_count++;
            if (!strcmp(seeds[i], "ct_explicit_le.dcm"))
                ct = a;
            else if (strncmp(seeds[i], "ct_", 3) == 0 && ct)
                assert_same_values(ct, a, 0.0, seeds[i]);
            if (a != ct)
                mmdx_volume_free(a);
            mmdx_volume_free(b);
        }
        free(buf);
    }
    /* Everything but the truncated file and the text reads. */
    ck_assert_int_eq(ok_count, (int)(sizeof seeds / sizeof *seeds) - 2);
    mmdx_volume_free(ct);
}
END_TEST

/* A corrupt JPEG frame in one slice of a series decoded on two threads: the
 * error names that file; nothing leaks. */
START_TEST(corrupt_slice_in_parallel_decode_named)
{
    mmdx_test_data_or_skip();
    char *dir = mmdx_test_tmpdir(), cmd[4096], path[1024];
    static const int idx[] = {20, 21, 22, 23};
    for (int i = 0; i < 4; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "dicom/ibsi1_ct_phantom_PAT1/image/DCM_IMG_%05d.dcm", idx[i]);
        char *from = mmdx_test_data_path(rel);
        snprintf(cmd, sizeof cmd, "dcmcjpeg +e1 '%s' '%s/j%d.dcm' >/dev/null 2>&1", from, dir, i);
        ck_assert_int_eq(mmdx_test_run(cmd, NULL, NULL), 0);
        free(from);
    }
    /* Break slice 2's JPEG frame header: its SOF3 (lossless) marker becomes an invalid one. */
    snprintf(path, sizeof path, "%s/j2.dcm", dir);
    size_t len = 0;
    char *buf = mmdx_test_read_file(path, &len);
    ck_assert_ptr_nonnull(buf);
    size_t sof = 0;
    for (size_t i = 0; i + 1 < len && !sof; i++)
        if ((unsigned char)buf[i] == 0xff && (unsigned char)buf[i + 1] == 0xc3)
            sof = i + 1;
    ck_assert_uint_gt(sof, 0);
    buf[sof] = (char)0x01;
    FILE *f = fopen(path, "wb");
    ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
    free(buf);
    mmdx_volume *v = NULL;
    mmdx_dicom_read_options opt = {NULL, 2, 0};
    int rc = mmdx_dicom_read_volume(&v, NULL, dir, &opt);
    ck_assert_int_eq(rc, MMDX_EFORMAT);
    ck_assert_ptr_null(v);
    assert_message_has("j2.dcm: (7FE0,0010)");
    assert_message_has("cannot decode");
    mmdx_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(decoding_in_parallel_matches_serial)
{
    mmdx_test_data_or_skip();
    char *p = mmdx_test_data_path("dicom/ibsi_validation_STS_025/CT/image");
    mmdx_volume *a = NULL, *b = NULL;
    mmdx_dicom_read_options one = {NULL, 1, 0}, two = {NULL, 2, 0};
    ck_assert_int_eq(mmdx_dicom_read_volume(&a, NULL, p, &one), 0);
    ck_assert_int_eq(mmdx_dicom_read_volume(&b, NULL, p, &two), 0);
    assert_same_values(a, b, 0.0, "1 vs 2 threads");
    mmdx_volume_free(a);
    mmdx_volume_free(b);
    free(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("imaging_dicom");
    TCase *t = tcase_create("read");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, pat1_series_matches_nifti_copy);
    tcase_add_test(t, study_folder_skips_rtstruct);
    tcase_add_test(t, mixed_series_refused_unless_chosen);
    tcase_add_test(t, ct_rescale_gives_hounsfield_units);
    tcase_add_test(t, monochrome1_inverted_then_rescaled);
    tcase_add_test(t, transfer_syntaxes_decode_to_the_same_values);
    tcase_add_test(t, colour_to_grey_as_documented);
    tcase_add_test(t, multiframe_geometry);
    tcase_add_test(t, unsupported_transfer_syntax_named);
    tcase_add_test(t, decoding_in_parallel_matches_serial);
    tcase_add_test(t, memory_and_file_reading_agree);
    tcase_add_test(t, generated_transfer_syntaxes_read_back_identical);
    suite_add_tcase(s, t);
    TCase *b = tcase_create("bad_input");
    tcase_set_timeout(b, 120);
    tcase_add_test(b, truncated_file_names_file_and_tag);
    tcase_add_test(b, not_dicom_and_no_pixels);
    tcase_add_test(b, inconsistent_series_refused);
    tcase_add_test(b, corrupt_slice_in_parallel_decode_named);
    suite_add_tcase(s, b);
    return s;
}

int main(void) { return mmdx_test_run_suite(suite()); }
