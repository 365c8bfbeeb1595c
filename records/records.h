/*
 * records/records.h — the records encoder: health records (FHIR R4 JSON
 * bundles, bulk-data NDJSON, wide CSV) to named clinical features.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Used by the `records` plugin and by `mmdx encode records`. Feature names
 * (without the "records." prefix) and their meaning are fixed by the feature
 * spec (docs/records.md); the default spec is compiled in.
 *
 * Thread-safety: mmdx_records_new(), _index() and _free() need exclusive
 * access; once inputs are indexed, mmdx_records_encode() may be called from
 * several threads at once.
 */
#ifndef MMDX_RECORDS_RECORDS_H
#define MMDX_RECORDS_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "fhir_date.h"
#include "mmdx/common.h"
#include "facts.h"

typedef struct mmdx_records mmdx_records;

/**
 * Create an encoder. `spec_path` names a feature spec JSON file, or NULL for
 * the built-in default. Errors (thread-local last error): those of
 * mmdx_records_spec_load(), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_records_new(mmdx_records **out, const char *spec_path);

void mmdx_records_free(mmdx_records *r);

/** Feature names without the modality prefix; owned by the encoder. */
size_t mmdx_records_features(const mmdx_records *r, const char *const **names);

/** Threads used to parse a shared NDJSON input in mmdx_records_index(): 1 unless set (0: the OpenMP default). */
void mmdx_records_set_threads(mmdx_records *r, int threads);

/**
 * Report reading progress of mmdx_records_index(): `cb` gets the bytes read
 * since its last call (possibly from several threads at once). NULL: none.
 */
void mmdx_records_set_progress(mmdx_records *r, void (*cb)(void *ud, size_t bytes), void *ud);

/** Bytes of `path` the encoder reads (a folder: its files of used types), for progress displays. */
size_t mmdx_records_input_size(const char *path);

/** The spec's name (from its "name" field). Borrowed. */
const char *mmdx_records_spec_name(const mmdx_records *r);

/**
 * Read an input shared by several patients (a bulk export, a multi-patient
 * Bundle, a CSV table) once; later mmdx_records_encode() calls naming the
 * same path use it. Errors: those of reading the input (see load.h).
 */
MMDX_RESULT_USED int mmdx_records_index(mmdx_records *r, const char *path);

/** Whether `path` has been indexed. */
int mmdx_records_is_indexed(const mmdx_records *r, const char *path);

/**
 * Encode one patient of `path` at `index` (the index date). The patient is
 * the one whose Patient.id (or CSV id) or an identifier value equals
 * `patient_id`; when no patient matches and the input holds exactly one, that
 * one (a per-patient file whose ids differ from the manifest's). values has
 * mmdx_records_features() slots (NaN = unknown). *present is 0 when the input
 * holds no such patient. `stats`, when not NULL, receives the input's
 * counters (for an indexed input: those of the whole input).
 *
 * Errors: reading the input (see load.h) and MMDX_EFORMAT when one of the
 * patient's resources is malformed (message names file, line or entry, and
 * field).
 */
MMDX_RESULT_USED int mmdx_records_encode(const mmdx_records *r, const char *path, const char *patient_id,
                                         const mmdx_fhir_date *index, double *values, int32_t *present,
                                         mmdx_records_stats *stats);

/**
 * Every patient of `path` (read once): ids in input order, without patients
 * that are only referenced in an input holding other Patient resources. *ids is an array
 * of borrowed strings, valid while the input stays indexed; free the array
 * itself with free(). The input is indexed as a side effect.
 */
MMDX_RESULT_USED int mmdx_records_list_patients(mmdx_records *r, const char *path, const char ***ids,
                                                size_t *n);

#endif
