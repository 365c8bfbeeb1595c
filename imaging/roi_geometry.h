/*
 * imaging/roi_geometry.h — patient coordinates to voxel indices (private to
 * the ROI readers).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_IMAGING_ROI_GEOMETRY_H
#define MMDX_IMAGING_ROI_GEOMETRY_H

#include "volume.h"

/* Continuous voxel coordinates of a point (mm, LPS): idx[c] is the position
 * along axis c in voxels, voxel centres at integers. The grid's axes are
 * orthonormal, so projecting onto each axis inverts the affine map. */
static inline void mmdx_roi__to_index(const mmdx_grid *g, const double *p, double *idx)
{
    double d[3] = {p[0] - g->origin[0], p[1] - g->origin[1], p[2] - g->origin[2]};
    for (int c = 0; c < 3; c++)
        idx[c] = (d[0] * g->direction[0 * 3 + c] + d[1] * g->direction[1 * 3 + c] +
                  d[2] * g->direction[2 * 3 + c]) /
                 g->spacing[c];
}

#endif
