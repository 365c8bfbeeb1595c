/* SPDX-License-Identifier: Apache-2.0 */
/* Audit events: canonical bytes, chain hashes, appending under the lock. */
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "error.h"
#include "hash.h"
#include "store_internal.h"

void mmdx_audit__format_time(int64_t us, char *out, size_t n)
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)frac);
}

void mmdx_canon__bytes(mmdx_canon *c, const void *data, size_t len)
{
    if (c->oom)
        return;
    if (mmdx_array_reserve(&c->p, &c->cap, c->n + len, 1, 256, 0) < 0) {
        c->oom = 1;
        return;
    }
    if (len)
        memcpy(c->p + c->n, data, len);
    c->n += len;
}

void mmdx_canon__u64(mmdx_canon *c, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    mmdx_canon__bytes(c, b, 8);
}

void mmdx_canon__u16(mmdx_canon *c, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    mmdx_canon__bytes(c, b, 2);
}

static void canon_len(mmdx_canon *c, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    mmdx_canon__bytes(c, b, 4);
}

void mmdx_canon__text(mmdx_canon *c, const char *s)
{
    if (!s) {
        canon_len(c, 0xffffffffu);
        return;
    }
    size_t n = strlen(s);
    canon_len(c, (uint32_t)n);
    mmdx_canon__bytes(c, s, n);
}

void mmdx_canon__blob(mmdx_canon *c, const uint8_t *b, size_t len)
{
    if (!b) {
        canon_len(c, 0xffffffffu);
        return;
    }
    canon_len(c, (uint32_t)len);
    mmdx_canon__bytes(c, b, len);
}

void mmdx_canon__free(mmdx_canon *c)
{
    free(c->p);
    memset(c, 0, sizeof *c);
}

/* The canonical bytes after the time: everything an event says but its place in the chain. */
static void canon_rest(mmdx_canon *c, const mmdx_event_rec *e)
{
    mmdx_canon__text(c, e->db_role);
    mmdx_canon__text(c, e->os_user);
    mmdx_canon__text(c, e->host);
    mmdx_canon__text(c, e->action);
    mmdx_canon__u16(c, (uint16_t)e->outcome);
    mmdx_canon__text(c, e->object_type);
    mmdx_canon__text(c, e->object_id);
    mmdx_canon__text(c, e->patient);
    mmdx_canon__text(c, e->study_uid);
    mmdx_canon__text(c, e->run_id);
    mmdx_canon__blob(c, e->object_sha256, 32);
    mmdx_canon__text(c, e->detail);
}

static const char event_prefix[] = "mmdx-audit-event-v1";

/* hash = SHA-256(prev_hash || prefix || seq || time || rest) */
static void link_hash(const uint8_t prev[32], int64_t seq, int64_t ts_us, const uint8_t *rest, size_t len,
                      uint8_t *scratch, uint8_t hash[32])
{
    mmdx_canon c = {scratch, 0, 32 + sizeof event_prefix + 16, 0};
    mmdx_canon__bytes(&c, prev, 32);
    mmdx_canon__bytes(&c, event_prefix, sizeof event_prefix); /* with its NUL */
    mmdx_canon__u64(&c, (uint64_t)seq);
    mmdx_canon__u64(&c, (uint64_t)ts_us);
    memcpy(scratch + c.n, rest, len);
    mmdx_sha256(scratch, c.n + len, hash);
}

int mmdx_audit__event_hash(const mmdx_event_rec *e, uint8_t hash[32])
{
    /* Must match mmdx.audit_event_bytes() in migrations/001_init.sql. */
    mmdx_canon rest = {0};
    canon_rest(&rest, e);
    uint8_t *scratch = rest.oom ? NULL : malloc(32 + sizeof event_prefix + 16 + rest.n);
    if (!scratch) {
        mmdx_canon__free(&rest);
        return mmdx_fail(MMDX_ENOMEM, "audit: out of memory");
    }
    link_hash(e->prev_hash, e->seq, e->ts_us, rest.p, rest.n, scratch, hash);
    free(scratch);
    mmdx_canon__free(&rest);
    return 0;
}

int mmdx_audit__check_action(const char *action)
{
    if (!action || !*action)
        return mmdx_fail(MMDX_EINVAL, "audit event: field 'action' is empty");
    size_t n = strlen(action);
    if (n > 64)
        return mmdx_fail(MMDX_EINVAL, "audit event: field 'action' is longer than 64 characters");
    for (size_t i = 0; i < n; i++) {
        char ch = action[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
            return mmdx_fail(MMDX_EINVAL, "audit event: field 'action' (\"%s\") may hold only a-z 0-9 . _ -",
                             action);
    }
    return 0;
}

int mmdx_audit__check_json_object(const char *text, const char *field)
{
    if (!text)
        return 0;
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return mmdx_fail(MMDX_ENOMEM, "audit: out of memory");
    size_t len = strlen(text);
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    int ok = o && jerr == json_tokener_success && json_object_is_type(o, json_type_object);
    /* Only whitespace may follow the object. */
    for (size_t i = used; ok && i < len; i++)
        if (text[i] != ' ' && text[i] != '\n' && text[i] != '\t' && text[i] != '\r')
            ok = 0;
    json_object_put(o);
    if (!ok)
        return mmdx_fail(MMDX_EINVAL, "field '%s' is not a JSON object%s%s", field,
                         jerr != json_tokener_success ? ": " : "",
                         jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "");
    return 0;
}

int mmdx_audit__bytea(const char *text, uint8_t *out, size_t len)
{
    if (!text || text[0] != '\\' || text[1] != 'x' || strlen(text + 2) != 2 * len)
        return MMDX_EFORMAT;
    return mmdx_unhex(text + 2, out, len);
}

int mmdx_audit__lock_tail(mmdx_store *s, mmdx_chain_tail *t)
{
    PGresult *r;
    int rc;
    if (s->begin_pending) {
        /* One round trip for BEGIN and the lock (simple protocol: several statements). */
        s->begin_pending = 0;
        r = PQexec(s->conn, "BEGIN; SELECT * FROM mmdx.audit_head()");
        if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = mmdx_store__fail_result(s, r, "audit: lock the log");
            PQclear(r);
            return rc;
        }
    } else {
        rc = mmdx_store__exec(s, "audit: lock the log",
                              "SELECT * FROM mmdx.audit_head()", 0, NULL,
                              PGRES_TUPLES_OK, &r);
        if (rc < 0)
            return rc;
    }
    /* by name: schema 1's audit_head() has no last_keyed */
    int f_seq = PQfnumber(r, "last_seq"), f_hash = PQfnumber(r, "last_hash"), f_now = PQfnumber(r, "now_us");
    int f_keyed = PQfnumber(r, "last_keyed");
    if (f_seq < 0 || f_hash < 0 || f_now < 0 || PQntuples(r) != 1) {
        PQclear(r);
        return mmdx_fail(MMDX_ESCHEMA, "audit: mmdx.audit_head() has an unexpected shape [%s]", s->describe);
    }
    t->seq = strtoll(PQgetvalue(r, 0, f_seq), NULL, 10);
    t->now_us = strtoll(PQgetvalue(r, 0, f_now), NULL, 10);
    t->keyed = f_keyed >= 0 && PQgetvalue(r, 0, f_keyed)[0] == 't';
    rc = mmdx_audit__bytea(PQgetvalue(r, 0, f_hash), t->hash, 32);
    PQclear(r);
    if (rc < 0)
        return mmdx_fail(MMDX_EDB, "audit: the log's last hash is not 32 bytes [%s]", s->describe);
    return 0;
}

/*
 * The transaction's last statement and its COMMIT in one round trip (libpq
 * pipeline). The chain lock is held until COMMIT, so that chain order is
 * commit order; waiting there for the disk as well would serialise every
 * writer's fsync. So when the server allows it (s->flush_after_commit) the
 * COMMIT does not wait for its WAL flush (synchronous_commit off, for this
 * transaction only): the lock is released as soon as the commit is visible,
 * and the next writer may link to it. The pipeline then waits for the flush
 * in a second, synchronous transaction that writes a WAL record (an empty
 * transactional logical message): its commit flushes the WAL up to its own
 * commit record, which lies after ours. Only then is success returned.
 * WAL is one sequence, so a crash before that flush loses this commit
 * together with every later one (nothing can survive that links to a lost
 * event); that is the same state as a crash before COMMIT, and the caller
 * sees a failure and retries (the replay is then audited as duplicates
 * when the commit had survived).
 */
static int insert_and_commit(mmdx_store *s, const char *sql, int n, const char *const *params, const int *lengths,
                             const int *formats)
{
    int rc = mmdx_store__ensure_begun(s, "audit: append events");
    if (rc < 0)
        return rc;
    mmdx_store__fault(s, "before-commit");
    int flush = s->flush_after_commit;
    if (!PQenterPipelineMode(s->conn) ||
        (flush && !PQsendQueryParams(s->conn, "SELECT pg_catalog.set_config('synchronous_commit', 'off', true)",
                                     0, NULL, NULL, NULL, NULL, 0)) ||
        !PQsendQueryParams(s->conn, sql, n, NULL, params, lengths, formats, 0) ||
        !PQsendQueryParams(s->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) ||
        (flush && !PQsendQueryParams(s->conn, "SELECT pg_catalog.pg_logical_emit_message(true, 'mmdx.audit', '')",
                                     0, NULL, NULL, NULL, NULL, 0)) ||
        !PQpipelineSync(s->conn)) {
        rc = mmdx_store__fail_result(s, NULL, "audit: append events");
        PQexitPipelineMode(s->conn);
        return rc;
    }
    mmdx_store__fault(s, "commit-sent");
    /* Each statement's result and a NULL, then the sync point (after the flush when there is one). */
    static const char *const what[] = {"audit: append events", "audit: commit", "audit: wait for the commit to be durable"};
    int step = flush ? 0 : 1, done = 0, committed = 0;
    while (!done) {
        PGresult *r = PQgetResult(s->conn);
        if (!r) {
            if (mmdx_store__conn_lost(s)) {
                if (rc == 0)
                    rc = mmdx_store__fail_result(s, NULL, "audit: append events");
                break;
            }
            step++;
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            done = 1;
        } else if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            committed |= step == 2;
        } else if (rc == 0) {
            rc = mmdx_store__fail_result(s, st == PGRES_PIPELINE_ABORTED ? NULL : r,
                                         what[step <= 1 ? 0 : step - 1]);
        }
        PQclear(r);
    }
    PQexitPipelineMode(s->conn);
    if (rc == 0 || committed)
        s->committed = 1; /* a failed flush after a COMMIT: reported, nothing to roll back */
    s->fold_commit = 0;
    if (rc == 0)
        mmdx_store__fault(s, "after-commit");
    return rc;
}

static int refuse_unkeyed(const mmdx_store *s)
{
    return mmdx_fail(MMDX_EINVAL,
                     "audit: the log's events carry HMACs made with the site key, and no site key was given: "
                     "an event without one would weaken the log's keyed protection, so it is refused. Give "
                     "the site key (--site-key, $MMDX_SITE_KEY or [audit] site_key_file) [%s]", s->describe);
}

int mmdx_store_check_can_audit(mmdx_store *s)
{
    if (s->have_key)
        return 0;
    int version = 0;
    int rc = mmdx_store_schema_version(s, &version);
    if (rc < 0 || version == 0)
        return rc;
    PGresult *r;
    /* outside a transaction: audit_head()'s lock ends with the statement */
    rc = mmdx_store__exec(s, "audit: read the log's head", "SELECT * FROM mmdx.audit_head()", 0, NULL,
                          PGRES_TUPLES_OK, &r);
    if (rc < 0)
        return rc;
    int f = PQfnumber(r, "last_keyed");
    int keyed = f >= 0 && PQntuples(r) == 1 && PQgetvalue(r, 0, f)[0] == 't';
    PQclear(r);
    return keyed ? refuse_unkeyed(s) : 0;
}

/* One statement for any number of events: the fields travel as arrays, seq
 * and the per-transaction fields (time, role, user, host) as scalars. */
static const char append_sql[] =
    "INSERT INTO mmdx.audit_events (seq, ts, db_role, os_user, host, action, outcome, object_type, object_id, "
    "patient, study_uid, run_id, object_sha256, detail, prev_hash, hash, hmac) "
    "SELECT $1::bigint + u.ord, $2::timestamptz, $3, $4, $5, u.action, u.outcome, u.object_type, u.object_id, "
    "u.patient, u.study_uid, u.run_id::uuid, u.object_sha256, u.detail, u.prev_hash, u.hash, u.hmac "
    "FROM unnest($6::text[], $7::smallint[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], "
    "$13::bytea[], $14::text[], $15::bytea[], $16::bytea[], $17::bytea[]) WITH ORDINALITY "
    "AS u(action, outcome, object_type, object_id, patient, study_uid, run_id, object_sha256, detail, prev_hash, "
    "hash, hmac, ord)";

int mmdx_audit__prepare(mmdx_store *s, mmdx_event_batch *b, mmdx_event_rec *ev, size_t n)
{
    b->rest.n = 0;
    b->rest.oom = 0;
    if (n > b->n && mmdx_array_reserve(&b->rest_end, &b->n, n, sizeof *b->rest_end, 16, 0) < 0)
        return mmdx_fail(MMDX_ENOMEM, "audit: out of memory");
    static const uint32_t types[MMDX_EVENT_ARRAYS] = {MMDX_OID_TEXT, MMDX_OID_INT2, MMDX_OID_TEXT, MMDX_OID_TEXT,
                                                      MMDX_OID_TEXT, MMDX_OID_TEXT, MMDX_OID_TEXT, MMDX_OID_BYTEA,
                                                      MMDX_OID_TEXT};
    for (int k = 0; k < MMDX_EVENT_ARRAYS; k++)
        mmdx_pgarray__begin(&b->a[k], types[k]);
    size_t longest = 0;
    for (size_t i = 0; i < n; i++) {
        mmdx_event_rec *e = &ev[i];
        e->db_role = s->role;
        e->os_user = s->os_user;
        e->host = s->host;
        size_t start = b->rest.n;
        canon_rest(&b->rest, e);
        b->rest_end[i] = b->rest.n;
        if (b->rest.n - start > longest)
            longest = b->rest.n - start;
        mmdx_pgarray__text(&b->a[0], e->action);
        mmdx_pgarray__int2(&b->a[1], e->outcome, 0);
        mmdx_pgarray__text(&b->a[2], e->object_type);
        mmdx_pgarray__text(&b->a[3], e->object_id);
        mmdx_pgarray__text(&b->a[4], e->patient);
        mmdx_pgarray__text(&b->a[5], e->study_uid);
        mmdx_pgarray__text(&b->a[6], e->run_id);
        mmdx_pgarray__bytea(&b->a[7], e->object_sha256, 32);
        mmdx_pgarray__text(&b->a[8], e->detail);
    }
    b->count = n;
    int oom = b->rest.oom || mmdx_array_reserve(&b->scratch, &b->scratch_cap, 32 + sizeof event_prefix + 16 + longest,
                                                1, 256, 0) < 0;
    for (int k = 0; k < MMDX_EVENT_ARRAYS; k++)
        oom |= mmdx_pgarray__end(&b->a[k]) < 0;
    return oom ? mmdx_fail(MMDX_ENOMEM, "audit: out of memory") : 0;
}

mmdx_store_buffers *mmdx_store__buffers(mmdx_store *s)
{
    if (!s->buffers && !(s->buffers = calloc(1, sizeof *s->buffers)))
        mmdx_fail(MMDX_ENOMEM, "audit: out of memory");
    return s->buffers;
}

void mmdx_store__buffers_free(mmdx_store_buffers *b)
{
    if (!b)
        return;
    for (int k = 0; k < MMDX_EVENT_ARRAYS; k++)
        mmdx_pgarray__free(&b->events.a[k]);
    mmdx_canon__free(&b->events.rest);
    free(b->events.rest_end);
    free(b->events.scratch);
    for (int k = 0; k < MMDX_PREDICTION_ARRAYS; k++)
        mmdx_pgarray__free(&b->predictions[k]);
    free(b);
}

int mmdx_audit__link(mmdx_store *s, mmdx_chain_tail *t, mmdx_event_batch *b, mmdx_event_rec *ev)
{
    if (t->keyed && !s->have_key)
        return refuse_unkeyed(s);
    if (b->count == 0)
        return 0;
    int rc = 0;
    mmdx_pgarray links[3]; /* prev_hash, hash, hmac */
    memset(links, 0, sizeof links);
    for (int k = 0; k < 3; k++)
        mmdx_pgarray__begin(&links[k], MMDX_OID_BYTEA);
    int64_t base = t->seq;
    for (size_t i = 0; i < b->count; i++) {
        mmdx_event_rec *e = &ev[i];
        e->seq = t->seq + 1;
        e->ts_us = t->now_us;
        memcpy(e->prev_hash, t->hash, 32);
        size_t start = i ? b->rest_end[i - 1] : 0;
        uint8_t h[32], mac[32];
        link_hash(e->prev_hash, e->seq, e->ts_us, b->rest.p + start, b->rest_end[i] - start, b->scratch, h);
        if (s->have_key && (rc = mmdx_hmac_sha256(s->hmac_key, sizeof s->hmac_key, h, 32, mac)) < 0)
            goto done;
        mmdx_pgarray__bytea(&links[0], e->prev_hash, 32);
        mmdx_pgarray__bytea(&links[1], h, 32);
        mmdx_pgarray__bytea(&links[2], s->have_key ? mac : NULL, 32);
        t->seq = e->seq;
        memcpy(t->hash, h, 32);
    }
    for (int k = 0; k < 3 && rc == 0; k++)
        rc = mmdx_pgarray__end(&links[k]);
    char base_text[24], ts[40];
    snprintf(base_text, sizeof base_text, "%lld", (long long)base);
    /* Exact microseconds as text: to_timestamp() would go through float8. */
    mmdx_audit__format_time(t->now_us, ts, sizeof ts);
    enum { NP = 5 + MMDX_EVENT_ARRAYS + 3 };
    const char *params[NP] = {base_text, ts, s->role, s->os_user, s->host};
    int lengths[NP] = {0}, formats[NP] = {0};
    for (int k = 0; k < MMDX_EVENT_ARRAYS + 3; k++) {
        const mmdx_pgarray *a = k < MMDX_EVENT_ARRAYS ? &b->a[k] : &links[k - MMDX_EVENT_ARRAYS];
        params[5 + k] = (const char *)a->buf.p;
        lengths[5 + k] = (int)a->buf.n;
        formats[5 + k] = 1;
    }
    if (rc == 0 && s->fold_commit)
        rc = insert_and_commit(s, append_sql, NP, params, lengths, formats);
    else if (rc == 0)
        rc = mmdx_store__exec_params(s, "audit: append events", append_sql, NP, params, lengths, formats,
                                     PGRES_COMMAND_OK, NULL);
done:
    for (int k = 0; k < 3; k++)
        mmdx_pgarray__free(&links[k]);
    return rc;
}

int mmdx_audit__append(mmdx_store *s, mmdx_chain_tail *t, mmdx_event_rec *ev, size_t n)
{
    mmdx_store_buffers *b = mmdx_store__buffers(s);
    if (!b)
        return MMDX_ENOMEM;
    int rc = mmdx_audit__prepare(s, &b->events, ev, n);
    return rc < 0 ? rc : mmdx_audit__link(s, t, &b->events, ev);
}

typedef struct append_one_ctx {
    const mmdx_audit_event *ev;
    char *patient;
    int64_t seq;
} append_one_ctx;

static int append_one(mmdx_store *s, void *vctx)
{
    append_one_ctx *c = vctx;
    mmdx_chain_tail t;
    int rc = mmdx_audit__lock_tail(s, &t);
    if (rc < 0)
        return rc;
    mmdx_event_rec e = {0};
    e.action = c->ev->action;
    e.outcome = c->ev->outcome;
    e.object_type = c->ev->object_type;
    e.object_id = c->ev->object_id;
    e.patient = c->patient;
    e.study_uid = c->ev->study_uid;
    e.run_id = c->ev->run_id;
    e.object_sha256 = c->ev->object_sha256;
    e.detail = c->ev->detail_json;
    rc = mmdx_audit__append(s, &t, &e, 1);
    c->seq = e.seq;
    return rc;
}

int mmdx_store_audit(mmdx_store *s, const mmdx_audit_event *ev, int64_t *seq)
{
    int rc = mmdx_audit__check_action(ev->action);
    if (rc < 0)
        return rc;
    if (ev->outcome != 0 && ev->outcome != 4 && ev->outcome != 8 && ev->outcome != 12)
        return mmdx_fail(MMDX_EINVAL, "audit event: field 'outcome' must be 0, 4, 8 or 12, not %d",
                         ev->outcome);
    if ((rc = mmdx_audit__check_json_object(ev->detail_json, "detail")) < 0)
        return rc;
    if ((rc = mmdx_store__check_schema(s)) < 0)
        return rc;
    if (ev->patient_id && ev->patient_stored)
        return mmdx_fail(MMDX_EINVAL, "audit event: give patient_id or patient_stored, not both");
    append_one_ctx c = {ev, NULL, 0};
    if (ev->patient_id && (rc = mmdx_store_patient_key(s, ev->patient_id, &c.patient)) < 0)
        return rc;
    if (ev->patient_stored && !(c.patient = strdup(ev->patient_stored)))
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    rc = mmdx_store__transaction(s, "audit: append event", append_one, &c, NULL);
    free(c.patient);
    if (rc == 0 && seq)
        *seq = c.seq;
    return rc;
}
