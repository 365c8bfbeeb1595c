/*
 * imaging/nifti_io.h — NIfTI-1 images and masks into mmdx volumes (nifticlib).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Geometry: the voxel-to-world transform is the sform when sform_code > 0,
 * else the qform when qform_code > 0, else the diagonal of pixdim (NIfTI
 * "method 1"). NIfTI world space is RAS+; mmdx grids are in DICOM LPS, so
 * the x and y world axes are negated. Spacing is the length of each column
 * of the transform, direction its unit vector. Intensities are scaled by
 * scl_slope/scl_inter when the slope is set (non-zero, finite).
 *
 * A 4-D file with more than one volume is refused (MMDX_EUNSUPPORTED), as
 * are complex and RGB data types. Voxel data shorter than the header
 * promises is an error (nifticlib itself would fill it with zeros).
 * Thread-safety: reentrant (nifticlib's reading functions keep no shared
 * state besides its debug level, which we never change).
 */
#ifndef MMDX_IMAGING_NIFTI_IO_H
#define MMDX_IMAGING_NIFTI_IO_H

#include "mmdx/common.h"
#include "volume.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Read a NIfTI-1 image (.nii, .nii.gz, .hdr/.img) into a new volume (float).
 * On success *out is owned by the caller (mmdx_volume_free).
 * Errors: MMDX_ENOTFOUND (no such file), MMDX_EFORMAT (not NIfTI-1, bad
 * header field: the message names it; truncated data), MMDX_EUNSUPPORTED
 * (data type, 4-D), MMDX_EIO, MMDX_ENOMEM. `err` may be NULL.
 */
MMDX_RESULT_USED int mmdx_nifti_read_volume(mmdx_volume **out, const char *path, mmdx_error *err);

/**
 * mmdx_nifti_read_volume() with a limit: an image of more than `max_voxels`
 * voxels (0: MMDX_IMAGING_DEFAULT_MAX_VOXELS, which the other readers here
 * apply) is refused with MMDX_EUNSUPPORTED before its data are read.
 */
MMDX_RESULT_USED int mmdx_nifti_read_volume_max(mmdx_volume **out, const char *path, size_t max_voxels,
                                                mmdx_error *err);

/**
 * Read a NIfTI-1 mask: a voxel is inside (1) when its scaled value is >= 0.5
 * (binary masks, label maps and partial-volume maps alike). Same geometry
 * rules and errors as mmdx_nifti_read_volume().
 */
MMDX_RESULT_USED int mmdx_nifti_read_mask(mmdx_mask **out, const char *path, mmdx_error *err);

#ifdef __cplusplus
}
#endif

#endif
