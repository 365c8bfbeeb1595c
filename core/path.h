/*
 * core/path.h — path helpers.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_CORE_PATH_H
#define MMDX_CORE_PATH_H

#include "mmdx/common.h"

/** `rel` resolved against folder `base` (unchanged when absolute or base is NULL). Newly allocated, NULL on ENOMEM. */
char *mmdx_path_resolve(const char *base, const char *rel);

/** The folder part of a path ("." when none). Newly allocated. */
char *mmdx_path_dirname(const char *path);

/** The folder holding the running executable (from /proc/self/exe). Newly allocated, NULL on failure. */
char *mmdx_path_exe_dir(void);

/** 1 when the path exists and is a folder. */
int mmdx_path_is_dir(const char *path);

/** 1 when the path exists. */
int mmdx_path_exists(const char *path);

#endif
