/*
 * audit/site_settings.h — the [audit] section of the site configuration and the one
 * resolver of site settings (command line, environment, configuration).
 * SPDX-License-Identifier: Apache-2.0
 *
 *     [audit]
 *     db = host=db.example dbname=mmdx user=screening sslmode=verify-full
 *     site_key_file = /etc/mmdx/site.key     HMAC of events, pseudonyms (mode 0600)
 *     pseudonymise = yes                     store keyed pseudonyms, not patient IDs
 *     signing_key = /etc/mmdx/audit-signing.pem   Ed25519 private key for checkpoints
 *     verify_key = /etc/mmdx/audit-signing.pub    Ed25519 public key to check them
 *     checkpoint_dir = /var/lib/mmdx/checkpoints  where checkpoints are written and read
 *     site_id = Example Hospital             AuditEnterpriseSiteID of DICOM audit messages
 *
 * Relative paths resolve against the configuration file's folder. Key
 * contents are never read here, only their paths. Command-line options
 * override these (the commands do that, not this file).
 */
#ifndef MMDX_SITE_SETTINGS_H
#define MMDX_SITE_SETTINGS_H

#include "config.h"
#include "mmdx/common.h"

typedef struct mmdx_audit_settings {
    char *db;
    char *site_key_file;
    int pseudonymise;
    char *signing_key;
    char *verify_key;
    char *checkpoint_dir;
    char *site_id;
    int require_signed_models;  /**< refuse models whose signature is not verified */
} mmdx_audit_settings;

/**
 * Site settings given outside the configuration file: on a command line, in
 * the environment, or in the Orthanc plugin's own configuration. NULL (or
 * -1 for the integers) means "not given here". Zero-initialise with
 * MMDX_SITE_OVERRIDES_NONE.
 */
typedef struct mmdx_site_overrides {
    const char *db;
    const char *site_key_file;
    const char *signing_key;
    const char *verify_key;
    const char *checkpoint_dir;
    const char *site_id;
    int pseudonymise;           /**< 0/1, or -1 */
    int require_signed_models;  /**< 0/1, or -1 */
} mmdx_site_overrides;

#define MMDX_SITE_OVERRIDES_NONE {NULL, NULL, NULL, NULL, NULL, NULL, -1, -1}

/**
 * Read [audit] from `c` (NULL: all unset) into `out` (zeroed first; strings
 * malloc'd, released by mmdx_audit_settings_clear). Errors name file and
 * line: an unknown key, a bad yes/no value (MMDX_EINVAL); MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_audit_settings_load(mmdx_audit_settings *out, const mmdx_config *c);

/**
 * The one resolver of site settings, used by every command and by the
 * Orthanc plugin: each setting comes from `first` (the command line, or the
 * Orthanc plugin's settings) if given there, else from `second` (the
 * environment: $MMDX_DB, $MMDX_SITE_KEY, $MMDX_REQUIRE_SIGNED_MODELS, read by
 * the program, never by a library), else from [audit] of `c`. Either source
 * may be NULL. Paths given in `first`/`second` are kept as given (relative
 * to the working folder); those of the configuration resolve against its
 * folder. Errors: those of mmdx_audit_settings_load().
 */
MMDX_RESULT_USED int mmdx_audit_settings_resolve(mmdx_audit_settings *out, const mmdx_config *c,
                                                 const mmdx_site_overrides *first,
                                                 const mmdx_site_overrides *second);

/** Replace a string setting (copy of `value`, or unset with NULL). */
MMDX_RESULT_USED int mmdx_audit_settings_set(char **field, const char *value);

void mmdx_audit_settings_clear(mmdx_audit_settings *s);

#endif
