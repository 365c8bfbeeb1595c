/* SPDX-License-Identifier: Apache-2.0 */
#include "settings.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "path.h"

int mmdx_audit_settings_set(char **field, const char *value)
{
    free(*field);
    *field = NULL;
    if (!value)
        return 0;
    *field = strdup(value);
    return *field ? 0 : mmdx_fail(MMDX_ENOMEM, "out of memory");
}

static int set_path(char **field, const char *base, const char *value)
{
    free(*field);
    *field = mmdx_path_resolve(base, value);
    return *field ? 0 : mmdx_fail(MMDX_ENOMEM, "out of memory");
}

int mmdx_audit_settings_load(mmdx_audit_settings *out, const mmdx_config *c)
{
    memset(out, 0, sizeof *out);
    if (!c)
        return 0;
    mmdx_plugin_config pc;
    mmdx_config_section(c, "audit", 1, &pc);
    int rc = 0;
    for (size_t i = 0; i < pc.n_entries && rc == 0; i++) {
        const mmdx_config_entry *e = &pc.entries[i];
        if (strcmp(e->key, "db") == 0) {
            rc = mmdx_audit_settings_set(&out->db, e->value);
        } else if (strcmp(e->key, "site_key_file") == 0) {
            rc = set_path(&out->site_key_file, pc.base_dir, e->value);
        } else if (strcmp(e->key, "signing_key") == 0) {
            rc = set_path(&out->signing_key, pc.base_dir, e->value);
        } else if (strcmp(e->key, "verify_key") == 0) {
            rc = set_path(&out->verify_key, pc.base_dir, e->value);
        } else if (strcmp(e->key, "checkpoint_dir") == 0) {
            rc = set_path(&out->checkpoint_dir, pc.base_dir, e->value);
        } else if (strcmp(e->key, "site_id") == 0) {
            rc = mmdx_audit_settings_set(&out->site_id, e->value);
        } else if (strcmp(e->key, "pseudonymise") == 0) {
            if (!strcasecmp(e->value, "yes") || !strcasecmp(e->value, "true") || !strcmp(e->value, "1"))
                out->pseudonymise = 1;
            else if (!strcasecmp(e->value, "no") || !strcasecmp(e->value, "false") || !strcmp(e->value, "0"))
                out->pseudonymise = 0;
            else
                rc = mmdx_fail(MMDX_EINVAL, "%s:%d: [audit] pseudonymise must be yes or no, not \"%s\"",
                               e->file, (int)e->line, e->value);
        } else {
            rc = mmdx_fail(MMDX_EINVAL,
                           "%s:%d: unknown key \"%s\" in [audit] (known: db, site_key_file, pseudonymise, "
                           "signing_key, verify_key, checkpoint_dir, site_id)",
                           e->file, (int)e->line, e->key);
        }
    }
    if (rc < 0)
        mmdx_audit_settings_clear(out);
    return rc;
}

void mmdx_audit_settings_clear(mmdx_audit_settings *s)
{
    free(s->db);
    free(s->site_key_file);
    free(s->signing_key);
    free(s->verify_key);
    free(s->checkpoint_dir);
    free(s->site_id);
    memset(s, 0, sizeof *s);
}
