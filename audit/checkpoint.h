/*
 * audit/checkpoint.h — signed tree heads of the audit log (as Certificate
 * Transparency's STH, RFC 6962 section 3.5), kept OUTSIDE the database.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A checkpoint says: "the log <origin> had <size> events with Merkle root
 * <root> at <time>", signed with an Ed25519 key (OpenSSL). Given an earlier
 * checkpoint, mmdx_store_verify proves the log only grew since (RFC 6962
 * consistency proof) and detects a tail cut off or rewritten.
 *
 * Text form (UTF-8, one field per line; the signature covers every line
 * before the signature line exactly as mmdx_checkpoint_format writes them):
 *
 *     mmdx-audit-checkpoint v1
 *     origin mmdx-audit/1b4e28ba-2fa1-41d2-883f-0016d3cca427
 *     size 1234
 *     root <64 hex>
 *     time 2026-11-27T01:02:03.123456Z
 *     key <64 hex: SHA-256 of the raw Ed25519 public key>
 *     signature <128 hex>
 *
 * Keys are PEM files (PKCS#8 private key, SubjectPublicKeyInfo public key),
 * e.g. from `mmdx audit keygen` or `openssl genpkey -algorithm ed25519`.
 * A private key file readable by group or others is refused (MMDX_EPERM).
 * Thread-safe; no global state.
 */
#ifndef MMDX_AUDIT_CHECKPOINT_H
#define MMDX_AUDIT_CHECKPOINT_H

#include <stdint.h>

#include "mmdx/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mmdx_checkpoint {
    char origin[80];
    uint64_t size;
    uint8_t root[32];
    int64_t time_us;      /**< microseconds since 1970-01-01 UTC */
    char key_id[65];      /**< hex SHA-256 of the raw public key */
    uint8_t signature[64];
} mmdx_checkpoint;

/**
 * Sign: fills key_id and signature from origin, size, root and time_us.
 * Errors: MMDX_ENOTFOUND, MMDX_EPERM (key file mode), MMDX_EFORMAT (not an
 * Ed25519 private key), MMDX_ERROR (OpenSSL).
 */
MMDX_RESULT_USED int mmdx_checkpoint_sign(mmdx_checkpoint *cp, const char *private_key_path);

/**
 * Check the signature with a public key (or private key) PEM file.
 * Errors: MMDX_EINTEGRITY (wrong key or bad signature: the checkpoint was
 * forged or altered), MMDX_ENOTFOUND, MMDX_EFORMAT.
 */
MMDX_RESULT_USED int mmdx_checkpoint_verify(const mmdx_checkpoint *cp, const char *public_key_path);

/** The text form, malloc'd (free()). Errors: MMDX_ENOMEM. */
MMDX_RESULT_USED int mmdx_checkpoint_format(const mmdx_checkpoint *cp, char **text);

/**
 * Parse the text form; `name` (file name) is used in messages, which give
 * the line. Does not check the signature. Errors: MMDX_EFORMAT.
 */
MMDX_RESULT_USED int mmdx_checkpoint_parse(mmdx_checkpoint *cp, const char *text, const char *name);

/** Read and parse a checkpoint file. Errors: MMDX_ENOTFOUND, MMDX_EIO, MMDX_EFORMAT. */
MMDX_RESULT_USED int mmdx_checkpoint_load(mmdx_checkpoint *cp, const char *path);

/**
 * Create an Ed25519 key pair: the private key (PKCS#8 PEM, mode 0600,
 * created exclusively: an existing file is never overwritten, MMDX_EEXISTS)
 * and the public key (PEM). Errors: MMDX_EIO, MMDX_EEXISTS.
 */
MMDX_RESULT_USED int mmdx_checkpoint_keygen(const char *private_key_path, const char *public_key_path);

#ifdef __cplusplus
}
#endif

#endif
