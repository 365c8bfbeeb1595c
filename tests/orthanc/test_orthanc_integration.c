/*
 * The mmdx-orthanc plugin inside a real Orthanc: the test trains a model,
 * writes an Orthanc configuration that loads the plugin, starts Orthanc on
 * free loopback ports with its storage in a temporary folder, sends real CT
 * series with DCMTK's storescu and checks what comes back: the DICOM SR
 * (dcmdump, dsrdump), the REST endpoints, the database rows, the audit chain
 * (`mmdx audit verify`), idempotency of a second StableStudy, a forced
 * re-run, a study no rule selects, and a database outage during which
 * Orthanc keeps serving and after which the queued study is screened.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "orthanc_model.h"
#include "pgtest.h"
#include "testsupport.h"

#ifndef MMDX_ORTHANC_PLUGIN_PATH
#error "MMDX_ORTHANC_PLUGIN_PATH must name the built plugin"
#endif

static char *tmp;        /* the test's folder */
static char *db, *dsn;   /* its database */
static int http_port, dicom_port;
static pid_t orthanc = -1;
static char orthanc_log[4200];

/* ------------------------------------------------------------------ tools */

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(s, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

/* One HTTP/1.0 request to Orthanc; returns the status (or -1 when nothing answers). */
static int http(const char *method, const char *path, const char *body, size_t blen, char **resp, size_t *rlen)
{
    if (resp)
        *resp = NULL;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return -1;
    struct timeval tv = {20, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)http_port);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return -1;
    }
    char head[1024];
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", method,
                      path, body ? blen : 0);
    if (write(s, head, (size_t)hl) != hl || (body && blen && write(s, body, blen) != (ssize_t)blen)) {
        close(s);
        return -1;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (;;) {
        if (n + 4096 > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        ssize_t r = read(s, buf + n, cap - n - 1);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(s);
    buf[n] = '\0';
    int status = -1;
    if (sscanf(buf, "HTTP/%*s %d", &status) != 1) {
        free(buf);
        return -1;
    }
    char *sep = strstr(buf, "\r\n\r\n");
    size_t off = sep ? (size_t)(sep + 4 - buf) : n;
    if (resp) {
        *resp = malloc(n - off + 1);
        memcpy(*resp, buf + off, n - off);
        (*resp)[n - off] = '\0';
        if (rlen)
            *rlen = n - off;
    }
    free(buf);
    return status;
}

static json_object *get_json(const char *path, int expect_status)
{
    char *body = NULL;
    int st = http("GET", path, NULL, 0, &body, NULL);
    ck_assert_msg(st == expect_status, "GET %s: status %d, expected %d: %s", path, st, expect_status,
                  body ? body : "");
    json_object *o = json_tokener_parse(body);
    ck_assert_msg(o != NULL, "GET %s: not JSON: %s", path, body);
    free(body);
    return o;
}

static const char *jget(json_object *o, const char *path)
{
    /* "a.b.c" into nested objects; returns the value as text (borrowed) */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_object *cur = o;
    for (char *tok = strtok(buf, "."); tok; tok = strtok(NULL, "."))
        if (!cur || !json_object_object_get_ex(cur, tok, &cur))
            return NULL;
    return cur ? json_object_get_string(cur) : NULL;
}

static char *run_ok(const char *cmd)
{
    char *out = NULL, *err = NULL;
    int rc = mmdx_test_run(cmd, &out, &err);
    ck_assert_msg(rc == 0, "%s\nexit %d\n%s\n%s", cmd, rc, out ? out : "", err ? err : "");
    free(err);
    return out;
}

static char *orthanc_binary(void)
{
    const char *candidates[] = {getenv("MMDX_ORTHANC_BIN"), "/usr/sbin/Orthanc", "/usr/bin/Orthanc",
                                "/usr/local/bin/Orthanc"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (candidates[i] && access(candidates[i], X_OK) == 0)
            return strdup(candidates[i]);
    return NULL;
}

static void dump_log(void)
{
    char *log = mmdx_test_read_file(orthanc_log, NULL);
    if (log) {
        size_t n = strlen(log);
        fprintf(stderr, "---- Orthanc log (tail) ----\n%s\n", n > 6000 ? log + n - 6000 : log);
        free(log);
    }
}

/* --------------------------------------------------------------- the setup */

static void write_config(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/orthanc.json", tmp);
    json_object *c = json_object_new_object();
    char buf[4200];
    json_object_object_add(c, "Name", json_object_new_string("mmdx-test"));
    snprintf(buf, sizeof buf, "%s/orthanc-storage", tmp);
    json_object_object_add(c, "StorageDirectory", json_object_new_string(buf));
    json_object_object_add(c, "IndexDirectory", json_object_new_string(buf));
    json_object_object_add(c, "HttpPort", json_object_new_int(http_port));
    json_object_object_add(c, "DicomPort", json_object_new_int(dicom_port));
    json_object_object_add(c, "DicomAet", json_object_new_string("MMDXORTHANC"));
    json_object_object_add(c, "RemoteAccessAllowed", json_object_new_boolean(0));
    json_object_object_add(c, "AuthenticationEnabled", json_object_new_boolean(0));
    json_object_object_add(c, "StableAge", json_object_new_int(2));
    json_object_object_add(c, "HttpTimeout", json_object_new_int(30));
    json_object_object_add(c, "ConcurrentJobs", json_object_new_int(1));
    json_object *plugins = json_object_new_array();
    json_object_array_add(plugins, json_object_new_string(MMDX_ORTHANC_PLUGIN_PATH));
    json_object_object_add(c, "Plugins", plugins);
    json_object *m = json_object_new_object();
    snprintf(buf, sizeof buf, "%s/model.mmdx", tmp);
    json_object_object_add(m, "Model", json_object_new_string(buf));
    json_object_object_add(m, "Database", json_object_new_string(dsn));
    snprintf(buf, sizeof buf, "%s/lib/mmdx/plugins", mmdx_test_build_dir());
    json_object_object_add(m, "PluginFolder", json_object_new_string(buf));
    json_object *g = json_object_new_object();
    snprintf(buf, sizeof buf, "%s/cohort.vcf", tmp);
    json_object_object_add(g, "Vcf", json_object_new_string(buf));
    snprintf(buf, sizeof buf, "%s/samples.csv", tmp);
    json_object_object_add(g, "SampleMap", json_object_new_string(buf));
    json_object_object_add(m, "Genomics", g);
    snprintf(buf, sizeof buf, "%s/site.key", tmp);
    json_object_object_add(m, "SiteKey", json_object_new_string(buf));
    json_object_object_add(m, "RequireSignedModel", json_object_new_boolean(1));
    json_object_object_add(m, "Pseudonymise", json_object_new_boolean(1));
    snprintf(buf, sizeof buf, "%s/mmdx.conf", tmp);
    json_object_object_add(m, "SiteConfig", json_object_new_string(buf));
    snprintf(buf, sizeof buf, "%s/records.json", tmp);
    json_object_object_add(m, "Records", json_object_new_string(buf));
    snprintf(buf, sizeof buf, "%s/work", tmp);
    json_object_object_add(m, "WorkFolder", json_object_new_string(buf));
    json_object_object_add(m, "PollInterval", json_object_new_int(1));
    json_object_object_add(m, "RetryDelay", json_object_new_int(1));
    json_object_object_add(m, "InstitutionName", json_object_new_string("mmdx test hospital"));
    json_object *rules = json_tokener_parse(
        "[{\"Name\": \"CT volume\", \"Attributes\": {\"Modality\": \"^CT$\"},"
        "  \"Exclude\": {\"SeriesDescription\": \"scout|localizer\"}, \"IgnoreCase\": true, \"MinSlices\": 10}]");
    ck_assert_ptr_nonnull(rules);
    json_object_object_add(m, "SeriesSelection", rules);
    json_object_object_add(c, "Mmdx", m);
    ck_assert_int_eq(json_object_to_file_ext(path, c, JSON_C_TO_STRING_PRETTY), 0);
    json_object_put(c);
}

static void start_orthanc(void)
{
    char *bin = orthanc_binary();
    if (!bin) {
        const char *ci = getenv("CI");
        fprintf(stderr, "%s: Orthanc is not installed (apt-get install orthanc)\n",
                ci && strcmp(ci, "true") == 0 ? "FAIL" : "SKIP");
        exit(ci && strcmp(ci, "true") == 0 ? 1 : MMDX_TEST_SKIP);
    }
    char config[4200];
    snprintf(config, sizeof config, "%s/orthanc.json", tmp);
    snprintf(orthanc_log, sizeof orthanc_log, "%s/orthanc.log", tmp);
    orthanc = fork();
    ck_assert_int_ge(orthanc, 0);
    if (orthanc == 0) {
        char logarg[4300];
        snprintf(logarg, sizeof logarg, "--logfile=%s", orthanc_log);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execl(bin, bin, "--verbose", logarg, config, (char *)NULL);
        _exit(127);
    }
    free(bin);
    double t0 = mmdx_clock_seconds();
    char *body = NULL;
    while (mmdx_clock_seconds() - t0 < 60) {
        int status;
        if (waitpid(orthanc, &status, WNOHANG) == orthanc) {
            orthanc = -1;
            dump_log();
            ck_abort_msg("Orthanc exited at start-up (status %d)", status);
        }
        if (http("GET", "/system", NULL, 0, &body, NULL) == 200)
            break;
        free(body);
        body = NULL;
        usleep(200 * 1000);
    }
    ck_assert_msg(body != NULL, "Orthanc did not answer on port %d", http_port);
    free(body);
}

static void stop_orthanc(void)
{
    if (orthanc <= 0)
        return;
    kill(orthanc, SIGTERM);
    double t0 = mmdx_clock_seconds();
    int status = 0;
    while (mmdx_clock_seconds() - t0 < 30) {
        if (waitpid(orthanc, &status, WNOHANG) == orthanc) {
            orthanc = -1;
            ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "Orthanc exited with status %d", status);
            return;
        }
        usleep(100 * 1000);
    }
    kill(orthanc, SIGKILL);
    waitpid(orthanc, &status, 0);
    orthanc = -1;
    ck_abort_msg("Orthanc did not stop within 30 s of SIGTERM (a plugin thread hanging?)");
}

static void storescu(const char *dir)
{
    char cmd[8600];
    snprintf(cmd, sizeof cmd, "storescu -aet MMDXTEST -aec MMDXORTHANC +sd 127.0.0.1 %d '%s'", dicom_port, dir);
    free(run_ok(cmd));
}

/* ------------------------------------------------------------- the checks */

/* The Orthanc ID of the study holding `patient_id`; waits for it to appear. */
static char *study_of(const char *patient_id)
{
    double t0 = mmdx_clock_seconds();
    while (mmdx_clock_seconds() - t0 < 30) {
        json_object *list = get_json("/studies?expand", 200);
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            json_object *s = json_object_array_get_idx(list, i);
            const char *pid = jget(s, "PatientMainDicomTags.PatientID");
            if (pid && strcmp(pid, patient_id) == 0) {
                char *id = strdup(jget(s, "ID"));
                json_object_put(list);
                return id;
            }
        }
        json_object_put(list);
        usleep(200 * 1000);
    }
    ck_abort_msg("no study of patient %s in Orthanc", patient_id);
    return NULL;
}

/* Poll GET /mmdx/studies/{id} until its state is final and its finished_at differs from `after`. */
static json_object *wait_result(const char *id, const char *after, double timeout)
{
    char path[256];
    snprintf(path, sizeof path, "/mmdx/studies/%s", id);
    double t0 = mmdx_clock_seconds();
    while (mmdx_clock_seconds() - t0 < timeout) {
        char *body = NULL;
        int st = http("GET", path, NULL, 0, &body, NULL);
        if (st == 200) {
            json_object *o = json_tokener_parse(body);
            const char *state = o ? jget(o, "state") : NULL;
            const char *fin = o ? jget(o, "finished_at") : NULL;
            if (state && (strcmp(state, "done") == 0 || strcmp(state, "failed") == 0) && fin &&
                (!after || strcmp(fin, after) != 0)) {
                free(body);
                return o;
            }
            json_object_put(o);
        }
        free(body);
        usleep(300 * 1000);
    }
    dump_log();
    ck_abort_msg("study %s was not screened within %.0f s", id, timeout);
    return NULL;
}

/* The SR instances of a study: Orthanc IDs of instances in SR series. */
static size_t sr_instances(const char *study, char ids[][64], size_t max)
{
    char path[256];
    snprintf(path, sizeof path, "/studies/%s/instances?expand", study);
    json_object *list = get_json(path, 200);
    size_t n = 0;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *inst = json_object_array_get_idx(list, i);
        char spath[256];
        snprintf(spath, sizeof spath, "/series/%s", jget(inst, "ParentSeries"));
        json_object *series = get_json(spath, 200);
        const char *mod = jget(series, "MainDicomTags.Modality");
        if (mod && strcmp(mod, "SR") == 0) {
            if (n < max)
                snprintf(ids[n], 64, "%s", jget(inst, "ID"));
            n++;
        }
        json_object_put(series);
    }
    json_object_put(list);
    return n;
}

static void download(const char *instance, const char *path)
{
    char uri[256], *body = NULL;
    size_t len = 0;
    snprintf(uri, sizeof uri, "/instances/%s/file", instance);
    ck_assert_int_eq(http("GET", uri, NULL, 0, &body, &len), 200);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(body, 1, len, f), len);
    fclose(f);
    free(body);
}

static char *dump(const char *tool, const char *file)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "%s '%s'", tool, file);
    return run_ok(cmd);
}

static void check_sr(const char *study, json_object *result, const expected *e, int expect_records)
{
    char ids[4][64];
    ck_assert_uint_eq(sr_instances(study, ids, 4), 2);
    const char *tid_id = json_object_get_string(
        json_object_array_get_idx(json_object_object_get(json_object_object_get(result, "sr"), "instances"), 0));
    char path[4200];
    snprintf(path, sizeof path, "%s/sr.dcm", tmp);
    download(tid_id, path);
    char *d = dump("dcmdump -q -Un +L", path);
    ck_assert_ptr_nonnull(strstr(d, "(0008,0016) UI [1.2.840.10008.5.1.4.1.1.88.22]"));
    ck_assert_ptr_nonnull(strstr(d, "(0040,a493) CS [UNVERIFIED]"));
    char uid[256];
    snprintf(uid, sizeof uid, "(0020,000d) UI [%s]", jget(result, "study_instance_uid"));
    ck_assert_msg(strstr(d, uid) != NULL, "SR not in the screened study (%s)", uid);
    snprintf(uid, sizeof uid, "(0020,000e) UI [%s]", jget(result, "series.series_instance_uid"));
    ck_assert_msg(strstr(d, uid) != NULL, "SR does not reference the screened series");
    ck_assert_ptr_nonnull(strstr(d, "(0018,a001) SQ"));
    char sha[128];
    snprintf(sha, sizeof sha, "%s]", jget(result, "model.sha256"));
    ck_assert_msg(strstr(d, sha) != NULL, "model SHA-256 not in Contributing Equipment");
    free(d);
    d = dump("dsrdump +Pl", path);
    double p = 0;
    char *at = strstr(d, "\"Risk probability\")=\"");
    ck_assert_msg(at != NULL, "%s", d);
    ck_assert_int_eq(sscanf(at + strlen("\"Risk probability\")=\""), "%lf", &p), 1);
    ck_assert_msg(fabs(p - e->probability) <= 5e-6 * fmax(1, fabs(e->probability)),
                  "SR probability %.9g, mmdx predict %.9g", p, e->probability);
    ck_assert_ptr_nonnull(strstr(d, e->decision ? "(10828004,SCT,\"Positive\")" : "(260385009,SCT,\"Negative\")"));
#ifdef MMDX_TEST_HAVE_IMAGING
    ck_assert_ptr_nonnull(strstr(d, "Contribution of imaging to the log-odds"));
#endif
    if (expect_records)
        ck_assert_ptr_nonnull(strstr(d, "Contribution of records to the log-odds"));
    else
        ck_assert_ptr_nonnull(strstr(d, "Modality not available\")=\"records\""));
    ck_assert_ptr_nonnull(strstr(d, "Not verified by a clinician"));
    free(d);
}

/* GET /mmdx/studies/{id}/report: the study's risk, run and audit event in a page tidy accepts; the view audited. */
static void check_report_page(const char *study, json_object *res, double p)
{
    const char *run = jget(res, "run_id");
    char sql[512], path[256], want[128], file[4200], cmd[8600];
    snprintf(sql, sizeof sql, "SELECT seq::text FROM mmdx.audit_events WHERE action = 'prediction.store' AND run_id = '%s'",
             run);
    char *seq = mmdx_pgtest_value(dsn, sql);
    ck_assert_ptr_nonnull(seq);
    const char *views_sql = "SELECT count(*) FROM mmdx.audit_events WHERE action = 'results.view'";
    long long views = mmdx_pgtest_count(dsn, views_sql);
    snprintf(path, sizeof path, "/mmdx/studies/%s/report", study);
    char *page = NULL;
    ck_assert_int_eq(http("GET", path, NULL, 0, &page, NULL), 200);
    snprintf(want, sizeof want, "%.1f%%", 100 * p);
    ck_assert_msg(strstr(page, want), "the report page lacks the risk %s", want);
    ck_assert_msg(strstr(page, run), "the report page lacks the run %s", run);
    snprintf(want, sizeof want, "<td>%s</td>", seq);
    ck_assert_msg(strstr(page, want), "the report page lacks the audit event %s", seq);
    ck_assert_ptr_null(strstr(page, "src=\"http"));
    ck_assert_int_eq(mmdx_pgtest_count(dsn, views_sql), views + 1);
    snprintf(file, sizeof file, "%s/study-report.html", tmp);
    mmdx_test_write_file(file, page);
    snprintf(cmd, sizeof cmd, "tidy -errors -q '%s'", file);
    free(run_ok(cmd));
    free(page);
    free(seq);
    ck_assert_int_eq(http("GET", "/mmdx/studies/0000000-no-such-study/report", NULL, 0, &page, NULL), 404);
    free(page);
}

START_TEST(orthanc_end_to_end)
{
    mmdx_test_data_or_skip();
    tmp = mmdx_test_tmpdir();
    db = mmdx_pgtest_create_db("orthanc_it");
    dsn = mmdx_pgtest_admin_dsn(db);
    expected e;
    orthanc_test_train_model(tmp, &e);
    http_port = free_port();
    dicom_port = free_port();
    while (dicom_port == http_port)
        dicom_port = free_port();
    write_config();
    start_orthanc();

    /* plugin status before anything arrives */
    json_object *st = get_json("/mmdx/status", 200);
    ck_assert_str_eq(jget(st, "enabled"), "true");
    json_object_put(st);

    /* 1. a CT study and its patient's records: screened, SR back in the study */
    char *ct = mmdx_test_data_path("dicom/ibsi1_ct_phantom_PAT1/image");
    double t0 = mmdx_clock_seconds();
    storescu(ct);
    char *study = study_of("1");
    json_object *r = wait_result(study, NULL, 240);
    ck_assert_msg(strcmp(jget(r, "state"), "done") == 0, "screening failed: %s", jget(r, "error"));
    fprintf(stderr, "orthanc: first study screened %.1f s after storescu began\n", mmdx_clock_seconds() - t0);
    json_object *res = json_object_object_get(r, "result");
    double p = json_object_get_double(json_object_object_get(res, "probability"));
    ck_assert_msg(fabs(p - e.probability) <= 1e-9 * fmax(1, p), "REST probability %.17g, mmdx predict %.17g", p,
                  e.probability);
    ck_assert_int_eq(json_object_get_int(json_object_object_get(res, "decision")), e.decision);
#ifdef MMDX_TEST_HAVE_IMAGING
    ck_assert_str_eq(jget(res, "modalities_present.imaging"), "true");
#else
    ck_assert_ptr_null(jget(res, "modalities_present.imaging")); /* this build has no imaging encoder */
#endif
    ck_assert_str_eq(jget(res, "modalities_present.records"), "true");
    ck_assert_str_eq(jget(res, "modalities_present.genomics"), "true"); /* sample S_B via the map */
    ck_assert_str_eq(jget(res, "series.slices"), "60");
    ck_assert_str_eq(jget(res, "series.rule"), "CT volume");
    ck_assert_str_eq(jget(res, "verified"), "false");
    check_sr(study, res, &e, 1);

    /* the database row and the audit chain */
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM mmdx.predictions WHERE study_uid = '%s' AND abs(probability - %.17g) < 1e-9",
             jget(res, "study_instance_uid"), e.probability);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, sql), 1);
    /* the model is joint fusion: its fused vector is stored with the result, as mmdx screen does */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM mmdx.predictions WHERE study_uid = '%s' AND cardinality(embedding) = 32",
             jget(res, "study_instance_uid"));
    ck_assert_int_eq(mmdx_pgtest_count(dsn, sql), 1);
    /* and each modality's token: the study's imaging token is there (not NaN) */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM mmdx.predictions WHERE study_uid = '%s' AND "
             "cardinality(modality_embeddings) >= 32 AND cardinality(modality_embeddings) %% 32 = 0 AND "
             "(SELECT count(*) FROM unnest(modality_embeddings) v WHERE v <> 'NaN') >= 32",
             jget(res, "study_instance_uid"));
    ck_assert_int_eq(mmdx_pgtest_count(dsn, sql), 1);
    /* pseudonymised: no PatientID in the database */
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions WHERE patient LIKE 'psn:%' AND pseudonymised"), 1);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'orthanc.sr.write'"), 1);
    ck_assert_str_eq(jget(res, "model.signature_verified"), "true");
    char cmd[8600];
    snprintf(cmd, sizeof cmd, "'%s' audit verify --require-hmac --site-key '%s/site.key' --db \"%s\"", mmdx_test_mmdx_bin(), tmp, dsn);
    free(run_ok(cmd));
    check_report_page(study, res, p);

    /* 2. StableStudy fires again (our SR changed the study): nothing new */
    char *fin = strdup(jget(r, "finished_at"));
    json_object_put(r);
    r = wait_result(study, fin, 60);
    ck_assert_str_eq(jget(r, "state"), "done");
    char ids[4][64];
    ck_assert_uint_eq(sr_instances(study, ids, 4), 2);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.runs"), 1);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'orthanc.sr.write'"), 1);

    /* 3. POST .../screen re-runs: a new run, the old reports replaced */
    char path[256], *body = NULL;
    snprintf(path, sizeof path, "/mmdx/studies/%s/screen", study);
    ck_assert_int_eq(http("POST", path, "", 0, &body, NULL), 202);
    free(body);
    free(fin);
    fin = strdup(jget(r, "finished_at"));
    json_object_put(r);
    r = wait_result(study, fin, 120);
    ck_assert_str_eq(jget(r, "state"), "done");
    ck_assert_str_eq(jget(r, "result.forced"), "true");
    ck_assert_uint_eq(sr_instances(study, ids, 4), 2);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.runs"), 2);
    check_sr(study, json_object_object_get(r, "result"), &e, 1);
    json_object_put(r);
    ck_assert_int_eq(http("POST", "/mmdx/studies/0000000-no-such-study/screen", "", 0, &body, NULL), 404);
    free(body);
    ck_assert_int_eq(http("GET", "/mmdx/studies/0000000-no-such-study", NULL, 0, &body, NULL), 404);
    free(body);

    /* 4. a study no rule selects (one MR slice): failed, audited, Orthanc unharmed */
    char *mr = mmdx_test_data_path("dicom/pydicom_debian/MR_small.dcm");
    snprintf(cmd, sizeof cmd, "storescu -aet MMDXTEST -aec MMDXORTHANC 127.0.0.1 %d '%s'", dicom_port, mr);
    free(run_ok(cmd));
    char *mr_study = study_of("4MR1");
    r = wait_result(mr_study, NULL, 60);
    ck_assert_str_eq(jget(r, "state"), "failed");
    ck_assert_msg(strstr(jget(r, "error"), "no series matches the selection rules") != NULL, "%s", jget(r, "error"));
    json_object_put(r);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'orthanc.screen'"
                                            " AND outcome = 8"),
                     1);

    /* 5. the database goes away: Orthanc keeps serving; the study waits and is screened afterwards */
    char *admin = mmdx_pgtest_admin_dsn(NULL);
    snprintf(sql, sizeof sql,
             "ALTER DATABASE %s ALLOW_CONNECTIONS false; SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE datname = '%s' AND pid <> pg_backend_pid()",
             db, db);
    mmdx_pgtest_exec(admin, sql);
    char *sts = mmdx_test_data_path("dicom/ibsi_validation_STS_025/CT/image");
    storescu(sts);
    char *sts_study = study_of("STS_025");
    sleep(4); /* past StableAge: the plugin has seen the study */
    double q0 = mmdx_clock_seconds();
    st = get_json("/mmdx/status", 200);
    ck_assert_msg(mmdx_clock_seconds() - q0 < 15, "GET /mmdx/status took %.1f s during the outage", mmdx_clock_seconds() - q0);
    ck_assert_ptr_nonnull(jget(st, "database_error"));
    json_object_put(st);
    q0 = mmdx_clock_seconds();
    json_object_put(get_json("/system", 200));
    ck_assert_msg(mmdx_clock_seconds() - q0 < 2, "Orthanc blocked during the outage");
    snprintf(path, sizeof path, "/mmdx/studies/%s", sts_study);
    ck_assert_int_eq(http("GET", path, NULL, 0, &body, NULL), 503);
    free(body);
    snprintf(sql, sizeof sql, "ALTER DATABASE %s ALLOW_CONNECTIONS true", db);
    mmdx_pgtest_exec(admin, sql);
    r = wait_result(sts_study, NULL, 240);
    ck_assert_msg(strcmp(jget(r, "state"), "done") == 0, "%s", jget(r, "error"));
    ck_assert_str_eq(jget(r, "result.modalities_present.records"), "false"); /* no records for this patient */
    ck_assert_str_eq(jget(r, "result.modalities_present.genomics"), "false"); /* nor a sample in the map */
    ck_assert_str_eq(jget(r, "result.series.slices"), "47");
    json_object_put(r);
    ck_assert_uint_eq(sr_instances(sts_study, ids, 4), 2);
    snprintf(cmd, sizeof cmd, "'%s' audit verify --require-hmac --site-key '%s/site.key' --db \"%s\"", mmdx_test_mmdx_bin(), tmp, dsn);
    free(run_ok(cmd));

    stop_orthanc();
    free(admin);
    free(sts);
    free(sts_study);
    free(mr);
    free(mr_study);
    free(fin);
    free(study);
    free(ct);
    mmdx_test_rmtree(tmp);
    free(tmp);
    free(dsn);
    free(db);
}
END_TEST

static void cleanup(void)
{
    if (orthanc > 0) {
        kill(orthanc, SIGKILL);
        waitpid(orthanc, NULL, 0);
    }
}

int main(void)
{
#ifdef MMDX_SANITIZE_BUILD
    /* Orthanc is not instrumented; with the sanitizer runtimes preloaded it
     * deadlocks in glibc's locale lock (std::locale, json-c's newlocale)
     * before serving. The plugin's code runs under the sanitizers in the
     * other orthanc tests (units, queue, screening with a fake PACS). */
    fprintf(stderr, "SKIP: a real Orthanc cannot load a sanitizer-instrumented plugin (see docs/orthanc.md)\n");
    exit(MMDX_TEST_SKIP);
#endif
    mmdx_test_data_or_skip(); /* here, not inside the forked test: exit 77 must reach ctest */
    mmdx_pgtest_state_dir();
    atexit(cleanup);
    Suite *s = suite_create("orthanc_integration");
    TCase *tc = tcase_create("orthanc");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, orthanc_end_to_end);
    suite_add_tcase(s, tc);
    return mmdx_test_run_suite(s);
}
