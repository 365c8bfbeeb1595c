/* SPDX-License-Identifier: Apache-2.0 */
#include "input_hash.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "array.h"
#include "error.h"

typedef struct file_list {
    char **rel;
    size_t n, cap;
} file_list;

static int list_add(file_list *l, const char *rel)
{
    if (mmdx_array_reserve(&l->rel, &l->cap, l->n + 1, sizeof *l->rel, 32, 0) < 0)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (!(l->rel[l->n] = strdup(rel)))
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    l->n++;
    return 0;
}

static int walk(const char *root, const char *rel, file_list *l, int depth)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
    if (depth > 32)
        return mmdx_fail(MMDX_EIO, "%s: folders nested too deeply", path);
    DIR *d = opendir(path);
    if (!d)
        return mmdx_fail(errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: cannot open: %s", path, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char child_rel[4096], child[8192];
        snprintf(child_rel, sizeof child_rel, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        snprintf(child, sizeof child, "%s/%s", root, child_rel);
        struct stat st;
        if (lstat(child, &st) != 0)
            rc = mmdx_fail(MMDX_EIO, "%s: %s", child, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = walk(root, child_rel, l, depth + 1);
        else if (S_ISREG(st.st_mode))
            rc = list_add(l, child_rel);
    }
    closedir(d);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int mmdx_input_sha256(const char *path, char hex[MMDX_SHA256_HEX_LEN])
{
    struct stat st;
    uint8_t h[MMDX_SHA256_LEN];
    if (stat(path, &st) != 0)
        return mmdx_fail(errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        int rc = mmdx_sha256_file(path, h);
        if (rc < 0)
            return rc;
        mmdx_hex(h, sizeof h, hex);
        return 0;
    }
    file_list l = {0};
    int rc = walk(path, "", &l, 0);
    char *text = NULL;
    size_t len = 0, cap = 0;
    if (rc == 0)
        qsort(l.rel, l.n, sizeof *l.rel, cmp_str);
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        char file[8192], fhex[MMDX_SHA256_HEX_LEN];
        snprintf(file, sizeof file, "%s/%s", path, l.rel[i]);
        if ((rc = mmdx_sha256_file(file, h)) < 0)
            break;
        mmdx_hex(h, sizeof h, fhex);
        size_t need = strlen(l.rel[i]) + 1 + 64 + 1;
        if (mmdx_array_reserve(&text, &cap, len + need, 1, 4096, 0) < 0) {
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
            break;
        }
        memcpy(text + len, l.rel[i], strlen(l.rel[i]) + 1);
        len += strlen(l.rel[i]) + 1;
        memcpy(text + len, fhex, 64);
        len += 64;
        text[len++] = '\n';
    }
    if (rc == 0) {
        mmdx_sha256(text ? text : "", len, h);
        mmdx_hex(h, sizeof h, hex);
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.rel[i]);
    free(l.rel);
    free(text);
    return rc;
}
