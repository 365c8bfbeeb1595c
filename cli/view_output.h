/*
 * cli/view_output.h — the options and output of the views (--plots,
 * --report, --bootstrap, --seed) shared by `mmdx evaluate` and `mmdx report`.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_CLI_VIEW_OUTPUT_H
#define MMDX_CLI_VIEW_OUTPUT_H

#include <stdint.h>

#include "evaluation.h"
#include "model_session.h"
#include "report_html.h"

typedef struct mmdx_cli_view_args {
    const char *plots_dir; /**< --plots, or NULL */
    const char *report;    /**< --report / --out, or NULL */
    unsigned bootstrap;    /**< 0: the default */
    uint64_t seed;
} mmdx_cli_view_args;

/** --bootstrap (opt 'B', 1..100000) or --seed (opt 'S'): 0, or MMDX_EINVAL after printing why. */
MMDX_RESULT_USED int mmdx_cli_view_parse(mmdx_cli_view_args *va, int opt, const char *value);

/** The view options of the arguments. */
mmdx_view_options mmdx_cli_view_options(const mmdx_cli_view_args *va);

/** "mmdx <version>" for the report footer (static). */
const char *mmdx_cli_generator(void);

/** evaluate: the plots and/or the HTML report of a scored, labelled cohort. */
MMDX_RESULT_USED int mmdx_cli_evaluate_views(const mmdx_cli_view_args *va, const mmdx_scored_cohort *sc,
                                             const char *model_path, const char *cohort_name);

#endif
