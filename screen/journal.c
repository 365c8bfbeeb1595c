/* SPDX-License-Identifier: Apache-2.0 */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "atomic_file.h"
#include "csv.h"
#include "error.h"
#include "strmap.h"

#define MAGIC "# mmdx screen journal v1 run "

struct mmdx_journal {
    char *path, *partial;
    size_t n_columns;
    char **header;
    char ***rows;       /* latest row per patient, n_columns strings each */
    size_t n_rows, cap;
    mmdx_strmap *index;  /* patient -> rows[] index */
    size_t resumed;
    FILE *f;            /* the partial file, appending */
};

static void row_free(char **row, size_t n)
{
    for (size_t i = 0; row && i < n; i++)
        free(row[i]);
    free(row);
}

void mmdx_journal_free(mmdx_journal *j)
{
    if (!j)
        return;
    if (j->f)
        fclose(j->f);
    for (size_t i = 0; i < j->n_rows; i++)
        row_free(j->rows[i], j->n_columns);
    free(j->rows);
    row_free(j->header, j->n_columns);
    mmdx_strmap_free(j->index);
    free(j->path);
    free(j->partial);
    free(j);
}

static char **row_copy(const char *const *fields, size_t n)
{
    char **r = calloc(n ? n : 1, sizeof *r);
    for (size_t i = 0; r && i < n; i++)
        if (!(r[i] = strdup(fields[i]))) {
            row_free(r, n);
            return NULL;
        }
    return r;
}

/* Remember a row as the patient's latest. */
static int keep(mmdx_journal *j, const char *const *fields)
{
    char **copy = row_copy(fields, j->n_columns);
    if (!copy)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    size_t at;
    if (mmdx_strmap_get(j->index, fields[0], &at)) {
        row_free(j->rows[at], j->n_columns);
        j->rows[at] = copy;
        return 0;
    }
    if (mmdx_array_reserve(&j->rows, &j->cap, j->n_rows + 1, sizeof *j->rows, 256, 0) < 0) {
        row_free(copy, j->n_columns);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    j->rows[j->n_rows] = copy;
    int rc = mmdx_strmap_set(j->index, fields[0], j->n_rows);
    if (rc < 0) {
        row_free(copy, j->n_columns);
        return rc;
    }
    j->n_rows++;
    return 0;
}

static void write_row(FILE *f, const char *const *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        mmdx_csv_write_field(f, fields[i], ',');
    }
    fputc('\n', f);
}

static int read_all(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? 1 : mmdx_fail(MMDX_EIO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    char chunk[65536];
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (mmdx_array_reserve(&buf, &cap, n + got + 1, 1, 2 * sizeof chunk, 0) < 0) {
            free(buf);
            fclose(f);
            return mmdx_fail(MMDX_ENOMEM, "out of memory");
        }
        memcpy(buf + n, chunk, got);
        n += got;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return mmdx_fail(MMDX_EIO, "%s: read failed", path);
    }
    *data = buf;
    *len = n;
    return 0;
}

/* Read back an existing partial file; cut a torn last line. */
static int resume(mmdx_journal *j, const char *run_id)
{
    char *data = NULL;
    size_t len = 0;
    int rc = read_all(j->partial, &data, &len);
    if (rc != 0)
        return rc; /* 1: no partial file */
    char first[160];
    snprintf(first, sizeof first, MAGIC "%s\n", run_id);
    size_t fl = strlen(first);
    if (len < fl || memcmp(data, first, fl) != 0) {
        free(data);
        return mmdx_fail(MMDX_EEXISTS,
                         "%s belongs to another screening run (another model, cohort, shard or job): "
                         "finish that run, or remove the file, or choose another --out",
                         j->partial);
    }
    size_t end = len;
    while (end > fl && data[end - 1] != '\n')
        end--; /* the tail of an interrupted write */
    mmdx_csv_reader *r = NULL;
    rc = mmdx_csv_open_mem(&r, data + fl, end - fl, j->partial, ',');
    char **fields;
    size_t nf;
    int got, line = 0;
    while (rc == 0 && (got = mmdx_csv_next(r, &fields, &nf)) != 0) {
        if (got < 0) {
            rc = got;
            break;
        }
        line++;
        if (nf != j->n_columns) {
            rc = mmdx_fail(MMDX_EFORMAT, "%s: line %ld: %zu fields, expected %zu (a damaged journal: remove it "
                           "to screen the shard again from the database's state)",
                           j->partial, mmdx_csv_line(r) + 1, nf, j->n_columns);
            break;
        }
        if (line == 1) {
            for (size_t i = 0; i < nf && rc == 0; i++)
                if (strcmp(fields[i], j->header[i]) != 0)
                    rc = mmdx_fail(MMDX_EEXISTS, "%s: its columns differ from this run's (column %zu is '%s', "
                                   "expected '%s'); remove it or choose another --out",
                                   j->partial, i + 1, fields[i], j->header[i]);
            continue;
        }
        if ((rc = keep(j, (const char *const *)fields)) == 0)
            j->resumed++;
    }
    mmdx_csv_close(r);
    free(data);
    if (rc == 0 && line == 0)
        return mmdx_fail(MMDX_EFORMAT, "%s: no header line (a damaged journal: remove it)", j->partial);
    if (rc == 0 && end < len && truncate(j->partial, (off_t)end) != 0)
        rc = mmdx_fail(MMDX_EIO, "%s: cannot cut the interrupted last line: %s", j->partial, strerror(errno));
    return rc;
}

int mmdx_journal_open(mmdx_journal **out, const char *path, const char *run_id, const char *const *header,
                      size_t n_columns)
{
    *out = NULL;
    mmdx_journal *j = calloc(1, sizeof *j);
    size_t pl = strlen(path);
    if (!j || !(j->path = strdup(path)) || !(j->partial = malloc(pl + 9)) || !(j->index = mmdx_strmap_new()) ||
        !(j->header = row_copy(header, n_columns))) {
        mmdx_journal_free(j);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    snprintf(j->partial, pl + 9, "%s.partial", path);
    j->n_columns = n_columns;
    int rc = resume(j, run_id);
    if (rc < 0) {
        mmdx_journal_free(j);
        return rc;
    }
    int fresh = rc == 1;
    /* Patient IDs and their results: readable by the owner only, like the final CSV
     * (mkstemp's 0600); a journal an older version left readable is tightened too. */
    int fd = open(j->partial, O_WRONLY | O_CREAT | O_CLOEXEC | (fresh ? O_TRUNC : O_APPEND), 0600);
    if (fd >= 0 && (fchmod(fd, 0600) != 0 || !(j->f = fdopen(fd, fresh ? "w" : "a")))) {
        int e = errno;
        close(fd);
        errno = e;
    }
    if (!j->f) {
        rc = mmdx_fail(MMDX_EIO, "%s: cannot open for writing: %s", j->partial, strerror(errno));
        mmdx_journal_free(j);
        return rc;
    }
    if (fresh) {
        fprintf(j->f, MAGIC "%s\n", run_id);
        write_row(j->f, header, n_columns);
        if (fflush(j->f) != 0 || fsync(fileno(j->f)) != 0) {
            rc = mmdx_fail(MMDX_EIO, "%s: write failed: %s", j->partial, strerror(errno));
            mmdx_journal_free(j);
            return rc;
        }
    }
    *out = j;
    return 0;
}

size_t mmdx_journal_resumed_rows(const mmdx_journal *j) { return j->resumed; }

void mmdx_journal_discard(mmdx_journal *j)
{
    if (!j)
        return;
    if (j->n_rows == 0) {
        if (j->f)
            fclose(j->f);
        j->f = NULL;
        unlink(j->partial);
    }
    mmdx_journal_free(j);
}

const char *const *mmdx_journal_row(const mmdx_journal *j, const char *patient_id)
{
    size_t at;
    return mmdx_strmap_get(j->index, patient_id, &at) ? (const char *const *)j->rows[at] : NULL;
}

int mmdx_journal_append(mmdx_journal *j, const char *const *const *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        write_row(j->f, rows[i], j->n_columns);
        int rc = keep(j, rows[i]);
        if (rc < 0)
            return rc;
    }
    if (fflush(j->f) != 0 || ferror(j->f) || fsync(fileno(j->f)) != 0)
        return mmdx_fail(MMDX_EIO, "%s: write failed: %s", j->partial, strerror(errno));
    return 0;
}

int mmdx_journal_finish(mmdx_journal *j, const char *const *order, size_t n, int keep_partial)
{
    mmdx_atomic_file af;
    int rc = mmdx_atomic_file_open(&af, j->path);
    if (rc < 0)
        return rc;
    write_row(af.f, (const char *const *)j->header, j->n_columns);
    for (size_t i = 0; i < n; i++) {
        const char *const *row = mmdx_journal_row(j, order[i]);
        if (row)
            write_row(af.f, row, j->n_columns);
    }
    if ((rc = mmdx_atomic_file_commit(&af)) < 0)
        return rc;
    if (keep_partial)
        return 0;
    if (j->f) {
        fclose(j->f);
        j->f = NULL;
    }
    if (unlink(j->partial) != 0 && errno != ENOENT)
        return mmdx_fail(MMDX_EIO, "%s: cannot remove: %s", j->partial, strerror(errno));
    return 0;
}
