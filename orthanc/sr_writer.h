/*
 * orthanc/sr_writer.h — the screening result as DICOM Structured Reports
 * (C API over DCMTK's dcmsr; sr_shim.cpp is the only C++ of the plugin).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Two objects, in one new series of the screened study:
 *
 *  1. an Enhanced SR holding a TID 1500 Measurement Report built with dcmsr's
 *     cmr/tid1500.h classes: an image library listing the source images, one
 *     measurement group (TID 1501) with the risk probability, the decision
 *     threshold and each modality's contribution to the log-odds (TID 300,
 *     each with its algorithm identification, TID 4019), the decision as a
 *     coded qualitative evaluation (SNOMED CT positive/negative) and a text
 *     evaluation saying that the result is not verified by a clinician;
 *  2. a Comprehensive SR with one TEXT item holding the plain-text rendering,
 *     for viewers that do not display TID 1500.
 *
 * Both: Patient and Study modules copied from a source instance, the same
 * StudyInstanceUID, Current Requested Procedure Evidence listing every
 * source instance (study, series, SOP instance), VerificationFlag
 * UNVERIFIED, PreliminaryFlag PRELIMINARY, and, as IHE AI Results asks,
 * Contributing Equipment (0018,A001) naming the algorithm: Manufacturer,
 * ManufacturerModelName (algorithm name), SoftwareVersions (algorithm
 * version, mmdx version, model SHA-256) and the purpose "Processing
 * Equipment" (DCM 109102).
 *
 * Codes not in DICOM or SNOMED CT use the private coding scheme "99MMDX".
 */
#ifndef MMDX_ORTHANC_SR_WRITER_H
#define MMDX_ORTHANC_SR_WRITER_H

#include <stddef.h>

#include "mmdx/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MMDX_SR_UID_MAX 65

/** What the reports say. Everything is owned by the caller. */
typedef struct mmdx_sr_result {
    double probability;               /**< in [0, 1] */
    double threshold;                 /**< decision = probability >= threshold */
    int decision;                     /**< 1 positive, 0 negative */
    size_t n_modalities;
    const char *const *modalities;    /**< "imaging", "genomics", "records" */
    const double *contributions;      /**< to the log-odds; ignored when absent */
    const int *present;               /**< 1 when the modality was available */
    const char *algorithm_name;       /**< e.g. "mmdx early/logreg" */
    const char *algorithm_version;    /**< fusion plugin version */
    const char *mmdx_version;
    const char *model_sha256;         /**< hex, 64 characters */
    const char *manufacturer;         /**< Contributing Equipment Manufacturer */
    const char *institution;          /**< or NULL */
    const char *series_description;
    int series_number;
    const char *text;                 /**< plain-text rendering (mmdx_sr_render_text) */
    /** The UIDs to give the reports, or NULL: new ones. The worker derives them from
     *  the run (mmdx_sr_uid_from_name), so that writing a result again after a crash
     *  makes the same instances, which Orthanc stores once. */
    const char *series_uid, *tid1500_uid, *text_uid, *tracking_uid;
} mmdx_sr_result;

/**
 * Write both reports. `sources` are DICOM files of the screened series (only
 * their headers are read; the first supplies the Patient and Study modules).
 * Files are written as tid1500_path and text_path (DICOM Part 10, explicit
 * VR little endian). The SOP Instance UIDs go into the two uid buffers, the
 * new SeriesInstanceUID into series_uid (each may be NULL).
 * Errors (in err): MMDX_EFORMAT (a source is not readable as DICOM, or lacks
 * StudyInstanceUID, SOPInstanceUID, SeriesInstanceUID or SOPClassUID: file
 * and tag named), MMDX_EIO (an output not written), MMDX_EINVAL (the report
 * failed dcmsr's template checks: message says which). Nothing is left
 * behind on failure.
 * Thread-safe (no shared state besides DCMTK's dictionary).
 */
MMDX_RESULT_USED int mmdx_sr_write(const mmdx_sr_result *r, const char *const *sources, size_t n_sources,
                                   const char *tid1500_path, const char *text_path,
                                   char tid1500_uid[MMDX_SR_UID_MAX], char text_uid[MMDX_SR_UID_MAX],
                                   char series_uid[MMDX_SR_UID_MAX], mmdx_error *err);

/**
 * A UID that stands for `name` ("2.25." + the first 128 bits of SHA-256 of
 * the name as a decimal integer, ITU-T X.667): the same name, the same UID.
 */
void mmdx_sr_uid_from_name(const char *name, char out[MMDX_SR_UID_MAX]);

/** The same from the first 32 hex digits of `hex` (e.g. a model's SHA-256). */
void mmdx_sr_uid_from_hex(const char *hex, char out[MMDX_SR_UID_MAX]);

/**
 * The plain-text rendering of a result (probability, threshold, decision,
 * contributions, missing modalities, algorithm identity, the not-verified
 * warning), plus the source series description `source` (may be NULL).
 * malloc'd; NULL on ENOMEM.
 */
char *mmdx_sr_render_text(const mmdx_sr_result *r, const char *source);

#ifdef __cplusplus
}
#endif

#endif
