/* SPDX-License-Identifier: Apache-2.0 */
/* Versioned schema migrations, applied once each, under a session advisory lock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hash.h"
#include "migrations.h"
#include "store_internal.h"

/* Distinct from the append lock in audit_head(). */
#define MIGRATE_LOCK "7236481529000"

int mmdx_store_code_version(void)
{
    return mmdx_audit__migrations[mmdx_audit__n_migrations - 1].version;
}

int mmdx_store_schema_version(mmdx_store *s, int *version)
{
    *version = 0;
    PGresult *r;
    int rc = mmdx_store__exec(s, "schema version",
                              "SELECT pg_catalog.to_regclass('mmdx.schema_migrations') IS NOT NULL",
                              0, NULL, PGRES_TUPLES_OK, &r);
    if (rc < 0)
        return rc;
    int exists = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!exists)
        return 0;
    rc = mmdx_store__exec(s, "schema version",
                          "SELECT coalesce(max(version), 0) FROM mmdx.schema_migrations", 0, NULL,
                          PGRES_TUPLES_OK, &r);
    if (rc < 0)
        return rc;
    *version = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

int mmdx_store__check_schema(mmdx_store *s)
{
    if (s->schema_checked)
        return 0;
    int v;
    int rc = mmdx_store_schema_version(s, &v);
    if (rc < 0)
        return rc;
    if (v == 0)
        return mmdx_fail(MMDX_ESCHEMA, "the database has no mmdx schema: run `mmdx db migrate` [%s]",
                         s->describe);
    if (v > mmdx_store_code_version())
        return mmdx_fail(MMDX_ESCHEMA,
                         "the database schema is version %d, newer than this mmdx (%d): upgrade mmdx [%s]",
                         v, mmdx_store_code_version(), s->describe);
    if (v < mmdx_store_code_version())
        return mmdx_fail(MMDX_ESCHEMA,
                         "the database schema is version %d, older than this mmdx (%d): run `mmdx db migrate` [%s]",
                         v, mmdx_store_code_version(), s->describe);
    s->schema_checked = 1;
    return 0;
}

typedef struct apply_ctx {
    const mmdx_migration *m;
    char sha[MMDX_SHA256_HEX_LEN];
} apply_ctx;

static int apply_one(mmdx_store *s, void *vctx)
{
    apply_ctx *c = vctx;
    int brc = mmdx_store__ensure_begun(s, "migration");
    if (brc < 0)
        return brc;
    PGresult *r = PQexec(s->conn, c->m->sql);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        char what[128];
        snprintf(what, sizeof what, "migration %s", c->m->name);
        int rc = mmdx_store__fail_result(s, r, what);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    char version[16];
    snprintf(version, sizeof version, "%d", c->m->version);
    const char *params[] = {version, c->m->name, c->sha};
    int rc = mmdx_store__exec(s, "migration: record",
                              "INSERT INTO mmdx.schema_migrations (version, name, script_sha256) "
                              "VALUES ($1::int, $2, $3)",
                              3, params, PGRES_COMMAND_OK, NULL);
    if (rc < 0)
        return rc;
    mmdx_chain_tail t;
    if ((rc = mmdx_audit__lock_tail(s, &t)) < 0)
        return rc;
    char detail[256];
    snprintf(detail, sizeof detail, "{\"name\":\"%s\",\"script_sha256\":\"%s\"}", c->m->name, c->sha);
    uint8_t sha[32];
    if (mmdx_unhex(c->sha, sha, 32) < 0)
        return mmdx_fail(MMDX_ERROR, "migration: bad script hash");
    mmdx_event_rec e = {0};
    e.action = "schema.migrate";
    e.outcome = MMDX_OUTCOME_SUCCESS;
    e.object_type = "schema";
    e.object_id = version;
    e.object_sha256 = sha;
    e.detail = detail;
    return mmdx_audit__append(s, &t, &e, 1);
}

static int migrate_locked(mmdx_store *s, int target, int *n_applied)
{
    int rc = mmdx_store__exec(s, "migration: create the schema",
                              "CREATE SCHEMA IF NOT EXISTS mmdx", 0, NULL, PGRES_COMMAND_OK, NULL);
    if (rc == 0)
        rc = mmdx_store__exec(s, "migration: create the migrations table",
                              "CREATE TABLE IF NOT EXISTS mmdx.schema_migrations ("
                              " version integer PRIMARY KEY,"
                              " name text NOT NULL,"
                              " script_sha256 text NOT NULL,"
                              " applied_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),"
                              " applied_by text NOT NULL DEFAULT session_user)",
                              0, NULL, PGRES_COMMAND_OK, NULL);
    if (rc < 0)
        return rc;
    PGresult *r;
    rc = mmdx_store__exec(s, "migration: read the applied ones",
                          "SELECT version, name, script_sha256 FROM mmdx.schema_migrations ORDER BY version",
                          0, NULL, PGRES_TUPLES_OK, &r);
    if (rc < 0)
        return rc;
    int code = mmdx_store_code_version();
    for (int i = 0; i < PQntuples(r); i++) {
        int v = atoi(PQgetvalue(r, i, 0));
        if (v > code) {
            PQclear(r);
            return mmdx_fail(MMDX_ESCHEMA,
                             "the database schema is version %d, newer than this mmdx (%d) [%s]", v,
                             code, s->describe);
        }
        if (v != i + 1) {
            PQclear(r);
            return mmdx_fail(MMDX_ESCHEMA, "mmdx.schema_migrations has a gap before version %d [%s]",
                             v, s->describe);
        }
        const mmdx_migration *m = &mmdx_audit__migrations[v - 1];
        uint8_t h[32];
        char hex[MMDX_SHA256_HEX_LEN];
        mmdx_sha256(m->sql, m->len, h);
        mmdx_hex(h, 32, hex);
        if (strcmp(hex, PQgetvalue(r, i, 2)) != 0) {
            int rc2 = mmdx_fail(MMDX_ESCHEMA,
                                "migration %s was applied from a different script (SHA-256 %s, this "
                                "mmdx has %s): the schema was changed by another version [%s]",
                                PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), hex, s->describe);
            PQclear(r);
            return rc2;
        }
    }
    int have = PQntuples(r);
    PQclear(r);
    for (size_t i = (size_t)have; i < (size_t)target; i++) {
        apply_ctx c = {&mmdx_audit__migrations[i], ""};
        uint8_t h[32];
        mmdx_sha256(c.m->sql, c.m->len, h);
        mmdx_hex(h, 32, c.sha);
        if ((rc = mmdx_store__transaction(s, "migration", apply_one, &c, NULL)) < 0)
            return rc;
        if (n_applied)
            (*n_applied)++;
    }
    return 0;
}

int mmdx_store_migrate(mmdx_store *s, int *n_applied, int *version)
{
    return mmdx_store__migrate_to(s, mmdx_store_code_version(), n_applied, version);
}

int mmdx_store__migrate_to(mmdx_store *s, int target, int *n_applied, int *version)
{
    if (target < 1 || target > mmdx_store_code_version())
        return mmdx_fail(MMDX_EINVAL, "migration: no schema version %d (this mmdx has 1 to %d)", target,
                         mmdx_store_code_version());
    if (n_applied)
        *n_applied = 0;
    int rc = mmdx_store__exec(s, "migration: wait for other migrators",
                              "SELECT pg_catalog.pg_advisory_lock(" MIGRATE_LOCK ")", 0, NULL,
                              PGRES_TUPLES_OK, NULL);
    if (rc < 0)
        return rc;
    /* A reconnect would drop the session lock: no retries while migrating. */
    int retries = s->max_retries;
    s->max_retries = 0;
    rc = migrate_locked(s, target, n_applied);
    s->max_retries = retries;
    if (!mmdx_store__conn_lost(s))
        PQclear(PQexec(s->conn, "SELECT pg_catalog.pg_advisory_unlock(" MIGRATE_LOCK ")"));
    if (rc == 0) {
        s->schema_checked = 0;
        int v = 0;
        rc = mmdx_store_schema_version(s, &v);
        if (version)
            *version = v;
    }
    return rc;
}
