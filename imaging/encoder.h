/*
 * imaging/encoder.h — the imaging encoder: one study (DICOM or NIfTI) + ROI
 * -> IBSI radiomics features. plugin.c exposes it through the plugin ABI.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Configuration ([imaging] section of the site configuration):
 *   roi = NAME            default structure / segment to use from a mask
 *   series_uid = UID      default series to pick in a folder holding several
 *   auto_mask = true|false  without a mask, derive one (Otsu + largest
 *                         component; default true) or refuse the input
 *   every key of mmdx_radiomics_settings_set() (interpolation, spacing,
 *   resegment_range, discretisation, families, aggregation, ...).
 * The encoder's defaults differ from the bare engine's in one place:
 * moran_max_voxels = 100000 (Moran's I and Geary's C are quadratic in the
 * ROI size; above it they are NaN), so that an automatic whole-body mask
 * cannot take hours.
 *
 * Per patient (manifest columns, passed as extras): `mask` (a NIfTI file, a
 * DICOM SEG or RTSTRUCT), `roi` (overrides the configured roi), `series_uid`.
 *
 * Thread-safety: after new(), encode() may run concurrently on one encoder.
 */
#ifndef MMDX_IMAGING_ENCODER_H
#define MMDX_IMAGING_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/plugin.h"
#include "volume.h"

typedef struct mmdx_imaging_encoder mmdx_imaging_encoder;

/**
 * Create an encoder from a configuration section (NULL: defaults).
 * Errors: MMDX_EINVAL naming the file, line and key; MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_imaging_encoder_new(mmdx_imaging_encoder **out, const mmdx_plugin_config *config,
                                              mmdx_error *err);

/** Feature names ("<family>.<feature>", without "imaging."). Owned by the encoder. */
void mmdx_imaging_encoder_names(const mmdx_imaging_encoder *e, size_t *n, const char *const **names);

/**
 * Encode one input into values[n] (NaN where undefined). *present = 1.
 * Errors: those of the DICOM/NIfTI readers and of the ROI loading, each
 * message naming the file and the tag, and MMDX_EINVAL when there is no mask
 * and auto_mask is off.
 */
MMDX_RESULT_USED int mmdx_imaging_encoder_encode(const mmdx_imaging_encoder *e, const mmdx_encoder_input *in,
                                                 double *values, int32_t *present, mmdx_error *err);

void mmdx_imaging_encoder_free(mmdx_imaging_encoder *e);

/**
 * Input reading shared with tests and the benchmark: the image of `path`
 * (DICOM file/folder or NIfTI), refused (MMDX_EUNSUPPORTED, naming the file
 * and the size tags) when it has more than `max_voxels` voxels (0: the
 * default, MMDX_IMAGING_DEFAULT_MAX_VOXELS).
 */
MMDX_RESULT_USED int mmdx_imaging_read_image(mmdx_volume **out, char *frame_of_reference_uid, size_t for_size,
                                             const char *path, const char *series_uid, int n_threads,
                                             size_t max_voxels);

#endif
