/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "clock.h"
#include "screen.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "cohort_input.h"
#include "hash.h"
#include "loader.h"
#include "manifest.h"
#include "model_session.h"
#include "path.h"
#include "site_settings.h"
#include "sr_writer.h"
#include "store.h"

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

static void logf_(mmdx_screener *sc, mmdx_log_level level, const char *fmt, ...) MMDX_FORMAT(3, 4);

static void logf_(mmdx_screener *sc, mmdx_log_level level, const char *fmt, ...)
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
    logf_(sc, MMDX_LOG_WARNING, "mmdx plugin refused: %s", message);
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

static int mkdir_p(const char *path)
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
        rc = mkdir_p(sc->work);
    if (!rc)
        rc = mmdx_registry_new(&sc->registry, quiet_log, sc);
    const char *dir = s->plugin_folder ? s->plugin_folder : plugin_dir_default;
    if (!rc && dir) {
        int n = mmdx_registry_scan(sc->registry, dir);
        if (n < 0)
            rc = n;
        else if (n == 0 && mmdx_registry_count(sc->registry) == 0)
            rc = mmdx_fail(MMDX_ENOTFOUND, "%s: no mmdx plugins could be loaded from this folder (Mmdx.PluginFolder)",
                           dir);
    }
    if (!rc)
        rc = s->site_config ? mmdx_config_load(&sc->config, s->site_config) : mmdx_config_new_empty(&sc->config);
    if (!rc) {
        /* one site key signs models and audit events; ModelKey may name another file */
        mmdx_audit_settings site;
        rc = mmdx_orthanc_site_settings(s, &site);
        if (!rc)
            rc = mmdx_model_session_open(&sc->model, sc->registry, s->model,
                                         s->model_key ? s->model_key : site.site_key_file,
                                         site.require_signed_models);
        mmdx_audit_settings_clear(&site);
        sc->model_open = rc == 0;
    }
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

int mmdx_screen_error_is_transient(int code)
{
    return code == MMDX_EDB || code == MMDX_EIO || code == MMDX_ENOMEM;
}

/* ------------------------------------------------------------------------ */
/* Orthanc's REST API                                                        */
/* ------------------------------------------------------------------------ */

static int get_json(mmdx_screener *sc, const char *uri, json_object **out)
{
    *out = NULL;
    char *body = NULL;
    size_t len = 0;
    int rc = sc->pacs->get(sc->pacs->ctx, uri, &body, &len);
    if (rc == MMDX_ENOTFOUND)
        return mmdx_fail(MMDX_ENOTFOUND, "Orthanc: GET %s: not found", uri);
    if (rc)
        return mmdx_fail(MMDX_EIO, "Orthanc: GET %s failed", uri);
    json_tokener *tok = json_tokener_new();
    *out = tok ? json_tokener_parse_ex(tok, body, (int)len) : NULL;
    enum json_tokener_error e = tok ? json_tokener_get_error(tok) : json_tokener_error_parse_unexpected;
    json_tokener_free(tok);
    free(body);
    if (!*out || e != json_tokener_success) {
        json_object_put(*out);
        *out = NULL;
        return mmdx_fail(MMDX_EIO, "Orthanc: GET %s: the answer is not JSON", uri);
    }
    return 0;
}

static const char *jstr(json_object *o, const char *a, const char *b)
{
    json_object *v;
    if (!json_object_object_get_ex(o, a, &v))
        return NULL;
    if (b && !json_object_object_get_ex(v, b, &v))
        return NULL;
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* One series of the study, as the selector sees it. */
typedef struct series_info {
    char *id;
    json_object *series;     /* /series/{id} */
    json_object *tags;       /* /instances/{first}/simplified-tags */
    size_t n_slices;
    const char **keys, **values;
    size_t n_attr;
} series_info;

static void series_free(series_info *si, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(si[i].id);
        json_object_put(si[i].series);
        json_object_put(si[i].tags);
        free(si[i].keys);
        free(si[i].values);
    }
    free(si);
}

static int describe_series(mmdx_screener *sc, series_info *si)
{
    char uri[256];
    snprintf(uri, sizeof uri, "/series/%s", si->id);
    int rc = get_json(sc, uri, &si->series);
    if (rc)
        return rc;
    json_object *inst;
    if (!json_object_object_get_ex(si->series, "Instances", &inst) || !json_object_is_type(inst, json_type_array) ||
        json_object_array_length(inst) == 0)
        return 0; /* an empty series matches nothing */
    si->n_slices = json_object_array_length(inst);
    snprintf(uri, sizeof uri, "/instances/%s/simplified-tags", json_object_get_string(json_object_array_get_idx(inst, 0)));
    if ((rc = get_json(sc, uri, &si->tags)))
        return rc;
    if (si->n_slices == 1) {
        const char *nf = jstr(si->tags, "NumberOfFrames", NULL);
        if (nf && atol(nf) > 1)
            si->n_slices = (size_t)atol(nf);
    }
    json_object *main_tags = NULL;
    json_object_object_get_ex(si->series, "MainDicomTags", &main_tags);
    size_t cap = (size_t)json_object_object_length(si->tags) +
                 (main_tags ? (size_t)json_object_object_length(main_tags) : 0) + 1;
    si->keys = calloc(cap, sizeof *si->keys);
    si->values = calloc(cap, sizeof *si->values);
    if (!si->keys || !si->values)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    /* The series' main tags first: they win over one instance's values. */
    if (main_tags) {
        json_object_object_foreach(main_tags, k, v)
        {
            if (json_object_is_type(v, json_type_string)) {
                si->keys[si->n_attr] = k;
                si->values[si->n_attr++] = json_object_get_string(v);
            }
        }
    }
    json_object_object_foreach(si->tags, k2, v2)
    {
        if (json_object_is_type(v2, json_type_string)) {
            si->keys[si->n_attr] = k2;
            si->values[si->n_attr++] = json_object_get_string(v2);
        }
    }
    return 0;
}

static const char *series_attr(const series_info *si, const char *k)
{
    for (size_t i = 0; i < si->n_attr; i++)
        if (strcmp(si->keys[i], k) == 0)
            return si->values[i];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The patient's other modalities: a one-row cohort manifest                */
/* ------------------------------------------------------------------------ */

static long find_patient(const mmdx_manifest *m, const char *pid)
{
    for (size_t r = 0; m && r < mmdx_manifest_count(m); r++)
        if (strcmp(mmdx_manifest_patient_id(m, r), pid) == 0)
            return (long)r;
    return -1;
}

typedef struct column {
    const char *name;
    char *value; /* malloc'd */
} column;

static int add_column(column *cols, size_t *n, size_t cap, const char *name, const char *value)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(cols[i].name, name) == 0)
            return 0; /* first source wins */
    if (*n >= cap)
        return mmdx_fail(MMDX_EINVAL, "too many manifest columns");
    char *v = strdup(value ? value : "");
    if (!v)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    cols[*n].name = name;
    cols[*n].value = v;
    (*n)++;
    return 0;
}

/* The patient's inputs as a one-row manifest in memory: the series, and the site's other sources. */
static int build_manifest(mmdx_screener *sc, mmdx_manifest **out, const char *origin, const char *patient_id,
                          const char *dicom_dir)
{
    enum { CAP = 64 };
    column cols[CAP];
    size_t n = 0;
    int rc = add_column(cols, &n, CAP, "patient_id", patient_id);
    /* Each encoder's input column: the series for imaging, else the site's sources. */
    for (size_t i = 0; !rc && i < mmdx_registry_count(sc->registry); i++) {
        const mmdx_plugin *p = mmdx_registry_get(sc->registry, i);
        if (p->info.kind != MMDX_PLUGIN_ENCODER || !p->info.input_column)
            continue;
        if (p->info.modality && strcmp(p->info.modality, "imaging") == 0)
            rc = add_column(cols, &n, CAP, p->info.input_column, dicom_dir);
    }
    long row = find_patient(sc->manifest, patient_id);
    if (!rc && row >= 0) {
        for (size_t c = 0; !rc && c < mmdx_manifest_columns(sc->manifest); c++) {
            const char *name = mmdx_manifest_column_name(sc->manifest, c);
            if (strcmp(name, "label") == 0)
                continue;
            char *resolved = NULL;
            if (mmdx_manifest_is_path_column(name)) {
                if ((rc = mmdx_manifest_resolve(sc->manifest, (size_t)row, name, &resolved)))
                    break;
                rc = add_column(cols, &n, CAP, name, resolved ? resolved : "");
                free(resolved);
            } else {
                rc = add_column(cols, &n, CAP, name, mmdx_manifest_cell(sc->manifest, (size_t)row, c));
            }
        }
    }
    for (size_t i = 0; !rc && i < mmdx_registry_count(sc->registry); i++) {
        const mmdx_plugin *p = mmdx_registry_get(sc->registry, i);
        if (p->info.kind != MMDX_PLUGIN_ENCODER || !p->info.input_column || !p->info.modality)
            continue;
        if (strcmp(p->info.modality, "records") == 0 && sc->s->records) {
            rc = add_column(cols, &n, CAP, p->info.input_column, sc->s->records);
        } else if (strcmp(p->info.modality, "genomics") == 0 && sc->s->vcf) {
            long srow = find_patient(sc->sample_map, patient_id);
            if (sc->sample_map && srow < 0)
                continue; /* not genotyped: genomics missing for this patient */
            rc = add_column(cols, &n, CAP, p->info.input_column, sc->s->vcf);
            /* the genomics encoder reads the sample from the manifest's vcf_sample column */
            if (!rc)
                rc = add_column(cols, &n, CAP, "vcf_sample",
                                srow >= 0 ? mmdx_manifest_get(sc->sample_map, (size_t)srow, "vcf_sample")
                                          : patient_id /* no map: samples are named by PatientID */);
        }
    }
    const char *names[CAP], *values[CAP];
    for (size_t i = 0; i < n; i++)
        names[i] = cols[i].name, values[i] = cols[i].value;
    if (!rc)
        rc = mmdx_manifest_from_row(out, origin, names, values, n);
    for (size_t i = 0; i < n; i++)
        free(cols[i].value);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */
/* ------------------------------------------------------------------------ */

static int write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return mmdx_fail(MMDX_EIO, "%s: cannot write: %s", path, strerror(errno));
    size_t w = fwrite(data, 1, len, f);
    if (fclose(f) != 0 || w != len)
        return mmdx_fail(MMDX_EIO, "%s: write failed", path);
    return 0;
}

static void remove_tree(const char *dir, size_t n_files)
{
    char path[4200];
    for (size_t i = 0; i < n_files; i++) {
        snprintf(path, sizeof path, "%s/dicom/%06zu.dcm", dir, i);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/dicom", dir);
    rmdir(path);
    static const char *const files[] = {"tid1500.dcm", "text.dcm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The inputs that determine the result: model, series and its instances. */
static void fingerprint_of(const char *model_sha, const char *series_id, json_object *instances, char out[65])
{
    size_t n = json_object_array_length(instances);
    const char **ids = malloc((n ? n : 1) * sizeof *ids);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f && ids) {
        for (size_t i = 0; i < n; i++)
            ids[i] = json_object_get_string(json_object_array_get_idx(instances, i));
        qsort(ids, n, sizeof *ids, cmp_str);
        fprintf(f, "mmdx-orthanc 1\nmodel %s\nseries %s\n", model_sha, series_id);
        for (size_t i = 0; i < n; i++)
            fprintf(f, "%s\n", ids[i]);
    }
    if (f)
        fclose(f);
    uint8_t d[MMDX_SHA256_LEN];
    mmdx_sha256(buf ? buf : "", buf ? len : 0, d);
    mmdx_hex(d, sizeof d, out);
    free(buf);
    free(ids);
}

/* ------------------------------------------------------------------------ */
/* Storage and audit                                                         */
/* ------------------------------------------------------------------------ */

static int open_store(const mmdx_orthanc_settings *s, mmdx_store **st)
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
    int rc = open_store(s, &st);
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

/* ------------------------------------------------------------------------ */
/* The pipeline                                                              */
/* ------------------------------------------------------------------------ */

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
    int *present;
    char *messages;
    size_t messages_len;
    char run_id[MMDX_RUN_ID_LEN];
    char *text;
    char tid_uid[MMDX_SR_UID_MAX], text_uid[MMDX_SR_UID_MAX], sr_series_uid[MMDX_SR_UID_MAX];
    char *tid_orthanc_id, *text_orthanc_id;
    mmdx_store *store;
} job_state;

static void job_state_free(job_state *j)
{
    if (j->dir[0])
        remove_tree(j->dir, j->n_files);
    for (size_t i = 0; i < j->n_files; i++)
        free(j->files[i]);
    free(j->files);
    json_object_put(j->study);
    series_free(j->series, j->n_series);
    mmdx_cohort_input_free(j->in);
    free(j->prob);
    free(j->contrib);
    free(j->present);
    free(j->messages);
    free(j->text);
    free(j->tid_orthanc_id);
    free(j->text_orthanc_id);
    mmdx_store_free(j->store);
}

static int pick_series(mmdx_screener *sc, const mmdx_job *job, job_state *j)
{
    json_object *list;
    if (!json_object_object_get_ex(j->study, "Series", &list) || !json_object_is_type(list, json_type_array))
        return mmdx_fail(MMDX_EIO, "Orthanc: /studies/%s has no Series list", job->orthanc_id);
    size_t n = json_object_array_length(list);
    j->series = calloc(n ? n : 1, sizeof *j->series);
    if (!j->series)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    mmdx_series_candidate *cand = calloc(n ? n : 1, sizeof *cand);
    if (!cand)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    size_t *index = calloc(n ? n : 1, sizeof *index); /* candidate -> series */
    if (!index) {
        free(cand);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    int rc = 0;
    size_t k = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        series_info *si = &j->series[i];
        j->n_series = i + 1;
        if (!(si->id = strdup(json_object_get_string(json_object_array_get_idx(list, i))))) {
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
            break;
        }
        rc = describe_series(sc, si);
        if (rc == MMDX_ENOTFOUND) { /* deleted meanwhile */
            mmdx_error_clear();
            rc = 0;
            continue;
        }
        const char *mod = series_attr(si, "Modality");
        if (!rc && mod && strcmp(mod, "SR") == 0)
            continue; /* reports, ours included, are never screened */
        if (!rc) {
            cand[k] = (mmdx_series_candidate){si->id, si->n_slices, si->n_attr, si->keys, si->values};
            index[k++] = i;
        }
    }
    if (!rc) {
        long pick = mmdx_series_select(sc->s->rules, cand, k, &j->rule);
        if (pick < 0) {
            char seen[1024] = "";
            size_t used = 0;
            for (size_t c = 0; c < k && used < sizeof seen - 100; c++) {
                const series_info *si = &j->series[index[c]];
                const char *m = series_attr(si, "Modality");
                const char *d = series_attr(si, "SeriesDescription");
                used += (size_t)snprintf(seen + used, sizeof seen - used, "%s%s \"%.40s\" (%zu slices)", c ? "; " : "",
                                         m ? m : "?", d ? d : "", si->n_slices);
            }
            rc = mmdx_fail(MMDX_ENOTFOUND,
                           "study %s: no series matches the selection rules (%zu rule(s), first \"%s\"); "
                           "series: %s",
                           job->orthanc_id, mmdx_series_rules_count(sc->s->rules),
                           mmdx_series_rules_name(sc->s->rules, 0), k ? seen : "none");
        } else {
            j->pick = (long)index[pick];
        }
    }
    free(index);
    free(cand);
    return rc;
}

static int fetch_series(mmdx_screener *sc, job_state *j, json_object *instances)
{
    size_t n = json_object_array_length(instances);
    char path[4200];
    snprintf(path, sizeof path, "%s/dicom", j->dir);
    int rc = mkdir_p(path);
    if (rc)
        return rc;
    if (!(j->files = calloc(n ? n : 1, sizeof *j->files)))
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char uri[256];
        snprintf(uri, sizeof uri, "/instances/%s/file", json_object_get_string(json_object_array_get_idx(instances, i)));
        char *body = NULL;
        size_t len = 0;
        rc = sc->pacs->get(sc->pacs->ctx, uri, &body, &len);
        if (rc) {
            free(body);
            return rc == MMDX_ENOTFOUND ? mmdx_fail(MMDX_EIO, "Orthanc: GET %s: instance gone while screening", uri)
                                        : mmdx_fail(MMDX_EIO, "Orthanc: GET %s failed", uri);
        }
        snprintf(path, sizeof path, "%s/dicom/%06zu.dcm", j->dir, i);
        j->n_files = i + 1;
        rc = write_file(path, body, len);
        free(body);
        if (!rc && !(j->files[i] = strdup(path)))
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
        if (rc)
            return rc;
    }
    return 0;
}

static int predict(mmdx_screener *sc, job_state *j, const char *patient_id)
{
    char dicom[4200];
    snprintf(dicom, sizeof dicom, "%s/dicom", j->dir);
    mmdx_manifest *inputs = NULL;
    /* messages name "the study's inputs:2" and the plugin's file, line or tag */
    int rc = build_manifest(sc, &inputs, "the study's inputs", patient_id, dicom);
    if (rc)
        return rc;
    FILE *msg = open_memstream(&j->messages, &j->messages_len);
    mmdx_cohort_input_options io = {NULL, NULL, NULL, 0, MMDX_LABELS_OPTIONAL, sc->model.file, sc->registry,
                                    sc->config, sc->s->threads, 1 /* keep going: a broken modality is missing */,
                                    msg, sc->s->model, 0, inputs};
    rc = mmdx_cohort_input_load(&j->in, &io);
    if (msg)
        fclose(msg);
    mmdx_manifest_free(inputs);
    if (rc)
        return rc;
    if (j->in->n != 1)
        return mmdx_fail(MMDX_ERROR, "internal: %zu patients encoded instead of 1", j->in->n);
    size_t M = j->in->n_modalities;
    j->present = calloc(M ? M : 1, sizeof *j->present);
    if (!j->present)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    if ((rc = mmdx_model_session_predict(&sc->model, &j->in->ds, &j->prob, &j->contrib)) != 0)
        return rc;
    for (size_t m = 0; m < M; m++)
        j->present[m] = j->in->present[m] != 0;
    return 0;
}

static json_object *contributions_json(const job_state *j)
{
    json_object *o = json_object_new_object();
    for (size_t m = 0; m < j->in->n_modalities; m++)
        if (j->present[m])
            json_object_object_add(o, j->in->modalities[m], json_object_new_double(j->contrib[m]));
    return o;
}

static int store_prediction(mmdx_screener *sc, const mmdx_job *job, job_state *j, const char *patient_id,
                            const char *study_uid, const char *series_uid, const char *fingerprint)
{
    int rc = open_store(sc->s, &j->store);
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
    mmdx_store_run run = {sc->model.file->sha256, fingerprint,
                          json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN), plugins, np};
    rc = mmdx_store_run_begin(j->store, &run, j->run_id);
    json_object_put(params);
    if (rc)
        return rc;
    json_object *contrib = contributions_json(j);
    json_object *hashes = json_object_new_object();
    json_object_object_add(hashes, "dicom_series", json_object_new_string(fingerprint));
    mmdx_store_prediction p = {patient_id,
                               study_uid,
                               j->prob[0],
                               j->prob[0] >= sc->model.file->threshold,
                               json_object_to_json_string_ext(contrib, JSON_C_TO_STRING_PLAIN),
                               json_object_to_json_string_ext(hashes, JSON_C_TO_STRING_PLAIN)};
    mmdx_store_batch_result br;
    rc = mmdx_store_predictions(j->store, j->run_id, &p, 1, &br);
    json_object_put(contrib);
    json_object_put(hashes);
    int end = mmdx_store_run_end(j->store, j->run_id, rc ? MMDX_OUTCOME_SERIOUS_FAILURE : MMDX_OUTCOME_SUCCESS, NULL);
    return rc ? rc : end;
}

static int upload(mmdx_screener *sc, const char *path, char **orthanc_id)
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
    const char *id = a ? jstr(a, "ID", NULL) : NULL;
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
            logf_(sc, MMDX_LOG_WARNING, "mmdx: study %s: could not delete the previous report %s", job->orthanc_id, id);
    }
    json_object_put(prev);
}

/* Write both reports into the job folder (before anything is stored: a
 * source DICOM file that cannot be referenced fails the job cleanly). */
static int write_reports(mmdx_screener *sc, job_state *j, const series_info *si)
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
                        NULL};
    const char *mod = series_attr(si, "Modality"), *desc = series_attr(si, "SeriesDescription");
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
static int upload_reports(mmdx_screener *sc, const mmdx_job *job, job_state *j)
{
    char tid[4200], text[4200];
    snprintf(tid, sizeof tid, "%s/tid1500.dcm", j->dir);
    snprintf(text, sizeof text, "%s/text.dcm", j->dir);
    int rc;
    if ((rc = upload(sc, tid, &j->tid_orthanc_id)) || (rc = upload(sc, text, &j->text_orthanc_id)))
        return rc;
    delete_previous(sc, job, j);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "tid1500_sop_instance_uid", json_object_new_string(j->tid_uid));
    json_object_object_add(d, "text_sop_instance_uid", json_object_new_string(j->text_uid));
    json_object_object_add(d, "series_instance_uid", json_object_new_string(j->sr_series_uid));
    mmdx_audit_event ev;
    memset(&ev, 0, sizeof ev);
    ev.action = "orthanc.sr.write";
    ev.outcome = MMDX_OUTCOME_SUCCESS;
    ev.object_type = "study";
    ev.object_id = job->orthanc_id;
    ev.study_uid = jstr(j->study, "MainDicomTags", "StudyInstanceUID");
    ev.run_id = j->run_id;
    ev.detail_json = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN);
    rc = mmdx_store_audit(j->store, &ev, NULL);
    json_object_put(d);
    return rc;
}


static char *result_json(mmdx_screener *sc, const mmdx_job *job, job_state *j, const series_info *si,
                         const char *fingerprint, double started)
{
    const mmdx_model_file *mf = sc->model.file;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "study_instance_uid",
                           json_object_new_string(jstr(j->study, "MainDicomTags", "StudyInstanceUID")));
    json_object *series = json_object_new_object();
    json_object_object_add(series, "orthanc_id", json_object_new_string(si->id));
    const char *suid = series_attr(si, "SeriesInstanceUID");
    json_object_object_add(series, "series_instance_uid", json_object_new_string(suid ? suid : ""));
    const char *mod = series_attr(si, "Modality"), *desc = series_attr(si, "SeriesDescription");
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
    /* fetch, encode, predict, store and write back; not the wait for a stable study */
    json_object_object_add(o, "screening_seconds", json_object_new_double(mmdx_clock_seconds() - started));
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
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
    int rc = get_json(sc, uri, &j.study);
    const char *study_uid = NULL, *patient_id = NULL;
    if (!rc) {
        study_uid = jstr(j.study, "MainDicomTags", "StudyInstanceUID");
        patient_id = jstr(j.study, "PatientMainDicomTags", "PatientID");
        if (!study_uid || !patient_id || !*patient_id)
            rc = mmdx_fail(MMDX_EFORMAT, "study %s: no %s", job->orthanc_id,
                           !study_uid ? "StudyInstanceUID (0020,000D)" : "PatientID (0010,0020)");
    }
    if (!rc)
        rc = pick_series(sc, job, &j);
    series_info *si = rc ? NULL : &j.series[j.pick];
    json_object *instances = NULL;
    if (!rc && !json_object_object_get_ex(si->series, "Instances", &instances))
        rc = mmdx_fail(MMDX_EIO, "Orthanc: /series/%s has no Instances", si->id);
    if (!rc) {
        fingerprint_of(sc->model.file->sha256, si->id, instances, fingerprint);
        if (!job->force && job->fingerprint && strcmp(job->fingerprint, fingerprint) == 0) {
            *outcome = MMDX_SCREEN_UNCHANGED;
            job_state_free(&j);
            return 0;
        }
        snprintf(j.dir, sizeof j.dir, "%s/%s-%ld-%lu", sc->work, job->orthanc_id, (long)getpid(), ++sc->counter);
        rc = mkdir_p(j.dir);
        if (rc)
            j.dir[0] = '\0';
    }
    if (!rc)
        rc = fetch_series(sc, &j, instances);
    if (!rc)
        rc = predict(sc, &j, patient_id);
    const char *suid = si ? series_attr(si, "SeriesInstanceUID") : NULL;
    if (!rc)
        rc = write_reports(sc, &j, si);
    if (!rc)
        rc = store_prediction(sc, job, &j, patient_id, study_uid, suid ? suid : "", fingerprint);
    if (!rc)
        rc = upload_reports(sc, job, &j);
    if (!rc && !(*result = result_json(sc, job, &j, si, fingerprint, started)))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (!rc)
        logf_(sc, MMDX_LOG_INFO, "mmdx: study %s screened: probability %.4f, decision %s, SR %s", job->orthanc_id,
              j.prob[0], j.prob[0] >= sc->model.file->threshold ? "positive" : "negative", j.tid_orthanc_id);
    job_state_free(&j);
    return rc;
}
