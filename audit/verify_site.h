/*
 * audit/verify_site.h — `mmdx audit verify` as a library call: gather the
 * site's checkpoints (given files and [audit] checkpoint_dir), check their
 * signatures, verify the log against them, and record the verification in
 * the log itself. The CLI (cli/cmd_audit.c) and other front ends only print.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_AUDIT_VERIFY_SITE_H
#define MMDX_AUDIT_VERIFY_SITE_H

#include "checkpoint.h"
#include "site_settings.h"
#include "store.h"

typedef struct mmdx_site_verify_options {
    const mmdx_audit_settings *site;       /**< checkpoint_dir, verify_key (may be NULL) */
    const char *const *checkpoints;        /**< checkpoint files given by the user */
    size_t n_checkpoints;
    int require_hmac;                      /**< every event after the first keyed one needs an HMAC */
    void (*progress)(void *ctx, int64_t done, int64_t total);
    void *progress_ctx;
} mmdx_site_verify_options;

typedef struct mmdx_site_verify_result {
    mmdx_verify_report report;   /**< filled when the log was walked */
    int walked;                  /**< the log was walked (report is meaningful) */
    int hmacs_checked;           /**< 0: no site key, HMACs were not checked */
    int checkpoint_rejected;     /**< a checkpoint's signature or content is forged */
    int recorded;                /**< the verification is itself in the log */
    char record_error[512];      /**< why it could not be recorded, when !recorded */
    int has_latest;              /**< a checkpoint was given or found, and its signature holds */
    mmdx_checkpoint latest;      /**< then: the one covering the most events (the newest among equals) */
    char latest_file[1024];      /**< and the file it was read from */
} mmdx_site_verify_result;

/**
 * Returns 0 when the log is intact, MMDX_EINTEGRITY when it is not or a
 * checkpoint was rejected (the message names the file), MMDX_EINVAL for a
 * checkpoint without a verify key or --require-hmac without the site key,
 * the store's errors otherwise. The verification is recorded as an
 * `audit.verify` event (success or serious failure) whenever a verdict was
 * reached. `out` is always filled.
 */
MMDX_RESULT_USED int mmdx_audit_verify_site(mmdx_store *s, const mmdx_site_verify_options *o,
                                            mmdx_site_verify_result *out);

#endif
