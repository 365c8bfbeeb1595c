/* SPDX-License-Identifier: Apache-2.0 — cohort manifest parsing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_suites.h"
#include "error.h"
#include "manifest.h"
#include "testsupport.h"

static char *write_manifest(const char *text)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/cohort.csv", core_tmp);
    mmdx_test_write_file(path, text);
    return path;
}

static void expect_error(const char *text, int code, const char *what)
{
    mmdx_manifest *m = NULL;
    ck_assert_int_eq(mmdx_manifest_load(&m, write_manifest(text)), code);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(mmdx_last_error(), what) != NULL, "\"%s\" lacks \"%s\"", mmdx_last_error(),
                  what);
    ck_assert_msg(strstr(mmdx_last_error(), "cohort.csv") != NULL, "names the file: %s",
                  mmdx_last_error());
}

START_TEST(valid_manifest)
{
    mmdx_manifest *m = NULL;
    const char *path = write_manifest(
        "patient_id,dicom,vcf,vcf_sample,record,label,mask\n"
        "P1,img/p1,/abs/g.vcf.gz,S1,rec/p1.json,1,masks/p1.nii.gz\n"
        "\"P,2\",,g.vcf.gz,S2,,0,\n"
        "P3,,,,,,\n");
    ck_assert_int_eq(mmdx_manifest_load(&m, path), 0);
    ck_assert_uint_eq(mmdx_manifest_count(m), 3);
    ck_assert_str_eq(mmdx_manifest_patient_id(m, 1), "P,2");
    ck_assert_int_eq(mmdx_manifest_line(m, 2), 4);
    ck_assert_int_eq(mmdx_manifest_label(m, 0), 1);
    ck_assert_int_eq(mmdx_manifest_label(m, 1), 0);
    ck_assert_int_eq(mmdx_manifest_label(m, 2), -1);
    ck_assert_str_eq(mmdx_manifest_get(m, 0, "mask"), "masks/p1.nii.gz");
    ck_assert_ptr_null(mmdx_manifest_get(m, 0, "index_date"));
    char *p = NULL;
    ck_assert_int_eq(mmdx_manifest_resolve(m, 0, "dicom", &p), 0);
    char want[4200];
    snprintf(want, sizeof want, "%s/img/p1", core_tmp);
    ck_assert_str_eq(p, want);
    free(p);
    ck_assert_int_eq(mmdx_manifest_resolve(m, 0, "vcf", &p), 0);
    ck_assert_str_eq(p, "/abs/g.vcf.gz");
    free(p);
    ck_assert_int_eq(mmdx_manifest_resolve(m, 1, "dicom", &p), 0);
    ck_assert_ptr_null(p); /* empty cell: modality missing */
    mmdx_manifest_free(m);

    /* Columns in another order, no label column. */
    path = write_manifest("record,patient_id\nr.json,A\n");
    ck_assert_int_eq(mmdx_manifest_load(&m, path), 0);
    ck_assert_int_eq(mmdx_manifest_has_labels(m), 0);
    ck_assert_str_eq(mmdx_manifest_patient_id(m, 0), "A");
    mmdx_manifest_free(m);
}
END_TEST

START_TEST(malformed_manifests)
{
    expect_error("", MMDX_EFORMAT, "empty file");
    expect_error("id,dicom\nP1,x\n", MMDX_EFORMAT, "no patient_id column");
    expect_error("patient_id,dicom,dicom\nP1,x,y\n", MMDX_EFORMAT, "column \"dicom\" appears twice");
    expect_error("patient_id,di com\nP1,x\n", MMDX_EFORMAT, "invalid column name");
    expect_error("patient_id,dicom\nP1,x\nP2\n", MMDX_EFORMAT, "line 3: 1 fields, but the header has 2");
    expect_error("patient_id,dicom\nP1,x\n,y\n", MMDX_EFORMAT, "line 3: empty patient_id");
    expect_error("patient_id,dicom\nP1,x\nP2,y\nP1,z\n", MMDX_EFORMAT,
                 "line 4: duplicate patient_id (first on line 2)");
    expect_error("patient_id,label\nP1,yes\n", MMDX_EFORMAT, "line 2: label \"yes\" is not 0, 1 or empty");
    expect_error("patient_id,dicom\nP1,\"unterminated\n", MMDX_EFORMAT, "never closed");
    mmdx_manifest *m = NULL;
    ck_assert_int_eq(mmdx_manifest_load(&m, "/nonexistent/cohort.csv"), MMDX_ENOTFOUND);
}
END_TEST

/* One patient built in memory (the Orthanc worker's study): same checks, no file. */
START_TEST(manifest_from_row)
{
    const char *cols[] = {"patient_id", "dicom", "vcf", "vcf_sample"};
    const char *vals[] = {"P 7", "/data/s1/dicom", "rel/cohort.vcf.gz", "S7"};
    mmdx_manifest *m = NULL;
    ck_assert_int_eq(mmdx_manifest_from_row(&m, "/jobs/42/inputs", cols, vals, 4), 0);
    ck_assert_uint_eq(mmdx_manifest_count(m), 1);
    ck_assert_str_eq(mmdx_manifest_patient_id(m, 0), "P 7");
    ck_assert_str_eq(mmdx_manifest_get(m, 0, "vcf_sample"), "S7");
    ck_assert_int_eq(mmdx_manifest_line(m, 0), 2);
    ck_assert_int_eq(mmdx_manifest_has_labels(m), 0);
    char *path = NULL;
    ck_assert_int_eq(mmdx_manifest_resolve(m, 0, "vcf", &path), 0);
    ck_assert_str_eq(path, "/jobs/42/rel/cohort.vcf.gz");
    free(path);
    vals[1] = "changed after the call";
    ck_assert_str_eq(mmdx_manifest_get(m, 0, "dicom"), "/data/s1/dicom"); /* copied */
    mmdx_manifest_free(m);

    const char *no_id[] = {"dicom"}, *one[] = {"x"};
    ck_assert_int_eq(mmdx_manifest_from_row(&m, "study", no_id, one, 1), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "no patient_id column"));
    ck_assert_ptr_null(m);
    const char *twice[] = {"patient_id", "vcf", "vcf"}, *three[] = {"P", "a", "b"};
    ck_assert_int_eq(mmdx_manifest_from_row(&m, "study", twice, three, 3), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "study: line 1: column \"vcf\" appears twice"));
    const char *lab[] = {"patient_id", "label"}, *bad[] = {"P", "maybe"};
    ck_assert_int_eq(mmdx_manifest_from_row(&m, "study", lab, bad, 2), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "study: line 2: label"));
    const char *empty[] = {"", "a"};
    ck_assert_int_eq(mmdx_manifest_from_row(&m, "study", lab, empty, 2), MMDX_EFORMAT);
}
END_TEST

TCase *manifest_tcase(void)
{
    TCase *tc = tcase_create("manifest");
    tcase_add_checked_fixture(tc, core_setup, core_teardown);
    tcase_add_test(tc, valid_manifest);
    tcase_add_test(tc, malformed_manifests);
    tcase_add_test(tc, manifest_from_row);
    return tc;
}
