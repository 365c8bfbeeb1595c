/*
 * core/hash.h — SHA-256 and HMAC-SHA-256 through OpenSSL.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_CORE_HASH_H
#define MMDX_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"

#define MMDX_SHA256_LEN 32
#define MMDX_SHA256_HEX_LEN 65 /* 64 hex digits + NUL */

/** SHA-256 of a memory buffer. */
void mmdx_sha256(const void *data, size_t len, uint8_t out[MMDX_SHA256_LEN]);

/** SHA-256 of a file's content. Errors: MMDX_ENOTFOUND, MMDX_EIO (file named). */
MMDX_RESULT_USED int mmdx_sha256_file(const char *path, uint8_t out[MMDX_SHA256_LEN]);

/** HMAC-SHA-256 of a buffer with a key. */
MMDX_RESULT_USED int mmdx_hmac_sha256(const void *key, size_t key_len, const void *data,
                                      size_t len, uint8_t out[MMDX_SHA256_LEN]);

/** Lower-case hex of `len` bytes into `hex` (2*len+1 bytes). */
void mmdx_hex(const uint8_t *bytes, size_t len, char *hex);

/** Parse lower/upper-case hex of exactly 2*len digits. Returns 0 or MMDX_EFORMAT. */
MMDX_RESULT_USED int mmdx_unhex(const char *hex, uint8_t *bytes, size_t len);

#define MMDX_UUID_TEXT_LEN 37 /* 8-4-4-4-12 hex digits + NUL */

/**
 * A name-based UUID (RFC 9562 version 8: the first 128 bits of SHA-256 of
 * `name`, with the version and variant bits set), in lower-case text. The
 * same name always gives the same UUID: callers derive run IDs from what a
 * run does, so that a rerun after a crash finds its first attempt.
 */
void mmdx_uuid_from_name(const void *name, size_t len, char out[MMDX_UUID_TEXT_LEN]);

/** Constant-time comparison; 1 when equal. */
int mmdx_digest_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif
