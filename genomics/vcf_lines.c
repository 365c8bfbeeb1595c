/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Line reader for compressed text VCF. htslib 1.16's bgzf_getline() looks
 * for the end of a line one byte at a time and copies every line out of the
 * BGZF block; on a 500-sample VCF that is a fifth of `genomics score`. Here
 * bgzf_read() (public API, which takes the blocks the decompression threads
 * produced) fills a large buffer, memchr() finds the ends of lines, and a
 * record stays in the buffer until its site filter accepts it, so the
 * records a score does not need are never copied.
 */
#include <stdlib.h>
#include <string.h>

#include "vcf_internal.h"

enum { MMDX_VCF__LINEBUF = 256 * 1024 };

int mmdx_vcf__lines_init(mmdx_vcf *v)
{
    v->bgzf = hts_get_bgzfp(v->fp);
    if (!v->bgzf)
        return 0;
    v->buf = malloc(MMDX_VCF__LINEBUF);
    if (!v->buf)
        return MMDX_ENOMEM;
    v->buf_cap = MMDX_VCF__LINEBUF;
    v->buf_beg = v->buf_end = 0;
    v->buf_eof = 0;
    return 0;
}

/* Make room after buf_end: drop consumed bytes, then grow for a line longer than the buffer. */
static int make_room(mmdx_vcf *v)
{
    if (v->buf_beg > 0) {
        memmove(v->buf, v->buf + v->buf_beg, v->buf_end - v->buf_beg);
        v->buf_end -= v->buf_beg;
        v->buf_beg = 0;
    }
    if (v->buf_end < v->buf_cap)
        return 0;
    char *nb = realloc(v->buf, 2 * v->buf_cap);
    if (!nb)
        return MMDX_ENOMEM;
    v->buf = nb;
    v->buf_cap *= 2;
    return 0;
}

int mmdx_vcf__lines_next(mmdx_vcf *v, const char **s, size_t *l)
{
    size_t scanned = v->buf_beg; /* bytes already known to hold no newline */
    for (;;) {
        const char *nl = memchr(v->buf + scanned, '\n', v->buf_end - scanned);
        if (nl) {
            *s = v->buf + v->buf_beg;
            *l = (size_t)(nl - *s);
            v->buf_beg = (size_t)(nl - v->buf) + 1;
            return 1;
        }
        if (v->buf_eof) {
            if (v->buf_end == v->buf_beg)
                return 0;
            *s = v->buf + v->buf_beg; /* a last line without a newline */
            *l = v->buf_end - v->buf_beg;
            v->buf_beg = v->buf_end;
            return 1;
        }
        size_t done = v->buf_end - v->buf_beg;
        if (make_room(v) < 0)
            return MMDX_ENOMEM;
        scanned = v->buf_beg + done;
        ssize_t got = bgzf_read(v->bgzf, v->buf + v->buf_end, v->buf_cap - v->buf_end);
        if (got < 0)
            return MMDX_EIO;
        if (got == 0)
            v->buf_eof = 1;
        v->buf_end += (size_t)got;
    }
}
