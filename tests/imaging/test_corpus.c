/*
 * tests/imaging/test_corpus.c — the imaging encoder over every DICOM file of
 * the shared data: each one encodes, or fails with the error the data
 * manifest predicts for it.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Predictions are derived from MANIFEST.tsv's "exercises" column, which
 * describes each file (transfer syntax, photometric interpretation, bits,
 * "BROKEN", "not decodable by DCMTK", ...). A failure must name the file and,
 * for DICOM content, the tag or transfer syntax at fault; nothing may crash
 * or leak (this test runs under the sanitizer build too).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "error.h"
#include "testsupport.h"

typedef enum expect {
    EXPECT_OK,          /* encodes */
    EXPECT_EITHER,      /* a robustness case: encodes or fails clearly */
    EXPECT_NOT_DICOM,   /* not a DICOM file at all */
    EXPECT_NO_IMAGE,    /* DICOM without an image (RTSTRUCT, SR, DICOMDIR, ...) */
    EXPECT_SEG,         /* a segmentation: belongs in the mask column */
    EXPECT_UNSUPPORTED_SYNTAX,
    EXPECT_UNSUPPORTED_COLOUR,
    EXPECT_BROKEN,      /* truncated or corrupt */
    EXPECT_DECODER      /* DCMTK's own decoder refuses it (see the reason) */
} expect;

static const char *const expect_names[] = {"encodes", "either", "not DICOM", "no image", "SEG",
                                           "unsupported transfer syntax", "unsupported colour model", "broken",
                                           "DCMTK decoder refusal"};

/* Files whose outcome the manifest does not describe, with the reason. */
static const struct {
    const char *path;
    expect e;
    const char *why;
} exceptions[] = {
    {"dicom/pydicom_data/JLSL_08_07_0_1F.dcm", EXPECT_DECODER,
     "DCMTK 3.6.7's JPEG-LS decoder (and its dcmdjpls tool) reject this 7-bit stream: Invalid compressed image data"},
};

static int has(const char *s, const char *needle) { return strstr(s, needle) != NULL; }

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static expect predict(const char *path, const char *ex, const char **why)
{
    *why = "from MANIFEST.tsv";
    for (size_t i = 0; i < sizeof exceptions / sizeof *exceptions; i++)
        if (!strcmp(path, exceptions[i].path)) {
            *why = exceptions[i].why;
            return exceptions[i].e;
        }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (ends_with(path, ".txt") || ends_with(path, ".json") || ends_with(path, ".dump") || ends_with(path, ".gz") ||
        !strncmp(base, "README", 6))
        return EXPECT_NOT_DICOM;
    if (has(ex, ", SEG,") || has(ex, "DICOM SEG"))
        return EXPECT_SEG;
    if (has(ex, "JPEG2000") || has(ex, "not decodable by DCMTK"))
        return EXPECT_UNSUPPORTED_SYNTAX;
    if (has(ex, "BROKEN") || has(ex, "dcmdump error"))
        return EXPECT_BROKEN;
    if (has(ex, "PALETTE COLOR"))
        return EXPECT_UNSUPPORTED_COLOUR;
    if (has(ex, "robustness") || has(ex, "known-bad") || has(ex, "edge case"))
        return EXPECT_EITHER;
    if (!has(ex, "bits "))
        return EXPECT_NO_IMAGE;
    return EXPECT_OK;
}

/* A DICOM tag "(gggg,eeee)" appears in the message. */
static int names_a_tag(const char *m)
{
    for (const char *p = strchr(m, '('); p; p = strchr(p + 1, '('))
        if (strlen(p) >= 11 && p[5] == ',' && p[10] == ')')
            return 1;
    return 0;
}

static mmdx_imaging_encoder *encoder(void)
{
    /* ~400 whole-image ROIs: Moran's I (quadratic in the ROI size) is capped and the local
     * intensity peak (a 1 cm^3 mean around each maximum) left out, so that the test stays fast;
     * reading, masks and every other family run as in production. */
    static const mmdx_config_entry entries[] = {
        {"moran_max_voxels", "2000", "test", 1, 0},
        {"families", "morph,stat,ih,ivh,cm,rlm,szm,dzm,ngt,ngl", "test", 2, 0},
    };
    mmdx_plugin_config cfg = {MMDX_ABI_VERSION, sizeof cfg, "imaging", 2, entries, NULL, NULL, 1, 0};
    mmdx_imaging_encoder *e = NULL;
    mmdx_error err = {0};
    ck_assert_msg(mmdx_imaging_encoder_new(&e, &cfg, &err) == 0, "%s", err.message);
    return e;
}

/* Encode one input; returns the code, the message in err. */
static int encode(const mmdx_imaging_encoder *e, const char *path, double *values, mmdx_error *err)
{
    mmdx_encoder_input in = {MMDX_ABI_VERSION, sizeof in, "P", path, NULL, NULL, 0, NULL, NULL};
    int32_t present = 0;
    memset(err, 0, sizeof *err);
    int rc = mmdx_imaging_encoder_encode(e, &in, values, &present, err);
    if (rc == 0)
        ck_assert_int_eq(present, 1);
    return rc;
}

START_TEST(every_dicom_file_encodes_or_fails_as_predicted)
{
    const char *data = mmdx_test_data_or_skip();
    /* MANIFEST.tsv is plain tab-separated text (no quoting): split it here. */
    char *manifest = mmdx_test_data_path("MANIFEST.tsv");
    size_t text_len = 0;
    char *text = mmdx_test_read_file(manifest, &text_len);
    ck_assert_ptr_nonnull(text);
    mmdx_imaging_encoder *e = encoder();
    size_t nf;
    const char *const *names;
    mmdx_imaging_encoder_names(e, &nf, &names);
    size_t i_mean = nf;
    for (size_t i = 0; i < nf; i++)
        if (!strcmp(names[i], "stat.mean"))
            i_mean = i;
    ck_assert_uint_lt(i_mean, nf);
    double *values = malloc(nf * sizeof *values);

    char *f[16];
    size_t n, col_path = 0, col_ex = 0, files = 0, counts[9] = {0}, bad = 0;
    int header = 1;
    char report[16384] = "";
    char *save_line = NULL;
    for (char *line = strtok_r(text, "\n", &save_line); line; line = strtok_r(NULL, "\n", &save_line)) {
        n = 0;
        for (char *p = line; n < 16;) {
            f[n++] = p;
            char *tab = strchr(p, '\t');
            if (!tab)
                break;
            *tab = '\0';
            p = tab + 1;
        }
        if (header) {
            for (size_t c = 0; c < n; c++) {
                if (!strcmp(f[c], "path"))
                    col_path = c;
                if (!strcmp(f[c], "exercises"))
                    col_ex = c;
            }
            ck_assert_uint_gt(col_ex, 0);
            header = 0;
            continue;
        }
        if (n <= col_ex || strncmp(f[col_path], "dicom/", 6) != 0)
            continue;
        const char *why;
        expect want = predict(f[col_path], f[col_ex], &why);
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", data, f[col_path]);
        mmdx_error err;
        int got = encode(e, full, values, &err);
        files++;
        counts[want]++;
        const char *base = strrchr(f[col_path], '/') + 1;
        int ok;
        switch (want) {
        case EXPECT_OK: ok = got == 0 && isfinite(values[i_mean]); break;
        case EXPECT_EITHER: ok = 1; break;
        case EXPECT_NOT_DICOM: ok = got == MMDX_EFORMAT && has(err.message, "not a DICOM file"); break;
        case EXPECT_NO_IMAGE: ok = got == MMDX_EFORMAT && names_a_tag(err.message); break;
        case EXPECT_SEG: ok = got == MMDX_EFORMAT && has(err.message, "Segmentation") && has(err.message, "mask"); break;
        case EXPECT_UNSUPPORTED_SYNTAX:
            ok = got == MMDX_EUNSUPPORTED && has(err.message, "unsupported transfer syntax 1.2.840.10008.");
            break;
        case EXPECT_UNSUPPORTED_COLOUR:
            ok = got == MMDX_EUNSUPPORTED && has(err.message, "(0028,0004)") && has(err.message, "PALETTE COLOR");
            break;
        case EXPECT_BROKEN:
            ok = got == MMDX_EFORMAT && (has(err.message, "truncated or malformed") || has(err.message, "not a DICOM file"));
            break;
        case EXPECT_DECODER: ok = got == MMDX_EFORMAT && has(err.message, "cannot decode"); break;
        default: ok = 0;
        }
        /* Every failure names the file it is about. */
        if (got != 0 && !has(err.message, base))
            ok = 0;
        if (!ok) {
            bad++;
            size_t len = strlen(report);
            snprintf(report + len, sizeof report - len, "\n  %s: expected %s (%s), got %d: %s", f[col_path],
                     expect_names[want], why, got, got ? err.message : "encoded");
        }
    }
    free(text);
    ck_assert_uint_ge(files, 400);
    /* The manifest's coverage: most files are images that must encode. */
    ck_assert_uint_ge(counts[EXPECT_OK], 250);
    ck_assert_uint_ge(counts[EXPECT_UNSUPPORTED_SYNTAX], 15);
    ck_assert_msg(bad == 0, "%zu of %zu DICOM files did not behave as predicted:%s", bad, files, report);
    free(values);
    mmdx_imaging_encoder_free(e);
    free(manifest);
}
END_TEST

START_TEST(series_folders_encode)
{
    mmdx_test_data_or_skip();
    static const char *const folders[] = {
        "dicom/ibsi1_ct_phantom_PAT1",      "dicom/ibsi_validation_STS_025/CT/image",
        "dicom/ibsi_validation_STS_025/PET/image", "dicom/ibsi_validation_STS_025/MR_T1/image",
        "dicom/pydicom_debian/dicomdirtests/98892001/CT5N",
    };
    mmdx_imaging_encoder *e = encoder();
    size_t nf;
    const char *const *names;
    mmdx_imaging_encoder_names(e, &nf, &names);
    double *values = malloc(nf * sizeof *values);
    for (size_t i = 0; i < sizeof folders / sizeof *folders; i++) {
        char *p = mmdx_test_data_path(folders[i]);
        mmdx_error err;
        ck_assert_msg(encode(e, p, values, &err) == 0, "%s: %s", folders[i], err.message);
        free(p);
    }
    /* A folder mixing series is refused with the list of SeriesInstanceUIDs. */
    char *p = mmdx_test_data_path("dicom/ibsi_validation_STS_025");
    mmdx_error err;
    ck_assert_int_eq(encode(e, p, values, &err), MMDX_EFORMAT);
    ck_assert_msg(has(err.message, "3 series (0020,000E)"), "%s", err.message);
    free(p);
    free(values);
    mmdx_imaging_encoder_free(e);
}
END_TEST

/* The host encodes many patients at once on one encoder: results must not depend on it. */
START_TEST(concurrent_encodes_match_serial)
{
    mmdx_test_data_or_skip();
    static const char *const inputs[] = {
        "dicom/pydicom_debian/CT_small.dcm",        "dicom/pydicom_data/emri_small_jpeg_ls_lossless.dcm",
        "dicom/pydicom_debian/SC_rgb_jpeg_dcmtk.dcm", "dicom/pydicom_debian/rtdose_rle_1frame.dcm",
        "dicom/pydicom_data/JPEG-LL.dcm",           "dicom/pydicom_debian/MR_small_bigendian.dcm",
        "dicom/ibsi_validation_STS_025/PET/image",  "dicom/pydicom_debian/MR_small_jp2klossless.dcm",
    };
    enum { N = sizeof inputs / sizeof *inputs };
    mmdx_imaging_encoder *e = encoder();
    size_t nf;
    const char *const *names;
    mmdx_imaging_encoder_names(e, &nf, &names);
    double *serial = malloc(N * nf * sizeof *serial), *parallel = malloc(N * nf * sizeof *parallel);
    int rc_serial[N], rc_parallel[N];
    char *paths[N];
    for (int i = 0; i < N; i++) {
        paths[i] = mmdx_test_data_path(inputs[i]);
        mmdx_error err;
        rc_serial[i] = encode(e, paths[i], serial + i * nf, &err);
    }
    for (int round = 0; round < 2; round++) {
#pragma omp parallel for num_threads(4) schedule(dynamic)
        for (int i = 0; i < N; i++) {
            mmdx_encoder_input in = {MMDX_ABI_VERSION, sizeof in, "P", paths[i], NULL, NULL, 0, NULL, NULL};
            int32_t present = 0;
            mmdx_error err = {0};
            rc_parallel[i] = mmdx_imaging_encoder_encode(e, &in, parallel + i * nf, &present, &err);
        }
        for (int i = 0; i < N; i++) {
            ck_assert_msg(rc_parallel[i] == rc_serial[i], "%s: %d in parallel, %d alone", inputs[i], rc_parallel[i],
                          rc_serial[i]);
            for (size_t k = 0; rc_serial[i] == 0 && k < nf; k++) {
                double a = serial[i * nf + k], b = parallel[i * nf + k];
                ck_assert_msg((isnan(a) && isnan(b)) || a == b, "%s: %s = %g alone, %g in parallel", inputs[i],
                              names[k], a, b);
            }
        }
    }
    ck_assert_int_eq(rc_serial[N - 1], MMDX_EUNSUPPORTED); /* the JPEG 2000 file fails the same way in both */
    for (int i = 0; i < N; i++)
        free(paths[i]);
    free(serial);
    free(parallel);
    mmdx_imaging_encoder_free(e);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("imaging_corpus");
    TCase *t = tcase_create("corpus");
    tcase_set_timeout(t, 900);
    tcase_add_test(t, every_dicom_file_encodes_or_fails_as_predicted);
    tcase_add_test(t, series_folders_encode);
    tcase_add_test(t, concurrent_encodes_match_serial);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return mmdx_test_run_suite(suite()); }
