/*
 * core/site_key.h — the site key: one secret per hospital site, from which
 * mmdx derives a separate key per purpose (model signatures, audit-event
 * HMACs, patient pseudonyms), so that a value made for one purpose can never
 * pass for another.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The key file holds either hex text (e.g. `openssl rand -hex 32 > site.key`,
 * one line) or raw bytes; at least 32 bytes of key either way. It must be a
 * regular file readable only by its owner (chmod 600), or it is refused. The
 * key is wiped from memory when freed and never appears in a message.
 */
#ifndef MMDX_CORE_SITE_KEY_H
#define MMDX_CORE_SITE_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

typedef struct mmdx_site_key mmdx_site_key;

/** Minimum key length in bytes (after hex decoding). */
#define MMDX_SITE_KEY_MIN 32

/* Purposes (labels of the derivation; part of the on-disk formats: never change). */
#define MMDX_KEY_PURPOSE_MODEL "mmdx model signature v1"
#define MMDX_KEY_PURPOSE_AUDIT "mmdx audit event hmac v1"
#define MMDX_KEY_PURPOSE_PSEUDONYM "mmdx patient pseudonym v1"

/**
 * Read a key file. Errors (the path named, never the content):
 * MMDX_ENOTFOUND, MMDX_EIO (unreadable, not a regular file), MMDX_EPERM
 * (group or others may read or write it), MMDX_EFORMAT (empty, too short,
 * longer than 4 KiB, bad hex).
 */
MMDX_RESULT_USED int mmdx_site_key_read(mmdx_site_key **out, const char *path);

/** Wipe and free. NULL is a no-op. */
void mmdx_site_key_free(mmdx_site_key *k);

/** The key for one purpose: HMAC-SHA-256(site key, purpose label). */
MMDX_RESULT_USED int mmdx_site_key_derive(const mmdx_site_key *k, const char *purpose,
                                          uint8_t out[MMDX_SHA256_LEN]);

#endif
