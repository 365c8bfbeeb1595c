/*
 * synth/patient.h — one synthetic patient: the latent risk components, the
 * observable traits derived from them, the label and which modalities exist.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_SYNTH_PATIENT_H
#define MMDX_SYNTH_PATIENT_H

#include <stddef.h>
#include <stdint.h>

#include "catalogue.h"
#include "synth.h"
#include "synth_rng.h"

enum { MMDX_SYNTH_IMAGING = 0, MMDX_SYNTH_GENOMICS = 1, MMDX_SYNTH_RECORDS = 2 };

/** Index date of every record (the records encoder is configured with it). */
#define MMDX_SYNTH_INDEX_DATE "2024-01-01"

typedef struct mmdx_synth_patient {
    char id[32];
    size_t index;
    int present[3];           /**< imaging, genomics, records */
    int female;
    int age;                  /**< whole years at the index date */
    int birth_year, birth_month, birth_day;
    /* latent components (each ~ N(0, 1)), the subtype behind them and the label */
    int subtype;              /**< 0..n_subtypes-1, or -1 in a cohort without subtypes */
    double z_imaging, z_genomics, z_records;
    int carrier;              /**< pathogenic panel variant present */
    double logit;
    int label;
    /* imaging: lesion */
    double lesion_radius_mm, lesion_hu, lesion_sd_hu;
    double lesion_centre[3];  /**< voxel coordinates (column, row, slice) */
    /* With subtypes only (else 0, 1 and the series' fixed tissue noise): the lesion's
       second axis, its shape, from the subtype's second mode; and the acquisition's noise */
    double z_imaging_shape;   /**< not in the risk */
    double lesion_elongation; /**< in-plane axis ratio: semi-axes r sqrt(E) (columns), r / sqrt(E) (rows) */
    double tissue_sd_hu;      /**< the scan's noise (dose, reconstruction kernel): a nuisance */
    /* genomics: genotypes (alt allele counts) at the catalogue's sites */
    uint8_t genotype[MMDX_SYNTH_N_SITES];
    /* records: true underlying values */
    double hba1c, glucose, sbp, dbp, ldl, hdl, bmi, creatinine;
    int hypertension, diabetes, statin;
} mmdx_synth_patient;

/** How a cohort's patients are drawn (mmdx_synth_options' fields of the same names). */
typedef struct mmdx_synth_draw {
    double missing;  /**< per-modality absence probability */
    int image_size;  /**< with slices, bounds the lesion centre */
    int slices;
    int n_subtypes;  /**< 0: none; else 2..MMDX_SYNTH_MAX_SUBTYPES */
} mmdx_synth_draw;

/**
 * Draw patient `index` (0-based) of the cohort of `seed`. The stream rng is
 * the patient's own (mmdx_synth_rng_init(seed, index)); drawing continues
 * from it for the files' noise. sub_rng (used only with subtypes; may be
 * NULL without) is the patient's subtype stream: the subtype and the
 * genotype nudges come from it, so that every draw from rng is the one the
 * cohort without subtypes makes.
 */
void mmdx_synth_patient_draw(mmdx_synth_patient *p, mmdx_synth_rng *rng, mmdx_synth_rng *sub_rng, size_t index,
                             const mmdx_synth_draw *how);

#endif
