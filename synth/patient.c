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

void mmdx_synth_subtype_centroid(int n_subtypes, int subtype, double mu[3])
{
    /* Low Fourier modes of the subtype index, each standardised over the subtypes: for K >= 4 three
       orthogonal patterns, so the components stay uncorrelated overall; fewer exist below 4, and a
       pattern that is constant over the subtypes is replaced by the first. */
    const double step = 6.283185307179586 / n_subtypes;
    for (int m = 0; m < 3; m++) {
        double sum = 0, sum2 = 0, mine = 0;
        for (int s = 0; s < n_subtypes; s++) {
            double t = s * step;
            double v = m == 0 ? cos(t) : m == 1 ? sin(t) : cos(2 * t);
            sum += v;
            sum2 += v * v;
            if (s == subtype)
                mine = v;
        }
        double mean = sum / n_subtypes, var = sum2 / n_subtypes - mean * mean;
        mu[m] = var > 1e-12 ? (mine - mean) / sqrt(var) : mu[0];
    }
}

static double score_z(const mmdx_synth_patient *p, const mmdx_synth_site *sites)
{
    double sum = 0, mean, sd;
    for (size_t i = 0; i < MMDX_SYNTH_N_SITES; i++)
        sum += sites[i].weight * p->genotype[i];
    mmdx_synth_score_moments(&mean, &sd);
    return (sum - mean) / sd;
}

/* Move the standardised score z towards `target` one allele at a time, at score sites chosen at random
   among the moves that bring it closer, until none does (then it is within half a site's weight). The
   genotypes stay the evidence of the component: the VCF's score is the truth's z_genomics. */
static void nudge_genotypes(mmdx_synth_patient *p, mmdx_synth_rng *r, const mmdx_synth_site *sites, double z,
                            double target)
{
    double mean, sd;
    mmdx_synth_score_moments(&mean, &sd);
    size_t site[MMDX_SYNTH_N_SITES];
    int delta[MMDX_SYNTH_N_SITES];
    for (;;) {
        double gap = (target - z) * sd; /* in score units */
        uint32_t n = 0;
        for (size_t i = 0; i < MMDX_SYNTH_N_SITES; i++) {
            double w = sites[i].weight;
            int d = (gap > 0) == (w > 0) ? 1 : -1, g = p->genotype[i] + d;
            if (w == 0 || g < 0 || g > 2 || fabs(w) >= 2 * fabs(gap))
                continue;
            site[n] = i;
            delta[n++] = d;
        }
        if (n == 0)
            return;
        uint32_t k = mmdx_synth_below(r, n);
        p->genotype[site[k]] = (uint8_t)(p->genotype[site[k]] + delta[k]);
        z += delta[k] * sites[site[k]].weight / sd;
    }
}

void mmdx_synth_patient_draw(mmdx_synth_patient *p, mmdx_synth_rng *rng, mmdx_synth_rng *sub_rng, size_t index,
                             const mmdx_synth_draw *how)
{
    const double missing = how->missing;
    const int image_size = how->image_size, slices = how->slices;
    *p = (mmdx_synth_patient){0};
    p->index = index;
    snprintf(p->id, sizeof p->id, "SYN%06zu", index + 1);
    /* With subtypes, z_m = a mu_{s,m} + sqrt(1 - a^2) e_m, e_m what the cohort without them draws. */
    double mu[3] = {0, 0, 0}, a = 0, keep = 1;
    p->subtype = -1;
    if (how->n_subtypes >= 2) {
        p->subtype = (int)mmdx_synth_below(sub_rng, (uint32_t)how->n_subtypes);
        mmdx_synth_subtype_centroid(how->n_subtypes, p->subtype, mu);
        a = MMDX_SYNTH_SUBTYPE_STRENGTH;
        keep = sqrt(1 - a * a);
    }
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
    for (size_t i = 0; i < MMDX_SYNTH_N_SITES; i++) {
        p->genotype[i] = (uint8_t)binomial2(rng, sites[i].af);
        if (sites[i].pathogenic && p->genotype[i])
            p->carrier = 1;
    }
    p->z_genomics = score_z(p, sites);
    if (p->subtype >= 0) {
        nudge_genotypes(p, sub_rng, sites, p->z_genomics, a * mu[MMDX_SYNTH_GENOMICS] + keep * p->z_genomics);
        p->z_genomics = score_z(p, sites);
    }

    /* Records: HbA1c, systolic pressure, LDL and age carry the component. */
    double u1 = mmdx_synth_normal(rng), u2 = mmdx_synth_normal(rng), u3 = mmdx_synth_normal(rng);
    double za = (p->age - 60) / 11.83;
    const double norm = sqrt(0.25 + 0.16 + 0.09 + 0.16);
    p->z_records = (0.5 * u1 + 0.4 * u2 + 0.3 * u3 + 0.4 * za) / norm;
    /* Whether the cohort without subtypes draws the statin's uniform (its LDL calls for it). */
    const int statin_draw = 3.2 + 0.8 * u3 >= 4.0;
    if (p->subtype >= 0) {
        /* Shift the three draws along their weights so that their combination is the new component. */
        double z = a * mu[MMDX_SYNTH_RECORDS] + keep * p->z_records, k = (z - p->z_records) * norm / 0.5;
        u1 += 0.5 * k;
        u2 += 0.4 * k;
        u3 += 0.3 * k;
        p->z_records = z;
    }
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
    /* That draw is taken from rng exactly when it was without subtypes, so that the imaging draws
       below stay the same; a shifted LDL that newly calls for one takes it from the subtype stream. */
    double u_statin = statin_draw ? mmdx_synth_uniform(rng) : p->ldl >= 4.0 ? mmdx_synth_uniform(sub_rng) : 1;
    p->statin = p->ldl >= 4.0 && u_statin < 0.7;

    /* Imaging: a larger, denser, more heterogeneous lesion with higher risk. */
    p->z_imaging = mmdx_synth_normal(rng);
    if (p->subtype >= 0)
        p->z_imaging = a * mu[MMDX_SYNTH_IMAGING] + keep * p->z_imaging;
    p->lesion_radius_mm = clamp(6.0 + 1.3 * p->z_imaging + 0.3 * mmdx_synth_normal(rng), 3.0, 10.0);
    p->lesion_hu = clamp(165 + 30 * p->z_imaging + 5 * mmdx_synth_normal(rng), 100, 280);
    p->lesion_sd_hu = clamp(14 + 5 * p->z_imaging, 5, 40);
    p->lesion_elongation = 1;
    p->tissue_sd_hu = 0; /* the series' default */
    if (p->subtype >= 0) {
        /* The lesion's shape carries the subtype's second mode (genomics' pattern, drawn apart), so that
           imaging alone tells every subtype from the others; the scan's noise varies as doses and kernels
           do between scanners, unrelated to the patient. Both from the subtype stream, after its other
           draws. */
        double mu_shape[3];
        mmdx_synth_subtype_centroid(how->n_subtypes, p->subtype, mu_shape);
        p->z_imaging_shape = a * mu_shape[MMDX_SYNTH_GENOMICS] + keep * mmdx_synth_normal(sub_rng);
        p->lesion_elongation = clamp(exp(0.35 * p->z_imaging_shape), 0.4, 2.5);
        p->tissue_sd_hu = clamp(10.0 * exp(0.45 * mmdx_synth_normal(sub_rng)), 4, 30);
    }
    double half = image_size / 2.0;
    p->lesion_centre[0] = half + (mmdx_synth_uniform(rng) - 0.5) * image_size * 0.2;
    p->lesion_centre[1] = half + (mmdx_synth_uniform(rng) - 0.5) * image_size * 0.2;
    p->lesion_centre[2] = (slices - 1) / 2.0 + (mmdx_synth_uniform(rng) - 0.5) * 2.0;

    p->logit = LOGIT_B0 + W_MODALITY * (p->z_imaging + p->z_genomics + p->z_records) + W_CARRIER * p->carrier;
    p->label = mmdx_synth_uniform(rng) < 1.0 / (1.0 + exp(-p->logit));
}
