/*
 * orthanc/queue.h — the screening queue and its results, kept in PostgreSQL
 * (schema `mmdx_orthanc`), so that a restart of Orthanc loses nothing and
 * several Orthanc servers can share one database.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One row per Orthanc study: its state (pending, running, done, failed),
 * attempts, the fingerprint of the inputs of its last successful screening
 * (so that a second StableStudy for unchanged images does nothing) and the
 * last result as JSON. Workers claim rows with FOR UPDATE SKIP LOCKED.
 * The schema is created by numbered migrations, each applied once under an
 * advisory lock and recorded in mmdx_orthanc.schema_migrations.
 *
 * Errors: MMDX_EDB with the server's message (never a password); the handle
 * reconnects on the next call after a lost connection. A handle is used by
 * one thread at a time.
 */
#ifndef MMDX_ORTHANC_QUEUE_H
#define MMDX_ORTHANC_QUEUE_H

#include "mmdx/common.h"

typedef struct mmdx_job_queue mmdx_job_queue;

#define MMDX_ORTHANC_ID_MAX 64 /* Orthanc IDs are 44 characters */

/** A claimed job. */
typedef struct mmdx_job {
    char orthanc_id[MMDX_ORTHANC_ID_MAX];
    int force;            /**< re-screen even when the inputs are unchanged */
    int attempts;         /**< including this one */
    char *fingerprint;    /**< of the last successful screening, or NULL (malloc'd) */
    char *previous_sr;    /**< JSON array of Orthanc IDs of the SR instances written last time, or NULL */
    long long generation; /**< how many forced requests the study had: with the inputs, it names the
                               screening's run, so that one interrupted by a crash is found again */
} mmdx_job;

void mmdx_job_clear(mmdx_job *j);

/**
 * Connect (libpq conninfo or URI; connect_timeout defaults to 10 s) and
 * apply the migrations. `worker` names this server in the rows it claims
 * (the plugin uses "host:HttpPort"). Errors: MMDX_EDB.
 */
MMDX_RESULT_USED int mmdx_job_queue_open(mmdx_job_queue **out, const char *conninfo, const char *worker);

void mmdx_job_queue_free(mmdx_job_queue *q);

/**
 * Ask for a study to be screened (idempotent). A study already pending stays
 * pending once; one running is screened again after it finishes; one done or
 * failed becomes pending. `force` re-screens even if unchanged.
 */
MMDX_RESULT_USED int mmdx_job_queue_enqueue(mmdx_job_queue *q, const char *orthanc_id, int force);

/** Claim the oldest due pending job: 1 claimed (*job filled), 0 none, or MMDX_EDB. */
MMDX_RESULT_USED int mmdx_job_queue_claim(mmdx_job_queue *q, mmdx_job *job);

/** The job succeeded: store the fingerprint and result (a JSON object). */
MMDX_RESULT_USED int mmdx_job_queue_done(mmdx_job_queue *q, const char *orthanc_id, const char *fingerprint,
                                         const char *result_json);

/** The inputs are unchanged since the last success: mark done, keep the result. */
MMDX_RESULT_USED int mmdx_job_queue_unchanged(mmdx_job_queue *q, const char *orthanc_id);

/**
 * The job failed with `error`. retry_after >= 0: pending again after that
 * many seconds; < 0: failed for good (until enqueued again).
 */
MMDX_RESULT_USED int mmdx_job_queue_failed(mmdx_job_queue *q, const char *orthanc_id, const char *error,
                                           int retry_after);

/**
 * Jobs this worker left running (it crashed or was stopped) go back to
 * pending, forced again when they were forced. *n gets how many.
 */
MMDX_RESULT_USED int mmdx_job_queue_recover(mmdx_job_queue *q, int *n);

/**
 * The row of a study as a JSON object (malloc'd): orthanc_id, state,
 * attempts, enqueued_at, started_at, finished_at, error, result.
 * MMDX_ENOTFOUND when the study was never queued.
 */
MMDX_RESULT_USED int mmdx_job_queue_get(mmdx_job_queue *q, const char *orthanc_id, char **json);

/** Counts by state as a JSON object (malloc'd). */
MMDX_RESULT_USED int mmdx_job_queue_counts(mmdx_job_queue *q, char **json);

#endif
