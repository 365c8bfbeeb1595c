/*
 * orthanc/pacs.h — what the screening needs from the PACS: Orthanc's REST
 * API and its log, as a small function table. The plugin fills it with the
 * Orthanc SDK (plugin.c); the screening code (screen.c) never includes
 * OrthancCPlugin.h.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef MMDX_ORTHANC_PACS_H
#define MMDX_ORTHANC_PACS_H

#include <stddef.h>

typedef enum mmdx_log_level { MMDX_LOG_INFO = 0, MMDX_LOG_WARNING = 1, MMDX_LOG_ERROR = 2 } mmdx_log_level;

typedef struct mmdx_pacs {
    void *ctx;
    /** GET `uri`: *body malloc'd (NUL-terminated, length *len). 0, MMDX_ENOTFOUND or MMDX_EIO. */
    int (*get)(void *ctx, const char *uri, char **body, size_t *len);
    /** POST `body` to `uri`; the answer as for get. */
    int (*post)(void *ctx, const char *uri, const void *body, size_t len, char **answer, size_t *alen);
    /** DELETE `uri`: 0, MMDX_ENOTFOUND or MMDX_EIO. */
    int (*del)(void *ctx, const char *uri);
    /** A line in the PACS's log. Never given patient identifiers. */
    void (*log)(void *ctx, mmdx_log_level level, const char *message);
} mmdx_pacs;

#endif
