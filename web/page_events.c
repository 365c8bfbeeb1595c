/* SPDX-License-Identifier: Apache-2.0 */
/* The tables of events and predictions shown by the timeline and run pages. */
#include <json-c/json.h>
#include <microhttpd.h>
#include <string.h>

#include "error.h"
#include "web_internal.h"

/* A stored patient value as a link to its timeline; the URL holds a handle, never the value. */
static int patient_link(web_req *r, const char *stored)
{
    const char *h;
    int rc = web_patient_handle(r->session, stored, 1, &h);
    if (rc < 0)
        return rc;
    /* a pseudonym is shown by its first 8 digits (all of it in the title), an ID in full */
    fprintf(r->body, "<a href=\"/timeline/%s\" title=\"", h);
    mmdx_html_text(r->body, stored);
    fputs("\"><code>", r->body);
    if (strncmp(stored, "psn:", 4) == 0 && strlen(stored) > 12)
        fprintf(r->body, "%.12s&hellip;", stored);
    else
        mmdx_html_text(r->body, stored);
    fputs("</code></a>", r->body);
    return 0;
}

static void run_link(FILE *f, const char *run)
{
    /* run IDs are UUIDs (checked by the database's type) */
    fprintf(f, "<a href=\"/run/%.36s\"><code>%.8s</code></a>", run, run);
}

typedef struct table_ctx {
    web_req *r;
    size_t n;
} table_ctx;

static int event_row(void *ctx, const mmdx_audit_row *e)
{
    table_ctx *t = ctx;
    FILE *f = t->r->body;
    const char *oc = web_outcome_name(e->outcome);
    fprintf(f, "<tr><td><a href=\"/proof?seq=%lld\" title=\"inclusion proof\">%lld</a></td><td class=\"when\">",
            (long long)e->seq, (long long)e->seq);
    mmdx_html_text(f, e->time);
    fputs("</td><td>", f);
    mmdx_html_text(f, e->db_role);
    fputs(" (", f);
    mmdx_html_text(f, e->os_user);
    fputs("@", f);
    mmdx_html_text(f, e->host);
    fputs(")</td><td class=\"when\"><code>", f);
    mmdx_html_text(f, e->action);
    fprintf(f, "</code></td><td class=\"outcome-%s\">%s</td><td>", oc, oc);
    if (e->patient && patient_link(t->r, e->patient) < 0)
        return MMDX_ENOMEM;
    fputs("</td><td>", f);
    if (e->run_id)
        run_link(f, e->run_id);
    fputs("</td><td class=\"detail\">", f);
    if (e->detail && strcmp(e->detail, "{}") != 0) {
        fputs("<code>", f);
        mmdx_html_text(f, e->detail);
        fputs("</code>", f);
    }
    fputs("</td></tr>\n", f);
    t->n++;
    return 0;
}

int web_events_table(web_req *r, const mmdx_audit_filter *flt, size_t *n)
{
    FILE *f = r->body;
    fputs("<table>\n<caption>Audit events, oldest first (the sequence number links to the event's "
          "inclusion proof)</caption>\n<thead><tr><th scope=\"col\">Seq</th><th scope=\"col\">Time (UTC)</th>"
          "<th scope=\"col\">Who</th><th scope=\"col\">Action</th><th scope=\"col\">Outcome</th>"
          "<th scope=\"col\">Patient</th><th scope=\"col\">Run</th><th scope=\"col\">Detail</th></tr></thead>\n"
          "<tbody>\n",
          f);
    table_ctx t = {r, 0};
    int rc = mmdx_store_audit_query(r->session->store, flt, event_row, &t);
    if (t.n == 0)
        fputs("<tr><td colspan=\"8\">No events.</td></tr>\n", f);
    fputs("</tbody>\n</table>\n", f);
    *n = t.n;
    return rc;
}

static int result_row(void *ctx, const mmdx_result_row *p)
{
    table_ctx *t = ctx;
    FILE *f = t->r->body;
    fputs("<tr><td>", f);
    run_link(f, p->run_id);
    fputs("</td><td>", f);
    if (patient_link(t->r, p->patient) < 0)
        return MMDX_ENOMEM;
    fputs("</td><td>", f);
    mmdx_html_text(f, p->study_uid);
    fprintf(f, "</td><td>%.3f</td><td>%s</td><td class=\"detail\"><code>", p->probability,
            p->decision < 0 ? "none" : p->decision ? "positive" : "negative");
    mmdx_html_text(f, p->contributions);
    fputs("</code></td><td class=\"when\">", f);
    mmdx_html_text(f, p->stored_at);
    fputs("</td></tr>\n", f);
    t->n++;
    return 0;
}

int web_results_table(web_req *r, const char *run, const char *patient, size_t *n)
{
    FILE *f = r->body;
    fputs("<table>\n<caption>Stored predictions</caption>\n<thead><tr><th scope=\"col\">Run</th>"
          "<th scope=\"col\">Patient</th><th scope=\"col\">Study</th><th scope=\"col\">Probability</th>"
          "<th scope=\"col\">Decision</th><th scope=\"col\">Contributions (log-odds)</th>"
          "<th scope=\"col\">Stored (UTC)</th></tr></thead>\n<tbody>\n",
          f);
    table_ctx t = {r, 0};
    int rc = mmdx_store_results(r->session->store, run, patient, result_row, &t, NULL);
    if (t.n == 0)
        fputs("<tr><td colspan=\"7\">No predictions.</td></tr>\n", f);
    fputs("</tbody>\n</table>\n", f);
    *n = t.n;
    return rc;
}
