/* SPDX-License-Identifier: Apache-2.0 */
#include "checkpoint.h"
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "hash.h"

#define HEADER "mmdx-audit-checkpoint v1"

static void format_time(int64_t us, char *out, size_t n)
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)frac);
}

/* The signed body: every line before the signature. */
static int body(const mmdx_checkpoint *cp, char *out, size_t n)
{
    char root[65], when[64];
    mmdx_hex(cp->root, 32, root);
    format_time(cp->time_us, when, sizeof when);
    int w = snprintf(out, n, HEADER "\norigin %s\nsize %llu\nroot %s\ntime %s\nkey %s\n", cp->origin,
                     (unsigned long long)cp->size, root, when, cp->key_id);
    return (w > 0 && (size_t)w < n) ? w : -1;
}

static int ssl_fail(int code, const char *what, const char *path)
{
    return mmdx_fail(code, "%s %s: OpenSSL could not use it", what, path);
}

static EVP_PKEY *read_key(const char *path, int private_key, int *rc)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *rc = mmdx_fail(errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "key %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (private_key && fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO))) {
        fclose(f);
        *rc = mmdx_fail(MMDX_EPERM, "signing key %s: readable by group or others (mode %03o); run chmod 600",
                        path, (unsigned)(st.st_mode & 0777));
        return NULL;
    }
    EVP_PKEY *k = NULL;
    if (private_key) {
        k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    } else {
        /* A public key file, or a private key file from which the public half is taken. */
        k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
        if (!k) {
            rewind(f);
            k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        }
    }
    fclose(f);
    if (!k) {
        *rc = mmdx_fail(MMDX_EFORMAT, "key %s: not a PEM %s key", path, private_key ? "private" : "public");
        return NULL;
    }
    if (EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(k);
        *rc = mmdx_fail(MMDX_EFORMAT, "key %s: not an Ed25519 key", path);
        return NULL;
    }
    *rc = 0;
    return k;
}

static int key_id(EVP_PKEY *k, char out[65])
{
    uint8_t pub[32], h[32];
    size_t len = sizeof pub;
    if (EVP_PKEY_get_raw_public_key(k, pub, &len) != 1 || len != 32)
        return mmdx_fail(MMDX_ERROR, "Ed25519: cannot read the public key");
    mmdx_sha256(pub, 32, h);
    mmdx_hex(h, 32, out);
    return 0;
}

int mmdx_checkpoint_sign(mmdx_checkpoint *cp, const char *private_key_path)
{
    int rc;
    EVP_PKEY *k = read_key(private_key_path, 1, &rc);
    if (!k)
        return rc;
    if ((rc = key_id(k, cp->key_id)) < 0) {
        EVP_PKEY_free(k);
        return rc;
    }
    char msg[512];
    int n = body(cp, msg, sizeof msg);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t siglen = sizeof cp->signature;
    if (n < 0 || !ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) != 1 ||
        EVP_DigestSign(ctx, cp->signature, &siglen, (const unsigned char *)msg, (size_t)n) != 1 ||
        siglen != 64)
        rc = ssl_fail(MMDX_ERROR, "signing key", private_key_path);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    return rc;
}

int mmdx_checkpoint_verify(const mmdx_checkpoint *cp, const char *public_key_path)
{
    int rc;
    EVP_PKEY *k = read_key(public_key_path, 0, &rc);
    if (!k)
        return rc;
    char id[65];
    if ((rc = key_id(k, id)) < 0) {
        EVP_PKEY_free(k);
        return rc;
    }
    if (strcmp(id, cp->key_id) != 0) {
        EVP_PKEY_free(k);
        return mmdx_fail(MMDX_EINTEGRITY, "checkpoint of size %llu: signed by key %.16s..., not by %s (%.16s...)",
                         (unsigned long long)cp->size, cp->key_id, public_key_path, id);
    }
    char msg[512];
    int n = body(cp, msg, sizeof msg);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = n > 0 && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestVerify(ctx, cp->signature, 64, (const unsigned char *)msg, (size_t)n) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    if (!ok)
        return mmdx_fail(MMDX_EINTEGRITY, "checkpoint of size %llu: the signature does not verify "
                                          "(the checkpoint was altered or forged)",
                         (unsigned long long)cp->size);
    return 0;
}

int mmdx_checkpoint_format(const mmdx_checkpoint *cp, char **text)
{
    char b[512];
    int n = body(cp, b, sizeof b);
    char sig[129];
    mmdx_hex(cp->signature, 64, sig);
    size_t len = (size_t)(n > 0 ? n : 0) + 11 + 128 + 2;
    *text = malloc(len);
    if (n < 0 || !*text) {
        free(*text);
        *text = NULL;
        return mmdx_fail(MMDX_ENOMEM, "checkpoint: out of memory");
    }
    snprintf(*text, len, "%ssignature %s\n", b, sig);
    return 0;
}

static int parse_time(const char *s, int64_t *us)
{
    int y, mo, d, h, mi, se;
    char frac[8];
    char z;
    if (strlen(s) != 27 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%6[0-9]%c", &y, &mo, &d, &h, &mi, &se, frac, &z) != 8 ||
        z != 'Z' || strlen(frac) != 6)
        return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    *us = (int64_t)t * 1000000 + strtoll(frac, NULL, 10);
    return 0;
}

int mmdx_checkpoint_parse(mmdx_checkpoint *cp, const char *text, const char *name)
{
    memset(cp, 0, sizeof *cp);
    static const char *const keys[] = {NULL, "origin", "size", "root", "time", "key", "signature"};
    const char *p = text;
    for (int line = 1; line <= 7; line++) {
        const char *eol = strchr(p, '\n');
        if (!eol)
            return mmdx_fail(MMDX_EFORMAT, "%s: line %d: missing (a checkpoint has 7 lines)", name, line);
        size_t len = (size_t)(eol - p);
        char buf[256];
        if (len >= sizeof buf)
            return mmdx_fail(MMDX_EFORMAT, "%s: line %d: too long", name, line);
        memcpy(buf, p, len);
        buf[len] = '\0';
        p = eol + 1;
        if (line == 1) {
            if (strcmp(buf, HEADER) != 0)
                return mmdx_fail(MMDX_EFORMAT, "%s: line 1: expected \"" HEADER "\"", name);
            continue;
        }
        size_t kl = strlen(keys[line - 1]);
        if (strncmp(buf, keys[line - 1], kl) != 0 || buf[kl] != ' ')
            return mmdx_fail(MMDX_EFORMAT, "%s: line %d: expected field '%s'", name, line, keys[line - 1]);
        const char *v = buf + kl + 1;
        int bad = 0;
        switch (line) {
        case 2:
            bad = strlen(v) == 0 || strlen(v) >= sizeof cp->origin;
            if (!bad)
                snprintf(cp->origin, sizeof cp->origin, "%s", v);
            break;
        case 3: {
            char *end;
            errno = 0;
            unsigned long long sz = strtoull(v, &end, 10);
            bad = *v < '0' || *v > '9' || *end || errno != 0;
            cp->size = sz;
            break;
        }
        case 4:
            bad = strlen(v) != 64 || mmdx_unhex(v, cp->root, 32) < 0;
            break;
        case 5:
            bad = parse_time(v, &cp->time_us) < 0;
            break;
        case 6: {
            uint8_t tmp[32];
            bad = strlen(v) != 64 || mmdx_unhex(v, tmp, 32) < 0;
            if (!bad)
                snprintf(cp->key_id, sizeof cp->key_id, "%s", v);
            break;
        }
        case 7:
            bad = strlen(v) != 128 || mmdx_unhex(v, cp->signature, 64) < 0;
            break;
        }
        if (bad)
            return mmdx_fail(MMDX_EFORMAT, "%s: line %d: invalid value of field '%s'", name, line,
                             keys[line - 1]);
    }
    return 0;
}

int mmdx_checkpoint_load(mmdx_checkpoint *cp, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mmdx_fail(errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "checkpoint %s: %s", path,
                         strerror(errno));
    char buf[2048];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    int err = ferror(f);
    fclose(f);
    if (err)
        return mmdx_fail(MMDX_EIO, "checkpoint %s: read error", path);
    buf[n] = '\0';
    return mmdx_checkpoint_parse(cp, buf, path);
}

int mmdx_checkpoint_keygen(const char *private_key_path, const char *public_key_path)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!k)
        return mmdx_fail(MMDX_ERROR, "Ed25519: key generation failed");
    int rc = 0;
    int fd = open(private_key_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = mmdx_fail(errno == EEXIST ? MMDX_EEXISTS : MMDX_EIO, "signing key %s: %s", private_key_path,
                       strerror(errno));
        EVP_PKEY_free(k);
        return rc;
    }
    FILE *f = fdopen(fd, "wb");
    if (!f || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1)
        rc = mmdx_fail(MMDX_EIO, "signing key %s: cannot write", private_key_path);
    if (f) {
        if (fclose(f) != 0 && rc == 0)
            rc = mmdx_fail(MMDX_EIO, "signing key %s: cannot write", private_key_path);
    } else {
        close(fd);
    }
    if (rc == 0 && public_key_path) {
        mmdx_atomic_file af;
        rc = mmdx_atomic_file_open(&af, public_key_path);
        if (rc == 0 && PEM_write_PUBKEY(af.f, k) != 1) {
            mmdx_atomic_file_abort(&af);
            rc = mmdx_fail(MMDX_EIO, "public key %s: cannot write", public_key_path);
        } else if (rc == 0) {
            rc = mmdx_atomic_file_commit(&af);
        }
    }
    if (rc < 0)
        remove(private_key_path);
    EVP_PKEY_free(k);
    return rc;
}
