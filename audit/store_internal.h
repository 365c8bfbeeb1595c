/*
 * audit/store_internal.h — shared by the audit library's files; not public.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_AUDIT_STORE_INTERNAL_H
#define MMDX_AUDIT_STORE_INTERNAL_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define MMDX_STORE_KEY_LEN 32

struct mmdx_store {
    PGconn *conn;
    char *conninfo;
    char *login_role, *login_password; /* mmdx_store_options.login_*: override conninfo's user and password */
    char describe[512];
    char role[128];
    char os_user[128];
    char host[256];
    char origin[64];
    int schema_checked;
    int embeddings_readable; /* the role's SELECT on predictions.embedding was checked and granted */
    int have_key;
    uint8_t hmac_key[MMDX_STORE_KEY_LEN];
    uint8_t pseudonym_key[MMDX_STORE_KEY_LEN];
    int pseudonymise;
    int max_retries;
    unsigned reconnections; /* transactions replayed after a lost connection */
    char last_sqlstate[6];  /* of the last failed result, "" when it had none */
    /* Round trips are the cost on a busy host: mmdx_store__transaction()
     * defers BEGIN to the first statement (folded with the audit lock) and
     * the last audit append sends its INSERT and COMMIT in one pipeline. */
    int begin_pending; /* BEGIN not yet sent */
    int fold_commit;   /* the next final append may commit */
    int committed;     /* ...and did */
    int flush_after_commit; /* the session may emit a WAL record: chain lock released before the fsync (event.c) */
    char sqlstate[6];  /* of the last failure mmdx_store__fail_result() recorded ("" when none was given) */
    struct mmdx_store_buffers *buffers; /* a batch's arrays, kept for the next one (audit/event.c) */
    /* Test hook: called at named points inside transactions (fault injection). */
    void (*fault_hook)(void *ctx, const char *point);
    void *fault_ctx;
};

/* ---- store.c ---- */

/** Record a libpq result failure as MMDX_EDB: "<what>: <message> (SQLSTATE x)". */
int mmdx_store__fail_result(mmdx_store *s, const PGresult *r, const char *what);

/** Run a statement with text parameters; expects `want` status. *out (may be NULL) gets the result. */
MMDX_RESULT_USED int mmdx_store__exec(mmdx_store *s, const char *what, const char *sql, int n,
                                      const char *const *params, ExecStatusType want,
                                      PGresult **out);

/** mmdx_store__exec with parameter lengths and formats (1: binary), as PQexecParams takes them. */
MMDX_RESULT_USED int mmdx_store__exec_params(mmdx_store *s, const char *what, const char *sql, int n,
                                             const char *const *params, const int *lengths, const int *formats,
                                             ExecStatusType want, PGresult **out);

/** Run a query whose one cell is a boolean; *yes gets it. */
MMDX_RESULT_USED int mmdx_store__ask(mmdx_store *s, const char *what, const char *sql, int *yes);

/** Send the deferred BEGIN now, if one is pending. */
MMDX_RESULT_USED int mmdx_store__ensure_begun(mmdx_store *s, const char *what);

/** 1 when the connection is broken (worth a reconnect and retry). */
int mmdx_store__conn_lost(const mmdx_store *s);

/** Reconnect after a lost connection. */
MMDX_RESULT_USED int mmdx_store__reconnect(mmdx_store *s);

/** Fail unless the schema exists at a version this program handles. */
/*
 * The run a reviewer names: a full run ID, or at least its first 8
 * characters, resolved against mmdx.runs (audit/results.c).
 * Errors: MMDX_EINVAL (malformed, too short, ambiguous), MMDX_ENOTFOUND, MMDX_EDB.
 */
MMDX_RESULT_USED int mmdx_store__resolve_run(mmdx_store *s, const char *id, char out[MMDX_RUN_ID_LEN]);

MMDX_RESULT_USED int mmdx_store__check_schema(mmdx_store *s);

/**
 * Run fn(s, ctx) inside BEGIN ... COMMIT; when the connection is lost,
 * reconnect and run it again (up to max_retries). fn must be re-runnable
 * from scratch. *retries (may be NULL) gets the reconnections made.
 */
MMDX_RESULT_USED int mmdx_store__transaction(mmdx_store *s, const char *what,
                                             int (*fn)(mmdx_store *s, void *ctx), void *ctx,
                                             int *retries);

void mmdx_store__fault(mmdx_store *s, const char *point);

/**
 * mmdx_store_migrate() up to schema version `target` only (tests/audit: a
 * database as an older mmdx left it, to test the upgrade).
 */
MMDX_RESULT_USED int mmdx_store__migrate_to(mmdx_store *s, int target, int *n_applied, int *version);

/** Test hook setter (tests/audit only). */
void mmdx_store__set_fault_hook(mmdx_store *s, void (*hook)(void *ctx, const char *point),
                                void *ctx);

/** The backend's process ID (tests kill it to simulate a lost connection). */
int mmdx_store__backend_pid(const mmdx_store *s);

/* ---- event.c: canonical bytes and appending ---- */

/** A complete event row, as hashed. */
typedef struct mmdx_event_rec {
    int64_t seq;
    int64_t ts_us;
    const char *db_role, *os_user, *host, *action;
    int outcome;
    const char *object_type, *object_id, *patient, *study_uid, *run_id;
    const uint8_t *object_sha256; /* 32 bytes or NULL */
    const char *detail;
    uint8_t prev_hash[32];
} mmdx_event_rec;

/** hash = SHA-256(prev_hash || canonical bytes). */
MMDX_RESULT_USED int mmdx_audit__event_hash(const mmdx_event_rec *e, uint8_t hash[32]);

/** A growable byte buffer for canonical encodings. */
typedef struct mmdx_canon {
    uint8_t *p;
    size_t n, cap;
    int oom;
} mmdx_canon;

void mmdx_canon__bytes(mmdx_canon *c, const void *data, size_t len);
void mmdx_canon__u64(mmdx_canon *c, uint64_t v);
void mmdx_canon__u16(mmdx_canon *c, uint16_t v);
void mmdx_canon__text(mmdx_canon *c, const char *s);
void mmdx_canon__blob(mmdx_canon *c, const uint8_t *b, size_t len);
void mmdx_canon__free(mmdx_canon *c);

/* ---- pgarray.c: binary array parameters for INSERT ... SELECT FROM unnest($1::text[], ...) ---- */

#define MMDX_OID_BYTEA 17
#define MMDX_OID_INT2 21
#define MMDX_OID_TEXT 25
#define MMDX_OID_FLOAT8 701

/** A one-dimensional array in PostgreSQL's binary format; zero-initialise, reuse after begin. */
typedef struct mmdx_pgarray {
    mmdx_canon buf; /* the parameter's bytes (buf.p, buf.n) after mmdx_pgarray__end */
    int32_t n;      /* elements so far */
    int has_null;
} mmdx_pgarray;

/** Start an array of elements of type elem_oid (MMDX_OID_*), dropping what a was. */
void mmdx_pgarray__begin(mmdx_pgarray *a, uint32_t elem_oid);
/** Append a text element (NULL: SQL NULL): its UTF-8 bytes. */
void mmdx_pgarray__text(mmdx_pgarray *a, const char *s);
/** Append a bytea element (NULL: SQL NULL). */
void mmdx_pgarray__bytea(mmdx_pgarray *a, const uint8_t *b, size_t len);
/** Append a smallint element, or NULL. */
void mmdx_pgarray__int2(mmdx_pgarray *a, int v, int is_null);
/** Append a float8 element, bit for bit. */
void mmdx_pgarray__float8(mmdx_pgarray *a, double v);
/** Finish: 0, or MMDX_ENOMEM when an append ran out of memory. */
MMDX_RESULT_USED int mmdx_pgarray__end(mmdx_pgarray *a);
void mmdx_pgarray__free(mmdx_pgarray *a);

/** The chain's tail under the append lock (inside a transaction). */
typedef struct mmdx_chain_tail {
    int64_t seq;
    uint8_t hash[32];
    int64_t now_us;
    int keyed;  /* the last event carries an HMAC (schema 2 and later; 0 before) */
} mmdx_chain_tail;

MMDX_RESULT_USED int mmdx_audit__lock_tail(mmdx_store *s, mmdx_chain_tail *t);

/*
 * Events made ready before the chain lock is taken (it is held until COMMIT):
 * their fields as array literals and their canonical bytes after the time,
 * so that under the lock only each link (seq, time, prev_hash, hash, HMAC)
 * is computed. mmdx_audit__prepare fills db_role, os_user and host of ev;
 * mmdx_audit__link (inside the transaction holding the lock) fills seq,
 * ts_us and prev_hash, hashes, inserts and advances t, like
 * mmdx_audit__append. ev must be the same array, unchanged in between.
 */
#define MMDX_EVENT_ARRAYS 9
typedef struct mmdx_event_batch {
    mmdx_pgarray a[MMDX_EVENT_ARRAYS]; /* action ... detail */
    mmdx_canon rest;                 /* each event's bytes after its time, one after the other */
    size_t *rest_end;                /* where event i's bytes end in rest (room for n) */
    size_t n;
    uint8_t *scratch;                /* room for the longest event's bytes */
    size_t scratch_cap;
    size_t count;                    /* events prepared */
} mmdx_event_batch;

MMDX_RESULT_USED int mmdx_audit__prepare(mmdx_store *s, mmdx_event_batch *b, mmdx_event_rec *ev, size_t n);
MMDX_RESULT_USED int mmdx_audit__link(mmdx_store *s, mmdx_chain_tail *t, mmdx_event_batch *b, mmdx_event_rec *ev);

/*
 * The buffers of a batch, kept by the handle from one batch to the next: a
 * batch's arrays run to hundreds of kilobytes, which malloc would otherwise
 * map and unmap (and the kernel fault in) for every batch of every writer.
 */
#define MMDX_PREDICTION_ARRAYS 9
typedef struct mmdx_store_buffers {
    mmdx_event_batch events;
    mmdx_pgarray predictions[MMDX_PREDICTION_ARRAYS];
} mmdx_store_buffers;

/** The handle's buffers (made on first use); NULL with MMDX_ENOMEM set when out of memory. */
mmdx_store_buffers *mmdx_store__buffers(mmdx_store *s);
/** Free them (mmdx_store_free). */
void mmdx_store__buffers_free(mmdx_store_buffers *b);

/**
 * Append events after `t` (inside a transaction holding the lock): fills
 * seq, ts_us, db_role, os_user, host and prev_hash, computes hashes and
 * HMACs, inserts them in one statement (arrays through unnest), advances t. Inside
 * mmdx_store__transaction() the final INSERT also commits: it must be the
 * transaction's last statement.
 */
MMDX_RESULT_USED int mmdx_audit__append(mmdx_store *s, mmdx_chain_tail *t, mmdx_event_rec *ev,
                                        size_t n);

/** ISO 8601 UTC with microseconds ("2026-01-02T03:04:05.000006Z") of a time in microseconds. */
void mmdx_audit__format_time(int64_t us, char *out, size_t n);

/** Check an action name: [a-z0-9._-]+, at most 64 characters. */
MMDX_RESULT_USED int mmdx_audit__check_action(const char *action);

/** Validate that text is a JSON object (json-c). `field` names it in the message. */
MMDX_RESULT_USED int mmdx_audit__check_json_object(const char *text, const char *field);

/* ---- results.c ---- */

/** SHA-256 of a run's canonical bytes. */
void mmdx_audit__run_hash(const char *run_id, int64_t started_us, const char *db_role,
                          const char *os_user, const char *host, const char *mmdx_version,
                          const char *model_sha256, const char *cohort_sha256,
                          const char *plugins, const char *parameters, uint8_t out[32]);

/** SHA-256 of a prediction's canonical bytes. */
void mmdx_audit__prediction_hash(const char *run_id, const char *patient, int pseudonymised,
                                 const char *study_uid, double probability, int decision,
                                 const char *contributions, const char *input_hashes,
                                 const double *embedding, size_t embedding_dim, const double *tokens,
                                 size_t n_token_values, uint8_t out[32]);

/**
 * A stored float8[] in PostgreSQL's text form ("{1.5,-2,NaN}") as doubles:
 * *out malloc'd (NULL and *n = 0 for NULL text). MMDX_EFORMAT when the
 * text is not a one-dimensional array of numbers (finite, or NaN when
 * allow_nan).
 */
MMDX_RESULT_USED int mmdx_audit__parse_float_array(const char *text, int allow_nan, double **out, size_t *n);

/* ---- keys.c ---- */

/** Load the site key file and derive the HMAC and pseudonym keys into s. */
MMDX_RESULT_USED int mmdx_audit__load_site_key(mmdx_store *s, const char *path);

/* ---- tree.c ---- */

/** Leaf hashes of events 1..*n (all events when *n == 0 on entry), malloc'd. */
MMDX_RESULT_USED int mmdx_audit__load_leaves(mmdx_store *s, uint64_t *n, uint8_t (**leaves)[32]);

/** Decode a bytea in text ("\x..hex") of exactly `len` bytes. */
MMDX_RESULT_USED int mmdx_audit__bytea(const char *text, uint8_t *out, size_t len);

#endif
