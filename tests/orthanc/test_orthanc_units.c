/*
 * Unit tests of the Orthanc plugin's parts that need no server: settings,
 * series selection rules, the plain-text rendering and the SR writer
 * (checked with DCMTK's dcmdump and dsrdump on real CT slices).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changes.h"
#include "error.h"
#include "selector.h"
#include "settings.h"
#include "sr_writer.h"
#include "testsupport.h"

/* ---------------------------------------------------------------- settings */

static int parse(const char *json, mmdx_orthanc_settings *s)
{
    return mmdx_orthanc_settings_parse(s, json, strlen(json));
}

START_TEST(settings_full)
{
    mmdx_orthanc_settings s;
    const char *json = "{\"Name\": \"PACS\", \"HttpPort\": 8142, \"Mmdx\": {\"Model\": \"m.mmdx\", \"Database\": \"dbname=x\","
                       " \"Threads\": 2, \"MaxAttempts\": 5, \"RetryDelay\": 7, \"Records\": \"fhir\","
                       " \"Genomics\": {\"Vcf\": \"c.vcf.gz\", \"SampleMap\": \"s.csv\"},"
                       " \"SeriesSelection\": [{\"Name\": \"CT\", \"Attributes\": {\"Modality\": \"^CT$\"}}],"
                       " \"SeriesNumber\": 77, \"InstitutionName\": \"General\","
                       " \"ReviewerDatabase\": \"dbname=x user=rev\", \"SimilarLabels\": \"labels.csv\"}}";
    ck_assert_int_eq(parse(json, &s), 0);
    ck_assert_str_eq(s.reviewer_database, "dbname=x user=rev");
    ck_assert_str_eq(s.similar_labels, "labels.csv");
    ck_assert_int_eq(s.enable, 1);
    ck_assert_str_eq(s.model, "m.mmdx");
    ck_assert_str_eq(s.database, "dbname=x");
    ck_assert_int_eq(s.threads, 2);
    ck_assert_int_eq(s.max_attempts, 5);
    ck_assert_int_eq(s.retry_delay, 7);
    ck_assert_str_eq(s.vcf, "c.vcf.gz");
    ck_assert_str_eq(s.sample_map, "s.csv");
    ck_assert_str_eq(s.records, "fhir");
    ck_assert_int_eq(s.series_number, 77);
    ck_assert_str_eq(s.institution, "General");
    ck_assert_int_eq(s.http_port, 8142);
    ck_assert_uint_eq(mmdx_series_rules_count(s.rules), 1);
    ck_assert_str_eq(mmdx_series_rules_name(s.rules, 0), "CT");
    mmdx_orthanc_settings_clear(&s);
}
END_TEST

START_TEST(settings_absent_or_disabled)
{
    mmdx_orthanc_settings s;
    ck_assert_int_eq(parse("{\"Name\": \"PACS\"}", &s), 0);
    ck_assert_int_eq(s.enable, 0);
    mmdx_orthanc_settings_clear(&s);
    /* disabled: Model and Database may be missing */
    ck_assert_int_eq(parse("{\"Mmdx\": {\"Enable\": false}}", &s), 0);
    ck_assert_int_eq(s.enable, 0);
    mmdx_orthanc_settings_clear(&s);
}
END_TEST

static void expect_error(const char *json, int code, const char *fragment)
{
    mmdx_orthanc_settings s;
    int rc = parse(json, &s);
    ck_assert_msg(rc == code, "expected %d, got %d (%s) for %s", code, rc, mmdx_last_error(), json);
    ck_assert_msg(strstr(mmdx_last_error(), fragment) != NULL, "message \"%s\" lacks \"%s\"", mmdx_last_error(),
                  fragment);
    mmdx_orthanc_settings_clear(&s);
}

START_TEST(settings_errors)
{
    expect_error("{\"Mmdx\": {\"Model\": \"m\", \"Database\": \"d\", \"Modle\": 1}}", MMDX_EINVAL, "Mmdx.Modle: unknown key");
    expect_error("{\"Mmdx\": {\"Database\": \"d\"}}", MMDX_EINVAL, "Mmdx.Model: missing");
    expect_error("{\"Mmdx\": {\"Model\": \"m\"}}", MMDX_EINVAL, "Mmdx.Database: missing");
    expect_error("{\"Mmdx\": {\"Model\": \"m\", \"Database\": \"d\", \"Threads\": 0}}", MMDX_EINVAL, "Mmdx.Threads");
    expect_error("{\"Mmdx\": {\"Model\": 3, \"Database\": \"d\"}}", MMDX_EINVAL, "Mmdx.Model: expected");
    expect_error("{\"Mmdx\": {\"Model\": \"m\", \"Database\": \"d\", \"ReviewerDatabase\": \"\"}}", MMDX_EINVAL,
                 "Mmdx.ReviewerDatabase: expected a non-empty string");
    expect_error("{\"Mmdx\": {\"Model\": \"m\", \"Database\": \"d\", \"Pseudonymise\": true}}", MMDX_EINVAL,
                 "needs SiteKey");
    expect_error("{\"Mmdx\": {\"Model\": \"m\", \"Database\": \"d\", \"Genomics\": {\"SampleMap\": \"s\"}}}",
                 MMDX_EINVAL, "SampleMap given without Vcf");
    expect_error("{\"Mmdx\": {\"Model\": \"m\", \"Database\": \"d\", \"SeriesSelection\": "
                 "[{\"Attributes\": {\"Modality\": \"^CT$\"}}, {\"Attributes\": {\"Modality\": \"(\"}}]}}",
                 MMDX_EINVAL, "Mmdx.SeriesSelection[1].Attributes.Modality: invalid regular expression");
    expect_error("{\"Mmdx\": {\"Model\": \"m\", \"Database\": \"d\", \"SeriesSelection\": "
                 "[{\"Attributes\": {\"Modality\": \"CT\"}, \"MinSlice\": 3}]}}",
                 MMDX_EINVAL, "Mmdx.SeriesSelection[0].MinSlice: unknown key");
    expect_error("{\"Mmdx\": {\"Model\": \"m\", \"Database\": \"d\", \"SeriesSelection\": "
                 "[{\"Attributes\": {\"modality\": \"CT\"}}]}}",
                 MMDX_EINVAL, "Attributes.modality: not a DICOM keyword");
    expect_error("{\"Mmdx\": {\"Model\": \"m\", \"Database\": \"d\", \"SeriesSelection\": "
                 "[{\"Attributes\": {\"Modality\": \"CT\"}, \"MinSlices\": 9, \"MaxSlices\": 3}]}}",
                 MMDX_EINVAL, "MinSlices 9 is larger than MaxSlices 3");
    expect_error("{\"Mmdx\": {\"Model\": \"m\", ", MMDX_EFORMAT, "invalid JSON");
}
END_TEST

/* ---------------------------------------------------------------- selector */

typedef struct fake_series {
    const char *keys[6];
    const char *values[6];
    size_t n;
} fake_series;

static mmdx_series_candidate cand(const char *id, size_t slices, const fake_series *f)
{
    mmdx_series_candidate c = {id, slices, f->n, f->keys, f->values};
    return c;
}

START_TEST(selector_rules)
{
    mmdx_series_rules *r = NULL;
    const char *rules =
        "[{\"Name\": \"chest CT\", \"IgnoreCase\": true,"
        "  \"Attributes\": {\"Modality\": \"^CT$\", \"ImageType\": \"^ORIGINAL\\\\\\\\PRIMARY\","
        "                  \"BodyPartExamined\": \"chest|thorax\"},"
        "  \"Exclude\": {\"SeriesDescription\": \"scout|localizer\"}, \"MinSlices\": 10},"
        " {\"Name\": \"any MR\", \"Attributes\": {\"Modality\": \"^MR$\"}}]";
    ck_assert_int_eq(mmdx_series_rules_compile(&r, rules, "SeriesSelection"), 0);
    fake_series scout = {{"Modality", "ImageType", "BodyPartExamined", "SeriesDescription"},
                         {"CT", "ORIGINAL\\PRIMARY\\LOCALIZER", "CHEST", "Scout 1"}, 4};
    fake_series thin = {{"Modality", "ImageType", "BodyPartExamined", "SeriesDescription", "SeriesNumber"},
                        {"CT", "ORIGINAL\\PRIMARY\\AXIAL", "Chest", "Lung 1mm", "4"}, 5};
    fake_series thick = {{"Modality", "ImageType", "BodyPartExamined", "SeriesDescription", "SeriesNumber"},
                         {"CT", "ORIGINAL\\PRIMARY\\AXIAL", "THORAX", "Lung 5mm", "3"}, 5};
    fake_series derived = {{"Modality", "ImageType", "BodyPartExamined"}, {"CT", "DERIVED\\SECONDARY", "CHEST"}, 3};
    fake_series mr = {{"Modality"}, {"MR"}, 1};
    fake_series sr = {{"Modality"}, {"SR"}, 1};
    fake_series nobody = {{"Modality", "ImageType"}, {"CT", "ORIGINAL\\PRIMARY"}, 2}; /* no BodyPartExamined */

    mmdx_series_candidate c[] = {cand("scout", 300, &scout), cand("thin", 300, &thin), cand("thick", 60, &thick),
                                 cand("derived", 500, &derived), cand("mr", 20, &mr), cand("sr", 1, &sr),
                                 cand("nobody", 400, &nobody)};
    ck_assert_int_eq(mmdx_series_rule_matches(r, 0, &c[0]), 0); /* excluded by description */
    ck_assert_int_eq(mmdx_series_rule_matches(r, 0, &c[1]), 1); /* "Chest" matches ignoring case */
    ck_assert_int_eq(mmdx_series_rule_matches(r, 0, &c[3]), 0); /* DERIVED */
    ck_assert_int_eq(mmdx_series_rule_matches(r, 0, &c[6]), 0); /* attribute missing: no match */
    size_t rule = 99;
    /* the most slices wins among the first rule's matches */
    ck_assert_int_eq(mmdx_series_select(r, c, 7, &rule), 1);
    ck_assert_uint_eq(rule, 0);
    /* equal slices: the lower SeriesNumber */
    mmdx_series_candidate tie[] = {cand("thin", 60, &thin), cand("thick", 60, &thick)};
    ck_assert_int_eq(mmdx_series_select(r, tie, 2, NULL), 1);
    /* MinSlices: 9 slices are too few; the second rule takes the MR */
    mmdx_series_candidate few[] = {cand("thin", 9, &thin), cand("mr", 20, &mr), cand("sr", 1, &sr)};
    ck_assert_int_eq(mmdx_series_select(r, few, 3, &rule), 1);
    ck_assert_uint_eq(rule, 1);
    ck_assert_str_eq(mmdx_series_rules_name(r, 1), "any MR");
    /* nothing matches */
    mmdx_series_candidate none[] = {cand("sr", 1, &sr), cand("derived", 500, &derived)};
    ck_assert_int_eq(mmdx_series_select(r, none, 2, NULL), -1);
    mmdx_series_rules_free(r);

    /* case matters without IgnoreCase; the default rule takes CT, MR, PT */
    ck_assert_int_eq(mmdx_series_rules_compile(&r, "[{\"Attributes\": {\"BodyPartExamined\": \"CHEST\"}}]", NULL), 0);
    ck_assert_int_eq(mmdx_series_rule_matches(r, 0, &c[1]), 0);
    ck_assert_str_eq(mmdx_series_rules_name(r, 0), "rule 1");
    mmdx_series_rules_free(r);
    ck_assert_int_eq(mmdx_series_rules_compile(&r, NULL, NULL), 0);
    mmdx_series_candidate d[] = {cand("sr", 1, &sr), cand("mr", 20, &mr)};
    ck_assert_int_eq(mmdx_series_select(r, d, 2, NULL), 1);
    mmdx_series_rules_free(r);
}
END_TEST

START_TEST(selector_errors)
{
    mmdx_series_rules *r = NULL;
    ck_assert_int_eq(mmdx_series_rules_compile(&r, "{}", "X"), MMDX_EINVAL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(mmdx_series_rules_compile(&r, "[]", "X"), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_series_rules_compile(&r, "[{\"Name\": \"a\"}]", "X"), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "X[0]: missing \"Attributes\""));
    ck_assert_int_eq(mmdx_series_rules_compile(&r, "[{\"Attributes\": {\"Modality\": 3}}]", "X"), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_series_rules_compile(&r, "[{\"Attributes\": {\"Modality\": \"[\"}}]", "X"), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_series_rules_compile(&r, "[{\"Attributes\": {}, \"MaxSlices\": -1}]", "X"), MMDX_EINVAL);
    /* stacked quantifiers make glibc's regcomp explode: refused */
    ck_assert_int_eq(mmdx_series_rules_compile(&r, "[{\"Attributes\": {\"Modality\": \"C+++++++++++++T\"}}]", "X"),
                     MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "a quantifier follows another quantifier"));
    ck_assert_int_eq(mmdx_series_rules_compile(&r, "[{\"Attributes\": {\"Modality\": \"[]x[]+*\"}}]", "X"),
                     MMDX_EINVAL);
    /* but a bracket holding quantifier characters, or an escaped one, is fine */
    ck_assert_int_eq(mmdx_series_rules_compile(&r, "[{\"Attributes\": {\"Modality\": \"^[+*]+x\\\\++$\"}}]", "X"), 0);
    mmdx_series_rules_free(r);
    r = NULL;
    ck_assert_int_eq(mmdx_series_rules_compile(&r, "[", "X"), MMDX_EFORMAT);
    ck_assert_ptr_null(r);
}
END_TEST

/* -------------------------------------------------------------- SR writer */

static const char *const modalities[] = {"imaging", "genomics", "records"};
static const double contributions[] = {0.8125, 0.0, -0.25};
static const int present[] = {1, 0, 1};
static const char sha[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static mmdx_sr_result sample_result(void)
{
    mmdx_sr_result r = {0.734375, 0.5,  1,        3,    modalities,    contributions, present, "mmdx early/logreg",
                        "1.0.0",  "0.1.0", sha, "mmdx", "Test Hospital", "mmdx AI screening result (not verified)",
                        9901,     NULL,  NULL, NULL, NULL, NULL};
    return r;
}

START_TEST(text_rendering)
{
    mmdx_sr_result r = sample_result();
    char *t = mmdx_sr_render_text(&r, "CT series \"Lung\", 60 slices");
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_nonnull(strstr(t, "NOT VERIFIED BY A CLINICIAN"));
    ck_assert_ptr_nonnull(strstr(t, "Risk probability: 0.7344 (73.4 %)"));
    ck_assert_ptr_nonnull(strstr(t, "Decision: POSITIVE"));
    ck_assert_ptr_nonnull(strstr(t, "imaging    +0.8125"));
    ck_assert_ptr_nonnull(strstr(t, "genomics   not available"));
    ck_assert_ptr_nonnull(strstr(t, "records    -0.2500"));
    ck_assert_ptr_nonnull(strstr(t, sha));
    ck_assert_ptr_nonnull(strstr(t, "60 slices"));
    free(t);
    r.probability = 0.25;
    r.decision = 0;
    t = mmdx_sr_render_text(&r, NULL);
    ck_assert_ptr_nonnull(strstr(t, "Decision: negative"));
    free(t);
}
END_TEST

static char *tag_value(const char *file, const char *tag)
{
    char cmd[4300], *out = NULL;
    snprintf(cmd, sizeof cmd, "dcmdump -q -Un -s +P %s '%s'", tag, file);
    ck_assert_int_eq(mmdx_test_run(cmd, &out, NULL), 0);
    char *a = strchr(out, '['), *b = a ? strchr(a, ']') : NULL;
    ck_assert_msg(a && b, "no value of %s in %s: %s", tag, file, out);
    *b = '\0';
    char *v = strdup(a + 1);
    free(out);
    return v;
}

START_TEST(sr_writer_real_series)
{
    const char *data = mmdx_test_data_or_skip();
    (void)data;
    enum { N = 3 };
    char *src[N];
    for (int i = 0; i < N; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "dicom/ibsi1_ct_phantom_PAT1/image/DCM_IMG_%05d.dcm", i);
        src[i] = mmdx_test_data_path(rel);
    }
    char *dir = mmdx_test_tmpdir();
    char tid[4200], txt[4200];
    snprintf(tid, sizeof tid, "%s/tid1500.dcm", dir);
    snprintf(txt, sizeof txt, "%s/text.dcm", dir);
    mmdx_sr_result r = sample_result();
    char *text = mmdx_sr_render_text(&r, "CT");
    r.text = text;
    char tid_uid[MMDX_SR_UID_MAX], text_uid[MMDX_SR_UID_MAX], series_uid[MMDX_SR_UID_MAX];
    mmdx_error err;
    memset(&err, 0, sizeof err);
    int rc = mmdx_sr_write(&r, (const char *const *)src, N, tid, txt, tid_uid, text_uid, series_uid, &err);
    ck_assert_msg(rc == 0, "%s", err.message);

    /* the TID 1500 report */
    char *v = tag_value(tid, "SOPClassUID");
    ck_assert_str_eq(v, "1.2.840.10008.5.1.4.1.1.88.22"); /* Enhanced SR */
    free(v);
    v = tag_value(tid, "SOPInstanceUID");
    ck_assert_str_eq(v, tid_uid);
    free(v);
    char *study = tag_value(src[0], "StudyInstanceUID");
    v = tag_value(tid, "StudyInstanceUID");
    ck_assert_str_eq(v, study);
    free(v);
    char *pid = tag_value(src[0], "PatientID");
    v = tag_value(tid, "PatientID");
    ck_assert_str_eq(v, pid);
    free(v);
    v = tag_value(tid, "SeriesInstanceUID");
    ck_assert_str_eq(v, series_uid);
    free(v);
    v = tag_value(tid, "VerificationFlag");
    ck_assert_str_eq(v, "UNVERIFIED");
    free(v);
    v = tag_value(tid, "PreliminaryFlag");
    ck_assert_str_eq(v, "PRELIMINARY");
    free(v);
    v = tag_value(tid, "TemplateIdentifier");
    ck_assert_str_eq(v, "1500");
    free(v);
    char *out = NULL, cmd[4400];
    snprintf(cmd, sizeof cmd, "dcmdump -q -Un +L '%s'", tid);
    ck_assert_int_eq(mmdx_test_run(cmd, &out, NULL), 0);
    /* IHE AIR: the algorithm in Contributing Equipment (0018,A001) */
    char *ce = strstr(out, "(0018,a001) SQ");
    ck_assert_msg(ce != NULL, "no ContributingEquipmentSequence: %s", out);
    ck_assert_ptr_nonnull(strstr(ce, "(0008,1090) LO [mmdx early/logreg]"));
    char expect[256];
    snprintf(expect, sizeof expect, "(0018,1020) LO [1.0.0\\mmdx 0.1.0\\%s]", sha);
    ck_assert_msg(strstr(ce, expect) != NULL, "no %s", expect);
    ck_assert_ptr_nonnull(strstr(ce, "(0008,0100) SH [109102]"));
    ck_assert_ptr_nonnull(strstr(ce, "(0008,0080) LO [Test Hospital]"));
    /* the evidence references every source instance */
    for (int i = 0; i < N; i++) {
        char *sop = tag_value(src[i], "SOPInstanceUID");
        ck_assert_msg(strstr(out, sop) != NULL, "source %s not referenced", sop);
        free(sop);
    }
    free(out);
    /* the content tree, as DCMTK's SR reader sees it */
    snprintf(cmd, sizeof cmd, "dsrdump +Pl '%s'", tid);
    ck_assert_int_eq(mmdx_test_run(cmd, &out, NULL), 0);
    ck_assert_msg(strstr(out, "Imaging Measurement Report") != NULL, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "Risk probability\")=\"0.734375\""));
    ck_assert_ptr_nonnull(strstr(out, "Decision threshold\")=\"0.5\""));
    ck_assert_ptr_nonnull(strstr(out, "Contribution of imaging to the log-odds\")=\"0.8125\""));
    ck_assert_ptr_nonnull(strstr(out, "Contribution of records to the log-odds\")=\"-0.25\""));
    ck_assert_ptr_null(strstr(out, "Contribution of genomics"));
    ck_assert_ptr_nonnull(strstr(out, "Modality not available\")=\"genomics\""));
    ck_assert_ptr_nonnull(strstr(out, "Screening decision\")=(10828004,SCT,\"Positive\")"));
    ck_assert_ptr_nonnull(strstr(out, "Not verified by a clinician"));
    ck_assert_ptr_nonnull(strstr(out, "Algorithm Name\")=\"mmdx early/logreg\""));
    ck_assert_ptr_nonnull(strstr(out, "Algorithm Version\")=\"1.0.0\""));
    free(out);

    /* the plain-text report: same study and series, Comprehensive SR */
    v = tag_value(txt, "SOPClassUID");
    ck_assert_str_eq(v, "1.2.840.10008.5.1.4.1.1.88.33");
    free(v);
    v = tag_value(txt, "SeriesInstanceUID");
    ck_assert_str_eq(v, series_uid);
    free(v);
    v = tag_value(txt, "StudyInstanceUID");
    ck_assert_str_eq(v, study);
    free(v);
    v = tag_value(txt, "InstanceNumber");
    ck_assert_str_eq(v, "2");
    free(v);
    snprintf(cmd, sizeof cmd, "dsrdump +Pl '%s'", txt);
    ck_assert_int_eq(mmdx_test_run(cmd, &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "NOT VERIFIED BY A CLINICIAN"));
    ck_assert_ptr_nonnull(strstr(out, "Risk probability: 0.7344"));
    free(out);

    /* a source that is not DICOM: an error naming it, nothing left behind */
    char bad[4200];
    snprintf(bad, sizeof bad, "%s/not.dcm", dir);
    mmdx_test_write_file(bad, "hello");
    const char *srcs[] = {src[0], bad};
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(mmdx_sr_write(&r, srcs, 2, tid, txt, NULL, NULL, NULL, &err), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, bad));
    FILE *f = fopen(tid, "rb");
    ck_assert_ptr_null(f);
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(mmdx_sr_write(&r, srcs, 0, tid, txt, NULL, NULL, NULL, &err), MMDX_EINVAL);

    free(study);
    free(pid);
    free(text);
    for (int i = 0; i < N; i++)
        free(src[i]);
    mmdx_test_rmtree(dir);
    free(dir);
}
END_TEST

/* A replay writes the same reports: UIDs derived from a name, given to the writer, land in both files. */
START_TEST(sr_writer_given_uids)
{
    mmdx_test_data_or_skip();
    char uid[4][MMDX_SR_UID_MAX], again[MMDX_SR_UID_MAX];
    static const char *const names[] = {"run-a series", "run-a tid1500", "run-a text", "run-a tracking"};
    for (int i = 0; i < 4; i++) {
        mmdx_sr_uid_from_name(names[i], uid[i]);
        ck_assert_msg(strncmp(uid[i], "2.25.", 5) == 0 && strlen(uid[i]) <= 64, "bad UID %s", uid[i]);
        ck_assert_msg(strspn(uid[i] + 5, "0123456789") == strlen(uid[i] + 5) && uid[i][5] != '0', "bad UID %s", uid[i]);
        mmdx_sr_uid_from_name(names[i], again);
        ck_assert_str_eq(again, uid[i]);
        for (int k = 0; k < i; k++)
            ck_assert_str_ne(uid[k], uid[i]);
    }
    /* 2^128 - 1, the largest: 39 digits */
    mmdx_sr_uid_from_hex("ffffffffffffffffffffffffffffffff", again);
    ck_assert_str_eq(again, "2.25.340282366920938463463374607431768211455");
    char *src = mmdx_test_data_path("dicom/ibsi1_ct_phantom_PAT1/image/DCM_IMG_00000.dcm");
    char *dir = mmdx_test_tmpdir();
    char tid[4200], txt[4200];
    snprintf(tid, sizeof tid, "%s/tid1500.dcm", dir);
    snprintf(txt, sizeof txt, "%s/text.dcm", dir);
    mmdx_sr_result r = sample_result();
    r.series_uid = uid[0], r.tid1500_uid = uid[1], r.text_uid = uid[2], r.tracking_uid = uid[3];
    char *text = mmdx_sr_render_text(&r, "CT");
    r.text = text;
    char tid_uid[MMDX_SR_UID_MAX], text_uid[MMDX_SR_UID_MAX], series_uid[MMDX_SR_UID_MAX];
    mmdx_error err;
    memset(&err, 0, sizeof err);
    const char *srcs[] = {src};
    int rc = mmdx_sr_write(&r, srcs, 1, tid, txt, tid_uid, text_uid, series_uid, &err);
    ck_assert_msg(rc == 0, "%s", err.message);
    ck_assert_str_eq(tid_uid, uid[1]);
    ck_assert_str_eq(text_uid, uid[2]);
    ck_assert_str_eq(series_uid, uid[0]);
    static const struct {
        const char *file_kind, *tag;
        int uid;
    } want[] = {{"tid", "SOPInstanceUID", 1}, {"tid", "MediaStorageSOPInstanceUID", 1}, {"tid", "SeriesInstanceUID", 0},
                {"txt", "SOPInstanceUID", 2}, {"txt", "MediaStorageSOPInstanceUID", 2}, {"txt", "SeriesInstanceUID", 0}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char *v = tag_value(strcmp(want[i].file_kind, "tid") == 0 ? tid : txt, want[i].tag);
        ck_assert_msg(strcmp(v, uid[want[i].uid]) == 0, "%s %s: %s, expected %s", want[i].file_kind, want[i].tag, v,
                      uid[want[i].uid]);
        free(v);
    }
    char cmd[4400], *out = NULL;
    snprintf(cmd, sizeof cmd, "dsrdump +Pl '%s'", tid);
    ck_assert_int_eq(mmdx_test_run(cmd, &out, NULL), 0);
    ck_assert_msg(strstr(out, uid[3]) != NULL, "the tracking UID %s is not in the report", uid[3]);
    free(out);
    free(text);
    free(src);
    mmdx_test_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- the change-log reader, against a fake Orthanc log ---- */

typedef struct fake_change {
    long long seq;
    const char *type, *resource, *id;
} fake_change;

typedef struct fake_log {
    fake_change c[32];
    size_t n;
    const char *unstable; /* the study Orthanc is receiving again, or NULL */
    const char *gone;     /* a deleted study, or NULL */
    int reads;
} fake_log;

static char *text_of(const char *s, size_t *len)
{
    char *c = strdup(s);
    ck_assert_ptr_nonnull(c);
    if (len)
        *len = strlen(c);
    return c;
}

static int log_get(void *ctx, const char *uri, char **body, size_t *len)
{
    fake_log *f = ctx;
    char buf[8192];
    long long since = 0;
    int limit = 0;
    if (strcmp(uri, "/changes?last") == 0) {
        snprintf(buf, sizeof buf, "{\"Changes\": [], \"Done\": true, \"Last\": %lld}", f->n ? f->c[f->n - 1].seq : 0);
    } else if (sscanf(uri, "/changes?since=%lld&limit=%d", &since, &limit) == 2) {
        f->reads++;
        size_t used = (size_t)snprintf(buf, sizeof buf, "{\"Changes\": [");
        long long last = since;
        int k = 0;
        for (size_t i = 0; i < f->n && k < 2; i++) { /* two per page: the reader pages */
            if (f->c[i].seq <= since)
                continue;
            used += (size_t)snprintf(buf + used, sizeof buf - used,
                                     "%s{\"ChangeType\": \"%s\", \"ResourceType\": \"%s\", \"ID\": \"%s\", \"Seq\": %lld}",
                                     k++ ? ", " : "", f->c[i].type, f->c[i].resource, f->c[i].id, f->c[i].seq);
            last = f->c[i].seq;
        }
        snprintf(buf + used, sizeof buf - used, "], \"Done\": %s, \"Last\": %lld}",
                 f->n == 0 || last >= f->c[f->n - 1].seq ? "true" : "false", last);
    } else if (strncmp(uri, "/studies/", 9) == 0) {
        if (f->gone && strcmp(uri + 9, f->gone) == 0)
            return MMDX_ENOTFOUND;
        snprintf(buf, sizeof buf, "{\"IsStable\": %s}", f->unstable && strcmp(uri + 9, f->unstable) == 0 ? "false" : "true");
    } else if (strncmp(uri, "/series/", 8) == 0) {
        snprintf(buf, sizeof buf, "{\"ParentStudy\": \"study-of-%s\"}", uri + 8);
    } else {
        return MMDX_ENOTFOUND;
    }
    *body = text_of(buf, len);
    return 0;
}

static void add_change(fake_log *f, const char *type, const char *resource, const char *id)
{
    ck_assert_uint_lt(f->n, 32);
    f->c[f->n] = (fake_change){(long long)f->n + 1, type, resource, id};
    f->n++;
}

typedef struct found_list {
    char ids[16][64];
    size_t n;
} found_list;

static int on_found(void *ctx, const char *id)
{
    found_list *l = ctx;
    ck_assert_uint_lt(l->n, 16);
    snprintf(l->ids[l->n++], 64, "%s", id);
    return 0;
}

START_TEST(change_log_reader)
{
    fake_log f;
    memset(&f, 0, sizeof f);
    mmdx_pacs pacs = {&f, log_get, NULL, NULL, NULL};
    for (int i = 0; i < 3; i++)
        add_change(&f, "NewInstance", "Instance", "old"); /* 1-3: before the plugin was installed */
    mmdx_orthanc_changes *c = NULL;
    found_list l;
    memset(&l, 0, sizeof l);
    /* first start, nothing saved: from the log's end, the archive is not screened */
    ck_assert_int_eq(mmdx_orthanc_changes_new(&c, &pacs, -1, 10, 0), 0);
    ck_assert_int_eq(mmdx_orthanc_changes_cursor(c), 3);
    add_change(&f, "NewStudy", "Study", "A");      /* 4 */
    add_change(&f, "NewSeries", "Series", "s1");   /* 5: study-of-s1 */
    add_change(&f, "NewStudy", "Study", "B");      /* 6 */
    add_change(&f, "StableStudy", "Study", "A");   /* 7 */
    add_change(&f, "NewInstance", "Instance", "i"); /* 8 */
    ck_assert_int_eq(mmdx_orthanc_changes_poll(c, 1, on_found, &l), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_str_eq(l.ids[0], "A");
    ck_assert_uint_eq(mmdx_orthanc_changes_waiting(c), 2); /* study-of-s1, B */
    ck_assert_int_eq(mmdx_orthanc_changes_cursor(c), 4);   /* before study-of-s1's change 5 */
    add_change(&f, "StableStudy", "Study", "study-of-s1"); /* 9 */
    ck_assert_int_eq(mmdx_orthanc_changes_poll(c, 2, on_found, &l), 0);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_int_eq(mmdx_orthanc_changes_cursor(c), 5); /* B (6) still waits */
    long long saved = mmdx_orthanc_changes_cursor(c);
    mmdx_orthanc_changes_free(c);

    /* killed and restarted: read again from the saved cursor; B never became stable (an orphan),
     * C is received again after the restart, D was deleted */
    add_change(&f, "NewStudy", "Study", "C"); /* 10 */
    add_change(&f, "NewStudy", "Study", "D"); /* 11 */
    f.unstable = "C";
    f.gone = "D";
    l.n = 0;
    ck_assert_int_eq(mmdx_orthanc_changes_new(&c, &pacs, saved, 10, 100), 0);
    ck_assert_uint_eq(mmdx_orthanc_changes_waiting(c), 3);
    ck_assert_int_eq(mmdx_orthanc_changes_poll(c, 101, on_found, &l), 0);
    /* the StableStudy changes after the cursor are handed over again (a study screened already is
     * found unchanged by its fingerprint) */
    ck_assert_uint_eq(l.n, 2);
    ck_assert_str_eq(l.ids[0], "A");
    ck_assert_str_eq(l.ids[1], "study-of-s1");
    ck_assert_uint_eq(mmdx_orthanc_changes_waiting(c), 2); /* B (idle, not for StableAge yet), C; D gone */
    ck_assert_int_eq(mmdx_orthanc_changes_cursor(c), 5);
    ck_assert_int_eq(mmdx_orthanc_changes_poll(c, 110, on_found, &l), 0);
    ck_assert_uint_eq(l.n, 3);
    ck_assert_str_eq(l.ids[2], "B"); /* idle for StableAge since the restart */
    ck_assert_int_eq(mmdx_orthanc_changes_cursor(c), 9); /* C (10) waits for its StableStudy */
    ck_assert_int_eq(mmdx_orthanc_changes_poll(c, 500, on_found, &l), 0);
    ck_assert_uint_eq(l.n, 3); /* C is being received: Orthanc will declare it stable */
    add_change(&f, "StableStudy", "Study", "C"); /* 12 */
    add_change(&f, "NewStudy", "Study", "E");    /* 13 */
    add_change(&f, "Deleted", "Study", "E");     /* 14 */
    ck_assert_int_eq(mmdx_orthanc_changes_poll(c, 501, on_found, &l), 0);
    ck_assert_uint_eq(l.n, 4);
    ck_assert_str_eq(l.ids[3], "C");
    ck_assert_uint_eq(mmdx_orthanc_changes_waiting(c), 0);
    ck_assert_int_eq(mmdx_orthanc_changes_cursor(c), 14);
    mmdx_orthanc_changes_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("orthanc");
    TCase *tc = tcase_create("settings");
    tcase_add_test(tc, settings_full);
    tcase_add_test(tc, settings_absent_or_disabled);
    tcase_add_test(tc, settings_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("selector");
    tcase_add_test(tc, selector_rules);
    tcase_add_test(tc, selector_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("sr");
    tcase_add_test(tc, text_rendering);
    tcase_add_test(tc, sr_writer_real_series);
    tcase_add_test(tc, sr_writer_given_uids);
    suite_add_tcase(s, tc);
    tc = tcase_create("changes");
    tcase_add_test(tc, change_log_reader);
    suite_add_tcase(s, tc);
    return mmdx_test_run_suite(s);
}
