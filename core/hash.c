/* SPDX-License-Identifier: Apache-2.0 */
#include "hash.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

/*
 * SHA-256 fetched from the provider once. OpenSSL 3 otherwise looks the
 * algorithm up by name, under a global lock, in every EVP_Digest() with
 * EVP_sha256(): several times the cost of hashing a short record, and a
 * point where threads hashing audit events queue.
 */
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void) { sha256_md = EVP_MD_fetch(NULL, "SHA2-256", NULL); }

static const EVP_MD *sha256(void)
{
    pthread_once(&sha256_once, fetch_sha256);
    return sha256_md ? sha256_md : EVP_sha256();
}
#else
static const EVP_MD *sha256(void) { return EVP_sha256(); }
#endif

void mmdx_sha256(const void *data, size_t len, uint8_t out[MMDX_SHA256_LEN])
{
    unsigned int n = 0;
    EVP_Digest(data, len, out, &n, sha256(), NULL);
}

int mmdx_sha256_file(const char *path, uint8_t out[MMDX_SHA256_LEN])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mmdx_fail(errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: cannot open: %s", path,
                         strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, sha256(), NULL)) {
        EVP_MD_CTX_free(ctx);
        fclose(f);
        return mmdx_fail(MMDX_ENOMEM, "%s: cannot start SHA-256", path);
    }
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        EVP_DigestUpdate(ctx, buf, n);
    int bad = ferror(f);
    fclose(f);
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, out, &len);
    EVP_MD_CTX_free(ctx);
    if (bad)
        return mmdx_fail(MMDX_EIO, "%s: read error", path);
    return 0;
}

int mmdx_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                     uint8_t out[MMDX_SHA256_LEN])
{
    unsigned int n = 0;
    if (!HMAC(sha256(), key, (int)key_len, data, len, out, &n) || n != MMDX_SHA256_LEN)
        return mmdx_fail(MMDX_ERROR, "HMAC-SHA-256 failed");
    return 0;
}

void mmdx_hex(const uint8_t *bytes, size_t len, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = digits[bytes[i] >> 4];
        hex[2 * i + 1] = digits[bytes[i] & 15];
    }
    hex[2 * len] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int mmdx_unhex(const char *hex, uint8_t *bytes, size_t len)
{
    if (!hex || strlen(hex) != 2 * len)
        return MMDX_EFORMAT;
    for (size_t i = 0; i < len; i++) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return MMDX_EFORMAT;
        bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int mmdx_digest_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

void mmdx_uuid_from_name(const void *name, size_t len, char out[MMDX_UUID_TEXT_LEN])
{
    uint8_t h[MMDX_SHA256_LEN];
    mmdx_sha256(name, len, h);
    h[6] = (uint8_t)((h[6] & 0x0f) | 0x80); /* version 8: custom */
    h[8] = (uint8_t)((h[8] & 0x3f) | 0x80); /* RFC variant */
    char hex[33];
    mmdx_hex(h, 16, hex);
    snprintf(out, MMDX_UUID_TEXT_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}
