/* SPDX-License-Identifier: Apache-2.0 */
#include "feature_table.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "atomic_file.h"
#include "csv.h"
#include "dupes.h"
#include "error.h"

void mmdx_feature_table_free(mmdx_feature_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; t->patient_ids && i < t->n_rows; i++)
        free(t->patient_ids[i]);
    for (size_t i = 0; t->feature_names && i < t->n_features; i++)
        free(t->feature_names[i]);
    for (size_t i = 0; t->modalities && i < t->n_modalities; i++)
        free(t->modalities[i]);
    free(t->patient_ids);
    free(t->feature_names);
    free(t->feature_modality);
    free(t->modalities);
    free(t->x);
    free(t->present);
    free(t->labels);
    free(t);
}

int mmdx_feature_table_new(mmdx_feature_table **out, size_t n_rows, size_t n_modalities,
                           const char *const *modalities, size_t n_features,
                           const char *const *feature_names, const uint32_t *feature_modality,
                           int with_labels)
{
    *out = NULL;
    mmdx_feature_table *t = calloc(1, sizeof *t);
    if (!t)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    t->n_rows = n_rows;
    t->n_features = n_features;
    t->n_modalities = n_modalities;
    t->patient_ids = calloc(n_rows ? n_rows : 1, sizeof *t->patient_ids);
    t->feature_names = calloc(n_features ? n_features : 1, sizeof *t->feature_names);
    t->feature_modality = calloc(n_features ? n_features : 1, sizeof *t->feature_modality);
    t->modalities = calloc(n_modalities ? n_modalities : 1, sizeof *t->modalities);
    t->x = malloc((n_rows * n_features + 1) * sizeof *t->x);
    t->present = calloc(n_rows * n_modalities + 1, 1);
    if (with_labels)
        t->labels = malloc((n_rows ? n_rows : 1) * sizeof *t->labels);
    int bad = !t->patient_ids || !t->feature_names || !t->feature_modality || !t->modalities ||
              !t->x || !t->present || (with_labels && !t->labels);
    for (size_t i = 0; !bad && i < n_modalities; i++)
        bad = !(t->modalities[i] = strdup(modalities[i]));
    for (size_t i = 0; !bad && i < n_features; i++) {
        bad = !(t->feature_names[i] = strdup(feature_names[i]));
        if (!bad && feature_modality[i] >= n_modalities) {
            mmdx_feature_table_free(t);
            return mmdx_fail(MMDX_EINVAL, "feature %s: modality index out of range", feature_names[i]);
        }
        t->feature_modality[i] = feature_modality[i];
    }
    if (bad) {
        mmdx_feature_table_free(t);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_rows * n_features; i++)
        t->x[i] = NAN;
    for (size_t i = 0; with_labels && i < n_rows; i++)
        t->labels[i] = -1;
    *out = t;
    return 0;
}

int mmdx_feature_table_set_id(mmdx_feature_table *t, size_t row, const char *id)
{
    char *c = strdup(id);
    if (!c)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    free(t->patient_ids[row]);
    t->patient_ids[row] = c;
    return 0;
}

/* ---- writing ---- */

static void format_double(double v, char *buf, size_t n)
{
    /* Shortest of 15/17 significant digits that reads back exactly. */
    snprintf(buf, n, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, n, "%.17g", v);
}

static int write_table(const mmdx_feature_table *t, FILE *f)
{
    int rc = 0;
    rc |= fputs("patient_id", f) < 0;
    for (size_t m = 0; m < t->n_modalities; m++) {
        fprintf(f, ",%s.present", t->modalities[m]);
        for (size_t j = 0; j < t->n_features; j++)
            if (t->feature_modality[j] == m) {
                putc(',', f);
                rc |= mmdx_csv_write_field(f, t->feature_names[j], ',');
            }
    }
    if (t->labels)
        fputs(",label", f);
    putc('\n', f);
    char num[64];
    for (size_t i = 0; i < t->n_rows; i++) {
        rc |= mmdx_csv_write_field(f, t->patient_ids[i] ? t->patient_ids[i] : "", ',');
        for (size_t m = 0; m < t->n_modalities; m++) {
            int present = t->present[i * t->n_modalities + m];
            fprintf(f, ",%d", present ? 1 : 0);
            for (size_t j = 0; j < t->n_features; j++) {
                if (t->feature_modality[j] != m)
                    continue;
                putc(',', f);
                double v = t->x[i * t->n_features + j];
                if (present && isfinite(v)) {
                    format_double(v, num, sizeof num);
                    fputs(num, f);
                }
            }
        }
        if (t->labels) {
            if (t->labels[i] >= 0)
                fprintf(f, ",%d", t->labels[i]);
            else
                putc(',', f);
        }
        if (putc('\n', f) == EOF)
            rc = 1;
    }
    return rc ? MMDX_EIO : 0;
}

int mmdx_feature_table_write(const mmdx_feature_table *t, const char *path)
{
    mmdx_atomic_file af;
    int rc = mmdx_atomic_file_open(&af, path);
    if (rc < 0)
        return rc;
    if (write_table(t, af.f) < 0) {
        mmdx_atomic_file_abort(&af);
        return mmdx_fail(MMDX_EIO, "%s: write error", path ? path : "standard output");
    }
    return mmdx_atomic_file_commit(&af);
}

/* ---- reading ---- */

typedef struct reader_state {
    const char *path;
    size_t n_cols;
    long id_col, label_col;
    long *col_feature;   /* per column: feature index, or -1 */
    long *col_present;   /* per column: modality index of a .present column, or -1 */
    char **mods;
    size_t n_mods;
    char **feats;
    uint32_t *feat_mod;
    size_t n_feats;
} reader_state;

static void reader_state_free(reader_state *s)
{
    for (size_t i = 0; i < s->n_mods; i++)
        free(s->mods[i]);
    for (size_t i = 0; i < s->n_feats; i++)
        free(s->feats[i]);
    free(s->mods);
    free(s->feats);
    free(s->feat_mod);
    free(s->col_feature);
    free(s->col_present);
}

static long find_mod(const reader_state *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->n_mods; i++)
        if (strlen(s->mods[i]) == len && strncmp(s->mods[i], name, len) == 0)
            return (long)i;
    return -1;
}

static int parse_header(reader_state *s, char **f, size_t n, long line)
{
    s->n_cols = n;
    s->id_col = s->label_col = -1;
    s->col_feature = malloc(n * sizeof *s->col_feature);
    s->col_present = malloc(n * sizeof *s->col_present);
    s->mods = calloc(n, sizeof *s->mods);
    s->feats = calloc(n, sizeof *s->feats);
    s->feat_mod = calloc(n, sizeof *s->feat_mod);
    if (!s->col_feature || !s->col_present || !s->mods || !s->feats || !s->feat_mod)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t c = 0; c < n; c++) {
        s->col_feature[c] = s->col_present[c] = -1;
        const char *name = f[c];
        if (strcmp(name, "patient_id") == 0) {
            if (s->id_col >= 0)
                return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: patient_id appears twice", s->path, line);
            s->id_col = (long)c;
            continue;
        }
        if (strcmp(name, "label") == 0) {
            if (s->label_col >= 0)
                return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: label appears twice", s->path, line);
            s->label_col = (long)c;
            continue;
        }
        const char *dot = strchr(name, '.');
        if (!dot || dot == name || !dot[1])
            return mmdx_fail(MMDX_EFORMAT,
                             "%s: line %ld: column %zu \"%s\" is not <modality>.<feature>, patient_id or label",
                             s->path, line, c + 1, name);
        size_t ml = (size_t)(dot - name);
        long mod = find_mod(s, name, ml);
        if (strcmp(dot + 1, "present") == 0) {
            if (mod >= 0)
                return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: column \"%s\" appears twice", s->path,
                                 line, name);
            if (!(s->mods[s->n_mods] = strndup(name, ml)))
                return mmdx_fail(MMDX_ENOMEM, "out of memory");
            s->col_present[c] = (long)s->n_mods++;
            continue;
        }
        if (mod < 0)
            return mmdx_fail(MMDX_EFORMAT,
                             "%s: line %ld: column \"%s\": no %.*s.present column before it", s->path,
                             line, name, (int)ml, name);
        for (size_t j = 0; j < s->n_feats; j++)
            if (strcmp(s->feats[j], name) == 0)
                return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: column \"%s\" appears twice", s->path,
                                 line, name);
        if (!(s->feats[s->n_feats] = strdup(name)))
            return mmdx_fail(MMDX_ENOMEM, "out of memory");
        s->feat_mod[s->n_feats] = (uint32_t)mod;
        s->col_feature[c] = (long)s->n_feats++;
    }
    if (s->id_col < 0)
        return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: no patient_id column: not a feature table",
                         s->path, line);
    return 0;
}

typedef struct row_buf {
    size_t n, cap;
    char **ids;
    double *x;
    uint8_t *present;
    int32_t *labels;
} row_buf;

static int grow_rows(row_buf *b, size_t nf, size_t nm)
{
    size_t cap = b->cap ? b->cap * 2 : 256;
    char **ids = realloc(b->ids, cap * sizeof *ids);
    if (ids) b->ids = ids;
    double *x = realloc(b->x, (cap * nf + 1) * sizeof *x);
    if (x) b->x = x;
    uint8_t *p = realloc(b->present, cap * nm + 1);
    if (p) b->present = p;
    int32_t *l = realloc(b->labels, cap * sizeof *l);
    if (l) b->labels = l;
    if (!ids || !x || !p || !l)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    b->cap = cap;
    return 0;
}

static int parse_row(const reader_state *s, row_buf *b, char **f, size_t n, long line)
{
    if (n != s->n_cols)
        return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: %zu fields, but the header has %zu columns",
                         s->path, line, n, s->n_cols);
    if (b->n == b->cap) {
        int rc = grow_rows(b, s->n_feats, s->n_mods);
        if (rc < 0)
            return rc;
    }
    size_t r = b->n;
    double *x = b->x + r * s->n_feats;
    uint8_t *pr = b->present + r * s->n_mods;
    b->labels[r] = -1;
    for (size_t c = 0; c < n; c++) {
        const char *v = f[c];
        if ((long)c == s->id_col) {
            if (!*v)
                return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: empty patient_id", s->path, line);
        } else if ((long)c == s->label_col) {
            if (*v && strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
                return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: label \"%.40s\" is not 0, 1 or empty",
                                 s->path, line, v);
            b->labels[r] = *v ? v[0] - '0' : -1;
        } else if (s->col_present[c] >= 0) {
            if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
                return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: column %s.present: \"%.40s\" is not 0 or 1",
                                 s->path, line, s->mods[s->col_present[c]], v);
            pr[s->col_present[c]] = (uint8_t)(v[0] == '1');
        } else {
            long j = s->col_feature[c];
            if (!*v) {
                x[j] = NAN;
                continue;
            }
            char *end;
            errno = 0;
            double d = strtod(v, &end);
            if (*end || end == v || !isfinite(d) || errno == ERANGE)
                return mmdx_fail(MMDX_EFORMAT,
                                 "%s: line %ld: column %s: \"%.40s\" is not a finite number", s->path,
                                 line, s->feats[j], v);
            x[j] = d;
        }
    }
    for (size_t j = 0; j < s->n_feats; j++)
        if (!pr[s->feat_mod[j]])
            x[j] = NAN;
    if (!(b->ids[r] = strdup(f[s->id_col])))
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    b->n++;
    return 0;
}

static int read_from(mmdx_feature_table **out, const char *path, const char *data, size_t len)
{
    *out = NULL;
    mmdx_csv_reader *r = NULL;
    reader_state s = {.path = path};
    row_buf b = {0};
    mmdx_feature_table *t = NULL;
    long *lines = NULL;
    size_t lines_cap = 0;
    char **f;
    size_t n;
    int rc = data ? mmdx_csv_open_mem(&r, data, len, path, ',') : mmdx_csv_open(&r, path, ',');
    if (rc == 0) {
        rc = mmdx_csv_next(r, &f, &n);
        if (rc == 0)
            rc = mmdx_fail(MMDX_EFORMAT, "%s: empty file: not a feature table", path);
        else if (rc > 0)
            rc = parse_header(&s, f, n, mmdx_csv_line(r));
    }
    while (rc == 0) {
        int got = mmdx_csv_next(r, &f, &n);
        if (got <= 0) {
            rc = got;
            break;
        }
        rc = parse_row(&s, &b, f, n, mmdx_csv_line(r));
        if (rc == 0) {
            if (mmdx_array_reserve(&lines, &lines_cap, b.n, sizeof *lines, 256, 0) < 0)
                rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
            else
                lines[b.n - 1] = mmdx_csv_line(r);
        }
    }
    if (rc == 0)
        rc = mmdx_feature_table_new(&t, 0, s.n_mods, (const char *const *)s.mods, s.n_feats,
                                    (const char *const *)s.feats, s.feat_mod, s.label_col >= 0);
    if (rc == 0) {
        size_t a = 0, d = 0;
        int found = mmdx_find_duplicate((const char *const *)b.ids, b.n, &a, &d);
        if (found < 0)
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        else if (found)
            rc = mmdx_fail(MMDX_EFORMAT, "%s: line %ld: duplicate patient_id (first on line %ld)",
                           path, lines[d], lines[a]);
    }
    if (rc == 0) {
        free(t->patient_ids);
        free(t->x);
        free(t->present);
        free(t->labels);
        t->n_rows = b.n;
        t->patient_ids = b.ids;
        t->x = b.x;
        t->present = b.present;
        if (s.label_col >= 0) {
            t->labels = b.labels;
        } else {
            t->labels = NULL;
            free(b.labels);
        }
        if (!t->patient_ids) {
            t->patient_ids = calloc(1, sizeof *t->patient_ids);
            t->x = calloc(1, sizeof *t->x);
            t->present = calloc(1, 1);
        }
        memset(&b, 0, sizeof b);
        *out = t;
        t = NULL;
    }
    for (size_t i = 0; i < b.n; i++)
        free(b.ids[i]);
    free(b.ids);
    free(b.x);
    free(b.present);
    free(b.labels);
    free(lines);
    mmdx_feature_table_free(t);
    reader_state_free(&s);
    mmdx_csv_close(r);
    return rc;
}

int mmdx_feature_table_read(mmdx_feature_table **out, const char *path)
{
    return read_from(out, path, NULL, 0);
}

int mmdx_feature_table_parse(mmdx_feature_table **out, const char *data, size_t len,
                             const char *name)
{
    return read_from(out, name, data ? data : "", data ? len : 0);
}
