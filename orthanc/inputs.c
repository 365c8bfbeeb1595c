/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The patient's inputs as a one-patient manifest in memory, and the prediction. */
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
/* The patient's other modalities: a one-patient manifest in memory       */
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

int mmdx_orthanc__predict(mmdx_screener *sc, job_state *j, const char *patient_id)
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
    /* a model with a shared representation: its fused vector is stored with the result, as by mmdx screen */
    if (mmdx_model_session_embed_dim(&sc->model) > 0 &&
        (rc = mmdx_model_session_embed(&sc->model, &j->in->ds, &j->fused, &j->tokens, &j->emb_dim)) != 0)
        return rc;
    for (size_t m = 0; m < M; m++)
        j->present[m] = j->in->present[m] != 0;
    return 0;
}
