/* SPDX-License-Identifier: Apache-2.0 */
#include "manifest.h"

#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "csv.h"
#include "dupes.h"
#include "error.h"
#include "path.h"

struct mmdx_manifest {
    char *path;
    char *dir;
    size_t n_cols;
    char **cols;
    size_t n_rows, cap_rows, cap_lines;
    char **cells;  /* n_rows x n_cols; cap_rows rows allocated */
    long *lines;
    long id_col, label_col;
};

void mmdx_manifest_free(mmdx_manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_cols; i++)
        free(m->cols[i]);
    for (size_t i = 0; i < m->n_rows * m->n_cols; i++)
        free(m->cells[i]);
    free(m->cols);
    free(m->cells);
    free(m->lines);
    free(m->path);
    free(m->dir);
    free(m);
}

static int valid_column_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!(c == '_' || c == '-' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* The header's fields (from line `line` of the file). */
static int set_header(mmdx_manifest *m, char *const *f, size_t n, long line)
{
    m->cols = calloc(n, sizeof *m->cols);
    if (!m->cols)
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", m->path);
    m->id_col = m->label_col = -1;
    for (size_t i = 0; i < n; i++) {
        if (!valid_column_name(f[i]))
            return mmdx_fail(MMDX_EFORMAT,
                             "%s: line %ld: column %zu: invalid column name \"%s\" (letters, digits, _ - . only)",
                             m->path, line, i + 1, f[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->cols[j], f[i]) == 0)
                return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: column \"%s\" appears twice", m->path, line,
                                 f[i]);
        if (!(m->cols[i] = strdup(f[i])))
            return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", m->path);
        m->n_cols = i + 1;
        if (strcmp(f[i], "patient_id") == 0)
            m->id_col = (long)i;
        else if (strcmp(f[i], "label") == 0)
            m->label_col = (long)i;
    }
    if (m->id_col < 0)
        return mmdx_fail(MMDX_EFORMAT,
                         "%s: line %ld: unknown header: no patient_id column (expected "
                         "patient_id,dicom,vcf,vcf_sample,record,label)",
                         m->path, line);
    return 0;
}

static int read_header(mmdx_manifest *m, mmdx_csv_reader *r)
{
    char **f;
    size_t n;
    int rc = mmdx_csv_next(r, &f, &n);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return mmdx_fail(MMDX_EFORMAT, "%s: empty file: expected a header line starting with patient_id",
                         m->path);
    return set_header(m, f, n, mmdx_csv_line(r));
}

/* Whether a relative path climbs out of the folder it is relative to
 * ("../../etc/passwd", "a/../../b"), judged on its text, before any file is
 * touched. Absolute paths are the operator's explicit choice and pass. */
static int climbs_out(const char *p)
{
    if (p[0] == '/')
        return 0;
    long depth = 0;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (--depth < 0)
                return 1;
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            depth++;
        }
        p += n;
        while (*p == '/')
            p++;
    }
    return 0;
}

/* One row's fields (line `line` of the file). */
static int add_row(mmdx_manifest *m, char *const *f, size_t n, long line)
{
    if (n != m->n_cols)
        return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: %zu fields, but the header has %zu columns",
                         m->path, line, n, m->n_cols);
    const char *id = f[m->id_col];
    if (!*id)
        return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: empty patient_id", m->path, line);
    if (has_control(id))
        return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: patient_id holds a control character", m->path,
                         line);
    if (m->label_col >= 0) {
        const char *l = f[m->label_col];
        if (*l && strcmp(l, "0") != 0 && strcmp(l, "1") != 0)
            return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: label \"%.40s\" is not 0, 1 or empty",
                             m->path, line, l);
    }
    for (size_t i = 0; i < n; i++)
        if (mmdx_manifest_is_path_column(m->cols[i]) && climbs_out(f[i]))
            return mmdx_fail(MMDX_EPERM,
                             "%s: line %ld: column %s: relative path \"%.80s\" leaves the manifest's folder "
                             "(refused: write an absolute path to read a file outside it)",
                             m->path, line, m->cols[i], f[i]);
    /* cells grow a row (n_cols pointers) at a time */
    if (mmdx_array_reserve(&m->cells, &m->cap_rows, m->n_rows + 1, m->n_cols * sizeof *m->cells, 64, 0) < 0 ||
        mmdx_array_reserve(&m->lines, &m->cap_lines, m->n_rows + 1, sizeof *m->lines, 64, 0) < 0)
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", m->path);
    char **row = m->cells + m->n_rows * m->n_cols;
    for (size_t i = 0; i < n; i++) {
        if (!(row[i] = strdup(f[i]))) {
            for (size_t j = 0; j < i; j++)
                free(row[j]);
            return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", m->path);
        }
    }
    m->lines[m->n_rows++] = line;
    return 0;
}

static int check_duplicates(const mmdx_manifest *m)
{
    const char **ids = malloc((m->n_rows ? m->n_rows : 1) * sizeof *ids);
    if (!ids)
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", m->path);
    for (size_t i = 0; i < m->n_rows; i++)
        ids[i] = mmdx_manifest_patient_id(m, i);
    size_t a = 0, b = 0;
    int found = mmdx_find_duplicate(ids, m->n_rows, &a, &b);
    free(ids);
    if (found < 0)
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", m->path);
    if (found)
        return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: duplicate patient_id (first on line %ld)",
                         m->path, m->lines[b], m->lines[a]);
    return 0;
}

static int load_from(mmdx_manifest **out, const char *path, const char *data, size_t len)
{
    *out = NULL;
    mmdx_manifest *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(path)) || !(m->dir = mmdx_path_dirname(path))) {
        mmdx_manifest_free(m);
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
    }
    mmdx_csv_reader *r = NULL;
    int rc = data ? mmdx_csv_open_mem(&r, data, len, path, ',') : mmdx_csv_open(&r, path, ',');
    if (rc == 0)
        rc = read_header(m, r);
    while (rc == 0) {
        char **f;
        size_t n;
        int got = mmdx_csv_next(r, &f, &n);
        if (got <= 0) {
            rc = got;
            break;
        }
        rc = add_row(m, f, n, mmdx_csv_line(r));
    }
    mmdx_csv_close(r);
    if (rc == 0)
        rc = check_duplicates(m);
    if (rc < 0) {
        mmdx_manifest_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int mmdx_manifest_from_row(mmdx_manifest **out, const char *name, const char *const *columns,
                           const char *const *values, size_t n)
{
    *out = NULL;
    mmdx_manifest *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(name)) || !(m->dir = mmdx_path_dirname(name))) {
        mmdx_manifest_free(m);
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", name);
    }
    int rc = set_header(m, (char *const *)columns, n, 1);
    if (rc == 0)
        rc = add_row(m, (char *const *)values, n, 2);
    if (rc < 0) {
        mmdx_manifest_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int mmdx_manifest_load(mmdx_manifest **out, const char *path)
{
    return load_from(out, path, NULL, 0);
}

int mmdx_manifest_parse(mmdx_manifest **out, const char *data, size_t len, const char *name)
{
    return load_from(out, name, data ? data : "", data ? len : 0);
}

size_t mmdx_manifest_count(const mmdx_manifest *m) { return m->n_rows; }
size_t mmdx_manifest_columns(const mmdx_manifest *m) { return m->n_cols; }
const char *mmdx_manifest_column_name(const mmdx_manifest *m, size_t col) { return m->cols[col]; }

long mmdx_manifest_column(const mmdx_manifest *m, const char *name)
{
    for (size_t i = 0; i < m->n_cols; i++)
        if (strcmp(m->cols[i], name) == 0)
            return (long)i;
    return -1;
}

const char *mmdx_manifest_cell(const mmdx_manifest *m, size_t row, size_t col)
{
    return m->cells[row * m->n_cols + col];
}

const char *mmdx_manifest_get(const mmdx_manifest *m, size_t row, const char *column)
{
    long c = mmdx_manifest_column(m, column);
    return c < 0 ? NULL : mmdx_manifest_cell(m, row, (size_t)c);
}

const char *mmdx_manifest_patient_id(const mmdx_manifest *m, size_t row)
{
    return mmdx_manifest_cell(m, row, (size_t)m->id_col);
}

long mmdx_manifest_line(const mmdx_manifest *m, size_t row) { return m->lines[row]; }

int mmdx_manifest_label(const mmdx_manifest *m, size_t row)
{
    if (m->label_col < 0)
        return -1;
    const char *l = mmdx_manifest_cell(m, row, (size_t)m->label_col);
    return *l ? (l[0] == '1') : -1;
}

int mmdx_manifest_has_labels(const mmdx_manifest *m) { return m->label_col >= 0; }
const char *mmdx_manifest_path(const mmdx_manifest *m) { return m->path; }
const char *mmdx_manifest_dir(const mmdx_manifest *m) { return m->dir; }

int mmdx_manifest_is_path_column(const char *column)
{
    static const char *const known[] = {"dicom", "vcf", "record", "mask"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(column, known[i]) == 0)
            return 1;
    size_t n = strlen(column);
    return n > 5 && strcmp(column + n - 5, "_path") == 0;
}

int mmdx_manifest_resolve(const mmdx_manifest *m, size_t row, const char *column, char **out)
{
    *out = NULL;
    const char *v = mmdx_manifest_get(m, row, column);
    if (!v || !*v)
        return 0;
    if (!(*out = mmdx_path_resolve(m->dir, v)))
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    return 0;
}
