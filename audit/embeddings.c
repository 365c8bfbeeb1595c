/* SPDX-License-Identifier: Apache-2.0 */
/* Stored embeddings for retrieval: streamed in event order, each row checked against its event's hash. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"
#include "hash.h"
#include "store_internal.h"

#define EMB_FETCH_ROWS "2000"

/* '{1,2,3}' for a bigint[] parameter; malloc'd. */
static char *seq_array_text(const int64_t *v, size_t n)
{
    size_t cap = 3 + n * 21, used = 0;
    char *t = malloc(cap);
    if (!t)
        return NULL;
    used += (size_t)snprintf(t, cap, "{");
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(t + used, cap - used, "%s%" PRId64, i ? "," : "", v[i]);
    snprintf(t + used, cap - used, "}");
    return t;
}

/* One fetched row: parsed, hash-checked, passed on. 1: skipped as changed. */
static int emit(PGresult *r, int i, int (*cb)(void *, const mmdx_embedding_row *), void *ctx, int *cbrc)
{
    const char *run = PQgetvalue(r, i, 1), *pat = PQgetvalue(r, i, 2);
    double *emb = NULL, *tok = NULL;
    size_t dim = 0, ntok = 0;
    int erc = mmdx_audit__parse_float_array(PQgetvalue(r, i, 10), 0, &emb, &dim);
    if (erc == 0)
        erc = mmdx_audit__parse_float_array(PQgetisnull(r, i, 11) ? NULL : PQgetvalue(r, i, 11), 1, &tok, &ntok);
    if (erc == MMDX_ENOMEM) {
        free(emb);
        return mmdx_fail(MMDX_ENOMEM, "embeddings: out of memory");
    }
    int pseudonymised = PQgetvalue(r, i, 3)[0] == 't';
    double prob = strtod(PQgetvalue(r, i, 6), NULL);
    int decision = PQgetisnull(r, i, 7) ? -1 : atoi(PQgetvalue(r, i, 7));
    uint8_t h[32], recorded[32];
    mmdx_audit__prediction_hash(run, pat, pseudonymised, PQgetisnull(r, i, 4) ? NULL : PQgetvalue(r, i, 4), prob,
                                decision, PQgetvalue(r, i, 8), PQgetvalue(r, i, 9), emb, dim, tok, ntok, h);
    int same = erc == 0 && dim > 0 && (ntok == 0 || ntok % dim == 0) &&
               mmdx_audit__bytea(PQgetvalue(r, i, 12), recorded, 32) == 0 && mmdx_digest_equal(h, recorded, 32);
    if (same) {
        mmdx_embedding_row row = {strtoll(PQgetvalue(r, i, 0), NULL, 10), run, pat, PQgetvalue(r, i, 5),
                                  pseudonymised, prob, decision, emb, (uint32_t)dim, tok, ntok ? ntok / dim : 0,
                                  PQgetisnull(r, i, 4) ? NULL : PQgetvalue(r, i, 4)};
        *cbrc = cb ? cb(ctx, &row) : 0;
    }
    free(emb);
    free(tok);
    return same ? 0 : 1;
}

static int read_rows(mmdx_store *s, const mmdx_embedding_filter *f, const char *psn,
                     int (*cb)(void *, const mmdx_embedding_row *), void *ctx, mmdx_embedding_stats *st)
{
    char after[24];
    snprintf(after, sizeof after, "%" PRId64, f->after_seq);
    char *seqs = NULL;
    if (f->seqs && !(seqs = seq_array_text(f->seqs, f->n_seqs)))
        return mmdx_fail(MMDX_ENOMEM, "embeddings: out of memory");
    const char *params[6] = {f->model_sha256, after, f->patient_id, psn[0] ? psn : NULL, seqs, f->study_uid};
    /* The row's own event (same run, patient and content hash) gives its order and the hash to check. */
    int rc = mmdx_store__exec(
        s, "embeddings: open",
        "DECLARE mmdx_emb NO SCROLL CURSOR FOR "
        "SELECT e.seq, p.run_id::text, p.patient, p.pseudonymised, p.study_uid, "
        "to_char(p.stored_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), p.probability, p.decision, "
        "p.contributions, p.input_hashes, p.embedding::text, p.modality_embeddings::text, e.object_sha256 "
        "FROM mmdx.predictions p JOIN mmdx.runs r ON r.run_id = p.run_id "
        "JOIN mmdx.audit_events e ON e.action = 'prediction.store' AND e.run_id = p.run_id "
        "AND e.patient = p.patient "
        "WHERE r.model_sha256 = $1 AND p.embedding IS NOT NULL AND e.seq > $2::bigint "
        "AND ($3::text IS NULL OR p.patient = $3 OR p.patient = $4) "
        "AND ($5::bigint[] IS NULL OR e.seq = ANY ($5::bigint[])) AND ($6::text IS NULL OR p.study_uid = $6) "
        "ORDER BY e.seq",
        6, params, PGRES_COMMAND_OK, NULL);
    free(seqs);
    if (rc < 0)
        return rc;
    for (;;) {
        PGresult *r;
        rc = mmdx_store__exec(s, "embeddings: read", "FETCH " EMB_FETCH_ROWS " FROM mmdx_emb", 0, NULL,
                              PGRES_TUPLES_OK, &r);
        if (rc < 0)
            return rc;
        int rows = PQntuples(r), cbrc = 0;
        for (int i = 0; i < rows && rc == 0 && cbrc == 0; i++) {
            int e = emit(r, i, cb, ctx, &cbrc);
            if (e < 0)
                rc = e;
            else if (e == 1)
                st->mismatched++;
            else
                st->rows++;
            st->last_seq = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        }
        PQclear(r);
        if (rc < 0)
            return rc;
        if (cbrc)
            return cbrc;
        if (rows == 0)
            return 0;
    }
}

/* Once per connection: the writer role may not read embeddings, and is told so plainly. */
static int check_readable(mmdx_store *s)
{
    int rc = mmdx_store__ask(s, "embeddings: check the role",
                             "SELECT has_column_privilege('mmdx.predictions', 'embedding', 'SELECT')",
                             &s->embeddings_readable);
    if (rc < 0)
        return rc;
    if (!s->embeddings_readable)
        return mmdx_fail(MMDX_EPERM, "database role %s may not read stored embeddings: similar-patient "
                         "search needs a reviewer login (a member of mmdx_reviewer) [%s]",
                         mmdx_store_role(s), mmdx_store_describe(s));
    return 0;
}

int mmdx_store_embeddings(mmdx_store *s, const mmdx_embedding_filter *f,
                          int (*cb)(void *ctx, const mmdx_embedding_row *row), void *ctx,
                          mmdx_embedding_stats *stats)
{
    mmdx_embedding_stats st = {0, 0, f ? f->after_seq : 0};
    if (stats)
        *stats = st;
    if (!f || !f->model_sha256 || !*f->model_sha256 || f->after_seq < 0)
        return mmdx_fail(MMDX_EINVAL, "embeddings: name the model (its SHA-256)");
    int rc = mmdx_store__check_schema(s);
    if (rc < 0)
        return rc;
    char psn[MMDX_PSEUDONYM_LEN] = "";
    if (f->patient_id && s->have_key && (rc = mmdx_store_pseudonym(s, f->patient_id, psn)) < 0)
        return rc;
    if (!s->embeddings_readable && (rc = check_readable(s)) < 0)
        return rc;
    rc = mmdx_store__exec(s, "embeddings: begin", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
                          PGRES_COMMAND_OK, NULL);
    if (rc < 0)
        return rc;
    rc = read_rows(s, f, psn, cb, ctx, &st);
    if (!mmdx_store__conn_lost(s))
        PQclear(PQexec(s->conn, rc == 0 ? "COMMIT" : "ROLLBACK"));
    if (stats)
        *stats = st;
    return rc;
}
