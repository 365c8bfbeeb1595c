/*
 * synth/synth.h — a synthetic multimodal cohort for demonstrations, tests
 * and benchmarks (`mmdx synth`).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each patient gets, in folder `out`:
 *   dicom/<id>/CT<nnn>.dcm   an axial CT series (DCMTK; HU = stored - 1024)
 *                            holding one spherical lesion in soft tissue;
 *   genomics/<id>.vcf.gz     a single-sample VCF (htslib, BGZF) with its
 *                            tabix index, genotyped at a fixed catalogue of
 *                            sites, scored by genomics/synth_prs.txt
 *                            (PGS Catalog format);
 *   records/<id>.json        a FHIR R4 Bundle (json-c): Patient, laboratory
 *                            and vital-sign Observations, Conditions,
 *                            MedicationStatements;
 * and the cohort gets cohort.csv (the manifest), truth.csv (the latent
 * components behind each label) and mmdx.conf (the site settings the
 * encoders need for this cohort: the scoring file with its reference mean
 * and sd, the pathogenic-variant panel, the records index date).
 *
 * The label is drawn from a logistic model whose signal is split across the
 * modalities: logit = b0 + 1.1 z_imaging + 1.1 z_genomics + 1.1 z_records
 * + 1.5 carrier, where z_imaging drives the lesion's size, density and
 * heterogeneity, z_genomics is the standardised polygenic score, carrier
 * marks a pathogenic variant in the panel region, and z_records combines
 * HbA1c, systolic pressure, LDL and age. Each modality is missing for a
 * patient with probability `missing` (independently; a patient keeps at
 * least the records).
 *
 * Deterministic: the same options give byte-identical files whatever the
 * number of threads (each patient draws from its own random stream derived
 * from the seed and its index).
 */
#ifndef MMDX_SYNTH_SYNTH_H
#define MMDX_SYNTH_SYNTH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mmdx/common.h"

/** Options of mmdx_synth_run(). Fill with mmdx_synth_options_init(), then set. */
typedef struct mmdx_synth_options {
    size_t n_patients;   /**< >= 1 */
    const char *out;     /**< output folder (created; must be empty or absent) */
    uint64_t seed;
    double missing;      /**< per-modality probability of being absent, in [0, 0.9]; default 0.15 */
    int image_size;      /**< rows = columns of each slice, 16..512; default 40 */
    int slices;          /**< slices per series, 4..512; default 12 */
    int n_threads;       /**< >= 1 */
    FILE *progress;      /**< progress display, or NULL */
} mmdx_synth_options;

/** What a run wrote. */
typedef struct mmdx_synth_summary {
    size_t n_patients;
    size_t n_positive;            /**< label 1 */
    size_t n_with[3];             /**< patients with imaging, genomics, records */
    size_t n_complete;            /**< with all three */
    size_t n_files;
    double seconds;
} mmdx_synth_summary;

void mmdx_synth_options_init(mmdx_synth_options *o);

/**
 * Generate the cohort. Errors (thread's last error, naming the file):
 * MMDX_EINVAL (an option out of range, named), MMDX_EEXISTS (`out` exists
 * and is not empty), MMDX_EIO, MMDX_ENOMEM. The manifest is written last
 * and atomically: a folder without cohort.csv is an interrupted run.
 */
MMDX_RESULT_USED int mmdx_synth_run(const mmdx_synth_options *o, mmdx_synth_summary *summary);

#endif
