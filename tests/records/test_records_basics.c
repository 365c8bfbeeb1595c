/* SPDX-License-Identifier: Apache-2.0 — records: FHIR dates, unit conversion, feature specs. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fhir_date.h"
#include "records_suites.h"
#include "spec.h"
#include "testsupport.h"
#include "units.h"

#define DAY 86400LL

START_TEST(dates_every_precision)
{
    mmdx_fhir_date d;
    ck_assert_int_eq(mmdx_fhir_date_parse(&d, "1970"), 0);
    ck_assert_int_eq(d.precision, MMDX_FHIR_YEAR);
    ck_assert_int_eq(d.start, 0);
    ck_assert_int_eq(d.end, 365 * DAY);

    ck_assert_int_eq(mmdx_fhir_date_parse(&d, "2000-02"), 0); /* leap February */
    ck_assert_int_eq(d.precision, MMDX_FHIR_MONTH);
    ck_assert_int_eq(d.start, 949363200LL); /* 2000-02-01T00:00:00Z */
    ck_assert_int_eq(d.end - d.start, 29 * DAY);

    ck_assert_int_eq(mmdx_fhir_date_parse(&d, "2019-12"), 0);
    ck_assert_int_eq(d.end, 1577836800LL); /* 2020-01-01 */

    ck_assert_int_eq(mmdx_fhir_date_parse(&d, "2024-02-29"), 0);
    ck_assert_int_eq(d.precision, MMDX_FHIR_DAY);
    ck_assert_int_eq(d.start, 1709164800LL);
    ck_assert_int_eq(d.end - d.start, DAY);

    /* dateTime with offsets: the same instant written three ways */
    ck_assert_int_eq(mmdx_fhir_date_parse(&d, "2019-07-01T08:00:00+02:00"), 0);
    ck_assert_int_eq(d.precision, MMDX_FHIR_SECOND);
    ck_assert_int_eq(d.start, 1561960800LL);
    ck_assert_int_eq(mmdx_fhir_date_parse(&d, "2019-07-01T06:00:00Z"), 0);
    ck_assert_int_eq(d.start, 1561960800LL);
    ck_assert_int_eq(mmdx_fhir_date_parse(&d, "2019-06-30T20:30:00.123456-09:30"), 0);
    ck_assert_int_eq(d.start, 1561960800LL);
    ck_assert_int_eq(mmdx_fhir_date_parse(&d, "2016-12-31T23:59:60Z"), 0); /* leap second */
    ck_assert_int_eq(d.start, 1483228799LL);
    ck_assert_int_eq(mmdx_fhir_date_parse(&d, "0001-01-01"), 0);
    ck_assert_int_eq(d.start, -62135596800LL);
}
END_TEST

START_TEST(dates_rejected)
{
    static const char *const bad[] = {
        "",         "19",           "2019-1",         "2019-13",         "2019-00",        "2019-02-29",
        "2019-04-31", "2019-01-01T10:00:00", "2019-01-01T10:00Z", "2019-01-01T24:00:00Z",
        "2019-01-01 10:00:00Z", "2019-01-01T10:00:00+15:00", "2019-01-01T10:00:00.Z", "0000",
        "2019-01-01T10:00:00+01", "2019/01/01", "20190101", "2019-01-01x", "abcd",
    };
    mmdx_fhir_date d = {7, 8, 9};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(mmdx_fhir_date_parse(&d, bad[i]) == MMDX_EFORMAT, "accepted '%s'", bad[i]);
        ck_assert_int_eq(d.start, 7); /* untouched */
    }
    ck_assert_int_eq(mmdx_fhir_date_parse(&d, NULL), MMDX_EFORMAT);
}
END_TEST

START_TEST(dates_civil_round_trip)
{
    char buf[16];
    for (int64_t day = -800000; day < 800000; day += 997) {
        mmdx_fhir_format_day(buf, sizeof buf, day * DAY + 4000);
        mmdx_fhir_date d;
        if (day * DAY < -62135596800LL)
            continue; /* before year 1: not a FHIR date */
        ck_assert_msg(mmdx_fhir_date_parse(&d, buf) == 0, "%s", buf);
        ck_assert_int_eq(d.start, day * DAY);
    }
    mmdx_fhir_format_day(buf, sizeof buf, 1709164800LL);
    ck_assert_str_eq(buf, "2024-02-29");
}
END_TEST

static double conv(double v, const char *from, const char *to, double molar, int hba1c)
{
    mmdx_unit_rule rule = {molar, hba1c};
    double out = NAN;
    ck_assert_msg(mmdx_unit_convert(&out, v, from, to, &rule) == 0, "%s -> %s", from, to);
    return out;
}

START_TEST(units_documented_conversions)
{
    /* Glucose: 1 mmol/L = 18.0156 mg/dL (molar mass 180.156 g/mol). */
    ck_assert_double_eq_tol(conv(100, "mg/dL", "mmol/L", 180.156, 0), 100 / 18.0156, 1e-9);
    ck_assert_double_eq_tol(conv(5.5, "mmol/L", "mg/dL", 180.156, 0), 5.5 * 18.0156, 1e-9);
    ck_assert_double_eq_tol(conv(100, "mg/dl", "mmol/l", 180.156, 0), 5.5507449100, 1e-9); /* case */
    /* Creatinine: 1 mg/dL = 88.40 umol/L (113.12 g/mol). */
    ck_assert_double_eq_tol(conv(1.0, "mg/dL", "umol/L", 113.12, 0), 88.4016973125, 1e-9);
    ck_assert_double_eq_tol(conv(88.4, "umol/L", "mg/dL", 113.12, 0), 0.999980800, 1e-8);
    /* Cholesterol: 1 mmol/L = 38.665 mg/dL (386.65 g/mol). */
    ck_assert_double_eq_tol(conv(200, "mg/dL", "mmol/L", 386.65, 0), 200 / 38.665, 1e-9);
    /* HbA1c NGSP/IFCC master equation: NGSP = 0.09148 IFCC + 2.152. */
    ck_assert_double_eq_tol(conv(53, "mmol/mol", "%", 0, 1), 7.00044, 1e-9);
    ck_assert_double_eq_tol(conv(6.5, "%", "mmol/mol", 0, 1), (6.5 - 2.152) / 0.09148, 1e-9);
    ck_assert_double_eq_tol(conv(48, "mmol/mol", "%", 0, 1), 6.54304, 1e-9);
    /* Within a dimension */
    ck_assert_double_eq_tol(conv(185, "[lb_av]", "kg", 0, 0), 83.91458845, 1e-9);
    ck_assert_double_eq_tol(conv(66.9, "[in_i]", "cm", 0, 0), 169.926, 1e-9);
    ck_assert_double_eq_tol(conv(98.6, "[degF]", "Cel", 0, 0), 37.0, 1e-9);
    ck_assert_double_eq_tol(conv(37, "Cel", "[degF]", 0, 0), 98.6, 1e-9);
    ck_assert_double_eq_tol(conv(15, "kPa", "mm[Hg]", 0, 0), 15000 / 133.322387415, 1e-9);
    ck_assert_double_eq_tol(conv(7.2, "g/dL", "g/L", 0, 0), 72.0, 1e-12);
    ck_assert_double_eq_tol(conv(250, "10*3/uL", "10*9/L", 0, 0), 250.0, 1e-12);
    ck_assert_double_eq_tol(conv(4.12, "10*12/L", "10*9/L", 0, 0), 4120.0, 1e-9);
    ck_assert_double_eq_tol(conv(44, "beats/minute", "/min", 0, 0), 44.0, 1e-12);
    /* Outside the table: only the identical unit */
    ck_assert_double_eq(conv(3.3, "mL/min/{1.73_m2}", "mL/min/{1.73_m2}", 0, 0), 3.3);
    ck_assert_double_eq(conv(3.3, "{score}", "{score}", 0, 0), 3.3);
}
END_TEST

START_TEST(units_refused)
{
    double out = 42;
    mmdx_unit_rule none = {0, 0}, glucose = {180.156, 0};
    /* mass <-> substance needs a molar mass */
    ck_assert_int_eq(mmdx_unit_convert(&out, 100, "mg/dL", "mmol/L", &none), MMDX_EUNSUPPORTED);
    ck_assert_int_eq(mmdx_unit_convert(&out, 100, "mg/dL", "mmol/L", NULL), MMDX_EUNSUPPORTED);
    /* % and mmol/mol are both fractions, but only HbA1c's equation relates them */
    ck_assert_int_eq(mmdx_unit_convert(&out, 7, "%", "mmol/mol", &glucose), MMDX_EUNSUPPORTED);
    ck_assert_int_eq(mmdx_unit_convert(&out, 95, "mg", "mmol/L", &glucose), MMDX_EUNSUPPORTED);
    ck_assert_int_eq(mmdx_unit_convert(&out, 1, "kg", "cm", &none), MMDX_EUNSUPPORTED);
    ck_assert_int_eq(mmdx_unit_convert(&out, 1, "furlong", "m", &none), MMDX_EUNSUPPORTED);
    ck_assert_int_eq(mmdx_unit_convert(&out, NAN, "kg", "g", &none), MMDX_EUNSUPPORTED);
    ck_assert_double_eq(out, 42);
    ck_assert(mmdx_unit_table_size() > 40);
}
END_TEST

START_TEST(spec_default_parses)
{
    mmdx_records_spec *s;
    ck_assert_int_eq(mmdx_records_spec_default(&s), 0);
    ck_assert_str_eq(s->features[0], "age");
    ck_assert_str_eq(s->features[1], "sex.female");
    ck_assert_str_eq(s->features[2], "sex.male");
    int has_glucose_slope = 0, has_statin = 0, has_chd = 0;
    for (size_t i = 0; i < s->n_features; i++) {
        has_glucose_slope |= strcmp(s->features[i], "lab.glucose.slope") == 0;
        has_statin |= strcmp(s->features[i], "med.statin") == 0;
        has_chd |= strcmp(s->features[i], "cond.coronary_heart_disease") == 0;
        for (const char *c = s->features[i]; *c; c++)
            ck_assert(strchr("abcdefghijklmnopqrstuvwxyz0123456789_.-", *c));
    }
    ck_assert(has_glucose_slope && has_statin && has_chd);
    ck_assert(s->n_labs >= 15 && s->n_conditions >= 15 && s->n_medications >= 6);
    /* every lab unit of the default spec is in the conversion table */
    for (size_t i = 0; i < s->n_labs; i++)
        ck_assert_msg(mmdx_unit_known(s->labs[i].unit), "%s", s->labs[i].unit);
    mmdx_records_spec_free(s);

    /* the installed copy is the compiled-in text */
    char path[4096];
    snprintf(path, sizeof path, "%s/records/default_spec.json", mmdx_test_source_dir());
    size_t len;
    char *text = mmdx_test_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, mmdx_records_spec_default_text());
    free(text);
}
END_TEST

static void expect_spec_error(const char *json, const char *needle)
{
    mmdx_records_spec *s = (mmdx_records_spec *)1;
    int rc = mmdx_records_spec_parse(&s, json, strlen(json), "t.json");
    ck_assert_msg(rc < 0, "accepted: %s", json);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(mmdx_last_error(), needle), "message '%s' lacks '%s'", mmdx_last_error(), needle);
    ck_assert_msg(strstr(mmdx_last_error(), "t.json"), "message '%s' lacks the file", mmdx_last_error());
}

START_TEST(spec_errors_name_the_field)
{
    expect_spec_error("{\"mmdx_records_spec\": 1,\n \"labs\": [ {\"name\": \"x\" \"loinc\": []} ]}",
                      "line 2, column");
    expect_spec_error("{\"labs\": []}", "mmdx_records_spec");
    expect_spec_error("{\"mmdx_records_spec\": 2, \"labs\": []}", "version 2");
    expect_spec_error("{\"mmdx_records_spec\": 1, \"lab\": []}", "unknown key 'lab'");
    expect_spec_error("{\"mmdx_records_spec\": 1, \"labs\": [{\"name\": \"g\", \"loinc\": [\"1-1\"], \"unit\": \"mg/dL\","
                      " \"aggregations\": [\"mean\", \"meen\"]}]}",
                      "labs[0].aggregations[1]: unknown aggregation 'meen'");
    expect_spec_error("{\"mmdx_records_spec\": 1, \"labs\": [{\"name\": \"G\", \"loinc\": [\"1-1\"], \"unit\": \"mg/dL\"}]}",
                      "labs[0].name");
    expect_spec_error("{\"mmdx_records_spec\": 1, \"labs\": [{\"name\": \"g\", \"loinc\": [\"1-1\"]}]}", "missing 'unit'");
    expect_spec_error("{\"mmdx_records_spec\": 1, \"labs\": [{\"name\": \"g\", \"loinc\": [\"1-1\"], \"unit\": \"%\","
                      " \"window_days\": -3}]}",
                      "labs[0].window_days");
    expect_spec_error("{\"mmdx_records_spec\": 1, \"conditions\": [{\"name\": \"a\", \"icd10\": [\"E11\"]},"
                      " {\"name\": \"a\", \"icd10\": [\"E12\"]}]}",
                      "duplicate feature name 'records.cond.a'");
    expect_spec_error("{\"mmdx_records_spec\": 1, \"conditions\": [{\"name\": \"a\", \"icd10\": [\"E14-E11\"]}]}",
                      "conditions[0].icd10[0]");
    expect_spec_error("{\"mmdx_records_spec\": 1, \"conditions\": [{\"name\": \"a\"}]}", "no codes");
    expect_spec_error("{\"mmdx_records_spec\": 1, \"medications\": [{\"name\": \"a\", \"icd10\": [\"E11\"]}]}",
                      "medications[0]: unknown key 'icd10'");
    expect_spec_error("{\"mmdx_records_spec\": 1, \"labs\": [{\"name\": \"g\", \"loinc\": [\"1-1\"], \"unit\": \"mg/dL\"}],"
                      " \"csv\": {\"columns\": [{\"column\": \"x\", \"feature\": \"lab.g.slope\"}]}}",
                      "csv.columns[0].feature: 'lab.g.slope' is not a feature");
    expect_spec_error("{\"mmdx_records_spec\": 1, \"labs\": [{\"name\": \"g\", \"loinc\": [\"1-1\"], \"unit\": \"mg/dL\"}],"
                      " \"csv\": {\"columns\": [{\"column\": \"x\", \"feature\": \"lab.g.latest\", \"unit\": \"kg\"}]}}",
                      "csv.columns[0].unit: unit 'kg' cannot be converted");
    expect_spec_error("{\"mmdx_records_spec\": 1, \"labs\": [{\"name\": \"g\", \"loinc\": [\"1-1\", \"1-1\"], \"unit\": \"%\"}]}",
                      "listed twice");
    expect_spec_error("{\"mmdx_records_spec\": 1} trailing", "invalid JSON");
    expect_spec_error("{\"mmdx_records_spec\": 1, \"demographics\": {\"age\": false, \"sex\": false}}", "no features");
}
END_TEST

START_TEST(codes_match)
{
    const char *json = "{\"mmdx_records_spec\": 1, \"conditions\": ["
                       "{\"name\": \"dm\", \"icd10\": [\"E11\", \"o24.4\"]},"
                       "{\"name\": \"cancer\", \"icd10\": [\"C00-D49\"], \"snomed\": [\"363346000\"]}],"
                       "\"medications\": [{\"name\": \"statin\", \"atc\": [\"C10AA\"], \"text\": [\"Atorvastatin\"]}]}";
    mmdx_records_spec *s;
    ck_assert_int_eq(mmdx_records_spec_parse(&s, json, strlen(json), "t.json"), 0);
    const mmdx_records_codeset *dm = &s->conditions[0].codes, *ca = &s->conditions[1].codes,
                               *st = &s->medications[0].codes;
    int icd = mmdx_records_system_of("http://hl7.org/fhir/sid/icd-10-cm");
    ck_assert_int_eq(icd, MMDX_SYS_ICD10);
    ck_assert_int_eq(mmdx_records_system_of("urn:oid:2.16.840.1.113883.6.96"), MMDX_SYS_SNOMED);
    ck_assert(mmdx_records_codeset_match(dm, icd, "E11.9", NULL));
    ck_assert(mmdx_records_codeset_match(dm, icd, "e11", NULL));
    ck_assert(mmdx_records_codeset_match(dm, icd, "O24.41", NULL));
    ck_assert(!mmdx_records_codeset_match(dm, icd, "E10.9", NULL));
    ck_assert(!mmdx_records_codeset_match(dm, MMDX_SYS_SNOMED, "E11", NULL)); /* wrong system */
    ck_assert(mmdx_records_codeset_match(ca, icd, "C34.90", NULL));
    ck_assert(mmdx_records_codeset_match(ca, icd, "D49.9", NULL));
    ck_assert(mmdx_records_codeset_match(ca, icd, "C00", NULL));
    ck_assert(!mmdx_records_codeset_match(ca, icd, "D50.0", NULL));
    ck_assert(!mmdx_records_codeset_match(ca, icd, "B99", NULL));
    ck_assert(mmdx_records_codeset_match(ca, MMDX_SYS_SNOMED, "363346000", NULL));
    ck_assert(!mmdx_records_codeset_match(ca, MMDX_SYS_SNOMED, "3633460001", NULL));
    ck_assert(mmdx_records_codeset_match(st, MMDX_SYS_ATC, "C10AA05", NULL));
    ck_assert(!mmdx_records_codeset_match(st, MMDX_SYS_ATC, "C10AB05", NULL));
    ck_assert(mmdx_records_codeset_match(st, MMDX_SYS_OTHER, NULL, "ATORVASTATIN 20 MG Oral Tablet"));
    ck_assert(!mmdx_records_codeset_match(st, MMDX_SYS_OTHER, NULL, "simvastatin"));
    mmdx_records_spec_free(s);
}
END_TEST

START_TEST(hashed_matching_agrees)
{
    /* The hashed lookup the reader uses gives the reference matcher's answer for every flag. */
    mmdx_records_spec *s;
    ck_assert_int_eq(mmdx_records_spec_default(&s), 0);
    static const struct {
        int system;
        const char *code, *display;
    } codings[] = {
        {MMDX_SYS_ICD10, "E11.9", NULL},       {MMDX_SYS_ICD10, "e08", NULL},        {MMDX_SYS_ICD10, "E14.0", NULL},
        {MMDX_SYS_ICD10, "I13.2", NULL},       {MMDX_SYS_ICD10, "I16", NULL},        {MMDX_SYS_ICD10, "I17", NULL},
        {MMDX_SYS_ICD10, "C34.90", NULL},      {MMDX_SYS_ICD10, "C97", NULL},        {MMDX_SYS_ICD10, "D00", NULL},
        {MMDX_SYS_ICD10, "C50.911", NULL},     {MMDX_SYS_ICD10, "G45.9", NULL},      {MMDX_SYS_ICD10, "R73.03", NULL},
        {MMDX_SYS_SNOMED, "44054006", NULL},   {MMDX_SYS_SNOMED, "254637007", NULL}, {MMDX_SYS_SNOMED, "1", NULL},
        {MMDX_SYS_RXNORM, "314076", "lisinopril 10 MG Oral Tablet"},
        {MMDX_SYS_RXNORM, "999", "24 HR Metformin hydrochloride 500 MG"},
        {MMDX_SYS_ATC, "C10AA05", NULL},       {MMDX_SYS_ATC, "c09aa", NULL},        {MMDX_SYS_ATC, "L01XE", NULL},
        {MMDX_SYS_ATC, "B01AC06", "Aspirin"},  {MMDX_SYS_OTHER, NULL, "Insulin glargine"},
        {MMDX_SYS_OTHER, "E11", NULL},         {MMDX_SYS_SNOMED, NULL, NULL},
    };
    uint8_t hits[256];
    for (size_t k = 0; k < sizeof codings / sizeof codings[0]; k++) {
        for (int kind = 0; kind < 2; kind++) {
            const mmdx_records_flag *flags = kind ? s->medications : s->conditions;
            size_t n = kind ? s->n_medications : s->n_conditions;
            memset(hits, 0, sizeof hits);
            mmdx_records_match_coding(s, kind, codings[k].system, codings[k].code, codings[k].display, hits);
            for (size_t f = 0; f < n; f++)
                ck_assert_msg(hits[f] == mmdx_records_codeset_match(&flags[f].codes, codings[k].system,
                                                                    codings[k].code, codings[k].display),
                              "%s / %s: flag %s", codings[k].code ? codings[k].code : "-",
                              codings[k].display ? codings[k].display : "-", flags[f].name);
        }
    }
    memset(hits, 0, sizeof hits);
    mmdx_records_match_coding(s, 0, MMDX_SYS_ICD10, "E11.9", NULL, hits);
    int found = 0;
    for (size_t f = 0; f < s->n_conditions; f++)
        found += hits[f];
    ck_assert_int_eq(found, 2); /* diabetes_t2 and diabetes_any */
    mmdx_records_spec_free(s);
}
END_TEST

TCase *records_basics_tcase(void)
{
    TCase *tc = tcase_create("basics");
    tcase_add_test(tc, dates_every_precision);
    tcase_add_test(tc, dates_rejected);
    tcase_add_test(tc, dates_civil_round_trip);
    tcase_add_test(tc, units_documented_conversions);
    tcase_add_test(tc, units_refused);
    tcase_add_test(tc, spec_default_parses);
    tcase_add_test(tc, spec_errors_name_the_field);
    tcase_add_test(tc, codes_match);
    tcase_add_test(tc, hashed_matching_agrees);
    return tc;
}
