/*
 * core/config.h — the site configuration file.
 * SPDX-License-Identifier: Apache-2.0
 *
 * An INI-style text file:
 *
 *     # comment
 *     [mmdx]                  host settings
 *     threads = 4
 *     [imaging]               one section per plugin, named as the plugin
 *     bin_width = 25
 *     [genomics]
 *     score = scores/PGS000018.txt      (keys may repeat: lists)
 *
 * Found as: --config F, else $MMDX_CONFIG, else /etc/mmdx/mmdx.conf when it
 * exists, else an empty configuration. Values may be quoted with "..." to
 * keep leading/trailing spaces. Relative paths in values resolve against the
 * configuration file's folder (plugins get it as base_dir).
 */
#ifndef MMDX_CORE_CONFIG_H
#define MMDX_CORE_CONFIG_H

#include <stddef.h>

#include "hash.h"
#include "mmdx/plugin.h"

typedef struct mmdx_config mmdx_config;

/** The documented default location. */
#define MMDX_CONFIG_DEFAULT_PATH "/etc/mmdx/mmdx.conf"

/**
 * Load a configuration. `path` NULL means: $MMDX_CONFIG, else the default
 * path when it exists, else empty. Errors name file and line: a line that is
 * neither a section, a key = value nor a comment, a key before any section,
 * an invalid section or key name (MMDX_EFORMAT); unreadable (MMDX_ENOTFOUND,
 * MMDX_EIO).
 */
MMDX_RESULT_USED int mmdx_config_load(mmdx_config **out, const char *path);

/** Parse a configuration held in memory; `name` stands for the path in messages. Same errors. */
MMDX_RESULT_USED int mmdx_config_parse(mmdx_config **out, const char *data, size_t len,
                                       const char *name);

/** An empty configuration (no file). */
MMDX_RESULT_USED int mmdx_config_new_empty(mmdx_config **out);

void mmdx_config_free(mmdx_config *c);

/** The file the configuration came from, or NULL when empty. Borrowed. */
const char *mmdx_config_path(const mmdx_config *c);

/**
 * Fill `out` (an ABI struct handed to a plugin) with section `name`. Strings
 * and entries stay owned by `c`. A missing section gives zero entries.
 */
void mmdx_config_section(const mmdx_config *c, const char *name, int n_threads,
                         mmdx_plugin_config *out);

/**
 * SHA-256 (hex) of a section in canonical form ("key=value\n" per entry, in
 * file order): what a model records of each plugin's configuration.
 * Errors: MMDX_ENOMEM.
 */
MMDX_RESULT_USED int mmdx_config_section_hash(const mmdx_plugin_config *pc,
                                              char hex[MMDX_SHA256_HEX_LEN]);

/**
 * Check that every section is one of `known` (plugin names plus "mmdx");
 * otherwise MMDX_EINVAL naming file, line and the known sections.
 */
MMDX_RESULT_USED int mmdx_config_check_sections(const mmdx_config *c, const char *const *known,
                                                size_t n_known);

/**
 * Look up a host setting in [mmdx]: the last value of `key`, or NULL.
 * Borrowed. Valid keys of [mmdx]: threads, plugin_path.
 */
const char *mmdx_config_host_value(const mmdx_config *c, const char *key);

/** Check [mmdx] holds only known keys with valid values (MMDX_EINVAL, file:line). */
MMDX_RESULT_USED int mmdx_config_check_host(const mmdx_config *c);

#endif
