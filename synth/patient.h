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
    /* latent components (each ~ N(0, 1)) and the label */
    double z_imaging, z_genomics, z_records;
    int carrier;              /**< pathogenic panel variant present */
    double logit;
    int label;
    /* imaging: lesion */
    double lesion_radius_mm, lesion_hu, lesion_sd_hu;
    double lesion_centre[3];  /**< voxel coordinates (column, row, slice) */
    /* genomics: genotypes (alt allele counts) at the catalogue's sites */
    uint8_t genotype[MMDX_SYNTH_N_SITES];
    /* records: true underlying values */
    double hba1c, glucose, sbp, dbp, ldl, hdl, bmi, creatinine;
    int hypertension, diabetes, statin;
} mmdx_synth_patient;

/**
 * Draw patient `index` (0-based) of the cohort of `seed`. `missing` is the
 * per-modality absence probability; image_size and slices bound the lesion
 * centre. The stream rng is the patient's own (mmdx_synth_rng_init(seed,
 * index)); drawing continues from it for the files' noise.
 */
void mmdx_synth_patient_draw(mmdx_synth_patient *p, mmdx_synth_rng *rng, size_t index, double missing,
                             int image_size, int slices);

#endif
