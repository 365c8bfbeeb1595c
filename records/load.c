/* SPDX-License-Identifier: Apache-2.0 */
#include "load.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zlib.h>

#include "error.h"
#include "fhir_resources.h"

/* A line longer than this is refused rather than buffered without bound. */
#define MAX_LINE_BYTES ((size_t)256 << 20)
#define READ_CHUNK ((size_t)1 << 20)

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int mmdx_records_kind_of(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return MMDX_RECORDS_FOLDER;
    if (ends_with(path, ".ndjson") || ends_with(path, ".ndjson.gz") || ends_with(path, ".jsonl") ||
        ends_with(path, ".jsonl.gz"))
        return MMDX_RECORDS_NDJSON;
    if (ends_with(path, ".csv") || ends_with(path, ".tsv") || ends_with(path, ".csv.gz"))
        return MMDX_RECORDS_CSV;
    return MMDX_RECORDS_JSON;
}

/* ------------------------------------------------------------------------ */
/* Parsing one JSON text                                                     */
/* ------------------------------------------------------------------------ */

/*
 * Parse `len` bytes as exactly one JSON value. On error, fills *err_off with
 * the byte offset where parsing stopped and *desc with the reason.
 */
static json_object *parse_exact(json_tokener *tok, const char *data, size_t len, size_t *err_off,
                                const char **desc)
{
    json_tokener_reset(tok);
    if (len > (size_t)INT32_MAX) {
        *err_off = 0;
        *desc = "document larger than 2 GiB";
        return NULL;
    }
    json_object *o = json_tokener_parse_ex(tok, data, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    if (e == json_tokener_success) {
        while (end < len && isspace((unsigned char)data[end]))
            end++;
        if (end == len)
            return o;
        json_object_put(o);
        *err_off = end;
        *desc = "text after the JSON value";
        return NULL;
    }
    if (e == json_tokener_continue) {
        *err_off = len;
        *desc = "unexpected end of input";
        return NULL;
    }
    json_object_put(o);
    *err_off = end;
    *desc = json_tokener_error_desc(e);
    return NULL;
}

static int load_document(mmdx_fhir_ctx *c, json_tokener *tok, const char *data, size_t len)
{
    size_t off;
    const char *desc;
    json_object *root = parse_exact(tok, data, len, &off, &desc);
    if (!root) {
        long line, col;
        mmdx_records_line_col(data, off, &line, &col);
        return mmdx_fail(MMDX_EFORMAT, "%s: line %ld, column %ld (byte %zu): invalid JSON: %s", c->file, line,
                         col, off, desc);
    }
    int rc = mmdx_fhir_resource(c, root, 0);
    json_object_put(root);
    return rc < 0 ? mmdx_fail(rc, "%s: out of memory", c->file) : 0;
}

/* One NDJSON line (without its terminator); blank lines are allowed. */
static int load_line(mmdx_fhir_ctx *c, json_tokener *tok, const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)line[i]))
        i++;
    if (i == len)
        return 0;
    size_t off;
    const char *desc;
    json_object *o = parse_exact(tok, line, len, &off, &desc);
    if (!o)
        return mmdx_fail(MMDX_EFORMAT, "%s: line %ld, column %zu: invalid JSON: %s", c->file, c->line, off + 1,
                         desc);
    int rc = mmdx_fhir_resource(c, o, 0);
    json_object_put(o);
    return rc < 0 ? mmdx_fail(rc, "%s: out of memory", c->file) : 0;
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */
/* ------------------------------------------------------------------------ */

static int open_gz(gzFile *out, const char *path)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        int e = errno;
        return mmdx_fail(e == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: cannot open: %s", path,
                         e ? strerror(e) : "out of memory");
    }
    gzbuffer(f, 1 << 17);
    *out = f;
    return 0;
}

static int gz_error(gzFile f, const char *path)
{
    int code;
    const char *msg = gzerror(f, &code);
    return mmdx_fail(MMDX_EIO, "%s: read error: %s", path, code == Z_ERRNO ? strerror(errno) : msg);
}

static int load_ndjson_file(mmdx_fhir_ctx *c, json_tokener *tok, const char *path)
{
    gzFile f;
    int rc = open_gz(&f, path);
    if (rc < 0)
        return rc;
    size_t cap = READ_CHUNK, have = 0;
    char *buf = malloc(cap);
    if (!buf) {
        gzclose(f);
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
    }
    c->file = path;
    c->line = 0;
    int eof = 0;
    while (rc == 0) {
        /* Hand out every complete line in the buffer, then read more. */
        size_t start = 0;
        for (;;) {
            char *nl = memchr(buf + start, '\n', have - start);
            if (!nl)
                break;
            size_t len = (size_t)(nl - (buf + start));
            c->line++;
            if (len && buf[start + len - 1] == '\r')
                len--;
            if ((rc = load_line(c, tok, buf + start, len)) < 0)
                break;
            start = (size_t)(nl - buf) + 1;
        }
        if (rc < 0)
            break;
        memmove(buf, buf + start, have - start);
        have -= start;
        if (eof) {
            if (have) { /* last line without a terminator */
                c->line++;
                rc = load_line(c, tok, buf, have);
            }
            break;
        }
        if (cap - have < READ_CHUNK / 2) {
            if (cap >= MAX_LINE_BYTES) {
                rc = mmdx_fail(MMDX_EFORMAT, "%s: line %ld is longer than %zu MiB", path, c->line + 1,
                               MAX_LINE_BYTES >> 20);
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
                break;
            }
            buf = nb;
            cap *= 2;
        }
        int got = gzread(f, buf + have, (unsigned)(cap - have));
        if (got < 0) {
            rc = gz_error(f, path);
            break;
        }
        if (got == 0)
            eof = 1;
        have += (size_t)got;
    }
    free(buf);
    gzclose(f);
    c->line = 0;
    return rc;
}

static int load_json_file(mmdx_fhir_ctx *c, json_tokener *tok, const char *path)
{
    gzFile f;
    int rc = open_gz(&f, path);
    if (rc < 0)
        return rc;
    size_t cap = READ_CHUNK, have = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (cap - have < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        int got = gzread(f, buf + have, (unsigned)(cap - have - 1));
        if (got < 0) {
            rc = gz_error(f, path);
            free(buf);
            gzclose(f);
            return rc;
        }
        if (got == 0)
            break;
        have += (size_t)got;
    }
    gzclose(f);
    if (!buf)
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
    buf[have] = '\0';
    c->file = path;
    c->line = 0;
    c->entry = -1;
    rc = load_document(c, tok, buf, have);
    free(buf);
    return rc;
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Patient files first so that a reader sees demographics before the rest (not required, but tidy). */
static int folder_rank(const char *name) { return strncmp(name, "Patient", 7) == 0 ? 0 : 1; }

static int rank_cmp(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    int rx = folder_rank(x), ry = folder_rank(y);
    return rx != ry ? rx - ry : name_cmp(a, b);
}

static int load_folder(mmdx_fhir_ctx *c, json_tokener *tok, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return mmdx_fail(errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: cannot open folder: %s", dir,
                         strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        if (nm[0] == '.')
            continue;
        if (!(ends_with(nm, ".ndjson") || ends_with(nm, ".ndjson.gz") || ends_with(nm, ".jsonl") ||
              ends_with(nm, ".json") || ends_with(nm, ".json.gz")))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        size_t len = strlen(dir) + strlen(nm) + 2;
        if (!(names[n] = malloc(len))) {
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
            break;
        }
        snprintf(names[n], len, "%s/%s", dir, nm);
        n++;
    }
    closedir(d);
    if (rc == 0 && n == 0)
        rc = mmdx_fail(MMDX_ENOTFOUND, "%s: the folder holds no *.ndjson or *.json file", dir);
    if (rc == 0) {
        /* Sort on the base name so that Patient*.ndjson comes first. */
        size_t skip = strlen(dir) + 1;
        for (size_t i = 0; i < n; i++)
            memmove(names[i], names[i] + skip, strlen(names[i] + skip) + 1);
        qsort(names, n, sizeof *names, rank_cmp);
        for (size_t i = 0; i < n && rc == 0; i++) {
            size_t len = strlen(dir) + strlen(names[i]) + 2;
            char *full = malloc(len);
            if (!full) {
                rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
                break;
            }
            snprintf(full, len, "%s/%s", dir, names[i]);
            int kind = mmdx_records_kind_of(full);
            rc = kind == MMDX_RECORDS_NDJSON ? load_ndjson_file(c, tok, full) : load_json_file(c, tok, full);
            free(full);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int mmdx_records_load(mmdx_records_store *st, const char *path)
{
    int kind = mmdx_records_kind_of(path);
    if (kind == MMDX_RECORDS_CSV)
        return mmdx_records__load_csv(st, path);
    mmdx_fhir_ctx c;
    json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
    if (tok)
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT); /* FHIR JSON is RFC 8259 JSON */
    if (!tok || mmdx_fhir_ctx_init(&c, st) < 0) {
        json_tokener_free(tok);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    c.file = path;
    int rc = kind == MMDX_RECORDS_FOLDER   ? load_folder(&c, tok, path)
             : kind == MMDX_RECORDS_NDJSON ? load_ndjson_file(&c, tok, path)
                                           : load_json_file(&c, tok, path);
    if (rc == 0 && mmdx_fhir_finish(&c) < 0)
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    mmdx_fhir_ctx_free(&c);
    json_tokener_free(tok);
    return rc;
}

int mmdx_records_load_mem(mmdx_records_store *st, const char *data, size_t len, const char *name, int ndjson)
{
    mmdx_fhir_ctx c;
    json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
    if (tok)
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT); /* FHIR JSON is RFC 8259 JSON */
    if (!tok || mmdx_fhir_ctx_init(&c, st) < 0) {
        json_tokener_free(tok);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    c.file = name;
    int rc = 0;
    if (ndjson) {
        size_t start = 0;
        while (start < len && rc == 0) {
            const char *nl = memchr(data + start, '\n', len - start);
            size_t l = nl ? (size_t)(nl - (data + start)) : len - start;
            c.line++;
            rc = load_line(&c, tok, data + start, l);
            start += l + 1;
        }
        c.line = 0;
    } else {
        rc = load_document(&c, tok, data, len);
    }
    if (rc == 0 && mmdx_fhir_finish(&c) < 0)
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    mmdx_fhir_ctx_free(&c);
    json_tokener_free(tok);
    return rc;
}
