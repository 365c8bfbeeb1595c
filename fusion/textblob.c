/* SPDX-License-Identifier: Apache-2.0 */
#include "textblob.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

void mmdx_blob_printf(mmdx_blob_writer *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        w->failed = 1;
        return;
    }
    if (w->failed)
        return;
    if (mmdx_array_reserve(&w->data, &w->cap, w->len + (size_t)n + 1, 1, 4096, 0) < 0) {
        w->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(w->data + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    w->len += (size_t)n;
}

void mmdx_blob_doubles(mmdx_blob_writer *w, const char *key, const double *v, size_t n)
{
    mmdx_blob_printf(w, "%s %zu", key, n);
    for (size_t i = 0; i < n; i++)
        mmdx_blob_printf(w, " %a", v[i]);
    mmdx_blob_printf(w, "\n");
}

void mmdx_blob_reader_init(mmdx_blob_reader *r, const void *buf, size_t len, const char *name,
                           mmdx_error *err)
{
    r->p = buf;
    r->end = r->p + len;
    r->name = name;
    r->line = 0;
    r->err = err;
}

int mmdx_blob_fail(mmdx_blob_reader *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mmdx_error_set(r->err, MMDX_EFORMAT, "%s: line %ld: %s", r->name, r->line, msg);
}

/* The next space-separated token on the current line, or NULL at end of line. */
static const char *token(mmdx_blob_reader *r, size_t *len)
{
    if (r->p < r->end && *r->p == ' ')
        r->p++;
    const char *s = r->p;
    while (r->p < r->end && *r->p != ' ' && *r->p != '\n')
        r->p++;
    *len = (size_t)(r->p - s);
    return *len ? s : NULL;
}

int mmdx_blob_key(mmdx_blob_reader *r, const char *key)
{
    r->line++;
    if (r->p >= r->end)
        return mmdx_blob_fail(r, "truncated: expected '%s'", key);
    size_t len;
    const char *t = token(r, &len);
    if (!t || len != strlen(key) || memcmp(t, key, len) != 0)
        return mmdx_blob_fail(r, "expected '%s'", key);
    return 0;
}

int mmdx_blob_word(mmdx_blob_reader *r, char *buf, size_t size)
{
    size_t len;
    const char *t = token(r, &len);
    if (!t)
        return mmdx_blob_fail(r, "missing value");
    if (len >= size)
        return mmdx_blob_fail(r, "value too long");
    memcpy(buf, t, len);
    buf[len] = '\0';
    return 0;
}

int mmdx_blob_u64(mmdx_blob_reader *r, uint64_t *v, uint64_t max)
{
    char buf[32], *end;
    int rc = mmdx_blob_word(r, buf, sizeof buf);
    if (rc)
        return rc;
    if (buf[0] < '0' || buf[0] > '9')
        return mmdx_blob_fail(r, "'%s' is not a count", buf);
    errno = 0;
    unsigned long long x = strtoull(buf, &end, 10);
    if (errno || *end || x > max)
        return mmdx_blob_fail(r, "'%s' is not a count <= %llu", buf, (unsigned long long)max);
    *v = x;
    return 0;
}

int mmdx_blob_double(mmdx_blob_reader *r, double *v)
{
    char buf[64], *end;
    int rc = mmdx_blob_word(r, buf, sizeof buf);
    if (rc)
        return rc;
    errno = 0;
    double x = strtod(buf, &end);
    if (*end || !isfinite(x))
        return mmdx_blob_fail(r, "'%s' is not a finite number", buf);
    *v = x;
    return 0;
}

int mmdx_blob_eol(mmdx_blob_reader *r)
{
    if (r->p < r->end && *r->p == '\n') {
        r->p++;
        return 0;
    }
    if (r->p >= r->end)
        return mmdx_blob_fail(r, "truncated: missing end of line");
    return mmdx_blob_fail(r, "unexpected text at end of line");
}

int mmdx_blob_doubles_read_range(mmdx_blob_reader *r, const char *key, double *v, size_t min, size_t max,
                                 size_t *n)
{
    uint64_t k;
    int rc = mmdx_blob_key(r, key);
    if (!rc)
        rc = mmdx_blob_u64(r, &k, UINT32_MAX);
    if (rc)
        return rc;
    if (k < min || k > max) {
        if (min == max)
            return mmdx_blob_fail(r, "'%s' holds %llu values, expected %zu", key, (unsigned long long)k, min);
        return mmdx_blob_fail(r, "'%s' holds %llu values, expected %zu to %zu", key, (unsigned long long)k, min,
                              max);
    }
    *n = (size_t)k;
    for (size_t i = 0; i < *n; i++)
        if ((rc = mmdx_blob_double(r, &v[i])) != 0)
            return rc;
    return mmdx_blob_eol(r);
}

int mmdx_blob_doubles_read(mmdx_blob_reader *r, const char *key, double *v, size_t expected)
{
    size_t n;
    return mmdx_blob_doubles_read_range(r, key, v, expected, expected, &n);
}

/* One "key value" line whose value is an integer up to max. */
static int key_u64_line(mmdx_blob_reader *r, const char *key, uint64_t *v, uint64_t max)
{
    int rc = mmdx_blob_key(r, key);
    if (!rc)
        rc = mmdx_blob_u64(r, v, max);
    if (!rc)
        rc = mmdx_blob_eol(r);
    return rc;
}

int mmdx_blob_read_header(mmdx_blob_reader *r, const char *magic, uint64_t *n_features,
                          uint64_t *n_modalities)
{
    uint64_t version;
    int rc = mmdx_blob_key(r, magic);
    if (!rc)
        rc = mmdx_blob_u64(r, &version, 1000);
    if (!rc && version != 1)
        return mmdx_error_set(r->err, MMDX_EUNSUPPORTED,
                              "%s: model version %llu is not supported (this plugin reads version 1)",
                              r->name, (unsigned long long)version);
    if (!rc)
        rc = mmdx_blob_eol(r);
    if (!rc)
        rc = key_u64_line(r, "features", n_features, 1u << 24);
    if (!rc)
        rc = key_u64_line(r, "modalities", n_modalities, 1024);
    return rc;
}
