/*
 * mmdx/common.h — error codes, attributes and the error record shared by the
 * mmdx host and its plugins.
 *
 * SPDX-License-Identifier: Apache-2.0
 *
 * Everything here is part of the plugin SDK: it is installed under
 * <prefix>/include/mmdx/ and compiles as C11 and as C++ with -pedantic.
 */
#ifndef MMDX_COMMON_H
#define MMDX_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Mark a function whose result must be checked (it can fail). */
#if defined(__GNUC__) || defined(__clang__)
#define MMDX_RESULT_USED __attribute__((warn_unused_result))
#define MMDX_FORMAT(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#define MMDX_EXPORT __attribute__((visibility("default")))
#else
#define MMDX_RESULT_USED
#define MMDX_FORMAT(fmt_idx, arg_idx)
#define MMDX_EXPORT
#endif

/**
 * Error codes. Every fallible mmdx function returns 0 (MMDX_OK) on success
 * or one of these negative values. The values are part of the ABI: they never
 * change meaning, new ones are only appended.
 */
typedef enum mmdx_error_code {
    MMDX_OK = 0,
    MMDX_ERROR = -1,        /**< generic failure; the message says what */
    MMDX_EINVAL = -2,       /**< invalid argument or option value */
    MMDX_ENOTFOUND = -3,    /**< file, patient, sample, key... not found */
    MMDX_EUNSUPPORTED = -4, /**< valid input this build cannot handle */
    MMDX_EIO = -5,          /**< read/write failure of a file or stream */
    MMDX_ENOMEM = -6,       /**< out of memory */
    MMDX_EDB = -7,          /**< database error */
    MMDX_EFORMAT = -8,      /**< malformed input (file, line, tag or field named) */
    MMDX_EABI = -9,         /**< plugin ABI mismatch */
    MMDX_EPERM = -10,       /**< refused for safety (permissions, trust) */
    MMDX_EEXISTS = -11,     /**< already exists (duplicate) */
    MMDX_EINTEGRITY = -12,  /**< hash, signature or audit-chain check failed */
    MMDX_ESCHEMA = -13,     /**< feature schema / model mismatch */
    MMDX_ECANCELED = -14,   /**< stopped on request (SIGINT, SIGTERM); safe to run again */
    MMDX__ERROR_CODE_FORCE32 = 0x7fffffff
} mmdx_error_code;

/** Size of the message buffer in mmdx_error (bytes, terminator included). */
#define MMDX_ERROR_MESSAGE_MAX 1024

/**
 * An error record passed by the host to a plugin call. The host owns it and
 * zeroes it before each call; a failing plugin sets `code` to the value it
 * returns and writes a message that names the input (file, and the line, tag
 * or field where it applies). Use mmdx_error_set().
 *
 * Since ABI 1.0. The layout is fixed: never reorder or resize.
 */
typedef struct mmdx_error {
    int32_t code;
    uint32_t reserved; /**< must be zero */
    char message[MMDX_ERROR_MESSAGE_MAX];
} mmdx_error;

/**
 * Fill an error record and return `code`, so that a plugin can write
 * `return mmdx_error_set(err, MMDX_EFORMAT, "%s: line %d: ...", path, line);`.
 * `err` may be NULL (then only the code is returned).
 */
static inline int mmdx_error_set(mmdx_error *err, int code, const char *fmt, ...)
    MMDX_FORMAT(3, 4);

static inline int mmdx_error_set(mmdx_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

#ifdef __cplusplus
}
#endif

#endif /* MMDX_COMMON_H */
