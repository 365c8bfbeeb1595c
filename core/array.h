/*
 * core/array.h — growing a C array: one helper instead of a realloc-and-double
 * block at every push.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_CORE_ARRAY_H
#define MMDX_CORE_ARRAY_H

#include <stddef.h>

/**
 * Make room for at least `need` elements of `size` bytes in the array whose
 * address is `*(void **)parray` and whose capacity (in elements) is `*cap`.
 * The capacity at least doubles (starting at `first`, or `need` when larger);
 * new elements are zeroed when `zero` is set. Returns 0, or MMDX_ENOMEM (also
 * on size overflow) leaving the array and capacity unchanged.
 *
 *   if (mmdx_array_reserve(&l->items, &l->cap, l->n + 1, sizeof *l->items, 16, 0) < 0)
 *       return MMDX_ENOMEM;
 */
int mmdx_array_reserve(void *parray, size_t *cap, size_t need, size_t size, size_t first, int zero);

#endif
