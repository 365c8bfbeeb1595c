/*
 * imaging/roi.h — the region of interest: a mask on the image's grid.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Sources, chosen by the file:
 *   - a NIfTI-1 file (.nii, .nii.gz, .hdr): voxels >= 0.5 are inside
 *     (nifti_io.h); its grid must coincide with the image's;
 *   - a DICOM Segmentation (dcmseg): one segment, by label when the object
 *     holds several; each frame is placed on the image slice at its Image
 *     Position (Patient);
 *   - a DICOM RT Structure Set (dcmrt): one ROI, by name when the set holds
 *     several; its CLOSED_PLANAR contours are rasterised on the image grid
 *     (see roi_rtstruct.c for the rule).
 * DICOM masks must share the image's Frame of Reference UID (when both give
 * one), orientation and pixel spacing, and every frame or contour must lie on
 * an image slice.
 *
 * Without a mask, mmdx_roi_auto() derives one: Otsu's threshold on a
 * 256-bin histogram of the whole volume, the voxels above it, and of those
 * the largest 26-connected component (in 3-D; 8-connected for one slice).
 * A constant image has no threshold: its whole extent is the region.
 *
 * Errors leave a message naming the mask file and the tag or ROI at fault in
 * the thread's last error. Thread-safety: reentrant.
 */
#ifndef MMDX_IMAGING_ROI_H
#define MMDX_IMAGING_ROI_H

#include "mmdx/common.h"
#include "volume.h"

/**
 * Load a mask for `image` from `path`. `roi_name` selects the segment label
 * or structure name (NULL or "": the only one there is; several without a
 * name are refused with their list). `frame_of_reference_uid` is the
 * image's (may be NULL or "" when unknown, e.g. NIfTI images).
 * On success *out is owned by the caller (mmdx_mask_free), on image's grid.
 * Errors: MMDX_ENOTFOUND (no such file; no ROI of that name), MMDX_EFORMAT
 * (unreadable mask; another grid or frame of reference; a contour off the
 * slices; an empty mask), MMDX_EUNSUPPORTED, MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_roi_load(mmdx_mask **out, const char *path, const char *roi_name,
                                   const mmdx_volume *image, const char *frame_of_reference_uid);

/** Whether a path names a NIfTI file (by its extension). */
int mmdx_roi_is_nifti(const char *path);

/**
 * The automatic foreground mask described above. Errors: MMDX_EFORMAT when
 * no voxel value is finite, MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_roi_auto(mmdx_mask **out, const mmdx_volume *image);

/** Otsu's threshold of the values of `image` (256 bins between min and max); NaN when constant. */
double mmdx_roi_otsu_threshold(const mmdx_volume *image);

/** Keep only the largest 26-connected component of a mask (in place). Returns its voxel count, or MMDX_ENOMEM. */
MMDX_RESULT_USED long mmdx_roi_largest_component(mmdx_mask *mask);

/* Used by mmdx_roi_load; exposed for tests. */
MMDX_RESULT_USED int mmdx_roi_from_rtstruct(mmdx_mask **out, const char *path, const char *roi_name,
                                            const mmdx_grid *grid, const char *frame_of_reference_uid);
MMDX_RESULT_USED int mmdx_roi_from_seg(mmdx_mask **out, const char *path, const char *segment_label,
                                       const mmdx_grid *grid, const char *frame_of_reference_uid);

#endif
