/* SPDX-License-Identifier: Apache-2.0 */
/* Runs and predictions: canonical hashes, batch storage, reviewer listings. */
#include <json-c/json.h>
#include <math.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hash.h"
#include "store_internal.h"
#include "strmap.h"

#ifndef MMDX_VERSION_STRING
#define MMDX_VERSION_STRING "unknown"
#endif


void mmdx_audit__run_hash(const char *run_id, int64_t started_us, const char *db_role,
                          const char *os_user, const char *host, const char *mmdx_version,
                          const char *model_sha256, const char *cohort_sha256, const char *plugins,
                          const char *parameters, uint8_t out[32])
{
    mmdx_canon c = {0};
    static const char prefix[] = "mmdx-run-v1";
    mmdx_canon__bytes(&c, prefix, sizeof prefix);
    mmdx_canon__text(&c, run_id);
    mmdx_canon__u64(&c, (uint64_t)started_us);
    mmdx_canon__text(&c, db_role);
    mmdx_canon__text(&c, os_user);
    mmdx_canon__text(&c, host);
    mmdx_canon__text(&c, mmdx_version);
    mmdx_canon__text(&c, model_sha256);
    mmdx_canon__text(&c, cohort_sha256);
    mmdx_canon__text(&c, plugins);
    mmdx_canon__text(&c, parameters);
    if (c.oom)
        abort(); /* a few hundred bytes; a wrong hash would be worse than stopping */
    mmdx_sha256(c.p, c.n, out);
    mmdx_canon__free(&c);
}

void mmdx_audit__prediction_hash(const char *run_id, const char *patient, int pseudonymised,
                                 const char *study_uid, double probability, int decision,
                                 const char *contributions, const char *input_hashes,
                                 const double *embedding, size_t embedding_dim, const double *tokens,
                                 size_t n_token_values, uint8_t out[32])
{
    mmdx_canon c = {0};
    /* v1 rows (no embedding) hash as they always did; an embedding makes it
     * v2, modality tokens beside it v3 (schema 4) */
    static const char prefix[] = "mmdx-prediction-v1", prefix2[] = "mmdx-prediction-v2",
                      prefix3[] = "mmdx-prediction-v3";
    if (embedding_dim && n_token_values)
        mmdx_canon__bytes(&c, prefix3, sizeof prefix3);
    else if (embedding_dim)
        mmdx_canon__bytes(&c, prefix2, sizeof prefix2);
    else
        mmdx_canon__bytes(&c, prefix, sizeof prefix);
    mmdx_canon__text(&c, run_id);
    mmdx_canon__text(&c, patient);
    uint8_t flag = pseudonymised ? 1 : 0;
    mmdx_canon__bytes(&c, &flag, 1);
    mmdx_canon__text(&c, study_uid);
    uint64_t bits;
    memcpy(&bits, &probability, sizeof bits);
    mmdx_canon__u64(&c, bits);
    mmdx_canon__u16(&c, (uint16_t)(int16_t)decision);
    mmdx_canon__text(&c, contributions);
    mmdx_canon__text(&c, input_hashes);
    if (embedding_dim) {
        mmdx_canon__u64(&c, (uint64_t)embedding_dim);
        for (size_t k = 0; k < embedding_dim; k++) {
            uint64_t eb;
            memcpy(&eb, &embedding[k], sizeof eb);
            mmdx_canon__u64(&c, eb);
        }
    }
    if (embedding_dim && n_token_values) {
        /* the modality tokens: their count, then each value, every NaN (absent) as one bit pattern */
        mmdx_canon__u64(&c, (uint64_t)n_token_values);
        for (size_t k = 0; k < n_token_values; k++) {
            uint64_t eb = 0x7ff8000000000000ull;
            if (!isnan(tokens[k]))
                memcpy(&eb, &tokens[k], sizeof eb);
            mmdx_canon__u64(&c, eb);
        }
    }
    if (c.oom)
        abort();
    mmdx_sha256(c.p, c.n, out);
    mmdx_canon__free(&c);
}

static void hexbytea(const uint8_t *b, char out[2 + 64 + 1])
{
    out[0] = '\\';
    out[1] = 'x';
    mmdx_hex(b, 32, out + 2);
}

static int new_uuid(char out[MMDX_RUN_ID_LEN])
{
    uint8_t b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return mmdx_fail(MMDX_ERROR, "run: the random generator failed");
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    char h[33];
    mmdx_hex(b, 16, h);
    snprintf(out, MMDX_RUN_ID_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
    return 0;
}

/* A run ID as the server prints it: lower-case canonical UUID. */
static int check_uuid(const char *id, const char *field)
{
    static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    if (!id || strlen(id) != sizeof pattern - 1)
        return mmdx_fail(MMDX_EINVAL, "%s: not a run ID (a UUID like 1b4e28ba-2fa1-41d2-883f-0016d3cca427)",
                         field);
    for (size_t i = 0; pattern[i]; i++) {
        char c = id[i];
        if (pattern[i] == '-' ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return mmdx_fail(MMDX_EINVAL, "%s: \"%s\" is not a lower-case UUID", field, id);
    }
    return 0;
}

/*
 * The run a reviewer names: a full run ID, or the first characters of one
 * (at least 8, as the text views print them), resolved against the stored
 * runs. Errors: MMDX_EINVAL (not hex, too short, ambiguous), MMDX_ENOTFOUND.
 */
int mmdx_store__resolve_run(mmdx_store *s, const char *id, char out[MMDX_RUN_ID_LEN])
{
    size_t len = strlen(id);
    if (len == MMDX_RUN_ID_LEN - 1) {
        int rc = check_uuid(id, "results: run ID");
        if (rc == 0)
            snprintf(out, MMDX_RUN_ID_LEN, "%s", id);
        return rc;
    }
    static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    int ok = len >= 8 && len < MMDX_RUN_ID_LEN - 1;
    for (size_t i = 0; ok && i < len; i++) {
        char c = id[i];
        ok = pattern[i] == '-' ? c == '-' : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }
    if (!ok)
        return mmdx_fail(MMDX_EINVAL, "results: run ID \"%s\": give the whole run ID or at least its first 8 "
                         "characters (lower-case hexadecimal, as mmdx prints them)", id);
    const char *params[] = {id};
    PGresult *r;
    int rc = mmdx_store__exec(s, "results: find the run",
                              "SELECT run_id::text FROM mmdx.runs WHERE starts_with(run_id::text, $1) "
                              "ORDER BY run_id LIMIT 2", 1, params, PGRES_TUPLES_OK, &r);
    if (rc < 0)
        return rc;
    int n = PQntuples(r);
    if (n == 1)
        snprintf(out, MMDX_RUN_ID_LEN, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (n == 0)
        return mmdx_fail(MMDX_ENOTFOUND, "results: no stored run starts with \"%s\"", id);
    if (n > 1)
        return mmdx_fail(MMDX_EINVAL, "results: more than one run starts with \"%s\": give more characters", id);
    return 0;
}

typedef struct run_ctx {
    const mmdx_store_run *run;
    const char *run_id;
    const char *plugins;
    const char *parameters;
    const char *detail;
    int may_resume; /* the ID is the caller's: an existing run is resumed */
    int resumed;    /* out */
} run_ctx;

/* Inside the append lock: does the run exist? (Concurrent begins of one ID serialise on the lock.) */
static int run_exists(mmdx_store *s, const char *run_id, int *exists)
{
    const char *params[] = {run_id};
    PGresult *r;
    int rc = mmdx_store__exec(s, "run: look up", "SELECT 1 FROM mmdx.runs WHERE run_id = $1::uuid", 1, params,
                              PGRES_TUPLES_OK, &r);
    if (rc < 0)
        return rc;
    *exists = PQntuples(r) > 0;
    PQclear(r);
    return 0;
}

static int run_begin_tx(mmdx_store *s, void *vctx)
{
    run_ctx *c = vctx;
    mmdx_chain_tail t;
    int rc = mmdx_audit__lock_tail(s, &t);
    if (rc < 0)
        return rc;
    c->resumed = 0;
    if (c->may_resume) {
        int exists = 0;
        if ((rc = run_exists(s, c->run_id, &exists)) < 0)
            return rc;
        if (exists) {
            mmdx_event_rec e = {0};
            e.action = "run.resume";
            e.outcome = MMDX_OUTCOME_SUCCESS;
            e.object_type = "run";
            e.object_id = c->run_id;
            e.run_id = c->run_id;
            e.detail = c->detail;
            c->resumed = 1;
            return mmdx_audit__append(s, &t, &e, 1);
        }
    }
    char started[40];
    mmdx_audit__format_time(t.now_us, started, sizeof started);
    const char *params[] = {c->run_id, started, s->role, s->os_user, s->host, MMDX_VERSION_STRING,
                            c->run->model_sha256, c->run->cohort_sha256, c->plugins, c->parameters};
    rc = mmdx_store__exec(s, "run: insert",
                          "INSERT INTO mmdx.runs (run_id, started_at, db_role, os_user, host, "
                          "mmdx_version, model_sha256, cohort_sha256, plugins, parameters) VALUES "
                          "($1::uuid, $2::timestamptz, $3, $4, $5, $6, $7, $8, $9, $10)",
                          10, params, PGRES_COMMAND_OK, NULL);
    if (rc < 0)
        return rc;
    uint8_t h[32];
    mmdx_audit__run_hash(c->run_id, t.now_us, s->role, s->os_user, s->host, MMDX_VERSION_STRING,
                         c->run->model_sha256, c->run->cohort_sha256, c->plugins, c->parameters, h);
    mmdx_event_rec e = {0};
    e.action = "run.start";
    e.outcome = MMDX_OUTCOME_SUCCESS;
    e.object_type = "run";
    e.object_id = c->run_id;
    e.run_id = c->run_id;
    e.object_sha256 = h;
    e.detail = c->detail;
    return mmdx_audit__append(s, &t, &e, 1);
}

static int run_begin(mmdx_store *s, const mmdx_store_run *run, char run_id[MMDX_RUN_ID_LEN],
                     int given_id, int *resumed);

int mmdx_store_run_begin(mmdx_store *s, const mmdx_store_run *run, char run_id[MMDX_RUN_ID_LEN])
{
    return run_begin(s, run, run_id, 0, NULL);
}

int mmdx_store_run_begin_id(mmdx_store *s, const mmdx_store_run *run, const char *run_id, int *resumed)
{
    int rc = check_uuid(run_id, "run begin: run ID");
    if (rc < 0)
        return rc;
    char id[MMDX_RUN_ID_LEN];
    snprintf(id, sizeof id, "%s", run_id);
    return run_begin(s, run, id, 1, resumed);
}

static int run_begin(mmdx_store *s, const mmdx_store_run *run, char run_id[MMDX_RUN_ID_LEN],
                     int given_id, int *resumed)
{
    int rc = mmdx_audit__check_json_object(run->parameters_json, "parameters");
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < run->n_plugins; i++)
        if (!run->plugins[i].name || !*run->plugins[i].name)
            return mmdx_fail(MMDX_EINVAL, "run: plugin %zu has no name", i);
    if ((rc = mmdx_store__check_schema(s)) < 0)
        return rc;
    if (!given_id && (rc = new_uuid(run_id)) < 0)
        return rc;

    json_object *arr = json_object_new_array();
    json_object *det = json_object_new_object();
    for (size_t i = 0; i < run->n_plugins; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(run->plugins[i].name));
        json_object_object_add(o, "version", run->plugins[i].version
                                                 ? json_object_new_string(run->plugins[i].version)
                                                 : NULL);
        json_object_object_add(o, "sha256", run->plugins[i].sha256
                                                ? json_object_new_string(run->plugins[i].sha256)
                                                : NULL);
        json_object_array_add(arr, o);
    }
    json_object_object_add(det, "mmdx_version", json_object_new_string(MMDX_VERSION_STRING));
    if (run->model_sha256)
        json_object_object_add(det, "model_sha256", json_object_new_string(run->model_sha256));
    if (run->cohort_sha256)
        json_object_object_add(det, "cohort_sha256", json_object_new_string(run->cohort_sha256));
    json_object_object_add(det, "plugins", json_object_get(arr));
    if (given_id)
        /* as an object (checked above), not as a string holding JSON */
        json_object_object_add(det, "parameters", run->parameters_json ? json_tokener_parse(run->parameters_json)
                                                                       : json_object_new_object());
    run_ctx c = {run, run_id, json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                 run->parameters_json ? run->parameters_json : "{}",
                 json_object_to_json_string_ext(det, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                 given_id, 0};
    rc = mmdx_store__transaction(s, "run: begin", run_begin_tx, &c, NULL);
    if (rc == 0 && resumed)
        *resumed = c.resumed;
    json_object_put(arr);
    json_object_put(det);
    return rc;
}

int mmdx_store_run_patients(mmdx_store *s, const char *run_id, int (*cb)(void *ctx, const char *patient),
                            void *ctx, size_t *n)
{
    if (n)
        *n = 0;
    int rc = check_uuid(run_id, "run patients: run ID");
    if (rc < 0 || (rc = mmdx_store__check_schema(s)) < 0)
        return rc;
    const char *params[] = {run_id};
    PGresult *r;
    rc = mmdx_store__exec(s, "run patients", "SELECT patient FROM mmdx.predictions WHERE run_id = $1::uuid", 1,
                          params, PGRES_TUPLES_OK, &r);
    if (rc < 0)
        return rc;
    int rows = PQntuples(r);
    for (int i = 0; i < rows && rc == 0; i++) {
        rc = cb(ctx, PQgetvalue(r, i, 0));
        if (rc == 0 && n)
            ++*n;
    }
    PQclear(r);
    return rc;
}

int mmdx_store_run_end(mmdx_store *s, const char *run_id, int outcome, const char *summary_json)
{
    int rc = check_uuid(run_id, "run end: run ID");
    if (rc < 0)
        return rc;
    mmdx_audit_event e = {0};
    e.action = "run.end";
    e.outcome = outcome;
    e.object_type = "run";
    e.object_id = run_id;
    e.run_id = run_id;
    e.detail_json = summary_json;
    return mmdx_store_audit(s, &e, NULL);
}

/* ---- predictions ---- */

typedef enum { P_NEW, P_DUPLICATE, P_CONFLICT, P_REPEAT_IN_BATCH } p_state;

typedef struct pred_item {
    char *patient; /* stored form */
    uint8_t hash[32];
    char hash_hex[2 + 64 + 1];
    char stored_hex[2 + 64 + 1];
    p_state state;
    char *detail;
    char *contributions; /* the JSON texts stored and hashed */
    char *input_hashes;
    char *embedding;     /* '{...}' with every double exact, or NULL */
    char *tokens;        /* the same for the modality tokens ('NaN' for an absent modality) */
} pred_item;

typedef struct pred_ctx {
    const char *run_id;
    const mmdx_store_prediction *p;
    pred_item *items;
    size_t n;
    mmdx_strmap *index; /* stored patient -> its first item */
    int careful;        /* some rows may be stored already (see INSERT_PREDICTIONS) */
    mmdx_store_batch_result res;
} pred_ctx;

/*
 * New rows in one statement, arrays through unnest, in patient order: writers
 * whose batches share patients then wait for each other in one order and
 * never deadlock. Needs no chain lock: predictions are not links of the
 * chain, and their events are appended under the lock in the same
 * transaction. The plain INSERT is the fast path; when a (run, patient) is
 * stored already (a replay, or another writer committed it meanwhile: the
 * unique index made this one wait for that outcome), it fails and the batch
 * runs again carefully: rows already stored are left alone (ON CONFLICT DO
 * NOTHING) and looked up, so that their events say duplicate or conflict.
 */
#define INSERT_PREDICTIONS \
    "INSERT INTO mmdx.predictions (run_id, patient, pseudonymised, study_uid, probability, decision, " \
    "contributions, input_hashes, content_sha256, embedding, modality_embeddings) " \
    "SELECT $1::uuid, u.patient, $2::boolean, u.study_uid, u.probability, u.decision, u.contributions, " \
    "u.input_hashes, u.content_sha256, u.embedding::float8[], u.tokens::float8[] " \
    "FROM unnest($3::text[], $4::text[], $5::float8[], $6::smallint[], $7::text[], $8::text[], $9::bytea[], " \
    "$10::text[], $11::text[]) AS u(patient, study_uid, probability, decision, contributions, input_hashes, " \
    "content_sha256, embedding, tokens) " \
    "ORDER BY u.patient COLLATE \"C\""
static const char insert_fast_sql[] = INSERT_PREDICTIONS;
static const char insert_careful_sql[] = INSERT_PREDICTIONS " ON CONFLICT (run_id, patient) DO NOTHING RETURNING patient";

enum { C_PATIENT, C_STUDY, C_PROB, C_DECISION, C_CONTRIB, C_INPUTS, C_HASH, C_EMB, C_TOKENS, C_N = MMDX_PREDICTION_ARRAYS };

/* Items the INSERT did not return are stored already: with the same content or not. */
static int classify_existing(mmdx_store *s, pred_ctx *c, PGresult *inserted)
{
    int rc = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->items[i].state == P_NEW)
            c->items[i].state = P_DUPLICATE; /* until the INSERT says it stored it */
    for (int row = 0; row < PQntuples(inserted); row++) {
        size_t i;
        if (mmdx_strmap_get(c->index, PQgetvalue(inserted, row, 0), &i))
            c->items[i].state = P_NEW;
    }
    mmdx_pgarray pats;
    memset(&pats, 0, sizeof pats);
    mmdx_pgarray__begin(&pats, MMDX_OID_TEXT);
    for (size_t i = 0; i < c->n; i++)
        if (c->items[i].state == P_DUPLICATE)
            mmdx_pgarray__text(&pats, c->items[i].patient);
    PGresult *r = NULL;
    if ((rc = mmdx_pgarray__end(&pats)) == 0) {
        const char *params[] = {c->run_id, (const char *)pats.buf.p};
        const int lengths[] = {0, (int)pats.buf.n}, formats[] = {0, 1};
        rc = mmdx_store__exec_params(s, "predictions: look up stored rows",
                                     "SELECT patient, content_sha256 FROM mmdx.predictions "
                                     "WHERE run_id = $1::uuid AND patient = ANY ($2::text[])",
                                     2, params, lengths, formats, PGRES_TUPLES_OK, &r);
    }
    mmdx_pgarray__free(&pats);
    for (int row = 0; rc == 0 && row < PQntuples(r); row++) {
        size_t i;
        if (mmdx_strmap_get(c->index, PQgetvalue(r, row, 0), &i) && c->items[i].state == P_DUPLICATE) {
            pred_item *it = &c->items[i];
            snprintf(it->stored_hex, sizeof it->stored_hex, "%s", PQgetvalue(r, row, 1));
            it->state = strcmp(it->stored_hex, it->hash_hex) == 0 ? P_DUPLICATE : P_CONFLICT;
        }
    }
    PQclear(r);
    return rc;
}

static int insert_batch(mmdx_store *s, pred_ctx *c)
{
    static const uint32_t types[C_N] = {MMDX_OID_TEXT, MMDX_OID_TEXT, MMDX_OID_FLOAT8, MMDX_OID_INT2, MMDX_OID_TEXT,
                                        MMDX_OID_TEXT, MMDX_OID_BYTEA, MMDX_OID_TEXT, MMDX_OID_TEXT};
    mmdx_store_buffers *buf = mmdx_store__buffers(s);
    if (!buf)
        return MMDX_ENOMEM;
    mmdx_pgarray *a = buf->predictions;
    for (int k = 0; k < C_N; k++)
        mmdx_pgarray__begin(&a[k], types[k]);
    size_t sent = 0;
    for (size_t i = 0; i < c->n; i++) {
        pred_item *it = &c->items[i];
        const mmdx_store_prediction *p = &c->p[i];
        if (it->state != P_NEW)
            continue;
        mmdx_pgarray__text(&a[C_PATIENT], it->patient);
        mmdx_pgarray__text(&a[C_STUDY], p->study_uid);
        mmdx_pgarray__float8(&a[C_PROB], p->probability);
        mmdx_pgarray__int2(&a[C_DECISION], p->decision, p->decision < 0);
        mmdx_pgarray__text(&a[C_CONTRIB], it->contributions);
        mmdx_pgarray__text(&a[C_INPUTS], it->input_hashes);
        mmdx_pgarray__bytea(&a[C_HASH], it->hash, 32);
        mmdx_pgarray__text(&a[C_EMB], it->embedding);
        mmdx_pgarray__text(&a[C_TOKENS], it->tokens);
        sent++;
    }
    const char *params[2 + C_N] = {c->run_id, s->pseudonymise ? "t" : "f"};
    int lengths[2 + C_N] = {0}, formats[2 + C_N] = {0};
    int rc = 0;
    for (int k = 0; k < C_N && rc == 0; k++) {
        rc = mmdx_pgarray__end(&a[k]);
        params[2 + k] = (const char *)a[k].buf.p;
        lengths[2 + k] = (int)a[k].buf.n;
        formats[2 + k] = 1;
    }
    PGresult *r = NULL;
    if (rc == 0 && sent)
        rc = mmdx_store__exec_params(s, "predictions: insert", c->careful ? insert_careful_sql : insert_fast_sql,
                                     2 + C_N, params, lengths, formats,
                                     c->careful ? PGRES_TUPLES_OK : PGRES_COMMAND_OK, &r);
    if (rc < 0) {
        if (strcmp(s->sqlstate, "23503") == 0) /* predictions_run_exists (schema 5) */
            return mmdx_fail(MMDX_ENOTFOUND, "predictions: no run %s in the database [%s]", c->run_id,
                             s->describe);
        return rc;
    }
    if (c->careful && (size_t)PQntuples(r) < sent)
        rc = classify_existing(s, c, r);
    PQclear(r);
    return rc;
}

static int predictions_tx(mmdx_store *s, void *vctx)
{
    pred_ctx *c = vctx;
    memset(&c->res, 0, sizeof c->res);
    for (size_t i = 0; i < c->n; i++)
        if (c->items[i].state != P_REPEAT_IN_BATCH)
            c->items[i].state = P_NEW;
    int rc = insert_batch(s, c);
    if (rc < 0)
        return rc;
    mmdx_store__fault(s, "between-statements");
    /* The events' fields are made before the chain lock is taken: it is held until COMMIT. */
    mmdx_event_rec *ev = calloc(c->n ? c->n : 1, sizeof *ev);
    if (!ev)
        return mmdx_fail(MMDX_ENOMEM, "predictions: out of memory");
    for (size_t i = 0; i < c->n; i++) {
        pred_item *it = &c->items[i];
        const mmdx_store_prediction *p = &c->p[i];
        mmdx_event_rec *e = &ev[i];
        e->object_type = "prediction";
        e->patient = it->patient;
        e->study_uid = p->study_uid;
        e->run_id = c->run_id;
        e->object_sha256 = it->hash;
        free(it->detail);
        it->detail = NULL;
        json_object *d = json_object_new_object();
        switch (it->state) {
        case P_NEW:
            e->action = "prediction.store";
            e->outcome = MMDX_OUTCOME_SUCCESS;
            json_object_object_add(d, "probability", json_object_new_double(p->probability));
            if (p->decision >= 0)
                json_object_object_add(d, "decision", json_object_new_int(p->decision));
            c->res.stored++;
            break;
        case P_DUPLICATE:
        case P_REPEAT_IN_BATCH:
            e->action = "prediction.duplicate";
            e->outcome = MMDX_OUTCOME_MINOR_FAILURE;
            json_object_object_add(d, "reason", json_object_new_string(
                "already stored for this run with the same content; not written again"));
            c->res.duplicates++;
            break;
        case P_CONFLICT:
            e->action = "prediction.conflict";
            e->outcome = MMDX_OUTCOME_SERIOUS_FAILURE;
            json_object_object_add(d, "reason", json_object_new_string(
                "already stored for this run with different content; the stored prediction is kept"));
            json_object_object_add(d, "stored_sha256", json_object_new_string(it->stored_hex + 2));
            c->res.conflicts++;
            break;
        }
        it->detail = strdup(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(d);
        e->detail = it->detail;
        if (!it->detail) {
            free(ev);
            return mmdx_fail(MMDX_ENOMEM, "predictions: out of memory");
        }
    }
    mmdx_store_buffers *b = mmdx_store__buffers(s);
    mmdx_chain_tail t;
    if (!b)
        rc = MMDX_ENOMEM;
    else if ((rc = mmdx_audit__prepare(s, &b->events, ev, c->n)) == 0 && (rc = mmdx_audit__lock_tail(s, &t)) == 0)
        rc = mmdx_audit__link(s, &t, &b->events, ev);
    free(ev);
    return rc;
}

int mmdx_audit__parse_float_array(const char *text, int allow_nan, double **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!text)
        return 0;
    size_t len = strlen(text), cap = 1;
    if (len < 2 || text[0] != '{' || text[len - 1] != '}')
        return MMDX_EFORMAT;
    for (size_t i = 0; i < len; i++)
        cap += text[i] == ',';
    double *v = malloc(cap * sizeof *v);
    if (!v)
        return MMDX_ENOMEM;
    const char *p = text + 1;
    size_t k = 0;
    while (*p != '}') {
        char *end;
        double x = strtod(p, &end);
        if (end == p || isinf(x) || (isnan(x) && !allow_nan) || k == cap || (*end != ',' && *end != '}')) {
            free(v);
            return MMDX_EFORMAT;
        }
        v[k++] = x;
        p = *end == ',' ? end + 1 : end;
    }
    *out = v;
    *n = k;
    return 0;
}

static int is_sha256_hex(const char *h)
{
    if (!h || strlen(h) != 64)
        return 0;
    for (size_t k = 0; k < 64; k++)
        if (!((h[k] >= '0' && h[k] <= '9') || (h[k] >= 'a' && h[k] <= 'f')))
            return 0;
    return 1;
}

static int check_prediction(const mmdx_store_prediction *p, size_t i)
{
    if (!p->patient_id || !*p->patient_id)
        return mmdx_fail(MMDX_EINVAL, "prediction %zu: field 'patient_id' is empty", i);
    if (!isfinite(p->probability) || p->probability < 0 || p->probability > 1)
        return mmdx_fail(MMDX_EINVAL, "prediction %zu (patient %s): field 'probability' (%g) is not in [0, 1]",
                         i, p->patient_id, p->probability);
    if (p->decision < -1 || p->decision > 1)
        return mmdx_fail(MMDX_EINVAL, "prediction %zu: field 'decision' must be -1, 0 or 1, not %d", i,
                         p->decision);
    if ((p->n_contributions && !p->contributions) || (p->n_input_hashes && !p->input_hashes))
        return mmdx_fail(MMDX_EINVAL, "prediction %zu: contributions or input hashes counted but not given", i);
    if ((p->embedding_dim && !p->embedding) || p->embedding_dim > 4096)
        return mmdx_fail(MMDX_EINVAL, "prediction %zu: embedding of %zu values (at most 4096, and given)", i,
                         p->embedding_dim);
    for (size_t k = 0; k < p->embedding_dim; k++)
        if (!isfinite(p->embedding[k]))
            return mmdx_fail(MMDX_EINVAL, "prediction %zu: embedding[%zu] is not finite", i, k);
    if (p->tokens && (!p->embedding_dim || p->n_tokens == 0 || p->n_tokens > 64))
        return mmdx_fail(MMDX_EINVAL, "prediction %zu: modality tokens need an embedding and 1 to 64 modalities", i);
    for (size_t k = 0; p->tokens && k < p->n_tokens * p->embedding_dim; k++)
        if (isinf(p->tokens[k]))
            return mmdx_fail(MMDX_EINVAL, "prediction %zu: modality token value %zu is infinite", i, k);
    for (size_t k = 0; k < p->n_contributions; k++) {
        const mmdx_store_contribution *c = &p->contributions[k];
        if (!c->modality || !*c->modality)
            return mmdx_fail(MMDX_EINVAL, "prediction %zu: contributions[%zu]: empty modality name", i, k);
        if (!isfinite(c->value))
            return mmdx_fail(MMDX_EINVAL, "prediction %zu: contributions[%zu] (%s): value %g is not finite", i,
                             k, c->modality, c->value);
        for (size_t j = 0; j < k; j++)
            if (!strcmp(p->contributions[j].modality, c->modality))
                return mmdx_fail(MMDX_EINVAL, "prediction %zu: contributions: modality '%s' given twice", i,
                                 c->modality);
    }
    for (size_t k = 0; k < p->n_input_hashes; k++) {
        const mmdx_store_input_hash *h = &p->input_hashes[k];
        if (!h->input || !*h->input)
            return mmdx_fail(MMDX_EINVAL, "prediction %zu: input_hashes[%zu]: empty input name", i, k);
        if (!is_sha256_hex(h->sha256_hex))
            return mmdx_fail(MMDX_EINVAL,
                             "prediction %zu: input_hashes[%zu] (%s): not 64 lower-case hex digits", i, k,
                             h->input);
        for (size_t j = 0; j < k; j++)
            if (!strcmp(p->input_hashes[j].input, h->input))
                return mmdx_fail(MMDX_EINVAL, "prediction %zu: input_hashes: input '%s' given twice", i,
                                 h->input);
    }
    return 0;
}

/* '{v0,v1,...}' with every double exact (%.17g), NaN as PostgreSQL spells it; malloc'd. */
static char *float_array_text(const double *v, size_t n)
{
    size_t cap = 3 + n * 26, used = 0;
    char *t = malloc(cap);
    for (size_t k = 0; t && k < n; k++) {
        if (isnan(v[k]))
            used += (size_t)snprintf(t + used, cap - used, "%sNaN", k ? "," : "{");
        else
            used += (size_t)snprintf(t + used, cap - used, "%s%.17g", k ? "," : "{", v[k]);
    }
    if (t)
        snprintf(t + used, cap - used, n ? "}" : "{}");
    return t;
}

/* The JSON texts stored (and hashed) for a prediction's contributions and input hashes. */
static int prediction_texts(const mmdx_store_prediction *p, pred_item *it)
{
    json_object *c = json_object_new_object(), *h = json_object_new_object();
    int rc = (c && h) ? 0 : MMDX_ENOMEM;
    for (size_t k = 0; rc == 0 && k < p->n_contributions; k++) {
        char num[40];
        snprintf(num, sizeof num, "%.9g", p->contributions[k].value);
        json_object *v = json_object_new_double_s(strtod(num, NULL), num);
        if (!v || json_object_object_add(c, p->contributions[k].modality, v) != 0)
            rc = MMDX_ENOMEM;
    }
    for (size_t k = 0; rc == 0 && k < p->n_input_hashes; k++) {
        json_object *v = json_object_new_string(p->input_hashes[k].sha256_hex);
        if (!v || json_object_object_add(h, p->input_hashes[k].input, v) != 0)
            rc = MMDX_ENOMEM;
    }
    const int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
    if (rc == 0) {
        it->contributions = strdup(json_object_to_json_string_ext(c, flags));
        it->input_hashes = strdup(json_object_to_json_string_ext(h, flags));
        if (!it->contributions || !it->input_hashes)
            rc = MMDX_ENOMEM;
    }
    json_object_put(c);
    json_object_put(h);
    if (rc == 0 && p->embedding_dim && !(it->embedding = float_array_text(p->embedding, p->embedding_dim)))
        rc = MMDX_ENOMEM;
    if (rc == 0 && p->tokens && p->n_tokens &&
        !(it->tokens = float_array_text(p->tokens, p->n_tokens * p->embedding_dim)))
        rc = MMDX_ENOMEM;
    return rc < 0 ? mmdx_fail(rc, "predictions: out of memory") : 0;
}

/* What is stored and hashed for one prediction: the patient key, the texts, the content hash. */
static int prepare_item(mmdx_store *s, const char *run_id, const mmdx_store_prediction *p, pred_item *it)
{
    int rc = mmdx_store_patient_key(s, p->patient_id, &it->patient);
    if (rc < 0)
        return rc;
    if ((rc = prediction_texts(p, it)) < 0)
        return rc;
    mmdx_audit__prediction_hash(run_id, it->patient, s->pseudonymise, p->study_uid, p->probability, p->decision,
                                it->contributions, it->input_hashes, p->embedding, p->embedding_dim, p->tokens,
                                p->tokens ? p->n_tokens * p->embedding_dim : 0, it->hash);
    hexbytea(it->hash, it->hash_hex);
    return 0;
}

int mmdx_store_predictions(mmdx_store *s, const char *run_id, const mmdx_store_prediction *p,
                           size_t n, mmdx_store_batch_result *res)
{
    if (res)
        memset(res, 0, sizeof *res);
    int rc = check_uuid(run_id, "predictions: run ID");
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = check_prediction(&p[i], i);
    if (rc < 0)
        return rc;
    if (n == 0)
        return 0;
    if ((rc = mmdx_store__check_schema(s)) < 0)
        return rc;
    pred_ctx c = {run_id, p, calloc(n, sizeof(pred_item)), n, mmdx_strmap_new(), 0, {0}};
    if (!c.items || !c.index) {
        free(c.items);
        mmdx_strmap_free(c.index);
        return mmdx_fail(MMDX_ENOMEM, "predictions: out of memory");
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        pred_item *it = &c.items[i];
        if ((rc = prepare_item(s, run_id, &p[i], it)) < 0)
            break;
        /* The same patient twice in one batch: the first is stored, later ones are replays. */
        size_t j;
        int put = mmdx_strmap_put(c.index, it->patient, i, &j);
        if (put < 0) {
            rc = mmdx_fail(MMDX_ENOMEM, "predictions: out of memory");
        } else if (put == 0) {
            if (strcmp(c.items[j].hash_hex, it->hash_hex) != 0)
                rc = mmdx_fail(MMDX_EINVAL,
                               "predictions %zu and %zu: the same patient with different results in one batch",
                               j, i);
            it->state = P_REPEAT_IN_BATCH;
        }
    }
    int retries = 0;
    if (rc == 0)
        rc = mmdx_store__transaction(s, "predictions: store a batch", predictions_tx, &c, &retries);
    if (rc == MMDX_EDB && strcmp(s->sqlstate, "23505") == 0) { /* a (run, patient) stored already */
        int more = 0;
        mmdx_error_clear();
        c.careful = 1;
        rc = mmdx_store__transaction(s, "predictions: store a batch", predictions_tx, &c, &more);
        retries += more;
    }
    if (rc == 0 && res) {
        *res = c.res;
        res->retries = retries;
    }
    for (size_t i = 0; i < n; i++) {
        free(c.items[i].patient);
        free(c.items[i].detail);
        free(c.items[i].contributions);
        free(c.items[i].input_hashes);
        free(c.items[i].embedding);
        free(c.items[i].tokens);
    }
    free(c.items);
    mmdx_strmap_free(c.index);
    return rc;
}

int mmdx_store_prediction_state(mmdx_store *s, const char *run_id, const mmdx_store_prediction *p, int *state)
{
    *state = MMDX_STORED_NONE;
    int rc = check_uuid(run_id, "prediction state: run ID");
    if (rc == 0)
        rc = check_prediction(p, 0);
    if (rc == 0)
        rc = mmdx_store__check_schema(s);
    pred_item it;
    memset(&it, 0, sizeof it);
    if (rc == 0)
        rc = prepare_item(s, run_id, p, &it);
    PGresult *r = NULL;
    const char *params[] = {run_id, it.patient};
    if (rc == 0)
        rc = mmdx_store__exec(s, "prediction state: look up the stored row",
                              "SELECT content_sha256 FROM mmdx.predictions WHERE run_id = $1::uuid AND patient = $2",
                              2, params, PGRES_TUPLES_OK, &r);
    if (rc == 0) {
        if (PQntuples(r) > 0)
            *state = strcmp(PQgetvalue(r, 0, 0), it.hash_hex) == 0 ? MMDX_STORED_SAME : MMDX_STORED_DIFFERENT;
        PQclear(r);
    }
    free(it.patient);
    free(it.contributions);
    free(it.input_hashes);
    free(it.embedding);
    free(it.tokens);
    return rc < 0 ? rc : 0;
}

/* ---- reviewer listing ---- */

int mmdx_store_results(mmdx_store *s, const char *run_id, const char *patient_id,
                       int (*cb)(void *ctx, const mmdx_result_row *row), void *ctx, size_t *n)
{
    if (n)
        *n = 0;
    if ((!run_id || !*run_id) && (!patient_id || !*patient_id))
        return mmdx_fail(MMDX_EINVAL, "results: name a run or a patient");
    int rc = 0;
    char full_run[MMDX_RUN_ID_LEN];
    if (run_id && *run_id) {
        if ((rc = mmdx_store__resolve_run(s, run_id, full_run)) < 0)
            return rc;
        run_id = full_run;
    }
    char psn[MMDX_PSEUDONYM_LEN] = "";
    if (patient_id && s->have_key && (rc = mmdx_store_pseudonym(s, patient_id, psn)) < 0)
        return rc;
    /* The review is recorded before anything is shown. */
    json_object *d = json_object_new_object();
    if (run_id && *run_id)
        json_object_object_add(d, "run", json_object_new_string(run_id));
    json_object_object_add(d, "query", json_object_new_string(patient_id ? "patient" : "run"));
    mmdx_audit_event e = {0};
    e.action = "results.view";
    e.object_type = "prediction";
    e.run_id = run_id && *run_id ? run_id : NULL;
    e.detail_json = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    /* The event names the patient in stored form (pseudonym when pseudonymising); a pseudonym given
     * (read from the log) is that form already. */
    if (patient_id && mmdx_audit_is_pseudonym(patient_id))
        e.patient_stored = patient_id;
    else
        e.patient_id = patient_id;
    rc = mmdx_store_audit(s, &e, NULL);
    json_object_put(d);
    if (rc < 0)
        return rc;
    const char *params[3] = {run_id && *run_id ? run_id : NULL, patient_id, psn[0] ? psn : NULL};
    PGresult *r;
    rc = mmdx_store__exec(s, "results: query",
                          "SELECT p.run_id::text, p.patient, p.pseudonymised, p.study_uid, p.probability, "
                          "p.decision, p.contributions, p.input_hashes, "
                          "to_char(p.stored_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
                          "r.model_sha256 "
                          "FROM mmdx.predictions p JOIN mmdx.runs r ON r.run_id = p.run_id "
                          "WHERE ($1::uuid IS NULL OR p.run_id = $1::uuid) "
                          "AND ($2::text IS NULL OR p.patient = $2 OR p.patient = $3) "
                          "ORDER BY p.stored_at, p.run_id, p.patient",
                          3, params, PGRES_TUPLES_OK, &r);
    if (rc < 0)
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        mmdx_result_row row = {0};
        row.run_id = PQgetvalue(r, i, 0);
        row.patient = PQgetvalue(r, i, 1);
        row.pseudonymised = PQgetvalue(r, i, 2)[0] == 't';
        row.study_uid = PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3);
        row.probability = strtod(PQgetvalue(r, i, 4), NULL);
        row.decision = PQgetisnull(r, i, 5) ? -1 : atoi(PQgetvalue(r, i, 5));
        row.contributions = PQgetvalue(r, i, 6);
        row.input_hashes = PQgetvalue(r, i, 7);
        row.stored_at = PQgetvalue(r, i, 8);
        row.model_sha256 = PQgetisnull(r, i, 9) ? NULL : PQgetvalue(r, i, 9);
        rc = cb ? cb(ctx, &row) : 0;
        if (n)
            (*n)++;
    }
    PQclear(r);
    return rc;
}
