/* SPDX-License-Identifier: Apache-2.0 */
/* The search page, a patient's timeline and one run: what was recorded, for whom, by whom. */
#include <json-c/json.h>
#include <microhttpd.h>
#include <string.h>

#include "error.h"
#include "web_internal.h"

int web_record_view(web_req *r, const char *page, const mmdx_audit_event *more)
{
    mmdx_audit_event e = {0};
    if (more)
        e = *more;
    e.action = "audit.view";
    e.outcome = MMDX_OUTCOME_SUCCESS;
    if (!e.object_type)
        e.object_type = "audit-log";
    json_object *d = json_object_new_object();
    json_object_object_add(d, "page", json_object_new_string(page));
    json_object_object_add(d, "via", json_object_new_string("mmdx audit serve"));
    if (more && more->detail_json) {
        json_object *extra = json_tokener_parse(more->detail_json);
        json_object_object_foreach(extra, k, v) json_object_object_add(d, k, json_object_get(v));
        json_object_put(extra);
    }
    e.detail_json = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    int rc = mmdx_store_audit(r->session->store, &e, NULL);
    json_object_put(d);
    if (rc < 0) {
        char msg[MMDX_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "This view could not be recorded in the audit log, so nothing is shown: %s",
                 mmdx_last_error());
        web_page_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "Not recorded", msg);
    }
    return rc;
}

FILE *web_view_begin(web_req *r, const char *page, const mmdx_audit_event *more, const char *title)
{
    if (web_record_view(r, page, more) < 0)
        return NULL;
    web_page_begin(r, MHD_HTTP_OK, title);
    return r->body;
}

/* The events, then the predictions (whose listing records results.view), then the page's end; a
 * listing that fails half-way says so after what was shown. */
static void listings(web_req *r, const mmdx_audit_filter *flt, const char *run, const char *patient)
{
    size_t n = 0;
    int rc = web_events_table(r, flt, &n);
    if (rc == 0)
        rc = web_results_table(r, run, patient, &n);
    if (rc >= 0) {
        web_page_end(r);
        return;
    }
    r->status = rc == MMDX_ENOTFOUND || rc == MMDX_EINVAL ? MHD_HTTP_NOT_FOUND : MHD_HTTP_INTERNAL_SERVER_ERROR;
    fputs("<p class=\"problem\" role=\"alert\">The listing is incomplete: ", r->body);
    mmdx_html_text(r->body, mmdx_last_error());
    fputs("</p>\n", r->body);
    web_page_end(r);
}

void web_page_home(web_req *r)
{
    FILE *f = web_view_begin(r, "search", NULL, "Audit review");
    if (!f)
        return;
    fputs("<p>Review what mmdx recorded: the log's <a href=\"/integrity\">integrity</a>, a patient's "
          "timeline, one run's events and predictions, the inclusion proof of an event, and an "
          "<a href=\"/export\">ATNA export</a>.</p>\n"
          "<form class=\"search\" method=\"post\" action=\"/patient\">\n<h2>Patient timeline</h2>\n",
          f);
    web_html_csrf(r);
    fputs("<label for=\"mrn\">Patient ID (MRN)</label>\n"
          "<input type=\"text\" id=\"mrn\" name=\"mrn\" autocomplete=\"off\" aria-describedby=\"mrn-hint\" required>\n"
          "<p class=\"hint\" id=\"mrn-hint\">Sent in the form, never in the address: the timeline's address holds the "
          "keyed pseudonym.</p>\n<button type=\"submit\">Show the timeline</button>\n</form>\n"
          "<form class=\"search\" method=\"get\" action=\"/run\">\n<h2>One run</h2>\n"
          "<label for=\"id\">Run ID (or its first 8 characters)</label>\n"
          "<input type=\"text\" id=\"id\" name=\"id\" pattern=\"[0-9a-f-]{8,36}\" required>\n"
          "<button type=\"submit\">Show the run</button>\n</form>\n"
          "<form class=\"search\" method=\"get\" action=\"/proof\">\n<h2>Inclusion proof</h2>\n"
          "<label for=\"seq\">Event sequence number</label>\n"
          "<input type=\"number\" id=\"seq\" name=\"seq\" min=\"1\" required>\n"
          "<button type=\"submit\">Prove</button>\n</form>\n",
          f);
    web_page_end(r);
}

void web_page_patient_lookup(web_req *r)
{
    const char *mrn = web_field_get(r, "mrn");
    if (!mrn || !*mrn || strlen(mrn) > 256) {
        web_page_error(r, MHD_HTTP_BAD_REQUEST, "Patient timeline", "Give the patient's ID (at most 256 characters).");
        return;
    }
    const char *h;
    if (web_patient_handle(r->session, mrn, 0, &h) < 0) {
        web_page_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "Patient timeline", mmdx_last_error());
        return;
    }
    char to[32 + WEB_TOKEN_HEX];
    snprintf(to, sizeof to, "/timeline/%s", h);
    web_redirect(r, to);
}

void web_page_timeline(web_req *r, const char *handle)
{
    const web_patient *p = web_patient_find(r->session, handle);
    char psn[MMDX_PSEUDONYM_LEN];
    const char *query, *shown;
    int stored;
    if (p) {
        query = p->query;
        stored = p->stored;
    } else {
        /* A pseudonym's link from another session: the log is searched for the pseudonym as stored. */
        snprintf(psn, sizeof psn, "psn:%s", handle);
        query = psn;
        stored = 1;
    }
    mmdx_audit_event e = {0};
    e.object_type = "patient";
    if (stored)
        e.patient_stored = query;
    else
        e.patient_id = query;
    if (web_record_view(r, "timeline", &e) < 0)
        return;
    /* What the reviewer may see is what the store holds: the pseudonym when it pseudonymises. */
    char *key = NULL;
    if (!stored && mmdx_store_patient_key(r->session->store, query, &key) < 0) {
        web_page_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "Patient timeline", mmdx_last_error());
        return;
    }
    shown = key ? key : query;
    web_page_begin(r, MHD_HTTP_OK, "Patient timeline");
    FILE *f = r->body;
    fputs("<p>Patient as stored: <code>", f);
    mmdx_html_text(f, shown);
    fputs("</code></p>\n", f);
    free(key);
    mmdx_audit_filter flt = {0};
    flt.patient_id = query;
    listings(r, &flt, NULL, query);
}

void web_page_run(web_req *r, const char *run)
{
    mmdx_audit_event e = {0};
    e.object_type = "run";
    char detail[80];
    snprintf(detail, sizeof detail, "{\"run\":\"%s\"}", run); /* checked: [0-9a-f-] only */
    e.detail_json = detail;
    FILE *f = web_view_begin(r, "run", &e, "Run");
    if (!f)
        return;
    fprintf(f, "<p>Run <code>%s</code>: its events (start, predictions stored, end) and its predictions.</p>\n",
            run);
    mmdx_audit_filter flt = {0};
    flt.run_id = run;
    listings(r, &flt, run, NULL);
}
