/*
 * imaging/radiomics/hull.h — 3-D convex hull of a point set.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_RADIOMICS_HULL_H
#define MMDX_RADIOMICS_HULL_H

#include <stddef.h>

typedef struct rad_hull {
    double volume, area;  /* NaN when the points are flat (no 3-D hull) */
    double diameter;      /* largest distance between two points */
} rad_hull;

/* Hull of n points (3*n coordinates). Returns 0 or MMDX_ENOMEM. */
int rad_hull_compute(rad_hull *h, const double *pts, size_t n);

#endif
