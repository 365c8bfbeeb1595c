/*
 * imaging/roi_rtstruct.c — an RT Structure Set ROI rasterised on the image grid.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Rule: each CLOSED_PLANAR contour is mapped to voxel coordinates; it must
 * lie on one image slice (all points within 0.1 voxel of the slice's plane).
 * A voxel is inside a contour when its centre is inside the polygon by the
 * even-odd rule, scanned row by row with half-open crossings (a centre on a
 * left edge is in, on a right edge out), so that two contours sharing an
 * edge never both claim a voxel. Contours of one slice are combined by XOR:
 * a contour drawn inside another is a hole, as DICOM RT intends. POINT and
 * OPEN_PLANAR contours carry no area and are ignored.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dicom.h"
#include "error.h"
#include "roi.h"
#include "roi_geometry.h"

#define SLICE_TOLERANCE 0.1 /* voxels */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int has_area(const mmdx_rt_roi *roi)
{
    for (size_t i = 0; i < roi->n_contours; i++)
        if (strcmp(roi->contours[i].geometric_type, "CLOSED_PLANAR") == 0 && roi->contours[i].n_points >= 3)
            return 1;
    return 0;
}

static void list_names(const mmdx_rtstruct *rs, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < rs->n_rois; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s'%s'%s", i ? ", " : "", rs->rois[i].name,
                 has_area(&rs->rois[i]) ? "" : " (no closed contour)");
    }
}

static int pick_roi(const mmdx_rt_roi **out, const mmdx_rtstruct *rs, const char *path, const char *name)
{
    char names[800];
    list_names(rs, names, sizeof names);
    if (name && name[0]) {
        for (size_t i = 0; i < rs->n_rois; i++)
            if (strcmp(rs->rois[i].name, name) == 0) {
                *out = &rs->rois[i];
                return 0;
            }
        for (size_t i = 0; i < rs->n_rois; i++)
            if (strcasecmp(rs->rois[i].name, name) == 0) {
                *out = &rs->rois[i];
                return 0;
            }
        return mmdx_fail(MMDX_ENOTFOUND, "%s: no ROI named '%s' in (3006,0020) Structure Set ROI Sequence; it holds %s",
                         path, name, names);
    }
    const mmdx_rt_roi *found = NULL;
    size_t n = 0;
    for (size_t i = 0; i < rs->n_rois; i++)
        if (has_area(&rs->rois[i])) {
            found = &rs->rois[i];
            n++;
        }
    if (n == 1) {
        *out = found;
        return 0;
    }
    if (n == 0)
        return mmdx_fail(MMDX_EFORMAT, "%s: no ROI with a CLOSED_PLANAR contour; it holds %s", path, names);
    return mmdx_fail(MMDX_EINVAL, "%s: %zu ROIs have contours; choose one by name (roi, --roi): %s", path, n,
                     names);
}

/* XOR the polygon's inside into slice k of the mask. */
static int fill_polygon(mmdx_mask *m, size_t k, const double *ij, size_t n, double *xs)
{
    const mmdx_grid *g = &m->grid;
    uint8_t *slice = m->data + k * g->nx * g->ny;
    double ymin = INFINITY, ymax = -INFINITY;
    for (size_t p = 0; p < n; p++) {
        ymin = fmin(ymin, ij[2 * p + 1]);
        ymax = fmax(ymax, ij[2 * p + 1]);
    }
    long j0 = (long)ceil(ymin), j1 = (long)floor(ymax);
    if (j0 < 0)
        j0 = 0;
    if (j1 > (long)g->ny - 1)
        j1 = (long)g->ny - 1;
    for (long j = j0; j <= j1; j++) {
        double y = (double)j;
        size_t nx = 0;
        for (size_t p = 0; p < n; p++) {
            const double *a = ij + 2 * p, *b = ij + 2 * ((p + 1) % n);
            /* Half-open in y: a vertex on the scanline counts once. */
            if ((a[1] <= y && y < b[1]) || (b[1] <= y && y < a[1]))
                xs[nx++] = a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
        }
        qsort(xs, nx, sizeof *xs, cmp_double);
        for (size_t q = 0; q + 1 < nx; q += 2) {
            long i0 = (long)ceil(xs[q]), i1 = (long)ceil(xs[q + 1]) - 1;
            if (i0 < 0)
                i0 = 0;
            if (i1 > (long)g->nx - 1)
                i1 = (long)g->nx - 1;
            for (long i = i0; i <= i1; i++)
                slice[(size_t)j * g->nx + (size_t)i] ^= 1;
        }
    }
    return 0;
}

int mmdx_roi_from_rtstruct(mmdx_mask **out, const char *path, const char *roi_name, const mmdx_grid *grid,
                           const char *frame_of_reference_uid)
{
    *out = NULL;
    mmdx_rtstruct *rs = NULL;
    int rc = mmdx_rtstruct_read(&rs, path);
    if (rc < 0)
        return rc;
    const mmdx_rt_roi *roi = NULL;
    mmdx_mask *m = NULL;
    double *ij = NULL, *xs = NULL;
    if ((rc = pick_roi(&roi, rs, path, roi_name)) < 0)
        goto done;
    const char *roi_for = roi->frame_of_reference_uid[0] ? roi->frame_of_reference_uid : rs->frame_of_reference_uid;
    if (frame_of_reference_uid && frame_of_reference_uid[0] && roi_for[0] &&
        strcmp(frame_of_reference_uid, roi_for) != 0) {
        rc = mmdx_fail(MMDX_EFORMAT,
                       "%s: ROI '%s' is drawn in frame of reference %s (3006,0024), the image is in %s (0020,0052): "
                       "mask and image do not belong together",
                       path, roi->name, roi_for, frame_of_reference_uid);
        goto done;
    }
    if (!has_area(roi)) {
        rc = mmdx_fail(MMDX_EFORMAT, "%s: ROI '%s' has no CLOSED_PLANAR contour (3006,0042) with 3 or more points",
                       path, roi->name);
        goto done;
    }
    if ((rc = mmdx_mask_new(&m, grid)) < 0) {
        rc = mmdx_fail(rc, "%s: cannot allocate the mask", path);
        goto done;
    }
    size_t maxpts = 0;
    for (size_t c = 0; c < roi->n_contours; c++)
        if (roi->contours[c].n_points > maxpts)
            maxpts = roi->contours[c].n_points;
    ij = malloc(2 * maxpts * sizeof *ij);
    xs = malloc((maxpts + 1) * sizeof *xs);
    if (!ij || !xs) {
        rc = mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    /* Contours are XORed per slice, but each slice's contours must be
     * combined among themselves only: fill into the mask directly (XOR is
     * per voxel, so order does not matter). */
    for (size_t c = 0; c < roi->n_contours; c++) {
        const mmdx_rt_contour *ct = &roi->contours[c];
        if (strcmp(ct->geometric_type, "CLOSED_PLANAR") != 0 || ct->n_points < 3)
            continue;
        double kmin = INFINITY, kmax = -INFINITY;
        for (size_t p = 0; p < ct->n_points; p++) {
            double idx[3];
            mmdx_roi__to_index(grid, ct->points + 3 * p, idx);
            ij[2 * p] = idx[0];
            ij[2 * p + 1] = idx[1];
            kmin = fmin(kmin, idx[2]);
            kmax = fmax(kmax, idx[2]);
        }
        double kc = 0.5 * (kmin + kmax), kr = round(kc);
        if (kmax - kmin > 2 * SLICE_TOLERANCE || fabs(kc - kr) > SLICE_TOLERANCE) {
            rc = mmdx_fail(MMDX_EFORMAT,
                           "%s: ROI '%s': contour %zu (3006,0050) does not lie on an image slice (slice index "
                           "%.2f..%.2f): mask and image grids differ",
                           path, roi->name, c + 1, kmin, kmax);
            goto done;
        }
        if (kr < 0 || kr > (double)grid->nz - 1) {
            rc = mmdx_fail(MMDX_EFORMAT,
                           "%s: ROI '%s': contour %zu (3006,0050) lies on slice %.0f, outside the image's %zu "
                           "slices",
                           path, roi->name, c + 1, kr, grid->nz);
            goto done;
        }
        fill_polygon(m, (size_t)kr, ij, ct->n_points, xs);
    }
    size_t n_in = 0, n = mmdx_grid_count(grid);
    for (size_t v = 0; v < n; v++)
        n_in += m->data[v];
    if (n_in == 0) {
        rc = mmdx_fail(MMDX_EFORMAT, "%s: ROI '%s' covers no voxel centre of the image", path, roi->name);
        goto done;
    }
done:
    free(ij);
    free(xs);
    mmdx_rtstruct_free(rs);
    if (rc < 0) {
        mmdx_mask_free(m);
        return rc;
    }
    *out = m;
    return 0;
}
