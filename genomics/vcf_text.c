/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Direct parsing of text VCF records. htslib's vcf_parse() converts every
 * FORMAT field of every sample to binary; a score needs one field (GT, DS or
 * GP) of the records it scores, so reading that field straight from the line
 * is several times faster. Anything unusual is an error naming the line, and
 * the test suite checks these results against htslib's parser.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "vcf_internal.h"

static int bad(mmdx_vcf *v, mmdx_error *err, int code, const char *what)
{
    char where[512];
    mmdx_vcf__where(v, where, sizeof where);
    return mmdx_error_set(err, code, "%s: %s", where, what);
}

int mmdx_vcf__text_split(mmdx_vcf *v, mmdx_error *err)
{
    const char *s = v->rec_s;
    size_t l = v->rec_l, start = 0;
    int c = 0;
    v->samples_off = l;
    v->site.chrom = NULL;
    while (c < 9) {
        const char *t = memchr(s + start, '\t', l - start);
        size_t end = t ? (size_t)(t - s) : l;
        v->col[c] = start;
        v->col_len[c] = end - start;
        c++;
        if (!t)
            break;
        start = end + 1;
        if (c == 9)
            v->samples_off = start;
    }
    v->n_cols = c;
    if (c < 8) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "%d tab-separated column%s, a VCF record needs at least 8 (CHROM to INFO)", c,
                 c == 1 ? "" : "s");
        return bad(v, err, MMDX_EFORMAT, msg);
    }
    if (v->col_len[0] == 0)
        return bad(v, err, MMDX_EFORMAT, "empty CHROM");
    const char *p = s + v->col[1];
    size_t pl = v->col_len[1];
    int64_t pos = 0;
    if (pl == 0 || pl > 15)
        return bad(v, err, MMDX_EFORMAT, "POS is not a positive integer");
    for (size_t i = 0; i < pl; i++) {
        if (p[i] < '0' || p[i] > '9')
            return bad(v, err, MMDX_EFORMAT, "POS is not a positive integer");
        pos = pos * 10 + (p[i] - '0');
    }
    if (pos <= 0)
        return bad(v, err, MMDX_EFORMAT, "POS is not a positive integer");
    v->site.pos = pos;
    if (v->col_len[3] == 0 || v->col_len[4] == 0)
        return bad(v, err, MMDX_EFORMAT, "empty REF or ALT column");
    return 0;
}

/* Index of `key` among the ':'-separated FORMAT keys, or -1. */
static int format_index(mmdx_vcf *v, const char *key)
{
    if (v->n_cols < 9)
        return -1;
    const char *f = v->line.s + v->col[8];
    size_t fl = v->col_len[8], kl = strlen(key), i = 0;
    int idx = 0;
    while (i <= fl) {
        size_t j = i;
        while (j < fl && f[j] != ':')
            j++;
        if (j - i == kl && memcmp(f + i, key, kl) == 0)
            return idx;
        idx++;
        i = j + 1;
    }
    return -1;
}

/*
 * Walk the sample columns, calling `each` with the bounds of subfield `k` of
 * each sample (empty when the sample has fewer subfields). Checks the number
 * of columns against the header.
 */
typedef int (*field_fn)(mmdx_vcf *v, size_t s, const char *b, const char *e, void *ctx,
                        mmdx_error *err);

static int for_each_sample(mmdx_vcf *v, int k, field_fn each, void *ctx, mmdx_error *err)
{
    const char *s = v->line.s, *end = s + v->line.l;
    const char *p = s + v->samples_off;
    size_t n = v->n_samples;
    if (n > 0 && (v->n_cols < 9 || v->samples_off >= v->line.l)) {
        char msg[160];
        snprintf(msg, sizeof msg, "no sample columns, the header names %zu sample%s", n,
                 n == 1 ? "" : "s");
        return bad(v, err, MMDX_EFORMAT, msg);
    }
    for (size_t i = 0; i < n; i++) {
        if (p > end) {
            char msg[160];
            snprintf(msg, sizeof msg, "%zu sample columns, the header names %zu", i, n);
            return bad(v, err, MMDX_EFORMAT, msg);
        }
        /* skip to subfield k of this column */
        const char *b = p;
        int j = 0;
        while (j < k && b < end && *b != '\t') {
            if (*b == ':')
                j++;
            b++;
        }
        const char *e = b;
        if (j < k) {
            e = b; /* trailing subfields dropped: missing */
        } else {
            while (e < end && *e != ':' && *e != '\t')
                e++;
        }
        int ret = each(v, i, j < k ? e : b, e, ctx, err);
        if (ret < 0)
            return ret;
        /* next column */
        const char *t = memchr(e, '\t', (size_t)(end - e));
        if (!t) {
            if (i + 1 < n) {
                char msg[160];
                snprintf(msg, sizeof msg, "%zu sample columns, the header names %zu", i + 1, n);
                return bad(v, err, MMDX_EFORMAT, msg);
            }
            p = end + 1;
        } else {
            p = t + 1;
        }
    }
    if (p <= end) {
        char msg[160];
        snprintf(msg, sizeof msg, "more sample columns than the %zu the header names", n);
        return bad(v, err, MMDX_EFORMAT, msg);
    }
    return 0;
}

static int gt_error(mmdx_vcf *v, size_t s, const char *b, const char *e, int code, const char *why,
                    mmdx_error *err)
{
    char where[512];
    mmdx_vcf__where(v, where, sizeof where);
    return mmdx_error_set(err, code, "%s: sample %s: GT '%.*s' %s", where, v->hdr->samples[s],
                          (int)(e - b > 40 ? 40 : e - b), b, why);
}

static int gt_field(mmdx_vcf *v, size_t s, const char *b, const char *e, void *ctx, mmdx_error *err)
{
    (void)ctx;
    int32_t a[2] = {-1, -1};
    int k = 0, missing = 0;
    const char *p = b;
    if (p == e) {
        v->gt[2 * s] = v->gt[2 * s + 1] = -1;
        return 0;
    }
    for (;;) {
        if (k == 2)
            return gt_error(v, s, b, e, MMDX_EUNSUPPORTED, "has ploidy above 2 (not supported)", err);
        if (p < e && *p == '.') {
            missing = 1;
            p++;
        } else if (p < e && *p >= '0' && *p <= '9') {
            int32_t x = 0;
            while (p < e && *p >= '0' && *p <= '9') {
                x = x * 10 + (*p - '0');
                if (x > 100000)
                    return gt_error(v, s, b, e, MMDX_EFORMAT, "is not a genotype", err);
                p++;
            }
            a[k] = x;
        } else {
            return gt_error(v, s, b, e, MMDX_EFORMAT, "is not a genotype", err);
        }
        k++;
        if (p == e)
            break;
        if (*p != '/' && *p != '|')
            return gt_error(v, s, b, e, MMDX_EFORMAT, "is not a genotype", err);
        p++;
    }
    if (missing) {
        v->gt[2 * s] = v->gt[2 * s + 1] = -1;
        return 0;
    }
    if (k == 1)
        a[1] = a[0];
    if ((size_t)a[0] >= v->site.n_alleles || (size_t)a[1] >= v->site.n_alleles)
        return gt_error(v, s, b, e, MMDX_EFORMAT, "names an allele beyond REF/ALT", err);
    v->gt[2 * s] = a[0];
    v->gt[2 * s + 1] = a[1];
    return 0;
}

/*
 * The common case, GT first in FORMAT: most calls are "a/b" or "a|b" with
 * one-digit alleles. Handle those inline and hand anything else (missing,
 * haploid, multi-digit, malformed) to gt_field. Returns 1 when the whole
 * record was handled, 0 to fall back to the generic walk, <0 on error.
 */
static int gt_first_fast(mmdx_vcf *v, mmdx_error *err)
{
    const char *p = v->line.s + v->samples_off, *end = v->line.s + v->line.l;
    size_t n = v->n_samples, na = v->site.n_alleles;
    if (n == 0 || v->n_cols < 9 || v->samples_off >= v->line.l)
        return 0;
    for (size_t s = 0; s < n; s++) {
        if (p >= end)
            return 0;
        int32_t a0 = p[0] - '0', a1 = p + 2 < end ? p[2] - '0' : -1;
        const char *e = p + 3;
        if (p + 3 <= end && (uint32_t)a0 < 10 && (p[1] == '/' || p[1] == '|') && (uint32_t)a1 < 10 &&
            (e == end || *e == '\t' || *e == ':') && (size_t)a0 < na && (size_t)a1 < na) {
            v->gt[2 * s] = a0;
            v->gt[2 * s + 1] = a1;
        } else {
            e = p;
            while (e < end && *e != ':' && *e != '\t')
                e++;
            int ret = gt_field(v, s, p, e, NULL, err);
            if (ret < 0)
                return ret;
        }
        if (e < end && *e == ':') {
            const char *t = memchr(e, '\t', (size_t)(end - e));
            e = t ? t : end;
        }
        if (s + 1 < n) {
            if (e >= end)
                return 0; /* too few columns: let the generic walk word the error */
            p = e + 1;
        } else if (e != end) {
            return 0; /* surplus columns */
        }
    }
    return 1;
}

/*
 * The commonest layout of all, FORMAT "GT" alone with every call diploid and
 * one character per allele ("0/1", "1|0", "./."): every sample column is 3
 * bytes and a tab, so the calls sit at fixed offsets and can be checked
 * without branches (phasing is random in real files, so a branch on '/'
 * versus '|' mispredicts half the time). The helpers return 1 when every
 * column they saw had that form, 0 otherwise.
 */
static unsigned stride4_scalar(const unsigned char *p, size_t from, size_t n, unsigned lim,
                               int32_t *gt)
{
    unsigned ok = 1;
    for (size_t s = from; s < n; s++) {
        const unsigned char *q = p + 4 * s;
        unsigned c0 = q[0], c1 = q[1], c2 = q[2];
        unsigned tab = s + 1 < n ? q[3] : '\t';
        unsigned d0 = c0 - '0', d2 = c2 - '0';
        unsigned m0 = c0 == '.', m2 = c2 == '.';
        ok &= ((d0 < lim) | m0) & ((d2 < lim) | m2) & ((c1 == '/') | (c1 == '|')) & (tab == '\t');
        int32_t miss = -(int32_t)(m0 | m2); /* all ones when either allele is missing */
        gt[2 * s] = (int32_t)d0 | miss;
        gt[2 * s + 1] = (int32_t)d2 | miss;
    }
    return ok;
}

#if defined(__SSE2__)
/* Four columns (16 bytes) at a time: the same checks and results as stride4_scalar. */
static unsigned stride4_sse2(const unsigned char *p, size_t groups, unsigned lim, int32_t *gt)
{
    const __m128i ones = _mm_set1_epi8(-1), zero = _mm_setzero_si128();
    const __m128i c0 = _mm_set1_epi8('0'), dot = _mm_set1_epi8('.'), slash = _mm_set1_epi8('/'),
                  pipe = _mm_set1_epi8('|'), tab = _mm_set1_epi8('\t');
    const __m128i top = _mm_set1_epi8((char)(lim - 1));
    const __m128i at02 = _mm_set1_epi32(0x00FF00FF), at1 = _mm_set1_epi32(0x0000FF00),
                  at3 = _mm_set1_epi32((int)0xFF000000u), low = _mm_set1_epi32(0xFF);
    __m128i bad = zero;
    for (size_t i = 0; i < groups; i++, p += 16, gt += 8) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i d = _mm_sub_epi8(x, c0);
        __m128i allele = _mm_cmpeq_epi8(_mm_min_epu8(d, top), d); /* d <= lim - 1 */
        __m128i isdot = _mm_cmpeq_epi8(x, dot);
        __m128i sep = _mm_or_si128(_mm_cmpeq_epi8(x, slash), _mm_cmpeq_epi8(x, pipe));
        __m128i good = _mm_or_si128(_mm_and_si128(_mm_or_si128(allele, isdot), at02),
                                    _mm_or_si128(_mm_and_si128(sep, at1),
                                                 _mm_and_si128(_mm_cmpeq_epi8(x, tab), at3)));
        bad = _mm_or_si128(bad, _mm_xor_si128(good, ones));
        __m128i called = _mm_cmpeq_epi32(_mm_and_si128(isdot, at02), zero);
        __m128i miss = _mm_xor_si128(called, ones);
        __m128i a0 = _mm_or_si128(_mm_and_si128(d, low), miss);
        __m128i a1 = _mm_or_si128(_mm_and_si128(_mm_srli_epi32(d, 16), low), miss);
        _mm_storeu_si128((__m128i *)(void *)gt, _mm_unpacklo_epi32(a0, a1));
        _mm_storeu_si128((__m128i *)(void *)(gt + 4), _mm_unpackhi_epi32(a0, a1));
    }
    return _mm_movemask_epi8(bad) == 0;
}
#endif

/* Fills v->gt and returns 1 when the record has the layout above; 0 sends
   the caller to the general path, which words any error. */
static int gt_only_stride4(mmdx_vcf *v)
{
    size_t n = v->n_samples, na = v->site.n_alleles;
    if (n == 0 || v->n_cols < 9 || v->col_len[8] != 2 || v->samples_off >= v->line.l ||
        v->line.l - v->samples_off != 4 * n - 1)
        return 0;
    const unsigned char *p = (const unsigned char *)v->line.s + v->samples_off;
    unsigned lim = na < 10 ? (unsigned)na : 10; /* one-character alleles only */
    size_t from = 0;
    unsigned ok = 1;
#if defined(__SSE2__)
    from = (n - 1) / 4 * 4; /* whole groups of four columns followed by a tab */
    ok = stride4_sse2(p, from / 4, lim, v->gt);
#endif
    ok &= stride4_scalar(p, from, n, lim, v->gt);
    return (int)ok;
}

int mmdx_vcf__text_genotypes(mmdx_vcf *v, mmdx_error *err)
{
    int k = format_index(v, "GT");
    if (k < 0) {
        for (size_t i = 0; i < 2 * v->n_samples; i++)
            v->gt[i] = -1;
        return v->n_samples ? bad(v, err, MMDX_ENOTFOUND, "no FORMAT/GT field") : 0;
    }
    if (k == 0 && gt_only_stride4(v))
        return 0;
    if (k == 0) {
        int ret = gt_first_fast(v, err);
        if (ret != 0)
            return ret < 0 ? ret : 0;
    }
    return for_each_sample(v, k, gt_field, NULL, err);
}

typedef struct num_ctx {
    mmdx_dosage_source src;
    int quantize;
    double *out;
} num_ctx;

/* Parse comma-separated numbers of [b,e) into p (at most max); '.' anywhere makes *missing. */
static int parse_numbers(const char *b, const char *e, double *p, size_t max, size_t *n, int *missing)
{
    *n = 0;
    *missing = 0;
    if (b == e) {
        *missing = 1;
        return 0;
    }
    const char *q = b;
    for (;;) {
        const char *c = q;
        while (c < e && *c != ',')
            c++;
        if (c - q == 1 && *q == '.') {
            *missing = 1;
        } else {
            if (c == q || *n >= max)
                return -1;
            char buf[64];
            size_t len = (size_t)(c - q);
            if (len >= sizeof buf)
                return -1;
            memcpy(buf, q, len);
            buf[len] = '\0';
            if (!((buf[0] >= '0' && buf[0] <= '9') || buf[0] == '-' || buf[0] == '+' || buf[0] == '.'))
                return -1;
            char *endp;
            double x = strtod(buf, &endp);
            if (*endp != '\0' || !isfinite(x))
                return -1;
            p[*n] = x;
        }
        (*n)++;
        if (c == e)
            break;
        q = c + 1;
    }
    return 0;
}

static int num_field(mmdx_vcf *v, size_t s, const char *b, const char *e, void *ctx_, mmdx_error *err)
{
    num_ctx *ctx = ctx_;
    size_t n = v->n_samples, na = v->site.n_alleles, k;
    double p[64];
    int missing;
    const char *key = ctx->src == MMDX_DOSAGE_DS ? "DS" : "GP";
    char where[512];
    if (parse_numbers(b, e, p, 64, &k, &missing) < 0) {
        mmdx_vcf__where(v, where, sizeof where);
        return mmdx_error_set(err, MMDX_EFORMAT, "%s: sample %s: FORMAT/%s '%.*s' is not numeric",
                              where, v->hdr->samples[s], key, (int)(e - b > 40 ? 40 : e - b), b);
    }
    if (missing) {
        for (size_t a = 0; a < na; a++)
            ctx->out[a * n + s] = NAN;
        return 0;
    }
    /* htslib reads DS and GP as floats; do the same so both readers agree */
    for (size_t j = 0; j < k; j++)
        p[j] = (double)(float)p[j];
    return mmdx_vcf__sample_dosage(v, ctx->src, s, p, k, ctx->quantize, ctx->out, err);
}

int mmdx_vcf__text_dosages(mmdx_vcf *v, mmdx_dosage_source src, int quantize, double *out,
                           mmdx_error *err)
{
    size_t n = v->n_samples, na = v->site.n_alleles;
    if (src == MMDX_DOSAGE_GT) {
        int ret = mmdx_vcf__text_genotypes(v, err);
        if (ret < 0 && ret != MMDX_ENOTFOUND)
            return ret;
        for (size_t i = 0; i < na * n; i++)
            out[i] = 0.0;
        for (size_t s = 0; s < n; s++) {
            int32_t a0 = v->gt[2 * s], a1 = v->gt[2 * s + 1];
            if (a0 < 0) {
                for (size_t a = 0; a < na; a++)
                    out[a * n + s] = NAN;
            } else {
                out[(size_t)a0 * n + s] += 1.0;
                out[(size_t)a1 * n + s] += 1.0;
            }
        }
        return ret;
    }
    const char *key = src == MMDX_DOSAGE_DS ? "DS" : "GP";
    int k = format_index(v, key);
    if (k < 0) {
        for (size_t i = 0; i < na * n; i++)
            out[i] = NAN;
        return n ? bad(v, err, MMDX_ENOTFOUND,
                       src == MMDX_DOSAGE_DS ? "no FORMAT/DS field" : "no FORMAT/GP field")
                 : 0;
    }
    num_ctx ctx = {src, quantize, out};
    return for_each_sample(v, k, num_field, &ctx, err);
}
