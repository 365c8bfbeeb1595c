/*
 * model/fhir_risk.h — predictions as FHIR R4 RiskAssessment resources
 * (NDJSON, one resource per patient), for an EHR to take in.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each resource: status "final"; subject by the manifest's patient
 * identifier (identifier.system configurable); occurrenceDateTime the time
 * of writing (UTC); method naming the fusion; basis referencing the model as
 * a contained Device (its SHA-256 as identifier, fusion name and version);
 * one prediction with probabilityDecimal, qualitativeRisk high/low at the
 * model's threshold (risk-probability code system) and a rationale naming
 * the threshold and each modality's contribution to the log-odds. The id is
 * derived from the model's and the patient's identity (SHA-256), so writing
 * the same prediction twice gives the same id.
 */
#ifndef MMDX_MODEL_FHIR_RISK_H
#define MMDX_MODEL_FHIR_RISK_H

#include <stdint.h>
#include <stdio.h>

#include "cohort_input.h"
#include "model_file.h"

/** The identifier system used when none is configured. */
#define MMDX_FHIR_DEFAULT_ID_SYSTEM "urn:mmdx:patient-id"

/**
 * Write one RiskAssessment per patient of `in` to `path` (atomically; "-":
 * standard output): prob (in->n), contrib (in->n x in->n_modalities).
 * `id_system` is the subject identifier's system (NULL: the default).
 * Errors: MMDX_EIO naming the path, MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_fhir_risk_write(const char *path, const mmdx_model_file *mf, const mmdx_cohort_input *in,
                                          const double *prob, const double *contrib, const char *id_system);

#endif
