/*
 * core/error.h — the host's thread-local last error.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Host-side functions return 0 or a negative mmdx_error_code and leave a
 * message (naming the file and the line, tag or field) in a per-thread slot,
 * as libgit2 does. OpenMP workers each have their own slot.
 */
#ifndef MMDX_CORE_ERROR_H
#define MMDX_CORE_ERROR_H

#include "mmdx/common.h"

/** Record an error for this thread and return `code` (negative). */
int mmdx_fail(int code, const char *fmt, ...) MMDX_FORMAT(2, 3);

/** Record the error a plugin returned in `err` (falls back to `code`). */
int mmdx_fail_from(const mmdx_error *err, int code);

/** The message of this thread's last error, "" when none. Borrowed; valid until the next error. */
const char *mmdx_last_error(void);

/** The code of this thread's last error, MMDX_OK when none. */
int mmdx_last_error_code(void);

/** Forget this thread's last error. */
void mmdx_error_clear(void);

/** A short English name for an error code ("malformed input", ...). Static. */
const char *mmdx_error_name(int code);

#endif
