/*
 * retrieval/similar_record.h — what a similar-patient search shows and
 * records, shared by `mmdx similar` and the Orthanc plugin's /similar route:
 * the neighbours' labels (from a labelled table), a neighbour as JSON, and
 * the results.similar audit event.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Thread safety: the functions keep no state; a labels handle may be read
 * from several threads once loaded.
 */
#ifndef MMDX_RETRIEVAL_SIMILAR_RECORD_H
#define MMDX_RETRIEVAL_SIMILAR_RECORD_H

#include <json-c/json.h>
#include <stddef.h>

#include "mmdx/common.h"
#include "similar.h"
#include "store.h"

typedef struct mmdx_similar_labels mmdx_similar_labels;

/**
 * The patient_id and label columns of a CSV (a labelled manifest will do),
 * keyed both as given and, when the store has a site key, as its pseudonym,
 * so that stored rows match whichever way they were stored. Empty labels
 * are unknown. Errors (naming the file and line): MMDX_EFORMAT (no header
 * with both columns, a label other than 0, 1 or empty), those of the CSV
 * reader, MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_similar_labels_load(mmdx_similar_labels **out, mmdx_store *s, const char *path);

/** A stored patient key's label: 0, 1, or -1 unknown (also for labels NULL). */
int mmdx_similar_label_of(const mmdx_similar_labels *labels, const char *key);

void mmdx_similar_labels_free(mmdx_similar_labels *labels);

/**
 * One neighbour as a JSON object (the caller owns it: json_object_put):
 * rank, patient, pseudonymised, distance, probability, decision, label,
 * modalities (names, or null when the row predates stored tokens), run_id,
 * stored_at, study_uid (null when none was stored). `label` -1: unknown.
 */
json_object *mmdx_similar_hit_json(const mmdx_similar_space *sp, const mmdx_similar_hit *h, size_t rank, int label);

/** What one search was: recorded in its results.similar event. */
typedef struct mmdx_similar_record {
    const char *model_sha256;
    const char *query_patient;  /**< raw ID (pseudonymised by the store when it does so), or the stored key */
    const char *query_kind;     /**< "stored" (a stored prediction) or "new" (encoded now) */
    const char *query_study;    /**< the query's StudyInstanceUID, or NULL */
    const char *space, *search; /**< mmdx_similar_space_name(); "exact" or "index" */
    size_t k;
    const char *via;            /**< the front end when not the CLI ("orthanc"), or NULL */
    const char *requested_by;   /**< the user the front end authenticated, or NULL */
} mmdx_similar_record;

/**
 * Record a search as a results.similar event (who asked: the store's role
 * and OS user, plus `requested_by`; about which patient; which patients
 * were shown, in rank order) before anything is shown.
 * Errors: those of mmdx_store_audit.
 */
MMDX_RESULT_USED int mmdx_similar_audit(mmdx_store *s, const mmdx_similar_record *r, const mmdx_similar_hits *h);

#endif
