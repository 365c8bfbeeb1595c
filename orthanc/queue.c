/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "queue.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

struct mmdx_job_queue {
    PGconn *conn;
    char *conninfo;
    char *worker;
};

/* Numbered migrations, applied in order, each once. Never edit one that
 * shipped: append a new one. */
static const char *const migrations[] = {
    /* 1 */
    "CREATE TABLE mmdx_orthanc.studies ("
    "  orthanc_id text PRIMARY KEY,"
    "  state text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),"
    "  force boolean NOT NULL DEFAULT false,"
    "  rerun boolean NOT NULL DEFAULT false,"
    "  attempts integer NOT NULL DEFAULT 0,"
    "  not_before timestamptz NOT NULL DEFAULT now(),"
    "  enqueued_at timestamptz NOT NULL DEFAULT now(),"
    "  started_at timestamptz,"
    "  finished_at timestamptz,"
    "  worker text,"
    "  fingerprint text,"
    "  result jsonb,"
    "  error text);"
    "CREATE INDEX studies_due ON mmdx_orthanc.studies (not_before) WHERE state = 'pending';",
    /* 2: a screening's identity survives a crash: the generation (forced
       requests) names its run, and a forced job interrupted stays forced */
    "ALTER TABLE mmdx_orthanc.studies"
    "  ADD COLUMN generation bigint NOT NULL DEFAULT 0,"
    "  ADD COLUMN claimed_force boolean NOT NULL DEFAULT false;",
};

static int db_fail(mmdx_job_queue *q, PGresult *res, const char *what)
{
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (!msg || !*msg)
        msg = PQerrorMessage(q->conn);
    char buf[600];
    snprintf(buf, sizeof buf, "%s", msg ? msg : "");
    buf[strcspn(buf, "\n")] = '\0';
    if (res)
        PQclear(res);
    return mmdx_fail(MMDX_EDB, "queue database (%s@%s:%s/%s): %s: %s", PQuser(q->conn) ? PQuser(q->conn) : "",
                     PQhost(q->conn) ? PQhost(q->conn) : "", PQport(q->conn) ? PQport(q->conn) : "",
                     PQdb(q->conn) ? PQdb(q->conn) : "", what, buf);
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int connect_db(mmdx_job_queue *q)
{
    if (q->conn && PQstatus(q->conn) == CONNECTION_OK)
        return 0;
    if (q->conn)
        PQfinish(q->conn);
    /* Later keywords override earlier ones: the administrator's conninfo wins. */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"10", "mmdx-orthanc", q->conninfo, NULL};
    q->conn = PQconnectdbParams(keys, vals, 1);
    if (!q->conn)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    PQsetNoticeProcessor(q->conn, quiet, NULL);
    if (PQstatus(q->conn) != CONNECTION_OK) {
        char buf[600];
        snprintf(buf, sizeof buf, "%s", PQerrorMessage(q->conn));
        buf[strcspn(buf, "\n")] = '\0';
        return mmdx_fail(MMDX_EDB, "queue database: cannot connect: %s", buf);
    }
    return 0;
}

static PGresult *run(mmdx_job_queue *q, const char *sql, int n, const char *const *params)
{
    return PQexecParams(q->conn, sql, n, NULL, params, NULL, NULL, 0);
}

static int exec_ok(mmdx_job_queue *q, const char *sql, int n, const char *const *params, const char *what)
{
    /* without parameters: the simple protocol, which takes several statements (migrations) */
    PGresult *res = n ? run(q, sql, n, params) : PQexec(q->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return db_fail(q, res, what);
    PQclear(res);
    return 0;
}

static int migrate(mmdx_job_queue *q)
{
    int rc = exec_ok(q, "SELECT pg_advisory_lock(hashtext('mmdx_orthanc.migrate'))", 0, NULL, "lock");
    if (rc)
        return rc;
    rc = exec_ok(q,
                 "CREATE SCHEMA IF NOT EXISTS mmdx_orthanc;"
                 "CREATE TABLE IF NOT EXISTS mmdx_orthanc.schema_migrations ("
                 " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                 0, NULL, "creating schema mmdx_orthanc");
    int have = 0;
    if (!rc) {
        PGresult *res = run(q, "SELECT coalesce(max(version), 0) FROM mmdx_orthanc.schema_migrations", 0, NULL);
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            rc = db_fail(q, res, "reading schema version");
        else {
            have = atoi(PQgetvalue(res, 0, 0));
            PQclear(res);
        }
    }
    int n = (int)(sizeof migrations / sizeof migrations[0]);
    if (!rc && have > n)
        rc = mmdx_fail(MMDX_ESCHEMA, "queue database: schema mmdx_orthanc is at version %d, newer than this plugin (%d)",
                       have, n);
    for (int v = have + 1; !rc && v <= n; v++) {
        char num[16];
        snprintf(num, sizeof num, "%d", v);
        const char *p[] = {num};
        rc = exec_ok(q, "BEGIN", 0, NULL, "begin");
        if (!rc)
            rc = exec_ok(q, migrations[v - 1], 0, NULL, "applying a migration");
        if (!rc)
            rc = exec_ok(q, "INSERT INTO mmdx_orthanc.schema_migrations(version) VALUES ($1::int)", 1, p,
                         "recording a migration");
        if (!rc)
            rc = exec_ok(q, "COMMIT", 0, NULL, "commit");
        if (rc) {
            PGresult *r = PQexec(q->conn, "ROLLBACK");
            PQclear(r);
        }
    }
    PGresult *r = PQexec(q->conn, "SELECT pg_advisory_unlock(hashtext('mmdx_orthanc.migrate'))");
    PQclear(r);
    return rc;
}

int mmdx_job_queue_open(mmdx_job_queue **out, const char *conninfo, const char *worker)
{
    *out = NULL;
    mmdx_job_queue *q = calloc(1, sizeof *q);
    if (!q || !(q->conninfo = strdup(conninfo ? conninfo : "")) || !(q->worker = strdup(worker ? worker : "mmdx"))) {
        mmdx_job_queue_free(q);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    int rc = connect_db(q);
    if (!rc)
        rc = migrate(q);
    if (rc) {
        mmdx_job_queue_free(q);
        return rc;
    }
    *out = q;
    return 0;
}

void mmdx_job_queue_free(mmdx_job_queue *q)
{
    if (!q)
        return;
    if (q->conn)
        PQfinish(q->conn);
    free(q->conninfo);
    free(q->worker);
    free(q);
}

void mmdx_job_clear(mmdx_job *j)
{
    free(j->fingerprint);
    free(j->previous_sr);
    memset(j, 0, sizeof *j);
}

/* Every call starts here: reconnect after a lost connection. */
static int ready(mmdx_job_queue *q)
{
    if (q->conn && PQstatus(q->conn) == CONNECTION_OK)
        return 0;
    int rc = connect_db(q);
    return rc ? rc : migrate(q);
}

int mmdx_job_queue_enqueue(mmdx_job_queue *q, const char *orthanc_id, int force)
{
    int rc = ready(q);
    if (rc)
        return rc;
    const char *p[] = {orthanc_id, force ? "true" : "false"};
    return exec_ok(q,
                   "INSERT INTO mmdx_orthanc.studies AS s (orthanc_id, state, force) VALUES ($1, 'pending', $2::boolean) "
                   "ON CONFLICT (orthanc_id) DO UPDATE SET "
                   " force = s.force OR EXCLUDED.force,"
                   " generation = s.generation + CASE WHEN EXCLUDED.force THEN 1 ELSE 0 END,"
                   " rerun = (s.state = 'running') OR s.rerun,"
                   " state = CASE WHEN s.state = 'running' THEN 'running' ELSE 'pending' END,"
                   " attempts = CASE WHEN s.state = 'running' THEN s.attempts ELSE 0 END,"
                   " not_before = CASE WHEN s.state = 'running' THEN s.not_before ELSE now() END,"
                   " enqueued_at = now()",
                   2, p, "enqueue");
}

static char *dup_or_null(PGresult *res, int col)
{
    return PQgetisnull(res, 0, col) ? NULL : strdup(PQgetvalue(res, 0, col));
}

int mmdx_job_queue_claim(mmdx_job_queue *q, mmdx_job *job)
{
    memset(job, 0, sizeof *job);
    int rc = ready(q);
    if (rc)
        return rc;
    const char *p[] = {q->worker};
    PGresult *res = run(q,
                        "WITH c AS (SELECT orthanc_id, force FROM mmdx_orthanc.studies"
                        "  WHERE state = 'pending' AND not_before <= now()"
                        "  ORDER BY not_before, enqueued_at LIMIT 1 FOR UPDATE SKIP LOCKED) "
                        "UPDATE mmdx_orthanc.studies s SET state = 'running', force = false, rerun = false,"
                        " claimed_force = c.force, attempts = s.attempts + 1, started_at = now(), worker = $1 "
                        "FROM c WHERE s.orthanc_id = c.orthanc_id "
                        "RETURNING s.orthanc_id, c.force, s.attempts, s.fingerprint, (s.result -> 'sr' -> 'instances')::text,"
                        " s.generation",
                        1, p);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return db_fail(q, res, "claiming a job");
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;
    }
    snprintf(job->orthanc_id, sizeof job->orthanc_id, "%s", PQgetvalue(res, 0, 0));
    job->force = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    job->attempts = atoi(PQgetvalue(res, 0, 2));
    job->fingerprint = dup_or_null(res, 3);
    job->previous_sr = dup_or_null(res, 4);
    job->generation = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
    PQclear(res);
    return 1;
}

/* A request that arrived while the job ran sends it back to pending. */
#define NEXT_STATE(done) "CASE WHEN rerun THEN 'pending' ELSE '" done "' END"

int mmdx_job_queue_done(mmdx_job_queue *q, const char *orthanc_id, const char *fingerprint, const char *result_json)
{
    int rc = ready(q);
    if (rc)
        return rc;
    const char *p[] = {orthanc_id, fingerprint, result_json};
    return exec_ok(q,
                   "UPDATE mmdx_orthanc.studies SET state = " NEXT_STATE("done") ", rerun = false,"
                   " finished_at = now(), fingerprint = $2, result = $3::jsonb, error = NULL, attempts = 0 "
                   "WHERE orthanc_id = $1",
                   3, p, "recording a result");
}

int mmdx_job_queue_unchanged(mmdx_job_queue *q, const char *orthanc_id)
{
    int rc = ready(q);
    if (rc)
        return rc;
    const char *p[] = {orthanc_id};
    return exec_ok(q,
                   "UPDATE mmdx_orthanc.studies SET state = " NEXT_STATE("done") ", rerun = false,"
                   " finished_at = now(), error = NULL, attempts = 0 WHERE orthanc_id = $1",
                   1, p, "recording an unchanged study");
}

int mmdx_job_queue_failed(mmdx_job_queue *q, const char *orthanc_id, const char *error, int retry_after)
{
    int rc = ready(q);
    if (rc)
        return rc;
    char secs[16];
    snprintf(secs, sizeof secs, "%d", retry_after < 0 ? 0 : retry_after);
    const char *p[] = {orthanc_id, error ? error : "", secs, retry_after < 0 ? "false" : "true"};
    return exec_ok(q,
                   "UPDATE mmdx_orthanc.studies SET"
                   " state = CASE WHEN rerun OR $4::boolean THEN 'pending' ELSE 'failed' END, rerun = false,"
                   " not_before = now() + make_interval(secs => $3::int), finished_at = now(), error = $2 "
                   "WHERE orthanc_id = $1",
                   4, p, "recording a failure");
}

int mmdx_job_queue_recover(mmdx_job_queue *q, int *n)
{
    if (n)
        *n = 0;
    int rc = ready(q);
    if (rc)
        return rc;
    const char *p[] = {q->worker};
    PGresult *res = run(q,
                        "UPDATE mmdx_orthanc.studies SET state = 'pending', not_before = now(),"
                        " force = force OR claimed_force "
                        "WHERE state = 'running' AND worker = $1",
                        1, p);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return db_fail(q, res, "recovering interrupted jobs");
    if (n)
        *n = atoi(PQcmdTuples(res));
    PQclear(res);
    return 0;
}

static int one_text(mmdx_job_queue *q, const char *sql, int np, const char *const *p, char **out, const char *what)
{
    *out = NULL;
    int rc = ready(q);
    if (rc)
        return rc;
    PGresult *res = run(q, sql, np, p);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return db_fail(q, res, what);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return MMDX_ENOTFOUND;
    }
    *out = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return *out ? 0 : mmdx_fail(MMDX_ENOMEM, "out of memory");
}

int mmdx_job_queue_get(mmdx_job_queue *q, const char *orthanc_id, char **json)
{
    const char *p[] = {orthanc_id};
    int rc = one_text(q,
                      "SELECT json_build_object('orthanc_id', orthanc_id, 'state', state, 'attempts', attempts,"
                      " 'enqueued_at', enqueued_at, 'started_at', started_at, 'finished_at', finished_at,"
                      " 'error', error, 'result', result)::text FROM mmdx_orthanc.studies WHERE orthanc_id = $1",
                      1, p, json, "reading a result");
    if (rc == MMDX_ENOTFOUND)
        return mmdx_fail(MMDX_ENOTFOUND, "study %s: never screened", orthanc_id);
    return rc;
}

int mmdx_job_queue_counts(mmdx_job_queue *q, char **json)
{
    return one_text(q,
                    "SELECT json_build_object("
                    " 'pending', count(*) FILTER (WHERE state = 'pending'),"
                    " 'running', count(*) FILTER (WHERE state = 'running'),"
                    " 'done', count(*) FILTER (WHERE state = 'done'),"
                    " 'failed', count(*) FILTER (WHERE state = 'failed'))::text FROM mmdx_orthanc.studies",
                    0, NULL, json, "counting jobs");
}
