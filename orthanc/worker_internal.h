/*
 * orthanc/worker_internal.h — what the files of the Orthanc worker share: the
 * screener (worker.c: set-up and one job end to end), the study in Orthanc
 * (study.c: series, instances, fingerprint), the patient's inputs
 * (inputs.c: the one-patient manifest, the prediction) and the results
 * (results.c: audited storage, DICOM SR, the JSON result). Not public.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef MMDX_ORTHANC_WORKER_INTERNAL_H
#define MMDX_ORTHANC_WORKER_INTERNAL_H

#include <json-c/json.h>

#include "cohort_input.h"
#include "config.h"
#include "loader.h"
#include "manifest.h"
#include "model_session.h"
#include "sr_writer.h"
#include "store.h"
#include "worker.h"

#ifndef MMDX_VERSION_STRING
#define MMDX_VERSION_STRING "0"
#endif

struct mmdx_screener {
    const mmdx_orthanc_settings *s;
    const mmdx_pacs *pacs;
    mmdx_registry *registry;
    mmdx_config *config;
    mmdx_model_session model;
    int model_open;
    mmdx_manifest *manifest;   /* Settings' Manifest, or NULL */
    mmdx_manifest *sample_map; /* Settings' Genomics.SampleMap, or NULL */
    char *work;                /* work folder */
    unsigned long counter;
};

typedef struct series_info {
    char *id;
    json_object *series;     /* /series/{id} */
    json_object *tags;       /* /instances/{first}/simplified-tags */
    size_t n_slices;
    const char **keys, **values;
    size_t n_attr;
} series_info;

typedef struct job_state {
    char dir[4096];
    size_t n_files;
    char **files;
    json_object *study;
    series_info *series;
    size_t n_series;
    long pick;
    size_t rule;
    mmdx_cohort_input *in;
    double *prob, *contrib;
    double *fused;     /* the model's fused embedding (joint fusion), emb_dim values, or NULL */
    double *tokens;    /* each modality's token (n_modalities x emb_dim, NaN: absent), or NULL */
    uint32_t emb_dim;
    int *present;
    char *messages;
    size_t messages_len;
    char run_id[MMDX_RUN_ID_LEN];
    char *text;
    char tid_uid[MMDX_SR_UID_MAX], text_uid[MMDX_SR_UID_MAX], sr_series_uid[MMDX_SR_UID_MAX];
    char *tid_orthanc_id, *text_orthanc_id;
    char tracking_uid[MMDX_SR_UID_MAX];
    int replayed;       /* the prediction was already stored by an interrupted attempt of this screening */
    int already_stored; /* Orthanc already held both reports (a replay's upload) */
    mmdx_store *store;
} job_state;

void mmdx_orthanc__logf(mmdx_screener *sc, mmdx_log_level level, const char *fmt, ...) MMDX_FORMAT(3, 4);
int mmdx_orthanc__mkdir_p(const char *path);
/* The audited store of the site settings, its schema migrated when older (results.c). */
int mmdx_orthanc__open_store(const mmdx_orthanc_settings *s, mmdx_store **st);
int mmdx_orthanc__get_json(mmdx_screener *sc, const char *uri, json_object **out);
const char *mmdx_orthanc__jstr(json_object *o, const char *a, const char *b);
void mmdx_orthanc__series_free(series_info *si, size_t n);
const char *mmdx_orthanc__series_attr(const series_info *si, const char *k);
void mmdx_orthanc__remove_tree(const char *dir, size_t n_files);
void mmdx_orthanc__fingerprint_of(const char *model_sha, const char *series_id, json_object *instances, char out[65]);
void mmdx_orthanc__screening_ids(const mmdx_screener *sc, const mmdx_job *job, const char *fingerprint, job_state *j);
int mmdx_orthanc__pick_series(mmdx_screener *sc, const mmdx_job *job, job_state *j);
int mmdx_orthanc__fetch_series(mmdx_screener *sc, job_state *j, json_object *instances);
int mmdx_orthanc__predict(mmdx_screener *sc, job_state *j, const char *patient_id);
int mmdx_orthanc__store_prediction(mmdx_screener *sc, const mmdx_job *job, job_state *j, const char *patient_id,
                                   const char *study_uid, const char *series_uid, const char *fingerprint);
int mmdx_orthanc__write_reports(mmdx_screener *sc, job_state *j, const series_info *si);
int mmdx_orthanc__upload_reports(mmdx_screener *sc, const mmdx_job *job, job_state *j);
char *mmdx_orthanc__result_json(mmdx_screener *sc, const mmdx_job *job, job_state *j, const series_info *si,
                                const char *fingerprint, double started);

#endif
