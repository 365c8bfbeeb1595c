/*
 * plugins/host/loader.h — discovering, checking and loading plugins.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The registry scans folders for `*.so`, in this order: the folder next to
 * the executable (<bindir>/../lib/mmdx/plugins), the configuration's
 * [mmdx] plugin_path, then each folder of $MMDX_PLUGIN_PATH (':'-separated).
 * A plugin is refused, with a reason, and the scan goes on, when: its file or
 * folder is world-writable or owned by neither root nor the current user; it
 * does not dlopen (corrupt, missing dependency); it lacks
 * mmdx_plugin_describe; its ABI major differs or its minor is newer than the
 * host's; a struct size is too small; a reserved field is non-zero; its
 * name or kind is invalid; a required function is missing; or a plugin of the
 * same name was already loaded.
 */
#ifndef MMDX_PLUGINS_LOADER_H
#define MMDX_PLUGINS_LOADER_H

#include <stddef.h>

#include "hash.h"
#include "mmdx/plugin.h"

typedef struct mmdx_registry mmdx_registry;

/** A loaded plugin. Owned by the registry; valid until mmdx_registry_free(). */
typedef struct mmdx_plugin {
    mmdx_plugin_info info;        /**< normalised copy: fields the plugin did not know are zero */
    mmdx_encoder_vtable encoder;  /**< normalised copy (kind == ENCODER) */
    mmdx_fusion_vtable fusion;    /**< normalised copy (kind == FUSION) */
    char *path;                   /**< canonical path of the shared object */
    char sha256[MMDX_SHA256_HEX_LEN]; /**< of the file, hex */
    void *handle;                 /**< dlopen handle */
} mmdx_plugin;

/** Optional sink for refusal messages (e.g. print to stderr). */
typedef void (*mmdx_registry_log_fn)(void *ctx, const char *message);

MMDX_RESULT_USED int mmdx_registry_new(mmdx_registry **out, mmdx_registry_log_fn log, void *ctx);

void mmdx_registry_free(mmdx_registry *r);

/**
 * Scan one folder. Refusals are recorded (mmdx_registry_refusal) and logged;
 * they are not errors. Returns the number of plugins loaded from it, or a
 * negative code if the folder itself is refused or unreadable (a missing
 * folder is not an error: 0).
 */
int mmdx_registry_scan(mmdx_registry *r, const char *dir);

/** Load one plugin file (used by scan). Returns 0, or a negative code with the reason recorded. */
int mmdx_registry_load_file(mmdx_registry *r, const char *path);

/** Scan the default folders: next to the executable, `extra` (':'-separated, may be NULL), $MMDX_PLUGIN_PATH. */
int mmdx_registry_scan_default(mmdx_registry *r, const char *extra);

size_t mmdx_registry_count(const mmdx_registry *r);
const mmdx_plugin *mmdx_registry_get(const mmdx_registry *r, size_t i);

/** A plugin by name, or NULL. */
const mmdx_plugin *mmdx_registry_find(const mmdx_registry *r, const char *name);

/** Refusals recorded so far: count, and "path: reason" text of each. Borrowed. */
size_t mmdx_registry_refusals(const mmdx_registry *r);
const char *mmdx_registry_refusal(const mmdx_registry *r, size_t i);

/** Name of a plugin kind ("encoder", "fusion"). */
const char *mmdx_plugin_kind_name(uint32_t kind);

/** The folder next to the executable where installed plugins live. Newly allocated. */
char *mmdx_registry_builtin_dir(void);

/** mmdx's read-only data folder next to the executable (<prefix>/share/mmdx). Newly allocated. */
char *mmdx_registry_data_dir(void);

#endif
