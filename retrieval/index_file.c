/* SPDX-License-Identifier: Apache-2.0 */
/* The saved index of one log, model and space, with the audit sequence of each of its rows. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "atomic_file.h"
#include "error.h"
#include "hash.h"
#include "index_file.h"

#define ROWS_MAGIC "mmdx-similar-rows-v1"

int mmdx_index_rows_push(mmdx_index_rows *r, int64_t seq)
{
    if (mmdx_array_reserve(&r->seq, &r->cap, r->n + 1, sizeof *r->seq, 1024, 0) < 0)
        return mmdx_fail(MMDX_ENOMEM, "similar: out of memory");
    r->seq[r->n++] = seq;
    if (seq > r->last_seq)
        r->last_seq = seq;
    return 0;
}

void mmdx_index_rows_free(mmdx_index_rows *r)
{
    free(r->seq);
    memset(r, 0, sizeof *r);
}

int mmdx_index_file_open(mmdx_index_file *f, const char *dir, const char *log_origin, const char *model_sha256,
                         const char *space)
{
    memset(f, 0, sizeof *f);
    f->lock_fd = -1;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return mmdx_fail(MMDX_EIO, "%s: cannot create the index folder: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return mmdx_fail(MMDX_EIO, "%s: not a folder", dir);
    /* the index decides which patients are proposed: nobody else may replace it */
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return mmdx_fail(MMDX_EPERM, "%s: the index folder is writable by others (mode %03o); use chmod go-w",
                         dir, (unsigned)(st.st_mode & 0777));
    if (st.st_uid != getuid() && st.st_uid != 0)
        return mmdx_fail(MMDX_EPERM, "%s: the index folder belongs to another user", dir);
    /* one name per (log, model, space): a hash keeps it short and free of path characters */
    char key[512], hex[65];
    uint8_t h[32];
    int len = snprintf(key, sizeof key, "%s%c%s%c%s", log_origin, 0, model_sha256, 0, space);
    mmdx_sha256(key, (size_t)len, h);
    mmdx_hex(h, 16, hex);
    if (snprintf(f->base, sizeof f->base, "%s/similar-%s", dir, hex) >= (int)sizeof f->base)
        return mmdx_fail(MMDX_EINVAL, "%s: the index folder's path is too long", dir);
    char lock[4200];
    snprintf(lock, sizeof lock, "%s.lock", f->base);
    f->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f->lock_fd < 0)
        return mmdx_fail(MMDX_EIO, "%s: %s", lock, strerror(errno));
    while (flock(f->lock_fd, LOCK_EX) != 0)
        if (errno != EINTR) {
            int e = errno;
            close(f->lock_fd);
            f->lock_fd = -1;
            return mmdx_fail(MMDX_EIO, "%s: cannot lock: %s", lock, strerror(e));
        }
    return 0;
}

void mmdx_index_file_close(mmdx_index_file *f)
{
    if (f->lock_fd >= 0)
        close(f->lock_fd); /* releases the lock */
    f->lock_fd = -1;
}

static void path_of(const mmdx_index_file *f, const char *ext, char *out, size_t size)
{
    snprintf(out, size, "%s.%s", f->base, ext);
}

int mmdx_index_file_load(const mmdx_index_file *f, uint32_t dim, mmdx_ann **ann, mmdx_index_rows *rows)
{
    *ann = NULL;
    memset(rows, 0, sizeof *rows);
    char rp[4200], ip[4200];
    path_of(f, "rows", rp, sizeof rp);
    path_of(f, "faiss", ip, sizeof ip);
    FILE *in = fopen(rp, "r");
    if (!in)
        return errno == ENOENT ? mmdx_fail(MMDX_ENOTFOUND, "%s: no index yet", rp)
                               : mmdx_fail(MMDX_EIO, "%s: %s", rp, strerror(errno));
    char magic[32] = "", sha[65] = "";
    unsigned d = 0;
    size_t n = 0;
    int64_t last = 0;
    int rc = 0;
    if (fscanf(in, "%31s dim %u rows %zu last_seq %" SCNd64 " faiss_sha256 %64s", magic, &d, &n, &last, sha) != 5 ||
        strcmp(magic, ROWS_MAGIC) != 0 || d != dim || strlen(sha) != 64)
        rc = mmdx_fail(MMDX_EFORMAT, "%s: not an mmdx index record for %u-component vectors", rp, dim);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int64_t s;
        if (fscanf(in, "%" SCNd64, &s) != 1 || s <= 0 || s > last)
            rc = mmdx_fail(MMDX_EFORMAT, "%s: row %zu: not an audit sequence number", rp, i + 1);
        else
            rc = mmdx_index_rows_push(rows, s);
    }
    fclose(in);
    uint8_t h[32];
    char hex[65];
    if (rc == 0 && (rc = mmdx_sha256_file(ip, h)) == 0) {
        mmdx_hex(h, 32, hex);
        if (strcmp(hex, sha) != 0)
            rc = mmdx_fail(MMDX_EFORMAT, "%s: the index is not the one %s describes", ip, rp);
    }
    if (rc == 0)
        rc = mmdx_ann_load(ann, ip, dim, NULL);
    if (rc == 0 && mmdx_ann_count(*ann) != n)
        rc = mmdx_fail(MMDX_EFORMAT, "%s: %zu rows, but %s lists %zu", ip, mmdx_ann_count(*ann), rp, n);
    if (rc < 0) {
        mmdx_ann_free(*ann);
        *ann = NULL;
        mmdx_index_rows_free(rows);
        return rc;
    }
    rows->last_seq = last;
    return 0;
}

int mmdx_index_file_save(const mmdx_index_file *f, const mmdx_ann *ann, const mmdx_index_rows *rows)
{
    char rp[4200], ip[4200], hex[65];
    path_of(f, "rows", rp, sizeof rp);
    path_of(f, "faiss", ip, sizeof ip);
    int rc = mmdx_ann_save(ann, ip);
    uint8_t h[32];
    if (rc == 0)
        rc = mmdx_sha256_file(ip, h);
    if (rc < 0)
        return rc;
    mmdx_hex(h, 32, hex);
    mmdx_atomic_file af;
    if ((rc = mmdx_atomic_file_open(&af, rp)) < 0)
        return rc;
    fprintf(af.f, "%s dim %u rows %zu last_seq %" PRId64 " faiss_sha256 %s\n", ROWS_MAGIC, mmdx_ann_dim(ann),
            rows->n, rows->last_seq, hex);
    for (size_t i = 0; i < rows->n; i++)
        fprintf(af.f, "%" PRId64 "\n", rows->seq[i]);
    return mmdx_atomic_file_commit(&af);
}
