/* SPDX-License-Identifier: Apache-2.0 */
#include "scan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "vcf.h"

void mmdx_scan_result_free(mmdx_scan_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->samples && i < r->n_samples; i++)
        free(r->samples[i]);
    free(r->samples);
    free(r->prs_sum);
    free(r->prs_stats);
    free(r->panel_het);
    free(r->panel_hom);
    free(r->call_rate);
    free(r->het_ratio);
    free(r->titv);
    free(r->n_nonref);
    free(r);
}

long mmdx_scan_result_sample(const mmdx_scan_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_samples; i++)
        if (strcmp(r->samples[i], name) == 0)
            return (long)i;
    return -1;
}

typedef struct scan_ctx {
    mmdx_prs *prs;
    const mmdx_scan_settings *s;
} scan_ctx;

static int scan_filter(void *ctx_, const char *chrom, size_t chrom_len, int64_t pos, const char *id,
                       size_t id_len)
{
    scan_ctx *ctx = ctx_;
    if (ctx->prs && mmdx_prs_filter(ctx->prs, chrom, chrom_len, pos, id, id_len))
        return 1;
    if (ctx->s->n_panels) {
        char buf[256];
        if (chrom_len >= sizeof buf)
            return 0;
        memcpy(buf, chrom, chrom_len);
        buf[chrom_len] = '\0';
        for (size_t i = 0; i < ctx->s->n_panels; i++)
            if (mmdx_panel_contains(ctx->s->panels[i], buf, pos))
                return 1;
    }
    return 0;
}

static int is_transition(char a, char b)
{
    return (a == 'A' && b == 'G') || (a == 'G' && b == 'A') || (a == 'C' && b == 'T') ||
           (a == 'T' && b == 'C');
}

static int snv_base(const char *a) { return a[0] && !a[1] && strchr("ACGT", a[0]) != NULL; }

/* Called genotype of sample i under the GQ/DP thresholds. */
static int called(const int32_t *gt, const int32_t *gq, const int32_t *dp, const mmdx_scan_settings *s,
                  size_t i)
{
    if (gt[2 * i] < 0)
        return 0;
    if (gq && s->min_gq > 0 && (gq[i] == INT32_MIN || gq[i] < s->min_gq))
        return 0;
    if (dp && s->min_dp > 0 && (dp[i] == INT32_MIN || dp[i] < s->min_dp))
        return 0;
    return 1;
}

/* GQ and DP of the current record; the reader reuses one buffer, so GQ is copied to gq_buf. */
static int quality_fields(mmdx_vcf *v, const mmdx_scan_settings *s, int32_t *gq_buf, size_t n,
                          const int32_t **gq, const int32_t **dp, mmdx_error *err)
{
    *gq = *dp = NULL;
    int ret;
    if (s->min_gq > 0) {
        if ((ret = mmdx_vcf_format_int(v, "GQ", gq, err)) < 0 && ret != MMDX_ENOTFOUND)
            return ret;
        if (*gq) {
            memcpy(gq_buf, *gq, n * sizeof *gq_buf);
            *gq = gq_buf;
        }
    }
    if (s->min_dp > 0 && (ret = mmdx_vcf_format_int(v, "DP", dp, err)) < 0 && ret != MMDX_ENOTFOUND)
        return ret;
    return 0;
}

int mmdx_scan_file(mmdx_scan_result **out, const char *path, const mmdx_scan_settings *s,
                   mmdx_error *err)
{
    *out = NULL;
    mmdx_vcf *v = NULL;
    mmdx_prs *prs = NULL;
    mmdx_scan_result *r = NULL;
    uint64_t *ti = NULL, *tv = NULL, *het = NULL, *hom = NULL, *ncalled = NULL;
    int32_t *gq_buf = NULL;
    uint64_t n_qc_records = 0;
    int rc = mmdx_vcf_open(&v, path, s->n_threads > 0 ? s->n_threads : 1, 1, err);
    if (rc < 0)
        return rc;
    size_t n = mmdx_vcf_n_samples(v);
    r = calloc(1, sizeof *r);
    if (!r)
        goto nomem;
    r->n_samples = n;
    r->n_scores = s->n_scores;
    r->n_panels = s->n_panels;
    r->samples = calloc(n ? n : 1, sizeof *r->samples);
    r->prs_sum = calloc((s->n_scores ? s->n_scores : 1) * (n ? n : 1), sizeof *r->prs_sum);
    r->prs_stats = calloc(s->n_scores ? s->n_scores : 1, sizeof *r->prs_stats);
    r->panel_het = calloc((s->n_panels ? s->n_panels : 1) * (n ? n : 1), sizeof *r->panel_het);
    r->panel_hom = calloc((s->n_panels ? s->n_panels : 1) * (n ? n : 1), sizeof *r->panel_hom);
    r->call_rate = calloc(n ? n : 1, sizeof *r->call_rate);
    r->het_ratio = calloc(n ? n : 1, sizeof *r->het_ratio);
    r->titv = calloc(n ? n : 1, sizeof *r->titv);
    r->n_nonref = calloc(n ? n : 1, sizeof *r->n_nonref);
    ti = calloc(n ? n : 1, sizeof *ti);
    tv = calloc(n ? n : 1, sizeof *tv);
    het = calloc(n ? n : 1, sizeof *het);
    hom = calloc(n ? n : 1, sizeof *hom);
    ncalled = calloc(n ? n : 1, sizeof *ncalled);
    gq_buf = calloc(n ? n : 1, sizeof *gq_buf);
    if (!gq_buf || !r->samples || !r->prs_sum || !r->prs_stats || !r->panel_het || !r->panel_hom ||
        !r->call_rate || !r->het_ratio || !r->titv || !r->n_nonref || !ti || !tv || !het || !hom ||
        !ncalled)
        goto nomem;
    for (size_t i = 0; i < n; i++)
        if (!(r->samples[i] = strdup(mmdx_vcf_sample_name(v, i))))
            goto nomem;
    if (s->n_scores && (rc = mmdx_prs_new(&prs, s->scores, s->n_scores, n, &s->prs, err)) < 0)
        goto fail;

    scan_ctx ctx = {prs, s};
    if (!s->qc) {
        /* Without QC only scored and panel records matter: read them through the index when there is one. */
        mmdx_region *rg = NULL;
        size_t nr = 0;
        int positioned = 1;
        if (prs) {
            if (mmdx_prs_regions(prs, &rg, &nr) < 0)
                goto nomem;
            positioned = nr > 0;
            if (!positioned) {
                /* some rows match by rsID only: the whole file is needed */
                free(rg);
                rg = NULL;
                nr = 0;
            }
        }
        size_t cap_rg = nr; /* at least what mmdx_prs_regions allocated */
        for (size_t i = 0; positioned && i < s->n_panels; i++) {
            mmdx_region *pr;
            size_t np;
            if (mmdx_panel_regions(s->panels[i], &pr, &np) < 0) {
                free(rg);
                goto nomem;
            }
            if (mmdx_array_reserve(&rg, &cap_rg, nr + np + 1, sizeof *rg, 16, 0) < 0) {
                free(pr);
                free(rg);
                goto nomem;
            }
            memcpy(rg + nr, pr, np * sizeof *pr);
            nr += np;
            free(pr);
        }
        int use = s->prs.use_index < 0 ? mmdx_vcf_has_index(v) : s->prs.use_index;
        if (positioned && use && nr > 0)
            rc = mmdx_vcf_set_regions(v, rg, nr, err);
        free(rg);
        if (rc < 0)
            goto fail;
        mmdx_vcf_set_filter(v, scan_filter, &ctx);
    }

    mmdx_vcf_site site;
    while ((rc = mmdx_vcf_next(v, &site, err)) > 0) {
        r->n_records++;
        if (prs && (rc = mmdx_prs_site(prs, v, &site, err)) < 0)
            goto fail;
        if (s->pass_only && !site.filter_pass)
            continue;
        const int32_t *gt = NULL, *gq = NULL, *dp = NULL;
        int have_quality = 0;
        if (s->qc) {
            if ((rc = mmdx_vcf_genotypes(v, &gt, err)) < 0 && rc != MMDX_ENOTFOUND)
                goto fail;
            if ((rc = quality_fields(v, s, gq_buf, n, &gq, &dp, err)) < 0)
                goto fail;
            have_quality = 1;
            n_qc_records++;
            for (size_t i = 0; i < n; i++) {
                if (!called(gt, gq, dp, s, i))
                    continue;
                int32_t a0 = gt[2 * i], a1 = gt[2 * i + 1];
                ncalled[i]++;
                if (a0 != a1)
                    het[i]++;
                else if (a0 != 0)
                    hom[i]++;
                if (a0 == 0 && a1 == 0)
                    continue;
                r->n_nonref[i]++;
                const char *ref = site.alleles[0];
                for (int k = 0; k < 2; k++) {
                    int32_t a = k == 0 ? a0 : a1;
                    if (a <= 0 || (k == 1 && a1 == a0))
                        continue;
                    const char *alt = site.alleles[a];
                    if (!snv_base(ref) || !snv_base(alt))
                        continue;
                    if (is_transition(ref[0], alt[0]))
                        ti[i]++;
                    else
                        tv[i]++;
                }
            }
        }
        for (size_t pi = 0; pi < s->n_panels; pi++) {
            if (!mmdx_panel_contains(s->panels[pi], site.chrom, site.pos) || site.n_alleles < 2)
                continue;
            const char *val;
            if ((rc = mmdx_vcf_info_string(v, s->clnsig_field, &val, err)) < 0)
                goto fail;
            if (!val)
                continue;
            for (size_t a = 1; a < site.n_alleles; a++) {
                if (!mmdx_clnsig_is_pathogenic(val, site.n_alleles - 1, a, s->terms, s->n_terms))
                    continue;
                if (!gt && (rc = mmdx_vcf_genotypes(v, &gt, err)) < 0 && rc != MMDX_ENOTFOUND)
                    goto fail;
                if (!have_quality) {
                    if ((rc = quality_fields(v, s, gq_buf, n, &gq, &dp, err)) < 0)
                        goto fail;
                    have_quality = 1;
                }
                for (size_t i = 0; i < n; i++) {
                    if (!called(gt, gq, dp, s, i))
                        continue;
                    int copies = (gt[2 * i] == (int32_t)a) + (gt[2 * i + 1] == (int32_t)a);
                    if (copies == 1)
                        r->panel_het[pi * n + i]++;
                    else if (copies == 2)
                        r->panel_hom[pi * n + i]++;
                }
            }
        }
    }
    if (rc < 0)
        goto fail;
    if (prs) {
        if ((rc = mmdx_prs_finish(prs, err)) < 0)
            goto fail;
        if ((rc = mmdx_prs_check_overlap(prs, err)) < 0) {
            char msg[MMDX_ERROR_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "%s", err->message);
            mmdx_error_set(err, rc, "%s: %s", path, msg);
            goto fail;
        }
        for (size_t k = 0; k < s->n_scores; k++) {
            mmdx_prs_get_stats(prs, k, &r->prs_stats[k]);
            for (size_t i = 0; i < n; i++)
                r->prs_sum[k * n + i] = mmdx_prs_sum(prs, k, i);
        }
    }
    for (size_t i = 0; i < n; i++) {
        r->call_rate[i] = s->qc && n_qc_records ? (double)ncalled[i] / (double)n_qc_records : NAN;
        r->het_ratio[i] = s->qc && hom[i] ? (double)het[i] / (double)hom[i] : NAN;
        r->titv[i] = s->qc && tv[i] ? (double)ti[i] / (double)tv[i] : NAN;
    }
    rc = 0;
    *out = r;
    r = NULL;
    goto done;
nomem:
    rc = mmdx_error_set(err, MMDX_ENOMEM, "%s: out of memory", path);
fail:
    mmdx_scan_result_free(r);
done:
    free(ti);
    free(tv);
    free(het);
    free(hom);
    free(ncalled);
    free(gq_buf);
    mmdx_prs_free(prs);
    mmdx_vcf_free(v);
    return rc;
}
