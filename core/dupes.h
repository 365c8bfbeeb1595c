/*
 * core/dupes.h — finding a repeated identifier in a list.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_CORE_DUPES_H
#define MMDX_CORE_DUPES_H

#include <stddef.h>

#include "mmdx/common.h"

/**
 * Look for two equal strings among ids[0..n). Returns 1 and sets *first <
 * *second to the positions of the earliest repeated pair (by second
 * occurrence), 0 when all differ, MMDX_ENOMEM on allocation failure.
 * O(n log n).
 */
MMDX_RESULT_USED int mmdx_find_duplicate(const char *const *ids, size_t n, size_t *first,
                                         size_t *second);

#endif
