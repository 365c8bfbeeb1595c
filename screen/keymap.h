/*
 * screen/keymap.h — a map from patient identifiers (strings) to indexes, for
 * the tens of thousands of lookups a resumed screening makes.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_SCREEN_KEYMAP_H
#define MMDX_SCREEN_KEYMAP_H

#include <stddef.h>

#include "mmdx/common.h"

typedef struct mmdx_keymap mmdx_keymap;

MMDX_RESULT_USED int mmdx_keymap_new(mmdx_keymap **out);
void mmdx_keymap_free(mmdx_keymap *m);

/** Set key -> value (the key is copied; an existing key's value is replaced). Errors: MMDX_ENOMEM. */
MMDX_RESULT_USED int mmdx_keymap_put(mmdx_keymap *m, const char *key, size_t value);

/** The value of key in *value; 1 when found, 0 when not. */
int mmdx_keymap_get(const mmdx_keymap *m, const char *key, size_t *value);

/** Number of keys. */
size_t mmdx_keymap_count(const mmdx_keymap *m);

#endif
