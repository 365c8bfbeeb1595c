/*
 * imaging/roi_seg.c — one segment of a DICOM Segmentation placed on the image grid.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dicom.h"
#include "error.h"
#include "roi.h"
#include "roi_geometry.h"

#define POSITION_TOLERANCE 0.1 /* voxels */

static int pick_segment(uint16_t *out, const mmdx_seg *s, const char *path, const char *label)
{
    char names[800] = "";
    for (size_t i = 0; i < s->n_segments; i++) {
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%u '%s'", i ? ", " : "", s->segments[i].number,
                 s->segments[i].label);
    }
    if (s->n_segments == 0)
        return mmdx_fail(MMDX_EFORMAT, "%s: (0062,0002) Segment Sequence is empty", path);
    if (label && label[0]) {
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < s->n_segments; i++)
                if ((pass == 0 ? strcmp : strcasecmp)(s->segments[i].label, label) == 0) {
                    *out = s->segments[i].number;
                    return 0;
                }
        return mmdx_fail(MMDX_ENOTFOUND, "%s: no segment labelled '%s' (0062,0005); it holds %s", path, label,
                         names);
    }
    if (s->n_segments > 1)
        return mmdx_fail(MMDX_EINVAL, "%s: %zu segments; choose one by label (roi, --roi): %s", path,
                         s->n_segments, names);
    *out = s->segments[0].number;
    return 0;
}

int mmdx_roi_from_seg(mmdx_mask **out, const char *path, const char *segment_label, const mmdx_grid *grid,
                      const char *frame_of_reference_uid)
{
    *out = NULL;
    mmdx_seg *s = NULL;
    int rc = mmdx_seg_read(&s, path);
    if (rc < 0)
        return rc;
    mmdx_mask *m = NULL;
    uint16_t want = 0;
    if ((rc = pick_segment(&want, s, path, segment_label)) < 0)
        goto done;
    if (frame_of_reference_uid && frame_of_reference_uid[0] && s->frame_of_reference_uid[0] &&
        strcmp(frame_of_reference_uid, s->frame_of_reference_uid) != 0) {
        rc = mmdx_fail(MMDX_EFORMAT,
                       "%s: the segmentation is in frame of reference %s (0020,0052), the image in %s: mask and "
                       "image do not belong together",
                       path, s->frame_of_reference_uid, frame_of_reference_uid);
        goto done;
    }
    if (s->columns != grid->nx || s->rows != grid->ny) {
        rc = mmdx_fail(MMDX_EFORMAT,
                       "%s: frames of %ux%u (0028,0011)x(0028,0010) but the image is %zux%zu: mask on another grid",
                       path, s->columns, s->rows, grid->nx, grid->ny);
        goto done;
    }
    if (s->has_spacing && (fabs(s->spacing[1] - grid->spacing[0]) > 1e-3 * grid->spacing[0] ||
                           fabs(s->spacing[0] - grid->spacing[1]) > 1e-3 * grid->spacing[1])) {
        rc = mmdx_fail(MMDX_EFORMAT,
                       "%s: (0028,0030) Pixel Spacing %g\\%g differs from the image's %g\\%g: mask on another grid",
                       path, s->spacing[0], s->spacing[1], grid->spacing[1], grid->spacing[0]);
        goto done;
    }
    if (s->has_orientation) {
        for (int r = 0; r < 3; r++)
            if (fabs(s->orientation[r] - grid->direction[r * 3 + 0]) > 1e-3 ||
                fabs(s->orientation[3 + r] - grid->direction[r * 3 + 1]) > 1e-3) {
                rc = mmdx_fail(MMDX_EFORMAT,
                               "%s: (0020,0037) Image Orientation (Patient) differs from the image's: mask on "
                               "another grid",
                               path);
                goto done;
            }
    }
    if ((rc = mmdx_mask_new(&m, grid)) < 0) {
        rc = mmdx_fail(rc, "%s: cannot allocate the mask", path);
        goto done;
    }
    size_t px = grid->nx * grid->ny, n_in = 0;
    for (size_t f = 0; f < s->n_frames; f++) {
        const mmdx_seg_frame *fr = &s->frames[f];
        if (fr->segment != want)
            continue;
        size_t k = 0;
        if (fr->has_position) {
            double idx[3];
            mmdx_roi__to_index(grid, fr->position, idx);
            double kr = round(idx[2]);
            if (fabs(idx[0]) > POSITION_TOLERANCE || fabs(idx[1]) > POSITION_TOLERANCE ||
                fabs(idx[2] - kr) > POSITION_TOLERANCE || kr < 0 || kr > (double)grid->nz - 1) {
                rc = mmdx_fail(MMDX_EFORMAT,
                               "%s: frame %zu: (0020,0032) Image Position (Patient) %.2f\\%.2f\\%.2f is not on a "
                               "slice of the image (voxel %.2f, %.2f, %.2f): mask on another grid",
                               path, f + 1, fr->position[0], fr->position[1], fr->position[2], idx[0], idx[1],
                               idx[2]);
                goto done;
            }
            k = (size_t)kr;
        } else if (grid->nz == 1) {
            k = 0;
        } else {
            rc = mmdx_fail(MMDX_EFORMAT,
                           "%s: frame %zu has no (0020,0032) Image Position (Patient): cannot place it on the "
                           "%zu-slice image",
                           path, f + 1, grid->nz);
            goto done;
        }
        uint8_t *dst = m->data + k * px;
        for (size_t p = 0; p < px; p++)
            if (fr->pixels[p] && !dst[p]) {
                dst[p] = 1;
                n_in++;
            }
    }
    if (n_in == 0)
        rc = mmdx_fail(MMDX_EFORMAT, "%s: segment %u is empty on this image", path, want);
done:
    mmdx_seg_free(s);
    if (rc < 0) {
        mmdx_mask_free(m);
        return rc;
    }
    *out = m;
    return 0;
}
