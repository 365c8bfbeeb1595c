/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The plugin's model: mmdx plugins from PluginFolder, the Model file opened and checked. */
#include "model_open.h"

#include <string.h>

#include "error.h"
#include "site_settings.h"

int mmdx_orthanc_model_open(mmdx_registry **registry, mmdx_model_session *session, const mmdx_orthanc_settings *s,
                            const char *plugin_dir_default, void (*refused)(void *ctx, const char *message),
                            void *ctx)
{
    memset(session, 0, sizeof *session);
    *registry = NULL;
    int rc = mmdx_registry_new(registry, refused, ctx);
    const char *dir = s->plugin_folder ? s->plugin_folder : plugin_dir_default;
    if (!rc && dir) {
        int n = mmdx_registry_scan(*registry, dir);
        if (n < 0)
            rc = n;
        else if (n == 0 && mmdx_registry_count(*registry) == 0)
            rc = mmdx_fail(MMDX_ENOTFOUND, "%s: no mmdx plugins could be loaded from this folder (Mmdx.PluginFolder)",
                           dir);
    }
    if (!rc) {
        /* one site key signs models and audit events; ModelKey may name another file */
        mmdx_audit_settings site;
        rc = mmdx_orthanc_site_settings(s, &site);
        if (!rc)
            rc = mmdx_model_session_open(session, *registry, s->model, s->model_key ? s->model_key : site.site_key_file,
                                         site.require_signed_models);
        mmdx_audit_settings_clear(&site);
    }
    if (rc) {
        mmdx_registry_free(*registry);
        *registry = NULL;
    }
    return rc;
}
