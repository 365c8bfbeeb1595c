/*
 * tests/imaging/test_imaging_cli.c — the imaging plugin as users meet it:
 * `mmdx plugins`, `mmdx encode imaging`, `mmdx encode --cohort`.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

static int run(const char *args, char **out, char **err)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "env -u MMDX_CONFIG -u MMDX_PLUGIN_PATH OMP_NUM_THREADS=1 '%s' %s",
             mmdx_test_mmdx_bin(), args);
    return mmdx_test_run(cmd, out, err);
}

START_TEST(plugin_is_listed)
{
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(run("plugins --json", &out, &err), 0);
    json_object *o = json_tokener_parse(out), *list = NULL, *found = NULL;
    ck_assert_msg(o && json_object_object_get_ex(o, "plugins", &list), "%s", out);
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *p = json_object_array_get_idx(list, i), *name = NULL;
        if (json_object_object_get_ex(p, "name", &name) && !strcmp(json_object_get_string(name), "imaging"))
            found = p;
    }
    ck_assert_msg(found != NULL, "imaging plugin not loaded: %s / %s", out, err);
    json_object *v = NULL;
    ck_assert(json_object_object_get_ex(found, "kind", &v));
    ck_assert_str_eq(json_object_get_string(v), "encoder");
    ck_assert(json_object_object_get_ex(found, "modality", &v));
    ck_assert_str_eq(json_object_get_string(v), "imaging");
    ck_assert(json_object_object_get_ex(found, "input_column", &v));
    ck_assert_str_eq(json_object_get_string(v), "dicom");
    json_object_put(o);
    free(out);
    free(err);
}
END_TEST

START_TEST(encode_pat1_json)
{
    mmdx_test_data_or_skip();
    char *img = mmdx_test_data_path("dicom/ibsi1_ct_phantom_PAT1/image");
    char *rs = mmdx_test_data_path("dicom/ibsi1_ct_phantom_PAT1/rtstruct/DCM_RS_00060.dcm");
    char args[4096], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "encode imaging '%s' --mask '%s' --roi GTV-1 --json", img, rs);
    ck_assert_msg(run(args, &out, &err) == 0, "%s", err);
    json_object *o = json_tokener_parse(out);
    ck_assert_msg(o != NULL, "not JSON: %s", out);
    json_object *fs = NULL, *v = NULL;
    ck_assert(json_object_object_get_ex(o, "features", &fs));
    ck_assert(json_object_object_get_ex(fs, "imaging.morph.volume", &v));
    /* IBSI: the GTV-1 mesh volume is 3.58e5 +- 5e3 mm^3 without interpolation. */
    ck_assert_double_eq_tol(json_object_get_double(v), 358000.0, 5000.0);
    ck_assert(json_object_object_get_ex(fs, "imaging.stat.mean", &v));
    ck_assert(isfinite(json_object_get_double(v)));
    json_object_put(o);
    free(out);
    free(err);

    /* The tab-separated form carries the same names. */
    snprintf(args, sizeof args, "encode imaging '%s' --mask '%s'", img, rs);
    ck_assert_int_eq(run(args, &out, &err), 0);
    ck_assert(strncmp(out, "imaging.morph.volume\t", 21) == 0);
    free(out);
    free(err);
    free(img);
    free(rs);
}
END_TEST

START_TEST(bad_input_exit_codes)
{
    mmdx_test_data_or_skip();
    char args[4096], *out = NULL, *err = NULL;
    char *j2k = mmdx_test_data_path("dicom/pydicom_debian/MR_small_jp2klossless.dcm");
    snprintf(args, sizeof args, "encode imaging '%s'", j2k);
    ck_assert_int_eq(run(args, &out, &err), 3);
    ck_assert_msg(strstr(err, "MR_small_jp2klossless.dcm: unsupported transfer syntax 1.2.840.10008.1.2.4.90") != NULL,
                  "%s", err);
    ck_assert_str_eq(out, "");
    free(out);
    free(err);

    /* A mask from another study. */
    char *ct = mmdx_test_data_path("dicom/pydicom_debian/CT_small.dcm");
    char *mask = mmdx_test_data_path("ibsi/ct_phantom_PAT1_nifti/mask_GTV-1.nii.gz");
    snprintf(args, sizeof args, "encode imaging '%s' --mask '%s'", ct, mask);
    ck_assert_int_eq(run(args, &out, &err), 3);
    ck_assert_msg(strstr(err, "mask on another grid") != NULL, "%s", err);
    free(out);
    free(err);

    /* A folder of several series: refused with their UIDs, then one picked with --series. */
    char *sts = mmdx_test_data_path("dicom/ibsi_validation_STS_025");
    snprintf(args, sizeof args, "encode imaging '%s'", sts);
    ck_assert_int_eq(run(args, &out, &err), 3);
    ck_assert_msg(strstr(err, "1.3.6.1.4.1.14519.5.2.1.5168.1900.544115247131657316965832847537 (PT, 47 files)") != NULL,
                  "%s", err);
    free(out);
    free(err);
    snprintf(args, sizeof args, "encode imaging '%s' --series 1.3.6.1.4.1.14519.5.2.1.5168.1900.544115247131657316965832847537",
             sts);
    ck_assert_msg(run(args, &out, &err) == 0, "%s", err);
    free(out);
    free(err);
    free(sts);

    /* Usage errors. */
    ck_assert_int_eq(run("encode imaging", &out, &err), 2);
    free(out);
    free(err);
    ck_assert_int_eq(run("encode imaging --help", &out, &err), 0);
    ck_assert(strstr(out, "--mask") != NULL);
    free(out);
    free(err);

    /* A bad configuration value names file and line. */
    char *dir = mmdx_test_tmpdir(), conf[1024];
    snprintf(conf, sizeof conf, "%s/mmdx.conf", dir);
    mmdx_test_write_file(conf, "[imaging]\ndiscretisation = fbn:32\nauto_mask = maybe\n");
    snprintf(args, sizeof args, "encode imaging '%s' --config '%s'", ct, conf);
    ck_assert_int_eq(run(args, &out, &err), 3);
    ck_assert_msg(strstr(err, "mmdx.conf:3") != NULL && strstr(err, "auto_mask") != NULL, "%s", err);
    free(out);
    free(err);
    /* auto_mask = false: an input without a mask is refused. */
    mmdx_test_write_file(conf, "[imaging]\nauto_mask = false\n");
    ck_assert_int_eq(run(args, &out, &err), 3);
    ck_assert_msg(strstr(err, "no mask given") != NULL, "%s", err);
    free(out);
    free(err);
    mmdx_test_rmtree(dir);
    free(dir);
    free(ct);
    free(mask);
    free(j2k);
}
END_TEST

START_TEST(cohort_fills_imaging_columns)
{
    mmdx_test_data_or_skip();
    char *dir = mmdx_test_tmpdir(), manifest[1024], table[1024], text[8192], args[4096];
    char *pat1 = mmdx_test_data_path("dicom/ibsi1_ct_phantom_PAT1/image");
    char *rs = mmdx_test_data_path("dicom/ibsi1_ct_phantom_PAT1/rtstruct/DCM_RS_00060.dcm");
    char *ct = mmdx_test_data_path("dicom/pydicom_debian/CT_small.dcm");
    snprintf(manifest, sizeof manifest, "%s/cohort.csv", dir);
    snprintf(table, sizeof table, "%s/features.csv", dir);
    snprintf(text, sizeof text,
             "patient_id,dicom,mask,roi,label\n"
             "P1,%s,%s,GTV-1,1\n"
             "P2,%s,,,0\n"
             "P3,,,,0\n",
             pat1, rs, ct);
    mmdx_test_write_file(manifest, text);
    char *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "encode --cohort '%s' --out '%s' --only imaging --no-progress", manifest, table);
    ck_assert_msg(run(args, &out, &err) == 0, "%s", err);
    size_t len = 0;
    char *csv = mmdx_test_read_file(table, &len);
    ck_assert_ptr_nonnull(csv);
    char *line2 = strchr(csv, '\n');
    ck_assert_ptr_nonnull(line2);
    *line2++ = '\0';
    ck_assert_msg(strstr(csv, "imaging.present") != NULL && strstr(csv, "imaging.morph.volume") != NULL, "%s", csv);
    /* P1 and P2 present with values, P3 missing. */
    ck_assert_msg(strncmp(line2, "P1,1,", 5) == 0, "%.80s", line2);
    char *line3 = strchr(line2, '\n') + 1, *line4 = strchr(line3, '\n') + 1;
    ck_assert_msg(strncmp(line3, "P2,1,", 5) == 0, "%.80s", line3);
    ck_assert_msg(strncmp(line4, "P3,0,,", 6) == 0, "%.80s", line4);
    /* P1's volume (first feature column) is IBSI's GTV-1 volume. */
    double vol = strtod(line2 + 5, NULL);
    ck_assert_double_eq_tol(vol, 358000.0, 5000.0);
    free(csv);
    free(out);
    free(err);
    mmdx_test_rmtree(dir);
    free(dir);
    free(pat1);
    free(rs);
    free(ct);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("imaging_cli");
    TCase *t = tcase_create("cli");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, plugin_is_listed);
    tcase_add_test(t, encode_pat1_json);
    tcase_add_test(t, bad_input_exit_codes);
    tcase_add_test(t, cohort_fills_imaging_columns);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return mmdx_test_run_suite(suite()); }
