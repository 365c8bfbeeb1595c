/* SPDX-License-Identifier: Apache-2.0 */
#include "prs.h"

#include <errno.h>
#include <htslib/khash.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "atomic_file.h"
#include "error.h"
#include "chrom.h"

typedef struct row_ref {
    uint32_t score, row;
} row_ref;

typedef struct span {
    uint32_t start, count;
} span;

KHASH_MAP_INIT_STR(mmdx_chrom, int)
KHASH_MAP_INIT_INT64(mmdx_pos, span)
KHASH_MAP_INIT_STR(mmdx_rsid, span)
KHASH_SET_INIT_STR(mmdx_seen)

enum {
    ST_NONE = 0, ST_MATCHED, ST_AMBIGUOUS, ST_ALLELES_DIFFER, ST_PROBLEM, ST_ABSENT,
    ST_MULTIALLELIC, ST_DUPLICATE, ST_NO_POSITION
};

enum {
    R_NONE = 0,
    R_REFALT, R_ALTREF, R_ALTALT, R_NO_OA_REF, R_NO_OA_ALT,
    R_REFALT_FLIP, R_ALTREF_FLIP, R_ALTALT_FLIP, R_NO_OA_REF_FLIP, R_NO_OA_ALT_FLIP
};
static const char *const rule_names[] = {
    "",         "refalt",        "altref",        "altalt",        "no_oa_ref",     "no_oa_alt",
    "refalt_flip", "altref_flip", "altalt_flip", "no_oa_ref_flip", "no_oa_alt_flip"};

typedef struct row_state {
    uint8_t status, rule, multiallelic, duplicate;
    const char *reason; /* static */
    char *vcf;          /* the record matched or seen, "chr:pos:REF:ALT" */
} row_state;

typedef struct group_site {
    char *chrom, *id;  /* into text */
    int64_t pos;
    size_t na;
    char **alleles;    /* into text */
    size_t allele_cap;
    char *text;        /* chrom, id and alleles, NUL-separated; reused from site to site */
    size_t text_cap;
    double *dos;       /* DS/GP: na x n dosages */
    size_t dos_cap;
    int32_t *gt;       /* GT, multi-allelic: 2 x n calls as mmdx_vcf_genotypes gives them */
    size_t gt_cap;
    uint8_t *alt;      /* GT, biallelic: ALT copies per sample (0..2), 3 when missing */
    size_t alt_cap;
    uint64_t alt_total; /* ALT copies among called samples */
    size_t n_called;
} group_site;

/* A row matched in the current group, scored when the group is resolved
 * (so that exclude_duplicates can still drop it). */
typedef struct pending_match {
    row_ref ref;
    size_t site;
    long ea;
} pending_match;

struct mmdx_prs {
    const mmdx_scorefile **scores; /* the array is ours, the files are borrowed */
    size_t n_scores, n;
    mmdx_prs_options opt;

    khash_t(mmdx_chrom) *chroms;
    int n_chroms;
    khash_t(mmdx_pos) *pos;
    row_ref *pos_refs;
    khash_t(mmdx_rsid) *rsid;
    row_ref *rsid_refs;
    khash_t(mmdx_seen) *seen; /* score + record + allele already scored */
    int all_positioned;

    row_state **state;
    double *sum;      /* n_scores x n */
    uint32_t *act;    /* n_scores x n */
    size_t *n_used;   /* per score */
    mmdx_prs_stats *stats;

    group_site *grp;
    size_t n_grp, grp_cap;
    pending_match *pend;
    size_t n_pend, pend_cap;
    char grp_chrom[MMDX_CHROM_MAX];
    int64_t grp_pos;

    char last_raw[MMDX_CHROM_MAX];
    size_t last_raw_len;
    int last_id;

    size_t n_field_missing, n_scored_sites;
    double *fallback; /* GT dosages for samples without DS/GP */
    size_t fallback_cap;
    int finished;
};

void mmdx_prs_options_init(mmdx_prs_options *o)
{
    memset(o, 0, sizeof *o);
    o->mean_impute = 1;
    o->min_overlap = 0.75;
    o->dosage = MMDX_DOSAGE_GT;
    o->use_index = -1;
}

void mmdx_prs_options_pgsc(mmdx_prs_options *o)
{
    o->no_multiallelic = 1;
    o->exclude_duplicates = 1;
    o->require_positions = 1;
}

static int chrom_id(mmdx_prs *p, const char *name, size_t len, int add)
{
    char canon[MMDX_CHROM_MAX];
    mmdx_chrom_canonical(name, len, canon);
    khint_t k = kh_get(mmdx_chrom, p->chroms, canon);
    if (k != kh_end(p->chroms))
        return kh_val(p->chroms, k);
    if (!add)
        return -1;
    char *key = strdup(canon);
    int absent;
    if (!key)
        return -2;
    k = kh_put(mmdx_chrom, p->chroms, key, &absent);
    if (absent < 0) {
        free(key);
        return -2;
    }
    kh_val(p->chroms, k) = p->n_chroms++;
    return kh_val(p->chroms, k);
}

static uint64_t pos_key(int cid, int64_t pos) { return ((uint64_t)(uint32_t)cid << 40) | (uint64_t)pos; }

typedef struct keyed_ref {
    uint64_t key;
    const char *rsid;
    row_ref ref;
} keyed_ref;

static int keyed_cmp(const void *a, const void *b)
{
    const keyed_ref *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->ref.score != y->ref.score)
        return x->ref.score < y->ref.score ? -1 : 1;
    return x->ref.row < y->ref.row ? -1 : (x->ref.row > y->ref.row);
}

static int rsid_cmp(const void *a, const void *b)
{
    const keyed_ref *x = a, *y = b;
    int c = strcmp(x->rsid, y->rsid);
    if (c)
        return c;
    return keyed_cmp(a, b);
}

void mmdx_prs_free(mmdx_prs *p)
{
    if (!p)
        return;
    if (p->chroms) {
        for (khint_t k = kh_begin(p->chroms); k != kh_end(p->chroms); k++)
            if (kh_exist(p->chroms, k))
                free((char *)kh_key(p->chroms, k));
        kh_destroy(mmdx_chrom, p->chroms);
    }
    if (p->pos)
        kh_destroy(mmdx_pos, p->pos);
    if (p->rsid)
        kh_destroy(mmdx_rsid, p->rsid);
    if (p->seen) {
        for (khint_t k = kh_begin(p->seen); k != kh_end(p->seen); k++)
            if (kh_exist(p->seen, k))
                free((char *)kh_key(p->seen, k));
        kh_destroy(mmdx_seen, p->seen);
    }
    free(p->pos_refs);
    free(p->rsid_refs);
    if (p->state) {
        for (size_t s = 0; s < p->n_scores; s++) {
            if (!p->state[s])
                continue;
            for (size_t r = 0; r < p->scores[s]->n_rows; r++)
                free(p->state[s][r].vcf);
            free(p->state[s]);
        }
        free(p->state);
    }
    for (size_t i = 0; i < p->grp_cap; i++) {
        free(p->grp[i].text);
        free(p->grp[i].alleles);
        free(p->grp[i].dos);
        free(p->grp[i].gt);
        free(p->grp[i].alt);
    }
    free(p->grp);
    free(p->pend);
    free(p->sum);
    free(p->act);
    free(p->n_used);
    free(p->stats);
    free(p->scores);
    free(p->fallback);
    free(p);
}

int mmdx_prs_new(mmdx_prs **out, const mmdx_scorefile *const *scores, size_t n_scores,
                 size_t n_samples, const mmdx_prs_options *opt, mmdx_error *err)
{
    *out = NULL;
    if (n_scores == 0)
        return mmdx_error_set(err, MMDX_EINVAL, "no scoring file given");
    if (opt->min_overlap < 0 || opt->min_overlap > 1)
        return mmdx_error_set(err, MMDX_EINVAL, "minimum overlap %g is not within [0,1]",
                              opt->min_overlap);
    mmdx_prs *p = calloc(1, sizeof *p);
    keyed_ref *pk = NULL, *rk = NULL;
    if (!p)
        return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    p->scores = malloc(n_scores * sizeof *p->scores);
    if (!p->scores) {
        free(p);
        return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    }
    memcpy(p->scores, scores, n_scores * sizeof *p->scores);
    p->n_scores = n_scores;
    p->n = n_samples;
    p->opt = *opt;
    p->last_id = -1;
    p->all_positioned = 1;
    p->chroms = kh_init(mmdx_chrom);
    p->pos = kh_init(mmdx_pos);
    p->rsid = kh_init(mmdx_rsid);
    p->seen = kh_init(mmdx_seen);
    p->state = calloc(n_scores, sizeof *p->state);
    p->sum = calloc(n_scores * (n_samples ? n_samples : 1), sizeof *p->sum);
    p->act = calloc(n_scores * (n_samples ? n_samples : 1), sizeof *p->act);
    p->n_used = calloc(n_scores, sizeof *p->n_used);
    p->stats = calloc(n_scores, sizeof *p->stats);
    if (!p->chroms || !p->pos || !p->rsid || !p->seen || !p->state || !p->sum || !p->act || !p->n_used ||
        !p->stats)
        goto nomem;
    size_t total = 0;
    for (size_t s = 0; s < n_scores; s++) {
        if (scores[s]->n_rows > UINT32_MAX)
            goto nomem;
        total += scores[s]->n_rows;
        p->state[s] = calloc(scores[s]->n_rows ? scores[s]->n_rows : 1, sizeof **p->state);
        if (!p->state[s])
            goto nomem;
    }
    pk = malloc((total ? total : 1) * sizeof *pk);
    rk = malloc((total ? total : 1) * sizeof *rk);
    if (!pk || !rk)
        goto nomem;
    size_t np = 0, nr = 0;
    for (size_t s = 0; s < n_scores; s++)
        for (size_t r = 0; r < scores[s]->n_rows; r++) {
            const mmdx_pgs_row *row = &scores[s]->rows[r];
            if (row->problem) {
                p->state[s][r].status = ST_PROBLEM;
                p->state[s][r].reason = row->problem;
                continue;
            }
            row_ref ref = {(uint32_t)s, (uint32_t)r};
            if (row->pos > 0 && row->chrom) {
                int cid = chrom_id(p, row->chrom, strlen(row->chrom), 1);
                if (cid < 0)
                    goto nomem;
                pk[np].key = pos_key(cid, row->pos);
                pk[np].rsid = NULL;
                pk[np++].ref = ref;
            } else if (p->opt.require_positions) {
                p->state[s][r].status = ST_NO_POSITION;
                p->state[s][r].reason = "no position: matching by position only (rsID matching off)";
            } else {
                p->all_positioned = 0;
                rk[nr].key = 0;
                rk[nr].rsid = row->rsid;
                rk[nr++].ref = ref;
            }
        }
    qsort(pk, np, sizeof *pk, keyed_cmp);
    qsort(rk, nr, sizeof *rk, rsid_cmp);
    p->pos_refs = malloc((np ? np : 1) * sizeof *p->pos_refs);
    p->rsid_refs = malloc((nr ? nr : 1) * sizeof *p->rsid_refs);
    if (!p->pos_refs || !p->rsid_refs)
        goto nomem;
    for (size_t i = 0; i < np; i++) {
        p->pos_refs[i] = pk[i].ref;
        if (i == 0 || pk[i].key != pk[i - 1].key) {
            int absent;
            khint_t k = kh_put(mmdx_pos, p->pos, pk[i].key, &absent);
            if (absent < 0)
                goto nomem;
            kh_val(p->pos, k).start = (uint32_t)i;
            kh_val(p->pos, k).count = 0;
        }
        khint_t k = kh_get(mmdx_pos, p->pos, pk[i].key);
        kh_val(p->pos, k).count++;
    }
    for (size_t i = 0; i < nr; i++) {
        p->rsid_refs[i] = rk[i].ref;
        if (i == 0 || strcmp(rk[i].rsid, rk[i - 1].rsid) != 0) {
            int absent;
            khint_t k = kh_put(mmdx_rsid, p->rsid, rk[i].rsid, &absent);
            if (absent < 0)
                goto nomem;
            kh_val(p->rsid, k).start = (uint32_t)i;
            kh_val(p->rsid, k).count = 0;
        }
        khint_t k = kh_get(mmdx_rsid, p->rsid, rk[i].rsid);
        kh_val(p->rsid, k).count++;
    }
    free(pk);
    free(rk);
    *out = p;
    return 0;
nomem:
    free(pk);
    free(rk);
    mmdx_prs_free(p);
    return mmdx_error_set(err, MMDX_ENOMEM, "out of memory preparing the scores");
}

static int lookup_chrom(mmdx_prs *p, const char *chrom, size_t len)
{
    if (len == p->last_raw_len && len < MMDX_CHROM_MAX && memcmp(chrom, p->last_raw, len) == 0)
        return p->last_id;
    int cid = chrom_id(p, chrom, len, 0);
    if (len < MMDX_CHROM_MAX) {
        memcpy(p->last_raw, chrom, len);
        p->last_raw_len = len;
        p->last_id = cid;
    }
    return cid;
}

/* Calls fn for each ';'-separated ID that names scoring rows. */
static const span *rsid_span(const mmdx_prs *p, const char *id, size_t len)
{
    char buf[256];
    if (len == 0 || len >= sizeof buf || (len == 1 && id[0] == '.'))
        return NULL;
    memcpy(buf, id, len);
    buf[len] = '\0';
    khint_t k = kh_get(mmdx_rsid, p->rsid, buf);
    return k == kh_end(p->rsid) ? NULL : &kh_val(p->rsid, k);
}

static int id_has_rsid(const char *id, size_t len, const mmdx_prs *p, const span **spans,
                       size_t *n_spans, size_t max)
{
    *n_spans = 0;
    if (kh_size(p->rsid) == 0)
        return 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && id[j] != ';')
            j++;
        const span *sp = rsid_span(p, id + i, j - i);
        if (sp && *n_spans < max)
            spans[(*n_spans)++] = sp;
        i = j + 1;
    }
    return *n_spans > 0;
}

int mmdx_prs_filter(void *ctx, const char *chrom, size_t chrom_len, int64_t pos, const char *id,
                    size_t id_len)
{
    mmdx_prs *p = ctx;
    if (kh_size(p->pos)) {
        int cid = lookup_chrom(p, chrom, chrom_len);
        if (cid >= 0 && kh_get(mmdx_pos, p->pos, pos_key(cid, pos)) != kh_end(p->pos))
            return 1;
    }
    const span *sp[8];
    size_t ns;
    return id_has_rsid(id, id_len, p, sp, &ns, 8);
}

static char complement(char c)
{
    switch (c) {
    case 'A': return 'T';
    case 'T': return 'A';
    case 'C': return 'G';
    case 'G': return 'C';
    default: return c;
    }
}

static void revcomp(const char *s, char *out, size_t size)
{
    size_t n = strlen(s);
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = complement(s[n - 1 - i]);
    out[n] = '\0';
}

static int ambiguous_pair(const char *a, const char *b)
{
    return a && b && a[0] && !a[1] && b[0] && !b[1] && complement(a[0]) == b[0];
}

static long find_allele(const group_site *g, const char *a, long skip)
{
    for (size_t i = 0; i < g->na; i++)
        if ((long)i != skip && strcmp(g->alleles[i], a) == 0)
            return (long)i;
    return -1;
}

/* Try one orientation: returns the rule (without flip) and the effect allele index, or R_NONE. */
static int try_alleles(const group_site *g, const char *e, const char *o, long *ea)
{
    long ie = find_allele(g, e, -1);
    if (ie < 0)
        return R_NONE;
    if (o) {
        long io = find_allele(g, o, ie);
        if (io < 0)
            return R_NONE;
        *ea = ie;
        return ie == 0 ? R_REFALT : io == 0 ? R_ALTREF : R_ALTALT;
    }
    *ea = ie;
    return ie == 0 ? R_NO_OA_REF : R_NO_OA_ALT;
}

static int flip_rule(int r) { return r + (R_REFALT_FLIP - R_REFALT); }

/* Append a string or a number at *k of s (room is the caller's). */
static void put_str(char *s, size_t *k, const char *t)
{
    size_t l = strlen(t);
    memcpy(s + *k, t, l);
    *k += l;
}

static void put_num(char *s, size_t *k, unsigned long long x)
{
    char d[24];
    int n = 0;
    do {
        d[n++] = (char)('0' + x % 10);
        x /= 10;
    } while (x);
    while (n)
        s[(*k)++] = d[--n];
}

/* "chr:pos:REF:ALT1,ALT2 (ID)" for the match log. */
static char *describe_site(const group_site *g)
{
    size_t len = strlen(g->chrom) + strlen(g->id) + 48;
    for (size_t a = 0; a < g->na; a++)
        len += strlen(g->alleles[a]) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    size_t k = 0;
    put_str(s, &k, g->chrom);
    s[k++] = ':';
    put_num(s, &k, (unsigned long long)g->pos);
    s[k++] = ':';
    for (size_t a = 0; a < g->na; a++) {
        if (a)
            s[k++] = a == 1 ? ':' : ',';
        put_str(s, &k, g->alleles[a]);
    }
    if (strcmp(g->id, ".") != 0) {
        put_str(s, &k, " (");
        put_str(s, &k, g->id);
        s[k++] = ')';
    }
    s[k] = '\0';
    return s;
}

static void accumulate_dosages(mmdx_prs *p, size_t score, const group_site *g, long ea, double w)
{
    size_t n = p->n;
    const double *d = g->dos + (size_t)ea * n;
    double sd = 0;
    size_t nn = 0;
    for (size_t s = 0; s < n; s++)
        if (!isnan(d[s])) {
            sd += d[s];
            nn++;
        }
    if (nn == 0)
        p->stats[score].all_missing++;
    double mean = nn ? sd / (double)nn : 0.0; /* 2 x effect allele frequency */
    double *sum = p->sum + score * n;
    uint32_t *act = p->act + score * n;
    for (size_t s = 0; s < n; s++) {
        if (!isnan(d[s])) {
            sum[s] += w * d[s];
            act[s] += 2;
        } else if (p->opt.mean_impute) {
            sum[s] += w * mean;
        }
    }
    p->n_used[score]++;
}

/*
 * From hard calls: a sample holds 0, 1 or 2 copies of the effect allele or
 * is missing, so its term is one of four values, computed once per variant.
 * The values (w x copies, w x mean) and the order of the additions are those
 * of accumulate_dosages on the same calls, so both give the same bits.
 */
static void accumulate_calls(mmdx_prs *p, size_t score, const group_site *g, long ea, double w)
{
    size_t n = p->n;
    const int32_t *gt = g->gt;
    int32_t a = (int32_t)ea;
    uint64_t copies = 0;
    size_t nn = 0;
    if (g->na == 2) {
        nn = g->n_called;
        copies = ea == 1 ? g->alt_total : 2 * (uint64_t)nn - g->alt_total;
    } else {
        for (size_t s = 0; s < n; s++) {
            int32_t g0 = gt[2 * s], g1 = gt[2 * s + 1];
            unsigned called = g0 >= 0;
            copies += called * ((unsigned)(g0 == a) + (unsigned)(g1 == a));
            nn += called;
        }
    }
    if (nn == 0)
        p->stats[score].all_missing++;
    double mean = nn ? (double)copies / (double)nn : 0.0;
    double term[4] = {w * 0.0, w * 1.0, w * 2.0, p->opt.mean_impute ? w * mean : 0.0};
    static const uint32_t alleles_ct[4] = {2, 2, 2, 0};
    double *sum = p->sum + score * n;
    uint32_t *act = p->act + score * n;
    if (g->na == 2) {
        /* index by ALT copies: REF's terms are the same values in reverse */
        double t[4] = {term[ea == 1 ? 0 : 2], term[1], term[ea == 1 ? 2 : 0], term[3]};
        const uint8_t *c = g->alt;
        for (size_t s = 0; s < n; s++) {
            sum[s] += t[c[s]]; /* + 0.0 for a missing call without imputation: sum unchanged */
            act[s] += alleles_ct[c[s]];
        }
    } else {
        for (size_t s = 0; s < n; s++) {
            int32_t g0 = gt[2 * s], g1 = gt[2 * s + 1];
            unsigned k = g0 < 0 ? 3u : (unsigned)(g0 == a) + (unsigned)(g1 == a);
            sum[s] += term[k];
            act[s] += alleles_ct[k];
        }
    }
    p->n_used[score]++;
}

static void accumulate(mmdx_prs *p, size_t score, const group_site *g, long ea, double w)
{
    if (p->opt.dosage == MMDX_DOSAGE_GT)
        accumulate_calls(p, score, g, ea, w);
    else
        accumulate_dosages(p, score, g, ea, w);
}

static int evaluate(mmdx_prs *p, row_ref ref, const group_site *sites, size_t n_sites,
                    const char *only_id)
{
    const mmdx_pgs_row *row = &p->scores[ref.score]->rows[ref.row];
    row_state *st = &p->state[ref.score][ref.row];
    if (st->status == ST_MATCHED || st->status == ST_AMBIGUOUS || st->status == ST_PROBLEM ||
        st->status == ST_DUPLICATE)
        return 0;
    char rce[256], rco[256];
    revcomp(row->effect, rce, sizeof rce);
    if (row->other)
        revcomp(row->other, rco, sizeof rco);
    int best_pri = 99, best_rule = R_NONE, ambiguous = 0, multi_hit = 0;
    long best_ea = -1;
    size_t best_site = 0, multi_site = 0;
    for (size_t j = 0; j < n_sites; j++) {
        const group_site *g = &sites[j];
        if (only_id) {
            /* rsID rows match only records carrying that ID */
            size_t l = strlen(only_id);
            const char *hit = strstr(g->id, only_id);
            if (!hit || (hit != g->id && hit[-1] != ';') || (hit[l] != '\0' && hit[l] != ';'))
                continue;
        }
        long ea;
        int amb = row->other ? ambiguous_pair(row->effect, row->other) : 0;
        int r = try_alleles(g, row->effect, row->other, &ea);
        if (r != R_NONE && !row->other && g->na == 2)
            amb = ambiguous_pair(row->effect, g->alleles[1 - ea]);
        int pri = row->other ? 0 : 2;
        if (r == R_NONE && !amb) {
            r = try_alleles(g, rce, row->other ? rco : NULL, &ea);
            if (r != R_NONE) {
                if (!row->other && g->na == 2 && ambiguous_pair(rce, g->alleles[1 - ea]))
                    r = R_NONE; /* a flip of an ambiguous SNP is indistinguishable: never taken */
                else
                    r = flip_rule(r);
            }
            pri++;
        }
        if (r != R_NONE && g->na > 2 && p->opt.no_multiallelic) {
            if (!multi_hit)
                multi_site = j;
            multi_hit = 1;
            continue;
        }
        if (r != R_NONE && pri < best_pri) {
            best_pri = pri;
            best_rule = r;
            best_ea = ea;
            best_site = j;
            ambiguous = amb;
        }
    }
    free(st->vcf);
    st->vcf = describe_site(&sites[best_rule != R_NONE ? best_site : multi_hit ? multi_site : 0]);
    if (best_rule == R_NONE && multi_hit) {
        st->status = ST_MULTIALLELIC;
        st->reason = "multi-allelic VCF record excluded (--no-multiallelic)";
        return 0;
    }
    if (best_rule == R_NONE) {
        st->status = ST_ALLELES_DIFFER;
        st->reason = "alleles differ from the VCF record's (also after a strand flip)";
        return 0;
    }
    st->rule = (uint8_t)best_rule;
    if (ambiguous && !p->opt.keep_ambiguous) {
        st->status = ST_AMBIGUOUS;
        st->reason = "strand-ambiguous (A/T or C/G) excluded; keep it with --keep-ambiguous";
        return 0;
    }
    st->status = ST_MATCHED;
    st->reason = NULL;
    st->multiallelic = sites[best_site].na > 2;
    {
        const group_site *g = &sites[best_site];
        size_t len = strlen(g->chrom) + strlen(g->alleles[best_ea]) + 64;
        char *key = malloc(len);
        if (key) {
            int absent;
            size_t k = 0; /* "score\tchrom\tpos\tallele" */
            put_num(key, &k, ref.score);
            key[k++] = '\t';
            put_str(key, &k, g->chrom);
            key[k++] = '\t';
            put_num(key, &k, (unsigned long long)g->pos);
            key[k++] = '\t';
            put_str(key, &k, g->alleles[best_ea]);
            key[k] = '\0';
            kh_put(mmdx_seen, p->seen, key, &absent);
            if (absent == 0) {
                st->duplicate = 1;
                st->reason = "same record and allele as an earlier row of this score; both count";
            }
            if (absent <= 0)
                free(key);
        }
    }
    if (mmdx_array_reserve(&p->pend, &p->pend_cap, p->n_pend + 1, sizeof *p->pend, 16, 0) < 0)
        return MMDX_ENOMEM;
    p->pend[p->n_pend++] = (pending_match){ref, best_site, best_ea};
    return 0;
}

/* Score the group's matches in the order they were found; with
 * exclude_duplicates, rows of one score sharing a record are all dropped. */
static void score_pending(mmdx_prs *p)
{
    for (size_t i = 0; i < p->n_pend; i++) {
        const pending_match *m = &p->pend[i];
        row_state *st = &p->state[m->ref.score][m->ref.row];
        if (p->opt.exclude_duplicates) {
            int dup = 0;
            for (size_t j = 0; j < p->n_pend && !dup; j++)
                dup = j != i && p->pend[j].ref.score == m->ref.score && p->pend[j].site == m->site;
            if (dup) {
                st->status = ST_DUPLICATE;
                st->duplicate = 0;
                st->reason = "another row of this score matches the same VCF record: both excluded "
                             "(--exclude-duplicates)";
                continue;
            }
        }
        accumulate(p, m->ref.score, &p->grp[m->site], m->ea,
                   p->scores[m->ref.score]->rows[m->ref.row].weight);
    }
    p->n_pend = 0;
}

static int resolve_group(mmdx_prs *p)
{
    int rc = 0;
    if (p->n_grp == 0)
        return 0;
    int cid = chrom_id(p, p->grp_chrom, strlen(p->grp_chrom), 0);
    if (cid >= 0) {
        khint_t k = kh_get(mmdx_pos, p->pos, pos_key(cid, p->grp_pos));
        if (k != kh_end(p->pos)) {
            span sp = kh_val(p->pos, k);
            for (uint32_t i = 0; i < sp.count && rc == 0; i++)
                rc = evaluate(p, p->pos_refs[sp.start + i], p->grp, p->n_grp, NULL);
        }
    }
    if (kh_size(p->rsid))
        for (size_t j = 0; j < p->n_grp; j++) {
            const span *sps[8];
            size_t ns;
            id_has_rsid(p->grp[j].id, strlen(p->grp[j].id), p, sps, &ns, 8);
            for (size_t q = 0; q < ns; q++)
                for (uint32_t i = 0; i < sps[q]->count; i++) {
                    row_ref ref = p->rsid_refs[sps[q]->start + i];
                    if (rc == 0)
                        rc = evaluate(p, ref, p->grp, p->n_grp,
                                      p->scores[ref.score]->rows[ref.row].rsid);
                }
        }
    score_pending(p);
    p->n_grp = 0;
    return rc;
}

/* The biallelic summary of the calls `gt` that accumulate_calls reads. */
static int count_alt(const mmdx_prs *p, group_site *g, const int32_t *gt_)
{
    size_t n = p->n;
    if (mmdx_array_reserve(&g->alt, &g->alt_cap, n ? n : 1, 1, 1, 0) < 0)
        return MMDX_ENOMEM;
    const int32_t *restrict gt = gt_;
    uint8_t *restrict alt = g->alt;
    uint64_t total = 0;
    size_t missing = 0;
    for (size_t s = 0; s < n; s++) {
        int32_t g0 = gt[2 * s], g1 = gt[2 * s + 1];
        uint32_t c = (uint32_t)(g0 == 1) + (uint32_t)(g1 == 1); /* 0 when missing: both are -1 */
        uint32_t m = (uint32_t)g0 >> 31;
        alt[s] = (uint8_t)(c | (m * 3u));
        total += c;
        missing += m;
    }
    g->alt_total = total;
    g->n_called = n - missing;
    return 0;
}

/* Keep the site's strings in g (they are the reader's only until its next record). */
static int copy_site(group_site *g, const mmdx_vcf_site *site)
{
    size_t lc = strlen(site->chrom) + 1, li = strlen(site->id) + 1, len = lc + li;
    for (size_t a = 0; a < site->n_alleles; a++)
        len += strlen(site->alleles[a]) + 1;
    if (mmdx_array_reserve(&g->text, &g->text_cap, len, 1, 64, 0) < 0 ||
        mmdx_array_reserve(&g->alleles, &g->allele_cap, site->n_alleles ? site->n_alleles : 1,
                           sizeof *g->alleles, 4, 0) < 0)
        return MMDX_ENOMEM;
    char *t = g->text;
    g->chrom = memcpy(t, site->chrom, lc);
    t += lc;
    g->id = memcpy(t, site->id, li);
    t += li;
    for (size_t a = 0; a < site->n_alleles; a++) {
        size_t la = strlen(site->alleles[a]) + 1;
        g->alleles[a] = memcpy(t, site->alleles[a], la);
        t += la;
    }
    g->na = site->n_alleles;
    g->pos = site->pos;
    return 0;
}

int mmdx_prs_site(mmdx_prs *p, mmdx_vcf *v, const mmdx_vcf_site *site, mmdx_error *err)
{
    if (!mmdx_prs_filter(p, site->chrom, strlen(site->chrom), site->pos, site->id, strlen(site->id)))
        return 0;
    char canon[MMDX_CHROM_MAX];
    mmdx_chrom_canonical(site->chrom, strlen(site->chrom), canon);
    if (p->n_grp > 0 && (p->grp_pos != site->pos || strcmp(canon, p->grp_chrom) != 0) &&
        resolve_group(p) < 0)
        return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    if (p->n_grp == 0) {
        memcpy(p->grp_chrom, canon, sizeof canon);
        p->grp_pos = site->pos;
    }
    if (mmdx_array_reserve(&p->grp, &p->grp_cap, p->n_grp + 1, sizeof *p->grp, 4, 1) < 0)
        return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    group_site *g = &p->grp[p->n_grp];
    if (copy_site(g, site) < 0)
        return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    p->n_grp++;
    int ret;
    if (p->opt.dosage == MMDX_DOSAGE_GT) {
        const int32_t *gt;
        if (g->na != 2 &&
            mmdx_array_reserve(&g->gt, &g->gt_cap, 2 * (p->n ? p->n : 1), sizeof *g->gt, 1, 0) < 0)
            return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
        ret = mmdx_vcf_genotypes(v, &gt, err);
        if (ret < 0 && ret != MMDX_ENOTFOUND)
            return ret;
        if (g->na == 2) {
            if (count_alt(p, g, gt) < 0)
                return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
        } else {
            memcpy(g->gt, gt, 2 * p->n * sizeof *gt);
        }
    } else {
        size_t need = g->na * (p->n ? p->n : 1);
        if (mmdx_array_reserve(&g->dos, &g->dos_cap, need, sizeof *g->dos, 1, 0) < 0)
            return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
        ret = mmdx_vcf_dosages(v, p->opt.dosage, !p->opt.exact_dosage, g->dos, err);
        if (ret < 0 && ret != MMDX_ENOTFOUND)
            return ret;
    }
    if (ret == MMDX_ENOTFOUND)
        p->n_field_missing++;
    if (p->opt.dosage != MMDX_DOSAGE_GT) {
        /* As PLINK 2 imports dosages: a sample without DS/GP keeps its GT call. */
        size_t need = g->na * (p->n ? p->n : 1);
        size_t n_missing = 0;
        for (size_t i = 0; i < p->n; i++)
            n_missing += isnan(g->dos[i]);
        if (n_missing) {
            if (mmdx_array_reserve(&p->fallback, &p->fallback_cap, need, sizeof *p->fallback, 1, 0) < 0)
                return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
            ret = mmdx_vcf_dosages(v, MMDX_DOSAGE_GT, 0, p->fallback, err);
            if (ret < 0 && ret != MMDX_ENOTFOUND)
                return ret;
            for (size_t i = 0; i < p->n; i++)
                if (isnan(g->dos[i]))
                    for (size_t a = 0; a < g->na; a++)
                        g->dos[a * p->n + i] = p->fallback[a * p->n + i];
        }
    }
    if (err) {
        err->code = 0;
        err->message[0] = '\0';
    }
    p->n_scored_sites++;
    return 0;
}

int mmdx_prs_finish(mmdx_prs *p, mmdx_error *err)
{
    if (resolve_group(p) < 0)
        return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    for (size_t s = 0; s < p->n_scores; s++) {
        mmdx_prs_stats *st = &p->stats[s];
        size_t all_missing = st->all_missing;
        memset(st, 0, sizeof *st);
        st->all_missing = all_missing;
        st->rows = p->scores[s]->n_rows;
        for (size_t r = 0; r < st->rows; r++) {
            row_state *rs = &p->state[s][r];
            const mmdx_pgs_row *row = &p->scores[s]->rows[r];
            switch (rs->status) {
            case ST_MATCHED:
                st->matched++;
                if (rs->rule >= R_REFALT_FLIP)
                    st->flipped++;
                if (!row->pos)
                    st->by_rsid++;
                if (rs->multiallelic)
                    st->multiallelic++;
                if (rs->duplicate)
                    st->duplicates++;
                break;
            case ST_AMBIGUOUS: st->ambiguous_dropped++; break;
            case ST_MULTIALLELIC: st->multiallelic_dropped++; break;
            case ST_DUPLICATE: st->duplicates_dropped++; break;
            case ST_NO_POSITION: st->no_position++; break;
            case ST_PROBLEM: st->unusable++; break;
            case ST_NONE:
                rs->status = ST_ABSENT;
                rs->reason = row->pos ? "no VCF record at this position" : "rsID not found in the VCF";
                st->unmatched++;
                break;
            default: st->unmatched++; break;
            }
        }
        st->overlap = st->rows ? (double)st->matched / (double)st->rows : 0.0;
        st->no_dosage_field = p->opt.dosage == MMDX_DOSAGE_GT ? 0 : p->n_field_missing;
    }
    p->finished = 1;
    return 0;
}

typedef struct region_key {
    int cid;
    int64_t pos;
    const char *chrom;
} region_key;

static int region_key_cmp(const void *a, const void *b)
{
    const region_key *x = a, *y = b;
    if (x->cid != y->cid)
        return x->cid < y->cid ? -1 : 1;
    return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

int mmdx_prs_regions(const mmdx_prs *p, mmdx_region **regions, size_t *n)
{
    *regions = NULL;
    *n = 0;
    if (!p->all_positioned)
        return 0;
    size_t total = 0;
    for (size_t s = 0; s < p->n_scores; s++)
        total += p->scores[s]->n_rows;
    region_key *keys = malloc((total ? total : 1) * sizeof *keys);
    mmdx_region *out = malloc((total ? total : 1) * sizeof *out);
    if (!keys || !out) {
        free(keys);
        free(out);
        return MMDX_ENOMEM;
    }
    size_t k = 0;
    for (size_t s = 0; s < p->n_scores; s++)
        for (size_t r = 0; r < p->scores[s]->n_rows; r++) {
            const mmdx_pgs_row *row = &p->scores[s]->rows[r];
            if (row->problem || !row->pos)
                continue;
            keys[k].cid = chrom_id((mmdx_prs *)p, row->chrom, strlen(row->chrom), 0);
            keys[k].pos = row->pos;
            keys[k++].chrom = row->chrom;
        }
    qsort(keys, k, sizeof *keys, region_key_cmp);
    /* Rows closer than this share one query: the tabix linear index has
       16 kb windows, and a seek costs about as much as skimming a few BGZF
       blocks, which hold a few kb of a dense multi-sample file. */
    const int64_t gap = 20000;
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (m > 0 && keys[i].cid == keys[i - 1].cid && keys[i].pos - out[m - 1].end <= gap) {
            out[m - 1].end = keys[i].pos;
        } else {
            out[m].chrom = keys[i].chrom;
            out[m].beg = out[m].end = keys[i].pos;
            m++;
        }
    }
    free(keys);
    *regions = out;
    *n = m;
    return 0;
}

int mmdx_prs_run(mmdx_prs *p, mmdx_vcf *v, mmdx_prs_progress_fn progress, void *progress_ctx,
                 mmdx_error *err)
{
    int use = p->opt.use_index;
    if (use < 0) {
        /* An index query re-parses CHROM/POS of every line it returns and
           stops the read-ahead at each seek: worth it only when the scored
           regions skip most of the file (a small score on a large file). */
        int64_t records = mmdx_vcf_indexed_records(v);
        size_t rows = 0;
        for (size_t s = 0; s < p->n_scores; s++)
            rows += p->scores[s]->n_rows;
        use = mmdx_vcf_has_index(v) && p->all_positioned &&
              (records < 0 || (double)rows * 20.0 < (double)records);
    }
    if (use) {
        mmdx_region *rg;
        size_t nr;
        if (mmdx_prs_regions(p, &rg, &nr) < 0)
            return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
        int ret = 0;
        if (nr > 0 || p->all_positioned)
            ret = mmdx_vcf_set_regions(v, rg, nr, err);
        free(rg);
        if (ret < 0)
            return ret;
    }
    mmdx_vcf_set_filter(v, mmdx_prs_filter, p);
    mmdx_vcf_site site;
    int ret;
    uint64_t n_sites = 0;
    while ((ret = mmdx_vcf_next(v, &site, err)) > 0) {
        if ((ret = mmdx_prs_site(p, v, &site, err)) < 0)
            break;
        if (progress && (++n_sites & 4095) == 0)
            progress(progress_ctx, &site, n_sites);
    }
    mmdx_vcf_set_filter(v, NULL, NULL);
    if (ret < 0)
        return ret;
    return mmdx_prs_finish(p, err);
}

size_t mmdx_prs_n_scores(const mmdx_prs *p) { return p->n_scores; }

void mmdx_prs_get_stats(const mmdx_prs *p, size_t score, mmdx_prs_stats *st) { *st = p->stats[score]; }

double mmdx_prs_sum(const mmdx_prs *p, size_t score, size_t sample) { return p->sum[score * p->n + sample]; }

uint32_t mmdx_prs_allele_ct(const mmdx_prs *p, size_t score, size_t sample)
{
    return p->act[score * p->n + sample];
}

double mmdx_prs_avg(const mmdx_prs *p, size_t score, size_t sample)
{
    double denom = p->opt.mean_impute ? 2.0 * (double)p->n_used[score]
                                      : (double)p->act[score * p->n + sample];
    return denom > 0 ? p->sum[score * p->n + sample] / denom : NAN;
}

int mmdx_prs_check_overlap(const mmdx_prs *p, mmdx_error *err)
{
    for (size_t s = 0; s < p->n_scores; s++) {
        const mmdx_prs_stats *st = &p->stats[s];
        if (st->overlap < p->opt.min_overlap)
            return mmdx_error_set(err, MMDX_EINVAL,
                                  "%s (%s): only %zu of %zu variants (%.1f%%) matched the VCF, below "
                                  "the minimum overlap of %.1f%%; check the genome build and the "
                                  "match log, or lower the minimum (--min-overlap, or min_overlap "
                                  "in [genomics])",
                                  p->scores[s]->name, p->scores[s]->path, st->matched, st->rows,
                                  100.0 * st->overlap, 100.0 * p->opt.min_overlap);
    }
    return 0;
}

void mmdx_prs_format_double(double x, char *buf, size_t size)
{
    if (isnan(x)) {
        snprintf(buf, size, "NA");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

int mmdx_prs_write_table(const mmdx_prs *p, const mmdx_vcf *v, const char *path, mmdx_error *err)
{
    mmdx_atomic_file af;
    int ret = mmdx_atomic_file_open(&af, path);
    if (ret < 0)
        return mmdx_error_set(err, ret, "%s", mmdx_last_error());
    FILE *f = af.f;
    fputs("#IID", f);
    for (size_t s = 0; s < p->n_scores; s++) {
        const char *nm = p->scores[s]->name;
        fprintf(f, "\t%s_ALLELE_CT\t%s_SUM\t%s_AVG", nm, nm, nm);
    }
    fputc('\n', f);
    char num[64];
    for (size_t i = 0; i < p->n; i++) {
        fputs(mmdx_vcf_sample_name(v, i), f);
        for (size_t s = 0; s < p->n_scores; s++) {
            fprintf(f, "\t%u", (unsigned)mmdx_prs_allele_ct(p, s, i));
            mmdx_prs_format_double(mmdx_prs_sum(p, s, i), num, sizeof num);
            fprintf(f, "\t%s", num);
            mmdx_prs_format_double(mmdx_prs_avg(p, s, i), num, sizeof num);
            fprintf(f, "\t%s", num);
        }
        fputc('\n', f);
    }
    ret = mmdx_atomic_file_commit(&af);
    return ret < 0 ? mmdx_error_set(err, ret, "%s", mmdx_last_error()) : 0;
}

static const char *status_name(int st)
{
    switch (st) {
    case ST_MATCHED: return "matched";
    case ST_AMBIGUOUS: return "excluded_ambiguous";
    case ST_MULTIALLELIC: return "excluded_multiallelic";
    case ST_DUPLICATE: return "excluded_duplicate";
    case ST_NO_POSITION: return "excluded_no_position";
    case ST_PROBLEM: return "unusable";
    default: return "unmatched";
    }
}

int mmdx_prs_write_log(const mmdx_prs *p, const char *path, mmdx_error *err)
{
    mmdx_atomic_file af;
    int ret = mmdx_atomic_file_open(&af, path);
    if (ret < 0)
        return mmdx_error_set(err, ret, "%s", mmdx_last_error());
    FILE *f = af.f;
    fputs("score\tscorefile_line\trsID\tchr\tpos\teffect_allele\tother_allele\teffect_weight\tstatus\t"
          "rule\tvcf_variant\treason\n",
          f);
    char num[64];
    for (size_t s = 0; s < p->n_scores; s++)
        for (size_t r = 0; r < p->scores[s]->n_rows; r++) {
            const mmdx_pgs_row *row = &p->scores[s]->rows[r];
            const row_state *st = &p->state[s][r];
            mmdx_prs_format_double(row->weight, num, sizeof num);
            const char *rule = st->status == ST_MATCHED || st->status == ST_AMBIGUOUS ||
                                       st->status == ST_DUPLICATE
                                   ? rule_names[st->rule]
                                   : "";
            fprintf(f, "%s\t%ld\t%s\t%s\t", p->scores[s]->name, row->line, row->rsid ? row->rsid : "",
                    row->chrom ? row->chrom : "");
            if (row->pos)
                fprintf(f, "%lld", (long long)row->pos);
            fprintf(f, "\t%s\t%s\t%s\t%s\t%s%s\t%s\t%s\n", row->effect, row->other ? row->other : "",
                    num, status_name(st->status), (!row->pos && *rule) ? "rsid_" : "", rule,
                    st->vcf ? st->vcf : "", st->reason ? st->reason : "");
        }
    ret = mmdx_atomic_file_commit(&af);
    return ret < 0 ? mmdx_error_set(err, ret, "%s", mmdx_last_error()) : 0;
}
