/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Row 4 of the reliability matrix (docs/reliability.md): concurrency. Four
 * `mmdx screen --shard K/4` processes write into one database at once, each
 * storing one prediction per transaction so that their appends interleave;
 * afterwards every patient is stored once, the log is one valid chain, and
 * it holds exactly the events the runs account for.
 */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pgtest.h"
#include "screen_fixture.h"
#include "testsupport.h"

#define SHARDS 4
#define PATIENTS 120

START_TEST(four_shards_at_once_store_each_patient_once_in_one_chain)
{
    char *tmp = mmdx_test_tmpdir();
    mmdx_screen_fixture fx;
    mmdx_screen_fixture_make(&fx, tmp, PATIENTS, 29);
    char *dsn = mmdx_screen_fixture_db("concurrent", NULL);
    long long before = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events");

    pid_t pids[SHARDS];
    for (int k = 0; k < SHARDS; k++) {
        char *extra = mmdx_test_strf("--shard %d/%d --threads 1 --batch 1", k + 1, SHARDS);
        char *cmd = mmdx_screen_fixture_command(&fx, NULL, dsn, extra);
        pids[k] = mmdx_test_spawn(cmd);
        free(cmd), free(extra);
    }
    int exits_ok = 1;
    for (int k = 0; k < SHARDS; k++) {
        int status;
        waitpid(pids[k], &status, 0);
        /* 3: this shard had patients with neither modality (listed, not screened) */
        exits_ok &= WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3);
    }

    long long preds = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.predictions");
    long long patients = mmdx_pgtest_count(dsn, "SELECT count(DISTINCT patient) FROM mmdx.predictions");
    long long runs = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.runs");
    long long events = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events");
    long long last = mmdx_pgtest_count(dsn, "SELECT max(seq) FROM mmdx.audit_events");
    long long stores = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = "
                                              "'prediction.store'");
    long long fails = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action = "
                                             "'prediction.fail'");
    long long doubles = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action IN "
                                               "('prediction.duplicate', 'prediction.conflict')");
    long long run_events = mmdx_pgtest_count(dsn, "SELECT count(*) FROM mmdx.audit_events WHERE action IN "
                                                  "('run.start', 'run.end')");
    /* how often the chain passes from one run's prediction to another's: the writers' appends interleaved */
    long long switches = mmdx_pgtest_count(
        dsn, "SELECT count(*) FROM (SELECT run_id, lag(run_id) OVER (ORDER BY seq) AS prev FROM mmdx.audit_events "
             "WHERE action = 'prediction.store') s WHERE run_id <> prev");
    char *actions = mmdx_pgtest_value(dsn, "SELECT string_agg(action || '=' || n, ' ') FROM (SELECT action, count(*) "
                                           "AS n FROM mmdx.audit_events GROUP BY action ORDER BY action) a");

    char *cmd = mmdx_test_strf("'%s' audit verify --db '%s' --site-key '%s' --require-hmac", mmdx_test_mmdx_bin(), dsn,
                               fx.key);
    char *out = NULL, *err = NULL;
    int verify = mmdx_test_run(cmd, &out, &err);

    /* Every event a run accounts for, and nothing else: its start and end, one event per
     * patient of its shard (stored, or failed for want of a modality), after the migrations. */
    long long expected = before + 2 * SHARDS + PATIENTS;
    int once = preds == fx.screenable && patients == fx.screenable && stores == fx.screenable && doubles == 0;
    int chain = verify == 0 && last == events && events == expected && run_events == 2 * SHARDS && runs == SHARDS &&
                fails == PATIENTS - fx.screenable;
    mmdx_test_reliability(4, "4 shards at once: every patient once", exits_ok && once,
                          "%lld patients stored by %lld runs, %lld duplicates (%d screenable of %d)", patients, runs,
                          preds - patients, fx.screenable, PATIENTS);
    mmdx_test_reliability(4, "4 shards at once: one valid chain", chain,
                          "chain of %lld events (expected %lld), verify exit %d, %lld switches between runs", events,
                          expected, verify, switches);
    ck_assert_msg(exits_ok, "a shard failed");
    ck_assert_msg(once, "predictions %lld, patients %lld, store events %lld, duplicate/conflict events %lld, "
                        "screenable %d", preds, patients, stores, doubles, fx.screenable);
    ck_assert_msg(chain, "verify %d: %s%s\nevents %lld (last seq %lld), expected %lld: %s", verify, out, err, events,
                  last, expected, actions);
    free(out), free(err), free(cmd), free(actions);
    free(dsn);
    mmdx_test_rmtree(tmp);
    free(tmp);
}
END_TEST

int main(void)
{
    mmdx_pgtest_state_dir();
    Suite *s = suite_create("screen_concurrent");
    TCase *t = tcase_create("shards");
    tcase_set_timeout(t, 240);
    tcase_add_test(t, four_shards_at_once_store_each_patient_once_in_one_chain);
    suite_add_tcase(s, t);
    return mmdx_test_run_suite(s);
}
