/* SPDX-License-Identifier: Apache-2.0 */
/* The site key: loading, derived keys, pseudonyms. The key never leaves this file's buffers
 * (wiped after use) and is never printed. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "hash.h"
#include "store_internal.h"

#define KEY_FILE_MAX 4096
#define KEY_MIN_BYTES 32

static int is_hex_text(const uint8_t *b, size_t n)
{
    if (n == 0 || n % 2)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = b[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

int mmdx_audit__load_site_key(mmdx_store *s, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mmdx_fail(errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "site key %s: %s", path,
                         strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return mmdx_fail(MMDX_EIO, "site key %s: not a regular file", path);
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return mmdx_fail(MMDX_EPERM, "site key %s: readable by group or others (mode %03o); run chmod 600",
                         path, (unsigned)(st.st_mode & 0777));
    }
    uint8_t buf[KEY_FILE_MAX + 1];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - n);
        if (r < 0) {
            int e = errno;
            close(fd);
            OPENSSL_cleanse(buf, sizeof buf);
            return mmdx_fail(MMDX_EIO, "site key %s: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == sizeof buf)
            break;
    }
    close(fd);
    int rc = 0;
    if (n > KEY_FILE_MAX) {
        rc = mmdx_fail(MMDX_EFORMAT, "site key %s: longer than %d bytes", path, KEY_FILE_MAX);
        goto done;
    }
    /* Hex text (one line, optional trailing newline) or raw bytes. */
    size_t t = n;
    while (t && (buf[t - 1] == '\n' || buf[t - 1] == '\r' || buf[t - 1] == ' '))
        t--;
    uint8_t key[KEY_FILE_MAX];
    size_t klen;
    if (is_hex_text(buf, t)) {
        klen = t / 2;
        buf[t] = '\0';
        if (mmdx_unhex((const char *)buf, key, klen) < 0) {
            rc = mmdx_fail(MMDX_EFORMAT, "site key %s: invalid hex", path);
            goto done;
        }
    } else {
        klen = n;
        memcpy(key, buf, n);
    }
    if (klen < KEY_MIN_BYTES) {
        rc = mmdx_fail(MMDX_EFORMAT, "site key %s: %zu bytes; at least %d are needed "
                                     "(e.g. openssl rand -hex 32 > key; chmod 600 key)",
                       path, klen, KEY_MIN_BYTES);
        OPENSSL_cleanse(key, sizeof key);
        goto done;
    }
    /* Separate keys for separate purposes, so a pseudonym never equals an event MAC. */
    static const char hmac_label[] = "mmdx audit event hmac v1";
    static const char psn_label[] = "mmdx patient pseudonym v1";
    rc = mmdx_hmac_sha256(key, klen, hmac_label, sizeof hmac_label - 1, s->hmac_key);
    if (rc == 0)
        rc = mmdx_hmac_sha256(key, klen, psn_label, sizeof psn_label - 1, s->pseudonym_key);
    OPENSSL_cleanse(key, sizeof key);
    if (rc == 0)
        s->have_key = 1;
done:
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

int mmdx_store_pseudonym(const mmdx_store *s, const char *patient_id, char out[MMDX_PSEUDONYM_LEN])
{
    if (!s->have_key)
        return mmdx_fail(MMDX_EPERM, "pseudonyms need the site key ([audit] site_key_file or --site-key)");
    uint8_t mac[32];
    int rc = mmdx_hmac_sha256(s->pseudonym_key, sizeof s->pseudonym_key, patient_id,
                              strlen(patient_id), mac);
    if (rc < 0)
        return rc;
    memcpy(out, "psn:", 4);
    mmdx_hex(mac, 32, out + 4);
    return 0;
}

int mmdx_store_patient_key(mmdx_store *s, const char *patient_id, char **out)
{
    *out = NULL;
    if (!s->pseudonymise) {
        *out = strdup(patient_id);
    } else {
        char p[MMDX_PSEUDONYM_LEN];
        int rc = mmdx_store_pseudonym(s, patient_id, p);
        if (rc < 0)
            return rc;
        *out = strdup(p);
    }
    return *out ? 0 : mmdx_fail(MMDX_ENOMEM, "out of memory");
}
