/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The study in Orthanc: its series by the rules, its instances fetched, its fingerprint. */
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
/* Orthanc's REST API                                                        */
/* ------------------------------------------------------------------------ */

int mmdx_orthanc__get_json(mmdx_screener *sc, const char *uri, json_object **out)
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

const char *mmdx_orthanc__jstr(json_object *o, const char *a, const char *b)
{
    json_object *v;
    if (!json_object_object_get_ex(o, a, &v))
        return NULL;
    if (b && !json_object_object_get_ex(v, b, &v))
        return NULL;
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* One series of the study, as the selector sees it. */

void mmdx_orthanc__series_free(series_info *si, size_t n)
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
    int rc = mmdx_orthanc__get_json(sc, uri, &si->series);
    if (rc)
        return rc;
    json_object *inst;
    if (!json_object_object_get_ex(si->series, "Instances", &inst) || !json_object_is_type(inst, json_type_array) ||
        json_object_array_length(inst) == 0)
        return 0; /* an empty series matches nothing */
    si->n_slices = json_object_array_length(inst);
    snprintf(uri, sizeof uri, "/instances/%s/simplified-tags", json_object_get_string(json_object_array_get_idx(inst, 0)));
    if ((rc = mmdx_orthanc__get_json(sc, uri, &si->tags)))
        return rc;
    if (si->n_slices == 1) {
        const char *nf = mmdx_orthanc__jstr(si->tags, "NumberOfFrames", NULL);
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

const char *mmdx_orthanc__series_attr(const series_info *si, const char *k)
{
    for (size_t i = 0; i < si->n_attr; i++)
        if (strcmp(si->keys[i], k) == 0)
            return si->values[i];
    return NULL;
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

void mmdx_orthanc__remove_tree(const char *dir, size_t n_files)
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
void mmdx_orthanc__fingerprint_of(const char *model_sha, const char *series_id, json_object *instances, char out[65])
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

int mmdx_orthanc__pick_series(mmdx_screener *sc, const mmdx_job *job, job_state *j)
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
        const char *mod = mmdx_orthanc__series_attr(si, "Modality");
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
                const char *m = mmdx_orthanc__series_attr(si, "Modality");
                const char *d = mmdx_orthanc__series_attr(si, "SeriesDescription");
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

int mmdx_orthanc__fetch_series(mmdx_screener *sc, job_state *j, json_object *instances)
{
    size_t n = json_object_array_length(instances);
    char path[4200];
    snprintf(path, sizeof path, "%s/dicom", j->dir);
    int rc = mmdx_orthanc__mkdir_p(path);
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
