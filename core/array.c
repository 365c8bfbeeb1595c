/* SPDX-License-Identifier: Apache-2.0 */
#include "array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mmdx/common.h"

int mmdx_array_reserve(void *parray, size_t *cap, size_t need, size_t size, size_t first, int zero)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : (first ? first : 1);
    while (nc < need) {
        if (nc > SIZE_MAX / 2)
            return MMDX_ENOMEM;
        nc *= 2;
    }
    if (size && nc > SIZE_MAX / size)
        return MMDX_ENOMEM;
    void **slot = parray;
    char *p = realloc(*slot, nc * size);
    if (!p)
        return MMDX_ENOMEM;
    if (zero)
        memset(p + *cap * size, 0, (nc - *cap) * size);
    *slot = p;
    *cap = nc;
    return 0;
}
