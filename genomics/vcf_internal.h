/*
 * genomics/vcf_internal.h — the reader's state, shared by vcf.c (htslib
 * side) and vcf_text.c (direct parsing of text sample columns).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_GENOMICS_VCF_INTERNAL_H
#define MMDX_GENOMICS_VCF_INTERNAL_H

#include <htslib/bgzf.h>
#include <htslib/hts.h>
#include <htslib/kstring.h>
#include <htslib/tbx.h>
#include <htslib/vcf.h>

#include "vcf.h"

typedef struct mmdx_vcf__region {
    int tid;
    int64_t beg, end; /* 1-based inclusive */
} mmdx_vcf__region;

struct mmdx_vcf {
    char *path;
    htsFile *fp;
    bcf_hdr_t *hdr;
    bcf1_t *rec;
    int is_bcf;
    int fast_text;
    size_t n_samples;

    tbx_t *tbx;       /* text VCF index */
    hts_idx_t *idx;   /* BCF index */
    mmdx_vcf__region *regions;
    size_t n_regions, region_next;
    hts_itr_t *itr;
    int use_regions;
    int started;

    kstring_t line;     /* current text record, once accepted (see rec_s) */
    const char *rec_s;  /* text of the current record: v->line.s or a span of buf */
    size_t rec_l;
    BGZF *bgzf;         /* compressed text streamed through buf (vcf_lines.c), else NULL */
    char *buf;
    size_t buf_cap, buf_beg, buf_end;
    int buf_eof;
    int pending;        /* `line` holds the first record, read while parsing the header */
    long lineno;        /* physical line of `line` */
    long recno;

    mmdx_vcf_filter_fn filter;
    void *filter_ctx;

    /* current site */
    kstring_t chrom, id, allele_text;
    char **alleles;
    size_t allele_cap;
    mmdx_vcf_site site;
    int rec_parsed;     /* rec holds the current record, unpacked */

    /* text columns of the current line: start offsets of the first 9 columns and of the samples */
    size_t col[9], col_len[9];
    size_t samples_off;
    int n_cols;         /* columns found up to FORMAT (<= 9) */

    /* scratch */
    int32_t *hgt;  int hgt_cap;   /* bcf_get_genotypes */
    float *hf;     int hf_cap;    /* bcf_get_format_float */
    int32_t *hi;   int hi_cap;    /* bcf_get_format_int32 / info */
    char *hs;      int hs_cap;    /* bcf_get_info_string */
    int32_t *gt;                  /* 2 * n_samples normalised calls */
    int32_t *ivals;               /* n_samples */
    kstring_t info_text;
};

/* Location of the current record for messages: "file: line N" or "file: chr:pos". */
void mmdx_vcf__where(const mmdx_vcf *v, char *buf, size_t size);

/* vcf_lines.c: stream lines of compressed text through v->buf (no-op for
   other files: v->bgzf stays NULL); 0 or MMDX_ENOMEM. */
int mmdx_vcf__lines_init(mmdx_vcf *v);

/* vcf_lines.c: the next line (without its newline) in *s, *l, valid until
   the next call: 1, 0 at the end, MMDX_EIO or MMDX_ENOMEM. */
int mmdx_vcf__lines_next(mmdx_vcf *v, const char **s, size_t *l);

/* vcf_text.c: split CHROM..FORMAT of the current record (v->rec_s); 0 or MMDX_EFORMAT. */
int mmdx_vcf__text_split(mmdx_vcf *v, mmdx_error *err);

/* vcf_text.c: dosages / genotypes parsed from the text sample columns. */
int mmdx_vcf__text_dosages(mmdx_vcf *v, mmdx_dosage_source src, int quantize, double *out,
                           mmdx_error *err);
int mmdx_vcf__text_genotypes(mmdx_vcf *v, mmdx_error *err);

/* Round a dosage to PLINK 2's storage resolution (1/16384). */
double mmdx_vcf__quantize(double d);

/* Fill GP-derived dosages of sample s from `p` (n_p probabilities), NaN on missing. */
int mmdx_vcf__gp_dosage(const double *p, size_t n_p, size_t n_alleles, size_t n_samples, size_t s,
                        int quantize, double *out);

/*
 * Sample s's dosages of the current site (out: n_alleles x n_samples) from
 * its FORMAT/DS or FORMAT/GP values p[0..k), already as htslib's floats; a
 * wrong count or a value out of range is an MMDX_EFORMAT naming the record
 * and the sample. Both VCF readers (htslib's and the fast text one) use it.
 */
int mmdx_vcf__sample_dosage(const mmdx_vcf *v, mmdx_dosage_source src, size_t s, const double *p, size_t k,
                            int quantize, double *out, mmdx_error *err);

#endif
