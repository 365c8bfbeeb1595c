/* SPDX-License-Identifier: Apache-2.0 */
/* Reading back the record of a run, and how it ended, for reviewers' reports. */
#include <stdlib.h>

#include "error.h"
#include "store_internal.h"

static const char *cell(PGresult *r, int col) { return PQgetisnull(r, 0, col) ? NULL : PQgetvalue(r, 0, col); }

int mmdx_store_run_info(mmdx_store *s, const char *run_id, int (*cb)(void *ctx, const mmdx_run_info *run), void *ctx)
{
    char id[MMDX_RUN_ID_LEN];
    int rc = mmdx_store__check_schema(s);
    if (rc == 0)
        rc = mmdx_store__resolve_run(s, run_id, id);
    if (rc < 0)
        return rc;
    const char *params[] = {id};
    PGresult *r;
    /* the last run.end counts: a resumed run ends again */
    rc = mmdx_store__exec(s, "run: read",
                          "SELECT r.run_id::text, "
                          "to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                          "r.db_role, r.os_user, r.host, r.mmdx_version, r.model_sha256, r.cohort_sha256, r.plugins, "
                          "r.parameters, e.outcome, e.detail FROM mmdx.runs r LEFT JOIN LATERAL "
                          "(SELECT outcome, detail FROM mmdx.audit_events WHERE run_id = r.run_id AND action = "
                          "'run.end' ORDER BY seq DESC LIMIT 1) e ON true WHERE r.run_id = $1::uuid",
                          1, params, PGRES_TUPLES_OK, &r);
    if (rc < 0)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return mmdx_fail(MMDX_ENOTFOUND, "run %s: not stored", id);
    }
    mmdx_run_info info = {cell(r, 0), cell(r, 1), cell(r, 2), cell(r, 3), cell(r, 4), cell(r, 5), cell(r, 6),
                          cell(r, 7), cell(r, 8), cell(r, 9), !PQgetisnull(r, 0, 10),
                          PQgetisnull(r, 0, 10) ? 0 : atoi(PQgetvalue(r, 0, 10)), cell(r, 11)};
    rc = cb(ctx, &info);
    PQclear(r);
    return rc;
}
