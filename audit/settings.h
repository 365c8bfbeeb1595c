/*
 * audit/settings.h — the [audit] section of the site configuration.
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
#ifndef MMDX_AUDIT_SETTINGS_H
#define MMDX_AUDIT_SETTINGS_H

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
} mmdx_audit_settings;

/**
 * Read [audit] from `c` (NULL: all unset) into `out` (zeroed first; strings
 * malloc'd, released by mmdx_audit_settings_clear). Errors name file and
 * line: an unknown key, a bad yes/no value (MMDX_EINVAL); MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_audit_settings_load(mmdx_audit_settings *out, const mmdx_config *c);

/** Replace a string setting (copy of `value`, or unset with NULL). */
MMDX_RESULT_USED int mmdx_audit_settings_set(char **field, const char *value);

void mmdx_audit_settings_clear(mmdx_audit_settings *s);

#endif
