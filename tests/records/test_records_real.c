/* SPDX-License-Identifier: Apache-2.0 — records: the real FHIR resources in ../shared/data/fhir. */
#include <check.h>
#include <dirent.h>
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

static mmdx_records *enc;     /* the test spec */
static mmdx_records *def_enc; /* the shipped default spec */
static const char *data;

static void setup(void)
{
    data = mmdx_test_data_or_skip();
    char spec[4096];
    snprintf(spec, sizeof spec, "%s/test_spec.json", records_fixture_dir());
    ck_assert_msg(mmdx_records_new(&enc, spec) == 0, "%s", mmdx_last_error());
    ck_assert_msg(mmdx_records_new(&def_enc, NULL) == 0, "%s", mmdx_last_error());
}

static void teardown(void)
{
    mmdx_records_free(enc);
    mmdx_records_free(def_enc);
}

static int encode(mmdx_records *r, const char *rel, const char *who, const char *index, double *v)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/fhir/%s", data, rel);
    mmdx_fhir_date idx;
    ck_assert_int_eq(mmdx_fhir_date_parse(&idx, index), 0);
    int32_t present = 0;
    int rc = mmdx_records_encode(r, path, who, &idx, v, &present, NULL);
    ck_assert_msg(rc == 0, "%s: %s", rel, mmdx_last_error());
    return present;
}

#define F(name) records_feature(enc, v, name)
#define D(name) records_feature(def_enc, v, name)

START_TEST(every_hl7_example_encodes)
{
    /* All 170-odd official R4 examples: each reads without error under the default spec. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/fhir/hl7_r4_examples", data);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    size_t n = 0, patients = 0;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 5, ".json") || strcmp(de->d_name, "package.json") == 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        mmdx_records_spec *spec;
        ck_assert_int_eq(mmdx_records_spec_default(&spec), 0);
        mmdx_records_store st;
        ck_assert_int_eq(mmdx_records_store_init(&st, spec), 0);
        int rc = mmdx_records_load(&st, path, 1);
        ck_assert_msg(rc == 0, "%s: %s", de->d_name, mmdx_last_error());
        ck_assert_uint_eq(st.stats.bad_date, 0);
        for (size_t i = 0; i < st.n_patients; i++)
            ck_assert_msg(!st.patients[i].error, "%s: %s", de->d_name, st.patients[i].error);
        patients += st.n_patients;
        mmdx_records_store_clear(&st);
        mmdx_records_spec_free(spec);
        n++;
    }
    closedir(d);
    ck_assert_uint_ge(n, 170);
    ck_assert_uint_ge(patients, 100);
}
END_TEST

START_TEST(hl7_examples_values)
{
    double v[512];
    /* Observation-f001: glucose 6.3 mmol/L, effectivePeriod.start 2013-04-02 */
    ck_assert(encode(enc, "hl7_r4_examples/Observation-f001.json", NULL, "2013-06-01", v));
    ck_assert_double_eq(F("lab.glucose.latest"), 6.3);
    ck_assert_double_eq(F("lab.glucose.count"), 1);
    ck_assert(isnan(F("age"))); /* no Patient resource in the file */
    ck_assert(encode(enc, "hl7_r4_examples/Observation-f001.json", NULL, "2013-04-01", v));
    ck_assert_double_eq(F("lab.glucose.count"), 0); /* index before the measurement */
    /* Observation-example: body weight 185 [lb_av] */
    ck_assert(encode(enc, "hl7_r4_examples/Observation-example.json", NULL, "2016-04-01", v));
    ck_assert_double_eq_tol(F("lab.weight.latest"), 83.91458845, 1e-9);
    /* Observation-body-height: 66.9 [in_i] */
    ck_assert(encode(enc, "hl7_r4_examples/Observation-body-height.json", NULL, "2000-01-01", v));
    ck_assert_double_eq_tol(F("lab.height.latest"), 169.926, 1e-9);
    /* Observation-blood-pressure: components 107/60 mm[Hg]; the cancelled copy is ignored */
    ck_assert(encode(enc, "hl7_r4_examples/Observation-blood-pressure.json", NULL, "2013-01-01", v));
    ck_assert_double_eq(F("lab.sbp.latest"), 107);
    ck_assert_double_eq(F("lab.dbp.latest"), 60);
    /* nothing but a cancelled Observation: no patient at all */
    ck_assert(!encode(enc, "hl7_r4_examples/Observation-blood-pressure-cancel.json", NULL, "2013-01-01", v));
    /* Observation-f005: haemoglobin 7.2 g/dl */
    ck_assert(encode(enc, "hl7_r4_examples/Observation-f005.json", NULL, "2014-01-01", v));
    ck_assert_double_eq(F("lab.hemoglobin.latest"), 7.2);
    /* Patient-example: male, born 1974-12-25 */
    ck_assert(encode(enc, "hl7_r4_examples/Patient-example.json", "example", "2024-12-25", v));
    ck_assert_double_eq(F("sex.male"), 1);
    ck_assert_double_eq_tol(F("age"),
                            (double)(mmdx_fhir_days_from_civil(2024, 12, 25) - mmdx_fhir_days_from_civil(1974, 12, 25)) /
                                365.2425,
                            1e-12);
    /* Condition-f202: malignant neoplastic disease (SNOMED 363346000), recorded 2012-12-01, resolved */
    ck_assert(encode(enc, "hl7_r4_examples/Condition-f202.json", NULL, "2013-01-01", v));
    ck_assert_double_eq(F("cond.cancer"), 1);
    ck_assert(encode(enc, "hl7_r4_examples/Condition-f202.json", NULL, "2012-11-30", v));
    ck_assert_double_eq(F("cond.cancer"), 0);
    /* Condition-f002: NSCLC, onset 2011-05-05 */
    ck_assert(encode(enc, "hl7_r4_examples/Condition-f002.json", NULL, "2011-05-05", v));
    ck_assert_double_eq(F("cond.cancer"), 1);
    /* MedicationStatement-example007: contained Medication, RxNorm 358793, undated */
    ck_assert(encode(enc, "hl7_r4_examples/MedicationStatement-example007.json", NULL, "2020-01-01", v));
    ck_assert_double_eq(F("med.mometasone"), 1);
    /* example004 amoxicillin 2014-01-23 (text match); example005 is entered-in-error */
    ck_assert(encode(enc, "hl7_r4_examples/MedicationStatement-example004.json", NULL, "2014-06-01", v));
    ck_assert_double_eq(F("med.amoxicillin"), 1);
    ck_assert(!encode(enc, "hl7_r4_examples/MedicationStatement-example005.json", NULL, "2014-06-01", v));
}
END_TEST

START_TEST(hl7_bundles_split_by_patient)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/fhir/hl7_r4_examples/Bundle-b248b1b2-1686-4b94-9936-37d7a5f94b51.json", data);
    const char **ids;
    size_t n;
    ck_assert_int_eq(mmdx_records_list_patients(enc, path, &ids, &n), 0);
    ck_assert_uint_eq(n, 12);
    free(ids);
    /* Bundle-lipids: four lipid Observations of Patient/pat2 without any date: counted, not used */
    snprintf(path, sizeof path, "%s/fhir/hl7_r4_examples/Bundle-lipids.json", data);
    mmdx_fhir_date idx;
    ck_assert_int_eq(mmdx_fhir_date_parse(&idx, "2020-01-01"), 0);
    double v[512];
    int32_t present;
    mmdx_records_stats st;
    ck_assert_int_eq(mmdx_records_encode(def_enc, path, "pat2", &idx, v, &present, &st), 0);
    ck_assert_int_eq(present, 1);
    ck_assert_uint_eq(st.undated, 4);
    ck_assert_double_eq(D("lab.cholesterol.count"), 0);
    /* Bundle-father: a document bundle whose references are absolute URLs */
    ck_assert(encode(def_enc, "hl7_r4_examples/Bundle-father.json", "d1", "2020-01-01", v));
}
END_TEST

START_TEST(synthea_bundles)
{
    double v[512];
    /* Pablo44: male, born 2015-10-20; vitals of 2020-03-07 (values read from the bundle) */
    const char *pablo = "synthea_covid19_juvenile_nimbus/Pablo44_Sporer811_ea2dd5fa-0e9e-4d5b-6384-13f67dc0c142.json";
    ck_assert(encode(def_enc, pablo, "ea2dd5fa-0e9e-4d5b-6384-13f67dc0c142", "2021-01-01", v));
    ck_assert_double_eq(D("sex.male"), 1);
    ck_assert_double_eq_tol(D("age"),
                            (double)(mmdx_fhir_days_from_civil(2021, 1, 1) - mmdx_fhir_days_from_civil(2015, 10, 20)) /
                                365.2425,
                            1e-12);
    ck_assert_double_eq(D("lab.sbp.latest"), 111);
    ck_assert_double_eq(D("lab.dbp.latest"), 87);
    ck_assert_double_eq(D("lab.weight.latest"), 16.1);
    /* the organisation/practitioner bundles hold no patient */
    char path[4096];
    snprintf(path, sizeof path, "%s/fhir/synthea_covid19_juvenile_nimbus/hospitalInformation1603148702656.json", data);
    mmdx_fhir_date idx = mmdx_fhir_today();
    int32_t present = 1;
    mmdx_records_stats st;
    ck_assert_int_eq(mmdx_records_encode(def_enc, path, "x", &idx, v, &present, &st), 0);
    ck_assert_int_eq(present, 0);
    ck_assert_uint_eq(st.skipped_type, 17);
    /* Synthea's output folder (per-patient bundles plus organisation bundles) read as one input */
    snprintf(path, sizeof path, "%s/fhir/synthea_covid19_juvenile_nimbus", data);
    const char **ids;
    size_t n;
    ck_assert_int_eq(mmdx_records_list_patients(def_enc, path, &ids, &n), 0);
    ck_assert_uint_eq(n, 3);
    free(ids);
    ck_assert_int_eq(mmdx_fhir_date_parse(&idx, "2021-01-01"), 0);
    ck_assert_int_eq(mmdx_records_encode(def_enc, path, "ea2dd5fa-0e9e-4d5b-6384-13f67dc0c142", &idx, v, &present, &st), 0);
    ck_assert_int_eq(present, 1);
    ck_assert_double_eq(D("lab.sbp.latest"), 111);
}
END_TEST

START_TEST(synthea_bulk_export)
{
    /* The Synthea bulk-data export (10-patient population, 13 Patient resources), read as a folder.
       Expected flags follow from the NDJSON content (SNOMED codes and RxNorm displays per patient). */
    char path[4096];
    snprintf(path, sizeof path, "%s/fhir/synthea_bulk_10_patients", data);
    ck_assert_int_eq(mmdx_records_index(def_enc, path), 0);
    const char **ids;
    size_t n;
    ck_assert_int_eq(mmdx_records_list_patients(def_enc, path, &ids, &n), 0);
    ck_assert_uint_eq(n, 13);
    free(ids);
    double v[512];
    mmdx_fhir_date idx;
    ck_assert_int_eq(mmdx_fhir_date_parse(&idx, "2020-01-01"), 0);
    int32_t present;
    mmdx_records_stats st;
    /* 79a66c97: type 2 diabetes (44054006), CKD stage 1-4, metformin/insulin/simvastatin/lisinopril */
    ck_assert_int_eq(mmdx_records_encode(def_enc, path, "79a66c97-6131-3213-f3c9-4606946ab056", &idx, v, &present, &st), 0);
    ck_assert_int_eq(present, 1);
    ck_assert_double_eq(D("sex.female"), 1);
    ck_assert_double_eq(D("deceased"), 1); /* deceasedDateTime 1994-11-11 */
    ck_assert_double_eq(D("cond.diabetes_t2"), 1);
    ck_assert_double_eq(D("cond.ckd"), 1);
    ck_assert_double_eq(D("cond.hypertension"), 1);
    ck_assert_double_eq(D("med.insulin"), 1);
    ck_assert_double_eq(D("med.oral_antidiabetic"), 1);
    /* AllergyIntolerance and Immunization files are not read: 13 + 555 + 1745 resources */
    ck_assert_uint_eq(st.skipped_files, 2);
    ck_assert_uint_eq(st.resources, 2313);
    ck_assert_uint_eq(st.skipped_type, 0);
    ck_assert_uint_eq(st.unresolved_reference, 0);
    /* 129c6ac7: non-small cell lung cancer (254637007, 424132000) before 1989 */
    ck_assert_int_eq(mmdx_records_encode(def_enc, path, "129c6ac7-8d06-89de-ad63-0204a93e76c3", &idx, v, &present, &st), 0);
    ck_assert_double_eq(D("cond.lung_cancer"), 1);
    ck_assert_double_eq(D("cond.diabetes_t2"), 0);
    /* 63ee2253: a boy born 2011-03-23, nothing flagged */
    ck_assert_int_eq(mmdx_records_encode(def_enc, path, "63ee2253-bdd5-da55-2ad2-b4984d0ad700", &idx, v, &present, &st), 0);
    ck_assert_double_eq(D("sex.male"), 1);
    ck_assert_double_eq(D("deceased"), 0);
    ck_assert_double_eq(D("cond.malignant_neoplasm"), 0);
    /* one NDJSON file of the export read alone: Conditions reference Patients that are not in it */
    snprintf(path, sizeof path, "%s/fhir/synthea_bulk_10_patients/Condition.000.ndjson", data);
    ck_assert_int_eq(mmdx_records_encode(def_enc, path, "79a66c97-6131-3213-f3c9-4606946ab056", &idx, v, &present, &st), 0);
    ck_assert_int_eq(present, 1);
    ck_assert_double_eq(D("cond.diabetes_t2"), 1);
    ck_assert(isnan(D("age")));
    ck_assert_uint_eq(st.resources, 555);
}
END_TEST

START_TEST(registry_csv_pbc)
{
    /* The Mayo PBC trial table (tabular/survival_pbc.csv) as a registry extract: one row per patient,
       labs in US units converted by the spec (tests/records/data/pbc_spec.json). */
    char spec[4096], path[4096];
    snprintf(spec, sizeof spec, "%s/pbc_spec.json", records_fixture_dir());
    snprintf(path, sizeof path, "%s/tabular/survival_pbc.csv", data);
    mmdx_records *pbc;
    ck_assert_msg(mmdx_records_new(&pbc, spec) == 0, "%s", mmdx_last_error());
    const char **ids;
    size_t n;
    ck_assert_int_eq(mmdx_records_list_patients(pbc, path, &ids, &n), 0);
    ck_assert_uint_eq(n, 418);
    free(ids);
    mmdx_fhir_date idx = mmdx_fhir_today();
    double v[64];
    int32_t present;
    /* row 1: 1,400,2,1,58.7652292950034,"f",1,1,1,1,14.5,261,2.6,156,1718,137.95,172,190,12.2,4 */
    ck_assert_int_eq(mmdx_records_encode(pbc, path, "1", &idx, v, &present, NULL), 0);
    ck_assert_int_eq(present, 1);
    ck_assert_double_eq(records_feature(pbc, v, "age"), 58.7652292950034);
    ck_assert_double_eq(records_feature(pbc, v, "sex.female"), 1);
    ck_assert_double_eq_tol(records_feature(pbc, v, "lab.bilirubin.latest"), 14.5 * 0.01 / 584.66 * 1e6, 1e-9);
    ck_assert_double_eq_tol(records_feature(pbc, v, "lab.bilirubin.latest"), 14.5 * 17.1, 0.1); /* the clinical factor */
    ck_assert_double_eq_tol(records_feature(pbc, v, "lab.cholesterol.latest"), 261 / 38.665, 1e-9);
    ck_assert_double_eq_tol(records_feature(pbc, v, "lab.albumin.latest"), 26.0, 1e-12);
    ck_assert_double_eq_tol(records_feature(pbc, v, "lab.triglycerides.latest"), 172 / 88.57, 1e-9);
    ck_assert_double_eq(records_feature(pbc, v, "lab.platelets.latest"), 190);
    ck_assert_double_eq(records_feature(pbc, v, "cond.ascites"), 1);
    ck_assert_double_eq(records_feature(pbc, v, "cond.hepatomegaly"), 1);
    /* row 3: male */
    ck_assert_int_eq(mmdx_records_encode(pbc, path, "3", &idx, v, &present, NULL), 0);
    ck_assert_double_eq(records_feature(pbc, v, "sex.male"), 1);
    /* row 418: 418,...,52.9993155373032,"f",,,,,0.7,,3.29,,,,,350,,  -> the empty cells stay missing */
    ck_assert_int_eq(mmdx_records_encode(pbc, path, "418", &idx, v, &present, NULL), 0);
    ck_assert_int_eq(present, 1);
    ck_assert(isnan(records_feature(pbc, v, "lab.cholesterol.latest")));
    ck_assert(isnan(records_feature(pbc, v, "cond.ascites")));
    ck_assert_double_eq(records_feature(pbc, v, "lab.platelets.latest"), 350);
    mmdx_records_free(pbc);
}
END_TEST

int main(void)
{
    mmdx_test_data_or_skip(); /* exit 77 without ../shared/data (1 under CI=true) */
    Suite *s = suite_create("records_real");
    TCase *tc = tcase_create("real");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_hl7_example_encodes);
    tcase_add_test(tc, hl7_examples_values);
    tcase_add_test(tc, hl7_bundles_split_by_patient);
    tcase_add_test(tc, synthea_bundles);
    tcase_add_test(tc, synthea_bulk_export);
    tcase_add_test(tc, registry_csv_pbc);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return mmdx_test_run_suite(s);
}
