/*
 * views/report_html.h — the per-run HTML report (`mmdx evaluate --report`,
 * `mmdx report --run`) and the one-study page (the Orthanc plugin's
 * GET /mmdx/studies/{id}/report): one self-contained file each (inline
 * stylesheet, charts as data URIs, no script, nothing fetched), printable.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Every string from data (names, IDs, paths, JSON from the database) is
 * escaped. Borrowed pointers only; NULL fields are left out or shown as "-".
 */
#ifndef MMDX_VIEWS_REPORT_HTML_H
#define MMDX_VIEWS_REPORT_HTML_H

#include <stddef.h>
#include <stdio.h>

#include "evaluation.h"
#include "model_file.h"

/** A count of failed patients by cause. */
typedef struct mmdx_html_failure {
    const char *cause;
    size_t count;
} mmdx_html_failure;

/** One listed patient (the highest risks of a run). */
typedef struct mmdx_html_patient {
    const char *patient;   /**< as stored: ID or pseudonym */
    double probability;
    int decision;          /**< -1 none */
    int label;             /**< -1 unknown */
    const char *modalities;/**< "imaging+records" */
    const char *stored_at;
} mmdx_html_patient;

typedef struct mmdx_html_report {
    const char *title;
    const char *generator;       /**< "mmdx 0.1.0" */
    /* the model: from its file when given ... */
    const mmdx_model_file *model;
    const char *model_path;
    /* ... else what the run recorded */
    const char *model_sha256;
    const char *plugins_json;    /**< JSON array of {name, version, sha256}, or NULL */
    double threshold;
    /* the run (NULL fields: an evaluation without a database) */
    const char *run_id, *started_at, *host, *db_role, *mmdx_version, *cohort_sha256, *run_outcome;
    const char *cohort;          /**< the cohort's file name, or NULL */
    size_t n_listed_total;       /**< patients the run stored (0: not from a run) */
    const mmdx_html_failure *failures;
    size_t n_failures;
    const mmdx_html_patient *patients;
    size_t n_patients;
    const mmdx_eval_view *view;  /**< required */
} mmdx_html_report;

/** Write the report to `f` (escaping everything from data). Errors: MMDX_ENOMEM (rendering a chart), MMDX_EIO. */
MMDX_RESULT_USED int mmdx_html_report_print(FILE *f, const mmdx_html_report *r);

/** Write it to `path` atomically: nothing is left at `path` unless the whole report was written. */
MMDX_RESULT_USED int mmdx_html_report_write(const char *path, const mmdx_html_report *r);

/** One modality of a study's result. */
typedef struct mmdx_html_modality {
    const char *name;
    int present;
    double contribution; /**< NaN: none recorded */
} mmdx_html_modality;

/** What the one-study page shows. */
typedef struct mmdx_html_study {
    const char *generator;
    const char *study;         /**< Orthanc ID */
    const char *study_uid;
    const char *patient;       /**< as stored (may be a pseudonym), or NULL */
    double probability, threshold;
    int decision;
    const char *model_sha256, *fusion, *fusion_version, *classifier;
    int signature_verified;
    const char *run_id;
    long long audit_seq;       /**< the prediction.store event, 0 when unknown */
    const char *finished_at;
    const mmdx_html_modality *modalities;
    size_t n_modalities;
    const char *text;          /**< the report text of the SR, or NULL */
} mmdx_html_study;

/** The one-study page (no cairo: contributions as HTML bars, safe in a host's threads). Errors: MMDX_EIO (a write failed). */
MMDX_RESULT_USED int mmdx_html_study_print(FILE *f, const mmdx_html_study *s);

#endif
