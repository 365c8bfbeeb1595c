/*
 * screen/screen.h — batch screening of a cohort (`mmdx screen`): every
 * patient of a manifest (or of one shard of it) through the encoder plugins
 * and a signed fusion model, into the audited store and an optional CSV.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Before anything is encoded the model file's integrity and signature are
 * checked (an unsigned or altered model is refused: MMDX_EINTEGRITY), and
 * the encoders about to run are compared with those the model was trained
 * with: same plugins, versions and configuration sections, and a feature
 * schema holding every feature of the model (MMDX_ESCHEMA otherwise).
 *
 * Patients go through in batches: encode (OpenMP over patients), fingerprint
 * the inputs (SHA-256), predict, store the batch in one transaction with one
 * audit event per prediction, append the rows to the CSV journal.
 *
 * Resumability. The run's ID is derived from what the run does (SHA-256 of
 * the model file, the manifest, the shard, the pseudonymisation setting and
 * the job label), so the same command finds its run again after a crash:
 * the store resumes it ("run.resume" event) and lists the patients it holds,
 * which are skipped. A batch is stored in one transaction, so a kill at any
 * point leaves each patient either stored or not; the store never writes a
 * (run, patient) pair twice. The CSV is rebuilt from its journal
 * (journal.h). A deliberate new screening of the same cohort with the same
 * model takes another job label.
 *
 * Database outages. When the database goes away mid-run (unreachable: the
 * server stopped, the session terminated, the network; read-only: a standby,
 * default_transaction_read_only; out of resources: disk full, too many
 * connections), the batch is held, the run pauses and reconnects with
 * growing delays, saying so on `messages`; after db_wait_seconds it stops
 * with MMDX_EDB, having lost nothing: a rerun resumes. A transaction cut by a
 * lost connection is replayed once reconnected; a batch whose commit
 * reached the server before the cut is recognised as already stored. Any
 * other refusal (permissions, schema) stops the run at once with MMDX_EDB.
 *
 * Errors (thread's last error, naming the file, line or field): the model
 * session's (MMDX_EINTEGRITY, MMDX_ENOTFOUND...), MMDX_ESCHEMA (encoders or
 * features differ from training, database schema missing), the manifest's
 * (MMDX_EFORMAT), MMDX_EEXISTS (the CSV journal belongs to another run),
 * MMDX_EDB, MMDX_EIO, MMDX_ENOMEM. A patient whose inputs fail is not an
 * error of the run: it is counted in the summary and reported through
 * on_failure.
 */
#ifndef MMDX_SCREEN_SCREEN_H
#define MMDX_SCREEN_SCREEN_H

#include <stddef.h>
#include <signal.h>
#include <stdio.h>

#include "config.h"
#include "loader.h"
#include "shard.h"
#include "store.h"

/** Most modalities a screening model may have (the summary counts their combinations). */
#define MMDX_SCREEN_MAX_MODALITIES 8
/** Distinct failure reasons counted in the summary (more are grouped as "other"). */
#define MMDX_SCREEN_MAX_REASONS 32

/** Options of mmdx_screen_run(). Zero-initialise, then set. */
typedef struct mmdx_screen_options {
    const char *model_path;       /**< signed model file */
    const char *cohort_path;      /**< manifest */
    const char *key_path;         /**< site key file verifying the model's signature (resolved by the
                                       caller with mmdx_audit_settings_resolve) */
    const char *out_csv;          /**< results CSV, or NULL */
    mmdx_shard shard;             /**< {0,0} or {1,1}: the whole cohort */
    const char *job;              /**< label of a deliberate re-screening; NULL: "" */
    int keep_going;               /**< screen a patient on the modalities whose inputs did not fail */
    int threads;                  /**< patients encoded in parallel (>= 1) */
    size_t batch;                 /**< patients per stored batch; 0: 64 */
    int no_db;                    /**< results only to out_csv (no store, no audit) */
    mmdx_store_options store;     /**< connection, site key, pseudonymisation */
    double db_wait_seconds;       /**< keep retrying a lost database this long; 0: 300 */
    const mmdx_registry *registry;
    const mmdx_config *config;
    FILE *messages;               /**< per-patient failures, pauses, progress (stderr), or NULL */
    int progress;                 /**< show a progress display on messages */
    /** Set (by a signal handler of the caller) to stop after the current batch: the run ends with
     *  MMDX_ECANCELED, its run.end recorded, everything done so far kept for a resume. NULL: never. */
    const volatile sig_atomic_t *cancel;
} mmdx_screen_options;

/** Seconds spent per stage, summed over threads where stages run in parallel. */
typedef struct mmdx_screen_times {
    double hash;                  /**< reading and fingerprinting inputs */
    double encode[MMDX_SCREEN_MAX_MODALITIES]; /**< per model modality: decoding + features */
    double predict;
    double store;                 /**< database transactions and the CSV journal */
    double total;                 /**< wall clock of the whole run */
} mmdx_screen_times;

typedef struct mmdx_screen_reason {
    char text[96];                /**< "imaging: file not found", "no modality present", ... */
    size_t count;
} mmdx_screen_reason;

/** What a run did. */
typedef struct mmdx_screen_summary {
    char run_id[MMDX_RUN_ID_LEN];
    int resumed;                  /**< the run existed: this invocation resumed it */
    int interrupted;              /**< stopped between batches on request (options.cancel) */
    int finished_before;          /**< the run was already complete: nothing was done, nothing recorded */
    char model_sha256[MMDX_SHA256_HEX_LEN];
    char cohort_sha256[MMDX_SHA256_HEX_LEN];
    int signature_verified;
    size_t n_cohort;              /**< manifest rows */
    size_t n_shard;               /**< of them in this shard */
    size_t n_already;             /**< done before this invocation */
    size_t n_screened;            /**< screened now (stored and/or written) */
    size_t n_partial;             /**< of them, screened without a modality whose input failed */
    size_t n_failed;              /**< not screened (listed through on_failure) */
    size_t n_positive;            /**< of those screened now, decision 1 */
    size_t n_stored, n_duplicates, n_conflicts; /**< store outcomes of this invocation */
    size_t db_pauses;             /**< waits for an unavailable database (each retry after a pause) */
    size_t n_modalities;
    char modalities[MMDX_SCREEN_MAX_MODALITIES][32];
    size_t by_present[1u << MMDX_SCREEN_MAX_MODALITIES]; /**< screened now, by bitmask of modalities present */
    size_t n_reasons;
    mmdx_screen_reason reasons[MMDX_SCREEN_MAX_REASONS];
    double threshold;
    mmdx_screen_times times;
    size_t db_reconnections;      /**< transactions replayed by the store on a new connection (no pause) */
} mmdx_screen_summary;

/**
 * Screen. `summary` is filled as far as the run got, also on failure.
 * Returns 0 when every patient of the shard is screened (now or before),
 * MMDX_EFORMAT when some could not be (bad or missing inputs; the rest are
 * stored), or a negative code when the run could not go on.
 */
MMDX_RESULT_USED int mmdx_screen_run(const mmdx_screen_options *o, mmdx_screen_summary *summary);

/**
 * The run ID a screening gets: a UUID (version 8, RFC 9562) made of the
 * SHA-256 of "mmdx-screen-run-v1", the model's and manifest's SHA-256, the
 * shard "K/N", the pseudonymisation flag and the job label.
 */
void mmdx_screen_run_id(char out[MMDX_RUN_ID_LEN], const char *model_sha256, const char *cohort_sha256,
                        const mmdx_shard *shard, int pseudonymise, const char *job);

#endif
