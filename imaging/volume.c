/* SPDX-License-Identifier: Apache-2.0 */
#include "volume.h"

#include <math.h>
#include <stdlib.h>

static int grid_valid(const mmdx_grid *g)
{
    if (!g || g->nx == 0 || g->ny == 0 || g->nz == 0)
        return 0;
    /* Refuse sizes whose voxel count would overflow a size_t (times 4 bytes). */
    if (g->nx > SIZE_MAX / 8 / g->ny || g->nx * g->ny > SIZE_MAX / 8 / g->nz)
        return 0;
    return 1;
}

int mmdx_volume_new(mmdx_volume **out, const mmdx_grid *grid)
{
    *out = NULL;
    if (!grid_valid(grid))
        return MMDX_EINVAL;
    mmdx_volume *v = malloc(sizeof *v);
    if (!v)
        return MMDX_ENOMEM;
    v->grid = *grid;
    v->data = calloc(mmdx_grid_count(grid), sizeof *v->data);
    if (!v->data) {
        free(v);
        return MMDX_ENOMEM;
    }
    *out = v;
    return MMDX_OK;
}

int mmdx_mask_new(mmdx_mask **out, const mmdx_grid *grid)
{
    *out = NULL;
    if (!grid_valid(grid))
        return MMDX_EINVAL;
    mmdx_mask *m = malloc(sizeof *m);
    if (!m)
        return MMDX_ENOMEM;
    m->grid = *grid;
    m->data = calloc(mmdx_grid_count(grid), 1);
    if (!m->data) {
        free(m);
        return MMDX_ENOMEM;
    }
    *out = m;
    return MMDX_OK;
}

void mmdx_volume_free(mmdx_volume *v)
{
    if (!v)
        return;
    free(v->data);
    free(v);
}

void mmdx_mask_free(mmdx_mask *m)
{
    if (!m)
        return;
    free(m->data);
    free(m);
}

int mmdx_grid_same(const mmdx_grid *a, const mmdx_grid *b, double tol_mm)
{
    if (a->nx != b->nx || a->ny != b->ny || a->nz != b->nz)
        return 0;
    for (int i = 0; i < 3; i++) {
        /* A single-slice grid has no meaningful slice spacing. */
        if (!(i == 2 && a->nz == 1) && fabs(a->spacing[i] - b->spacing[i]) > tol_mm)
            return 0;
        if (fabs(a->origin[i] - b->origin[i]) > tol_mm)
            return 0;
    }
    for (int i = 0; i < 9; i++)
        if (fabs(a->direction[i] - b->direction[i]) > 1e-4)
            return 0;
    return 1;
}
