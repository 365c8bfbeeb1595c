/* SPDX-License-Identifier: GPL-3.0-or-later */
/* GET /mmdx/studies/{id}/report: the HTML view of one study's result. */
#include "rest_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "html.h"
#include "study_page.h"

/* A short HTML page for an error, so a browser following the link shows why. */
static void answer_error(const mmdx_rest_report_env *env, OrthancPluginRestOutput *out, int status,
                         const char *message)
{
    char *page = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&page, &len);
    if (f) {
        mmdx_html_begin(f, "mmdx result unavailable");
        fputs("<h1>No result to show</h1>\n<p>", f);
        mmdx_html_text(f, message);
        fputs("</p>\n", f);
        mmdx_html_end(f, "mmdx-orthanc");
        fclose(f);
    }
    OrthancPluginSendHttpStatus(env->ctx, out, (uint16_t)status, page ? page : message,
                                (uint32_t)(page ? len : strlen(message)));
    free(page);
}

OrthancPluginErrorCode mmdx_rest_report(const mmdx_rest_report_env *env, OrthancPluginRestOutput *out,
                                        const OrthancPluginHttpRequest *req)
{
    if (req->method != OrthancPluginHttpMethod_Get) {
        OrthancPluginSendMethodNotAllowed(env->ctx, out, "GET");
        return OrthancPluginErrorCode_Success;
    }
    if (env->unavailable) {
        answer_error(env, out, 503, env->unavailable);
        return OrthancPluginErrorCode_Success;
    }
    const char *id = req->groupsCount > 0 ? req->groups[0] : "";
    char *row = NULL, *html = NULL;
    size_t len = 0;
    int rc = env->query(id, &row);
    if (rc == 0)
        rc = mmdx_orthanc_study_page(&html, &len, env->settings, id, row);
    if (rc == 0)
        OrthancPluginAnswerBuffer(env->ctx, out, html, (uint32_t)len, "text/html; charset=utf-8");
    else
        answer_error(env, out, rc == MMDX_ENOTFOUND ? 404 : 503, mmdx_last_error());
    free(row);
    free(html);
    return OrthancPluginErrorCode_Success;
}
