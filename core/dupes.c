/* SPDX-License-Identifier: Apache-2.0 */
#include "dupes.h"

#include <stdlib.h>
#include <string.h>

typedef struct id_pos {
    const char *id;
    size_t pos;
} id_pos;

static int cmp_id_pos(const void *a, const void *b)
{
    const id_pos *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->pos < y->pos ? -1 : x->pos > y->pos);
}

int mmdx_find_duplicate(const char *const *ids, size_t n, size_t *first, size_t *second)
{
    if (n < 2)
        return 0;
    id_pos *v = malloc(n * sizeof *v);
    if (!v)
        return MMDX_ENOMEM;
    for (size_t i = 0; i < n; i++)
        v[i] = (id_pos){ids[i], i};
    qsort(v, n, sizeof *v, cmp_id_pos);
    int found = 0;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(v[i - 1].id, v[i].id) == 0 && (!found || v[i].pos < *second)) {
            /* v[i-1] is the earliest of its run only at the run's start; walk back to it. */
            size_t k = i - 1;
            while (k > 0 && strcmp(v[k - 1].id, v[i].id) == 0)
                k--;
            *first = v[k].pos;
            *second = v[k + 1].pos;
            found = 1;
        }
    }
    free(v);
    return found;
}
