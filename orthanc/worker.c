/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Orthanc worker: a screener set up from the settings, and one job end to end. */
#include "worker_internal.h"
#include "model_open.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
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

void mmdx_orthanc__logf(mmdx_screener *sc, mmdx_log_level level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (sc->pacs && sc->pacs->log)
        sc->pacs->log(sc->pacs->ctx, level, buf);
}

static void quiet_log(void *ctx, const char *message)
{
    mmdx_screener *sc = ctx;
    mmdx_orthanc__logf(sc, MMDX_LOG_WARNING, "mmdx plugin refused: %s", message);
}

void mmdx_screener_free(mmdx_screener *sc)
{
    if (!sc)
        return;
    if (sc->model_open)
        mmdx_model_session_close(&sc->model);
    mmdx_registry_free(sc->registry);
    mmdx_config_free(sc->config);
    mmdx_manifest_free(sc->manifest);
    mmdx_manifest_free(sc->sample_map);
    free(sc->work);
    free(sc);
}

int mmdx_orthanc__mkdir_p(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (char *c = p + 1;; c++) {
        if (*c == '/' || *c == '\0') {
            char save = *c;
            *c = '\0';
            if (mkdir(p, 0700) != 0 && errno != EEXIST) {
                int e = errno;
                free(p);
                return mmdx_fail(MMDX_EIO, "%s: cannot create folder: %s", path, strerror(e));
            }
            *c = save;
            if (!save)
                break;
        }
    }
    free(p);
    return 0;
}

int mmdx_screener_new(mmdx_screener **out, const mmdx_orthanc_settings *s, const mmdx_pacs *pacs,
                      const char *plugin_dir_default)
{
    *out = NULL;
    mmdx_screener *sc = calloc(1, sizeof *sc);
    if (!sc)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    sc->s = s;
    sc->pacs = pacs;
    const char *tmp = getenv("TMPDIR");
    char deflt[4096];
    snprintf(deflt, sizeof deflt, "%s/mmdx-orthanc", tmp && *tmp ? tmp : "/tmp");
    int rc = 0;
    if (!(sc->work = strdup(s->work_folder ? s->work_folder : deflt)))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (!rc)
        rc = mmdx_orthanc__mkdir_p(sc->work);
    if (!rc) {
        rc = mmdx_orthanc_model_open(&sc->registry, &sc->model, s, plugin_dir_default, quiet_log, sc);
        sc->model_open = rc == 0;
    }
    if (!rc)
        rc = s->site_config ? mmdx_config_load(&sc->config, s->site_config) : mmdx_config_new_empty(&sc->config);
    if (!rc && s->manifest)
        rc = mmdx_manifest_load(&sc->manifest, s->manifest);
    if (!rc && s->sample_map) {
        rc = mmdx_manifest_load(&sc->sample_map, s->sample_map);
        if (!rc && mmdx_manifest_column(sc->sample_map, "vcf_sample") < 0)
            rc = mmdx_fail(MMDX_EFORMAT, "%s: line 1: needs the columns patient_id,vcf_sample", s->sample_map);
    }
    if (rc) {
        mmdx_screener_free(sc);
        return rc;
    }
    *out = sc;
    return 0;
}

void mmdx_orthanc_crash_point(const char *point)
{
#ifdef MMDX_TEST_HOOKS
    const char *at = getenv("MMDX_TEST_KILL_AT");
    if (at && strcmp(at, point) == 0)
        raise(SIGKILL);
#else
    (void)point;
#endif
}

/* A screening is named by what it screens: the model, the study, its
 * instances (the fingerprint) and the study's forced requests. An attempt
 * interrupted by a crash and its replay share the run ID and the reports'
 * UIDs, so that the replay finds the prediction stored and Orthanc keeps
 * one copy of each report. */
void mmdx_orthanc__screening_ids(const mmdx_screener *sc, const mmdx_job *job, const char *fingerprint, job_state *j)
{
    char name[512];
    int len = snprintf(name, sizeof name, "mmdx-orthanc-run-v1%c%s%c%s%c%s%c%lld", 0, sc->model.file->sha256, 0,
                       job->orthanc_id, 0, fingerprint, 0, job->generation);
    mmdx_uuid_from_name(name, (size_t)(len < (int)sizeof name ? len : (int)sizeof name - 1), j->run_id);
    static const struct {
        const char *what;
        size_t off;
    } uids[] = {{"series", offsetof(job_state, sr_series_uid)},
                {"tid1500", offsetof(job_state, tid_uid)},
                {"text", offsetof(job_state, text_uid)},
                {"tracking", offsetof(job_state, tracking_uid)}};
    for (size_t i = 0; i < sizeof uids / sizeof uids[0]; i++) {
        snprintf(name, sizeof name, "mmdx-orthanc-sr-v1 %s %s", j->run_id, uids[i].what);
        mmdx_sr_uid_from_name(name, (char *)j + uids[i].off);
    }
}

int mmdx_screen_error_is_transient(int code)
{
    return code == MMDX_EDB || code == MMDX_EIO || code == MMDX_ENOMEM;
}

/* ------------------------------------------------------------------------ */
/* The pipeline                                                              */
/* ------------------------------------------------------------------------ */


static void job_state_free(job_state *j)
{
    if (j->dir[0])
        mmdx_orthanc__remove_tree(j->dir, j->n_files);
    for (size_t i = 0; i < j->n_files; i++)
        free(j->files[i]);
    free(j->files);
    json_object_put(j->study);
    mmdx_orthanc__series_free(j->series, j->n_series);
    mmdx_cohort_input_free(j->in);
    free(j->prob);
    free(j->contrib);
    free(j->fused);
    free(j->tokens);
    free(j->present);
    free(j->messages);
    free(j->text);
    free(j->tid_orthanc_id);
    free(j->text_orthanc_id);
    mmdx_store_free(j->store);
}

int mmdx_screener_run(mmdx_screener *sc, const mmdx_job *job, mmdx_screen_outcome *outcome, char **result,
                      char fingerprint[65])
{
    *result = NULL;
    *outcome = MMDX_SCREEN_DONE;
    double started = mmdx_clock_seconds();
    job_state j;
    memset(&j, 0, sizeof j);
    char uri[256];
    snprintf(uri, sizeof uri, "/studies/%s", job->orthanc_id);
    int rc = mmdx_orthanc__get_json(sc, uri, &j.study);
    const char *study_uid = NULL, *patient_id = NULL;
    if (!rc) {
        study_uid = mmdx_orthanc__jstr(j.study, "MainDicomTags", "StudyInstanceUID");
        patient_id = mmdx_orthanc__jstr(j.study, "PatientMainDicomTags", "PatientID");
        if (!study_uid || !patient_id || !*patient_id)
            rc = mmdx_fail(MMDX_EFORMAT, "study %s: no %s", job->orthanc_id,
                           !study_uid ? "StudyInstanceUID (0020,000D)" : "PatientID (0010,0020)");
    }
    if (!rc)
        rc = mmdx_orthanc__pick_series(sc, job, &j);
    series_info *si = rc ? NULL : &j.series[j.pick];
    json_object *instances = NULL;
    if (!rc && !json_object_object_get_ex(si->series, "Instances", &instances))
        rc = mmdx_fail(MMDX_EIO, "Orthanc: /series/%s has no Instances", si->id);
    if (!rc) {
        mmdx_orthanc__fingerprint_of(sc->model.file->sha256, si->id, instances, fingerprint);
        if (!job->force && job->fingerprint && strcmp(job->fingerprint, fingerprint) == 0) {
            *outcome = MMDX_SCREEN_UNCHANGED;
            job_state_free(&j);
            return 0;
        }
        mmdx_orthanc__screening_ids(sc, job, fingerprint, &j);
        snprintf(j.dir, sizeof j.dir, "%s/%s-%ld-%lu", sc->work, job->orthanc_id, (long)getpid(), ++sc->counter);
        rc = mmdx_orthanc__mkdir_p(j.dir);
        if (rc)
            j.dir[0] = '\0';
    }
    if (!rc)
        rc = mmdx_orthanc__fetch_series(sc, &j, instances);
    if (!rc)
        rc = mmdx_orthanc__predict(sc, &j, patient_id);
    const char *suid = si ? mmdx_orthanc__series_attr(si, "SeriesInstanceUID") : NULL;
    if (!rc)
        rc = mmdx_orthanc__write_reports(sc, &j, si);
    if (!rc)
        rc = mmdx_orthanc__store_prediction(sc, job, &j, patient_id, study_uid, suid ? suid : "", fingerprint);
    if (!rc)
        mmdx_orthanc_crash_point("orthanc.after-store");
    if (!rc)
        rc = mmdx_orthanc__upload_reports(sc, job, &j);
    if (!rc && !(*result = mmdx_orthanc__result_json(sc, job, &j, si, fingerprint, started)))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (!rc)
        mmdx_orthanc__logf(sc, MMDX_LOG_INFO, "mmdx: study %s screened: probability %.4f, decision %s, SR %s", job->orthanc_id,
              j.prob[0], j.prob[0] >= sc->model.file->threshold ? "positive" : "negative", j.tid_orthanc_id);
    job_state_free(&j);
    return rc;
}
