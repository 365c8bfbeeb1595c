/*
 * screen/input_hash.h — the SHA-256 fingerprint of one patient's input, a
 * file or a folder (a DICOM series), recorded with each stored prediction so
 * that a reviewer can tell later which bytes a result came from.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_SCREEN_INPUT_HASH_H
#define MMDX_SCREEN_INPUT_HASH_H

#include "hash.h"
#include "mmdx/common.h"

/**
 * A file: SHA-256 of its bytes. A folder: SHA-256 of the lines
 * "<relative path>\0<hex SHA-256 of the file>\n" of every regular file under
 * it (recursively, symbolic links not followed), sorted by relative path,
 * so that the fingerprint does not depend on the order the file system
 * lists them. hex gets 64 hex digits. Errors: MMDX_ENOTFOUND, MMDX_EIO
 * (path named), MMDX_ENOMEM. Thread-safe.
 */
MMDX_RESULT_USED int mmdx_input_sha256(const char *path, char hex[MMDX_SHA256_HEX_LEN]);

#endif
