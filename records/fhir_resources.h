/*
 * records/fhir_resources.h — turning FHIR R4 resources into facts (private).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Used: Patient (birthDate, gender, deceased[x], identifier), Observation
 * (LOINC code.coding and component codes, valueQuantity, effective[x] or
 * issued, status), Condition (ICD-10/SNOMED codes, onset[x] or recordedDate,
 * abatement[x], clinicalStatus, verificationStatus), MedicationStatement and
 * MedicationRequest (medicationCodeableConcept or medicationReference to a
 * Medication, RxNorm/ATC codes), Medication (target of references). Nested
 * Bundles are walked. Every other type is skipped and counted.
 *
 * Thread-safety: a context is used by one thread at a time.
 */
#ifndef MMDX_RECORDS_FHIR_RESOURCES_H
#define MMDX_RECORDS_FHIR_RESOURCES_H

#include <json-c/json.h>

#include "strmap.h"
#include "facts.h"

/** A medication use whose medicationReference is resolved once every resource is read. */
typedef struct mmdx_pending_med {
    size_t patient;
    char *ref;
    int64_t start, end;
    char origin[MMDX_ORIGIN_MAX];
} mmdx_pending_med;

/** State over one load (all files of an input). */
typedef struct mmdx_fhir_ctx {
    mmdx_records_store *st;
    const char *file;     /**< current file, for messages */
    long line;            /**< NDJSON line (1-based), or 0 */
    long entry;           /**< Bundle entry index, or -1 */
    mmdx_strmap *fullurls; /**< current bundle: fullUrl -> patient index (Patient entries) */
    /* Medication resources: reference key -> first index in med_links */
    mmdx_strmap *med_map;
    struct {
        uint32_t flag;
        size_t next;
    } *med_links;
    size_t n_med_links, cap_med_links;
    mmdx_pending_med *pending;
    size_t n_pending, cap_pending;
    uint8_t *hits; /**< scratch: one byte per condition or medication flag */
} mmdx_fhir_ctx;

MMDX_RESULT_USED int mmdx_fhir_ctx_init(mmdx_fhir_ctx *c, mmdx_records_store *st);
void mmdx_fhir_ctx_free(mmdx_fhir_ctx *c);

/** "file:line 12" / "file: entry[3]" / "file" for messages. */
void mmdx_fhir_origin(const mmdx_fhir_ctx *c, char *buf, size_t cap);

/**
 * Read one resource (a JSON object). Bundles are walked entry by entry.
 * Returns 0 or MMDX_ENOMEM; everything else is counted or recorded on the
 * patient.
 */
MMDX_RESULT_USED int mmdx_fhir_resource(mmdx_fhir_ctx *c, json_object *res, int depth);

/**
 * Take over `src`'s Medication resources and pending medication references
 * (src read the part of the input after dst's); remap[i] is the index in
 * dst's store of src's patient i. Returns 0 or MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_fhir_ctx_merge(mmdx_fhir_ctx *dst, mmdx_fhir_ctx *src, const size_t *remap);

/**
 * After all files: resolve pending medication references and count
 * resources naming patients absent from an input that holds Patient
 * resources. Returns 0 or MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_fhir_finish(mmdx_fhir_ctx *c);

#endif
