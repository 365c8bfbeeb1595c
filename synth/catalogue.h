/*
 * synth/catalogue.h — the fixed catalogue of genotyped sites: the polygenic
 * score's variants, neutral variants (for QC ratios) and one pathogenic
 * variant in a panel region. It does not depend on the cohort's seed, so a
 * model trained on one synthetic cohort applies to another.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_SYNTH_CATALOGUE_H
#define MMDX_SYNTH_CATALOGUE_H

#include <stddef.h>
#include <stdint.h>

#define MMDX_SYNTH_N_SCORE_SITES 60
#define MMDX_SYNTH_N_NEUTRAL_SITES 90
#define MMDX_SYNTH_N_SITES (MMDX_SYNTH_N_SCORE_SITES + MMDX_SYNTH_N_NEUTRAL_SITES + 1)

/** The scoring file's pgs_id; the genomics feature is prs.<lower case>. */
#define MMDX_SYNTH_SCORE_ID "SYNTH001"
/** The panel region holding the pathogenic variant (genomics panel_region syntax). */
#define MMDX_SYNTH_PANEL "hereditary BRCA1 17:43044295-43125483"

typedef struct mmdx_synth_site {
    int chrom;          /**< 1..22 */
    int64_t pos;
    char ref, alt;
    double af;          /**< alternate allele frequency */
    double weight;      /**< score weight of the ALT allele; 0 for non-score sites */
    int pathogenic;     /**< carries INFO CLNSIG=Pathogenic */
    char rsid[16];
} mmdx_synth_site;

/** The sites, sorted by (chrom, pos). Built once; thread-safe. */
const mmdx_synth_site *mmdx_synth_sites(void);

/** Mean and standard deviation of the score's SUM under Hardy-Weinberg equilibrium. */
void mmdx_synth_score_moments(double *mean, double *sd);

/** Length of a chromosome (GRCh38), for the VCF header. */
int64_t mmdx_synth_chrom_length(int chrom);

#endif
