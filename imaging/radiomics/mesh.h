/*
 * imaging/radiomics/mesh.h — closed triangle mesh of a binary mask.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_RADIOMICS_MESH_H
#define MMDX_RADIOMICS_MESH_H

#include <stddef.h>
#include <stdint.h>

typedef struct rad_mesh {
    double *v;        /* 3*nv vertex coordinates, mm */
    size_t nv;
    uint32_t *tri;    /* 3*nt vertex indices, counter-clockwise seen from outside */
    size_t nt;
    double area;      /* mm^2 */
    double volume;    /* mm^3, from the divergence theorem */
} rad_mesh;

/*
 * Marching cubes at level 0.5 on a binary mask (nx*ny*nz, i fastest) padded
 * with zeros; sp = voxel spacing in mm. Vertices sit at the midpoints of
 * the edges between inside and outside voxel centres. On faces whose inside
 * corners lie diagonally, the inside corners are kept apart (consistently
 * for both cubes sharing the face, so the mesh is closed and oriented).
 * Returns 0 or MMDX_ENOMEM.
 */
int rad_mesh_build(rad_mesh *m, const uint8_t *mask, size_t nx, size_t ny, size_t nz, const double sp[3]);
void rad_mesh_release(rad_mesh *m);

#endif
