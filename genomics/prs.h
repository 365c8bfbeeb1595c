/*
 * genomics/prs.h — polygenic scores: matching scoring-file rows to VCF
 * records and summing weighted dosages, the way PLINK 2's --score does.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Matching (per scoring-file row, first rule that applies, as pgsc_calc):
 *   1. same chromosome ("chr1" == "1") and position, effect and other allele
 *      equal to the record's REF/ALT in either order (refalt, altref, or
 *      altalt for two ALTs of a multi-allelic record);
 *   2. the same after reverse-complementing both alleles (strand flip:
 *      refalt_flip, altref_flip, altalt_flip);
 *   3. without an other_allele: the effect allele is REF or an ALT
 *      (no_oa_ref, no_oa_alt, and their _flip forms);
 *   rows without a position match by rsID against the VCF's ID column with
 *   the same allele rules (rsid_ prefix on the rule).
 * Strand-ambiguous rows (effect/other A/T or C/G) are excluded unless
 * keep_ambiguous; kept ones never flip. A multi-allelic record scores the
 * effect allele's own dosage (per allele) unless no_multiallelic. When
 * several records share a position the best rule wins, then the first
 * record. Two rows of one score matching one record both count unless
 * exclude_duplicates, which drops both.
 *
 * pgsc_calc's rules: positions only (no rsID matching), multi-allelic
 * records dropped, rows matching one record twice dropped (the three that
 * mmdx_prs_options_pgsc sets), strand-ambiguous rows dropped and overlap at
 * least 0.75 (mmdx's defaults too, left as they are).
 *
 * Scoring (PLINK 2 2.00a3.5 semantics): SUM = sum of weight x dosage of the
 * effect allele; a missing genotype adds weight x 2 x (effect allele
 * frequency among the file's non-missing samples) unless mean imputation is
 * off; ALLELE_CT = 2 x non-missing scored variants; AVG = SUM / (2 x scored
 * variants) with imputation, SUM / ALLELE_CT without. DS/GP dosages are
 * rounded to 1/16384 like PLINK 2 unless exact_dosage; a sample without a
 * DS/GP value keeps its GT call, as PLINK 2 imports dosages.
 *
 * Thread-safety: one run is driven by one thread; results may then be read
 * from any thread.
 */
#ifndef MMDX_GENOMICS_PRS_H
#define MMDX_GENOMICS_PRS_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"
#include "scorefile.h"
#include "vcf.h"

typedef struct mmdx_prs_options {
    int keep_ambiguous;         /**< default 0: drop A/T and C/G rows */
    int mean_impute;            /**< default 1 */
    double min_overlap;         /**< default 0.75: matched / rows below this is refused */
    mmdx_dosage_source dosage;  /**< default GT */
    int exact_dosage;           /**< default 0: round DS/GP to 1/16384 as PLINK 2 */
    int use_index;              /**< -1 auto (when the file is indexed and every row has a position), 0 never, 1 always */
    int no_multiallelic;        /**< default 0: score multi-allelic records; 1 drops them (pgsc_calc) */
    int exclude_duplicates;     /**< default 0: both rows count; 1 drops every row of a score matching a record another row matched (pgsc_calc) */
    int require_positions;      /**< default 0: rows without a position match by rsID; 1 leaves them unmatched (pgsc_calc) */
} mmdx_prs_options;

/** Fill the defaults above. */
void mmdx_prs_options_init(mmdx_prs_options *o);

/** Set the three pgsc_calc rules that differ from mmdx's defaults (other fields kept). */
void mmdx_prs_options_pgsc(mmdx_prs_options *o);

/** Per-score matching summary. */
typedef struct mmdx_prs_stats {
    size_t rows;              /**< rows in the scoring file */
    size_t matched;           /**< rows scored */
    size_t flipped;           /**< of matched, through a strand flip */
    size_t by_rsid;           /**< of matched, through rsID */
    size_t multiallelic;      /**< of matched, at multi-allelic records */
    size_t duplicates;        /**< of matched, rows scoring a record and allele an earlier row of the score already scored */
    size_t ambiguous_dropped; /**< strand-ambiguous rows excluded */
    size_t multiallelic_dropped; /**< rows whose only match was a multi-allelic record (no_multiallelic) */
    size_t duplicates_dropped;   /**< rows excluded because another row matched the same record (exclude_duplicates) */
    size_t no_position;          /**< rows without a position left unmatched (require_positions) */
    size_t unmatched;         /**< no record with these alleles */
    size_t unusable;          /**< rows with a problem (non-ACGT allele, ...) */
    size_t all_missing;       /**< matched variants with no called sample (imputed as frequency 0) */
    double overlap;           /**< matched / rows */
    size_t no_dosage_field;   /**< scored records (of the whole run) without the DS/GP field asked for: GT used */
} mmdx_prs_stats;

typedef struct mmdx_prs mmdx_prs;

/**
 * Prepare a run of `n_scores` scores (the array is copied; the scoring files
 * themselves are borrowed and must outlive the run)
 * over a file with `n_samples` samples. Errors: MMDX_ENOMEM, MMDX_EINVAL.
 */
MMDX_RESULT_USED int mmdx_prs_new(mmdx_prs **out, const mmdx_scorefile *const *scores,
                                  size_t n_scores, size_t n_samples, const mmdx_prs_options *opt,
                                  mmdx_error *err);

void mmdx_prs_free(mmdx_prs *p);

/**
 * Read `v` once and score every sample: installs the site filter, queries
 * the index region by region when options allow, and finishes the run.
 * Errors from the reader (file and line named). `progress` (may be
 * NULL) is called every few thousand records read, with the current one.
 */
typedef void (*mmdx_prs_progress_fn)(void *ctx, const mmdx_vcf_site *site, uint64_t n_sites);
MMDX_RESULT_USED int mmdx_prs_run(mmdx_prs *p, mmdx_vcf *v, mmdx_prs_progress_fn progress,
                                  void *progress_ctx, mmdx_error *err);

/**
 * The same, for a caller that drives the reader itself (to compute other
 * features in the same pass): the filter to install, then each site it
 * accepted, then finish. A caller whose own filter accepts more sites
 * passes every site; mmdx_prs_site ignores those it does not need.
 */
int mmdx_prs_filter(void *p, const char *chrom, size_t chrom_len, int64_t pos, const char *id,
                    size_t id_len);
MMDX_RESULT_USED int mmdx_prs_site(mmdx_prs *p, mmdx_vcf *v, const mmdx_vcf_site *site,
                                   mmdx_error *err);
MMDX_RESULT_USED int mmdx_prs_finish(mmdx_prs *p, mmdx_error *err);

/**
 * Regions covering every positioned row (nearby rows merged), for an index
 * query. *regions is newly allocated (free() it and nothing else: chrom
 * strings are borrowed from the scoring files). Returns 0 or MMDX_ENOMEM;
 * *n = 0 when some row has no position (then the whole file must be read).
 */
MMDX_RESULT_USED int mmdx_prs_regions(const mmdx_prs *p, mmdx_region **regions, size_t *n);

size_t mmdx_prs_n_scores(const mmdx_prs *p);
void mmdx_prs_get_stats(const mmdx_prs *p, size_t score, mmdx_prs_stats *st);

/** Results after finish: per score and sample. */
double mmdx_prs_sum(const mmdx_prs *p, size_t score, size_t sample);
double mmdx_prs_avg(const mmdx_prs *p, size_t score, size_t sample);
uint32_t mmdx_prs_allele_ct(const mmdx_prs *p, size_t score, size_t sample);

/**
 * Refuse scores whose overlap is below the minimum: MMDX_EINVAL naming the
 * score, its file, the fraction and the option that overrides it.
 */
MMDX_RESULT_USED int mmdx_prs_check_overlap(const mmdx_prs *p, mmdx_error *err);

/**
 * Write the per-sample table (sample ID, then per score _ALLELE_CT, _SUM,
 * _AVG) to `path`, or stdout when path is "-" or NULL; `samples` lists the
 * sample indexes to write (NULL: all, in file order). Written to a
 * temporary file renamed into place. Errors: MMDX_EIO naming the path.
 */
MMDX_RESULT_USED int mmdx_prs_write_table(const mmdx_prs *p, const mmdx_vcf *v, const char *path,
                                          mmdx_error *err);

/**
 * Write the match log: one line per scoring-file row with the rule that
 * matched it or why it did not (tab-separated, header line). Atomic.
 */
MMDX_RESULT_USED int mmdx_prs_write_log(const mmdx_prs *p, const char *path, mmdx_error *err);

/** Write a number with the fewest digits that read back as the same double. */
void mmdx_prs_format_double(double x, char *buf, size_t size);

#endif
