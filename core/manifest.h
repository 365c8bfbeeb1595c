/*
 * core/manifest.h — the cohort manifest.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A CSV file (RFC 4180) whose header names the columns
 * `patient_id,dicom,vcf,vcf_sample,record,label`; only patient_id is
 * required, any order is accepted and extra columns (e.g. `mask`,
 * `index_date`) are kept. An empty cell means the modality is missing for the
 * patient. Relative paths resolve against the manifest's folder and may not
 * climb out of it; absolute paths are taken as written. `label`, when
 * present, is 0, 1 or empty.
 */
#ifndef MMDX_CORE_MANIFEST_H
#define MMDX_CORE_MANIFEST_H

#include <stddef.h>

#include "mmdx/common.h"

typedef struct mmdx_manifest mmdx_manifest;

/**
 * Load and validate a manifest. Errors (MMDX_EFORMAT unless said otherwise),
 * each naming the file and line: unreadable file (MMDX_ENOTFOUND/MMDX_EIO),
 * no `patient_id` column, an empty or duplicate column name, a row with the
 * wrong number of fields, an empty or duplicate patient_id (both lines
 * named), a label other than 0/1/empty, unbalanced quotes; MMDX_EPERM for a
 * relative path in a path column (mmdx_manifest_is_path_column) whose `..`
 * climbs above the manifest's folder (line and column named).
 */
MMDX_RESULT_USED int mmdx_manifest_load(mmdx_manifest **out, const char *path);

/**
 * Parse a manifest held in memory (not copied). `name` stands for the path in
 * messages and relative paths resolve against its folder. Same errors.
 */
MMDX_RESULT_USED int mmdx_manifest_parse(mmdx_manifest **out, const char *data, size_t len,
                                         const char *name);

/**
 * A manifest of one patient built in memory (no CSV, no file): columns[i]
 * holds values[i], i < n (both copied). `name` stands for the path in
 * messages (line 2 is the patient) and relative paths resolve against its
 * folder. The same checks as a loaded manifest (a patient_id column, valid
 * and distinct column names, a label of 0/1/empty).
 */
MMDX_RESULT_USED int mmdx_manifest_from_row(mmdx_manifest **out, const char *name,
                                            const char *const *columns, const char *const *values,
                                            size_t n);

void mmdx_manifest_free(mmdx_manifest *m);

/** Number of patients (rows). */
size_t mmdx_manifest_count(const mmdx_manifest *m);

/** Number of columns and the name of column i. Borrowed. */
size_t mmdx_manifest_columns(const mmdx_manifest *m);
const char *mmdx_manifest_column_name(const mmdx_manifest *m, size_t col);

/** Index of a column by name, or -1. */
long mmdx_manifest_column(const mmdx_manifest *m, const char *name);

/** Cell of row `row`, column `col` (raw text, "" when empty). Borrowed. */
const char *mmdx_manifest_cell(const mmdx_manifest *m, size_t row, size_t col);

/** Cell by column name; NULL when the column does not exist. Borrowed. */
const char *mmdx_manifest_get(const mmdx_manifest *m, size_t row, const char *column);

/** patient_id of a row. Borrowed. */
const char *mmdx_manifest_patient_id(const mmdx_manifest *m, size_t row);

/** Physical line of a row in the file (for messages). */
long mmdx_manifest_line(const mmdx_manifest *m, size_t row);

/** Label of a row: 0 or 1, or -1 when there is no label column or the cell is empty. */
int mmdx_manifest_label(const mmdx_manifest *m, size_t row);

/** Whether the manifest has a label column. */
int mmdx_manifest_has_labels(const mmdx_manifest *m);

/** The manifest's path and its folder. Borrowed. */
const char *mmdx_manifest_path(const mmdx_manifest *m);
const char *mmdx_manifest_dir(const mmdx_manifest *m);

/**
 * A cell holding a path, resolved against the manifest's folder: *out is a
 * newly allocated string (free()), or NULL when the cell is empty or the
 * column does not exist. Returns 0 or MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_manifest_resolve(const mmdx_manifest *m, size_t row, const char *column,
                                           char **out);

/** Whether a column holds paths: dicom, vcf, record, mask, or any name ending in "_path". */
int mmdx_manifest_is_path_column(const char *column);

#endif
