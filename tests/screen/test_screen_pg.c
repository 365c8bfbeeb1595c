/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `mmdx screen` end to end against a real PostgreSQL: a generated cohort, a
 * signed model trained on it, then single-process, killed-and-resumed,
 * sharded, faulty-input, refused-model and database-outage runs, each
 * checked against the database's content and the audit log.
 */
#include <check.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "csv.h"
#include "pgtest.h"
#include "screen_runs.h"
#include "testsupport.h"

#define N_PATIENTS 36

static void setup(void)
{
    mmdx_screen_runs_setup(N_PATIENTS, 0.2);
    ck_assert(expected_screened > N_PATIENTS / 2 && expected_screened < N_PATIENTS);
}

START_TEST(single_process_run_stores_every_patient_once_with_audit)
{
    const char *ref = reference_content();
    ck_assert_ptr_nonnull(strstr(ref, "SYN000001|") ? ref : "SYN000002|");
    /* Running the same command again finds nothing left to do. */
    char *dsn = new_db("screen_again");
    json_object *s;
    int rc = screen(dsn, "", &s, NULL);
    ck_assert_int_eq(jint(s, "stored"), (long long)expected_screened);
    json_object_put(s);
    rc = screen(dsn, "", &s, NULL);
    ck_assert_int_eq(jint(s, "screened"), 0);
    ck_assert_int_eq(jint(s, "already_done"), (long long)expected_screened);
    json_object *v;
    ck_assert(json_object_object_get_ex(s, "resumed", &v) && json_object_get_boolean(v));
    json_object_put(s);
    (void)rc;
    check_exactly_once(dsn, expected_screened);
    char *c = content(dsn);
    ck_assert_str_eq(c, ref);
    free(c);
    free(dsn);
}
END_TEST

/* Defect: a finished `--out` run, run again, re-encoded every patient and logged a duplicate for
 * each. It must do nothing; and a --out of another run is refused before run.start is recorded. */
START_TEST(a_finished_run_run_again_does_nothing)
{
    char *dsn = new_db("screen_done");
    char cmd[16384], ok[8192], out_csv[8192];
    snprintf(ok, sizeof ok, "%s/cohort_ok.csv", cohort);
    snprintf(out_csv, sizeof out_csv, "%s/done.csv", tmp);
    /* the patients this model can screen, so that the run finishes without failures */
    snprintf(cmd, sizeof cmd, "awk -F, 'NR==FNR { if ($9 == \"1\" || $10 == \"1\") keep[$1] = 1; next } "
             "FNR == 1 || keep[$1]' '%s/truth.csv' '%s/cohort.csv' > '%s'", cohort, cohort, ok);
    sh(cmd);
    char base[16384];
    snprintf(base, sizeof base, "'%s' screen --model '%s' --cohort '%s' --config '%s' --site-key '%s' --db '%s' "
             "--no-progress --json", mmdx_test_mmdx_bin(), model, ok, conf, key, dsn);
    char *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s --out '%s'", base, out_csv);
    ck_assert_msg(mmdx_test_run(cmd, &out, &err) == 0, "%s", err);
    json_object *s = json_tokener_parse(out);
    ck_assert_int_eq(jint(s, "stored"), (long long)expected_screened);
    json_object_put(s);
    free(out), free(err);
    size_t len1 = 0, len2 = 0;
    char *first = mmdx_test_read_file(out_csv, &len1);
    long long events = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events");
    /* the run's parameters are a JSON object in its run.start event, not a string holding JSON */
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'run.start' "
                                            "AND detail::json -> 'parameters' ->> 'command' = 'screen'"), 1);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE strpos(detail, '\\/') > 0"),
                     0);

    ck_assert_msg(mmdx_test_run(cmd, &out, &err) == 0, "%s", err);
    s = json_tokener_parse(out);
    json_object *v;
    ck_assert(json_object_object_get_ex(s, "already_complete", &v) && json_object_get_boolean(v));
    ck_assert_int_eq(jint(s, "screened"), 0);
    ck_assert_int_eq(jint(s, "already_done"), (long long)expected_screened);
    json_object_put(s);
    ck_assert_msg(strstr(err, "already complete") != NULL, "%s", err);
    free(out), free(err);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events"), events);
    char *second = mmdx_test_read_file(out_csv, &len2);
    ck_assert_uint_eq(len1, len2);
    ck_assert_int_eq(memcmp(first, second, len1), 0);
    char partial[8300];
    snprintf(partial, sizeof partial, "%s.partial", out_csv);
    ck_assert_int_ne(access(partial, F_OK), 0);
    free(first), free(second);

    /* --out naming another run's journal: exit 2, and no run.start recorded for this one. */
    char *other = mmdx_pgtest_create_db("screen_other");
    char *odsn = mmdx_pgtest_admin_dsn(other);
    snprintf(cmd, sizeof cmd, "'%s' db migrate --db '%s'", mmdx_test_mmdx_bin(), odsn);
    sh(cmd);
    long long before = mmdx_pgtest_count(odsn, "SELECT count(*) FROM mmdx.audit_events");
    snprintf(partial, sizeof partial, "%s/theirs.csv.partial", tmp);
    mmdx_test_write_file(partial, "# mmdx screen journal v1 run 00000000-0000-8000-8000-000000000000\n"
                                  "patient_id,probability\n");
    snprintf(cmd, sizeof cmd, "'%s' screen --model '%s' --cohort '%s' --config '%s' --site-key '%s' --db '%s' "
             "--no-progress --out '%s/theirs.csv'", mmdx_test_mmdx_bin(), model, ok, conf, key, odsn, tmp);
    ck_assert_int_eq(mmdx_test_run(cmd, &out, &err), 2);
    ck_assert_msg(strstr(err, "belongs to another screening run") != NULL, "%s", err);
    free(out), free(err);
    ck_assert_int_eq(mmdx_pgtest_count(odsn, "SELECT count(*) FROM mmdx.audit_events"), before);
    ck_assert_int_eq(mmdx_pgtest_count(odsn, "SELECT count(*) FROM mmdx.runs"), 0);
    free(odsn), free(other);
    free(dsn);
}
END_TEST

/* Defect: Ctrl-C printed no summary, no hint, and logged no run.end. Now SIGINT stops between two
 * batches: exit 130, the summary with "interrupted", run.end recorded, and a rerun completes. */
START_TEST(ctrl_c_stops_between_batches_then_resumes)
{
    char *dsn = new_db("screen_int");
    slow_batches(dsn, 0.2);
    char extra[9000], cmd[32768], exec_cmd[33500], jpath[8192], epath[8192];
    snprintf(extra, sizeof extra, "--batch 2 --threads 1");
    screen_cmd(cmd, sizeof cmd, dsn, extra);
    snprintf(jpath, sizeof jpath, "%s/int.json", tmp);
    snprintf(epath, sizeof epath, "%s/int.err", tmp);
    snprintf(exec_cmd, sizeof exec_cmd, "exec %s > '%s' 2> '%s'", cmd, jpath, epath);
    pid_t pid = start_background(exec_cmd);
    long long stored = 0;
    for (int i = 0; i < 3000 && stored < 4; i++) {
        sleep_ms(10);
        stored = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions");
    }
    ck_assert_int_eq(kill(pid, SIGINT), 0);
    int status;
    waitpid(pid, &status, 0);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 130, "status %d", status);
    char *text = mmdx_test_read_file(jpath, NULL), *err = mmdx_test_read_file(epath, NULL);
    json_object *s = json_tokener_parse(text);
    ck_assert_msg(s != NULL, "%s", text);
    json_object *v;
    ck_assert(json_object_object_get_ex(s, "interrupted", &v) && json_object_get_boolean(v));
    json_object_put(s);
    ck_assert_msg(strstr(err, "run the same command again to resume") != NULL, "%s", err);
    free(text), free(err);
    stored = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions");
    ck_assert_msg(stored >= 4 && stored < (long long)expected_screened, "stopped after %lld", stored);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'run.end' "
                                            "AND outcome = 4 AND detail::json ->> 'interrupted' = 'true'"), 1);
    fast_batches(dsn);
    int rc = screen(dsn, extra, &s, NULL);
    ck_assert_int_eq(rc, expected_screened < N_PATIENTS ? 3 : 0);
    ck_assert_int_eq(jint(s, "stored") + stored, (long long)expected_screened);
    json_object_put(s);
    check_exactly_once(dsn, expected_screened);
    free(dsn);
}
END_TEST

START_TEST(kill_9_mid_run_then_resume_stores_each_patient_exactly_once)
{
    const char *ref = reference_content();
    char *dsn = new_db("screen_kill");
    slow_batches(dsn, 0.2);
    char out[8192], extra[9000], cmd[32768];
    snprintf(out, sizeof out, "%s/killed.csv", tmp);
    snprintf(extra, sizeof extra, "--batch 2 --threads 1 --out '%s'", out);
    screen_cmd(cmd, sizeof cmd, dsn, extra);
    char exec_cmd[33000];
    snprintf(exec_cmd, sizeof exec_cmd, "exec %s", cmd);
    pid_t pid = start_background(exec_cmd);
    long long stored = 0;
    for (int i = 0; i < 3000 && stored < 4; i++) {
        sleep_ms(10);
        stored = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions");
    }
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFSIGNALED(status));
    stored = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions");
    ck_assert_msg(stored >= 4 && stored < (long long)expected_screened, "killed after %lld of %zu", stored,
                  expected_screened);
    struct stat st;
    ck_assert_int_ne(stat(out, &st), 0); /* the CSV appears only when the run completes */

    fast_batches(dsn);
    json_object *s;
    int rc = screen(dsn, extra, &s, NULL);
    ck_assert_int_eq(rc, expected_screened < N_PATIENTS ? 3 : 0);
    json_object *v;
    ck_assert(json_object_object_get_ex(s, "resumed", &v) && json_object_get_boolean(v));
    /* A batch stored just before the kill but not yet in the CSV journal is screened again and
     * recognised by the store as a duplicate: never stored twice. */
    ck_assert_int_ge(jint(s, "already_done") + jint(s, "duplicates"), stored);
    ck_assert_int_eq(jint(s, "stored") + stored, (long long)expected_screened);
    ck_assert_int_eq(jint(s, "conflicts"), 0);
    json_object_put(s);
    check_exactly_once(dsn, expected_screened);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'run.resume'"),
                     1);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.runs"), 1);
    char *c = content(dsn);
    ck_assert_str_eq(c, ref);
    free(c);

    /* The CSV: one row per patient of the cohort, each once, the same as an uninterrupted run's. */
    char partial[8300];
    snprintf(partial, sizeof partial, "%s.partial", out);
    /* Kept only while some patients (here: those with nothing but a CT) remain unscreened. */
    ck_assert_int_eq(stat(partial, &st) == 0, expected_screened < N_PATIENTS);
    char *dsn2 = new_db("screen_kill_ref");
    char out2[8192], extra2[9000];
    snprintf(out2, sizeof out2, "%s/uninterrupted.csv", tmp);
    snprintf(extra2, sizeof extra2, "--out '%s'", out2);
    screen(dsn2, extra2, &s, NULL);
    json_object_put(s);
    char *a = mmdx_test_read_file(out, NULL), *b = mmdx_test_read_file(out2, NULL);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(a, b);
    size_t lines = 0;
    for (const char *p = a; *p; p++)
        lines += *p == '\n';
    ck_assert_uint_eq(lines, N_PATIENTS + 1);
    free(a);
    free(b);
    free(dsn2);
    free(dsn);
}
END_TEST

START_TEST(three_shards_in_parallel_equal_one_process)
{
    const char *ref = reference_content();
    char *dsn = new_db("screen_shards");
    pid_t pids[3];
    for (int k = 0; k < 3; k++) {
        char extra[64], cmd[16384];
        snprintf(extra, sizeof extra, "--shard %d/3 --threads 1", k + 1);
        screen_cmd(cmd, sizeof cmd, dsn, extra);
        pids[k] = start_background(cmd);
    }
    for (int k = 0; k < 3; k++) {
        int status;
        waitpid(pids[k], &status, 0);
        ck_assert(WIFEXITED(status));
        ck_assert_int_le(WEXITSTATUS(status), 3);
        ck_assert_int_ne(WEXITSTATUS(status), 1);
        ck_assert_int_ne(WEXITSTATUS(status), 2);
    }
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.runs"), 3);
    check_exactly_once(dsn, expected_screened);
    char *c = content(dsn);
    ck_assert_str_eq(c, ref);
    free(c);
    free(dsn);
}
END_TEST

START_TEST(unsigned_altered_or_wrongly_keyed_models_are_refused)
{
    char *dsn = new_db("screen_refuse");
    char cmd[16384], unsigned_model[8192], altered[8192], other_key[8192];
    snprintf(unsigned_model, sizeof unsigned_model, "%s/unsigned.mmdx", tmp);
    snprintf(cmd, sizeof cmd, "MMDX_SITE_KEY= '%s' train --cohort '%s/cohort.csv' --config '%s' --modalities "
             "genomics,records --fusion late --out '%s' --no-progress", mmdx_test_mmdx_bin(), cohort, conf,
             unsigned_model);
    sh(cmd);
    snprintf(altered, sizeof altered, "%s/altered.mmdx", tmp);
    size_t len;
    char *bytes = mmdx_test_read_file(model, &len);
    ck_assert_ptr_nonnull(bytes);
    char *thr = strstr(bytes, "threshold: 0.5");
    ck_assert_ptr_nonnull(thr);
    thr[strlen("threshold: 0.")] = '1'; /* a lower threshold: more positives */
    FILE *f = fopen(altered, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
    fclose(f);
    free(bytes);
    snprintf(other_key, sizeof other_key, "%s/other.key", tmp);
    mmdx_test_write_file(other_key, "another site's key, also long enough\n");
    chmod(other_key, 0600);
    const struct {
        const char *model, *key;
    } cases[] = {{unsigned_model, key}, {altered, key}, {model, other_key}};
    for (size_t i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "'%s' screen --model '%s' --cohort '%s/cohort.csv' --config '%s' --site-key '%s' --db "
                 "'%s' --no-progress", mmdx_test_mmdx_bin(), cases[i].model, cohort, conf, cases[i].key, dsn);
        char *err = NULL;
        int rc = mmdx_test_run(cmd, NULL, &err);
        ck_assert_msg(rc == 4, "case %zu: exit %d: %s", i, rc, err ? err : "");
        free(err);
    }
    /* Nothing reached the database. */
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.runs"), 0);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions"), 0);
    free(dsn);
}
END_TEST

/* A manifest in a folder of its own with two patients' inputs broken. Returns its path (static). */
static const char *broken_cohort(char *vcf_patient, char *record_patient)
{
    static char path[8192];
    char dir[8192], src[8192], line[8192];
    snprintf(dir, sizeof dir, "%s/broken", tmp);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/cohort.csv", dir);
    snprintf(src, sizeof src, "%s/cohort.csv", cohort);
    FILE *in = fopen(src, "r"), *out = fopen(path, "w");
    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(out);
    int row = 0, broke_vcf = 0, broke_rec = 0;
    while (fgets(line, sizeof line, in)) {
        if (row++ == 0) {
            fputs(line, out);
            continue;
        }
        char id[32], dicom[128], vcf[128], sample[64], rec[128];
        int label;
        /* SYN...,dicom?,vcf?,sample?,record?,label: empty cells are allowed */
        char *fields[6], *save = NULL, *p = line;
        for (int k = 0; k < 6; k++) {
            char *comma = strchr(p, k < 5 ? ',' : '\n');
            if (comma)
                *comma = '\0';
            fields[k] = p;
            p = comma ? comma + 1 : p + strlen(p);
        }
        (void)save;
        snprintf(id, sizeof id, "%s", fields[0]);
        snprintf(dicom, sizeof dicom, "%s", fields[1]);
        snprintf(vcf, sizeof vcf, "%s", fields[2]);
        snprintf(sample, sizeof sample, "%s", fields[3]);
        snprintf(rec, sizeof rec, "%s", fields[4]);
        label = atoi(fields[5]);
        char v[8192] = "", r[8192] = "", d[8192] = "";
        if (*dicom)
            snprintf(d, sizeof d, "%s/%s", cohort, dicom);
        if (*vcf)
            snprintf(v, sizeof v, "%s/%s", cohort, vcf);
        if (*rec)
            snprintf(r, sizeof r, "%s/%s", cohort, rec);
        if (!broke_vcf && *vcf && *rec) {
            /* a truncated VCF */
            snprintf(v, sizeof v, "%s/%s.vcf.gz", dir, id);
            char *bytes;
            size_t len;
            char full[8192];
            snprintf(full, sizeof full, "%s/%s", cohort, vcf);
            bytes = mmdx_test_read_file(full, &len);
            FILE *f = fopen(v, "wb");
            fwrite(bytes, 1, len / 2, f);
            fclose(f);
            free(bytes);
            strcpy(vcf_patient, id);
            broke_vcf = 1;
        } else if (!broke_rec && *vcf && *rec) {
            snprintf(r, sizeof r, "%s/missing-%s.json", dir, id);
            strcpy(record_patient, id);
            broke_rec = 1;
        }
        fprintf(out, "%s,%s,%s,%s,%s,%d\n", id, d, v, sample, r, label);
    }
    fclose(in);
    fclose(out);
    ck_assert(broke_vcf && broke_rec);
    return path;
}

static char *csv_status(const char *csv_path, const char *id)
{
    char *text = mmdx_test_read_file(csv_path, NULL);
    ck_assert_ptr_nonnull(text);
    char needle[64];
    snprintf(needle, sizeof needle, "\n%s,", id);
    char *line = strstr(text, needle);
    ck_assert_ptr_nonnull(line);
    line++;
    char *end = strchr(line, '\n');
    *end = '\0';
    char *copy = strdup(line);
    free(text);
    return copy;
}

START_TEST(broken_inputs_are_listed_or_screened_without_them)
{
    char vcf_id[32], rec_id[32];
    const char *manifest = broken_cohort(vcf_id, rec_id);
    char *dsn = new_db("screen_broken");
    char cmd[16384], out[8192], sql[512];
    snprintf(out, sizeof out, "%s/broken.csv", tmp);
    snprintf(cmd, sizeof cmd, "'%s' screen --model '%s' --cohort '%s' --config '%s' --site-key '%s' --db '%s' "
             "--no-progress --out '%s'", mmdx_test_mmdx_bin(), model, manifest, conf, key, dsn, out);
    char *err = NULL;
    int rc = mmdx_test_run(cmd, NULL, &err);
    ck_assert_int_eq(rc, 3);
    ck_assert_msg(strstr(err, "genomics") && strstr(err, "records") && strstr(err, "patient not screened"), "%s",
                  err);
    free(err);
    char *row = csv_status(out, vcf_id);
    ck_assert_msg(strstr(row, ",failed,genomics: ") != NULL, "%s", row);
    free(row);
    row = csv_status(out, rec_id);
    ck_assert_msg(strstr(row, ",failed,records: file, patient, sample, key... not found") ||
                      strstr(row, ",failed,records: "), "%s", row);
    free(row);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM mmdx.predictions WHERE patient IN ('%s', '%s')", vcf_id, rec_id);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, sql), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM mmdx.audit_events WHERE action = 'prediction.fail' AND patient "
             "IN ('%s', '%s')", vcf_id, rec_id);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, sql), 2);

    /* Another run's journal is not mixed into this one's CSV. */
    snprintf(cmd, sizeof cmd, "'%s' screen --model '%s' --cohort '%s' --config '%s' --site-key '%s' --db '%s' "
             "--no-progress --out '%s' --job other", mmdx_test_mmdx_bin(), model, manifest, conf, key, dsn, out);
    err = NULL;
    rc = mmdx_test_run(cmd, NULL, &err);
    ck_assert_int_eq(rc, 2); /* choose another --out */
    ck_assert_msg(strstr(err, "belongs to another screening run") != NULL, "%s", err);
    free(err);

    /* --keep-going: screened on the modality left. */
    snprintf(out, sizeof out, "%s/broken-kg.csv", tmp);
    snprintf(cmd, sizeof cmd, "'%s' screen --model '%s' --cohort '%s' --config '%s' --site-key '%s' --db '%s' "
             "--no-progress --out '%s' --keep-going --job kg", mmdx_test_mmdx_bin(), model, manifest, conf, key, dsn,
             out);
    char *json_out = NULL;
    rc = mmdx_test_run(cmd, &json_out, NULL);
    free(json_out);
    ck_assert_int_eq(rc, expected_screened < N_PATIENTS ? 3 : 0); /* only the CT-only patients remain */
    row = csv_status(out, vcf_id);
    ck_assert_msg(strstr(row, ",records,partial,genomics: ") != NULL, "%s", row);
    free(row);
    row = csv_status(out, rec_id);
    ck_assert_msg(strstr(row, ",genomics,partial,records: ") != NULL, "%s", row);
    free(row);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM mmdx.predictions WHERE patient IN ('%s', '%s')", vcf_id, rec_id);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, sql), 2);
    free(dsn);
}
END_TEST

START_TEST(database_outage_pauses_then_fails_cleanly_and_a_rerun_completes)
{
    /* No server at all: a clean failure after the wait. */
    json_object *s;
    char *err = NULL;
    time_t t0 = time(NULL);
    int rc = screen("host=127.0.0.1 port=1 dbname=x user=x connect_timeout=1", "--db-wait 2", &s, &err);
    ck_assert_int_eq(rc, 1);
    ck_assert(time(NULL) - t0 < 30);
    ck_assert_msg(strstr(err, "unavailable") && strstr(err, "resume"), "%s", err);
    ck_assert_ptr_null(strstr(err, "password"));
    free(err);
    json_object_put(s);

    /* The database goes away mid-run: the writer's login is refused and its session ended. */
    char *admin = new_db("screen_outage");
    char *dbname = mmdx_pgtest_value(admin, "SELECT current_database()");
    /* A throwaway secret for a role of the test server. */
    char secret[64], sql[256];
    snprintf(secret, sizeof secret, "t%ld%ld", (long)getpid(), (long)time(NULL));
    mmdx_pgtest_try(admin, "CREATE ROLE mmdx_screen_writer LOGIN", NULL);
    snprintf(sql, sizeof sql, "ALTER ROLE mmdx_screen_writer LOGIN PASSWORD '%s'; GRANT mmdx_writer TO "
             "mmdx_screen_writer", secret);
    mmdx_pgtest_exec(admin, sql);
    char *writer = mmdx_pgtest_role_dsn(dbname, "mmdx_screen_writer", secret);
    slow_batches(admin, 0.2);
    char cmd[16384];
    screen_cmd(cmd, sizeof cmd, writer, "--batch 2 --threads 1 --db-wait 3");
    char out_path[8192], err_path[8192], full[33000];
    snprintf(out_path, sizeof out_path, "%s/outage.json", tmp);
    snprintf(err_path, sizeof err_path, "%s/outage.err", tmp);
    snprintf(full, sizeof full, "exec %s > '%s' 2> '%s'", cmd, out_path, err_path);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", full, (char *)NULL);
        _exit(127);
    }
    long long stored = 0;
    for (int i = 0; i < 3000 && stored < 2; i++) {
        sleep_ms(10);
        stored = mmdx_pgtest_count(admin, "SELECT count(*) FROM mmdx.predictions");
    }
    mmdx_pgtest_exec(admin, "ALTER ROLE mmdx_screen_writer NOLOGIN");
    mmdx_pgtest_exec(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = "
                            "'mmdx_screen_writer'");
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status));
    char *err_text = mmdx_test_read_file(err_path, NULL);
    ck_assert_msg(WEXITSTATUS(status) == 1, "exit %d: %s", WEXITSTATUS(status), err_text);
    ck_assert_msg(strstr(err_text, "paused") && strstr(err_text, "stayed unavailable"), "%s", err_text);
    ck_assert_ptr_null(strstr(err_text, secret));
    free(err_text);
    long long kept = mmdx_pgtest_count(admin, "SELECT count(*) FROM mmdx.predictions");
    ck_assert_int_ge(kept, stored);
    ck_assert_int_lt(kept, (long long)expected_screened);

    /* Back again: the same command completes, each patient stored once. */
    fast_batches(admin);
    mmdx_pgtest_exec(admin, "ALTER ROLE mmdx_screen_writer LOGIN");
    rc = screen(writer, "--batch 2 --threads 1 --db-wait 3", &s, NULL);
    ck_assert_int_eq(rc, expected_screened < N_PATIENTS ? 3 : 0);
    json_object_put(s);
    check_exactly_once(admin, expected_screened);
    char *c = content(admin);
    ck_assert_str_eq(c, reference_content());
    free(c);
    free(writer);
    free(dbname);
    free(admin);
}
END_TEST

START_TEST(without_a_database_the_csv_journal_alone_resumes)
{
    char out[8192], cmd[16384];
    snprintf(out, sizeof out, "%s/nodb.csv", tmp);
    snprintf(cmd, sizeof cmd, "'%s' screen --model '%s' --cohort '%s/cohort.csv' --config '%s' --site-key '%s' "
             "--no-db --out '%s' --batch 5 --no-progress --json", mmdx_test_mmdx_bin(), model, cohort, conf, key, out);
    char *text = NULL;
    int rc = mmdx_test_run(cmd, &text, NULL);
    ck_assert_int_eq(rc, expected_screened < N_PATIENTS ? 3 : 0);
    json_object *s = json_tokener_parse(text);
    free(text);
    ck_assert_int_eq(jint(s, "screened"), (long long)expected_screened);
    json_object_put(s);
    char *first = mmdx_test_read_file(out, NULL);
    ck_assert_ptr_nonnull(first);
    rc = mmdx_test_run(cmd, &text, NULL);
    s = json_tokener_parse(text);
    free(text);
    if (expected_screened < N_PATIENTS) {
        /* The journal stayed (patients remain): only those are tried again. */
        ck_assert_int_eq(jint(s, "screened"), 0);
        ck_assert_int_eq(jint(s, "already_done"), (long long)expected_screened);
    }
    json_object_put(s);
    char *second = mmdx_test_read_file(out, NULL);
    ck_assert_str_eq(first, second);
    free(first);
    free(second);
}
END_TEST

/* Train a model on the cohort (train options in `opts`), then screen it into a new database: the
 * screen's exit code, its stdout in *out (caller frees), the database's DSN in *dsn. */
static int train_and_screen(const char *path, const char *opts, const char *db_prefix, const char *screen_opts,
                            char **dsn, char **out)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "'%s' train --cohort '%s/cohort.csv' --config '%s' %s --site-key '%s' --out '%s' "
             "--no-progress", mmdx_test_mmdx_bin(), cohort, conf, opts, key, path);
    sh(cmd);
    *dsn = new_db(db_prefix);
    snprintf(cmd, sizeof cmd, "'%s' screen --model '%s' --cohort '%s/cohort.csv' --config '%s' --site-key '%s' --db '%s' "
             "--no-progress --json %s", mmdx_test_mmdx_bin(), path, cohort, conf, key, *dsn, screen_opts);
    return mmdx_test_run(cmd, out, NULL);
}

START_TEST(all_three_modalities_when_the_imaging_plugin_is_built)
{
    char plugin[8192];
    snprintf(plugin, sizeof plugin, "%s/lib/mmdx/plugins/mmdx_imaging.so", mmdx_test_build_dir());
    struct stat st;
    if (stat(plugin, &st) != 0) {
        fprintf(stderr, "note: no imaging plugin in this build; the all-modality screening case is not run\n");
        return;
    }
    char m3[8192], *dsn = NULL, *out = NULL;
    snprintf(m3, sizeof m3, "%s/model3.mmdx", tmp);
    int rc = train_and_screen(m3, "--fusion late", "screen_three", "--threads 2", &dsn, &out);
    ck_assert_int_eq(rc, 0); /* every patient has at least one of the three */
    json_object *s = json_tokener_parse(out);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(jint(s, "screened"), N_PATIENTS);
    json_object *by, *v;
    ck_assert(json_object_object_get_ex(s, "by_modalities", &by));
    ck_assert(json_object_object_get_ex(by, "imaging+genomics+records", &v) && json_object_get_int(v) > 0);
    json_object_put(s);
    free(out);
    check_exactly_once(dsn, N_PATIENTS);
    /* Patients with a CT series have its fingerprint and an imaging contribution. */
    ck_assert_int_gt(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions WHERE input_hashes LIKE "
                                            "'%\"imaging\":\"%' AND contributions LIKE '%\"imaging\":%'"), 0);
    free(dsn);
}
END_TEST

START_TEST(joint_fusion_stores_each_patients_fused_embedding)
{
    char cmd[16384], mj[8192], emb[8192];
    snprintf(mj, sizeof mj, "%s/joint.mmdx", tmp);
    snprintf(emb, sizeof emb, "%s/joint_embeddings.csv", tmp);
    char *dsn = NULL, *out = NULL;
    int rc = train_and_screen(mj, "--modalities genomics,records --fusion joint", "screen_joint", "--keep-going", &dsn,
                              &out);
    free(out);
    ck_assert_int_le(rc, 3); /* patients with neither modality are listed, not screened */
    check_exactly_once(dsn, expected_screened);
    /* every stored prediction carries the model's 32-component fused vector */
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions WHERE cardinality(embedding) = 32"),
                     (long long)expected_screened);
    /* and each of the model's two modalities' tokens, NaN where the patient lacks that modality */
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions WHERE "
                                            "cardinality(modality_embeddings) = 64"),
                     (long long)expected_screened);
    ck_assert_int_gt(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions WHERE "
                                            "modality_embeddings::text LIKE '%NaN%'"), 0);
    /* ... equal, bit for bit, to what `mmdx predict --embeddings` computes for the same patient */
    snprintf(cmd, sizeof cmd, "'%s' predict --model '%s' --cohort '%s/cohort.csv' --config '%s' --site-key '%s' "
             "--out '%s/jp.csv' --embeddings '%s' --keep-going --no-progress", mmdx_test_mmdx_bin(), mj, cohort, conf,
             key, tmp, emb);
    sh(cmd);
    mmdx_csv_reader *r;
    ck_assert_int_eq(mmdx_csv_open(&r, emb, ','), 0);
    char **f;
    size_t nf, checked = 0;
    ck_assert_int_eq(mmdx_csv_next(r, &f, &nf), 1);
    ck_assert_uint_eq(nf, 1 + 32 + 2 * 32);
    while (checked < 3 && mmdx_csv_next(r, &f, &nf) == 1) {
        if (!*f[1 + 32] && !*f[1 + 64]) /* neither genomics nor records: not screened */
            continue;
        char *id = strdup(f[0]), psn_cmd[8192];
        double want[32];
        for (int c = 0; c < 32; c++)
            want[c] = strtod(f[1 + c], NULL);
        snprintf(psn_cmd, sizeof psn_cmd, "'%s' db pseudonym '%s' --site-key '%s'", mmdx_test_mmdx_bin(), id, key);
        char *psn = NULL;
        ck_assert_int_eq(mmdx_test_run(psn_cmd, &psn, NULL), 0);
        psn[strcspn(psn, "\n")] = '\0';
        char sql[1024];
        /* stored as the keyed pseudonym when the site pseudonymises, else as given */
        snprintf(sql, sizeof sql, "SELECT embedding::text FROM mmdx.predictions WHERE patient IN ('%s', '%s')", psn,
                 id);
        char *text = mmdx_pgtest_value(dsn, sql);
        ck_assert_msg(text && text[0] == '{', "no stored embedding for %s", id);
        const char *p = text + 1;
        for (int c = 0; c < 32; c++) {
            char *end;
            double v = strtod(p, &end);
            ck_assert_msg(v == want[c], "%s component %d: stored %.17g, predict %.17g", id, c, v, want[c]);
            p = end + 1;
        }
        free(text), free(psn), free(id);
        checked++;
    }
    mmdx_csv_close(r);
    ck_assert_uint_eq(checked, 3);
    /* audited like the rest: intact, then one changed component is caught */
    snprintf(cmd, sizeof cmd, "'%s' audit verify --require-hmac --site-key '%s' --db '%s'", mmdx_test_mmdx_bin(), key,
             dsn);
    sh(cmd);
    mmdx_pgtest_exec(dsn, "SET session_replication_role = replica; UPDATE mmdx.predictions SET embedding[7] = "
                          "embedding[7] + 1e-9 WHERE patient = (SELECT min(patient) FROM mmdx.predictions)");
    ck_assert_int_eq(mmdx_test_run(cmd, NULL, NULL), 4);
    free(dsn);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("screen_pg");
    TCase *tc = tcase_create("end_to_end");
    tcase_add_unchecked_fixture(tc, setup, mmdx_screen_runs_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, single_process_run_stores_every_patient_once_with_audit);
    tcase_add_test(tc, a_finished_run_run_again_does_nothing);
    tcase_add_test(tc, kill_9_mid_run_then_resume_stores_each_patient_exactly_once);
    tcase_add_test(tc, ctrl_c_stops_between_batches_then_resumes);
    tcase_add_test(tc, three_shards_in_parallel_equal_one_process);
    tcase_add_test(tc, unsigned_altered_or_wrongly_keyed_models_are_refused);
    tcase_add_test(tc, broken_inputs_are_listed_or_screened_without_them);
    tcase_add_test(tc, database_outage_pauses_then_fails_cleanly_and_a_rerun_completes);
    tcase_add_test(tc, without_a_database_the_csv_journal_alone_resumes);
    tcase_add_test(tc, all_three_modalities_when_the_imaging_plugin_is_built);
    tcase_add_test(tc, joint_fusion_stores_each_patients_fused_embedding);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return mmdx_test_run_suite(suite()); }
