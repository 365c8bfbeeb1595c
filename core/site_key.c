/* SPDX-License-Identifier: Apache-2.0 */
#include "site_key.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

#define KEY_FILE_MAX 4096

struct mmdx_site_key {
    size_t len;
    uint8_t bytes[KEY_FILE_MAX];
};

static int is_hex_text(const uint8_t *b, size_t n)
{
    if (n == 0 || n % 2)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((b[i] >= '0' && b[i] <= '9') || (b[i] >= 'a' && b[i] <= 'f') || (b[i] >= 'A' && b[i] <= 'F')))
            return 0;
    return 1;
}

static int read_all(int fd, uint8_t *buf, size_t cap, size_t *n, const char *path)
{
    *n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + *n, cap - *n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return mmdx_fail(MMDX_EIO, "site key %s: %s", path, strerror(errno));
        }
        if (r == 0 || (*n += (size_t)r) == cap)
            return 0;
    }
}

int mmdx_site_key_read(mmdx_site_key **out, const char *path)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mmdx_fail(errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "site key %s: %s", path,
                         strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = mmdx_fail(MMDX_EIO, "site key %s: not a regular file", path);
    else if (st.st_mode & (S_IRWXG | S_IRWXO))
        rc = mmdx_fail(MMDX_EPERM,
                       "site key %s: group or others may access it (mode %03o); run chmod 600 on it",
                       path, (unsigned)(st.st_mode & 0777));
    uint8_t buf[KEY_FILE_MAX + 1];
    size_t n = 0;
    if (rc == 0)
        rc = read_all(fd, buf, sizeof buf, &n, path);
    close(fd);
    mmdx_site_key *k = NULL;
    if (rc == 0 && n > KEY_FILE_MAX)
        rc = mmdx_fail(MMDX_EFORMAT, "site key %s: longer than %d bytes", path, KEY_FILE_MAX);
    if (rc == 0 && !(k = calloc(1, sizeof *k)))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (rc == 0) {
        size_t t = n; /* hex text: one line, optional trailing white space */
        while (t && (buf[t - 1] == '\n' || buf[t - 1] == '\r' || buf[t - 1] == ' ' || buf[t - 1] == '\t'))
            t--;
        if (is_hex_text(buf, t)) {
            buf[t] = '\0';
            k->len = t / 2;
            if (mmdx_unhex((const char *)buf, k->bytes, k->len) < 0)
                rc = mmdx_fail(MMDX_EFORMAT, "site key %s: invalid hex", path);
        } else {
            k->len = n;
            memcpy(k->bytes, buf, n);
        }
        if (rc == 0 && k->len < MMDX_SITE_KEY_MIN)
            rc = mmdx_fail(MMDX_EFORMAT,
                           "site key %s: %zu bytes; at least %d are needed (make one with: "
                           "openssl rand -hex 32 > site.key; chmod 600 site.key)",
                           path, k->len, MMDX_SITE_KEY_MIN);
    }
    OPENSSL_cleanse(buf, sizeof buf);
    if (rc < 0) {
        mmdx_site_key_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

void mmdx_site_key_free(mmdx_site_key *k)
{
    if (!k)
        return;
    OPENSSL_cleanse(k, sizeof *k);
    free(k);
}

int mmdx_site_key_derive(const mmdx_site_key *k, const char *purpose, uint8_t out[MMDX_SHA256_LEN])
{
    return mmdx_hmac_sha256(k->bytes, k->len, purpose, strlen(purpose), out);
}
