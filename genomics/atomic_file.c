/* SPDX-License-Identifier: Apache-2.0 */
#include "atomic_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mmdx_atomic_file_open(mmdx_atomic_file *af, const char *path, mmdx_error *err)
{
    memset(af, 0, sizeof *af);
    if (!path || strcmp(path, "-") == 0) {
        af->f = stdout;
        return 0;
    }
    size_t n = strlen(path) + 16;
    af->path = strdup(path);
    af->tmp = malloc(n);
    if (!af->path || !af->tmp) {
        mmdx_atomic_file_abort(af);
        return mmdx_error_set(err, MMDX_ENOMEM, "%s: out of memory", path);
    }
    snprintf(af->tmp, n, "%s.tmpXXXXXX", path);
    int fd = mkstemp(af->tmp);
    if (fd < 0) {
        int e = errno;
        free(af->tmp);
        af->tmp = NULL;
        mmdx_atomic_file_abort(af);
        return mmdx_error_set(err, MMDX_EIO, "%s: cannot create: %s", path, strerror(e));
    }
    /* mkstemp creates 0600; give the output the permissions a plain fopen would */
    mode_t um = umask(0);
    umask(um);
    if (fchmod(fd, 0666 & ~um) != 0) {
        /* not fatal: the file stays private */
    }
    af->f = fdopen(fd, "w");
    if (!af->f) {
        close(fd);
        mmdx_atomic_file_abort(af);
        return mmdx_error_set(err, MMDX_EIO, "%s: cannot write", path);
    }
    return 0;
}

int mmdx_atomic_file_commit(mmdx_atomic_file *af, mmdx_error *err)
{
    if (!af->path) {
        int bad = fflush(af->f) != 0 || ferror(af->f);
        af->f = NULL;
        return bad ? mmdx_error_set(err, MMDX_EIO, "standard output: write error") : 0;
    }
    int bad = ferror(af->f) != 0;
    bad |= fclose(af->f) != 0;
    af->f = NULL;
    if (bad || rename(af->tmp, af->path) != 0) {
        int e = errno;
        int rc = mmdx_error_set(err, MMDX_EIO, "%s: write failed: %s", af->path, strerror(e));
        mmdx_atomic_file_abort(af);
        return rc;
    }
    free(af->tmp);
    free(af->path);
    af->tmp = af->path = NULL;
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
