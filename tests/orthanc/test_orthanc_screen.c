/*
 * The screening pipeline of the Orthanc plugin (orthanc/screen.c) against a
 * fake PACS that serves the IBSI CT phantom the way Orthanc's REST API does,
 * with the real encoders, model and PostgreSQL store. Unlike the integration
 * test this one runs in the sanitizer build too.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <check.h>
#include <dirent.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "orthanc_model.h"
#include "pgtest.h"
#include "worker.h"
#include "testsupport.h"

#define N_CT 60

typedef struct fake_pacs {
    char *ct_dir;
    char study_uid[128], series_uid[128];
    int fail_files;       /* GET .../file answers an I/O error */
    int corrupt;          /* instance ct05 is not DICOM */
    int n_posts;
    char *posted[12];
    size_t posted_len[12];
    int n_deletes;
    char deleted[8][128];
    int n_logs;
} fake_pacs;

static char *dup_text(const char *s, size_t *len)
{
    char *c = strdup(s);
    ck_assert_ptr_nonnull(c);
    if (len)
        *len = strlen(s);
    return c;
}

static int fake_get(void *ctx, const char *uri, char **body, size_t *len)
{
    fake_pacs *f = ctx;
    char buf[8192];
    int i;
    *body = NULL;
    if (strcmp(uri, "/studies/S1") == 0 || strcmp(uri, "/studies/S2") == 0) {
        snprintf(buf, sizeof buf,
                 "{\"ID\": \"%s\", \"MainDicomTags\": {\"StudyInstanceUID\": \"%s\"},"
                 " \"PatientMainDicomTags\": {\"PatientID\": \"1\"}, \"Series\": %s}",
                 uri + 9, f->study_uid, uri[9] == 'S' && uri[10] == '1' ? "[\"SR1\", \"MR1\", \"CT1\"]" : "[\"MR1\"]");
    } else if (strcmp(uri, "/series/CT1") == 0) {
        int n = snprintf(buf, sizeof buf,
                         "{\"ID\": \"CT1\", \"MainDicomTags\": {\"Modality\": \"CT\", \"SeriesInstanceUID\": \"%s\","
                         " \"SeriesDescription\": \"phantom\", \"SeriesNumber\": \"2\"}, \"Instances\": [",
                         f->series_uid);
        for (i = 0; i < N_CT; i++)
            n += snprintf(buf + n, sizeof buf - (size_t)n, "%s\"ct%02d\"", i ? ", " : "", i);
        snprintf(buf + n, sizeof buf - (size_t)n, "]}");
    } else if (strcmp(uri, "/series/MR1") == 0) {
        snprintf(buf, sizeof buf, "{\"ID\": \"MR1\", \"MainDicomTags\": {\"Modality\": \"MR\"}, \"Instances\": [\"mr0\"]}");
    } else if (strcmp(uri, "/series/SR1") == 0) {
        snprintf(buf, sizeof buf, "{\"ID\": \"SR1\", \"MainDicomTags\": {\"Modality\": \"SR\"}, \"Instances\": [\"sr0\"]}");
    } else if (strcmp(uri, "/instances/ct00/simplified-tags") == 0) {
        snprintf(buf, sizeof buf, "{\"Modality\": \"CT\", \"ImageType\": \"ORIGINAL\\\\PRIMARY\\\\AXIAL\"}");
    } else if (strcmp(uri, "/instances/mr0/simplified-tags") == 0) {
        snprintf(buf, sizeof buf, "{\"Modality\": \"MR\"}");
    } else if (strcmp(uri, "/instances/sr0/simplified-tags") == 0) {
        snprintf(buf, sizeof buf, "{\"Modality\": \"SR\"}");
    } else if (sscanf(uri, "/instances/ct%d/file", &i) == 1 && i >= 0 && i < N_CT) {
        if (f->fail_files)
            return MMDX_EIO;
        if (f->corrupt && i == 5) {
            *body = dup_text("this is not a DICOM file", len);
            return 0;
        }
        char path[4200];
        snprintf(path, sizeof path, "%s/DCM_IMG_%05d.dcm", f->ct_dir, i);
        *body = mmdx_test_read_file(path, len);
        return *body ? 0 : MMDX_EIO;
    } else {
        return MMDX_ENOTFOUND;
    }
    *body = dup_text(buf, len);
    return 0;
}

static int fake_post(void *ctx, const char *uri, const void *body, size_t len, char **answer, size_t *alen)
{
    fake_pacs *f = ctx;
    ck_assert_str_eq(uri, "/instances");
    ck_assert_int_lt(f->n_posts, 12);
    f->posted[f->n_posts] = malloc(len);
    memcpy(f->posted[f->n_posts], body, len);
    f->posted_len[f->n_posts] = len;
    char buf[128];
    snprintf(buf, sizeof buf, "{\"ID\": \"sr-%d\", \"Status\": \"Success\"}", ++f->n_posts);
    *answer = dup_text(buf, alen);
    return 0;
}

static int fake_del(void *ctx, const char *uri)
{
    fake_pacs *f = ctx;
    ck_assert_int_lt(f->n_deletes, 8);
    snprintf(f->deleted[f->n_deletes++], 128, "%s", uri);
    return 0;
}

static void fake_log(void *ctx, mmdx_log_level level, const char *message)
{
    fake_pacs *f = ctx;
    f->n_logs++;
    (void)level;
    /* the plugin must never log a patient identifier; the phantom's PatientID is "1",
       too short to search for, so check the name that goes with it */
    ck_assert_msg(strstr(message, "PAT1") == NULL, "patient name in a log line: %s", message);
}

static char *tag_value(const char *file, const char *tag)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "dcmdump -q -Un -s +P %s '%s'", tag, file);
    char *out = orthanc_test_run_ok(cmd);
    char *a = strchr(out, '['), *b = a ? strchr(a, ']') : NULL;
    ck_assert_ptr_nonnull(b);
    *b = '\0';
    char *v = strdup(a + 1);
    free(out);
    return v;
}

static int folder_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

START_TEST(screen_with_fake_pacs)
{
    mmdx_test_data_or_skip();
    char *tmp = mmdx_test_tmpdir();
    char *db = mmdx_pgtest_create_db("orthanc_screen");
    char *dsn = mmdx_pgtest_admin_dsn(db);
    expected e;
    orthanc_test_train_model(tmp, &e);

    fake_pacs f;
    memset(&f, 0, sizeof f);
    f.ct_dir = mmdx_test_data_path("dicom/ibsi1_ct_phantom_PAT1/image");
    char first[4200];
    snprintf(first, sizeof first, "%s/DCM_IMG_00000.dcm", f.ct_dir);
    char *v = tag_value(first, "StudyInstanceUID");
    snprintf(f.study_uid, sizeof f.study_uid, "%s", v);
    free(v);
    v = tag_value(first, "SeriesInstanceUID");
    snprintf(f.series_uid, sizeof f.series_uid, "%s", v);
    free(v);
    mmdx_pacs pacs = {&f, fake_get, fake_post, fake_del, fake_log};

    char json[32768], work[4200];
    snprintf(work, sizeof work, "%s/work", tmp);
    snprintf(json, sizeof json,
             "{\"Mmdx\": {\"Model\": \"%s/model.mmdx\", \"Database\": \"%s\", \"PluginFolder\": \"%s/lib/mmdx/plugins\","
             " \"Records\": \"%s/records.json\", \"WorkFolder\": \"%s\", \"SiteConfig\": \"%s/mmdx.conf\","
             " \"Genomics\": {\"Vcf\": \"%s/cohort.vcf\", \"SampleMap\": \"%s/samples.csv\"},"
             " \"SiteKey\": \"%s/site.key\", \"RequireSignedModel\": true,"
             " \"SeriesSelection\": [{\"Name\": \"CT\", \"Attributes\": {\"Modality\": \"^CT$\","
             " \"ImageType\": \"^ORIGINAL\"}, \"MinSlices\": 10}]}}",
             tmp, dsn, mmdx_test_build_dir(), tmp, work, tmp, tmp, tmp, tmp);
    mmdx_orthanc_settings s;
    ck_assert_int_eq(mmdx_orthanc_settings_parse(&s, json, strlen(json)), 0);
    mmdx_screener *sc = NULL;
    int rc = mmdx_screener_new(&sc, &s, &pacs, NULL);
    ck_assert_msg(rc == 0, "%s", mmdx_last_error());

    /* 1. screened: the result equals `mmdx predict`, two reports posted */
    mmdx_job job;
    memset(&job, 0, sizeof job);
    snprintf(job.orthanc_id, sizeof job.orthanc_id, "S1");
    job.attempts = 1;
    mmdx_screen_outcome out;
    char *result = NULL, fp[65];
    json_object *present = NULL;
    rc = mmdx_screener_run(sc, &job, &out, &result, fp);
    ck_assert_msg(rc == 0, "%s", mmdx_last_error());
    ck_assert_int_eq(out, MMDX_SCREEN_DONE);
    json_object *r = json_tokener_parse(result);
    ck_assert_ptr_nonnull(r);
    double p = json_object_get_double(json_object_object_get(r, "probability"));
    ck_assert_msg(fabs(p - e.probability) < 1e-9, "%.17g vs %.17g", p, e.probability);
    ck_assert_int_eq(json_object_get_int(json_object_object_get(r, "decision")), e.decision);
    ck_assert_int_eq(json_object_get_boolean(json_object_object_get(json_object_object_get(r, "model"),
                                                                    "signature_verified")),
                     1);
    present = json_object_object_get(r, "modalities_present");
    ck_assert_int_eq(json_object_get_boolean(json_object_object_get(present, "genomics")), 1);
    ck_assert_int_eq(json_object_get_boolean(json_object_object_get(present, "records")), 1);
    ck_assert_str_eq(json_object_get_string(json_object_object_get(json_object_object_get(r, "series"), "orthanc_id")),
                     "CT1");
    json_object_put(r);
    free(result);
    ck_assert_int_eq(f.n_posts, 2);
    char sr[4200];
    snprintf(sr, sizeof sr, "%s/posted.dcm", tmp);
    FILE *fp_out = fopen(sr, "wb");
    ck_assert_uint_eq(fwrite(f.posted[0], 1, f.posted_len[0], fp_out), f.posted_len[0]);
    fclose(fp_out);
    v = tag_value(sr, "SOPClassUID");
    ck_assert_str_eq(v, "1.2.840.10008.5.1.4.1.1.88.22");
    free(v);
    v = tag_value(sr, "StudyInstanceUID");
    ck_assert_str_eq(v, f.study_uid);
    free(v);
    ck_assert_int_eq(folder_entries(work), 0); /* nothing left behind */
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions"), 1);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'orthanc.sr.write'"
                                            " AND hmac IS NOT NULL"),
                     1);

    /* 2. the same inputs again: unchanged, nothing posted */
    job.fingerprint = strdup(fp);
    rc = mmdx_screener_run(sc, &job, &out, &result, fp);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(out, MMDX_SCREEN_UNCHANGED);
    ck_assert_ptr_null(result);
    ck_assert_int_eq(f.n_posts, 2);

    /* 3. forced: screened again, the previous reports deleted (the queue counts the forced request) */
    job.force = 1;
    job.generation = 1;
    job.previous_sr = strdup("[\"sr-1\", \"sr-2\"]");
    rc = mmdx_screener_run(sc, &job, &out, &result, fp);
    ck_assert_msg(rc == 0, "%s", mmdx_last_error());
    ck_assert_int_eq(out, MMDX_SCREEN_DONE);
    free(result);
    ck_assert_int_eq(f.n_posts, 4);
    ck_assert_int_eq(f.n_deletes, 2);
    ck_assert_str_eq(f.deleted[0], "/instances/sr-1");
    ck_assert_str_eq(f.deleted[1], "/instances/sr-2");
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.runs"), 2);

    /* 3b. the same job again, as after a crash between storing and the queue's update: the
     * prediction is found stored (nothing stored or audited again), the reports are the same
     * instances (same UIDs: Orthanc keeps one of each) */
    long long events = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events");
    rc = mmdx_screener_run(sc, &job, &out, &result, fp);
    ck_assert_msg(rc == 0, "%s", mmdx_last_error());
    ck_assert_int_eq(out, MMDX_SCREEN_DONE);
    r = json_tokener_parse(result);
    ck_assert_int_eq(json_object_get_boolean(json_object_object_get(r, "replayed")), 1);
    json_object_put(r);
    free(result);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.runs"), 2);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions"), 2);
    /* one event more: the SR write (no run.resume, prediction.duplicate or second run.end) */
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events"), events + 1);
    char *last = mmdx_pgtest_value(dsn, "SELECT action FROM mmdx.audit_events ORDER BY seq DESC LIMIT 1");
    ck_assert_str_eq(last, "orthanc.sr.write");
    free(last);
    ck_assert_int_eq(f.n_posts, 6);
    for (int k = 0; k < 2; k++) {
        char before[4200], second[4200];
        snprintf(before, sizeof before, "%s/first-%d.dcm", tmp, k);
        snprintf(second, sizeof second, "%s/second-%d.dcm", tmp, k);
        FILE *a = fopen(before, "wb"), *b = fopen(second, "wb");
        ck_assert_uint_eq(fwrite(f.posted[2 + k], 1, f.posted_len[2 + k], a), f.posted_len[2 + k]);
        ck_assert_uint_eq(fwrite(f.posted[4 + k], 1, f.posted_len[4 + k], b), f.posted_len[4 + k]);
        fclose(a);
        fclose(b);
        static const char *const tags[] = {"SOPInstanceUID", "SeriesInstanceUID"};
        for (int t = 0; t < 2; t++) {
            char *u1 = tag_value(before, tags[t]), *u2 = tag_value(second, tags[t]);
            ck_assert_str_eq(u1, u2);
            free(u1);
            free(u2);
        }
        unlink(before);
        unlink(second);
    }
    mmdx_job_clear(&job);

    /* 4. failures: no matching series, a vanished study, Orthanc failing */
    snprintf(job.orthanc_id, sizeof job.orthanc_id, "S2");
    rc = mmdx_screener_run(sc, &job, &out, &result, fp);
    ck_assert_int_eq(rc, MMDX_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "no series matches the selection rules"));
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "MR"));
    ck_assert_int_eq(mmdx_screen_error_is_transient(rc), 0);
    ck_assert_int_eq(mmdx_screener_audit_failure(sc, "S2", mmdx_last_error(), 1), 0);
    snprintf(job.orthanc_id, sizeof job.orthanc_id, "GONE");
    ck_assert_int_eq(mmdx_screener_run(sc, &job, &out, &result, fp), MMDX_ENOTFOUND);
    snprintf(job.orthanc_id, sizeof job.orthanc_id, "S1");
    job.force = 1;
    f.fail_files = 1;
    rc = mmdx_screener_run(sc, &job, &out, &result, fp);
    ck_assert_int_eq(rc, MMDX_EIO);
    ck_assert_int_eq(mmdx_screen_error_is_transient(rc), 1);
    ck_assert_int_eq(folder_entries(work), 0);
    ck_assert_int_eq(f.n_posts, 6);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'orthanc.screen'"
                                            " AND outcome = 8 AND object_id = 'S2'"),
                     1);
    /* a broken instance in the series: a clear, permanent failure, nothing posted */
    f.fail_files = 0;
    f.corrupt = 1;
    rc = mmdx_screener_run(sc, &job, &out, &result, fp);
    ck_assert_int_eq(rc, MMDX_EFORMAT);
    ck_assert_msg(strstr(mmdx_last_error(), "000005.dcm") != NULL, "%s", mmdx_last_error());
    ck_assert_int_eq(mmdx_screen_error_is_transient(rc), 0);
    ck_assert_int_eq(f.n_posts, 6);
    ck_assert_int_eq(folder_entries(work), 0);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions"), 2); /* nothing stored */
    f.corrupt = 0;
    mmdx_screener_free(sc);

    /* 5. the other modalities named per patient by a cohort manifest (relative paths) */
    char manifest[4200];
    snprintf(manifest, sizeof manifest, "%s/site_manifest.csv", tmp);
    mmdx_test_write_file(manifest, "patient_id,record,vcf,vcf_sample,label\n2,,cohort.vcf,S_A,\n"
                                   "1,records.json,cohort.vcf,S_B,1\n");
    snprintf(json, sizeof json,
             "{\"Mmdx\": {\"Model\": \"%s/model.mmdx\", \"Database\": \"%s\", \"PluginFolder\": \"%s/lib/mmdx/plugins\","
             " \"Manifest\": \"%s\", \"WorkFolder\": \"%s\", \"SiteConfig\": \"%s/mmdx.conf\","
             " \"SiteKey\": \"%s/site.key\"}}",
             tmp, dsn, mmdx_test_build_dir(), manifest, work, tmp, tmp);
    mmdx_orthanc_settings sm;
    ck_assert_int_eq(mmdx_orthanc_settings_parse(&sm, json, strlen(json)), 0);
    f.fail_files = 0;
    rc = mmdx_screener_new(&sc, &sm, &pacs, NULL);
    ck_assert_msg(rc == 0, "%s", mmdx_last_error());
    memset(&job, 0, sizeof job);
    snprintf(job.orthanc_id, sizeof job.orthanc_id, "S1");
    rc = mmdx_screener_run(sc, &job, &out, &result, fp);
    ck_assert_msg(rc == 0, "%s", mmdx_last_error());
    r = json_tokener_parse(result);
    p = json_object_get_double(json_object_object_get(r, "probability"));
    ck_assert_msg(fabs(p - e.probability) < 1e-9, "with the manifest: %.17g vs %.17g", p, e.probability);
    present = json_object_object_get(r, "modalities_present");
    ck_assert_int_eq(json_object_get_boolean(json_object_object_get(present, "genomics")), 1);
    ck_assert_int_eq(json_object_get_boolean(json_object_object_get(present, "records")), 1);
    json_object_put(r);
    free(result);
    mmdx_screener_free(sc);
    mmdx_orthanc_settings_clear(&sm);

    /* 6. a model that is not there: an error naming it */
    snprintf(json, sizeof json, "{\"Mmdx\": {\"Model\": \"%s/nope.mmdx\", \"Database\": \"%s\", \"PluginFolder\": "
                                "\"%s/lib/mmdx/plugins\"}}",
             tmp, dsn, mmdx_test_build_dir());
    mmdx_orthanc_settings s2;
    ck_assert_int_eq(mmdx_orthanc_settings_parse(&s2, json, strlen(json)), 0);
    ck_assert_int_ne(mmdx_screener_new(&sc, &s2, &pacs, NULL), 0);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "nope.mmdx"));
    ck_assert_ptr_null(sc);
    mmdx_orthanc_settings_clear(&s2);

    for (int i = 0; i < f.n_posts; i++)
        free(f.posted[i]);
    free(f.ct_dir);
    mmdx_orthanc_settings_clear(&s);
    mmdx_test_rmtree(tmp);
    free(tmp);
    free(dsn);
    free(db);
}
END_TEST

int main(void)
{
    return orthanc_test_main("orthanc_screen", screen_with_fake_pacs);
}
