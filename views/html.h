/*
 * views/html.h — writing self-contained HTML: escaping, the page frame with
 * its inline stylesheet (screen and print), tables, and images inlined as
 * base64 data URIs, so that a page needs no other file and fetches nothing.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Every string that comes from data goes through mmdx_html_text (or the
 * functions below, which escape what they are given); numbers are printed
 * with fprintf. Output goes to a stdio stream; a write error
 * shows in ferror() and is reported by whoever commits the file
 * (core/atomic_file.h). None of these functions allocate.
 */
#ifndef MMDX_VIEWS_HTML_H
#define MMDX_VIEWS_HTML_H

#include <stddef.h>
#include <stdio.h>

#include "mmdx/common.h"

/** Write `s` escaped for text and attribute values (& < > " '); NULL writes nothing. */
void mmdx_html_text(FILE *f, const char *s);

/** <!DOCTYPE html> ... <body>, with `title` (escaped) and the stylesheet. */
void mmdx_html_begin(FILE *f, const char *title);

/** </body></html>, with a footer naming the program and its version. */
void mmdx_html_end(FILE *f, const char *generator);

/** One table row of key/value cells (<tr><th>key</th><td>value</td></tr>), both escaped; NULL value: "-". */
void mmdx_html_kv(FILE *f, const char *key, const char *value);

/** A number cell: "-" for NaN, else printf's %.*f. */
void mmdx_html_num(FILE *f, double v, int decimals);

/** Write `len` bytes as base64 (RFC 4648, no line breaks). */
void mmdx_html_base64(FILE *f, const unsigned char *data, size_t len);

/** An <img> whose src is a data URI of `mime` (e.g. "image/svg+xml"); alt escaped. */
void mmdx_html_image(FILE *f, const char *mime, const unsigned char *data, size_t len, const char *alt);

#endif
