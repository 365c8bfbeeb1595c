/*
 * model/report.h — the evaluation report of `mmdx evaluate` and of the
 * cross-validation of `mmdx train --folds`: metrics over all patients and
 * broken down by which modalities each patient had.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_FUSION_REPORT_H
#define MMDX_FUSION_REPORT_H

#include <stdio.h>

#include <json-c/json.h>

#include "metrics.h"
#include "mmdx/plugin.h"

typedef struct mmdx_report_group {
    char *pattern;   /**< e.g. "imaging+records", "all" for the whole cohort */
    mmdx_metrics m;
} mmdx_report_group;

typedef struct mmdx_report {
    size_t n_groups;
    mmdx_report_group *groups; /**< groups[0] is "all" */
} mmdx_report;

/**
 * Compute the report for probabilities prob[] of the dataset's patients
 * (labels required) at `threshold`. Errors: MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_report_new(mmdx_report **out, const mmdx_dataset *d, const double *prob,
                                     double threshold);
void mmdx_report_free(mmdx_report *r);

/**
 * The modalities patient i of `d` has, as the groups name them
 * ("imaging+records", "none"); malloc'd, NULL when out of memory.
 */
char *mmdx_report_pattern(const mmdx_dataset *d, size_t i);

/** Human-readable table. */
void mmdx_report_print(const mmdx_report *r, FILE *f);

/** JSON object: {"overall": {...}, "by_modalities": [{"modalities": "...", ...}]}. */
json_object *mmdx_report_json(const mmdx_report *r);

/** One metrics record as JSON (NaN as null). */
json_object *mmdx_metrics_json(const mmdx_metrics *m);

#endif
