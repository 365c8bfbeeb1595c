/*
 * views/evaluation.h — what the views show of a set of predictions: the
 * evaluation report (model/report.h) with bootstrap confidence intervals
 * per modality combination, and the charts drawn from them.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Charts, by name (file names of `--plots DIR`, `<name>.svg` and `<name>.png`):
 *   roc               ROC curves: all patients with a 95% bootstrap band, and
 *                     each modality combination that has both classes
 *   pr                precision-recall curves, likewise
 *   calibration       reliability diagram of all patients with its histogram
 *   calibration-<c>   the same for modality combination <c> (both classes present)
 *   contributions     mean contribution of each modality to the log-odds,
 *                     over the patients that have it (by label when known)
 *   risk              distribution of the predicted risk (always)
 * Without labels only `contributions` and `risk` exist.
 *
 * Errors: MMDX_EINVAL (field named), MMDX_ENOMEM, MMDX_EIO (path named),
 * messages in the thread's last error. The view copies nothing it is given
 * beyond the call of mmdx_eval_view_new (it keeps its own results).
 */
#ifndef MMDX_VIEWS_EVALUATION_H
#define MMDX_VIEWS_EVALUATION_H

#include <stddef.h>
#include <stdint.h>

#include "bootstrap.h"
#include "mmdx/plugin.h"
#include "plot.h"
#include "report.h"

#define MMDX_VIEW_DEFAULT_BOOTSTRAP 1000
#define MMDX_VIEW_CALIBRATION_BINS 10

typedef struct mmdx_view_options {
    unsigned bootstrap; /**< B; 0: MMDX_VIEW_DEFAULT_BOOTSTRAP */
    uint64_t seed;      /**< of the bootstrap */
} mmdx_view_options;

/** One chart of a view (borrowed from the view). */
typedef struct mmdx_view_chart {
    char *name;    /**< "roc", "calibration-imaging+records", ... */
    char *caption; /**< one sentence for the figure */
    mmdx_plot *plot;
} mmdx_view_chart;

typedef struct mmdx_eval_view mmdx_eval_view;

/**
 * Evaluate n = d->n_samples predictions prob[] (contrib: n x n_modalities
 * log-odds contributions, or NULL; a modality's value counts only where
 * d->present says it is present) at `threshold`. With d->labels (0/1 each)
 * the metrics, intervals and curves are computed; without, only the
 * distribution charts. Errors: MMDX_EINVAL (no patients, a probability
 * outside [0, 1], a label other than 0/1), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_eval_view_new(mmdx_eval_view **out, const mmdx_dataset *d, const double *prob,
                                        const double *contrib, double threshold, const mmdx_view_options *o);
void mmdx_eval_view_free(mmdx_eval_view *v);

/** The metrics by group (groups[0] "all"), or NULL without labels. Borrowed. */
const mmdx_report *mmdx_eval_view_report(const mmdx_eval_view *v);

/** The bootstrap of report group g (NULL when the group lacks a class or there are no labels). Borrowed. */
const mmdx_bootstrap *mmdx_eval_view_bootstrap(const mmdx_eval_view *v, size_t g);

/** Patients per modality combination, including those the report cannot evaluate. */
size_t mmdx_eval_view_n_patterns(const mmdx_eval_view *v);
void mmdx_eval_view_pattern(const mmdx_eval_view *v, size_t i, const char **pattern, size_t *n, size_t *n_pos);

/** The charts, in the order listed above. Borrowed. */
size_t mmdx_eval_view_n_charts(const mmdx_eval_view *v);
const mmdx_view_chart *mmdx_eval_view_chart(const mmdx_eval_view *v, size_t i);

/** The bootstrap setting used (B and seed), for captions. */
void mmdx_eval_view_bootstrap_setting(const mmdx_eval_view *v, unsigned *replicates, uint64_t *seed);

/**
 * Write every chart as DIR/<name>.svg and DIR/<name>.png (each atomically;
 * characters outside [A-Za-z0-9._+-] in names become '_'). DIR is created
 * when its parent exists; an existing non-folder, or a missing parent, is
 * refused (MMDX_EIO naming it).
 */
MMDX_RESULT_USED int mmdx_eval_view_write_plots(const mmdx_eval_view *v, const char *dir);

#endif
