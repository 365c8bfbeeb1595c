/*
 * audit/store.h — audited result storage in PostgreSQL.
 * SPDX-License-Identifier: Apache-2.0
 *
 * One opaque handle, mmdx_store, holds one libpq connection to the database
 * holding schema `mmdx` (created by mmdx_store_migrate). Through it a caller
 *
 *   - records runs (who ran which model with which plugins on which cohort),
 *   - stores predictions in batches, one transaction per batch, idempotently
 *     (a (run, patient) pair already stored is not written again; the audit
 *     log says so),
 *   - appends audit events to a hash chain: event n stores
 *     hash_n = SHA-256(hash_{n-1} || canonical bytes of event n), with an
 *     HMAC-SHA-256 of hash_n under the site key when one is configured,
 *   - verifies the chain, the rows it covers and signed checkpoints
 *     (audit/checkpoint.h) of the Merkle tree over the events (RFC 6962).
 *
 * Errors: every fallible function returns 0 or a negative MMDX_E* code and
 * leaves a message in the thread's last error (core/error.h). Messages name
 * the database as "host=... port=... dbname=... user=..." and never contain
 * a password. MMDX_EDB: the server refused or failed (SQLSTATE in the
 * message); MMDX_ESCHEMA: the schema is missing or newer than this program;
 * MMDX_EINTEGRITY: a verification failed; MMDX_EPERM: a key file is readable
 * by others; MMDX_EINVAL: a bad argument (field named).
 *
 * Ownership: strings passed in are copied or used only during the call.
 * Strings handed out are borrowed (valid until the next call on the handle)
 * unless the function says "malloc'd".
 *
 * Thread-safety: a handle is used by one thread at a time (libpq). Use one
 * handle per thread; the database serialises audit appends across handles,
 * processes and hosts, so concurrent writers always form one valid chain.
 */
#ifndef MMDX_AUDIT_STORE_H
#define MMDX_AUDIT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mmdx_store mmdx_store;

/** Outcome of an audited action: the DICOM EventOutcomeIndicator values. */
enum {
    MMDX_OUTCOME_SUCCESS = 0,
    MMDX_OUTCOME_MINOR_FAILURE = 4,
    MMDX_OUTCOME_SERIOUS_FAILURE = 8,
    MMDX_OUTCOME_MAJOR_FAILURE = 12
};

/** Options of mmdx_store_open. Zero-initialise, then set what you need. */
typedef struct mmdx_store_options {
    /** libpq conninfo ("host=... dbname=...") or URI; NULL: libpq's defaults
     *  and PG* variables (programs resolve --db, $MMDX_DB and [audit] db with
     *  mmdx_audit_settings_resolve). sslmode etc. are honoured. */
    const char *conninfo;
    /** File holding the site key (>= 32 bytes, raw or hex; mode 0600), or
     *  NULL. With a key, events carry an HMAC and pseudonyms are possible. */
    const char *site_key_file;
    /** Store HMAC pseudonyms ("psn:" + 64 hex) instead of patient IDs.
     *  Needs site_key_file. */
    int pseudonymise;
    /** Retries of a batch after a lost connection (reconnects first).
     *  0 means the default (2); negative means none. */
    int max_retries;
    /** The operating-system user recorded in events; NULL: the effective user. */
    const char *os_user;
    /** A person's login (mmdx audit serve): connect as this role with this
     *  password, replacing any user and password of conninfo and never
     *  reading a password file or $PGPASSWORD. Both or neither; the password
     *  is non-empty, kept only for reconnections and wiped by
     *  mmdx_store_free. A wrong password is MMDX_EDB like any refusal. */
    const char *login_role;
    const char *login_password;
} mmdx_store_options;

/**
 * Connect. Does not require the schema (mmdx_store_migrate creates it);
 * every other call checks it. Errors: MMDX_EDB (cannot connect: message
 * names the server, never the password), MMDX_EINVAL (pseudonymise without
 * key), MMDX_EPERM / MMDX_ENOTFOUND / MMDX_EFORMAT (site key file).
 */
MMDX_RESULT_USED int mmdx_store_open(mmdx_store **out, const mmdx_store_options *opt);

/** Close the connection and wipe the keys. NULL is fine. */
void mmdx_store_free(mmdx_store *s);

/** "host=... port=... dbname=... user=... sslmode=..." — never a password. Borrowed. */
const char *mmdx_store_describe(const mmdx_store *s);

/** The login role of the session. Borrowed. */
const char *mmdx_store_role(const mmdx_store *s);

/** 1 when a site key is loaded. */
int mmdx_store_has_key(const mmdx_store *s);

/**
 * What the last MMDX_EDB of this handle was, for a caller deciding whether
 * to wait and retry: the server's SQLSTATE ("25006" read-only transaction,
 * "57P01" session terminated...), or "" when there was none (the connection
 * was lost or never made; also before any failure). Borrowed.
 */
const char *mmdx_store_last_sqlstate(const mmdx_store *s);

/** 1 while the handle's connection is up. */
int mmdx_store_connected(const mmdx_store *s);

/**
 * Transactions re-run on a new connection after the old one was lost
 * (options.max_retries), since the handle was opened: each was rolled back
 * by the server and replayed whole, silently to the caller.
 */
unsigned mmdx_store_reconnections(const mmdx_store *s);

/**
 * Whether this connection may add events to the log: 0, or MMDX_EINVAL
 * (with advice) when the log's last event carries an HMAC and this store
 * has no site key — its events would then weaken the log's keyed
 * protection, so they are refused. 0 on a database without the schema.
 * Review commands call it before they show anything, so that nothing is
 * seen that cannot be recorded. Errors: MMDX_EDB.
 */
MMDX_RESULT_USED int mmdx_store_check_can_audit(mmdx_store *s);

/**
 * Whether the session's role may review the log: 0 when it has the
 * privileges of mmdx_reviewer (a member of it, or a superuser), else
 * MMDX_EPERM naming the role (e.g. a screening host's mmdx_writer login).
 * Errors: MMDX_EDB.
 */
MMDX_RESULT_USED int mmdx_store_check_reviewer(mmdx_store *s);

/** The schema version this program creates. */
int mmdx_store_code_version(void);

/**
 * Create or upgrade the schema: each numbered migration not yet applied runs
 * in its own transaction, is recorded in mmdx.schema_migrations and audited
 * ("schema.migrate"). Safe when several hosts run it at once (a session
 * advisory lock serialises them) and idempotent. *n_applied (may be NULL)
 * gets the number applied now, *version (may be NULL) the version after.
 * Errors: MMDX_EDB, MMDX_ESCHEMA (the database is newer than this program,
 * or an applied migration differs from this program's copy).
 */
MMDX_RESULT_USED int mmdx_store_migrate(mmdx_store *s, int *n_applied, int *version);

/** The database's schema version (0 when not migrated). Errors: MMDX_EDB. */
MMDX_RESULT_USED int mmdx_store_schema_version(mmdx_store *s, int *version);

/* ------------------------------------------------------------------------ */
/* Runs and predictions                                                      */
/* ------------------------------------------------------------------------ */

/** One plugin used by a run. */
typedef struct mmdx_store_plugin {
    const char *name;
    const char *version;
    const char *sha256; /**< hex SHA-256 of the plugin file, or NULL */
} mmdx_store_plugin;

/** What a run records. Every field except plugins may be NULL. */
typedef struct mmdx_store_run {
    const char *model_sha256;    /**< hex SHA-256 of the model file */
    const char *cohort_sha256;   /**< hex SHA-256 of the cohort manifest */
    const char *parameters_json; /**< a JSON object (stored verbatim); NULL: "{}" */
    const mmdx_store_plugin *plugins;
    size_t n_plugins;
} mmdx_store_run;

#define MMDX_RUN_ID_LEN 37 /* UUID text + NUL */

/**
 * Record the start of a run: a new run ID (random UUID) in run_id, one row
 * in mmdx.runs and a "run.start" event, in one transaction.
 * Errors: MMDX_EINVAL (parameters_json not a JSON object), MMDX_EDB, MMDX_ESCHEMA.
 */
MMDX_RESULT_USED int mmdx_store_run_begin(mmdx_store *s, const mmdx_store_run *run,
                                          char run_id[MMDX_RUN_ID_LEN]);

/**
 * Begin a run under a run ID the caller chose (a lower-case UUID, e.g. one
 * derived from what the run does, so that a rerun after a crash finds it),
 * or resume it: when mmdx.runs already holds run_id, nothing is inserted,
 * a "run.resume" event (detail: this call's plugins and parameters) is
 * appended and *resumed (may be NULL) is set to 1; otherwise as
 * mmdx_store_run_begin and *resumed = 0. Concurrent calls with one ID are
 * serialised: exactly one of them creates the run.
 * Errors: as mmdx_store_run_begin; MMDX_EINVAL for a malformed run ID.
 */
MMDX_RESULT_USED int mmdx_store_run_begin_id(mmdx_store *s, const mmdx_store_run *run,
                                             const char *run_id, int *resumed);

/**
 * The patients a run has predictions for, in their stored form (the ID, or
 * its pseudonym: compare with mmdx_store_patient_key): cb is called once
 * per patient, in no particular order; a non-zero return stops and is
 * returned. *n (may be NULL) gets the number listed. Needs only what the
 * writer role may read (no probabilities). Errors: MMDX_EINVAL, MMDX_EDB,
 * MMDX_ESCHEMA.
 */
MMDX_RESULT_USED int mmdx_store_run_patients(mmdx_store *s, const char *run_id,
                                             int (*cb)(void *ctx, const char *patient), void *ctx,
                                             size_t *n);

/**
 * Record the end of a run ("run.end" event) with its outcome
 * (MMDX_OUTCOME_*) and an optional JSON object summary.
 */
MMDX_RESULT_USED int mmdx_store_run_end(mmdx_store *s, const char *run_id, int outcome,
                                        const char *summary_json);

/** A stored run, as mmdx_store_run_info() reads it. Strings borrowed for the callback; NULL when absent. */
typedef struct mmdx_run_info {
    const char *run_id;
    const char *started_at;    /**< ISO 8601 UTC */
    const char *db_role, *os_user, *host, *mmdx_version;
    const char *model_sha256, *cohort_sha256;
    const char *plugins;       /**< JSON array of {name, version, sha256}, verbatim */
    const char *parameters;    /**< JSON object, verbatim */
    int ended;                 /**< a run.end event exists */
    int outcome;               /**< its outcome (MMDX_OUTCOME_*), when ended */
    const char *end_summary;   /**< its detail (JSON object), or NULL */
} mmdx_run_info;

/**
 * Read the record of one run (its ID, or at least its first 8 characters)
 * and call cb once with it. Records nothing: the caller audits the review
 * (mmdx_store_results records one). Errors: MMDX_EINVAL (malformed or
 * ambiguous ID), MMDX_ENOTFOUND (no such run), MMDX_EDB, MMDX_ESCHEMA;
 * cb's non-zero return is returned.
 */
MMDX_RESULT_USED int mmdx_store_run_info(mmdx_store *s, const char *run_id,
                                         int (*cb)(void *ctx, const mmdx_run_info *run), void *ctx);

/** What one modality contributed to a prediction (e.g. late fusion's term). */
typedef struct mmdx_store_contribution {
    const char *modality; /**< non-empty, unique within the prediction */
    double value;         /**< finite; stored with 9 significant digits */
} mmdx_store_contribution;

/** The fingerprint of one input a prediction was made from. */
typedef struct mmdx_store_input_hash {
    const char *input;      /**< non-empty, unique within the prediction ("imaging", "dicom_series") */
    const char *sha256_hex; /**< 64 lower-case hex digits */
} mmdx_store_input_hash;

/**
 * One prediction. The store writes the contributions and input hashes as
 * JSON objects itself (columns `contributions`, `input_hashes`), in the
 * order given; all pointers are borrowed for the call.
 */
typedef struct mmdx_store_prediction {
    const char *patient_id;         /**< stored verbatim, or as pseudonym (options) */
    const char *study_uid;          /**< may be NULL */
    double probability;             /**< in [0, 1] */
    int decision;                   /**< 1 positive, 0 negative, -1 none */
    const mmdx_store_contribution *contributions; /**< n_contributions of them (NULL when 0) */
    size_t n_contributions;
    const mmdx_store_input_hash *input_hashes;    /**< n_input_hashes of them (NULL when 0) */
    size_t n_input_hashes;
    const double *embedding; /**< the fused embedding (joint fusion), embedding_dim finite values; NULL: none */
    size_t embedding_dim;    /**< 0 when none; at most 4096 */
    const double *tokens;    /**< each modality's token, n_tokens x embedding_dim (NaN: absent); NULL: none */
    size_t n_tokens;         /**< the model's modalities when tokens are given, at most 64 */
} mmdx_store_prediction;

/** What a batch did. */
typedef struct mmdx_store_batch_result {
    size_t stored;     /**< new rows */
    size_t duplicates; /**< already stored with the same content: not written again */
    size_t conflicts;  /**< already stored with DIFFERENT content: kept, not overwritten */
    int retries;       /**< reconnections needed */
} mmdx_store_batch_result;

/**
 * Store a batch of predictions of a run in ONE transaction, with one audit
 * event per prediction ("prediction.store"; "prediction.duplicate" with
 * outcome minor failure for a replay; "prediction.conflict", serious failure,
 * when the stored content differs). All or nothing: when the connection is
 * lost, the transaction is rolled back by the server and the whole batch is
 * retried after reconnecting (options.max_retries), never half-written.
 * `res` may be NULL.
 * Errors: MMDX_EINVAL (field named with the batch index), MMDX_ENOTFOUND
 * (no such run), MMDX_EDB.
 */
MMDX_RESULT_USED int mmdx_store_predictions(mmdx_store *s, const char *run_id,
                                            const mmdx_store_prediction *p, size_t n,
                                            mmdx_store_batch_result *res);

/** What mmdx_store_prediction_state() found. */
enum {
    MMDX_STORED_NONE = 0,     /**< nothing stored for this run and patient */
    MMDX_STORED_SAME = 1,     /**< stored with the same content: storing it again would be a duplicate */
    MMDX_STORED_DIFFERENT = 2 /**< stored with different content: storing it again would be a conflict */
};

/**
 * Whether a prediction is already stored under a run, without recording
 * anything: *state gets one of MMDX_STORED_*. For a caller that replays work
 * under a run ID derived from the work (the Orthanc worker after a crash)
 * and must not audit a second copy. Needs only what the writer role may
 * read (run, patient, content hash); a run that does not exist gives
 * MMDX_STORED_NONE. Errors: MMDX_EINVAL (field named), MMDX_EDB, MMDX_ESCHEMA.
 */
MMDX_RESULT_USED int mmdx_store_prediction_state(mmdx_store *s, const char *run_id,
                                                 const mmdx_store_prediction *p, int *state);

/* ------------------------------------------------------------------------ */
/* Audit events                                                              */
/* ------------------------------------------------------------------------ */

/** An event to append. action is required; the rest may be NULL/0. */
typedef struct mmdx_audit_event {
    const char *action;       /**< "model.load", "results.view", ... ([a-z0-9._-]+) */
    int outcome;              /**< MMDX_OUTCOME_* */
    const char *object_type;  /**< "run", "prediction", "model", "file", ... */
    const char *object_id;
    const char *patient_id;   /**< raw ID: pseudonymised here when the store does so */
    const char *study_uid;
    const char *run_id;
    const uint8_t *object_sha256; /**< 32 bytes or NULL */
    const char *detail_json;  /**< a JSON object or NULL */
    /** The patient as already stored (a pseudonym read from the log, or the
     *  ID when the store keeps IDs), written verbatim; instead of patient_id,
     *  for a review reached from a stored value rather than a typed ID. */
    const char *patient_stored;
} mmdx_audit_event;

/**
 * Append one event; *seq (may be NULL) gets its sequence number.
 * Errors: MMDX_EINVAL, MMDX_EDB (e.g. the role may not record this action).
 */
MMDX_RESULT_USED int mmdx_store_audit(mmdx_store *s, const mmdx_audit_event *ev, int64_t *seq);

/** The patient column value for a raw ID under this store's settings, malloc'd. */
MMDX_RESULT_USED int mmdx_store_patient_key(mmdx_store *s, const char *patient_id, char **out);

/**
 * The keyed pseudonym of a patient ID: "psn:" + hex HMAC-SHA-256 under a
 * key derived from the site key. Needs the key (MMDX_EPERM without).
 * out has room for MMDX_PSEUDONYM_LEN bytes.
 */
#define MMDX_PSEUDONYM_LEN (4 + 64 + 1)
MMDX_RESULT_USED int mmdx_store_pseudonym(const mmdx_store *s, const char *patient_id,
                                          char out[MMDX_PSEUDONYM_LEN]);

/**
 * The same pseudonym without a database: from the site key file directly.
 * Errors: those of the key file (MMDX_ENOTFOUND, MMDX_EPERM, MMDX_EFORMAT, MMDX_EIO).
 */
MMDX_RESULT_USED int mmdx_audit_pseudonym(const char *site_key_file, const char *patient_id,
                                          char out[MMDX_PSEUDONYM_LEN]);

/** 1 when `id` has the form of a stored pseudonym: "psn:" + 64 lower-case hex digits. */
int mmdx_audit_is_pseudonym(const char *id);

/** One stored event, as listed by mmdx_store_audit_query. Strings borrowed for the callback. */
typedef struct mmdx_audit_row {
    int64_t seq;
    int64_t ts_us;    /**< microseconds since 1970-01-01 UTC */
    const char *time; /**< ISO 8601 UTC, microseconds */
    const char *db_role, *os_user, *host, *action;
    int outcome;
    const char *object_type, *object_id, *patient, *study_uid, *run_id, *detail; /**< NULL when absent */
} mmdx_audit_row;

/** Filters of mmdx_store_audit_query; NULL fields do not filter. */
typedef struct mmdx_audit_filter {
    const char *patient_id; /**< raw ID: matches it and, with a key, its pseudonym */
    const char *run_id;     /**< a run ID or a prefix of at least 8 characters */
    const char *actor;      /**< database role or OS user */
    const char *since;      /**< timestamp the server parses (ISO 8601), inclusive */
    const char *until;      /**< exclusive */
    const char *action;     /**< exact action */
} mmdx_audit_filter;

/**
 * Call `cb` for each matching event in sequence order; a non-zero return
 * from cb stops and is returned. Records nothing itself (the caller audits
 * the review: see mmdx_store_audit). Errors: MMDX_EDB (bad timestamp named).
 */
MMDX_RESULT_USED int mmdx_store_audit_query(mmdx_store *s, const mmdx_audit_filter *f,
                                            int (*cb)(void *ctx, const mmdx_audit_row *row),
                                            void *ctx);

/** One stored prediction, for reviewers. Strings borrowed for the callback. */
typedef struct mmdx_result_row {
    const char *run_id, *patient, *study_uid, *stored_at;
    int pseudonymised;
    double probability;
    int decision; /**< -1 none */
    const char *contributions, *input_hashes;
    const char *model_sha256; /**< of the run's model, or NULL */
} mmdx_result_row;

/**
 * List stored predictions of a run and/or a patient (at least one), and
 * record the review as a "results.view" event first (the listing fails if
 * the review cannot be recorded). patient_id is a raw ID, or a pseudonym as
 * stored ("psn:" + 64 hex, read from the log). Returns the number listed in
 * *n (may be NULL).
 */
MMDX_RESULT_USED int mmdx_store_results(mmdx_store *s, const char *run_id, const char *patient_id,
                                        int (*cb)(void *ctx, const mmdx_result_row *row),
                                        void *ctx, size_t *n);

/** One stored joint-fusion embedding, for retrieval. Borrowed for the callback. */
typedef struct mmdx_embedding_row {
    int64_t seq;            /**< its prediction.store event; rows come in this order */
    const char *run_id, *patient, *stored_at;
    int pseudonymised;
    double probability;
    int decision;           /**< -1 none */
    const double *fused;    /**< dim values */
    uint32_t dim;
    const double *tokens;   /**< n_tokens x dim (NaN: the modality was absent), or NULL: not stored */
    size_t n_tokens;
    const char *study_uid;  /**< the study the prediction was made for (the Orthanc worker), or NULL */
} mmdx_embedding_row;

/** Which embeddings mmdx_store_embeddings() reads; model_sha256 is required. */
typedef struct mmdx_embedding_filter {
    const char *model_sha256; /**< of the model file whose runs stored them */
    int64_t after_seq;        /**< only rows whose event is later than this (0: all) */
    const char *patient_id;   /**< raw ID (matched as stored: with a key, its pseudonym too), or NULL */
    const int64_t *seqs;      /**< only the rows of these events, or NULL */
    size_t n_seqs;
    const char *study_uid;    /**< only predictions stored for this study (StudyInstanceUID), or NULL */
} mmdx_embedding_filter;

/** What mmdx_store_embeddings() read. */
typedef struct mmdx_embedding_stats {
    size_t rows;        /**< passed to the callback */
    size_t mismatched;  /**< skipped: the row no longer matches the hash its event recorded */
    int64_t last_seq;   /**< the latest event seen (after_seq when none) */
} mmdx_embedding_stats;

/**
 * Stream the stored embeddings of one model's predictions, each checked
 * against the content hash its prediction.store event recorded (a row that
 * was changed afterwards is skipped and counted, never passed on), in event
 * order, in one read-only snapshot. Needs a role that may read embeddings
 * (the reviewer: the writer role cannot). Records nothing (the caller
 * audits the retrieval). A non-zero return from cb stops and is returned.
 * Errors: MMDX_EINVAL, MMDX_EPERM (the role may not read embeddings),
 * MMDX_EDB, MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_store_embeddings(mmdx_store *s, const mmdx_embedding_filter *f,
                                           int (*cb)(void *ctx, const mmdx_embedding_row *row), void *ctx,
                                           mmdx_embedding_stats *stats);

/* ------------------------------------------------------------------------ */
/* Verification                                                              */
/* ------------------------------------------------------------------------ */

struct mmdx_checkpoint;

/** Options of mmdx_store_verify. */
typedef struct mmdx_verify_options {
    /** Earlier signed checkpoints (already signature-checked by the caller
     *  with mmdx_checkpoint_verify): the log must have only grown since. */
    const struct mmdx_checkpoint *const *checkpoints;
    size_t n_checkpoints;
    /** 1: check every HMAC present (needs the site key); 2: also require
     *  one on every event after the first that has one (all writers and
     *  reviewers hold the key); 0: HMACs are not checked. */
    int check_hmac;
    /** Called now and then with events checked so far; may be NULL. */
    void (*progress)(void *ctx, int64_t done, int64_t total);
    void *progress_ctx;
} mmdx_verify_options;

#define MMDX_VERIFY_MAX_PROBLEMS 64

/** One problem found. */
typedef struct mmdx_verify_problem {
    int64_t seq;       /**< the event concerned (first broken link) */
    char message[400];
} mmdx_verify_problem;

/** What mmdx_store_verify found. */
typedef struct mmdx_verify_report {
    int64_t n_events, n_runs, n_predictions, n_hmac_checked, n_unkeyed, n_checkpoints;
    uint8_t root[32]; /**< Merkle root over all events */
    int64_t first_bad_seq; /**< 0 when intact */
    size_t n_problems;     /**< problems found (the first MMDX_VERIFY_MAX_PROBLEMS kept) */
    mmdx_verify_problem problems[MMDX_VERIFY_MAX_PROBLEMS]; /**< in sequence order */
} mmdx_verify_report;

/**
 * Walk the whole chain in one consistent snapshot: sequence numbers
 * contiguous from 1, each prev_hash equal to the previous hash, each hash
 * equal to the recomputed one, HMACs (when asked), every run and prediction
 * matching the content hash in its audit event (and every such event having
 * its row), every applied migration having its event, and every checkpoint
 * consistent with the current tree (RFC 6962 consistency proof; a checkpoint
 * larger than the log means the tail was cut off).
 * Returns 0 when intact, MMDX_EINTEGRITY when not (details in *r, the first
 * broken sequence number in r->first_bad_seq), other codes on failure.
 * Records nothing (the caller audits the verification).
 */
MMDX_RESULT_USED int mmdx_store_verify(mmdx_store *s, const mmdx_verify_options *o,
                                       mmdx_verify_report *r);

/**
 * The log's identity ("mmdx-audit/<uuid>"), named in checkpoints. Borrowed.
 * Errors: MMDX_ESCHEMA, MMDX_EDB.
 */
MMDX_RESULT_USED int mmdx_store_log_origin(mmdx_store *s, const char **origin);

/**
 * The current tree head: *size events, Merkle root over them.
 */
MMDX_RESULT_USED int mmdx_store_tree_head(mmdx_store *s, uint64_t *size, uint8_t root[32]);

/**
 * Inclusion proof of event `seq` in the tree of the first `size` events
 * (0: all). *proof malloc'd (free()), *n_proof hashes; leaf gets the leaf
 * hash and root the tree root. Errors: MMDX_ENOTFOUND (no such event),
 * MMDX_EINVAL.
 */
MMDX_RESULT_USED int mmdx_store_prove_inclusion(mmdx_store *s, int64_t seq, uint64_t *size,
                                                uint8_t leaf[32], uint8_t root[32],
                                                uint8_t (**proof)[32], size_t *n_proof);

/**
 * Consistency proof between tree sizes m and n (n 0: all events).
 */
MMDX_RESULT_USED int mmdx_store_prove_consistency(mmdx_store *s, uint64_t m, uint64_t *n,
                                                  uint8_t root_m[32], uint8_t root_n[32],
                                                  uint8_t (**proof)[32], size_t *n_proof);

#ifdef __cplusplus
}
#endif

#endif
