/* SPDX-License-Identifier: Apache-2.0 */
#include "path.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *mmdx_path_resolve(const char *base, const char *rel)
{
    if (!rel)
        return NULL;
    if (rel[0] == '/' || !base || !*base || strcmp(base, ".") == 0)
        return strdup(rel);
    size_t nb = strlen(base), nr = strlen(rel);
    char *p = malloc(nb + nr + 2);
    if (!p)
        return NULL;
    memcpy(p, base, nb);
    size_t at = nb;
    if (nb && base[nb - 1] != '/')
        p[at++] = '/';
    memcpy(p + at, rel, nr + 1);
    return p;
}

char *mmdx_path_dirname(const char *path)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

char *mmdx_path_exe_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return mmdx_path_dirname(buf);
}

int mmdx_path_is_dir(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int mmdx_path_exists(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0;
}
