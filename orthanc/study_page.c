/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The HTML view of one study's stored result (the page of GET /mmdx/studies/{id}/report). */
#include "study_page.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "report_html.h"
#include "worker_internal.h"

#ifndef MMDX_VERSION_STRING
#define MMDX_VERSION_STRING "0"
#endif

static const char *str(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static double num(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) &&
                   (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))
               ? json_object_get_double(v)
               : NAN;
}

typedef struct stored_event {
    long long seq;
    char patient[128];
} stored_event;

static int on_store_event(void *ctx, const mmdx_audit_row *row)
{
    stored_event *e = ctx;
    e->seq = row->seq;
    snprintf(e->patient, sizeof e->patient, "%s", row->patient ? row->patient : "");
    return 1; /* the first is the one: a study's run stores one prediction */
}

/* The prediction's audit event, and the view recorded before anything is shown. */
static int audit_view(const mmdx_orthanc_settings *s, const char *orthanc_id, const char *run_id,
                      const char *study_uid, stored_event *ev)
{
    mmdx_store *st = NULL;
    int rc = mmdx_orthanc__open_store(s, &st);
    if (rc == 0) {
        mmdx_audit_filter f = {0};
        f.run_id = run_id;
        f.action = "prediction.store";
        rc = mmdx_store_audit_query(st, &f, on_store_event, ev);
        if (rc == 1)
            rc = 0;
    }
    if (rc == 0) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "query", json_object_new_string("orthanc study report"));
        json_object_object_add(d, "orthanc_study", json_object_new_string(orthanc_id));
        mmdx_audit_event e = {0};
        e.action = "results.view";
        e.object_type = "prediction";
        e.run_id = run_id;
        e.study_uid = study_uid;
        e.detail_json = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        rc = mmdx_store_audit(st, &e, NULL);
        json_object_put(d);
    }
    mmdx_store_free(st);
    return rc;
}

int mmdx_orthanc_study_page(char **html, size_t *len, const mmdx_orthanc_settings *s, const char *orthanc_id,
                            const char *row_json)
{
    *html = NULL;
    *len = 0;
    json_object *row = json_tokener_parse(row_json), *res = NULL, *model = NULL, *contrib = NULL, *present = NULL;
    const char *state = str(row, "state");
    if (!state) {
        json_object_put(row);
        return mmdx_fail(MMDX_EFORMAT, "study %s: the queue row is not the plugin's JSON", orthanc_id);
    }
    if (!json_object_object_get_ex(row, "result", &res) || !json_object_is_type(res, json_type_object)) {
        int rc = mmdx_fail(MMDX_ENOTFOUND, "study %s has no result yet (state %s)", orthanc_id, state);
        json_object_put(row);
        return rc;
    }
    json_object_object_get_ex(res, "model", &model);
    json_object_object_get_ex(res, "contributions", &contrib);
    json_object_object_get_ex(res, "modalities_present", &present);
    const char *run_id = str(res, "run_id"), *study_uid = str(res, "study_instance_uid");
    double prob = num(res, "probability"), threshold = num(res, "threshold");
    if (!run_id || !(prob >= 0 && prob <= 1) || !isfinite(threshold) || !present ||
        !json_object_is_type(present, json_type_object)) {
        json_object_put(row);
        return mmdx_fail(MMDX_EFORMAT, "study %s: the stored result lacks its run, risk or modalities", orthanc_id);
    }
    stored_event ev = {0, ""};
    int rc = audit_view(s, orthanc_id, run_id, study_uid, &ev);
    size_t n = (size_t)json_object_object_length(present), k = 0;
    mmdx_html_modality *mods = calloc(n + 1, sizeof *mods);
    if (!rc && !mods)
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (!rc) {
        json_object_object_foreach(present, name, flag) {
            mods[k].name = name;
            mods[k].present = json_object_get_boolean(flag);
            mods[k].contribution = num(contrib, name);
            k++;
        }
        json_object *verified;
        mmdx_html_study page = {"mmdx " MMDX_VERSION_STRING, orthanc_id, study_uid, ev.patient[0] ? ev.patient : NULL,
                                prob, threshold, prob >= threshold, str(model, "sha256"), str(model, "fusion"),
                                str(model, "fusion_version"), str(model, "classifier"),
                                json_object_object_get_ex(model, "signature_verified", &verified) &&
                                    json_object_get_boolean(verified),
                                run_id, ev.seq, str(row, "finished_at"), mods, k, str(res, "text")};
        FILE *f = open_memstream(html, len);
        if (!f) {
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        } else {
            rc = mmdx_html_study_print(f, &page);
            if (fclose(f) != 0 && rc == 0)
                rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
            if (rc) {
                free(*html);
                *html = NULL;
                *len = 0;
            }
        }
    }
    free(mods);
    json_object_put(row);
    return rc;
}
