/*
 * genomics/scorefile.h — PGS Catalog scoring files.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Format (PGS Catalog v2, also the "custom" and "structured" variants):
 * '#'-comment header lines (`#pgs_id=PGS000001`, `#genome_build=GRCh37`...),
 * then a tab-separated table with a header row. Columns used:
 *   rsID, chr_name, chr_position, effect_allele, other_allele, effect_weight,
 *   hm_chr, hm_pos (harmonised; preferred when present and non-empty),
 *   is_dominant / is_recessive / is_haplotype / is_diplotype (rows flagged
 *   True are refused with a reason: additive weights only).
 * effect_allele and effect_weight are required, and either positions
 * (chr_name+chr_position or hm_chr+hm_pos) or rsID. The file may be gzipped.
 *
 * Rows are never dropped silently: a row with a non-ACGT allele, no
 * position and no rsID, or an unsupported effect type is kept with a
 * `problem` text, counted, and reported in the match log.
 */
#ifndef MMDX_GENOMICS_SCOREFILE_H
#define MMDX_GENOMICS_SCOREFILE_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"

typedef struct mmdx_pgs_row {
    char *rsid;         /**< NULL when absent */
    char *chrom;        /**< NULL when absent */
    int64_t pos;        /**< 0 when absent */
    char *effect;       /**< upper case */
    char *other;        /**< upper case, NULL when absent */
    double weight;
    long line;          /**< physical line in the file */
    const char *problem; /**< static text when the row cannot be scored, else NULL */
} mmdx_pgs_row;

typedef struct mmdx_scorefile {
    char *path;
    char *name;          /**< #pgs_id, else the file name without .txt/.gz/.tsv */
    char *genome_build;  /**< #genome_build / #HmPOS_build, or NULL */
    size_t n_rows;
    mmdx_pgs_row *rows;
    size_t n_problems;   /**< rows with a problem */
    int harmonised;      /**< hm_chr/hm_pos columns were used */
} mmdx_scorefile;

/**
 * Read a scoring file. Errors (message names file and line): MMDX_ENOTFOUND,
 * MMDX_EIO; MMDX_EFORMAT for a missing required column, a non-numeric or
 * non-finite weight, a non-numeric position, a row with too few columns, no
 * data rows. *out is owned by the caller: mmdx_scorefile_free().
 */
MMDX_RESULT_USED int mmdx_scorefile_read(mmdx_scorefile **out, const char *path, mmdx_error *err);

/** Parse a scoring file held in memory (uncompressed); `name` is used in messages. */
MMDX_RESULT_USED int mmdx_scorefile_parse(mmdx_scorefile **out, const char *data, size_t len,
                                          const char *name, mmdx_error *err);

void mmdx_scorefile_free(mmdx_scorefile *sf);

#endif
