/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log as DICOM audit messages, for `mmdx audit export` and the review server alike. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atna.h"
#include "error.h"

typedef struct export_ctx {
    FILE *out;
    const char *site;
    char source[300];
    size_t n;
} export_ctx;

static int write_message(void *ctx, const mmdx_audit_row *row)
{
    export_ctx *x = ctx;
    char *xml;
    int rc = mmdx_atna_format(&xml, row, x->source, x->site);
    if (rc < 0)
        return rc;
    int bad = fputs(xml, x->out) < 0 || fputc('\n', x->out) == EOF;
    free(xml);
    if (bad)
        return mmdx_fail(MMDX_EIO, "export: write error");
    x->n++;
    return 0;
}

int mmdx_atna_export(mmdx_store *s, const mmdx_audit_filter *f, const char *site, FILE *out, size_t *n)
{
    export_ctx x = {out, site, "", 0};
    char host[256] = "unknown";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    snprintf(x.source, sizeof x.source, "mmdx@%s", host);
    int rc = mmdx_store_audit_query(s, f, write_message, &x);
    if (n)
        *n = x.n;
    return rc;
}

int mmdx_atna_record_export(mmdx_store *s, const mmdx_audit_filter *f, size_t n, int ok)
{
    json_object *d = json_object_new_object();
    static const char *const names[] = {"run", "actor", "action", "since", "until"};
    const char *values[] = {f->run_id, f->actor, f->action, f->since, f->until};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (values[i])
            json_object_object_add(d, names[i], json_object_new_string(values[i]));
    json_object_object_add(d, "messages", json_object_new_int64((int64_t)n));
    json_object_object_add(d, "format", json_object_new_string("DICOM PS3.15 A.5 audit messages"));
    mmdx_audit_event e = {0};
    e.action = "audit.export";
    e.outcome = ok ? MMDX_OUTCOME_SUCCESS : MMDX_OUTCOME_SERIOUS_FAILURE;
    e.object_type = "audit-log";
    e.patient_id = f->patient_id;
    e.detail_json = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN);
    int rc = mmdx_store_audit(s, &e, NULL);
    json_object_put(d);
    return rc;
}
