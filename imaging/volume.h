/*
 * imaging/volume.h — a 3-D image or mask on a grid in patient space.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The common currency of the imaging module: the DICOM/NIfTI readers produce
 * it, the ROI code produces masks on the same grid, the radiomics code
 * consumes both.
 */
#ifndef MMDX_IMAGING_VOLUME_H
#define MMDX_IMAGING_VOLUME_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"

/**
 * Geometry of a voxel grid. Voxel (i, j, k) is stored at i + nx*(j + ny*k):
 * i runs along a row (DICOM columns), j down the rows, k across slices.
 * Its centre in patient coordinates (DICOM LPS, mm) is
 * origin + i*spacing[0]*dir_x + j*spacing[1]*dir_y + k*spacing[2]*dir_z,
 * where dir_x, dir_y, dir_z are the columns of `direction` (row-major 3x3).
 */
typedef struct mmdx_grid {
    size_t nx, ny, nz;
    double spacing[3];   /* mm */
    double origin[3];    /* mm, centre of voxel (0,0,0) */
    double direction[9]; /* row-major; column c is the unit vector of axis c */
} mmdx_grid;

/** An intensity image (CT in HU after rescale). */
typedef struct mmdx_volume {
    mmdx_grid grid;
    float *data;         /* nx*ny*nz values, owned (free with mmdx_volume_free) */
} mmdx_volume;

/** A binary mask (0/1) on a grid. */
typedef struct mmdx_mask {
    mmdx_grid grid;
    uint8_t *data;       /* nx*ny*nz, owned (free with mmdx_mask_free) */
} mmdx_mask;

/**
 * The largest image the readers accept unless configured otherwise
 * (`[imaging] max_voxels`): 2^29 voxels, 2 GiB as float (a 512 x 512 x 2048
 * CT). A header may declare far more than its file holds (65535 x 65535 x
 * 10000 frames); such an image is refused before anything of its size is
 * allocated.
 */
#define MMDX_IMAGING_DEFAULT_MAX_VOXELS ((size_t)1 << 29)

/** Number of voxels of a grid. */
static inline size_t mmdx_grid_count(const mmdx_grid *g) { return g->nx * g->ny * g->nz; }

/** Allocate a volume / mask on a grid (data zeroed). Errors: MMDX_ENOMEM, MMDX_EINVAL (empty grid). */
MMDX_RESULT_USED int mmdx_volume_new(mmdx_volume **out, const mmdx_grid *grid);
MMDX_RESULT_USED int mmdx_mask_new(mmdx_mask **out, const mmdx_grid *grid);
void mmdx_volume_free(mmdx_volume *v);
void mmdx_mask_free(mmdx_mask *m);

/**
 * Whether two grids coincide (same size; spacing, origin within `tol_mm`;
 * direction cosines within 1e-4). Used to refuse a mask on another grid.
 */
int mmdx_grid_same(const mmdx_grid *a, const mmdx_grid *b, double tol_mm);

#endif
