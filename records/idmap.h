/*
 * records/idmap.h — a string-keyed hash map to indices (resource ids,
 * references, codes). Keys are copied; open addressing, grows at 70 % load.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Thread-safety: concurrent lookups are safe; insertion needs exclusive access.
 */
#ifndef MMDX_RECORDS_IDMAP_H
#define MMDX_RECORDS_IDMAP_H

#include <stddef.h>

#include "mmdx/common.h"

typedef struct mmdx_idmap mmdx_idmap;

/** New empty map; NULL on ENOMEM. Free with mmdx_idmap_free(). */
mmdx_idmap *mmdx_idmap_new(void);
void mmdx_idmap_free(mmdx_idmap *m);

/**
 * Insert `key` -> `value` unless the key is present. Returns 1 when inserted,
 * 0 when the key was already there (*existing, when not NULL, receives its
 * value), MMDX_ENOMEM on allocation failure.
 */
MMDX_RESULT_USED int mmdx_idmap_put(mmdx_idmap *m, const char *key, size_t value, size_t *existing);

/** Look a key up: 1 and *value when found, 0 otherwise. */
int mmdx_idmap_get(const mmdx_idmap *m, const char *key, size_t *value);

/**
 * Iterate: slots 0..mmdx_idmap_slots()-1; mmdx_idmap_slot() returns 1 and the
 * key (borrowed) and value of an occupied slot, 0 for an empty one.
 */
size_t mmdx_idmap_slots(const mmdx_idmap *m);
int mmdx_idmap_slot(const mmdx_idmap *m, size_t i, const char **key, size_t *value);

/** Number of keys. */
size_t mmdx_idmap_count(const mmdx_idmap *m);

#endif
