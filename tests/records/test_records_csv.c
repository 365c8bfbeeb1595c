/* SPDX-License-Identifier: Apache-2.0 — records: wide CSV tables mapped by the spec. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fhir_date.h"
#include "records.h"
#include "records_suites.h"
#include "testsupport.h"

static mmdx_records *enc;
static char *tmp;
static char path[4096];

static void setup(void)
{
    char spec[4096];
    snprintf(spec, sizeof spec, "%s/test_spec.json", records_fixture_dir());
    ck_assert_msg(mmdx_records_new(&enc, spec) == 0, "%s", mmdx_last_error());
    tmp = mmdx_test_tmpdir();
    snprintf(path, sizeof path, "%s/registry.csv", tmp);
}

static void teardown(void)
{
    mmdx_records_free(enc);
    mmdx_test_rmtree(tmp);
    free(tmp);
}

#define F(name) records_feature(enc, v, name)

static int encode(const char *who, double *v, int32_t *present)
{
    mmdx_fhir_date idx;
    ck_assert_int_eq(mmdx_fhir_date_parse(&idx, "2020-06-15"), 0);
    return mmdx_records_encode(enc, path, who, &idx, v, present, NULL);
}

START_TEST(csv_rows_map_to_features)
{
    mmdx_test_write_file(path, "pid,dob,gender,glucose,a1c_ifcc,t2dm,on_statin,note\n"
                               "A,1960-05-01,2,126,53,yes,1,\"free, text\"\n"
                               "B,,1,NA,,NO,0,\n"
                               "C,1960-13-01,1,100,,,,\n"
                               "D,1970,9,abc,,,,\n"
                               "E,1980-01-01,x,,,,,\n");
    ck_assert_int_eq(mmdx_records_index(enc, path), 0);
    double v[256];
    int32_t present;
    ck_assert_int_eq(encode("A", v, &present), 0);
    ck_assert_int_eq(present, 1);
    ck_assert_double_eq_tol(F("age"),
                            (double)(mmdx_fhir_days_from_civil(2020, 6, 15) - mmdx_fhir_days_from_civil(1960, 5, 1)) /
                                365.2425,
                            1e-12);
    ck_assert_double_eq(F("sex.female"), 1);
    ck_assert_double_eq(F("sex.male"), 0);
    ck_assert_double_eq_tol(F("lab.glucose.latest"), 126 / 18.0156, 1e-12); /* mg/dL -> mmol/L */
    ck_assert_double_eq_tol(F("lab.hba1c.latest"), 7.00044, 1e-12);         /* IFCC -> NGSP */
    ck_assert_double_eq(F("cond.diabetes_t2"), 1);
    ck_assert_double_eq(F("med.statin"), 1);
    /* a CSV row states only what its columns hold */
    ck_assert(isnan(F("lab.glucose.count")));
    ck_assert(isnan(F("cond.chd")));
    ck_assert(isnan(F("deceased")));

    ck_assert_int_eq(encode("B", v, &present), 0);
    ck_assert_double_eq(F("sex.male"), 1);
    ck_assert(isnan(F("age")));
    ck_assert(isnan(F("lab.glucose.latest")));
    ck_assert_double_eq(F("cond.diabetes_t2"), 0); /* "NO": the value map ignores case */
    ck_assert_double_eq(F("med.statin"), 0);

    ck_assert_int_eq(encode("C", v, &present), MMDX_EFORMAT);
    ck_assert_msg(strstr(mmdx_last_error(), "registry.csv:4: column 'dob': not a FHIR date"), "%s",
                  mmdx_last_error());
    ck_assert_int_eq(encode("D", v, &present), MMDX_EFORMAT);
    ck_assert_msg(strstr(mmdx_last_error(), "registry.csv:5: column 'glucose': not a number"), "%s",
                  mmdx_last_error());
    ck_assert_int_eq(encode("E", v, &present), MMDX_EFORMAT);
    ck_assert_msg(strstr(mmdx_last_error(), "column 'gender': not a sex"), "%s", mmdx_last_error());
    ck_assert_int_eq(encode("Z", v, &present), 0);
    ck_assert_int_eq(present, 0);
}
END_TEST

START_TEST(csv_table_errors)
{
    double v[256];
    int32_t present;
    mmdx_test_write_file(path, "pid,glucose\nA,100\nA,110\n");
    ck_assert_int_eq(encode("A", v, &present), MMDX_EFORMAT);
    ck_assert_msg(strstr(mmdx_last_error(), "registry.csv:3: patient id appears twice (first at"), "%s",
                  mmdx_last_error());
    mmdx_test_write_file(path, "id,glucose\nA,100\n");
    ck_assert_int_eq(encode("A", v, &present), MMDX_EFORMAT);
    ck_assert_msg(strstr(mmdx_last_error(), "no id column 'pid'"), "%s", mmdx_last_error());
    mmdx_test_write_file(path, "pid,weight\nA,100\n");
    ck_assert_int_eq(encode("A", v, &present), MMDX_EFORMAT);
    ck_assert_msg(strstr(mmdx_last_error(), "none of the columns the spec maps"), "%s", mmdx_last_error());
    mmdx_test_write_file(path, "pid,glucose\nA,100,7\n");
    ck_assert_int_eq(encode("A", v, &present), MMDX_EFORMAT);
    ck_assert_msg(strstr(mmdx_last_error(), "registry.csv:2: 3 fields where the header has 2"), "%s",
                  mmdx_last_error());
    /* the default spec maps its own documented columns */
    mmdx_records *def;
    ck_assert_int_eq(mmdx_records_new(&def, NULL), 0);
    mmdx_test_write_file(path, "patient_id,sex,birth_date,glucose_mg_dl,creatinine_mg_dl,statin\nP,F,1950-01-01,90,1.0,yes\n");
    mmdx_fhir_date idx;
    ck_assert_int_eq(mmdx_fhir_date_parse(&idx, "2020-01-01"), 0);
    ck_assert_int_eq(mmdx_records_encode(def, path, "P", &idx, v, &present, NULL), 0);
    ck_assert_int_eq(present, 1);
    ck_assert_double_eq_tol(records_feature(def, v, "lab.creatinine.latest"), 88.4016973125, 1e-9);
    ck_assert_double_eq_tol(records_feature(def, v, "lab.glucose.latest"), 90 / 18.0156, 1e-12);
    ck_assert_double_eq(records_feature(def, v, "sex.female"), 1);
    ck_assert_double_eq(records_feature(def, v, "med.statin"), 1);
    mmdx_records_free(def);
}
END_TEST

TCase *records_csv_tcase(void)
{
    TCase *tc = tcase_create("csv");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, csv_rows_map_to_features);
    tcase_add_test(tc, csv_table_errors);
    return tc;
}
