/* SPDX-License-Identifier: Apache-2.0 */
/* What the `mmdx screen` test programs share (screen_runs.h). */
#include "screen_runs.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "screen_fixture.h"
#include "testsupport.h"

char *tmp;
const char *cohort, *conf, *key, *model;
int n_patients;
size_t expected_screened;
static mmdx_screen_fixture fx; /* the cohort and model */
static char *reference;        /* the uninterrupted run's stored rows */

void sh(const char *cmd)
{
    char *out = NULL, *err = NULL;
    int rc = mmdx_test_run(cmd, &out, &err);
    ck_assert_msg(rc == 0, "command failed (%d): %s\n%s%s", rc, cmd, out ? out : "", err ? err : "");
    free(out);
    free(err);
}

void mmdx_screen_runs_setup(int n, double missing)
{
    tmp = mmdx_test_tmpdir();
    mmdx_screen_fixture_make_with(&fx, tmp, n, 21, missing, NULL);
    cohort = fx.cohort, conf = fx.conf, key = fx.key, model = fx.model;
    n_patients = fx.patients;
    expected_screened = (size_t)fx.screenable;
}

void mmdx_screen_runs_teardown(void)
{
    mmdx_test_rmtree(tmp);
    free(tmp);
    free(reference);
    reference = NULL;
}

char *new_db(const char *prefix) { return mmdx_screen_fixture_db(prefix, NULL); }

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

void slow_batches(const char *dsn, double seconds) { mmdx_screen_fixture_slow(dsn, seconds); }

void fast_batches(const char *dsn) { mmdx_screen_fixture_fast(dsn); }

pid_t start_background(const char *cmd) { return mmdx_test_spawn(cmd); }

void sleep_ms(long ms) { mmdx_test_sleep_ms(ms); }
