/*
 * SPDX-License-Identifier: Apache-2.0 — our glue around htslib's VCF reader:
 * the direct text parser of GT/DS/GP, the htslib path, INFO/FORMAT access and
 * the ClinVar term parser, on a VCF held in memory (an anonymous memfd, so
 * htslib opens it like a file without touching the disk).
 */
#define _GNU_SOURCE
#include <htslib/hts_log.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_memfile.h"
#include "panel.h"
#include "vcf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_all(const char *path, int fast)
{
    mmdx_vcf *v;
    mmdx_error e = {0};
    if (mmdx_vcf_open(&v, path, 1, fast, &e) < 0)
        return;
    size_t n = mmdx_vcf_n_samples(v);
    double *d = malloc((16 * n + 1) * sizeof *d);
    static const char *terms[] = {"Pathogenic", "Likely_pathogenic", "5"};
    mmdx_vcf_site s;
    int records = 0;
    while (d && records++ < 1000 && mmdx_vcf_next(v, &s, &e) == 1) {
        const int32_t *gt, *gq;
        const char *info;
        if (s.n_alleles > 16)
            continue;
        /* each call may fail on bad input; it must not crash or leak */
        for (int src = 0; src < 4; src++) {
            e.message[0] = '\0';
            int rc = src < 3 ? mmdx_vcf_dosages(v, (mmdx_dosage_source)src, src & 1, d, &e)
                             : mmdx_vcf_genotypes(v, &gt, &e);
            if (rc < 0 && e.message[0] == '\0')
                abort(); /* a failure always carries a message */
        }
        if (mmdx_vcf_format_int(v, "GQ", &gq, &e) == 0 && !gq)
            abort();
        if (mmdx_vcf_info_string(v, "CLNSIG", &info, &e) == 0 && info)
            for (size_t a = 1; a < s.n_alleles; a++)
                (void)mmdx_clnsig_is_pathogenic(info, s.n_alleles - 1, a, terms, 3);
    }
    free(d);
    mmdx_vcf_free(v);
}

/* Each reader in turn: the fast text one, then htslib's. */
static void read_both(const char *path, void *ctx)
{
    (void)ctx;
    read_all(path, 1);
    read_all(path, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hts_set_log_level(HTS_LOG_OFF);
    mmdx_fuzz_as_file(data, size, read_both, NULL);
    return 0;
}
