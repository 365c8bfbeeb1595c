/*
 * The PostgreSQL screening queue of the Orthanc plugin, against a real
 * server (the `postgres` ctest fixture).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pgtest.h"
#include "queue.h"
#include "testsupport.h"

static char *dsn;
static char *db;

static void setup(void)
{
    db = mmdx_pgtest_create_db("orthanc_queue");
    dsn = mmdx_pgtest_admin_dsn(db);
}

static void teardown(void)
{
    free(dsn);
    free(db);
}

static long long count(const char *sql)
{
    return mmdx_pgtest_count(dsn, sql);
}

START_TEST(queue_lifecycle)
{
    mmdx_job_queue *q = NULL, *q2 = NULL;
    int orc = mmdx_job_queue_open(&q, dsn, "host-a");
    ck_assert_msg(orc == 0, "%s", mmdx_last_error());
    /* a second opener (another Orthanc) finds the schema in place */
    ck_assert_int_eq(mmdx_job_queue_open(&q2, dsn, "host-b"), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM mmdx_orthanc.schema_migrations"), 2);

    mmdx_job j;
    ck_assert_int_eq(mmdx_job_queue_claim(q, &j), 0); /* empty */
    ck_assert_int_eq(mmdx_job_queue_enqueue(q, "study-1", 0), 0);
    ck_assert_int_eq(mmdx_job_queue_enqueue(q, "study-1", 0), 0); /* StableStudy twice: one job */
    ck_assert_int_eq(mmdx_job_queue_enqueue(q, "study-2", 0), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM mmdx_orthanc.studies WHERE state = 'pending'"), 2);

    /* two workers never claim the same study */
    mmdx_job a, b, c;
    ck_assert_int_eq(mmdx_job_queue_claim(q, &a), 1);
    ck_assert_int_eq(mmdx_job_queue_claim(q2, &b), 1);
    ck_assert_str_ne(a.orthanc_id, b.orthanc_id);
    ck_assert_int_eq(mmdx_job_queue_claim(q, &c), 0);
    ck_assert_int_eq(a.attempts, 1);
    ck_assert_int_eq(a.force, 0);
    ck_assert_ptr_null(a.fingerprint);
    mmdx_job *s1 = strcmp(a.orthanc_id, "study-1") == 0 ? &a : &b;
    mmdx_job *s2 = s1 == &a ? &b : &a;

    /* a request while running: screened again afterwards */
    ck_assert_int_eq(mmdx_job_queue_enqueue(q, "study-1", 1), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM mmdx_orthanc.studies WHERE state = 'running'"), 2);
    ck_assert_int_eq(mmdx_job_queue_done(q, "study-1", "fp1",
                                         "{\"probability\": 0.25, \"sr\": {\"instances\": [\"i1\", \"i2\"]}}"),
                     0);
    ck_assert_int_eq(count("SELECT count(*) FROM mmdx_orthanc.studies WHERE orthanc_id = 'study-1' AND state = 'pending'"), 1);
    mmdx_job again;
    ck_assert_int_eq(mmdx_job_queue_claim(q, &again), 1);
    ck_assert_str_eq(again.orthanc_id, "study-1");
    ck_assert_int_eq(again.force, 1);
    ck_assert_int_eq(s1->generation, 0);
    ck_assert_int_eq(again.generation, 1); /* a forced request: a new screening, a new run */
    ck_assert_str_eq(again.fingerprint, "fp1");
    ck_assert_ptr_nonnull(strstr(again.previous_sr, "\"i1\""));
    ck_assert_int_eq(mmdx_job_queue_unchanged(q, "study-1"), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM mmdx_orthanc.studies WHERE orthanc_id = 'study-1' AND state = 'done'"
                           " AND result->>'probability' = '0.25'"),
                     1);
    char *json = NULL;
    ck_assert_int_eq(mmdx_job_queue_get(q, "study-1", &json), 0);
    ck_assert_ptr_nonnull(strstr(json, "\"state\" : \"done\""));
    ck_assert_ptr_nonnull(strstr(json, "\"probability\": 0.25"));
    free(json);
    ck_assert_int_eq(mmdx_job_queue_get(q, "nope", &json), MMDX_ENOTFOUND);

    /* a transient failure comes back after the delay; a permanent one stays failed */
    ck_assert_int_eq(mmdx_job_queue_failed(q2, s2->orthanc_id, "database went away", 3600), 0);
    ck_assert_int_eq(mmdx_job_queue_claim(q2, &c), 0); /* not due yet */
    mmdx_pgtest_exec(dsn, "UPDATE mmdx_orthanc.studies SET not_before = now() WHERE orthanc_id = 'study-2'");
    ck_assert_int_eq(mmdx_job_queue_claim(q2, &c), 1);
    ck_assert_int_eq(c.attempts, 2);
    ck_assert_int_eq(mmdx_job_queue_failed(q2, "study-2", "no series matches", -1), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM mmdx_orthanc.studies WHERE orthanc_id = 'study-2' AND state = 'failed'"
                           " AND error = 'no series matches'"),
                     1);
    ck_assert_int_eq(mmdx_job_queue_counts(q, &json), 0);
    ck_assert_ptr_nonnull(strstr(json, "\"failed\" : 1"));
    ck_assert_ptr_nonnull(strstr(json, "\"done\" : 1"));
    free(json);
    /* enqueued again (POST .../screen): pending with a fresh attempt count */
    ck_assert_int_eq(mmdx_job_queue_enqueue(q, "study-2", 1), 0);
    mmdx_job_clear(&c);
    ck_assert_int_eq(mmdx_job_queue_claim(q, &c), 1);
    ck_assert_int_eq(c.attempts, 1);

    /* a worker that died: its running jobs are recovered by the same worker name only */
    int n = -1;
    ck_assert_int_eq(mmdx_job_queue_recover(q2, &n), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(mmdx_job_queue_recover(q, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(count("SELECT count(*) FROM mmdx_orthanc.studies WHERE state = 'running'"), 0);
    /* the interrupted job was forced: it is again, as the same screening (same generation) */
    mmdx_job replay;
    ck_assert_int_eq(mmdx_job_queue_claim(q, &replay), 1);
    ck_assert_str_eq(replay.orthanc_id, "study-2");
    ck_assert_int_eq(replay.force, 1);
    ck_assert_int_eq(replay.generation, c.generation);
    ck_assert_int_eq(replay.generation, 1); /* one forced request since it was first queued */
    mmdx_job_clear(&replay);
    ck_assert_int_eq(mmdx_job_queue_recover(q, &n), 0);

    /* a lost connection is re-established on the next call */
    mmdx_pgtest_exec(dsn, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = 'mmdx-orthanc' AND pid <> pg_backend_pid()");
    int rc = mmdx_job_queue_enqueue(q, "study-3", 0);
    if (rc) /* the first call may notice the loss; the next one reconnects */
        rc = mmdx_job_queue_enqueue(q, "study-3", 0);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(count("SELECT count(*) FROM mmdx_orthanc.studies WHERE orthanc_id = 'study-3'"), 1);

    mmdx_job_clear(&a);
    mmdx_job_clear(&b);
    mmdx_job_clear(&c);
    mmdx_job_clear(&again);
    mmdx_job_queue_free(q);
    mmdx_job_queue_free(q2);
}
END_TEST

START_TEST(queue_unreachable)
{
    mmdx_job_queue *q = NULL;
    int rc = mmdx_job_queue_open(&q, "host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2", "w");
    ck_assert_int_eq(rc, MMDX_EDB);
    ck_assert_ptr_null(q);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "cannot connect"));
}
END_TEST

int main(void)
{
    mmdx_pgtest_state_dir();
    Suite *s = suite_create("orthanc_queue");
    TCase *tc = tcase_create("queue");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, queue_lifecycle);
    tcase_add_test(tc, queue_unreachable);
    suite_add_tcase(s, tc);
    return mmdx_test_run_suite(s);
}
