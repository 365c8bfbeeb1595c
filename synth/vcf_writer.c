/* SPDX-License-Identifier: Apache-2.0 */
/* One sample's VCF, BGZF-compressed and tabix-indexed, through htslib. */
#include <htslib/hts.h>
#include <htslib/tbx.h>
#include <htslib/vcf.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "writers.h"

static int header(bcf_hdr_t *h, const char *sample)
{
    char line[160];
    int rc = 0;
    rc |= bcf_hdr_append(h, "##source=mmdx-synth");
    for (int c = 1; c <= 22; c++) {
        snprintf(line, sizeof line, "##contig=<ID=%d,length=%lld,assembly=GRCh38>", c,
                 (long long)mmdx_synth_chrom_length(c));
        rc |= bcf_hdr_append(h, line);
    }
    rc |= bcf_hdr_append(h, "##INFO=<ID=CLNSIG,Number=.,Type=String,Description=\"Clinical significance (ClinVar style)\">");
    rc |= bcf_hdr_append(h, "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">");
    rc |= bcf_hdr_append(h, "##FORMAT=<ID=DP,Number=1,Type=Integer,Description=\"Read depth\">");
    rc |= bcf_hdr_append(h, "##FORMAT=<ID=GQ,Number=1,Type=Integer,Description=\"Genotype quality\">");
    rc |= bcf_hdr_add_sample(h, sample);
    rc |= bcf_hdr_sync(h);
    return rc;
}

int mmdx_synth__write_vcf(const char *path, const mmdx_synth_patient *p)
{
    htsFile *fp = hts_open(path, "wz");
    if (!fp)
        return mmdx_fail(MMDX_EIO, "%s: cannot create", path);
    bcf_hdr_t *h = bcf_hdr_init("w");
    bcf1_t *rec = bcf_init();
    int rc = 0;
    if (!h || !rec || header(h, p->id) != 0) {
        rc = mmdx_fail(MMDX_ENOMEM, "%s: cannot build the VCF header", path);
        goto done;
    }
    if (bcf_hdr_write(fp, h) != 0) {
        rc = mmdx_fail(MMDX_EIO, "%s: write failed", path);
        goto done;
    }
    const mmdx_synth_site *sites = mmdx_synth_sites();
    int pass = bcf_hdr_id2int(h, BCF_DT_ID, "PASS");
    for (size_t i = 0; i < MMDX_SYNTH_N_SITES && rc == 0; i++) {
        const mmdx_synth_site *s = &sites[i];
        char chrom[4], alleles[4] = {s->ref, ',', s->alt, '\0'};
        snprintf(chrom, sizeof chrom, "%d", s->chrom);
        bcf_clear(rec);
        rec->rid = bcf_hdr_name2id(h, chrom);
        rec->pos = s->pos - 1;
        rec->qual = 60;
        int g = p->genotype[i];
        int32_t gt[2] = {bcf_gt_unphased(g >= 1 && g == 2), bcf_gt_unphased(g >= 1)};
        /* Depth and quality vary by site and patient but need no randomness. */
        int32_t dp = 18 + (int32_t)((i * 7 + p->index * 13) % 23), gq = 60 + (int32_t)((i + p->index) % 40);
        if (bcf_update_id(h, rec, s->rsid) < 0 || bcf_update_alleles_str(h, rec, alleles) < 0 ||
            bcf_add_filter(h, rec, pass) < 0 ||
            (s->pathogenic && bcf_update_info_string(h, rec, "CLNSIG", "Pathogenic") < 0) ||
            bcf_update_genotypes(h, rec, gt, 2) < 0 || bcf_update_format_int32(h, rec, "DP", &dp, 1) < 0 ||
            bcf_update_format_int32(h, rec, "GQ", &gq, 1) < 0)
            rc = mmdx_fail(MMDX_ENOMEM, "%s: cannot build record %s:%lld", path, chrom, (long long)s->pos);
        else if (bcf_write(fp, h, rec) != 0)
            rc = mmdx_fail(MMDX_EIO, "%s: write failed", path);
    }
done:
    bcf_destroy(rec);
    if (h)
        bcf_hdr_destroy(h);
    if (hts_close(fp) != 0 && rc == 0)
        rc = mmdx_fail(MMDX_EIO, "%s: write failed on close", path);
    if (rc == 0 && tbx_index_build(path, 0, &tbx_conf_vcf) != 0)
        rc = mmdx_fail(MMDX_EIO, "%s: cannot write the tabix index", path);
    return rc;
}
