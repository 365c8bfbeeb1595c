/*
 * records/load.h — reading records inputs into a fact store (private).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Inputs: a FHIR R4 JSON document (a Bundle of type collection, searchset,
 * transaction, batch, document, message or their responses; or one bare
 * resource), a bulk-data NDJSON file (one resource per line), a folder of
 * bulk-data files (*.ndjson, *.json, optionally gzip-compressed), or a wide
 * CSV/TSV table mapped by the spec. NDJSON is streamed line by line: memory
 * follows the longest line and the facts kept, not the file size.
 *
 * Errors (thread-local last error): MMDX_ENOTFOUND/MMDX_EIO for unreadable
 * files; MMDX_EFORMAT for invalid JSON (file, line and column), a CSV without
 * the mapped columns, or a duplicate CSV patient. Problems confined to one
 * patient (a malformed date) are recorded on that patient instead
 * (mmdx_records_patient.error); problems confined to one resource (unknown
 * type, unconvertible unit, dangling reference) are counted in the stats.
 */
#ifndef MMDX_RECORDS_LOAD_H
#define MMDX_RECORDS_LOAD_H

#include <json-c/json.h>

#include "facts.h"

/** What an input path holds, judged by its name (and for folders, their content). */
typedef enum mmdx_records_kind {
    MMDX_RECORDS_JSON = 1,
    MMDX_RECORDS_NDJSON,
    MMDX_RECORDS_FOLDER,
    MMDX_RECORDS_CSV
} mmdx_records_kind;

int mmdx_records_kind_of(const char *path);

/**
 * Read `path` into the store (the store's spec selects what is kept).
 * NDJSON lines are parsed on `threads` threads (0: the OpenMP default; 1 when
 * the caller already runs in parallel); resources are read in input order.
 */
MMDX_RESULT_USED int mmdx_records_load(mmdx_records_store *st, const char *path, int threads);

/** Read FHIR JSON from memory (one document or NDJSON); `name` names it in messages. */
MMDX_RESULT_USED int mmdx_records_load_mem(mmdx_records_store *st, const char *data, size_t len,
                                           const char *name, int ndjson);

/** The CSV reader (records/csv_table.c). */
MMDX_RESULT_USED int mmdx_records__load_csv(mmdx_records_store *st, const char *path);

#endif
