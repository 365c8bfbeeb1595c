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
 * Subtypes (`n_subtypes` K >= 2; 0, the default, gives exactly the cohort
 * without them): each patient draws a subtype s uniformly from 0..K-1, and
 * the three components share it:
 *   z_m = a mu_{s,m} + sqrt(1 - a^2) e_m,   a = MMDX_SYNTH_SUBTYPE_STRENGTH = 0.8,
 * where e_m is the component the cohort without subtypes draws for that
 * patient (same seed: the same e_m), so that the modalities share
 * information by construction while the label stays the same logistic model
 * of the z's. The centroids (mmdx_synth_subtype_centroid()), theta = 2 pi s / K:
 *   K >= 5:  mu_s = (sqrt2 cos theta, sqrt2 sin theta, sqrt2 cos 2 theta)
 *   K = 4:   mu_s = (sqrt2 cos theta, sqrt2 sin theta, cos 2 theta), a regular
 *            tetrahedron (edge 2 sqrt2)
 *   K = 3:   mu_s = (sqrt2 cos theta, sqrt2 sin theta, sqrt2 cos theta)
 *   K = 2:   mu_0 = (1, 1, 1), mu_1 = (-1, -1, -1)
 * Over the subtypes each coordinate has mean 0 and variance 1, so every z_m
 * stays unit-variance overall; for K >= 4 the coordinates are uncorrelated,
 * so the z's stay uncorrelated overall (dependent only through s) and the
 * logit keeps the variance it has without subtypes. How each modality shows
 * its z_m: the lesion is drawn from z_imaging as before; the records' HbA1c,
 * systolic pressure and LDL draws are shifted along their weights so that
 * their combination with age is z_records; the genotypes are nudged one
 * allele at a time at random score sites until the standardised score is
 * within half a site's weight (typically 0.04, at most 0.15) of a mu_{s,genomics} +
 * sqrt(1 - a^2) e_genomics, and z_genomics is that score. Imaging shows the
 * subtype a second time, in the lesion's shape: z_imaging_shape = a
 * mu_{s,genomics} + sqrt(1 - a^2) e (e fresh; not in the risk) stretches the
 * lesion in plane to the axis ratio exp(0.35 z_imaging_shape) at the same
 * area; and the scan's noise varies between patients (tissue sd 10 HU x
 * exp(0.45 N(0, 1)), clamped to 4..30, added to the lesion's heterogeneity),
 * a nuisance unrelated to the patient. truth.csv then ends with the columns
 * `subtype` and `z_imaging_shape`. The subtype and the nudges come from the
 * patient's own subtype stream (seed ^ "sub", index), apart from the stream
 * every other draw comes from.
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
    int n_subtypes;      /**< 0 (default: none) or 2..MMDX_SYNTH_MAX_SUBTYPES (above) */
    FILE *progress;      /**< progress display, or NULL */
} mmdx_synth_options;

/** Most subtypes a cohort may have (neighbouring centroids get closer as K grows). */
#define MMDX_SYNTH_MAX_SUBTYPES 32

/** a in z_m = a mu_{s,m} + sqrt(1 - a^2) e_m: the subtype sets a^2 = 64 % of each component's variance. */
#define MMDX_SYNTH_SUBTYPE_STRENGTH 0.8

/**
 * The centroid mu (imaging, genomics, records) of subtype 0 <= subtype <
 * n_subtypes, 2 <= n_subtypes <= MMDX_SYNTH_MAX_SUBTYPES (above). Thread-safe.
 */
void mmdx_synth_subtype_centroid(int n_subtypes, int subtype, double mu[3]);

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
