/*
 * core/gzfile.h — reading text files that may be gzip-compressed (scoring
 * files, FHIR bundles, NDJSON exports). zlib reads plain files unchanged.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_CORE_GZFILE_H
#define MMDX_CORE_GZFILE_H

#include <stddef.h>
#include <zlib.h>

#include "mmdx/common.h"

/** Open for reading with a large buffer. Errors: MMDX_ENOTFOUND, MMDX_EIO (path named). */
MMDX_RESULT_USED int mmdx_gz_open(gzFile *out, const char *path);

/** The current read error of `f` as MMDX_EIO with the path named. */
int mmdx_gz_error(gzFile f, const char *path);

/**
 * Read a whole file (gzip or plain) into *out (malloc'd, NUL-terminated;
 * free()), its length in *len. Errors: as mmdx_gz_open, MMDX_EIO on a
 * corrupt stream, MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_gz_read_all(const char *path, char **out, size_t *len);

#endif
