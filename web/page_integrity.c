/* SPDX-License-Identifier: Apache-2.0 */
/* The log's integrity (the one verifier, as `mmdx audit verify`) and inclusion proofs (as `mmdx audit prove`). */
#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "hash.h"
#include "merkle.h"
#include "verify_site.h"
#include "web_internal.h"

static void hex_dd(FILE *f, const char *term, const uint8_t *h, size_t n)
{
    char hex[2 * 64 + 1];
    mmdx_hex(h, n, hex);
    fprintf(f, "<dt>%s</dt><dd class=\"hash\">%s</dd>\n", term, hex);
}

static void time_dd(FILE *f, const char *term, int64_t us)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    char when[40];
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(f, "<dt>%s</dt><dd>%s</dd>\n", term, when);
}

static void checkpoint_section(FILE *f, const mmdx_site_verify_result *res)
{
    fputs("<h2>Last checkpoint</h2>\n", f);
    if (!res->has_latest) {
        fputs("<p>No signed checkpoint was found (<code>[audit] checkpoint_dir</code>), so events cut off the "
              "end of the log would not be noticed: sign one with <code>mmdx audit checkpoint</code>.</p>\n",
              f);
        return;
    }
    const mmdx_checkpoint *c = &res->latest;
    fputs("<dl>\n<dt>Origin</dt><dd><code>", f);
    mmdx_html_text(f, c->origin);
    fprintf(f, "</code></dd>\n<dt>Size</dt><dd>%llu events</dd>\n", (unsigned long long)c->size);
    hex_dd(f, "Root", c->root, 32);
    time_dd(f, "Signed", c->time_us);
    fputs("<dt>Key</dt><dd class=\"hash\">", f);
    mmdx_html_text(f, c->key_id);
    fputs("</dd>\n<dt>File</dt><dd><code>", f);
    mmdx_html_text(f, res->latest_file);
    fputs("</code></dd>\n</dl>\n", f);
}

void web_page_integrity(web_req *r)
{
    if (web_record_view(r, "integrity", NULL) < 0)
        return;
    mmdx_site_verify_options o = {0};
    o.site = r->opt->site;
    mmdx_site_verify_result *res = calloc(1, sizeof *res);
    if (!res) {
        web_page_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "Integrity", "out of memory");
        return;
    }
    /* The verification records itself (audit.verify), as the command's does. */
    int verdict = mmdx_audit_verify_site(r->session->store, &o, res);
    const mmdx_verify_report *rep = &res->report;
    if (!res->walked) {
        web_page_error(r, verdict == MMDX_EINTEGRITY ? MHD_HTTP_OK : MHD_HTTP_INTERNAL_SERVER_ERROR,
                       "Integrity", mmdx_last_error());
        free(res);
        return;
    }
    web_page_begin(r, MHD_HTTP_OK, "Integrity of the audit log");
    FILE *f = r->body;
    if (verdict == 0)
        fprintf(f, "<p class=\"ok\" role=\"status\">Intact: %lld event%s, %lld run%s, %lld prediction%s checked.</p>\n",
                (long long)rep->n_events, rep->n_events == 1 ? "" : "s", (long long)rep->n_runs,
                rep->n_runs == 1 ? "" : "s", (long long)rep->n_predictions, rep->n_predictions == 1 ? "" : "s");
    else
        fprintf(f, "<p class=\"bad\" role=\"alert\">NOT intact: first broken link at sequence number %lld.</p>\n",
                (long long)rep->first_bad_seq);
    if (rep->n_problems) {
        fputs("<table>\n<caption>Problems found</caption>\n<thead><tr><th scope=\"col\">Seq</th>"
              "<th scope=\"col\">What differs</th></tr></thead>\n<tbody>\n",
              f);
        for (size_t i = 0; i < rep->n_problems && i < MMDX_VERIFY_MAX_PROBLEMS; i++) {
            fprintf(f, "<tr><td>%lld</td><td>", (long long)rep->problems[i].seq);
            mmdx_html_text(f, rep->problems[i].message);
            fputs("</td></tr>\n", f);
        }
        fputs("</tbody>\n</table>\n", f);
    }
    fputs("<h2>Tree head</h2>\n<dl>\n", f);
    fprintf(f, "<dt>Size</dt><dd>%lld events</dd>\n", (long long)rep->n_events);
    hex_dd(f, "Root", rep->root, 32);
    fprintf(f, "<dt>HMACs</dt><dd>%s</dd>\n",
            res->hmacs_checked ? "checked with the site key" : "not checked (the server has no site key)");
    fprintf(f, "<dt>Checkpoints</dt><dd>%lld consistent with the log</dd>\n</dl>\n", (long long)rep->n_checkpoints);
    checkpoint_section(f, res);
    if (!res->recorded) {
        fputs("<p class=\"problem\">The verification could not be recorded: ", f);
        mmdx_html_text(f, res->record_error);
        fputs("</p>\n", f);
    }
    free(res);
    web_page_end(r);
}

static int parse_seq(const char *s, int64_t *seq)
{
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < 1)
        return -1;
    *seq = v;
    return 0;
}

void web_page_proof(web_req *r)
{
    int64_t seq;
    if (parse_seq(r->query_seq, &seq) < 0) {
        web_page_error(r, MHD_HTTP_BAD_REQUEST, "Inclusion proof", "Give an event's sequence number (1, 2, ...).");
        return;
    }
    char detail[48];
    snprintf(detail, sizeof detail, "{\"seq\":%lld}", (long long)seq);
    mmdx_audit_event e = {0};
    e.detail_json = detail;
    if (web_record_view(r, "proof", &e) < 0)
        return;
    uint64_t size = 0;
    uint8_t leaf[32], root[32];
    uint8_t(*proof)[32] = NULL;
    size_t np = 0;
    int rc = mmdx_store_prove_inclusion(r->session->store, seq, &size, leaf, root, &proof, &np);
    if (rc < 0) {
        web_page_error(r, rc == MMDX_ENOTFOUND ? MHD_HTTP_NOT_FOUND : MHD_HTTP_INTERNAL_SERVER_ERROR,
                       "Inclusion proof", mmdx_last_error());
        return;
    }
    /* Checked here too, so the page says whether the path really leads to the root. */
    int holds = mmdx_merkle_verify_inclusion((uint64_t)seq - 1, size, leaf, proof, np, root) == 0;
    char title[64];
    snprintf(title, sizeof title, "Inclusion proof of event %lld", (long long)seq);
    web_page_begin(r, MHD_HTTP_OK, title);
    FILE *f = r->body;
    fprintf(f, "<p class=\"%s\">%s</p>\n", holds ? "ok" : "bad",
            holds ? "The path leads from the event's leaf to the root of the current tree (RFC 6962)."
                  : "The path does NOT lead to the root.");
    fputs("<dl>\n", f);
    fprintf(f, "<dt>Leaf index</dt><dd>%lld</dd>\n<dt>Tree size</dt><dd>%llu</dd>\n", (long long)seq - 1,
            (unsigned long long)size);
    hex_dd(f, "Leaf hash", leaf, 32);
    hex_dd(f, "Root", root, 32);
    fputs("</dl>\n<h2>Audit path</h2>\n", f);
    fputs(np ? "<ol>\n" : "<p>The path is empty: the tree has one event.</p>\n", f);
    for (size_t i = 0; i < np; i++) {
        char hex[65];
        mmdx_hex(proof[i], 32, hex);
        fprintf(f, "<li class=\"hash\">%s</li>\n", hex);
    }
    if (np)
        fputs("</ol>\n", f);
    free(proof);
    web_page_end(r);
}
