/* SPDX-License-Identifier: Apache-2.0 */
#define _POSIX_C_SOURCE 200809L
#include "pgtest.h"

#include <check.h>
#include <math.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testsupport.h"

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static char *read_line(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char buf[4096];
    char *r = fgets(buf, sizeof buf, f);
    fclose(f);
    if (!r)
        return NULL;
    buf[strcspn(buf, "\n")] = '\0';
    return strdup(buf);
}

const char *mmdx_pgtest_state_dir(void)
{
    const char *d = getenv("MMDX_PG_STATE");
    char path[4096];
    snprintf(path, sizeof path, "%s/dsn", d ? d : "");
    if (!d || !*d || access(path, R_OK) != 0) {
        const char *ci = getenv("CI");
        if (ci && strcmp(ci, "true") == 0) {
            fprintf(stderr, "no PostgreSQL test server (MMDX_PG_STATE=%s), and CI=true requires one\n",
                    d ? d : "");
            exit(1);
        }
        fprintf(stderr, "SKIP: no PostgreSQL test server (run through ctest, or "
                        "tests/support/pg_server.sh start DIR and set MMDX_PG_STATE=DIR)\n");
        exit(MMDX_TEST_SKIP);
    }
    return d;
}

char *mmdx_pgtest_admin_dsn(const char *dbname)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/dsn", mmdx_pgtest_state_dir());
    char *base = read_line(path);
    ck_assert_ptr_nonnull(base);
    size_t n = strlen(base) + 64 + (dbname ? strlen(dbname) : 0);
    char *dsn = malloc(n);
    ck_assert_ptr_nonnull(dsn);
    /* A later dbname= overrides the earlier one in a conninfo string. */
    snprintf(dsn, n, "%s dbname=%s", base, dbname ? dbname : "postgres");
    free(base);
    return dsn;
}

char *mmdx_pgtest_create_db(const char *prefix)
{
    static int counter;
    char name[128];
    snprintf(name, sizeof name, "%s_%ld_%d", prefix, (long)getpid(), ++counter);
    char *admin = mmdx_pgtest_admin_dsn(NULL);
    char sql[256];
    /* Two calls: CREATE DATABASE cannot run inside a multi-statement string's transaction. */
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", name);
    mmdx_pgtest_exec(admin, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    mmdx_pgtest_exec(admin, sql);
    free(admin);
    return strdup(name);
}

char *mmdx_pgtest_role_dsn(const char *dbname, const char *user, const char *password)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/port", mmdx_pgtest_state_dir());
    char *port = read_line(path);
    ck_assert_ptr_nonnull(port);
    char *dsn = malloc(1024);
    ck_assert_ptr_nonnull(dsn);
    snprintf(dsn, 1024, "host=127.0.0.1 port=%s dbname=%s user=%s password=%s connect_timeout=10", port,
             dbname, user, password);
    free(port);
    return dsn;
}

int mmdx_pgtest_try(const char *dsn, const char *sql, char **err)
{
    if (err)
        *err = NULL;
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        if (err)
            *err = strdup(PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok && err)
        *err = strdup(PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

void mmdx_pgtest_exec(const char *dsn, const char *sql)
{
    char *err = NULL;
    int rc = mmdx_pgtest_try(dsn, sql, &err);
    ck_assert_msg(rc == 0, "SQL failed: %s\n%s", sql, err ? err : "");
    free(err);
}

char *mmdx_pgtest_value(const char *dsn, const char *sql)
{
    PGconn *c = PQconnectdb(dsn);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "SQL failed: %s\n%s", sql, PQresultErrorMessage(r));
    char *v = (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    PQfinish(c);
    return v;
}

long long mmdx_pgtest_count(const char *dsn, const char *sql)
{
    char *v = mmdx_pgtest_value(dsn, sql);
    ck_assert_ptr_nonnull(v);
    long long n = atoll(v);
    free(v);
    return n;
}

/* ---- a private server ---- */

static char *private_state, *shared_state;

static void pg_server(const char *verb)
{
    char *cmd = mmdx_test_strf("sh '%s/tests/support/pg_server.sh' %s '%s' >/dev/null", mmdx_test_source_dir(),
                               verb, private_state);
    char *err = NULL;
    int rc = mmdx_test_run(cmd, NULL, &err);
    ck_assert_msg(rc == 0, "pg_server.sh %s failed (%d): %s", verb, rc, err ? err : "");
    free(err);
    free(cmd);
}

void mmdx_pgtest_private_begin(void)
{
    ck_assert_msg(!private_state, "a private server is already running");
    const char *shared = getenv("MMDX_PG_STATE");
    /* without any server binaries the shared fixture is missing too: skip (or fail under CI) alike */
    mmdx_pgtest_state_dir();
    shared_state = shared ? strdup(shared) : NULL;
    char *dir = mmdx_test_tmpdir();
    private_state = mmdx_test_strf("%s/pg", dir);
    free(dir);
    pg_server("start");
    ck_assert_int_eq(setenv("MMDX_PG_STATE", private_state, 1), 0);
}

void mmdx_pgtest_private_end(void)
{
    if (!private_state)
        return;
    pg_server("stop");
    if (shared_state)
        setenv("MMDX_PG_STATE", shared_state, 1);
    else
        unsetenv("MMDX_PG_STATE");
    /* the state folder's parent is the temporary folder made above */
    char *parent = strdup(private_state);
    *strrchr(parent, '/') = '\0';
    mmdx_test_rmtree(parent);
    free(parent);
    free(private_state);
    free(shared_state);
    private_state = shared_state = NULL;
}

void mmdx_pgtest_private_stop(void)
{
    ck_assert_msg(private_state != NULL, "only a private server may be stopped");
    pg_server("pause");
}

void mmdx_pgtest_private_start(void)
{
    ck_assert_msg(private_state != NULL, "no private server");
    pg_server("resume");
}

int mmdx_pgtest_unit_vector(const char *dsn, const char *sql, double *v, int d)
{
    char *t = mmdx_pgtest_value(dsn, sql);
    if (!t)
        return 0;
    int n = 0;
    char *p = t + 1;
    double n2 = 0;
    while (n < d && *p && *p != '}') {
        v[n] = strtod(p, &p);
        n2 += v[n] * v[n];
        n++;
        if (*p == ',')
            p++;
    }
    free(t);
    for (int i = 0; i < n; i++)
        v[i] /= sqrt(n2);
    return n == d;
}
