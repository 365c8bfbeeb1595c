/* SPDX-License-Identifier: Apache-2.0 — records: generated FHIR bundles and NDJSON, bad input. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fhir_date.h"
#include "load.h"
#include "records.h"
#include "records_suites.h"
#include "testsupport.h"

static mmdx_records *enc;
static char *tmp;

static void setup(void)
{
    char spec[4096];
    snprintf(spec, sizeof spec, "%s/test_spec.json", records_fixture_dir());
    ck_assert_msg(mmdx_records_new(&enc, spec) == 0, "%s", mmdx_last_error());
    tmp = mmdx_test_tmpdir();
}

static void teardown(void)
{
    mmdx_records_free(enc);
    mmdx_test_rmtree(tmp);
    free(tmp);
}

static mmdx_fhir_date day(const char *s)
{
    mmdx_fhir_date d;
    ck_assert_int_eq(mmdx_fhir_date_parse(&d, s), 0);
    return d;
}

static double t_of(const char *s) { return (double)day(s).start; }

#define F(name) records_feature(enc, v, name)
#define MGDL_GLUCOSE(x) ((x) / 18.0156)

/* Expected values of patient p1 of generated_bundle.json at index 2020-06-15, derived by hand. */
static void check_p1(const double *v, const mmdx_records_stats *st)
{
    /* age: middle of the birth day to middle of the index day */
    double age = (double)(mmdx_fhir_days_from_civil(2020, 6, 15) - mmdx_fhir_days_from_civil(1970, 6, 15)) /
                 365.2425;
    ck_assert_double_eq_tol(F("age"), age, 1e-12);
    ck_assert_double_eq(F("sex.female"), 1);
    ck_assert_double_eq(F("sex.male"), 0);
    ck_assert_double_eq(F("deceased"), 0);

    /* glucose: o1, o2, o3, o7 in the 730-day window; o4 entered-in-error, o5 too old,
       o6 after the index day (01:30Z next day), o8 in "mg" (not convertible) */
    double g[4] = {MGDL_GLUCOSE(100), 6.0, MGDL_GLUCOSE(126), MGDL_GLUCOSE(108)};
    double t[4] = {t_of("2019-01-01"), t_of("2019-07-01T06:00:00Z"), t_of("2020-01-01"),
                   t_of("2020-06-15T22:00:00Z")};
    ck_assert_double_eq(F("lab.glucose.count"), 4);
    ck_assert_double_eq_tol(F("lab.glucose.latest"), g[3], 1e-12);
    ck_assert_double_eq_tol(F("lab.glucose.min"), g[0], 1e-12);
    ck_assert_double_eq_tol(F("lab.glucose.max"), g[2], 1e-12);
    ck_assert_double_eq_tol(F("lab.glucose.mean"), (g[0] + g[1] + g[2] + g[3]) / 4, 1e-12);
    /* least-squares slope per year, centred two-pass form */
    double mt = 0, mg = 0, sxy = 0, sxx = 0;
    for (int i = 0; i < 4; i++) {
        mt += t[i] / 4;
        mg += g[i] / 4;
    }
    for (int i = 0; i < 4; i++) {
        sxy += (t[i] - mt) * (g[i] - mg);
        sxx += (t[i] - mt) * (t[i] - mt);
    }
    ck_assert_double_eq_tol(F("lab.glucose.slope"), sxy / sxx * 31556952.0, 1e-9);

    /* HbA1c 53 mmol/mol (IFCC) -> 7.00044 %, and 6.5 % dated "2019" */
    ck_assert_double_eq_tol(F("lab.hba1c.latest"), 7.00044, 1e-12);
    ck_assert_double_eq_tol(F("lab.hba1c.mean"), (7.00044 + 6.5) / 2, 1e-12);
    ck_assert_double_eq(F("lab.hba1c.count"), 2);
    /* blood pressure: panel components, plus a systolic value in kPa */
    ck_assert_double_eq(F("lab.sbp.latest"), 140);
    ck_assert_double_eq(F("lab.sbp.max"), 140);
    ck_assert_double_eq_tol(F("lab.sbp.mean"), (140 + 15000 / 133.322387415) / 2, 1e-9);
    ck_assert_double_eq(F("lab.sbp.count"), 2);
    ck_assert_double_eq(F("lab.dbp.latest"), 90);
    /* weight from 2001 (window 0 = all history), pounds to kg */
    ck_assert_double_eq_tol(F("lab.weight.latest"), 185 * 0.45359237, 1e-12);
    ck_assert(isnan(F("lab.height.latest")));

    ck_assert_double_eq(F("cond.diabetes_t2"), 1);  /* E11.9, onset 2015-03 */
    ck_assert_double_eq(F("cond.hypertension"), 0); /* refuted */
    ck_assert_double_eq(F("cond.chd"), 1);          /* I25.10, resolved: history counts */
    ck_assert_double_eq(F("cond.chd_active"), 0);   /* ... but not as active */
    ck_assert_double_eq(F("cond.cancer"), 0);       /* onset after the index date */
    ck_assert_double_eq(F("cond.breast_cancer"), 0);
    ck_assert_double_eq(F("med.statin"), 1);           /* via a Medication reference */
    ck_assert_double_eq(F("med.metformin"), 1);        /* contained, open period since 2015 */
    ck_assert_double_eq(F("med.antihypertensive"), 0); /* 2018: outside the 365-day window */
    ck_assert_double_eq(F("med.mometasone"), 0);

    ck_assert_uint_eq(st->unit_unconvertible, 1);   /* o8 */
    ck_assert_uint_eq(st->ignored_status, 2);       /* o4, c2 */
    ck_assert_uint_eq(st->skipped_type, 1);         /* the Encounter */
    ck_assert_uint_eq(st->unresolved_reference, 2); /* Medication/not-in-bundle, Patient/ghost */
    ck_assert_uint_eq(st->bad_date, 0);
}

static void check_p2(const double *v, const char *index)
{
    mmdx_fhir_date idx = day(index);
    double birth_mid = (double)(mmdx_fhir_days_from_civil(1950, 1, 1) + mmdx_fhir_days_from_civil(1951, 1, 1)) / 2;
    double idx_mid = (double)idx.start / 86400 + 0.5;
    ck_assert_double_eq_tol(F("age"), (idx_mid - birth_mid) / 365.2425, 1e-9);
    ck_assert_double_eq(F("sex.male"), 1);
    ck_assert_double_eq(F("lab.glucose.count"), 1);
    ck_assert_double_eq(F("lab.glucose.latest"), 7.0);
    ck_assert(isnan(F("lab.glucose.slope"))); /* one value: no trend */
    ck_assert(isnan(F("lab.hba1c.latest")));
    ck_assert_double_eq(F("lab.hba1c.count"), 0);
    ck_assert_double_eq(F("cond.diabetes_t2"), 0);
}

static void encode_ok(const char *path, const char *who, const char *index, double *v, mmdx_records_stats *st)
{
    mmdx_fhir_date idx = day(index);
    int32_t present = -1;
    int rc = mmdx_records_encode(enc, path, who, &idx, v, &present, st);
    ck_assert_msg(rc == 0, "%s", mmdx_last_error());
    ck_assert_int_eq(present, 1);
}

START_TEST(bundle_generated)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/generated_bundle.json", records_fixture_dir());
    double v[256];
    mmdx_records_stats st;
    encode_ok(path, "p1", "2020-06-15", v, &st);
    check_p1(v, &st);
    encode_ok(path, "MRN-0001", "2020-06-15", v, &st); /* by identifier */
    check_p1(v, &st);
    encode_ok(path, "p2", "2020-06-15", v, &st);
    check_p2(v, "2020-06-15");
    ck_assert_double_eq(F("deceased"), 0); /* died 2021-03-04 */
    encode_ok(path, "p2", "2021-06-01", v, &st);
    ck_assert_double_eq(F("deceased"), 1);
    ck_assert_double_eq(F("lab.glucose.count"), 1);

    /* a multi-patient file without the requested patient: not present */
    mmdx_fhir_date idx = day("2020-06-15");
    int32_t present = 1;
    ck_assert_int_eq(mmdx_records_encode(enc, path, "nobody", &idx, v, &present, NULL), 0);
    ck_assert_int_eq(present, 0);
}
END_TEST

START_TEST(ndjson_matches_bundle)
{
    char path[4096], bundle[4096];
    snprintf(path, sizeof path, "%s/generated.ndjson", records_fixture_dir());
    snprintf(bundle, sizeof bundle, "%s/generated_bundle.json", records_fixture_dir());
    double v[256], w[256];
    mmdx_records_stats st, st2;
    encode_ok(path, "p1", "2020-06-15", v, &st);
    check_p1(v, &st);
    encode_ok(bundle, "p1", "2020-06-15", w, &st2);
    const char *const *names;
    size_t n = mmdx_records_features(enc, &names);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg((isnan(v[i]) && isnan(w[i])) || v[i] == w[i], "%s: %g vs %g", names[i], v[i], w[i]);

    /* indexed once (lines parsed on two threads, read in order), then encoded per patient */
    mmdx_records_set_threads(enc, 2);
    ck_assert_int_eq(mmdx_records_index(enc, path), 0);
    encode_ok(path, "p1", "2020-06-15", v, &st);
    check_p1(v, &st);
    ck_assert(mmdx_records_is_indexed(enc, path));
    encode_ok(path, "p2", "2020-06-15", v, &st);
    check_p2(v, "2020-06-15");
    const char **ids;
    size_t np;
    ck_assert_int_eq(mmdx_records_list_patients(enc, path, &ids, &np), 0);
    ck_assert_uint_eq(np, 2); /* p1, p2; not "ghost", only referenced */
    ck_assert_str_eq(ids[0], "p1");
    ck_assert_str_eq(ids[1], "p2");
    free(ids);

    /* gzip-compressed NDJSON in a bulk-export folder */
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/bulk' && gzip -c '%s' > '%s/bulk/Mixed.000.ndjson.gz'", tmp, path, tmp);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/bulk", tmp);
    encode_ok(cmd, "p1", "2020-06-15", v, &st);
    check_p1(v, &st);
}
END_TEST

START_TEST(ndjson_ranges_on_threads)
{
    /* A file cut into two byte ranges read on two threads, p1's resources in both ranges,
       gives exactly the sequential result; an error in the second range names the right line. */
    char src[4096], path[4096];
    snprintf(src, sizeof src, "%s/generated.ndjson", records_fixture_dir());
    size_t len;
    char *text = mmdx_test_read_file(src, &len);
    ck_assert_ptr_nonnull(text);
    char *cut = text;
    for (int k = 0; k < 14; k++)
        cut = strchr(cut, '\n') + 1;
    size_t head = (size_t)(cut - text);
    char *big = malloc(len + 20000);
    ck_assert_ptr_nonnull(big);
    memcpy(big, text, head);
    size_t n = head;
    for (int k = 0; k < 100; k++) { /* 100 blank lines of 99 spaces */
        memset(big + n, ' ', 99);
        big[n + 99] = '\n';
        n += 100;
    }
    memcpy(big + n, cut, len - head);
    n += len - head;
    big[n] = '\0';
    snprintf(path, sizeof path, "%s/ranges.ndjson", tmp);
    mmdx_test_write_file(path, big);

    mmdx_records_set_threads(enc, 2);
    ck_assert_int_eq(mmdx_records_index(enc, path), 0);
    double v[256];
    mmdx_records_stats st;
    encode_ok(path, "p1", "2020-06-15", v, &st);
    check_p1(v, &st);
    encode_ok(path, "p2", "2020-06-15", v, &st);
    check_p2(v, "2020-06-15");
    ck_assert_msg(strstr(st.first_warning, "ranges.ndjson:line 9: Observation for lab 'glucose': unit 'mg'"), "%s",
                  st.first_warning);

    /* the fourth line after the padding (14 + 100 + 4 = 118) is broken */
    char *third = strchr(strchr(strchr(big + head + 10000, '\n') + 1, '\n') + 1, '\n') + 1;
    third[1] = '#';
    snprintf(path, sizeof path, "%s/ranges_bad.ndjson", tmp);
    mmdx_test_write_file(path, big);
    ck_assert_int_eq(mmdx_records_index(enc, path), MMDX_EFORMAT);
    ck_assert_msg(strstr(mmdx_last_error(), "ranges_bad.ndjson: line 118, column 2"), "%s", mmdx_last_error());
    free(big);
    free(text);
}
END_TEST

static void expect_load_error(const char *name, const char *text, int code, const char *needle)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    if (text)
        mmdx_test_write_file(path, text);
    mmdx_fhir_date idx = day("2020-01-01");
    double v[256];
    int32_t present = 7;
    int rc = mmdx_records_encode(enc, path, "x", &idx, v, &present, NULL);
    ck_assert_msg(rc == code, "%s: rc %d (%s)", name, rc, mmdx_last_error());
    ck_assert_int_eq(present, 0);
    ck_assert_msg(strstr(mmdx_last_error(), needle), "'%s' lacks '%s'", mmdx_last_error(), needle);
    ck_assert_msg(strstr(mmdx_last_error(), name), "'%s' lacks the file name", mmdx_last_error());
}

START_TEST(bad_input)
{
    expect_load_error("broken.json",
                      "{\"resourceType\": \"Bundle\",\n \"entry\": [\n  {\"resource\": {\"resourceType\": \"Patient\" \"id\": \"x\"}}]}",
                      MMDX_EFORMAT, "line 3, column 43");
    expect_load_error("truncated.json", "{\"resourceType\": \"Patient\", \"id\": \"x\"", MMDX_EFORMAT,
                      "unexpected end of input");
    expect_load_error("two.json", "{\"resourceType\": \"Patient\"}\n{\"resourceType\": \"Patient\"}\n", MMDX_EFORMAT,
                      "line 2, column 1");
    expect_load_error("broken.ndjson",
                      "{\"resourceType\": \"Patient\", \"id\": \"x\"}\n\n{\"resourceType\": \"Observation\", }\n",
                      MMDX_EFORMAT, "line 3, column");
    expect_load_error("missing.json", NULL, MMDX_ENOTFOUND, "cannot open");
}
END_TEST

START_TEST(bad_date_is_confined_to_its_patient)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/dates.ndjson", tmp);
    mmdx_test_write_file(path,
                         "{\"resourceType\": \"Patient\", \"id\": \"a\", \"birthDate\": \"1960-01-01\"}\n"
                         "{\"resourceType\": \"Patient\", \"id\": \"b\", \"birthDate\": \"1961-02-03\"}\n"
                         "{\"resourceType\": \"Observation\", \"status\": \"final\", \"subject\": {\"reference\": "
                         "\"Patient/a\"}, \"code\": {\"coding\": [{\"system\": \"http://loinc.org\", \"code\": "
                         "\"2345-7\"}]}, \"effectiveDateTime\": \"2019-02-30\", \"valueQuantity\": {\"value\": 99, "
                         "\"unit\": \"mg/dL\"}}\n"
                         "{\"resourceType\": \"Condition\", \"subject\": {\"reference\": \"Patient/b\"}, \"code\": "
                         "{\"coding\": [{\"system\": \"http://snomed.info/sct\", \"code\": \"44054006\"}]}, "
                         "\"onsetDateTime\": \"2010-01-01\"}\n");
    mmdx_fhir_date idx = day("2020-01-01");
    double v[256];
    int32_t present;
    mmdx_records_stats st;
    ck_assert_int_eq(mmdx_records_index(enc, path), 0);
    int rc = mmdx_records_encode(enc, path, "a", &idx, v, &present, &st);
    ck_assert_int_eq(rc, MMDX_EFORMAT);
    ck_assert_msg(strstr(mmdx_last_error(), "dates.ndjson:line 3: Observation.effectiveDateTime: not a FHIR date"),
                  "%s", mmdx_last_error());
    ck_assert_msg(!strstr(mmdx_last_error(), "2019-02-30"), "%s", mmdx_last_error());
    ck_assert_uint_eq(st.bad_date, 1);
    ck_assert_int_eq(mmdx_records_encode(enc, path, "b", &idx, v, &present, &st), 0);
    ck_assert_int_eq(present, 1);
    ck_assert_double_eq(F("cond.diabetes_t2"), 1);

    /* a time without its timezone is not a FHIR dateTime */
    snprintf(path, sizeof path, "%s/tz.json", tmp);
    mmdx_test_write_file(path, "{\"resourceType\": \"Patient\", \"id\": \"c\", \"deceasedDateTime\": \"2019-01-01T10:00:00\"}");
    ck_assert_int_eq(mmdx_records_encode(enc, path, "c", &idx, v, &present, NULL), MMDX_EFORMAT);
    ck_assert_msg(strstr(mmdx_last_error(), "Patient.deceasedDateTime"), "%s", mmdx_last_error());
}
END_TEST

START_TEST(unexpected_types_and_references)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/odd.ndjson", tmp);
    mmdx_test_write_file(path, "{\"resourceType\": \"Patient\", \"id\": \"a\", \"gender\": \"other\"}\n"
                               "{\"resourceType\": \"Claim\", \"id\": \"c\"}\n"
                               "[1, 2, 3]\n"
                               "{\"no\": \"type\"}\n"
                               "{\"resourceType\": \"Observation\", \"subject\": {\"reference\": \"Group/g1\"}}\n"
                               "{\"resourceType\": \"Observation\", \"status\": \"final\", \"subject\": {\"reference\": "
                               "\"Patient/a\"}, \"code\": {\"coding\": [{\"system\": \"http://loinc.org\", \"code\": "
                               "\"2345-7\"}]}, \"effectiveDateTime\": \"2019-05-01\"}\n"
                               "{\"resourceType\": \"Observation\", \"status\": \"final\", \"subject\": {\"reference\": "
                               "\"Patient/a\"}, \"code\": {\"coding\": [{\"system\": \"http://loinc.org\", \"code\": "
                               "\"2345-7\"}]}, \"valueQuantity\": {\"value\": 5, \"unit\": \"mmol/L\"}}\n"
                               "{\"resourceType\": \"Observation\", \"status\": \"final\", \"subject\": {\"reference\": "
                               "\"Patient/zz\"}, \"code\": {\"coding\": [{\"system\": \"http://loinc.org\", \"code\": "
                               "\"2345-7\"}]}, \"effectiveDateTime\": \"2019-05-01\", \"valueQuantity\": {\"value\": 5, "
                               "\"unit\": \"mmol/L\"}}\n");
    mmdx_fhir_date idx = day("2020-01-01");
    double v[256];
    int32_t present;
    mmdx_records_stats st;
    ck_assert_int_eq(mmdx_records_encode(enc, path, "a", &idx, v, &present, &st), 0);
    ck_assert_int_eq(present, 1);
    ck_assert_uint_eq(st.skipped_type, 3); /* Claim, an array, an object without resourceType */
    ck_assert_uint_eq(st.no_subject, 1);   /* Group subject */
    ck_assert_uint_eq(st.no_value, 1);
    ck_assert_uint_eq(st.undated, 1);
    ck_assert_uint_eq(st.unresolved_reference, 1); /* Patient/zz */
    ck_assert_msg(strstr(st.first_warning, "odd.ndjson:line 2"), "%s", st.first_warning);
    ck_assert_double_eq(F("lab.glucose.count"), 0);
    ck_assert_double_eq(F("sex.female"), 0); /* gender other: neither */
    ck_assert_double_eq(F("sex.male"), 0);
    ck_assert(isnan(F("age")));
}
END_TEST

TCase *records_fhir_tcase(void)
{
    TCase *tc = tcase_create("fhir");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, bundle_generated);
    tcase_add_test(tc, ndjson_matches_bundle);
    tcase_add_test(tc, ndjson_ranges_on_threads);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, bad_date_is_confined_to_its_patient);
    tcase_add_test(tc, unexpected_types_and_references);
    return tc;
}
