/* SPDX-License-Identifier: Apache-2.0 */
/* Verification of the chain, of the rows it covers, and of earlier checkpoints. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "checkpoint.h"
#include "error.h"
#include "hash.h"
#include "merkle.h"
#include "store_internal.h"

#define FETCH_ROWS "5000"

/* A row an event vouches for: a run (patient NULL) or a prediction. */
typedef struct covered {
    char *run_id;
    char *patient;
    int64_t seq;
    uint8_t sha[32];
    int seen;
} covered;

typedef struct vstate {
    mmdx_store *s;
    mmdx_verify_report *r;
    covered *runs, *preds;
    size_t n_runs, cap_runs, n_preds, cap_preds;
    int *migrated; /* versions with a schema.migrate event */
    size_t n_migrated, cap_migrated;
    uint8_t (*leaves)[32];
    size_t n_leaves, cap_leaves;
} vstate;

static void problem(vstate *v, int64_t seq, const char *fmt, ...) MMDX_FORMAT(3, 4);

static void problem(vstate *v, int64_t seq, const char *fmt, ...)
{
    mmdx_verify_report *r = v->r;
    r->n_problems++;
    if (r->first_bad_seq == 0 || seq < r->first_bad_seq)
        r->first_bad_seq = seq;
    /* Keep the MAX lowest sequence numbers, in order. */
    size_t kept = r->n_problems - 1 < MMDX_VERIFY_MAX_PROBLEMS ? r->n_problems - 1 : MMDX_VERIFY_MAX_PROBLEMS;
    size_t pos = kept;
    while (pos > 0 && r->problems[pos - 1].seq > seq)
        pos--;
    if (pos >= MMDX_VERIFY_MAX_PROBLEMS)
        return;
    size_t move = kept - pos;
    if (kept == MMDX_VERIFY_MAX_PROBLEMS)
        move--;
    memmove(&r->problems[pos + 1], &r->problems[pos], move * sizeof r->problems[0]);
    r->problems[pos].seq = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->problems[pos].message, sizeof r->problems[pos].message, fmt, ap);
    va_end(ap);
}

static int add_covered(covered **arr, size_t *n, size_t *cap, const char *run_id, const char *patient,
                       int64_t seq, const uint8_t *sha)
{
    if (mmdx_array_reserve(arr, cap, *n + 1, sizeof **arr, 1024, 0) < 0)
        return mmdx_fail(MMDX_ENOMEM, "verify: out of memory");
    covered *c = &(*arr)[(*n)++];
    memset(c, 0, sizeof *c);
    c->run_id = strdup(run_id ? run_id : "");
    c->patient = patient ? strdup(patient) : NULL;
    c->seq = seq;
    if (sha)
        memcpy(c->sha, sha, 32);
    if (!c->run_id || (patient && !c->patient))
        return mmdx_fail(MMDX_ENOMEM, "verify: out of memory");
    return 0;
}

static int cmp_covered(const void *a, const void *b)
{
    const covered *x = a, *y = b;
    int c = strcmp(x->run_id, y->run_id);
    if (c)
        return c;
    return strcmp(x->patient ? x->patient : "", y->patient ? y->patient : "");
}

static covered *find_covered(covered *arr, size_t n, const char *run_id, const char *patient)
{
    if (n == 0)
        return NULL;
    covered key = {(char *)run_id, (char *)patient, 0, {0}, 0};
    return bsearch(&key, arr, n, sizeof *arr, cmp_covered);
}

static const char *val(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* Walk the events in sequence order. */
static int check_chain(vstate *v, const mmdx_verify_options *o, int64_t total)
{
    mmdx_store *s = v->s;
    int rc = mmdx_store__exec(s, "verify: open the events",
                              "DECLARE mmdx_ev NO SCROLL CURSOR FOR SELECT seq, "
                              "(extract(epoch FROM ts) * 1000000)::bigint, db_role, os_user, host, action, "
                              "outcome, object_type, object_id, patient, study_uid, run_id::text, "
                              "object_sha256, detail, prev_hash, hash, hmac "
                              "FROM mmdx.audit_events ORDER BY seq",
                              0, NULL, PGRES_COMMAND_OK, NULL);
    if (rc < 0)
        return rc;
    int64_t expect = 1;
    uint8_t prev[32] = {0}; /* the previous row's stored hash */
    int keyed_seen = 0;
    for (;;) {
        PGresult *r;
        rc = mmdx_store__exec(s, "verify: read events", "FETCH " FETCH_ROWS " FROM mmdx_ev", 0, NULL,
                              PGRES_TUPLES_OK, &r);
        if (rc < 0)
            return rc;
        int rows = PQntuples(r);
        for (int i = 0; i < rows; i++) {
            mmdx_event_rec e = {0};
            e.seq = strtoll(PQgetvalue(r, i, 0), NULL, 10);
            e.ts_us = strtoll(PQgetvalue(r, i, 1), NULL, 10);
            e.db_role = val(r, i, 2);
            e.os_user = val(r, i, 3);
            e.host = val(r, i, 4);
            e.action = val(r, i, 5);
            e.outcome = atoi(PQgetvalue(r, i, 6));
            e.object_type = val(r, i, 7);
            e.object_id = val(r, i, 8);
            e.patient = val(r, i, 9);
            e.study_uid = val(r, i, 10);
            e.run_id = val(r, i, 11);
            uint8_t osha[32], stored[32], mac[32];
            int osha_ok = 1;
            if (val(r, i, 12))
                osha_ok = mmdx_audit__bytea(val(r, i, 12), osha, 32) == 0;
            e.object_sha256 = val(r, i, 12) ? osha : NULL;
            e.detail = val(r, i, 13);
            int prev_ok = mmdx_audit__bytea(val(r, i, 14), e.prev_hash, 32) == 0;
            int hash_ok = mmdx_audit__bytea(val(r, i, 15), stored, 32) == 0;

            if (e.seq != expect) {
                if (e.seq > expect)
                    problem(v, expect, "events %lld..%lld are missing: deleted from the log (the next event is %lld)",
                            (long long)expect, (long long)(e.seq - 1), (long long)e.seq);
                else
                    problem(v, e.seq, "event %lld appears out of order", (long long)e.seq);
            }
            uint8_t recomputed[32];
            if ((rc = mmdx_audit__event_hash(&e, recomputed)) < 0) {
                PQclear(r);
                return rc;
            }
            if (!prev_ok || !hash_ok || !osha_ok) {
                problem(v, e.seq, "event %lld: a hash column is not 32 bytes (rewritten)", (long long)e.seq);
            } else if (!mmdx_digest_equal(recomputed, stored, 32)) {
                problem(v, e.seq, "event %lld: its fields no longer match its hash: the row was changed "
                                  "(action %s, actor %s) after it was written",
                        (long long)e.seq, e.action ? e.action : "?", e.db_role ? e.db_role : "?");
            } else if (!mmdx_digest_equal(e.prev_hash, prev, 32)) {
                problem(v, e.seq, "event %lld: intact, but it does not link to the event before it "
                                  "(%s): rows were removed, inserted or reordered",
                        (long long)e.seq, e.seq == expect ? "its prev_hash differs from that event's hash"
                                                          : "the events in between are missing");
            }
            if (hash_ok)
                memcpy(prev, stored, 32);
            expect = e.seq + 1;

            /* HMAC */
            const char *hm = val(r, i, 16);
            if (hm) {
                keyed_seen = 1;
                if (o->check_hmac && hash_ok) {
                    uint8_t got[32];
                    if ((rc = mmdx_hmac_sha256(s->hmac_key, sizeof s->hmac_key, stored, 32, mac)) < 0) {
                        PQclear(r);
                        return rc;
                    }
                    if (mmdx_audit__bytea(hm, got, 32) < 0 || !mmdx_digest_equal(got, mac, 32))
                        problem(v, e.seq, "event %lld: the HMAC does not match the site key: the event "
                                          "was rewritten by someone without the key, or the key is wrong",
                                (long long)e.seq);
                    v->r->n_hmac_checked++;
                }
            } else {
                v->r->n_unkeyed++;
                if (keyed_seen && o->check_hmac > 1)
                    problem(v, e.seq, "event %lld has no HMAC although earlier events have one "
                                      "(HMAC removed)", (long long)e.seq);
            }

            /* leaf */
            if (mmdx_array_reserve(&v->leaves, &v->cap_leaves, v->n_leaves + 1,
                                   sizeof *v->leaves, 1024, 0) < 0) {
                PQclear(r);
                return mmdx_fail(MMDX_ENOMEM, "verify: out of memory");
            }
            mmdx_merkle_leaf_hash(hash_ok ? stored : recomputed, 32, v->leaves[v->n_leaves++]);

            /* rows covered */
            if (e.action && e.object_sha256) {
                if (strcmp(e.action, "prediction.store") == 0 && e.run_id && e.patient)
                    rc = add_covered(&v->preds, &v->n_preds, &v->cap_preds, e.run_id, e.patient, e.seq,
                                     e.object_sha256);
                else if (strcmp(e.action, "run.start") == 0 && e.run_id)
                    rc = add_covered(&v->runs, &v->n_runs, &v->cap_runs, e.run_id, NULL, e.seq,
                                     e.object_sha256);
            }
            if (rc == 0 && e.action && strcmp(e.action, "schema.migrate") == 0 && e.object_id) {
                if (mmdx_array_reserve(&v->migrated, &v->cap_migrated, v->n_migrated + 1,
                                       sizeof *v->migrated, 1024, 0) < 0)
                    rc = mmdx_fail(MMDX_ENOMEM, "verify: out of memory");
                else
                    v->migrated[v->n_migrated++] = atoi(e.object_id);
            }
            if (rc < 0) {
                PQclear(r);
                return rc;
            }
            v->r->n_events++;
        }
        PQclear(r);
        if (o->progress)
            o->progress(o->progress_ctx, v->r->n_events, total);
        if (rows == 0)
            break;
    }
    return mmdx_store__exec(s, "verify: close the events", "CLOSE mmdx_ev", 0, NULL, PGRES_COMMAND_OK, NULL);
}

static int64_t unattached_seq(vstate *v)
{
    return v->r->n_events + 1;
}

static int check_runs(vstate *v)
{
    if (v->n_runs)
        qsort(v->runs, v->n_runs, sizeof *v->runs, cmp_covered);
    PGresult *r;
    int rc = mmdx_store__exec(v->s, "verify: read runs",
                              "SELECT run_id::text, (extract(epoch FROM started_at) * 1000000)::bigint, "
                              "db_role, os_user, host, mmdx_version, model_sha256, cohort_sha256, plugins, "
                              "parameters FROM mmdx.runs",
                              0, NULL, PGRES_TUPLES_OK, &r);
    if (rc < 0)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *id = PQgetvalue(r, i, 0);
        uint8_t h[32];
        mmdx_audit__run_hash(id, strtoll(PQgetvalue(r, i, 1), NULL, 10), val(r, i, 2), val(r, i, 3),
                             val(r, i, 4), val(r, i, 5), val(r, i, 6), val(r, i, 7), val(r, i, 8),
                             val(r, i, 9), h);
        covered *c = find_covered(v->runs, v->n_runs, id, NULL);
        v->r->n_runs++;
        if (!c) {
            problem(v, unattached_seq(v), "run %s has no run.start event: its event was deleted, or the "
                                          "row was inserted behind the log's back", id);
            continue;
        }
        c->seen = 1;
        if (!mmdx_digest_equal(c->sha, h, 32))
            problem(v, c->seq, "run %s (event %lld): the row no longer matches the hash its event "
                               "recorded: the run was changed after it was written",
                    id, (long long)c->seq);
    }
    PQclear(r);
    for (size_t i = 0; i < v->n_runs; i++)
        if (!v->runs[i].seen)
            problem(v, v->runs[i].seq, "event %lld records run %s, which is missing from mmdx.runs (deleted)",
                    (long long)v->runs[i].seq, v->runs[i].run_id);
    return 0;
}

static int check_predictions(vstate *v, const mmdx_verify_options *o, int64_t total)
{
    if (v->n_preds)
        qsort(v->preds, v->n_preds, sizeof *v->preds, cmp_covered);
    int rc = mmdx_store__exec(v->s, "verify: open predictions",
                              "DECLARE mmdx_pr NO SCROLL CURSOR FOR SELECT run_id::text, patient, "
                              "pseudonymised, study_uid, probability, decision, contributions, "
                              "input_hashes, content_sha256, embedding::text, modality_embeddings::text "
                              "FROM mmdx.predictions",
                              0, NULL, PGRES_COMMAND_OK, NULL);
    if (rc < 0)
        return rc;
    for (;;) {
        PGresult *r;
        rc = mmdx_store__exec(v->s, "verify: read predictions", "FETCH " FETCH_ROWS " FROM mmdx_pr", 0,
                              NULL, PGRES_TUPLES_OK, &r);
        if (rc < 0)
            return rc;
        int rows = PQntuples(r);
        for (int i = 0; i < rows; i++) {
            const char *run = PQgetvalue(r, i, 0), *pat = PQgetvalue(r, i, 1);
            uint8_t h[32], col[32];
            double *emb = NULL, *tok = NULL;
            size_t dim = 0, ntok = 0;
            int erc = mmdx_audit__parse_float_array(PQgetisnull(r, i, 9) ? NULL : PQgetvalue(r, i, 9), 0, &emb, &dim);
            if (erc == 0)
                erc = mmdx_audit__parse_float_array(PQgetisnull(r, i, 10) ? NULL : PQgetvalue(r, i, 10), 1, &tok,
                                                    &ntok);
            if (erc == MMDX_ENOMEM) {
                free(emb);
                PQclear(r);
                return mmdx_fail(MMDX_ENOMEM, "verify: out of memory");
            }
            mmdx_audit__prediction_hash(run, pat, PQgetvalue(r, i, 2)[0] == 't', val(r, i, 3),
                                        strtod(PQgetvalue(r, i, 4), NULL),
                                        PQgetisnull(r, i, 5) ? -1 : atoi(PQgetvalue(r, i, 5)),
                                        PQgetvalue(r, i, 6), PQgetvalue(r, i, 7), emb, dim, tok, ntok, h);
            free(emb);
            free(tok);
            if (erc) /* an embedding no longer readable as numbers: its hash will not match either */
                memset(h, 0, sizeof h);
            v->r->n_predictions++;
            covered *c = find_covered(v->preds, v->n_preds, run, pat);
            if (!c) {
                problem(v, unattached_seq(v), "prediction of run %s for patient %s has no "
                                              "prediction.store event: its event was deleted, or the "
                                              "row was inserted behind the log's back", run, pat);
                continue;
            }
            c->seen = 1;
            int col_ok = mmdx_audit__bytea(PQgetvalue(r, i, 8), col, 32) == 0;
            if (!mmdx_digest_equal(c->sha, h, 32) || !col_ok || !mmdx_digest_equal(col, h, 32))
                problem(v, c->seq, "prediction of run %s for patient %s (event %lld): the row no longer "
                                   "matches the hash its event recorded: it was changed after it was stored",
                        run, pat, (long long)c->seq);
        }
        PQclear(r);
        if (o->progress)
            o->progress(o->progress_ctx, total, total);
        if (rows == 0)
            break;
    }
    for (size_t i = 0; i < v->n_preds; i++)
        if (!v->preds[i].seen)
            problem(v, v->preds[i].seq, "event %lld records a prediction of run %s for patient %s, which "
                                        "is missing from mmdx.predictions (deleted)",
                    (long long)v->preds[i].seq, v->preds[i].run_id, v->preds[i].patient);
    return mmdx_store__exec(v->s, "verify: close predictions", "CLOSE mmdx_pr", 0, NULL, PGRES_COMMAND_OK, NULL);
}

static int check_migrations(vstate *v)
{
    PGresult *r;
    int rc = mmdx_store__exec(v->s, "verify: read migrations",
                              "SELECT version FROM mmdx.schema_migrations ORDER BY version", 0, NULL,
                              PGRES_TUPLES_OK, &r);
    if (rc < 0)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        int ver = atoi(PQgetvalue(r, i, 0)), found = 0;
        for (size_t j = 0; j < v->n_migrated && !found; j++)
            found = v->migrated[j] == ver;
        if (!found) {
            if (v->r->n_events == 0)
                problem(v, 1, "the audit log is empty although schema migration %d is recorded: "
                              "the log was truncated or emptied", ver);
            else
                problem(v, unattached_seq(v), "schema migration %d has no schema.migrate event: its "
                                              "event was deleted", ver);
        }
    }
    PQclear(r);
    return 0;
}

static void check_checkpoints(vstate *v, const mmdx_verify_options *o)
{
    uint64_t n = v->n_leaves;
    const mmdx_merkle_hash *lv = (const mmdx_merkle_hash *)v->leaves;
    for (size_t i = 0; i < o->n_checkpoints; i++) {
        const mmdx_checkpoint *cp = o->checkpoints[i];
        char when[40];
        mmdx_audit__format_time(cp->time_us, when, sizeof when);
        v->r->n_checkpoints++;
        if (cp->size > n) {
            problem(v, (int64_t)n + 1, "the checkpoint signed at %s covers %llu events, but the log now "
                                       "holds %llu: events %llu..%llu were removed (tail truncation)",
                    when, (unsigned long long)cp->size, (unsigned long long)n,
                    (unsigned long long)n + 1, (unsigned long long)cp->size);
            continue;
        }
        mmdx_merkle_hash *proof = NULL;
        size_t np = 0;
        mmdx_merkle_hash root_n;
        mmdx_merkle_root(lv, n, root_n);
        int ok = mmdx_merkle_consistency_proof(&proof, &np, lv, cp->size, n) == 0 &&
                 mmdx_merkle_verify_consistency(cp->size, n, cp->root, root_n, proof, np) == 0;
        free(proof);
        if (!ok) {
            /* Name the first event that differs from the chain walk when it lies in range. */
            int64_t seq = v->r->first_bad_seq && (uint64_t)v->r->first_bad_seq <= cp->size
                              ? v->r->first_bad_seq : 1;
            problem(v, seq, "the first %llu events no longer match the checkpoint signed at %s: the "
                            "log was rewritten, not only appended to",
                    (unsigned long long)cp->size, when);
        }
    }
}

int mmdx_store_verify(mmdx_store *s, const mmdx_verify_options *o, mmdx_verify_report *r)
{
    mmdx_verify_options none = {0};
    if (!o)
        o = &none;
    memset(r, 0, sizeof *r);
    if (o->check_hmac && !s->have_key)
        return mmdx_fail(MMDX_EINVAL, "verify: checking HMACs needs the site key");
    int rc = mmdx_store__check_schema(s);
    if (rc < 0)
        return rc;
    const char *origin;
    if ((rc = mmdx_store_log_origin(s, &origin)) < 0)
        return rc;
    for (size_t i = 0; i < o->n_checkpoints; i++)
        if (strcmp(o->checkpoints[i]->origin, origin) != 0)
            return mmdx_fail(MMDX_EINVAL, "verify: a checkpoint is of log %s, but this database is %s",
                             o->checkpoints[i]->origin, origin);
    vstate v = {0};
    v.s = s;
    v.r = r;
    /* One snapshot for everything read. */
    rc = mmdx_store__exec(s, "verify: begin", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
                          PGRES_COMMAND_OK, NULL);
    if (rc < 0)
        return rc;
    PGresult *cnt;
    rc = mmdx_store__exec(s, "verify: count events", "SELECT count(*) FROM mmdx.audit_events", 0, NULL,
                          PGRES_TUPLES_OK, &cnt);
    int64_t total = 0;
    if (rc == 0) {
        total = strtoll(PQgetvalue(cnt, 0, 0), NULL, 10);
        PQclear(cnt);
    }
    if (rc == 0)
        rc = check_chain(&v, o, total);
    if (rc == 0)
        rc = check_runs(&v);
    if (rc == 0)
        rc = check_predictions(&v, o, total);
    if (rc == 0)
        rc = check_migrations(&v);
    if (rc == 0) {
        check_checkpoints(&v, o);
        mmdx_merkle_root((const mmdx_merkle_hash *)v.leaves, v.n_leaves, r->root);
    }
    if (!mmdx_store__conn_lost(s))
        PQclear(PQexec(s->conn, "COMMIT"));
    for (size_t i = 0; i < v.n_runs; i++) {
        free(v.runs[i].run_id);
        free(v.runs[i].patient);
    }
    for (size_t i = 0; i < v.n_preds; i++) {
        free(v.preds[i].run_id);
        free(v.preds[i].patient);
    }
    free(v.runs);
    free(v.preds);
    free(v.migrated);
    free(v.leaves);
    if (rc < 0)
        return rc;
    return r->n_problems ? MMDX_EINTEGRITY : 0;
}
