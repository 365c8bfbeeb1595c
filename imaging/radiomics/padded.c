/*
 * imaging/radiomics/padded.c — grey levels with a zero border for the
 * texture kernels (rad_internal.h, rad_padded).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "rad_internal.h"

void rad_padded_release(rad_padded *p)
{
    free(p->gl);
    free(p->vox);
    free(p->slice);
    memset(p, 0, sizeof *p);
}

int rad_padded_build(rad_padded *p, const rad_roi *roi, size_t border)
{
    memset(p, 0, sizeof *p);
    const size_t b = border;
    p->border = b;
    p->px = roi->nx + 2 * b;
    p->py = roi->ny + 2 * b;
    p->pz = roi->nz + 2 * b;
    p->gl = calloc(p->px * p->py * p->pz, sizeof *p->gl);
    p->vox = malloc((roi->n_int ? roi->n_int : 1) * sizeof *p->vox);
    p->slice = malloc((roi->nz + 1) * sizeof *p->slice);
    if (!p->gl || !p->vox || !p->slice) {
        rad_padded_release(p);
        return MMDX_ENOMEM;
    }
    size_t c = 0;
    for (size_t k = 0; k < roi->nz; k++) {
        p->slice[k] = c;
        for (size_t j = 0; j < roi->ny; j++) {
            const int32_t *src = roi->gl + roi->nx * (j + roi->ny * k);
            const size_t row = b + p->px * ((j + b) + p->py * (k + b));
            memcpy(p->gl + row, src, roi->nx * sizeof *src);
            for (size_t i = 0; i < roi->nx; i++)
                if (src[i] && c < roi->n_int)
                    p->vox[c++] = row + i;
        }
    }
    p->slice[roi->nz] = c;
    p->nvox = c;
    return 0;
}
