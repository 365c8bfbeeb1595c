/* SPDX-License-Identifier: Apache-2.0 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_message[MMDX_ERROR_MESSAGE_MAX];
static _Thread_local int last_code;

int mmdx_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    last_code = code;
    return code;
}

int mmdx_fail_from(const mmdx_error *err, int code)
{
    int c = (err && err->code < 0) ? err->code : code;
    if (c >= 0)
        c = MMDX_ERROR;
    if (err && err->message[0])
        return mmdx_fail(c, "%s", err->message);
    return mmdx_fail(c, "%s (no message given)", mmdx_error_name(c));
}

const char *mmdx_last_error(void) { return last_message; }

int mmdx_last_error_code(void) { return last_code; }

void mmdx_error_clear(void)
{
    last_message[0] = '\0';
    last_code = MMDX_OK;
}

const char *mmdx_error_name(int code)
{
    switch (code) {
    case MMDX_OK: return "success";
    case MMDX_EINVAL: return "invalid argument";
    case MMDX_ENOTFOUND: return "not found";
    case MMDX_EUNSUPPORTED: return "unsupported";
    case MMDX_EIO: return "input/output error";
    case MMDX_ENOMEM: return "out of memory";
    case MMDX_EDB: return "database error";
    case MMDX_EFORMAT: return "malformed input";
    case MMDX_EABI: return "plugin ABI mismatch";
    case MMDX_EPERM: return "refused for safety";
    case MMDX_EEXISTS: return "already exists";
    case MMDX_EINTEGRITY: return "integrity check failed";
    case MMDX_ESCHEMA: return "feature schema mismatch";
    case MMDX_ECANCELED: return "interrupted";
    default: return "error";
    }
}
