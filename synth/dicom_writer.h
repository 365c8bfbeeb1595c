/*
 * synth/dicom_writer.h — the C face of the generator's small DCMTK shim:
 * writes one CT Image Storage slice as a DICOM Part 10 file.
 * SPDX-License-Identifier: Apache-2.0
 *
 * dicom_writer.cpp is the generator's only C++ (the reading side lives in
 * imaging/dicom/, which has no writer). It sets the attributes of the
 * CT Image IOD that a reader of a synthetic series needs (patient, study,
 * series, frame of reference, equipment, image plane, image pixel, CT image
 * and SOP common modules) and saves in Explicit VR Little Endian with a meta
 * header. The output is byte-for-byte reproducible: no date, time or UID is
 * taken from the clock or a random source.
 *
 * Thread-safety: distinct files may be written from several threads at once.
 */
#ifndef MMDX_SYNTH_DICOM_WRITER_H
#define MMDX_SYNTH_DICOM_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One axial CT slice. Strings are borrowed for the call. */
typedef struct mmdx_synth_ct_slice {
    const char *patient_id;
    const char *patient_name;  /**< DICOM PN, e.g. "SYNTH^SYN000001" */
    const char *birth_date;    /**< DA, YYYYMMDD, or "" */
    const char *sex;           /**< "M", "F", "O" or "" */
    const char *study_uid;
    const char *series_uid;
    const char *sop_uid;
    const char *frame_of_reference_uid;
    const char *study_date;    /**< DA */
    const char *accession;     /**< SH, may be "" */
    int32_t instance_number;
    uint16_t rows, columns;
    double position[3];        /**< Image Position (Patient), mm */
    double spacing[2];         /**< Pixel Spacing: between rows, between columns (mm) */
    double thickness;          /**< Slice Thickness (mm) */
    double rescale_intercept;  /**< HU = stored + intercept (slope 1) */
    const uint16_t *pixels;    /**< rows x columns stored values, 16 bits, unsigned */
} mmdx_synth_ct_slice;

/**
 * Write `s` to `path` (created or replaced). Errors (thread's last error,
 * naming the path): MMDX_EINVAL (an attribute DCMTK refuses, named by tag),
 * MMDX_EIO (the file cannot be written), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_synth_write_ct_slice(const char *path, const mmdx_synth_ct_slice *s);

#ifdef __cplusplus
}
#endif

#endif
