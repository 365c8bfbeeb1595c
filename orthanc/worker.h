/*
 * orthanc/worker.h — screening one Orthanc study end to end: pick the series
 * by the rules, fetch its instances, join the patient's other modalities,
 * run the encoders and the fusion model, store the prediction with its audit
 * events, and write the result back into the study as DICOM SR.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A screener is used by one worker thread. It talks to Orthanc only through
 * mmdx_pacs (never from an Orthanc callback), to PostgreSQL through
 * audit/store.h, and never writes a patient identifier into a log line.
 */
#ifndef MMDX_ORTHANC_WORKER_H
#define MMDX_ORTHANC_WORKER_H

#include "mmdx/common.h"
#include "pacs.h"
#include "queue.h"
#include "settings.h"

typedef struct mmdx_screener mmdx_screener;

/**
 * Prepare: load the mmdx plugins (settings' PluginFolder), the site
 * configuration, the model (integrity and signature checked), the sample map
 * and the manifest. `plugin_dir_default` is used when PluginFolder is unset.
 * Errors: those of the loader, the model file, the CSV readers.
 */
MMDX_RESULT_USED int mmdx_screener_new(mmdx_screener **out, const mmdx_orthanc_settings *s,
                                       const mmdx_pacs *pacs, const char *plugin_dir_default);

void mmdx_screener_free(mmdx_screener *sc);

/** What a screening did. */
typedef enum mmdx_screen_outcome {
    MMDX_SCREEN_DONE = 0,      /**< screened, stored and SR written */
    MMDX_SCREEN_UNCHANGED = 1  /**< same inputs and model as the last success: nothing done */
} mmdx_screen_outcome;

/**
 * Screen the job's study. On MMDX_SCREEN_DONE, *result_json (malloc'd) holds
 * the result object and `fingerprint` the inputs' fingerprint. On failure,
 * the message is in the thread's last error, and the failure is audited when
 * the database is reachable.
 * Errors: MMDX_ENOTFOUND (the study is gone, or no series matches the
 * rules), MMDX_EIO (Orthanc's REST API failed), MMDX_EDB, and those of the
 * encoders, the model and the SR writer.
 */
MMDX_RESULT_USED int mmdx_screener_run(mmdx_screener *sc, const mmdx_job *job, mmdx_screen_outcome *outcome,
                                       char **result_json, char fingerprint[65]);

/** 1 when an error code is worth retrying later (database, PACS, memory). */
int mmdx_screen_error_is_transient(int code);

/**
 * Record a failure in the audit log ("orthanc.screen", serious failure) with
 * the message; best effort (returns the store's error if it cannot).
 */
int mmdx_screener_audit_failure(mmdx_screener *sc, const char *orthanc_id, const char *message, int attempt);

/** The same without a screener (when it could not be prepared, e.g. the model is missing). */
int mmdx_orthanc_audit_failure(const mmdx_orthanc_settings *s, const char *orthanc_id, const char *message,
                               int attempt);

/**
 * Test-only crash point: in a build with MMDX_TEST_HOOKS (CMake option, off
 * by default, on in scripts/test.sh), SIGKILL this process when
 * the environment variable MMDX_TEST_KILL_AT equals `point`; otherwise
 * nothing. The reliability tests use it to kill Orthanc at an exact moment
 * (docs/reliability.md, row 2).
 */
void mmdx_orthanc_crash_point(const char *point);

#endif
