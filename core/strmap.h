/*
 * records/strmap.h — a string-keyed hash map to indices (resource ids,
 * references, codes). Keys are copied; open addressing, grows at 70 % load.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Thread-safety: concurrent lookups are safe; insertion needs exclusive access.
 */
#ifndef MMDX_CORE_STRMAP_H
#define MMDX_CORE_STRMAP_H

#include <stddef.h>

#include "mmdx/common.h"

typedef struct mmdx_strmap mmdx_strmap;

/** New empty map; NULL on ENOMEM. Free with mmdx_strmap_free(). */
mmdx_strmap *mmdx_strmap_new(void);
void mmdx_strmap_free(mmdx_strmap *m);

/**
 * Insert `key` -> `value` unless the key is present. Returns 1 when inserted,
 * 0 when the key was already there (*existing, when not NULL, receives its
 * value), MMDX_ENOMEM on allocation failure.
 */
MMDX_RESULT_USED int mmdx_strmap_put(mmdx_strmap *m, const char *key, size_t value, size_t *existing);

/** Set `key` -> `value`, replacing an existing value. 0, or MMDX_ENOMEM (message set). */
MMDX_RESULT_USED int mmdx_strmap_set(mmdx_strmap *m, const char *key, size_t value);

/** Look a key up: 1 and *value (when not NULL) when found, 0 otherwise. */
int mmdx_strmap_get(const mmdx_strmap *m, const char *key, size_t *value);

/**
 * Iterate: slots 0..mmdx_strmap_slots()-1; mmdx_strmap_slot() returns 1 and the
 * key (borrowed) and value of an occupied slot, 0 for an empty one.
 */
size_t mmdx_strmap_slots(const mmdx_strmap *m);
int mmdx_strmap_slot(const mmdx_strmap *m, size_t i, const char **key, size_t *value);

/** Number of keys. */
size_t mmdx_strmap_count(const mmdx_strmap *m);

#endif
