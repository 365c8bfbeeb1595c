/*
 * SPDX-License-Identifier: Apache-2.0 — differential fuzzing of the two VCF
 * readers: the fast text reader (genomics/vcf_text.c, vcf_lines.c) and the
 * htslib path, on the same file held in memory (an anonymous memfd). Where
 * both read a record and both compute its GT, DS or GP dosages, the site and
 * every value must be the same to the bit, or the target aborts with both
 * readers' figures.
 *
 * Where only one of them fails, nothing is asserted: the fast reader parses
 * only the fields asked for (a broken GP does not stop a GT score, where
 * htslib refuses the whole record) and is stricter where htslib is lenient
 * (more sample columns than the header names, a NUL byte inside a field,
 * which htslib takes as the field's end: text inputs with a NUL are skipped).
 * That both fail cleanly is fuzz_genomics_vcf's job.
 */
#define _GNU_SOURCE
#include <htslib/hts_log.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_memfile.h"
#include "vcf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_RECORDS = 200, MAX_ALLELES = 16 };

static void differ(const char *what, int rec, int src, size_t i, double fast, double htslib)
{
    fprintf(stderr, "readers differ: %s, record %d, source %d, value %zu: fast %.17g, htslib %.17g\n", what, rec, src,
            i, fast, htslib);
    abort();
}

static void compare(const char *path, void *ctx)
{
    (void)ctx;
    mmdx_vcf *fast = NULL, *hts = NULL;
    mmdx_error ef = {0}, eh = {0};
    int rf = mmdx_vcf_open(&fast, path, 1, 1, &ef), rh = mmdx_vcf_open(&hts, path, 1, 0, &eh);
    if ((rf < 0) != (rh < 0)) /* the header is htslib's in both */
        differ("open", -1, -1, 0, rf, rh);
    if (rf < 0)
        return;
    size_t n = mmdx_vcf_n_samples(fast);
    double *df = malloc((MAX_ALLELES * n + 1) * sizeof *df), *dh = malloc((MAX_ALLELES * n + 1) * sizeof *dh);
    for (int rec = 0; df && dh && rec < MAX_RECORDS; rec++) {
        mmdx_vcf_site sf, sh;
        rf = mmdx_vcf_next(fast, &sf, &ef);
        rh = mmdx_vcf_next(hts, &sh, &eh);
        if (rf != 1 || rh != 1)
            break;
        if (sf.pos != sh.pos)
            differ("position", rec, -1, 0, (double)sf.pos, (double)sh.pos);
        if (sf.n_alleles != sh.n_alleles)
            differ("alleles", rec, -1, 0, (double)sf.n_alleles, (double)sh.n_alleles);
        if (sf.n_alleles > MAX_ALLELES)
            continue;
        for (int src = MMDX_DOSAGE_GT; src <= MMDX_DOSAGE_GP; src++) {
            /* unquantised: PLINK's 1/16384 grid would hide a difference */
            int x = mmdx_vcf_dosages(fast, (mmdx_dosage_source)src, 0, df, &ef);
            int y = mmdx_vcf_dosages(hts, (mmdx_dosage_source)src, 0, dh, &eh);
            if (x != 0 || y != 0)
                continue;
            for (size_t i = 0; i < sf.n_alleles * n; i++)
                if (!((isnan(df[i]) && isnan(dh[i])) || df[i] == dh[i]))
                    differ("dosage", rec, src, i, df[i], dh[i]);
        }
    }
    free(df);
    free(dh);
    mmdx_vcf_free(fast);
    mmdx_vcf_free(hts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hts_set_log_level(HTS_LOG_OFF);
    int compressed_or_bcf = size >= 3 && ((data[0] == 0x1f && data[1] == 0x8b) || memcmp(data, "BCF", 3) == 0);
    if (!compressed_or_bcf && memchr(data, 0, size))
        return 0;
    mmdx_fuzz_as_file(data, size, compare, NULL);
    return 0;
}
