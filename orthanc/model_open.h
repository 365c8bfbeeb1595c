/*
 * orthanc/model_open.h — the plugin's model made usable: mmdx's encoder and
 * fusion plugins loaded from PluginFolder, the Model file opened with its
 * integrity and signature checked. The worker screens with it; the
 * /similar route reads the model's shared space from it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef MMDX_ORTHANC_MODEL_OPEN_H
#define MMDX_ORTHANC_MODEL_OPEN_H

#include "loader.h"
#include "model_session.h"
#include "settings.h"

/**
 * Fill *registry (free with mmdx_registry_free) and *session (close with
 * mmdx_model_session_close) from the settings. `plugin_dir_default` is used
 * when PluginFolder is unset; `refused` (may be NULL) hears why a plugin
 * file was not loaded. On failure nothing is left to free.
 * Errors: MMDX_ENOTFOUND (no plugin could be loaded from the folder, the
 * model's fusion plugin is missing), those of the loader and the model file.
 */
MMDX_RESULT_USED int mmdx_orthanc_model_open(mmdx_registry **registry, mmdx_model_session *session,
                                             const mmdx_orthanc_settings *s, const char *plugin_dir_default,
                                             void (*refused)(void *ctx, const char *message), void *ctx);

#endif
