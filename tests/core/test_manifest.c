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

TCase *manifest_tcase(void)
{
    TCase *tc = tcase_create("manifest");
    tcase_add_checked_fixture(tc, core_setup, core_teardown);
    tcase_add_test(tc, valid_manifest);
    tcase_add_test(tc, malformed_manifests);
    return tc;
}
