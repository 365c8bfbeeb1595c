/*
 * model/fhir_risk.h — predictions as FHIR R4 RiskAssessment resources
 * (NDJSON, one resource per patient), for an EHR to take in: from a cohort
 * just scored (`mmdx predict --fhir`) or from stored results (`mmdx db
 * results --fhir`).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each resource: status "final"; subject by identifier (the manifest's
 * patient_id in a configurable system, or the store's pseudonym in system
 * urn:mmdx:pseudonym); occurrenceDateTime; method naming the fusion; basis
 * referencing the model as a contained Device (its SHA-256 as identifier,
 * fusion name and version when known); one prediction with
 * probabilityDecimal, qualitativeRisk high/low from the decision
 * (risk-probability code system) and a rationale naming the threshold (when
 * known) and each modality's contribution to the log-odds. The id is the
 * first 32 hex digits of SHA-256 over the model's hash and the subject, so
 * writing the same prediction twice gives the same id.
 */
#ifndef MMDX_MODEL_FHIR_RISK_H
#define MMDX_MODEL_FHIR_RISK_H

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>

#include "cohort_input.h"
#include "model_file.h"

/** The identifier system used when none is configured, and the one of pseudonyms. */
#define MMDX_FHIR_DEFAULT_ID_SYSTEM "urn:mmdx:patient-id"
#define MMDX_FHIR_PSEUDONYM_SYSTEM "urn:mmdx:pseudonym"

/** One prediction to express (all strings borrowed). */
typedef struct mmdx_fhir_risk_item {
    const char *subject_system, *subject_value;
    const char *when;           /**< FHIR dateTime, e.g. 2026-12-07T02:33:29Z */
    double probability;
    int decision;               /**< 1, 0, or -1 for none (no qualitativeRisk then) */
    double threshold;           /**< NaN when unknown */
    const char *model_sha256;   /**< may be NULL (a model the store does not know) */
    const char *fusion, *fusion_version, *classifier; /**< may be NULL */
    const char *method;         /**< method.text, or NULL */
    const char *contributions;  /**< the rationale's "imaging +0.123; genomics absent", or NULL */
} mmdx_fhir_risk_item;

/** The resource for one prediction (json_object_put() it), or NULL when out of memory. */
json_object *mmdx_fhir_risk_resource(const mmdx_fhir_risk_item *it);

/** Append the resource as one NDJSON line to f. Returns 0 or MMDX_ENOMEM. */
MMDX_RESULT_USED int mmdx_fhir_risk_print(FILE *f, const mmdx_fhir_risk_item *it);

/** The current time as a FHIR dateTime (UTC, seconds). */
void mmdx_fhir_now(char out[32]);

/**
 * Write one RiskAssessment per patient of `in` to `path` (atomically; "-":
 * standard output): prob (in->n), contrib (in->n x in->n_modalities).
 * `id_system` is the subject identifier's system (NULL: the default).
 * Errors: MMDX_EIO naming the path, MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_fhir_risk_write(const char *path, const mmdx_model_file *mf, const mmdx_cohort_input *in,
                                          const double *prob, const double *contrib, const char *id_system);

#endif
