/* SPDX-License-Identifier: Apache-2.0 */
/* Connection, errors and transactions of the audited store. */
#include <openssl/crypto.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "store_internal.h"

#define DEFAULT_RETRIES 2

int mmdx_store__fail_result(mmdx_store *s, const PGresult *r, const char *what)
{
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    snprintf(s->last_sqlstate, sizeof s->last_sqlstate, "%s", state ? state : "");
    char buf[512];
    snprintf(s->sqlstate, sizeof s->sqlstate, "%s", state ? state : "");
    if (!msg) {
        /* Connection-level failure: PQerrorMessage names no password. */
        snprintf(buf, sizeof buf, "%s", s->conn ? PQerrorMessage(s->conn) : "no connection");
        size_t n = strlen(buf);
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
            buf[--n] = '\0';
        msg = buf;
    }
    if (state)
        return mmdx_fail(MMDX_EDB, "%s: %s (SQLSTATE %s) [%s]", what, msg, state, s->describe);
    return mmdx_fail(MMDX_EDB, "%s: %s [%s]", what, msg, s->describe);
}

int mmdx_store__ensure_begun(mmdx_store *s, const char *what)
{
    if (!s->begin_pending)
        return 0;
    s->begin_pending = 0;
    PGresult *r = PQexec(s->conn, "BEGIN");
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        int rc = mmdx_store__fail_result(s, r, what);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    return 0;
}

/* A deferred BEGIN and the transaction's first statement in one round trip
 * (libpq pipeline): the statement's result, or BEGIN's error. */
static PGresult *begin_and_exec(mmdx_store *s, const char *sql, int n, const char *const *params,
                                const int *lengths, const int *formats)
{
    s->begin_pending = 0;
    if (!PQenterPipelineMode(s->conn))
        return NULL;
    PGresult *begin_r = NULL, *stmt_r = NULL;
    if (PQsendQueryParams(s->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) &&
        PQsendQueryParams(s->conn, sql, n, NULL, params, lengths, formats, 0) && PQpipelineSync(s->conn)) {
        /* BEGIN's result, NULL, the statement's result, NULL, then the sync point. */
        for (int idx = 0; idx < 4;) {
            PGresult *r = PQgetResult(s->conn);
            if (!r) {
                if (mmdx_store__conn_lost(s))
                    break;
                idx++;
                continue;
            }
            if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
                PQclear(r);
                break;
            }
            PGresult **slot = idx == 0 ? &begin_r : &stmt_r;
            PQclear(*slot);
            *slot = r;
        }
    }
    PQexitPipelineMode(s->conn);
    if (begin_r && PQresultStatus(begin_r) != PGRES_COMMAND_OK) {
        PQclear(stmt_r);
        return begin_r; /* the statement was only skipped */
    }
    PQclear(begin_r);
    return stmt_r;
}

int mmdx_store__exec(mmdx_store *s, const char *what, const char *sql, int n,
                     const char *const *params, ExecStatusType want, PGresult **out)
{
    return mmdx_store__exec_params(s, what, sql, n, params, NULL, NULL, want, out);
}

int mmdx_store__exec_params(mmdx_store *s, const char *what, const char *sql, int n, const char *const *params,
                            const int *lengths, const int *formats, ExecStatusType want, PGresult **out)
{
    if (out)
        *out = NULL;
    PGresult *r = s->begin_pending ? begin_and_exec(s, sql, n, params, lengths, formats)
                                   : PQexecParams(s->conn, sql, n, NULL, params, lengths, formats, 0);
    if (!r || PQresultStatus(r) != want) {
        int rc = mmdx_store__fail_result(s, r, what);
        PQclear(r);
        return rc;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return 0;
}

int mmdx_store__ask(mmdx_store *s, const char *what, const char *sql, int *yes)
{
    PGresult *r;
    *yes = 0;
    int rc = mmdx_store__exec(s, what, sql, 0, NULL, PGRES_TUPLES_OK, &r);
    if (rc < 0)
        return rc;
    *yes = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return 0;
}

int mmdx_store__conn_lost(const mmdx_store *s)
{
    return !s->conn || PQstatus(s->conn) != CONNECTION_OK;
}

/* Build the "host=... port=..." text from libpq's view of the connection. */
static void describe_conn(mmdx_store *s)
{
    const char *host = PQhost(s->conn), *port = PQport(s->conn), *db = PQdb(s->conn),
               *user = PQuser(s->conn);
    snprintf(s->describe, sizeof s->describe, "host=%s port=%s dbname=%s user=%s%s",
             host && *host ? host : "(default)", port && *port ? port : "(default)",
             db ? db : "?", user ? user : "?", PQsslInUse(s->conn) ? " ssl=on" : "");
}

/* Describe a conninfo we could not connect with, keeping only harmless keys. */
static void describe_conninfo(mmdx_store *s)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(s->conninfo, &err);
    PQfreemem(err);
    s->describe[0] = '\0';
    if (!opts) {
        snprintf(s->describe, sizeof s->describe, "(unparsable connection string)");
        return;
    }
    static const char *const keep[] = {"host", "hostaddr", "port", "dbname", "user", "sslmode"};
    size_t used = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
            if (strcmp(o->keyword, keep[i]) == 0 && o->val && *o->val && used < sizeof s->describe) {
                int w = snprintf(s->describe + used, sizeof s->describe - used, "%s%s=%s",
                                 used ? " " : "", o->keyword, o->val);
                if (w > 0)
                    used += (size_t)w;
            }
        }
    }
    PQconninfoFree(opts);
    if (!s->describe[0])
        snprintf(s->describe, sizeof s->describe, "(libpq defaults)");
}

static int connect_now(mmdx_store *s)
{
    /* Later keywords win over those of the expanded conninfo: a person's login replaces its user and
     * password, and the password given is the only one tried (libpq reads no passfile when it has one). */
    const char *keys[] = {"dbname", "fallback_application_name", "user", "password", NULL};
    const char *vals[] = {s->conninfo, "mmdx", s->login_role, s->login_password, NULL};
    if (!s->login_role)
        keys[2] = NULL;
    if (s->conn)
        PQfinish(s->conn);
    s->conn = PQconnectdbParams(keys, vals, 1);
    if (!s->conn)
        return mmdx_fail(MMDX_ENOMEM, "database: out of memory");
    if (PQstatus(s->conn) != CONNECTION_OK) {
        describe_conninfo(s);
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(s->conn));
        size_t n = strlen(msg);
        while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
            msg[--n] = '\0';
        for (char *p = msg; *p; p++)
            if (*p == '\n')
                *p = ' ';
        return mmdx_fail(MMDX_EDB, "cannot connect to the database [%s]: %s", s->describe, msg);
    }
    describe_conn(s);
    PGresult *r;
    /* Everything below is schema-qualified; an empty search_path keeps a
     * hostile schema from shadowing operators or functions. */
    int rc = mmdx_store__exec(s, "session setup",
                              "SELECT pg_catalog.set_config('search_path', 'pg_catalog', false), "
                              "pg_catalog.set_config('extra_float_digits', '3', false), "
                              "pg_catalog.set_config('client_encoding', 'UTF8', false), "
                              "pg_catalog.set_config('TimeZone', 'UTC', false), "
                              "pg_catalog.set_config('client_min_messages', 'warning', false), "
                              /* event.c: may the chain lock be released before the commit's fsync? */
                              "pg_catalog.has_function_privilege("
                              "'pg_catalog.pg_logical_emit_message(boolean, text, text)', 'EXECUTE')",
                              0, NULL, PGRES_TUPLES_OK, &r);
    if (rc < 0)
        return rc;
    s->flush_after_commit = PQgetvalue(r, 0, PQnfields(r) - 1)[0] == 't';
    PQclear(r);
    rc = mmdx_store__exec(s, "session role", "SELECT session_user", 0, NULL, PGRES_TUPLES_OK, &r);
    if (rc < 0)
        return rc;
    snprintf(s->role, sizeof s->role, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

int mmdx_store__reconnect(mmdx_store *s)
{
    return connect_now(s);
}

int mmdx_store_open(mmdx_store **out, const mmdx_store_options *opt)
{
    *out = NULL;
    mmdx_store_options none = {0};
    if (!opt)
        opt = &none;
    mmdx_store *s = calloc(1, sizeof *s);
    if (!s)
        return mmdx_fail(MMDX_ENOMEM, "database: out of memory");
    const char *ci = opt->conninfo;
    s->conninfo = strdup(ci ? ci : "");
    s->max_retries = opt->max_retries == 0 ? DEFAULT_RETRIES : (opt->max_retries < 0 ? 0 : opt->max_retries);
    s->pseudonymise = opt->pseudonymise;
    if (opt->os_user && *opt->os_user) {
        snprintf(s->os_user, sizeof s->os_user, "%s", opt->os_user);
    } else {
        struct passwd *pw = getpwuid(geteuid());
        snprintf(s->os_user, sizeof s->os_user, "%s", pw ? pw->pw_name : "uid");
        if (!pw)
            snprintf(s->os_user, sizeof s->os_user, "uid %ld", (long)geteuid());
    }
    if (gethostname(s->host, sizeof s->host) != 0)
        snprintf(s->host, sizeof s->host, "unknown");
    s->host[sizeof s->host - 1] = '\0';
    if (!s->conninfo) {
        mmdx_store_free(s);
        return mmdx_fail(MMDX_ENOMEM, "database: out of memory");
    }
    int rc = 0;
    if (!opt->login_role != !opt->login_password || (opt->login_role && (!*opt->login_role || !*opt->login_password)))
        rc = mmdx_fail(MMDX_EINVAL, "database: a login needs both a role name and a password");
    else if (opt->login_role && (!(s->login_role = strdup(opt->login_role)) ||
                                 !(s->login_password = strdup(opt->login_password))))
        rc = mmdx_fail(MMDX_ENOMEM, "database: out of memory");
    if (rc == 0 && opt->site_key_file && *opt->site_key_file)
        rc = mmdx_audit__load_site_key(s, opt->site_key_file);
    if (rc == 0 && s->pseudonymise && !s->have_key)
        rc = mmdx_fail(MMDX_EINVAL, "audit: pseudonyms need a site key ([audit] site_key_file or --site-key)");
    if (rc == 0)
        rc = connect_now(s);
    if (rc < 0) {
        mmdx_store_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void mmdx_store_free(mmdx_store *s)
{
    if (!s)
        return;
    if (s->conn)
        PQfinish(s->conn);
    if (s->conninfo) {
        OPENSSL_cleanse(s->conninfo, strlen(s->conninfo));
        free(s->conninfo);
    }
    if (s->login_password) {
        OPENSSL_cleanse(s->login_password, strlen(s->login_password));
        free(s->login_password);
    }
    free(s->login_role);
    mmdx_store__buffers_free(s->buffers);
    OPENSSL_cleanse(s->hmac_key, sizeof s->hmac_key);
    OPENSSL_cleanse(s->pseudonym_key, sizeof s->pseudonym_key);
    free(s);
}

const char *mmdx_store_describe(const mmdx_store *s) { return s->describe; }
const char *mmdx_store_role(const mmdx_store *s) { return s->role; }
int mmdx_store_has_key(const mmdx_store *s) { return s->have_key; }
const char *mmdx_store_last_sqlstate(const mmdx_store *s) { return s->last_sqlstate; }
int mmdx_store_connected(const mmdx_store *s) { return !mmdx_store__conn_lost(s); }
unsigned mmdx_store_reconnections(const mmdx_store *s) { return s->reconnections; }

void mmdx_store__fault(mmdx_store *s, const char *point)
{
    if (s->fault_hook)
        s->fault_hook(s->fault_ctx, point);
}

void mmdx_store__set_fault_hook(mmdx_store *s, void (*hook)(void *ctx, const char *point), void *ctx)
{
    s->fault_hook = hook;
    s->fault_ctx = ctx;
}

int mmdx_store__backend_pid(const mmdx_store *s)
{
    return PQbackendPID(s->conn);
}

int mmdx_store__transaction(mmdx_store *s, const char *what, int (*fn)(mmdx_store *s, void *ctx),
                            void *ctx, int *retries)
{
    int attempt = 0;
    if (retries)
        *retries = 0;
    for (;;) {
        int rc = 0;
        if (mmdx_store__conn_lost(s))
            rc = mmdx_store__reconnect(s);
        s->committed = 0;
        s->fold_commit = 1;
        s->begin_pending = 1;
        if (rc == 0)
            rc = fn(s, ctx);
        int began = !s->begin_pending;
        s->begin_pending = 0;
        s->fold_commit = 0;
        if (rc == 0 && (s->committed || !began))
            return 0;
        if (rc == 0) {
            mmdx_store__fault(s, "before-commit");
            rc = mmdx_store__exec(s, what, "COMMIT", 0, NULL, PGRES_COMMAND_OK, NULL);
            if (rc == 0)
                return 0;
        }
        if (!mmdx_store__conn_lost(s)) {
            /* A real error: undo and report it (the ROLLBACK's own result is moot). */
            if (began)
                PQclear(PQexec(s->conn, "ROLLBACK"));
            return rc;
        }
        /* The server rolled the transaction back when the connection died. */
        if (attempt >= s->max_retries)
            return rc;
        attempt++;
        s->reconnections++;
        if (retries)
            *retries = attempt;
        mmdx_error_clear();
    }
}
