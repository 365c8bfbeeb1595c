/*
 * genomics/vcf.h — reading VCF, bgzipped VCF and BCF through htslib.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A reader walks the records of one file in order, or only those inside a
 * list of regions when the file has a .tbi/.csi index. For each record the
 * caller first sees the site (chromosome, position, alleles, FILTER) and then
 * asks for what it needs: per-sample allele dosages (from GT, DS or GP), the
 * called genotypes, a FORMAT integer (GQ, DP) or an INFO string.
 *
 * Speed. BGZF blocks are decompressed on `n_threads` threads. A site filter
 * (mmdx_vcf_set_filter) lets the reader skip a text record after reading only
 * its CHROM and POS, so that a score touching 1 site in 5 does not pay for
 * parsing the other 4. For text VCF with GT/DS/GP requested in "fast" mode the
 * sample columns are parsed directly from the line; everything else (BCF,
 * FORMAT integers, INFO) goes through htslib's own parser. Both paths give
 * the same numbers (tests check it).
 *
 * Genotype conventions (those of PLINK 2's VCF import, so that scores agree):
 * a call with any missing allele ("./1") is missing; a haploid call "1"
 * counts as homozygous ("1/1"); dosage of allele a is the number of copies of
 * a (0..2), or with DS the dosage of that ALT (REF = 2 - sum of ALT DS), or
 * with GP the expected copies. Polyploid calls (ploidy > 2) are refused.
 *
 * Errors name the file and the line (text VCF) or chromosome:position.
 * Thread-safety: a reader is used by one thread at a time.
 */
#ifndef MMDX_GENOMICS_VCF_H
#define MMDX_GENOMICS_VCF_H

#include <stddef.h>
#include <stdint.h>

#include "mmdx/common.h"

typedef struct mmdx_vcf mmdx_vcf;

/** Where per-sample dosages come from. */
typedef enum mmdx_dosage_source {
    MMDX_DOSAGE_GT = 0, /**< hard calls */
    MMDX_DOSAGE_DS = 1, /**< FORMAT/DS (ALT dosage, Number=A) */
    MMDX_DOSAGE_GP = 2  /**< FORMAT/GP (genotype probabilities, Number=G) */
} mmdx_dosage_source;

/** A record's site. Strings are owned by the reader and valid until the next mmdx_vcf_next(). */
typedef struct mmdx_vcf_site {
    const char *chrom;           /**< as written in the file */
    int64_t pos;                 /**< 1-based */
    const char *id;              /**< "." when none */
    size_t n_alleles;            /**< REF + ALTs */
    const char *const *alleles;  /**< [0] is REF */
    int filter_pass;             /**< 1 when FILTER is PASS or "." */
    long line;                   /**< physical line of a text VCF, record number of a BCF, 0 under a region query */
} mmdx_vcf_site;

/** A region, 1-based inclusive. `chrom` is matched with or without a "chr" prefix. */
typedef struct mmdx_region {
    const char *chrom;
    int64_t beg;
    int64_t end;
} mmdx_region;

/**
 * Site filter: return 1 to read the record, 0 to skip it. `chrom` is the
 * name as written (not NUL-terminated: `chrom_len` bytes); `id` likewise.
 */
typedef int (*mmdx_vcf_filter_fn)(void *ctx, const char *chrom, size_t chrom_len, int64_t pos,
                                  const char *id, size_t id_len);

/**
 * Open a VCF (plain or gzip/BGZF-compressed) or BCF file and read its header.
 * `n_threads` >= 1 threads decompress BGZF. `fast_text` enables the direct
 * parser of text sample columns for dosages (0 forces htslib's parser).
 * Errors: MMDX_ENOTFOUND (no such file), MMDX_EFORMAT (not VCF/BCF, bad
 * header), MMDX_EIO, MMDX_ENOMEM. *out is owned by the caller: mmdx_vcf_free().
 */
MMDX_RESULT_USED int mmdx_vcf_open(mmdx_vcf **out, const char *path, int n_threads, int fast_text,
                                   mmdx_error *err);

/** Close and free. NULL is a no-op. */
void mmdx_vcf_free(mmdx_vcf *v);

/** The path given at open. Borrowed. */
const char *mmdx_vcf_path(const mmdx_vcf *v);

size_t mmdx_vcf_n_samples(const mmdx_vcf *v);
const char *mmdx_vcf_sample_name(const mmdx_vcf *v, size_t i);

/** Index of a sample by exact name, or -1. */
long mmdx_vcf_sample_index(const mmdx_vcf *v, const char *name);

/** 1 when a .tbi/.csi index was found for the file. */
int mmdx_vcf_has_index(const mmdx_vcf *v);

/**
 * Number of records the index counts (its per-chromosome statistics), or -1
 * when there is no index or it keeps no counts. Lets a caller judge whether a
 * region query skips enough of the file to beat streaming it.
 */
int64_t mmdx_vcf_indexed_records(const mmdx_vcf *v);

/** Install a site filter (NULL removes it). Borrowed ctx. */
void mmdx_vcf_set_filter(mmdx_vcf *v, mmdx_vcf_filter_fn fn, void *ctx);

/**
 * Restrict reading to records whose POS lies in one of `regions` (copied;
 * overlapping regions are merged). Needs an index: MMDX_EUNSUPPORTED naming
 * the file when there is none. Chromosomes absent from the file are skipped.
 * Must be called before the first mmdx_vcf_next().
 */
MMDX_RESULT_USED int mmdx_vcf_set_regions(mmdx_vcf *v, const mmdx_region *regions, size_t n,
                                          mmdx_error *err);

/**
 * Advance to the next record the filter accepts. Returns 1 and fills *site,
 * 0 at the end, or a negative code (malformed record: MMDX_EFORMAT naming
 * file and line).
 */
MMDX_RESULT_USED int mmdx_vcf_next(mmdx_vcf *v, mmdx_vcf_site *site, mmdx_error *err);

/**
 * Dosages of every allele for every sample at the current record:
 * out[a * n_samples + s] for allele a (0 = REF), NaN when missing; `out`
 * holds n_alleles * n_samples doubles (caller-owned). With `quantize`, DS/GP
 * dosages are rounded to multiples of 1/16384 as PLINK 2 stores them.
 * Errors: MMDX_EFORMAT (bad value, allele index out of range, wrong number
 * of sample columns), MMDX_EUNSUPPORTED (ploidy > 2), MMDX_ENOTFOUND when the
 * FORMAT field is not defined for the record (then all are NaN and the code
 * is returned so the caller can decide).
 */
MMDX_RESULT_USED int mmdx_vcf_dosages(mmdx_vcf *v, mmdx_dosage_source src, int quantize,
                                      double *out, mmdx_error *err);

/**
 * Called genotypes at the current record: *gt points at 2 * n_samples
 * allele indexes (haploid calls doubled, -1 = missing call), owned by the
 * reader until the next record. Errors as mmdx_vcf_dosages().
 */
MMDX_RESULT_USED int mmdx_vcf_genotypes(mmdx_vcf *v, const int32_t **gt, mmdx_error *err);

/**
 * One integer per sample from a FORMAT field (GQ, DP) at the current record:
 * *vals points at n_samples values owned by the reader, INT32_MIN where
 * missing. Returns 0, or MMDX_ENOTFOUND when the record lacks the field
 * (*vals = NULL), or MMDX_EFORMAT.
 */
MMDX_RESULT_USED int mmdx_vcf_format_int(mmdx_vcf *v, const char *key, const int32_t **vals,
                                         mmdx_error *err);

/**
 * An INFO field of the current record as text (e.g. CLNSIG), owned by the
 * reader until the next record; *val = NULL when absent. Flags give "".
 */
MMDX_RESULT_USED int mmdx_vcf_info_string(mmdx_vcf *v, const char *key, const char **val,
                                          mmdx_error *err);

#endif
