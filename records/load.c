/* SPDX-License-Identifier: Apache-2.0 */
#include "load.h"
#include "gzfile.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "array.h"
#include "error.h"
#include "fhir_resources.h"
#include "records.h"

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

typedef struct ndjson_reader {
    json_tokener **toks; /* one per thread */
    int threads;
} ndjson_reader;

/*
 * Read the NDJSON lines of `path` that start in [begin, end) (end < 0: to the
 * end of the file); `begin` is at a line start and its line number is
 * `first_line`. Memory follows the longest line, not the file.
 */
static int read_ndjson(mmdx_fhir_ctx *c, json_tokener *tok, const char *path, int64_t begin, int64_t end,
                       long first_line)
{
    gzFile f;
    int rc = mmdx_gz_open(&f, path);
    if (rc < 0)
        return rc;
    if (begin > 0 && gzseek(f, (z_off_t)begin, SEEK_SET) < 0) {
        rc = mmdx_gz_error(f, path);
        gzclose(f);
        return rc;
    }
    size_t cap = READ_CHUNK, have = 0;
    char *buf = malloc(cap);
    if (!buf) {
        gzclose(f);
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
    }
    c->file = path;
    void (*progress)(void *, size_t) = c->st->progress;
    void *progress_ud = c->st->progress_ud;
    long lineno = first_line - 1;
    int64_t pos = begin; /* file offset of buf[0] */
    int eof = 0, done = 0;
    while (rc == 0 && !done) {
        size_t start = 0;
        for (;;) {
            if (end >= 0 && pos + (int64_t)start >= end) {
                done = 1; /* the next line belongs to the following range */
                break;
            }
            char *nl = memchr(buf + start, '\n', have - start);
            if (!nl && !(eof && start < have))
                break;
            size_t len = nl ? (size_t)(nl - (buf + start)) : have - start;
            c->line = ++lineno;
            rc = load_line(c, tok, buf + start, len && buf[start + len - 1] == '\r' ? len - 1 : len);
            start += len + (nl ? 1 : 0);
            if (rc < 0)
                break;
        }
        if (rc < 0 || done || eof)
            break;
        memmove(buf, buf + start, have - start);
        have -= start;
        pos += (int64_t)start;
        if (cap - have < READ_CHUNK / 2) {
            if (cap >= MAX_LINE_BYTES) {
                rc = mmdx_fail(MMDX_EFORMAT, "%s: line %ld is longer than %zu MiB", path, lineno + 1,
                               MAX_LINE_BYTES >> 20);
                break;
            }
            if (mmdx_array_reserve(&buf, &cap, have + READ_CHUNK / 2, 1, READ_CHUNK, 0) < 0) {
                rc = mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
                break;
            }
        }
        int got = gzread(f, buf + have, (unsigned)(cap - have));
        if (got < 0) {
            rc = mmdx_gz_error(f, path);
            break;
        }
        if (got == 0)
            eof = 1;
        have += (size_t)got;
        if (progress && got > 0)
            progress(progress_ud, (size_t)got);
    }
    free(buf);
    gzclose(f);
    c->line = 0;
    return rc;
}

/* Offset just past the first '\n' at or after `from` (or the file size), and newlines in [from, that). */
static int64_t next_line_start(FILE *f, int64_t from, int64_t size)
{
    if (from <= 0)
        return 0;
    if (fseeko(f, (off_t)(from - 1), SEEK_SET) != 0)
        return size;
    int ch;
    int64_t off = from - 1;
    while ((ch = getc(f)) != EOF) {
        off++;
        if (ch == '\n')
            return off;
    }
    return size;
}

/* Newlines in [a, b) of the file. */
static long count_lines(FILE *f, int64_t a, int64_t b)
{
    char chunk[1 << 16];
    long n = 0;
    if (fseeko(f, (off_t)a, SEEK_SET) != 0)
        return -1;
    while (a < b) {
        size_t want = (size_t)(b - a < (int64_t)sizeof chunk ? b - a : (int64_t)sizeof chunk);
        size_t got = fread(chunk, 1, want, f);
        if (got == 0)
            return -1;
        for (const char *q = chunk; (q = memchr(q, '\n', (size_t)(chunk + got - q))); q++)
            n++;
        a += (int64_t)got;
    }
    return n;
}

/* Smallest range worth a thread of its own. */
#define MIN_RANGE_BYTES 4096

/*
 * An uncompressed NDJSON file on several threads: it is cut into one byte
 * range per thread at line starts; each thread reads its range into a store
 * of its own, and the stores are merged in range order, which gives exactly
 * what reading the file in sequence gives.
 */
static int load_ndjson_ranges(mmdx_fhir_ctx *c, ndjson_reader *rd, const char *path, int64_t size)
{
    int n = rd->threads;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mmdx_fail(MMDX_EIO, "%s: cannot open: %s", path, strerror(errno));
    int64_t bounds[65];
    long first_line[64];
    bounds[0] = 0;
    for (int i = 1; i < n; i++) {
        bounds[i] = next_line_start(f, size * i / n, size);
        if (bounds[i] < bounds[i - 1])
            bounds[i] = bounds[i - 1];
    }
    bounds[n] = size;
    first_line[0] = 1;
    int rc = 0;
    for (int i = 1; i < n && rc == 0; i++) {
        long k = count_lines(f, bounds[i - 1], bounds[i]);
        if (k < 0)
            rc = mmdx_fail(MMDX_EIO, "%s: read error", path);
        first_line[i] = first_line[i - 1] + k;
    }
    fclose(f);
    if (rc < 0)
        return rc;

    mmdx_records_store *stores = calloc((size_t)n, sizeof *stores);
    mmdx_fhir_ctx *ctxs = calloc((size_t)n, sizeof *ctxs);
    int *rcs = calloc((size_t)n, sizeof *rcs);
    char (*msgs)[MMDX_ERROR_MESSAGE_MAX] = calloc((size_t)n, sizeof *msgs);
    int ok = stores && ctxs && rcs && msgs;
    for (int i = 0; ok && i < n; i++)
        if ((ok = mmdx_records_store_init(&stores[i], c->st->spec) == 0 &&
                  mmdx_fhir_ctx_init(&ctxs[i], &stores[i]) == 0)) {
            stores[i].progress = c->st->progress;
            stores[i].progress_ud = c->st->progress_ud;
        }
    if (!ok) {
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    } else {
#ifdef _OPENMP
#pragma omp parallel for schedule(static, 1) num_threads(n)
#endif
        for (int i = 0; i < n; i++) {
            rcs[i] = read_ndjson(&ctxs[i], rd->toks[i], path, bounds[i], bounds[i + 1], first_line[i]);
            if (rcs[i] < 0)
                snprintf(msgs[i], sizeof msgs[i], "%s", mmdx_last_error());
        }
        /* the first failing range is the error reading in sequence would have met */
        for (int i = 0; i < n && rc == 0; i++)
            if (rcs[i] < 0)
                rc = mmdx_fail(rcs[i], "%s", msgs[i]);
        for (int i = 0; i < n && rc == 0; i++) {
            size_t *remap = NULL;
            if (mmdx_records_store_merge(c->st, &stores[i], &remap) < 0 ||
                mmdx_fhir_ctx_merge(c, &ctxs[i], remap) < 0)
                rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
            free(remap);
        }
    }
    for (int i = 0; ctxs && stores && i < n; i++) {
        mmdx_fhir_ctx_free(&ctxs[i]);
        mmdx_records_store_clear(&stores[i]);
    }
    free(stores);
    free(ctxs);
    free(rcs);
    free(msgs);
    c->file = path;
    return rc;
}

/* Byte ranges need plain text: a gzip stream (whatever its name) is read in sequence. */
static int is_gzip(const char *path)
{
    unsigned char magic[2] = {0, 0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t got = fread(magic, 1, 2, f);
    fclose(f);
    return got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

static int load_ndjson_file(mmdx_fhir_ctx *c, ndjson_reader *rd, const char *path)
{
    struct stat sb;
    if (rd->threads > 1 && stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
        sb.st_size >= (off_t)rd->threads * MIN_RANGE_BYTES && !is_gzip(path))
        return load_ndjson_ranges(c, rd, path, (int64_t)sb.st_size);
    return read_ndjson(c, rd->toks[0], path, 0, -1, 1);
}

static int load_json_file(mmdx_fhir_ctx *c, json_tokener *tok, const char *path)
{
    char *buf;
    size_t have;
    int rc = mmdx_gz_read_all(path, &buf, &have);
    if (rc < 0)
        return rc;
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

/*
 * A bulk-data export names each file after the one resource type it holds
 * ("Claim.000.ndjson"). Files of types the encoder never uses are not read:
 * in Synthea exports Claims and ExplanationOfBenefits are most of the bytes.
 */
static int unused_type_file(const char *name)
{
    static const char *const unused[] = {
        "Account", "AllergyIntolerance", "Appointment", "CarePlan", "CareTeam", "Claim", "ClaimResponse",
        "Communication", "Composition", "Consent", "Coverage", "Device", "DiagnosticReport", "DocumentReference",
        "Encounter", "EpisodeOfCare", "ExplanationOfBenefit", "FamilyMemberHistory", "Goal", "Group",
        "ImagingStudy", "Immunization", "Location", "MedicationAdministration", "MedicationDispense",
        "Organization", "Practitioner", "PractitionerRole", "Procedure", "Provenance", "Questionnaire",
        "QuestionnaireResponse", "RelatedPerson", "ServiceRequest", "Specimen", "SupplyDelivery",
    };
    size_t n = strcspn(name, ".");
    for (size_t i = 0; i < sizeof unused / sizeof unused[0]; i++)
        if (strlen(unused[i]) == n && strncmp(name, unused[i], n) == 0)
            return 1;
    return 0;
}

static int folder_file_used(const char *nm)
{
    return nm[0] != '.' &&
           (ends_with(nm, ".ndjson") || ends_with(nm, ".ndjson.gz") || ends_with(nm, ".jsonl") ||
            ends_with(nm, ".json") || ends_with(nm, ".json.gz")) &&
           !unused_type_file(nm);
}

size_t mmdx_records_input_size(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return 0;
    if (!S_ISDIR(sb.st_mode))
        return (size_t)sb.st_size;
    size_t total = 0;
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char full[4096];
        if (!folder_file_used(de->d_name))
            continue;
        snprintf(full, sizeof full, "%s/%s", path, de->d_name);
        if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode))
            total += (size_t)sb.st_size;
    }
    if (d)
        closedir(d);
    return total;
}

static int load_folder(mmdx_fhir_ctx *c, ndjson_reader *rd, const char *dir)
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
        if (unused_type_file(nm)) {
            c->st->stats.skipped_files++;
            continue;
        }
        if (mmdx_array_reserve(&names, &cap, n + 1, sizeof *names, 16, 0) < 0) {
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
            break;
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
        rc = mmdx_fail(MMDX_ENOTFOUND, "%s: the folder holds no *.ndjson or *.json file of a resource type the "
                                       "records encoder reads (%zu other files skipped)",
                       dir, c->st->stats.skipped_files);
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
            rc = kind == MMDX_RECORDS_NDJSON ? load_ndjson_file(c, rd, full) : load_json_file(c, rd->toks[0], full);
            free(full);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static void reader_free(ndjson_reader *rd)
{
    for (int i = 0; rd->toks && i < rd->threads; i++)
        json_tokener_free(rd->toks[i]);
    free(rd->toks);
}

static int reader_init(ndjson_reader *rd, int threads)
{
    memset(rd, 0, sizeof *rd);
#ifdef _OPENMP
    if (threads <= 0)
        threads = omp_get_max_threads();
#endif
    if (threads <= 0)
        threads = 1;
    if (threads > 64)
        threads = 64;
    rd->toks = calloc((size_t)threads, sizeof *rd->toks);
    if (!rd->toks)
        return MMDX_ENOMEM;
    rd->threads = threads;
    for (int i = 0; i < threads; i++) {
        rd->toks[i] = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
        if (!rd->toks[i])
            return MMDX_ENOMEM;
        json_tokener_set_flags(rd->toks[i], JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8); /* RFC 8259 JSON, UTF-8 */
    }
    return 0;
}

int mmdx_records_load(mmdx_records_store *st, const char *path, int threads)
{
    int kind = mmdx_records_kind_of(path);
    if (kind == MMDX_RECORDS_CSV) {
        int rc = mmdx_records__load_csv(st, path);
        if (rc == 0 && mmdx_records_store_index_identifiers(st) < 0)
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        return rc;
    }
    mmdx_fhir_ctx c;
    ndjson_reader rd;
    if (reader_init(&rd, threads) < 0 || mmdx_fhir_ctx_init(&c, st) < 0) {
        reader_free(&rd);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    c.file = path;
    int rc = kind == MMDX_RECORDS_FOLDER   ? load_folder(&c, &rd, path)
             : kind == MMDX_RECORDS_NDJSON ? load_ndjson_file(&c, &rd, path)
                                           : load_json_file(&c, rd.toks[0], path);
    if (rc == 0 && (mmdx_fhir_finish(&c) < 0 || mmdx_records_store_index_identifiers(st) < 0))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    mmdx_fhir_ctx_free(&c);
    reader_free(&rd);
    return rc;
}

int mmdx_records_load_mem(mmdx_records_store *st, const char *data, size_t len, const char *name, int ndjson)
{
    mmdx_fhir_ctx c;
    json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
    if (tok)
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8); /* RFC 8259 JSON, UTF-8 */
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
    if (rc == 0 && (mmdx_fhir_finish(&c) < 0 || mmdx_records_store_index_identifiers(st) < 0))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    mmdx_fhir_ctx_free(&c);
    json_tokener_free(tok);
    return rc;
}
