/* SPDX-License-Identifier: Apache-2.0 */
#include "site_settings.h"

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

static int override_str(char **field, const char *a, const char *b)
{
    const char *v = a && *a ? a : (b && *b ? b : NULL);
    return v ? mmdx_audit_settings_set(field, v) : 0;
}

static int override_int(int current, int a, int b)
{
    return a >= 0 ? a : (b >= 0 ? b : current);
}

int mmdx_audit_settings_resolve(mmdx_audit_settings *out, const mmdx_config *c, const mmdx_site_overrides *first,
                                const mmdx_site_overrides *second)
{
    static const mmdx_site_overrides none = MMDX_SITE_OVERRIDES_NONE;
    const mmdx_site_overrides *a = first ? first : &none, *b = second ? second : &none;
    int rc = mmdx_audit_settings_load(out, c);
    if (rc == 0)
        rc = override_str(&out->db, a->db, b->db);
    if (rc == 0)
        rc = override_str(&out->site_key_file, a->site_key_file, b->site_key_file);
    if (rc == 0)
        rc = override_str(&out->signing_key, a->signing_key, b->signing_key);
    if (rc == 0)
        rc = override_str(&out->verify_key, a->verify_key, b->verify_key);
    if (rc == 0)
        rc = override_str(&out->checkpoint_dir, a->checkpoint_dir, b->checkpoint_dir);
    if (rc == 0)
        rc = override_str(&out->site_id, a->site_id, b->site_id);
    out->pseudonymise = override_int(out->pseudonymise, a->pseudonymise, b->pseudonymise);
    out->require_signed_models =
        override_int(out->require_signed_models, a->require_signed_models, b->require_signed_models);
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
