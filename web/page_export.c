/* SPDX-License-Identifier: Apache-2.0 */
/* The ATNA export (DICOM audit messages) as a file download, as `mmdx audit export` writes it. */
#include <ctype.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "atna.h"
#include "error.h"
#include "web_internal.h"

void web_page_export_form(web_req *r)
{
    FILE *f = web_view_begin(r, "export", NULL, "ATNA export");
    if (!f)
        return;
    fputs("<p>Download the events of a period as DICOM audit messages (PS3.15 A.5, IHE ATNA), one "
          "<code>&lt;AuditMessage&gt;</code> per line, for the hospital's audit record repository. "
          "The export is itself recorded.</p>\n<form class=\"search\" method=\"post\" action=\"/export\">\n",
          f);
    web_html_csrf(r);
    fputs("<label for=\"since\">From (UTC, inclusive)</label>\n"
          "<input type=\"date\" id=\"since\" name=\"since\" required>\n"
          "<label for=\"until\">Until (UTC, exclusive)</label>\n"
          "<input type=\"date\" id=\"until\" name=\"until\" required>\n"
          "<button type=\"submit\">Download</button>\n</form>\n",
          f);
    web_page_end(r);
}

/* A date input's value: YYYY-MM-DD. */
static int is_date(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return 0;
    int m = atoi(s + 5), d = atoi(s + 8);
    return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

void web_page_export(web_req *r)
{
    const char *since = web_field_get(r, "since"), *until = web_field_get(r, "until");
    if (!is_date(since) || !is_date(until)) {
        web_page_error(r, MHD_HTTP_BAD_REQUEST, "ATNA export", "Give both dates as YYYY-MM-DD.");
        return;
    }
    mmdx_audit_filter flt = {0};
    flt.since = since;
    flt.until = until;
    size_t n = 0, len = 0;
    char *buf = NULL;
    FILE *x = open_memstream(&buf, &len);
    int rc = x ? mmdx_atna_export(r->session->store, &flt, r->opt->site->site_id, x, &n)
               : mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (x && fclose(x) != 0 && rc == 0)
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    /* Recorded whatever happened, as the command does; a download that cannot be recorded is withheld. */
    int rec = mmdx_atna_record_export(r->session->store, &flt, n, rc == 0);
    if (rc < 0 || rec < 0) {
        free(buf);
        web_page_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "ATNA export", mmdx_last_error());
        return;
    }
    fwrite(buf, 1, len, r->body);
    free(buf);
    r->content_type = "application/xml; charset=utf-8";
    snprintf(r->disposition, sizeof r->disposition, "attachment; filename=\"mmdx-audit-%s-%s.xml\"", since, until);
}
