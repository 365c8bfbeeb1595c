/* SPDX-License-Identifier: Apache-2.0 */
/* PostgreSQL array literals built on the client: a whole batch travels as a
 * few array parameters of one INSERT ... SELECT FROM unnest(...), which the
 * server parses and plans far faster than a VALUES list of thousands of
 * parameters. */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "hash.h"
#include "store_internal.h"

void mmdx_pgarray__begin(mmdx_canon *c)
{
    c->n = 0;
    mmdx_canon__bytes(c, "{", 1);
}

static void sep(mmdx_canon *c)
{
    if (c->n > 1)
        mmdx_canon__bytes(c, ",", 1);
}

void mmdx_pgarray__text(mmdx_canon *c, const char *s)
{
    sep(c);
    if (!s) {
        mmdx_canon__bytes(c, "NULL", 4);
        return;
    }
    /* Every element quoted: then only '"' and '\' need a backslash
     * (an unquoted NULL, braces, commas or spaces are data inside quotes). */
    mmdx_canon__bytes(c, "\"", 1);
    for (const char *p = s; *p;) {
        size_t run = strcspn(p, "\"\\");
        mmdx_canon__bytes(c, p, run);
        p += run;
        if (*p) {
            char esc[2] = {'\\', *p};
            mmdx_canon__bytes(c, esc, 2);
            p++;
        }
    }
    mmdx_canon__bytes(c, "\"", 1);
}

void mmdx_pgarray__bytea(mmdx_canon *c, const uint8_t *b, size_t len)
{
    sep(c);
    if (!b) {
        mmdx_canon__bytes(c, "NULL", 4);
        return;
    }
    /* "\\x<hex>": the array parser turns \\ into the \ of bytea's hex form. */
    char hex[2 * 64 + 1];
    mmdx_canon__bytes(c, "\"\\\\x", 4);
    for (size_t off = 0; off < len; off += 64) {
        size_t m = len - off < 64 ? len - off : 64;
        mmdx_hex(b + off, m, hex);
        mmdx_canon__bytes(c, hex, 2 * m);
    }
    mmdx_canon__bytes(c, "\"", 1);
}

void mmdx_pgarray__raw(mmdx_canon *c, const char *literal)
{
    sep(c);
    if (!literal)
        mmdx_canon__bytes(c, "NULL", 4);
    else
        mmdx_canon__bytes(c, literal, strlen(literal));
}

const char *mmdx_pgarray__end(mmdx_canon *c)
{
    mmdx_canon__bytes(c, "}", 2); /* with its NUL */
    return c->oom ? NULL : (const char *)c->p;
}
