/*
 * orthanc/neighbours.h — GET /mmdx/studies/{id}/similar: the stored
 * patients nearest to a screened study in the shared space of the plugin's
 * joint-fusion model, found by the same search as `mmdx similar`
 * (retrieval/similar.h) on a reviewer login (Mmdx.ReviewerDatabase: the
 * writer role the worker uses cannot read embeddings), each search recorded
 * as a results.similar audit event before it is answered.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The handle keeps the model, the reviewer connection and the candidates
 * between requests; each request adds the predictions stored since the last
 * (mmdx_similar_refresh), so a new screening is a candidate at once. After a
 * database failure the connection and candidates are dropped and rebuilt by
 * the next request. One thread at a time (the plugin serialises requests).
 * Nothing here logs; messages never carry a patient identifier.
 */
#ifndef MMDX_ORTHANC_NEIGHBOURS_H
#define MMDX_ORTHANC_NEIGHBOURS_H

#include <stddef.h>

#include "mmdx/common.h"
#include "settings.h"

typedef struct mmdx_orthanc_neighbours mmdx_orthanc_neighbours;

/**
 * A handle for the settings `s` (borrowed: must outlive it); nothing is
 * opened yet. MMDX_EINVAL without ReviewerDatabase, MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_orthanc_neighbours_new(mmdx_orthanc_neighbours **out, const mmdx_orthanc_settings *s,
                                                 const char *plugin_dir_default);

void mmdx_orthanc_neighbours_free(mmdx_orthanc_neighbours *n);

/** The `k` parameter: a whole number 1..MMDX_SIMILAR_MAX_K (NULL: 10). MMDX_EINVAL naming the limits. */
MMDX_RESULT_USED int mmdx_orthanc_neighbours_parse_k(const char *text, size_t *k);

/** One request. */
typedef struct mmdx_orthanc_neighbours_query {
    const char *orthanc_id;   /**< the study, as Orthanc names it */
    const char *job_json;     /**< its row in the screening queue (mmdx_job_queue_get) */
    size_t k;
    const char *requested_by; /**< the Orthanc user, or NULL: recorded in the audit event */
} mmdx_orthanc_neighbours_query;

/**
 * The neighbours of the study's stored prediction as a JSON object
 * (*json malloc'd): orthanc_id, query {patient (as stored: the pseudonym
 * when pseudonymised), pseudonymised, study_uid, run_id, model_sha256,
 * space}, k, search, candidates, left_out_changed, neighbours [each as
 * mmdx_similar_hit_json()]. The query patient's own predictions are left out.
 * Errors: MMDX_ENOTFOUND (not screened yet, or no stored embedding of the
 * study by this model), MMDX_ESCHEMA (screened with another model than the
 * plugin's), MMDX_EUNSUPPORTED (the model has no shared representation),
 * MMDX_EPERM (the reviewer login may not read embeddings), MMDX_EDB,
 * MMDX_EINVAL, MMDX_ENOMEM, and those of the model and the labels file.
 */
MMDX_RESULT_USED int mmdx_orthanc_neighbours_find(mmdx_orthanc_neighbours *n, const mmdx_orthanc_neighbours_query *q,
                                                  char **json);

/** The HTTP status for an error of this interface (400, 403, 404, 409, 422, 503 or 500). */
int mmdx_orthanc_neighbours_http_status(int code);

#endif
