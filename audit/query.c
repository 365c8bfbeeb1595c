/* SPDX-License-Identifier: Apache-2.0 */
/* Listing audit events for reviewers, streamed row by row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "store_internal.h"

static int check_run_prefix(const char *p)
{
    size_t n = strlen(p);
    if (n < 8 || n > 36)
        return mmdx_fail(MMDX_EINVAL, "--run: give a run ID or at least its first 8 characters");
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') || p[i] == '-'))
            return mmdx_fail(MMDX_EINVAL, "--run: \"%s\" is not (a prefix of) a lower-case run ID", p);
    return 0;
}

static const char *val(PGresult *r, int col)
{
    return PQgetisnull(r, 0, col) ? NULL : PQgetvalue(r, 0, col);
}

int mmdx_store_audit_query(mmdx_store *s, const mmdx_audit_filter *f,
                           int (*cb)(void *ctx, const mmdx_audit_row *row), void *ctx)
{
    mmdx_audit_filter none = {0};
    if (!f)
        f = &none;
    int rc = mmdx_store__check_schema(s);
    if (rc < 0)
        return rc;
    if (f->run_id && (rc = check_run_prefix(f->run_id)) < 0)
        return rc;
    char psn[MMDX_PSEUDONYM_LEN] = "";
    if (f->patient_id && s->have_key && (rc = mmdx_store_pseudonym(s, f->patient_id, psn)) < 0)
        return rc;
    const char *params[] = {f->patient_id, psn[0] ? psn : NULL, f->run_id, f->actor, f->since,
                            f->until, f->action};
    if (!PQsendQueryParams(s->conn,
                           "SELECT seq, (extract(epoch FROM ts) * 1000000)::bigint, "
                           "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
                           "db_role, os_user, host, action, outcome, object_type, object_id, patient, "
                           "study_uid, run_id::text, detail FROM mmdx.audit_events "
                           "WHERE ($1::text IS NULL OR patient = $1 OR patient = $2) "
                           "AND ($3::text IS NULL OR left(run_id::text, length($3)) = $3) "
                           "AND ($4::text IS NULL OR db_role = $4 OR os_user = $4) "
                           "AND ($5::timestamptz IS NULL OR ts >= $5::timestamptz) "
                           "AND ($6::timestamptz IS NULL OR ts < $6::timestamptz) "
                           "AND ($7::text IS NULL OR action = $7) ORDER BY seq",
                           7, NULL, params, NULL, NULL, 0) ||
        !PQsetSingleRowMode(s->conn))
        return mmdx_store__fail_result(s, NULL, "audit log: query");
    int stop = 0;
    PGresult *r;
    while ((r = PQgetResult(s->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE && !stop && rc == 0) {
            mmdx_audit_row row = {0};
            row.seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            row.ts_us = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
            row.time = PQgetvalue(r, 0, 2);
            row.db_role = val(r, 3);
            row.os_user = val(r, 4);
            row.host = val(r, 5);
            row.action = val(r, 6);
            row.outcome = atoi(PQgetvalue(r, 0, 7));
            row.object_type = val(r, 8);
            row.object_id = val(r, 9);
            row.patient = val(r, 10);
            row.study_uid = val(r, 11);
            row.run_id = val(r, 12);
            row.detail = val(r, 13);
            int c = cb(ctx, &row);
            if (c != 0) {
                stop = 1;
                rc = c;
            }
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && rc == 0) {
            rc = mmdx_store__fail_result(s, r, "audit log: query");
        }
        PQclear(r);
    }
    return rc;
}

int mmdx_store_check_reviewer(mmdx_store *s)
{
    int yes;
    /* USAGE: the role's own privileges include mmdx_reviewer's (not merely a SET ROLE away). */
    int rc = mmdx_store__ask(s, "audit: check the reviewer role",
                             "SELECT pg_catalog.pg_has_role(session_user, 'mmdx_reviewer', 'USAGE')", &yes);
    if (rc < 0)
        return rc;
    if (!yes)
        return mmdx_fail(MMDX_EPERM, "database role %s may not review the audit log: it is not a member of "
                                     "mmdx_reviewer [%s]", s->role, s->describe);
    return 0;
}
