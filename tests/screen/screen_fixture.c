/* SPDX-License-Identifier: Apache-2.0 */
/* What the `mmdx screen` test programs share (screen_fixture.h). */
#include "screen_fixture.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "csv.h"
#include "pgtest.h"
#include "testsupport.h"

char *tmp;
char cohort[4096], conf[4096], key[4096], model[4096];
int n_patients;
size_t expected_screened;
static char *reference; /* the uninterrupted run's stored rows */

void sh(const char *cmd)
{
    char *out = NULL, *err = NULL;
    int rc = mmdx_test_run(cmd, &out, &err);
    ck_assert_msg(rc == 0, "command failed (%d): %s\n%s%s", rc, cmd, out ? out : "", err ? err : "");
    free(out);
    free(err);
}

void mmdx_screen_fixture_cohort(int n, double missing)
{
    n_patients = n;
    tmp = mmdx_test_tmpdir();
    char cmd[16384];
    snprintf(cohort, sizeof cohort, "%s/cohort", tmp);
    snprintf(conf, sizeof conf, "%s/mmdx.conf", cohort);
    snprintf(key, sizeof key, "%s/site.key", tmp);
    snprintf(model, sizeof model, "%s/model.mmdx", tmp);
    snprintf(cmd, sizeof cmd, "'%s' synth --patients %d --out '%s' --seed 21 --missing %g --image-size 16 --slices 6 "
             "--threads 2 --no-progress", mmdx_test_mmdx_bin(), n, cohort, missing);
    sh(cmd);
    mmdx_test_write_file(key, "0123456789abcdef0123456789abcdef-screen-test-key\n");
    chmod(key, 0600);
    snprintf(cmd, sizeof cmd, "'%s' train --cohort '%s/cohort.csv' --config '%s' --modalities genomics,records "
             "--fusion late --site-key '%s' --out '%s' --no-progress", mmdx_test_mmdx_bin(), cohort, conf, key, model);
    sh(cmd);
    char path[8192];
    snprintf(path, sizeof path, "%s/truth.csv", cohort);
    mmdx_csv_reader *r;
    ck_assert_int_eq(mmdx_csv_open(&r, path, ','), 0);
    char **f;
    size_t nf;
    expected_screened = 0;
    ck_assert_int_eq(mmdx_csv_next(r, &f, &nf), 1);
    while (mmdx_csv_next(r, &f, &nf) == 1)
        expected_screened += strcmp(f[8], "1") == 0 || strcmp(f[9], "1") == 0;
    mmdx_csv_close(r);
}

void mmdx_screen_fixture_teardown(void)
{
    mmdx_test_rmtree(tmp);
    free(tmp);
    free(reference);
    reference = NULL;
}

char *new_db(const char *prefix)
{
    char *name = mmdx_pgtest_create_db(prefix);
    char *dsn = mmdx_pgtest_admin_dsn(name);
    free(name);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' db migrate --db '%s'", mmdx_test_mmdx_bin(), dsn);
    sh(cmd);
    return dsn;
}

void screen_cmd(char *buf, size_t cap, const char *dsn, const char *extra)
{
    snprintf(buf, cap, "'%s' screen --model '%s' --cohort '%s/cohort.csv' --config '%s' --site-key '%s' --db '%s' "
             "--no-progress --json %s", mmdx_test_mmdx_bin(), model, cohort, conf, key, dsn, extra);
}

int screen(const char *dsn, const char *extra, json_object **summary, char **err_text)
{
    char cmd[16384];
    screen_cmd(cmd, sizeof cmd, dsn, extra);
    char *out = NULL, *err = NULL;
    int rc = mmdx_test_run(cmd, &out, &err);
    *summary = out ? json_tokener_parse(out) : NULL;
    ck_assert_msg(*summary != NULL, "no JSON summary from: %s\nstdout: %s\nstderr: %s", cmd, out ? out : "",
                  err ? err : "");
    free(out);
    if (err_text)
        *err_text = err;
    else
        free(err);
    return rc;
}

long long jint(json_object *o, const char *k)
{
    json_object *v;
    ck_assert_msg(json_object_object_get_ex(o, k, &v), "summary lacks %s", k);
    return json_object_get_int64(v);
}

static const char *const content_sql =
    "SELECT coalesce(string_agg(patient || '|' || probability::text || '|' || coalesce(decision::text, '') || '|' "
    "|| contributions || '|' || input_hashes, E'\\n' ORDER BY patient), '') FROM mmdx.predictions";

char *content(const char *dsn) { return mmdx_pgtest_value(dsn, content_sql); }

void check_exactly_once(const char *dsn, size_t n)
{
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions"), (long long)n);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(DISTINCT patient) FROM mmdx.predictions"), (long long)n);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = "
                                            "'prediction.conflict'"), 0);
    ck_assert_int_eq(mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = "
                                            "'prediction.store'"), (long long)n);
    char cmd[8192];
    /* every event of a screening run is keyed: the screen's and this review's own */
    snprintf(cmd, sizeof cmd, "'%s' audit verify --require-hmac --site-key '%s' --db '%s'", mmdx_test_mmdx_bin(),
             key, dsn);
    sh(cmd);
}

const char *reference_content(void)
{
    if (!reference) {
        char *dsn = new_db("screen_ref");
        json_object *s;
        int rc = screen(dsn, "", &s, NULL);
        /* Patients with only a CT series have nothing for this model: listed, exit 3. */
        ck_assert_int_eq(rc, expected_screened < (size_t)n_patients ? 3 : 0);
        ck_assert_int_eq(jint(s, "screened"), (long long)expected_screened);
        ck_assert_int_eq(jint(s, "failed"), (long long)((size_t)n_patients - expected_screened));
        ck_assert_int_eq(jint(s, "stored"), (long long)expected_screened);
        json_object_put(s);
        check_exactly_once(dsn, expected_screened);
        reference = content(dsn);
        ck_assert_ptr_nonnull(reference);
        free(dsn);
    }
    return reference;
}

/* The statement trigger lets a test act between two batches whatever the machine's speed. */
void slow_batches(const char *dsn, double seconds)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "CREATE OR REPLACE FUNCTION public.mmdx_test_slow() RETURNS trigger LANGUAGE plpgsql AS "
             "$$ BEGIN PERFORM pg_sleep(%g); RETURN NULL; END $$; "
             "CREATE TRIGGER mmdx_test_slow AFTER INSERT ON mmdx.predictions FOR EACH STATEMENT "
             "EXECUTE FUNCTION public.mmdx_test_slow()", seconds);
    mmdx_pgtest_exec(dsn, sql);
}

void fast_batches(const char *dsn)
{
    mmdx_pgtest_exec(dsn, "DROP TRIGGER mmdx_test_slow ON mmdx.predictions");
}

pid_t start_background(const char *cmd)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

