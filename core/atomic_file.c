/* SPDX-License-Identifier: Apache-2.0 */
#include "atomic_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

int mmdx_atomic_file_open(mmdx_atomic_file *af, const char *path)
{
    memset(af, 0, sizeof *af);
    if (!path || strcmp(path, "-") == 0) {
        af->f = stdout;
        return 0;
    }
    /* A device, FIFO or socket (/dev/null, a pipe) is written in place: renaming a
     * temporary file over it would replace the device node with a regular file. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode))
            return mmdx_fail(MMDX_EIO, "%s: is a folder, not a file", path);
        if (!(af->f = fopen(path, "w")))
            return mmdx_fail(MMDX_EIO, "%s: cannot open: %s", path, strerror(errno));
        af->direct = 1;
        return 0;
    }
    size_t n = strlen(path) + 16;
    af->path = strdup(path);
    af->tmp = malloc(n);
    if (!af->path || !af->tmp) {
        mmdx_atomic_file_abort(af);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    snprintf(af->tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(af->tmp);
    if (fd < 0) {
        int rc = mmdx_fail(MMDX_EIO, "%s: cannot create: %s", path, strerror(errno));
        free(af->tmp);
        af->tmp = NULL;
        mmdx_atomic_file_abort(af);
        return rc;
    }
    if (!(af->f = fdopen(fd, "w"))) {
        int rc = mmdx_fail(MMDX_EIO, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
        mmdx_atomic_file_abort(af);
        return rc;
    }
    return 0;
}

int mmdx_atomic_file_commit(mmdx_atomic_file *af)
{
    if (!af->path) { /* standard output, or a device written in place */
        int bad = ferror(af->f) || fflush(af->f) != 0;
        if (af->direct && fclose(af->f) != 0)
            bad = 1;
        af->f = NULL;
        af->direct = 0;
        return bad ? mmdx_fail(MMDX_EIO, "output: write error") : 0;
    }
    int bad = ferror(af->f) || fflush(af->f) != 0 || fsync(fileno(af->f)) != 0;
    int e = errno;
    if (fclose(af->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    af->f = NULL;
    if (!bad && rename(af->tmp, af->path) != 0) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        int rc = mmdx_fail(MMDX_EIO, "%s: write failed: %s", af->path, strerror(e));
        mmdx_atomic_file_abort(af);
        return rc;
    }
    free(af->tmp);
    free(af->path);
    memset(af, 0, sizeof *af);
    return 0;
}

void mmdx_atomic_file_abort(mmdx_atomic_file *af)
{
    if (af->f && af->f != stdout)
        fclose(af->f);
    if (af->tmp)
        unlink(af->tmp);
    free(af->tmp);
    free(af->path);
    memset(af, 0, sizeof *af);
}
