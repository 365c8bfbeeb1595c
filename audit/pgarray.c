/* SPDX-License-Identifier: Apache-2.0 */
/* One-dimensional PostgreSQL arrays in the binary wire format (array_recv):
 * a whole batch travels as a few array parameters of one
 * INSERT ... SELECT FROM unnest(...). The server plans that far faster than a
 * VALUES list of thousands of parameters, and reads binary elements without
 * the quoting, escaping and hex decoding of array literals. */
#include <string.h>

#include "error.h"
#include "store_internal.h"

static void be32(mmdx_pgarray *a, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    mmdx_canon__bytes(&a->buf, b, 4);
}

void mmdx_pgarray__begin(mmdx_pgarray *a, uint32_t elem_oid)
{
    a->buf.n = 0;
    a->buf.oom = 0;
    a->n = 0;
    a->has_null = 0;
    be32(a, 1);        /* dimensions */
    be32(a, 0);        /* has NULLs: set by mmdx_pgarray__end */
    be32(a, elem_oid); /* element type */
    be32(a, 0);        /* length of the dimension: set by mmdx_pgarray__end */
    be32(a, 1);        /* its lower bound */
}

static void element(mmdx_pgarray *a, const void *data, size_t len)
{
    a->n++;
    if (!data) {
        a->has_null = 1;
        be32(a, 0xffffffffu); /* -1: NULL */
        return;
    }
    if (len > 0x7fffffff) {
        a->buf.oom = 1;
        return;
    }
    be32(a, (uint32_t)len);
    mmdx_canon__bytes(&a->buf, data, len);
}

void mmdx_pgarray__text(mmdx_pgarray *a, const char *s) { element(a, s, s ? strlen(s) : 0); }

void mmdx_pgarray__bytea(mmdx_pgarray *a, const uint8_t *b, size_t len) { element(a, b, len); }

void mmdx_pgarray__int2(mmdx_pgarray *a, int v, int is_null)
{
    uint8_t b[2] = {(uint8_t)((unsigned)v >> 8), (uint8_t)v};
    element(a, is_null ? NULL : b, 2);
}

void mmdx_pgarray__float8(mmdx_pgarray *a, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits); /* exact: no decimal round trip */
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(bits >> (56 - 8 * i));
    element(a, b, 8);
}

int mmdx_pgarray__end(mmdx_pgarray *a)
{
    if (a->buf.oom || a->buf.n < 20)
        return mmdx_fail(MMDX_ENOMEM, "database: out of memory for a batch");
    uint8_t *p = a->buf.p;
    p[7] = (uint8_t)a->has_null;
    uint32_t n = (uint32_t)a->n;
    p[12] = (uint8_t)(n >> 24);
    p[13] = (uint8_t)(n >> 16);
    p[14] = (uint8_t)(n >> 8);
    p[15] = (uint8_t)n;
    return 0;
}

void mmdx_pgarray__free(mmdx_pgarray *a)
{
    mmdx_canon__free(&a->buf);
    a->n = 0;
    a->has_null = 0;
}
