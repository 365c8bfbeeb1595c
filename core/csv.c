/* SPDX-License-Identifier: Apache-2.0 */
#include "csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"

struct mmdx_csv_reader {
    FILE *f;           /* NULL when reading from memory */
    const char *mem;
    size_t mem_len, mem_pos;
    char *name;
    char delim;
    long line;         /* physical line of the next byte */
    long record_line;  /* line where the last record started */
    int at_start;      /* BOM check pending */
    char *buf;         /* field text, NUL-separated */
    size_t buf_len, buf_cap;
    size_t *offsets;   /* start of each field in buf */
    char **fields;
    size_t n_fields, offsets_cap, fields_cap;
};

static int rd(mmdx_csv_reader *r)
{
    int c;
    if (r->f)
        c = getc(r->f);
    else
        c = r->mem_pos < r->mem_len ? (unsigned char)r->mem[r->mem_pos++] : EOF;
    return c;
}

static void unrd(mmdx_csv_reader *r, int c)
{
    if (c == EOF)
        return;
    if (r->f)
        ungetc(c, r->f);
    else
        r->mem_pos--;
}

static int new_reader(mmdx_csv_reader **out, const char *name, char delim)
{
    mmdx_csv_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(name))) {
        free(r);
        return mmdx_fail(MMDX_ENOMEM, "out of memory opening %s", name);
    }
    r->delim = delim;
    r->line = 1;
    r->at_start = 1;
    *out = r;
    return 0;
}

int mmdx_csv_open(mmdx_csv_reader **out, const char *path, char delim)
{
    *out = NULL;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return mmdx_fail(errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: cannot open: %s", path,
                         strerror(errno));
    int rc = new_reader(out, path, delim);
    if (rc < 0) {
        if (f != stdin)
            fclose(f);
        return rc;
    }
    (*out)->f = f;
    return 0;
}

int mmdx_csv_open_mem(mmdx_csv_reader **out, const char *data, size_t len, const char *name,
                      char delim)
{
    *out = NULL;
    int rc = new_reader(out, name ? name : "<memory>", delim);
    if (rc < 0)
        return rc;
    (*out)->mem = data;
    (*out)->mem_len = len;
    return 0;
}

static int put(mmdx_csv_reader *r, char c)
{
    if (mmdx_array_reserve(&r->buf, &r->buf_cap, r->buf_len + 1, 1, 256, 0) < 0)
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", r->name);
    r->buf[r->buf_len++] = c;
    return 0;
}

static int start_field(mmdx_csv_reader *r)
{
    if (mmdx_array_reserve(&r->offsets, &r->offsets_cap, r->n_fields + 1, sizeof *r->offsets, 16, 0) < 0 ||
        mmdx_array_reserve(&r->fields, &r->fields_cap, r->n_fields + 1, sizeof *r->fields, 16, 0) < 0)
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", r->name);
    r->offsets[r->n_fields++] = r->buf_len;
    return 0;
}

int mmdx_csv_next(mmdx_csv_reader *r, char ***fields, size_t *n_fields)
{
    int c;
    if (r->at_start) {
        r->at_start = 0;
        int b0 = rd(r);
        if (b0 == 0xEF) {
            int b1 = rd(r), b2 = rd(r);
            if (b1 != 0xBB || b2 != 0xBF)
                return mmdx_fail(MMDX_EFORMAT, "%s: line 1: invalid byte-order mark", r->name);
        } else {
            unrd(r, b0);
        }
    }
    for (;;) {
        r->buf_len = 0;
        r->n_fields = 0;
        r->record_line = r->line;
        c = rd(r);
        if (c == EOF)
            return 0;
        if (c == '\n') { r->line++; continue; }          /* blank line */
        if (c == '\r') {
            int d = rd(r);
            if (d == '\n') { r->line++; continue; }
            unrd(r, d);
        }
        unrd(r, c);
        break;
    }

    int rc;
    for (;;) { /* one field per iteration */
        if ((rc = start_field(r)) < 0)
            return rc;
        c = rd(r);
        if (c == '"') {
            for (;;) {
                c = rd(r);
                if (c == EOF)
                    return mmdx_fail(MMDX_EFORMAT,
                                     "%s: line %ld: field %zu: quoted field never closed", r->name,
                                     r->record_line, r->n_fields);
                if (c == '"') {
                    int d = rd(r);
                    if (d == '"') {
                        if ((rc = put(r, '"')) < 0)
                            return rc;
                        continue;
                    }
                    unrd(r, d);
                    break;
                }
                if (c == '\n')
                    r->line++;
                if ((rc = put(r, (char)c)) < 0)
                    return rc;
            }
            c = rd(r);
            if (c != r->delim && c != '\n' && c != '\r' && c != EOF)
                return mmdx_fail(MMDX_EFORMAT,
                                 "%s: line %ld: field %zu: text after the closing quote", r->name,
                                 r->line, r->n_fields);
        } else {
            while (c != r->delim && c != '\n' && c != '\r' && c != EOF) {
                if (c == '"')
                    return mmdx_fail(MMDX_EFORMAT,
                                     "%s: line %ld: field %zu: quote inside an unquoted field",
                                     r->name, r->line, r->n_fields);
                if ((rc = put(r, (char)c)) < 0)
                    return rc;
                c = rd(r);
            }
        }
        if ((rc = put(r, '\0')) < 0)
            return rc;
        if (c == r->delim)
            continue;
        if (c == '\r') {
            int d = rd(r);
            if (d != '\n')
                unrd(r, d);
        }
        if (c != EOF)
            r->line++;
        break;
    }
    for (size_t i = 0; i < r->n_fields; i++)
        r->fields[i] = r->buf + r->offsets[i];
    *fields = r->fields;
    *n_fields = r->n_fields;
    return 1;
}

long mmdx_csv_line(const mmdx_csv_reader *r) { return r->record_line; }

const char *mmdx_csv_name(const mmdx_csv_reader *r) { return r->name; }

void mmdx_csv_close(mmdx_csv_reader *r)
{
    if (!r)
        return;
    if (r->f && r->f != stdin)
        fclose(r->f);
    free(r->name);
    free(r->buf);
    free(r->offsets);
    free(r->fields);
    free(r);
}

int mmdx_csv_write_field(FILE *f, const char *value, char delim)
{
    if (!value)
        value = "";
    if (!strpbrk(value, "\"\r\n") && !strchr(value, delim))
        return fputs(value, f) < 0 ? MMDX_EIO : 0;
    if (putc('"', f) == EOF)
        return MMDX_EIO;
    for (const char *p = value; *p; p++) {
        if (*p == '"' && putc('"', f) == EOF)
            return MMDX_EIO;
        if (putc(*p, f) == EOF)
            return MMDX_EIO;
    }
    return putc('"', f) == EOF ? MMDX_EIO : 0;
}
