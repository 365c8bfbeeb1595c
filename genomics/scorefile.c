/* SPDX-License-Identifier: Apache-2.0 */
#include "scorefile.h"
#include "array.h"
#include "error.h"
#include "gzfile.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

void mmdx_scorefile_free(mmdx_scorefile *sf)
{
    if (!sf)
        return;
    for (size_t i = 0; i < sf->n_rows; i++) {
        free(sf->rows[i].rsid);
        free(sf->rows[i].chrom);
        free(sf->rows[i].effect);
        free(sf->rows[i].other);
    }
    free(sf->rows);
    free(sf->path);
    free(sf->name);
    free(sf->genome_build);
    free(sf);
}

static char *dup_range(const char *b, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, b, n);
        s[n] = '\0';
    }
    return s;
}

/* Strip surrounding whitespace (trailing tabs are common in header lines). */
static void trim(const char **b, size_t *n)
{
    while (*n && isspace((unsigned char)**b)) {
        (*b)++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)(*b)[*n - 1]))
        (*n)--;
}

static char *default_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    static const char *const ext[] = {".gz", ".txt", ".tsv", ".scorefile"};
    for (int again = 1; again;) {
        again = 0;
        for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
            size_t el = strlen(ext[i]);
            if (n > el && memcmp(base + n - el, ext[i], el) == 0) {
                n -= el;
                again = 1;
            }
        }
    }
    return dup_range(base, n);
}

static int is_acgt(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s != 'A' && *s != 'C' && *s != 'G' && *s != 'T')
            return 0;
    return 1;
}

static int is_true(const char *b, size_t n)
{
    return (n == 4 && strncasecmp(b, "true", 4) == 0) || (n == 1 && b[0] == '1');
}

enum { C_RSID, C_CHR, C_POS, C_EA, C_OA, C_W, C_HMCHR, C_HMPOS, C_DOM, C_REC, C_HAP, C_DIP, C_ACC, C_N };
static const char *const col_names[C_N] = {
    "rsID",         "chr_name",     "chr_position", "effect_allele", "other_allele", "effect_weight",
    "hm_chr",       "hm_pos",       "is_dominant",  "is_recessive",  "is_haplotype", "is_diplotype", "accession"};

int mmdx_scorefile_parse(mmdx_scorefile **out, const char *data, size_t len, const char *name,
                         mmdx_error *err)
{
    *out = NULL;
    char *accession = NULL; /* the "structured" format names its score per row */
    int one_accession = 1;
    mmdx_scorefile *sf = calloc(1, sizeof *sf);
    if (!sf || !(sf->path = strdup(name)))
        goto nomem;
    int col[C_N];
    for (int i = 0; i < C_N; i++)
        col[i] = -1;
    int have_header = 0, n_cols = 0, rc;
    size_t cap = 0;
    long line = 0;
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        const char *b = p;
        size_t n = (size_t)(le - p);
        p = nl ? nl + 1 : end;
        if (n && b[n - 1] == '\r')
            n--;
        if (memchr(b, '\0', n)) {
            rc = mmdx_error_set(err, MMDX_EFORMAT, "%s: line %ld: binary data (a NUL byte)", name, line);
            goto fail;
        }
        if (n == 0)
            continue;
        if (b[0] == '#') {
            if (have_header)
                continue;
            const char *k = b;
            while (k < b + n && *k == '#')
                k++;
            const char *eq = memchr(k, '=', (size_t)(b + n - k));
            if (!eq)
                continue;
            size_t kl = (size_t)(eq - k), vl = (size_t)(b + n - eq - 1);
            const char *val = eq + 1;
            trim(&val, &vl);
            char **dst = NULL;
            if (kl == 6 && memcmp(k, "pgs_id", 6) == 0)
                dst = &sf->name;
            else if ((kl == 12 && memcmp(k, "genome_build", 12) == 0) ||
                     (kl == 11 && memcmp(k, "HmPOS_build", 11) == 0))
                dst = &sf->genome_build;
            if (dst && vl) {
                free(*dst);
                if (!(*dst = dup_range(val, vl)))
                    goto nomem;
            }
            continue;
        }
        /* split on tabs */
        const char *f[256];
        size_t fl[256];
        int nf = 0;
        const char *q = b;
        for (;;) {
            const char *t = memchr(q, '\t', (size_t)(b + n - q));
            if (nf == 256) {
                rc = mmdx_error_set(err, MMDX_EFORMAT, "%s: line %ld: more than 256 columns", name, line);
                goto fail;
            }
            f[nf] = q;
            fl[nf] = t ? (size_t)(t - q) : (size_t)(b + n - q);
            trim(&f[nf], &fl[nf]);
            nf++;
            if (!t)
                break;
            q = t + 1;
        }
        if (!have_header) {
            have_header = 1;
            n_cols = nf;
            for (int i = 0; i < nf; i++)
                for (int c = 0; c < C_N; c++)
                    if (fl[i] == strlen(col_names[c]) && memcmp(f[i], col_names[c], fl[i]) == 0)
                        col[c] = i;
            if (col[C_EA] < 0 || col[C_W] < 0) {
                rc = mmdx_error_set(err, MMDX_EFORMAT,
                                    "%s: line %ld: the header lacks the required column '%s'", name,
                                    line, col[C_EA] < 0 ? "effect_allele" : "effect_weight");
                goto fail;
            }
            int positions = (col[C_CHR] >= 0 && col[C_POS] >= 0) ||
                            (col[C_HMCHR] >= 0 && col[C_HMPOS] >= 0);
            if (!positions && col[C_RSID] < 0) {
                rc = mmdx_error_set(err, MMDX_EFORMAT,
                                    "%s: line %ld: the header needs either chr_name and chr_position "
                                    "(or hm_chr and hm_pos) or rsID",
                                    name, line);
                goto fail;
            }
            if (col[C_HMCHR] >= 0 && col[C_HMPOS] >= 0) {
                sf->harmonised = 1;
                col[C_CHR] = col[C_HMCHR];
                col[C_POS] = col[C_HMPOS];
            } else if (col[C_POS] < 0 || col[C_CHR] < 0) {
                col[C_POS] = col[C_CHR] = -1;
            }
            continue;
        }
        if (mmdx_array_reserve(&sf->rows, &cap, sf->n_rows + 1, sizeof *sf->rows, 1024, 0) < 0)
            goto nomem;
        mmdx_pgs_row *row = &sf->rows[sf->n_rows];
        memset(row, 0, sizeof *row);
        sf->n_rows++;
        row->line = line;
#define FIELD(c) (col[c] >= 0 && col[c] < nf && fl[col[c]] > 0)
        if (!FIELD(C_EA) || col[C_W] >= nf) {
            rc = mmdx_error_set(err, MMDX_EFORMAT,
                                "%s: line %ld: %d columns, the header has %d (effect_allele or "
                                "effect_weight missing)",
                                name, line, nf, n_cols);
            goto fail;
        }
        if (!FIELD(C_W)) {
            rc = mmdx_error_set(err, MMDX_EFORMAT, "%s: line %ld: empty effect_weight", name, line);
            goto fail;
        }
        {
            char buf[64];
            size_t wl = fl[col[C_W]];
            if (wl >= sizeof buf) {
                rc = mmdx_error_set(err, MMDX_EFORMAT, "%s: line %ld: effect_weight is not a number",
                                    name, line);
                goto fail;
            }
            memcpy(buf, f[col[C_W]], wl);
            buf[wl] = '\0';
            char *endp;
            errno = 0;
            row->weight = strtod(buf, &endp);
            if (*endp || !isfinite(row->weight) || errno == ERANGE) {
                rc = mmdx_error_set(err, MMDX_EFORMAT,
                                    "%s: line %ld: effect_weight '%s' is not a finite number", name,
                                    line, buf);
                goto fail;
            }
        }
        if (!(row->effect = dup_range(f[col[C_EA]], fl[col[C_EA]])))
            goto nomem;
        for (char *c = row->effect; *c; c++)
            *c = (char)toupper((unsigned char)*c);
        if (FIELD(C_OA)) {
            if (!(row->other = dup_range(f[col[C_OA]], fl[col[C_OA]])))
                goto nomem;
            for (char *c = row->other; *c; c++)
                *c = (char)toupper((unsigned char)*c);
        }
        if (FIELD(C_RSID) && !(fl[col[C_RSID]] == 1 && f[col[C_RSID]][0] == '.')) {
            if (!(row->rsid = dup_range(f[col[C_RSID]], fl[col[C_RSID]])))
                goto nomem;
        }
        if (FIELD(C_CHR) && !(row->chrom = dup_range(f[col[C_CHR]], fl[col[C_CHR]])))
            goto nomem;
        if (FIELD(C_CHR) && FIELD(C_POS)) {
            const char *ps = f[col[C_POS]];
            size_t pl = fl[col[C_POS]];
            int64_t pos = 0;
            int ok = pl > 0 && pl < 16;
            for (size_t i = 0; ok && i < pl; i++) {
                if (ps[i] < '0' || ps[i] > '9')
                    ok = 0;
                else
                    pos = pos * 10 + (ps[i] - '0');
            }
            if (!ok || pos <= 0) {
                rc = mmdx_error_set(err, MMDX_EFORMAT,
                                    "%s: line %ld: position '%.*s' is not a positive integer", name,
                                    line, (int)(pl > 40 ? 40 : pl), ps);
                goto fail;
            }
            row->pos = pos;
        }
        if (FIELD(C_ACC) && one_accession) {
            if (!accession) {
                if (!(accession = dup_range(f[col[C_ACC]], fl[col[C_ACC]])))
                    goto nomem;
            } else if (strlen(accession) != fl[col[C_ACC]] ||
                       memcmp(accession, f[col[C_ACC]], fl[col[C_ACC]]) != 0) {
                one_accession = 0;
            }
        }
        if (!is_acgt(row->effect))
            row->problem = "effect allele is not made of A/C/G/T";
        else if (row->other && !is_acgt(row->other))
            row->problem = "other allele is not made of A/C/G/T";
        else if (!row->pos && !row->rsid)
            row->problem = "no position and no rsID";
        else if ((FIELD(C_DOM) && is_true(f[col[C_DOM]], fl[col[C_DOM]])) ||
                 (FIELD(C_REC) && is_true(f[col[C_REC]], fl[col[C_REC]])))
            row->problem = "dominant/recessive effect (only additive weights are supported)";
        else if ((FIELD(C_HAP) && is_true(f[col[C_HAP]], fl[col[C_HAP]])) ||
                 (FIELD(C_DIP) && is_true(f[col[C_DIP]], fl[col[C_DIP]])))
            row->problem = "haplotype/diplotype allele (not supported)";
        if (row->problem)
            sf->n_problems++;
#undef FIELD
    }
    if (!have_header) {
        rc = mmdx_error_set(err, MMDX_EFORMAT, "%s: no header row (only comments or empty)", name);
        goto fail;
    }
    if (sf->n_rows == 0) {
        rc = mmdx_error_set(err, MMDX_EFORMAT, "%s: no variants after the header row", name);
        goto fail;
    }
    if (!sf->name && accession && one_accession) {
        sf->name = accession;
        accession = NULL;
    }
    if (!sf->name && !(sf->name = default_name(name)))
        goto nomem;
    free(accession);
    *out = sf;
    return 0;
nomem:
    rc = mmdx_error_set(err, MMDX_ENOMEM, "%s: out of memory", name);
fail:
    free(accession);
    mmdx_scorefile_free(sf);
    return rc;
}

int mmdx_scorefile_read(mmdx_scorefile **out, const char *path, mmdx_error *err)
{
    *out = NULL;
    char *buf;
    size_t n;
    if (mmdx_gz_read_all(path, &buf, &n) < 0) /* reads plain text as well */
        return mmdx_error_set(err, mmdx_last_error_code(), "%s", mmdx_last_error());
    int rc = mmdx_scorefile_parse(out, buf, n, path, err);
    free(buf);
    return rc;
}
