/*
 * orthanc/study_page.h — the HTML view of one study's stored result, served
 * by the plugin at GET /mmdx/studies/{id}/report (orthanc/rest_report.c):
 * risk, decision, contributions by modality, the model, and the audit event
 * that stored the prediction. Viewing it is audited ("results.view").
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef MMDX_ORTHANC_STUDY_PAGE_H
#define MMDX_ORTHANC_STUDY_PAGE_H

#include <stddef.h>

#include "settings.h"

/**
 * The page of study `orthanc_id` from its queue row `row_json` (as
 * mmdx_job_queue_get gives it); *html malloc'd, *len bytes.
 * Errors: MMDX_ENOTFOUND (the study has no result yet: pending, running or
 * failed; the message says which), MMDX_EFORMAT (a result that is not the
 * plugin's JSON), MMDX_EDB (the audit database: nothing is shown unless the
 * view can be recorded), MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_orthanc_study_page(char **html, size_t *len, const mmdx_orthanc_settings *s,
                                             const char *orthanc_id, const char *row_json);

#endif
