/* SPDX-License-Identifier: Apache-2.0 */
#include "patient.h"

#include <math.h>
#include <stdio.h>

/* Intercept giving about 30 % positives with the weights below. */
#define LOGIT_B0 (-1.35)
#define W_MODALITY 1.1
#define W_CARRIER 1.5

static double clamp(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

static int binomial2(mmdx_synth_rng *r, double p)
{
    return (mmdx_synth_uniform(r) < p) + (mmdx_synth_uniform(r) < p);
}

void mmdx_synth_patient_draw(mmdx_synth_patient *p, mmdx_synth_rng *rng, size_t index, double missing,
                             int image_size, int slices)
{
    *p = (mmdx_synth_patient){0};
    p->index = index;
    snprintf(p->id, sizeof p->id, "SYN%06zu", index + 1);
    for (int m = 0; m < 3; m++)
        p->present[m] = mmdx_synth_uniform(rng) >= missing;
    if (!p->present[0] && !p->present[1] && !p->present[2])
        p->present[MMDX_SYNTH_RECORDS] = 1;

    p->female = mmdx_synth_uniform(rng) < 0.5;
    p->age = 40 + (int)mmdx_synth_below(rng, 41);
    p->birth_year = 2023 - p->age;
    p->birth_month = 1 + (int)mmdx_synth_below(rng, 12);
    p->birth_day = 1 + (int)mmdx_synth_below(rng, 28);

    /* Genomics: genotypes under HWE; the standardised score is the component. */
    const mmdx_synth_site *sites = mmdx_synth_sites();
    double sum = 0;
    for (size_t i = 0; i < MMDX_SYNTH_N_SITES; i++) {
        p->genotype[i] = (uint8_t)binomial2(rng, sites[i].af);
        sum += sites[i].weight * p->genotype[i];
        if (sites[i].pathogenic && p->genotype[i])
            p->carrier = 1;
    }
    double mean, sd;
    mmdx_synth_score_moments(&mean, &sd);
    p->z_genomics = (sum - mean) / sd;

    /* Records: HbA1c, systolic pressure, LDL and age carry the component. */
    double u1 = mmdx_synth_normal(rng), u2 = mmdx_synth_normal(rng), u3 = mmdx_synth_normal(rng);
    double za = (p->age - 60) / 11.83;
    p->z_records = (0.5 * u1 + 0.4 * u2 + 0.3 * u3 + 0.4 * za) / sqrt(0.25 + 0.16 + 0.09 + 0.16);
    p->hba1c = clamp(5.5 + 0.7 * u1, 4.0, 12.0);
    p->glucose = clamp(5.2 + 0.9 * u1 + 0.4 * mmdx_synth_normal(rng), 3.0, 20.0);
    p->sbp = clamp(132 + 16 * u2, 90, 210);
    p->dbp = clamp(80 + 0.45 * (p->sbp - 132) + 6 * mmdx_synth_normal(rng), 50, 130);
    p->ldl = clamp(3.2 + 0.8 * u3, 1.0, 7.5);
    p->hdl = clamp(1.4 + 0.3 * mmdx_synth_normal(rng), 0.5, 3.0);
    p->bmi = clamp(27 + 4 * mmdx_synth_normal(rng), 17, 50);
    p->creatinine = clamp((p->female ? 70 : 85) + 12 * mmdx_synth_normal(rng), 40, 200);
    p->hypertension = p->sbp >= 150;
    p->diabetes = p->hba1c >= 6.5;
    p->statin = p->ldl >= 4.0 && mmdx_synth_uniform(rng) < 0.7;

    /* Imaging: a larger, denser, more heterogeneous lesion with higher risk. */
    p->z_imaging = mmdx_synth_normal(rng);
    p->lesion_radius_mm = clamp(6.0 + 1.3 * p->z_imaging + 0.3 * mmdx_synth_normal(rng), 3.0, 10.0);
    p->lesion_hu = clamp(165 + 30 * p->z_imaging + 5 * mmdx_synth_normal(rng), 100, 280);
    p->lesion_sd_hu = clamp(14 + 5 * p->z_imaging, 5, 40);
    double half = image_size / 2.0;
    p->lesion_centre[0] = half + (mmdx_synth_uniform(rng) - 0.5) * image_size * 0.2;
    p->lesion_centre[1] = half + (mmdx_synth_uniform(rng) - 0.5) * image_size * 0.2;
    p->lesion_centre[2] = (slices - 1) / 2.0 + (mmdx_synth_uniform(rng) - 0.5) * 2.0;

    p->logit = LOGIT_B0 + W_MODALITY * (p->z_imaging + p->z_genomics + p->z_records) + W_CARRIER * p->carrier;
    p->label = mmdx_synth_uniform(rng) < 1.0 / (1.0 + exp(-p->logit));
}
