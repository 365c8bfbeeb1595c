/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The results: audited storage, the DICOM SR reports, the JSON result. */
#include "worker_internal.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "hash.h"
#include "path.h"
#include "site_settings.h"

/* ------------------------------------------------------------------------ */
/* Storage and audit                                                         */
/* ------------------------------------------------------------------------ */

int mmdx_orthanc__open_store(const mmdx_orthanc_settings *s, mmdx_store **st)
{
    mmdx_audit_settings site;
    int rc = mmdx_orthanc_site_settings(s, &site);
    mmdx_store_options o;
    memset(&o, 0, sizeof o);
    o.conninfo = site.db;
    o.site_key_file = site.site_key_file;
    o.pseudonymise = site.pseudonymise;
    o.os_user = "orthanc";
    if (!rc)
        rc = mmdx_store_open(st, &o);
    mmdx_audit_settings_clear(&site);
    int have = 0;
    if (!rc)
        rc = mmdx_store_schema_version(*st, &have);
    if (!rc && have < mmdx_store_code_version())
        rc = mmdx_store_migrate(*st, NULL, NULL);
    if (rc) {
        mmdx_store_free(*st);
        *st = NULL;
    }
    return rc;
}

int mmdx_screener_audit_failure(mmdx_screener *sc, const char *orthanc_id, const char *message, int attempt)
{
    return mmdx_orthanc_audit_failure(sc->s, orthanc_id, message, attempt);
}

int mmdx_orthanc_audit_failure(const mmdx_orthanc_settings *s, const char *orthanc_id, const char *message,
                               int attempt)
{
    mmdx_store *st = NULL;
    int rc = mmdx_orthanc__open_store(s, &st);
    if (rc)
        return rc;
    json_object *d = json_object_new_object();
    json_object_object_add(d, "error", json_object_new_string(message ? message : ""));
    json_object_object_add(d, "attempt", json_object_new_int(attempt));
    mmdx_audit_event ev;
    memset(&ev, 0, sizeof ev);
    ev.action = "orthanc.screen";
    ev.outcome = MMDX_OUTCOME_SERIOUS_FAILURE;
    ev.object_type = "study";
    ev.object_id = orthanc_id;
    ev.detail_json = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN);
    rc = mmdx_store_audit(st, &ev, NULL);
    json_object_put(d);
    mmdx_store_free(st);
    return rc;
}

static json_object *contributions_json(const job_state *j)
{
    json_object *o = json_object_new_object();
    for (size_t m = 0; m < j->in->n_modalities; m++)
        if (j->present[m])
            json_object_object_add(o, j->in->modalities[m], json_object_new_double(j->contrib[m]));
    return o;
}

int mmdx_orthanc__store_prediction(mmdx_screener *sc, const mmdx_job *job, job_state *j, const char *patient_id,
                                   const char *study_uid, const char *series_uid, const char *fingerprint)
{
    int rc = mmdx_orthanc__open_store(sc->s, &j->store);
    if (rc)
        return rc;
    size_t np = 0;
    mmdx_store_plugin plugins[64];
    for (size_t i = 0; i < mmdx_registry_count(sc->registry) && np < 64; i++) {
        const mmdx_plugin *p = mmdx_registry_get(sc->registry, i);
        plugins[np++] = (mmdx_store_plugin){p->info.name, p->info.version, p->sha256};
    }
    json_object *params = json_object_new_object();
    json_object_object_add(params, "source", json_object_new_string("orthanc"));
    json_object_object_add(params, "orthanc_study", json_object_new_string(job->orthanc_id));
    json_object_object_add(params, "series_instance_uid", json_object_new_string(series_uid));
    json_object_object_add(params, "selection_rule",
                           json_object_new_string(mmdx_series_rules_name(sc->s->rules, j->rule)));
    json_object_object_add(params, "forced", json_object_new_boolean(job->force));
    mmdx_store_contribution *contrib = calloc(j->in->n_modalities + 1, sizeof *contrib);
    if (!contrib) {
        json_object_put(params);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    size_t nc = 0;
    for (size_t m = 0; m < j->in->n_modalities; m++)
        if (j->present[m])
            contrib[nc++] = (mmdx_store_contribution){j->in->modalities[m], j->contrib[m]};
    mmdx_store_input_hash hash = {"dicom_series", fingerprint};
    mmdx_store_prediction p = {patient_id, study_uid, j->prob[0], j->prob[0] >= sc->model.file->threshold,
                               contrib, nc, &hash, 1, j->fused, j->fused ? j->emb_dim : 0,
                               j->tokens, j->tokens ? j->in->n_modalities : 0};
    /* An attempt of this screening killed after storing (the run ID names the
       screening): the stored prediction stands, nothing is stored or audited again. */
    int state = MMDX_STORED_NONE;
    rc = mmdx_store_prediction_state(j->store, j->run_id, &p, &state);
    if (!rc && state == MMDX_STORED_SAME) {
        j->replayed = 1;
        mmdx_orthanc__logf(sc, MMDX_LOG_WARNING,
                           "mmdx: study %s: its prediction was stored by an interrupted attempt (run %s); not stored "
                           "again", job->orthanc_id, j->run_id);
        json_object_put(params);
        free(contrib);
        return 0;
    }
    mmdx_store_run run = {sc->model.file->sha256, fingerprint,
                          json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN), plugins, np};
    if (!rc)
        rc = mmdx_store_run_begin_id(j->store, &run, j->run_id, NULL);
    json_object_put(params);
    if (rc) {
        free(contrib);
        return rc;
    }
    mmdx_store_batch_result br;
    memset(&br, 0, sizeof br);
    rc = mmdx_store_predictions(j->store, j->run_id, &p, 1, &br);
    free(contrib);
    int end = mmdx_store_run_end(j->store, j->run_id, rc ? MMDX_OUTCOME_SERIOUS_FAILURE : MMDX_OUTCOME_SUCCESS, NULL);
    if (!rc && br.conflicts)
        return mmdx_fail(MMDX_EINTEGRITY,
                         "study %s: run %s already holds a different prediction for this study's patient (its "
                         "other inputs, records or genomics, changed since an interrupted attempt); the stored "
                         "one is kept and the conflict audited: POST /mmdx/studies/%s/screen screens it anew",
                         job->orthanc_id, j->run_id, job->orthanc_id);
    return rc ? rc : end;
}

/* POST one report; *already: Orthanc held an instance of that SOP Instance UID (it keeps one). */
static int upload(mmdx_screener *sc, const char *path, char **orthanc_id, int *already)
{
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mmdx_fail(MMDX_EIO, "%s: cannot read: %s", path, strerror(errno));
    char *data = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long l = ftell(f);
        if (l > 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)l)))
            len = fread(data, 1, (size_t)l, f);
        if (data && len != (size_t)l) {
            free(data);
            data = NULL;
        }
    }
    fclose(f);
    if (!data)
        return mmdx_fail(MMDX_EIO, "%s: cannot read", path);
    char *answer = NULL;
    size_t alen = 0;
    int rc = sc->pacs->post(sc->pacs->ctx, "/instances", data, len, &answer, &alen);
    free(data);
    if (rc) {
        free(answer);
        return mmdx_fail(MMDX_EIO, "Orthanc: POST /instances (the SR) failed");
    }
    json_object *a = json_tokener_parse(answer);
    free(answer);
    const char *id = a ? mmdx_orthanc__jstr(a, "ID", NULL) : NULL;
    const char *status = a ? mmdx_orthanc__jstr(a, "Status", NULL) : NULL;
    *already = status && strcmp(status, "AlreadyStored") == 0;
    if (!id || !(*orthanc_id = strdup(id))) {
        json_object_put(a);
        return mmdx_fail(MMDX_EIO, "Orthanc: POST /instances: no instance ID in the answer");
    }
    json_object_put(a);
    return 0;
}

/* A re-run replaces the reports written last time. */
static void delete_previous(mmdx_screener *sc, const mmdx_job *job, const job_state *j)
{
    if (!job->previous_sr)
        return;
    json_object *prev = json_tokener_parse(job->previous_sr);
    for (size_t i = 0; prev && json_object_is_type(prev, json_type_array) && i < json_object_array_length(prev); i++) {
        const char *id = json_object_get_string(json_object_array_get_idx(prev, i));
        if (!id || (j->tid_orthanc_id && strcmp(id, j->tid_orthanc_id) == 0) ||
            (j->text_orthanc_id && strcmp(id, j->text_orthanc_id) == 0))
            continue;
        char uri[256];
        snprintf(uri, sizeof uri, "/instances/%s", id);
        int rc = sc->pacs->del(sc->pacs->ctx, uri);
        if (rc && rc != MMDX_ENOTFOUND)
            mmdx_orthanc__logf(sc, MMDX_LOG_WARNING, "mmdx: study %s: could not delete the previous report %s", job->orthanc_id, id);
    }
    json_object_put(prev);
}

/* Write both reports into the job folder (before anything is stored: a
 * source DICOM file that cannot be referenced fails the job cleanly). */
int mmdx_orthanc__write_reports(mmdx_screener *sc, job_state *j, const series_info *si)
{
    size_t M = j->in->n_modalities;
    const mmdx_model_file *mf = sc->model.file;
    char algo[256];
    snprintf(algo, sizeof algo, "mmdx %s/%s", mf->fusion, mf->classifier ? mf->classifier : "");
    mmdx_sr_result r = {j->prob[0],
                        mf->threshold,
                        j->prob[0] >= mf->threshold,
                        M,
                        j->in->modalities,
                        j->contrib,
                        j->present,
                        algo,
                        mf->fusion_version,
                        MMDX_VERSION_STRING,
                        mf->sha256,
                        sc->s->manufacturer,
                        sc->s->institution,
                        sc->s->series_description,
                        sc->s->series_number,
                        NULL,
                        j->sr_series_uid,
                        j->tid_uid,
                        j->text_uid,
                        j->tracking_uid};
    const char *mod = mmdx_orthanc__series_attr(si, "Modality"), *desc = mmdx_orthanc__series_attr(si, "SeriesDescription");
    char source[300];
    snprintf(source, sizeof source, "%s series \"%s\", %zu slices (rule \"%s\")", mod ? mod : "?", desc ? desc : "",
             si->n_slices, mmdx_series_rules_name(sc->s->rules, j->rule));
    if (!(j->text = mmdx_sr_render_text(&r, source)))
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    r.text = j->text;
    char tid[4200], text[4200];
    snprintf(tid, sizeof tid, "%s/tid1500.dcm", j->dir);
    snprintf(text, sizeof text, "%s/text.dcm", j->dir);
    mmdx_error err;
    memset(&err, 0, sizeof err);
    int rc = mmdx_sr_write(&r, (const char *const *)j->files, j->n_files, tid, text, j->tid_uid, j->text_uid,
                           j->sr_series_uid, &err);
    return rc ? mmdx_fail_from(&err, rc) : 0;
}

/* Upload the reports, replace last time's, and audit it. */
int mmdx_orthanc__upload_reports(mmdx_screener *sc, const mmdx_job *job, job_state *j)
{
    char tid[4200], text[4200];
    snprintf(tid, sizeof tid, "%s/tid1500.dcm", j->dir);
    snprintf(text, sizeof text, "%s/text.dcm", j->dir);
    int rc, tid_had = 0, text_had = 0;
    if ((rc = upload(sc, tid, &j->tid_orthanc_id, &tid_had)) || (rc = upload(sc, text, &j->text_orthanc_id, &text_had)))
        return rc;
    j->already_stored = tid_had && text_had;
    delete_previous(sc, job, j);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "tid1500_sop_instance_uid", json_object_new_string(j->tid_uid));
    json_object_object_add(d, "text_sop_instance_uid", json_object_new_string(j->text_uid));
    json_object_object_add(d, "series_instance_uid", json_object_new_string(j->sr_series_uid));
    if (j->already_stored) /* a replay after a crash that followed the first upload */
        json_object_object_add(d, "already_stored", json_object_new_boolean(1));
    mmdx_audit_event ev;
    memset(&ev, 0, sizeof ev);
    ev.action = "orthanc.sr.write";
    ev.outcome = MMDX_OUTCOME_SUCCESS;
    ev.object_type = "study";
    ev.object_id = job->orthanc_id;
    ev.study_uid = mmdx_orthanc__jstr(j->study, "MainDicomTags", "StudyInstanceUID");
    ev.run_id = j->run_id;
    ev.detail_json = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN);
    rc = mmdx_store_audit(j->store, &ev, NULL);
    json_object_put(d);
    return rc;
}


char *mmdx_orthanc__result_json(mmdx_screener *sc, const mmdx_job *job, job_state *j, const series_info *si,
                                const char *fingerprint, double started)
{
    const mmdx_model_file *mf = sc->model.file;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "study_instance_uid",
                           json_object_new_string(mmdx_orthanc__jstr(j->study, "MainDicomTags", "StudyInstanceUID")));
    json_object *series = json_object_new_object();
    json_object_object_add(series, "orthanc_id", json_object_new_string(si->id));
    const char *suid = mmdx_orthanc__series_attr(si, "SeriesInstanceUID");
    json_object_object_add(series, "series_instance_uid", json_object_new_string(suid ? suid : ""));
    const char *mod = mmdx_orthanc__series_attr(si, "Modality"), *desc = mmdx_orthanc__series_attr(si, "SeriesDescription");
    json_object_object_add(series, "modality", json_object_new_string(mod ? mod : ""));
    json_object_object_add(series, "description", json_object_new_string(desc ? desc : ""));
    json_object_object_add(series, "slices", json_object_new_int64((int64_t)si->n_slices));
    json_object_object_add(series, "rule", json_object_new_string(mmdx_series_rules_name(sc->s->rules, j->rule)));
    json_object_object_add(o, "series", series);
    json_object_object_add(o, "probability", json_object_new_double(j->prob[0]));
    json_object_object_add(o, "threshold", json_object_new_double(mf->threshold));
    json_object_object_add(o, "decision", json_object_new_int(j->prob[0] >= mf->threshold));
    json_object_object_add(o, "contributions", contributions_json(j));
    json_object *present = json_object_new_object();
    for (size_t m = 0; m < j->in->n_modalities; m++)
        json_object_object_add(present, j->in->modalities[m], json_object_new_boolean(j->present[m]));
    json_object_object_add(o, "modalities_present", present);
    json_object *model = json_object_new_object();
    json_object_object_add(model, "sha256", json_object_new_string(mf->sha256));
    json_object_object_add(model, "fusion", json_object_new_string(mf->fusion));
    json_object_object_add(model, "fusion_version", json_object_new_string(mf->fusion_version));
    json_object_object_add(model, "classifier", json_object_new_string(mf->classifier ? mf->classifier : ""));
    json_object_object_add(model, "signature_verified", json_object_new_boolean(mf->signature_verified));
    json_object_object_add(o, "model", model);
    json_object_object_add(o, "run_id", json_object_new_string(j->run_id));
    json_object *sr = json_object_new_object();
    json_object_object_add(sr, "series_instance_uid", json_object_new_string(j->sr_series_uid));
    json_object_object_add(sr, "tid1500_sop_instance_uid", json_object_new_string(j->tid_uid));
    json_object_object_add(sr, "text_sop_instance_uid", json_object_new_string(j->text_uid));
    json_object *inst = json_object_new_array();
    json_object_array_add(inst, json_object_new_string(j->tid_orthanc_id));
    json_object_array_add(inst, json_object_new_string(j->text_orthanc_id));
    json_object_object_add(sr, "instances", inst);
    json_object_object_add(o, "sr", sr);
    json_object_object_add(o, "fingerprint", json_object_new_string(fingerprint));
    json_object_object_add(o, "verified", json_object_new_boolean(0));
    json_object_object_add(o, "text", json_object_new_string(j->text));
    if (j->messages && *j->messages)
        json_object_object_add(o, "warnings", json_object_new_string(j->messages));
    json_object_object_add(o, "forced", json_object_new_boolean(job->force));
    if (j->replayed)
        json_object_object_add(o, "replayed", json_object_new_boolean(1));
    /* fetch, encode, mmdx_orthanc__predict, store and write back; not the wait for a stable study */
    json_object_object_add(o, "screening_seconds", json_object_new_double(mmdx_clock_seconds() - started));
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}
