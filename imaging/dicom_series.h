/*
 * imaging/dicom_series.h — a DICOM file, multi-frame object or series folder
 * as one volume in patient space.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Input: one file (single- or multi-frame), or a folder (searched
 * recursively) holding one image series. In a folder, files that are not
 * DICOM, DICOMDIRs, objects without pixel data (RTSTRUCT, SR, ...) and
 * Segmentations are skipped; the remaining images must form one series
 * (several are refused with the list of SeriesInstanceUIDs unless
 * `series_uid` picks one).
 *
 * Slices are sorted along the slice normal (the cross product of the two
 * Image Orientation (Patient) cosines) by their Image Position (Patient).
 * Every slice must have the same size, pixel format, Pixel Spacing and
 * orientation, lie on the normal through the first (no gantry tilt), at
 * distinct positions with an even spacing (within 1 % or 0.01 mm): a
 * missing slice is an error, not a silent gap.
 *
 * Values: stored values are masked to Bits Stored, sign-extended when
 * Pixel Representation is 1, MONOCHROME1 is inverted within the stored range
 * (v' = min + max - v, so that brighter means higher as in MONOCHROME2), and
 * the Modality LUT is applied: Rescale Slope/Intercept (per frame for
 * enhanced objects; CT gives HU), or else the Modality LUT Sequence.
 * Colour images become one grey channel: RGB as luma (0.299 R + 0.587 G +
 * 0.114 B, ITU-R BT.601), YBR_FULL and YBR_FULL_422 as their Y component
 * (JPEG-compressed YBR is decoded to RGB by DCMTK first, then as RGB).
 * PALETTE COLOR and other colour models are refused (MMDX_EUNSUPPORTED).
 *
 * Geometry (mm, DICOM LPS): x along a row (Pixel Spacing's second value), y
 * down the columns, z along the normal; origin at the centre of the first
 * voxel. Without Image Orientation (Patient) the axes are the patient axes;
 * without Image Position (Patient) the origin is 0; without Pixel Spacing,
 * Imager Pixel Spacing is used, else 1 mm (flagged in the info). The slice
 * spacing of a single slice is its Slice Thickness (else 1 mm).
 */
#ifndef MMDX_IMAGING_DICOM_SERIES_H
#define MMDX_IMAGING_DICOM_SERIES_H

#include <stddef.h>

#include "mmdx/common.h"
#include "volume.h"

/** Options of mmdx_dicom_read_volume(); zero-initialise. */
typedef struct mmdx_dicom_read_options {
    const char *series_uid; /**< pick this series in a folder holding several; NULL or "": refuse */
    int n_threads;          /**< threads decoding slices (<= 1: one) */
    size_t max_voxels;      /**< refuse a larger volume before allocating it (0: MMDX_IMAGING_DEFAULT_MAX_VOXELS) */
} mmdx_dicom_read_options;

/** What was read (for reports and for matching masks to the image). */
typedef struct mmdx_dicom_volume_info {
    char series_uid[72];
    char frame_of_reference_uid[72];
    char modality[24];
    char photometric[24];          /**< as stored (before any colour conversion) */
    char transfer_syntax[72];      /**< of the first slice */
    size_t n_objects;              /**< DICOM objects (files) making up the volume */
    size_t n_skipped;              /**< files of a folder skipped (not DICOM, no pixels, SEG, DICOMDIR) */
    int rescaled;                  /**< a Rescale or Modality LUT was applied */
    int inverted;                  /**< MONOCHROME1 was inverted */
    int colour;                    /**< colour converted to grey */
    int spacing_assumed;           /**< no Pixel Spacing: 1 mm assumed */
} mmdx_dicom_volume_info;

/**
 * Read a volume. `opt` and `info` may be NULL. On success *out is owned by
 * the caller (mmdx_volume_free).
 * Errors (last error names the file and the tag): MMDX_ENOTFOUND (no such
 * path; a folder without any DICOM image), MMDX_EFORMAT (not DICOM,
 * truncated, no pixel data, inconsistent series, several series without a
 * choice, unknown series_uid), MMDX_EUNSUPPORTED (transfer syntax or colour
 * model this build cannot decode), MMDX_EIO, MMDX_ENOMEM.
 * Thread-safety: reentrant.
 */
MMDX_RESULT_USED int mmdx_dicom_read_volume(mmdx_volume **out, mmdx_dicom_volume_info *info,
                                            const char *path, const mmdx_dicom_read_options *opt);

/**
 * Read one DICOM object held in memory (single- or multi-frame), as
 * mmdx_dicom_read_volume() reads a file. `name` is used in messages.
 */
MMDX_RESULT_USED int mmdx_dicom_read_memory(mmdx_volume **out, mmdx_dicom_volume_info *info, const void *data,
                                            size_t len, const char *name);

#endif
