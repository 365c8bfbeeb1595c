/*
 * genomics/scan.h — one pass over a VCF/BCF computing every genomics
 * feature (polygenic scores, pathogenic-variant panels, sample QC) for all
 * of the file's samples, so that a cohort sharing a multi-sample file reads
 * it once.
 * SPDX-License-Identifier: Apache-2.0
 *
 * QC (per sample, over records passing FILTER when pass_only):
 *   call_rate  called genotypes / records; a genotype is called when GT is
 *              not missing and, where the record carries GQ/DP, the sample's
 *              value reaches min_gq/min_dp (a missing value fails);
 *   het_ratio  heterozygous / homozygous-alternate called genotypes;
 *   titv       transitions / transversions over the SNV alleles the sample
 *              carries (one count per record and allele);
 *   n_nonref   records where the sample carries a non-reference allele.
 * Panels count, per sample, the records inside the panel (same FILTER and
 * GQ/DP rules) whose INFO field marks a carried ALT pathogenic:
 * heterozygous (one copy) and homozygous (two copies) separately.
 */
#ifndef MMDX_GENOMICS_SCAN_H
#define MMDX_GENOMICS_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"
#include "panel.h"
#include "prs.h"
#include "scorefile.h"

typedef struct mmdx_scan_settings {
    mmdx_prs_options prs;
    size_t n_scores;
    const mmdx_scorefile *const *scores;
    size_t n_panels;
    const mmdx_panel *const *panels;
    const char *clnsig_field;        /**< INFO key, e.g. "CLNSIG" */
    const char *const *terms;        /**< accepted pathogenic terms */
    size_t n_terms;
    int qc;                          /**< compute QC (reads every record) */
    int pass_only;                   /**< FILTER must be PASS or "." */
    int min_gq, min_dp;              /**< 0 = no threshold */
    int n_threads;
} mmdx_scan_settings;

typedef struct mmdx_scan_result {
    size_t n_samples;
    char **samples;
    size_t n_scores, n_panels;
    double *prs_sum;                 /**< n_scores x n_samples */
    mmdx_prs_stats *prs_stats;       /**< n_scores */
    uint32_t *panel_het, *panel_hom; /**< n_panels x n_samples */
    double *call_rate, *het_ratio, *titv; /**< n_samples, NaN when undefined */
    uint32_t *n_nonref;              /**< n_samples */
    uint64_t n_records;              /**< records read */
} mmdx_scan_result;

/**
 * Scan `path`. On failure returns a negative code with the message in err
 * (file and line named) and *out = NULL. A score below its minimum overlap
 * fails the scan (MMDX_EINVAL). *out is owned by the caller.
 */
MMDX_RESULT_USED int mmdx_scan_file(mmdx_scan_result **out, const char *path,
                                    const mmdx_scan_settings *s, mmdx_error *err);

void mmdx_scan_result_free(mmdx_scan_result *r);

/** Index of a sample, or -1. */
long mmdx_scan_result_sample(const mmdx_scan_result *r, const char *name);

#endif
