/* SPDX-License-Identifier: Apache-2.0 */
#include "gzfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"

int mmdx_gz_open(gzFile *out, const char *path)
{
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        int e = errno;
        return mmdx_fail(e == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: cannot open: %s", path,
                         e ? strerror(e) : "out of memory");
    }
    gzbuffer(f, 1 << 17);
    *out = f;
    return 0;
}

int mmdx_gz_error(gzFile f, const char *path)
{
    int code;
    const char *msg = gzerror(f, &code);
    return mmdx_fail(MMDX_EIO, "%s: read error: %s", path, code == Z_ERRNO ? strerror(errno) : msg);
}

int mmdx_gz_read_all(const char *path, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    gzFile f;
    int rc = mmdx_gz_open(&f, path);
    if (rc < 0)
        return rc;
    size_t cap = 0, have = 0;
    char *buf = NULL;
    while (mmdx_array_reserve(&buf, &cap, have + (1 << 15), 1, 1 << 16, 0) == 0) {
        int got = gzread(f, buf + have, (unsigned)(cap - have - 1));
        if (got < 0) {
            rc = mmdx_gz_error(f, path);
            free(buf);
            gzclose(f);
            return rc;
        }
        if (got == 0) {
            gzclose(f);
            buf[have] = '\0';
            *out = buf;
            *len = have;
            return 0;
        }
        have += (size_t)got;
    }
    free(buf);
    gzclose(f);
    return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
}
