/* SPDX-License-Identifier: Apache-2.0 */
#include "panel.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "array.h"
#include "chrom.h"

typedef struct panel_region {
    char chrom[MMDX_CHROM_MAX]; /* canonical */
    char *raw;                  /* as given */
    int64_t beg, end;           /* 1-based inclusive */
} panel_region;

struct mmdx_panel {
    char *name;
    panel_region *r;
    size_t n, cap;
};

int mmdx_panel_new(mmdx_panel **out, const char *name, mmdx_error *err)
{
    *out = NULL;
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return mmdx_error_set(err, MMDX_EINVAL, "panel name '%s' must have 1 to 64 characters", name);
    for (size_t i = 0; i < n; i++) {
        char c = (char)tolower((unsigned char)name[i]);
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return mmdx_error_set(err, MMDX_EINVAL,
                                  "panel name '%s' may hold only letters, digits, '_' and '-'", name);
    }
    mmdx_panel *p = calloc(1, sizeof *p);
    if (!p || !(p->name = strdup(name))) {
        free(p);
        return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    }
    for (char *c = p->name; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    *out = p;
    return 0;
}

void mmdx_panel_free(mmdx_panel *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->r[i].raw);
    free(p->r);
    free(p->name);
    free(p);
}

const char *mmdx_panel_name(const mmdx_panel *p) { return p->name; }
size_t mmdx_panel_n_regions(const mmdx_panel *p) { return p->n; }

static int push(mmdx_panel *p, const char *chrom, size_t len, int64_t beg, int64_t end)
{
    if (mmdx_array_reserve(&p->r, &p->cap, p->n + 1, sizeof *p->r, 16, 0) < 0)
        return MMDX_ENOMEM;
    panel_region *x = &p->r[p->n];
    mmdx_chrom_canonical(chrom, len, x->chrom);
    x->raw = malloc(len + 1);
    if (!x->raw)
        return MMDX_ENOMEM;
    memcpy(x->raw, chrom, len);
    x->raw[len] = '\0';
    x->beg = beg;
    x->end = end;
    p->n++;
    return 0;
}

static int parse_i64(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 15)
        return -1;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ',')
            continue; /* "41,196,312" as genome browsers print it */
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *out = x;
    return 0;
}

int mmdx_panel_add_bed(mmdx_panel *p, const char *path, mmdx_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return mmdx_error_set(err, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: %s", path,
                              strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#' || strncmp(line, "track", 5) == 0 ||
            strncmp(line, "browser", 7) == 0)
            continue;
        const char *col[3];
        size_t cl[3];
        int nc = 0;
        const char *q = line;
        while (nc < 3) {
            const char *t = strchr(q, '\t');
            col[nc] = q;
            cl[nc] = t ? (size_t)(t - q) : strlen(q);
            nc++;
            if (!t)
                break;
            q = t + 1;
        }
        int64_t beg, end;
        if (nc < 3) {
            rc = mmdx_error_set(err, MMDX_EFORMAT,
                                "%s: line %ld: %d tab-separated column%s, a BED line needs chrom, start, end",
                                path, lineno, nc, nc == 1 ? "" : "s");
            break;
        }
        if (cl[0] == 0 || parse_i64(col[1], cl[1], &beg) < 0 || parse_i64(col[2], cl[2], &end) < 0 ||
            end <= beg) {
            rc = mmdx_error_set(err, MMDX_EFORMAT,
                                "%s: line %ld: start and end must be integers with start < end", path,
                                lineno);
            break;
        }
        if (push(p, col[0], cl[0], beg + 1, end) < 0) {
            rc = mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = mmdx_error_set(err, MMDX_EIO, "%s: read error", path);
    free(line);
    fclose(f);
    return rc;
}

int mmdx_panel_add_region(mmdx_panel *p, const char *gene, const char *spec, mmdx_error *err)
{
    (void)gene;
    const char *colon = strrchr(spec, ':');
    const char *dash = colon ? strchr(colon, '-') : NULL;
    int64_t beg, end;
    if (!colon || colon == spec || !dash || parse_i64(colon + 1, (size_t)(dash - colon - 1), &beg) < 0 ||
        parse_i64(dash + 1, strlen(dash + 1), &end) < 0 || beg < 1 || end < beg)
        return mmdx_error_set(err, MMDX_EINVAL,
                              "region '%s' is not chrom:begin-end (1-based, begin <= end)", spec);
    if (push(p, spec, (size_t)(colon - spec), beg, end) < 0)
        return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    return 0;
}

static int region_cmp(const void *a, const void *b)
{
    const panel_region *x = a, *y = b;
    int c = strcmp(x->chrom, y->chrom);
    if (c)
        return c;
    return x->beg < y->beg ? -1 : (x->beg > y->beg);
}

int mmdx_panel_finalize(mmdx_panel *p, mmdx_error *err)
{
    if (p->n == 0)
        return mmdx_error_set(err, MMDX_EINVAL, "panel '%s' has no regions", p->name);
    qsort(p->r, p->n, sizeof *p->r, region_cmp);
    size_t m = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (m > 0 && strcmp(p->r[m - 1].chrom, p->r[i].chrom) == 0 && p->r[i].beg <= p->r[m - 1].end + 1) {
            if (p->r[i].end > p->r[m - 1].end)
                p->r[m - 1].end = p->r[i].end;
            free(p->r[i].raw);
        } else {
            p->r[m++] = p->r[i];
        }
    }
    p->n = m;
    return 0;
}

int mmdx_panel_contains(const mmdx_panel *p, const char *chrom, int64_t pos)
{
    char canon[MMDX_CHROM_MAX];
    mmdx_chrom_canonical(chrom, strlen(chrom), canon);
    size_t lo = 0, hi = p->n;
    /* first region that is not before (canon, pos) */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(p->r[mid].chrom, canon);
        if (c < 0 || (c == 0 && p->r[mid].end < pos))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->n && strcmp(p->r[lo].chrom, canon) == 0 && p->r[lo].beg <= pos && pos <= p->r[lo].end;
}

int mmdx_panel_regions(const mmdx_panel *p, mmdx_region **out, size_t *n)
{
    *out = malloc((p->n ? p->n : 1) * sizeof **out);
    *n = 0;
    if (!*out)
        return MMDX_ENOMEM;
    for (size_t i = 0; i < p->n; i++) {
        (*out)[i].chrom = p->r[i].raw;
        (*out)[i].beg = p->r[i].beg;
        (*out)[i].end = p->r[i].end;
    }
    *n = p->n;
    return 0;
}

static int term_matches(const char *t, size_t n, const char *const *terms, size_t n_terms)
{
    while (n && (*t == '_' || *t == ' ')) {
        t++;
        n--;
    }
    while (n && (t[n - 1] == '_' || t[n - 1] == ' '))
        n--;
    for (size_t i = 0; i < n_terms; i++)
        if (strlen(terms[i]) == n && strncasecmp(t, terms[i], n) == 0)
            return 1;
    return 0;
}

int mmdx_clnsig_is_pathogenic(const char *value, size_t n_alt, size_t alt, const char *const *terms,
                              size_t n_terms)
{
    if (!value || !*value)
        return 0;
    const char *b = value, *e = value + strlen(value);
    if (n_alt > 1) {
        size_t groups = 1;
        for (const char *c = b; c < e; c++)
            groups += *c == ',';
        if (groups == n_alt) {
            /* one group per ALT */
            for (size_t g = 1; g < alt; g++)
                b = strchr(b, ',') + 1;
            const char *c = strchr(b, ',');
            if (c)
                e = c;
        }
    }
    const char *t = b;
    for (const char *c = b; c <= e; c++) {
        if (c == e || *c == '|' || *c == '/' || *c == ',') {
            if (term_matches(t, (size_t)(c - t), terms, n_terms))
                return 1;
            t = c + 1;
        }
    }
    return 0;
}
