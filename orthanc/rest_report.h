/*
 * orthanc/rest_report.h — the REST route GET /mmdx/studies/{id}/report: the
 * HTML view of a study's stored result (orthanc/study_page.h), for a link
 * from a viewer. The plugin (plugin.c) registers it and passes what the
 * route needs of its state.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef MMDX_ORTHANC_REST_REPORT_H
#define MMDX_ORTHANC_REST_REPORT_H

#include <orthanc/OrthancCPlugin.h>

#include "settings.h"

/** What the route borrows from the plugin for one request. */
typedef struct mmdx_rest_report_env {
    OrthancPluginContext *ctx;
    const mmdx_orthanc_settings *settings;
    const char *unavailable; /**< why the plugin is idle (503), or NULL */
    /** The study's queue row as JSON (malloc'd): 0, MMDX_ENOTFOUND, or another error. */
    int (*query)(const char *orthanc_id, char **json);
} mmdx_rest_report_env;

/**
 * Answer the request: 200 text/html; 404 (never screened, or no result
 * yet: a small HTML page saying so); 405 for a method other than GET; 503
 * when the plugin is idle or the database (queue or audit) is unavailable.
 */
OrthancPluginErrorCode mmdx_rest_report(const mmdx_rest_report_env *env, OrthancPluginRestOutput *out,
                                        const OrthancPluginHttpRequest *req);

#endif
