/* SPDX-License-Identifier: Apache-2.0 */
#include "model_file.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "atomic_file.h"
#include "error.h"

#define MAGIC "MMDX-MODEL "

int mmdx_model_file_new(mmdx_model_file **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    (*out)->format_version = MMDX_MODEL_FORMAT_VERSION;
    (*out)->threshold = 0.5;
    return 0;
}

void mmdx_model_file_free(mmdx_model_file *m)
{
    if (!m)
        return;
    free(m->mmdx_version);
    free(m->created);
    free(m->fusion);
    free(m->fusion_version);
    free(m->classifier);
    for (size_t i = 0; m->encoders && i < m->n_encoders; i++) {
        free(m->encoders[i].name);
        free(m->encoders[i].version);
    }
    free(m->encoders);
    for (size_t i = 0; m->modalities && i < m->n_modalities; i++)
        free(m->modalities[i]);
    free(m->modalities);
    free(m->modality_features);
    for (size_t i = 0; m->feature_names && i < m->n_features; i++)
        free(m->feature_names[i]);
    free(m->feature_names);
    free(m->feature_modality);
    free(m->blob);
    free(m);
}

/* A value written into the header must be one token without spaces or line breaks. */
static int token_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return 0;
    return 1;
}

typedef struct buf {
    char *d;
    size_t len, cap;
    int failed;
} buf;

static void put(buf *b, const void *data, size_t n)
{
    if (b->failed)
        return;
    if (mmdx_array_reserve(&b->d, &b->cap, b->len + n + 1, 1, 8192, 0) < 0) {
        b->failed = 1;
        return;
    }
    memcpy(b->d + b->len, data, n);
    b->len += n;
    b->d[b->len] = '\0';
}

static void putf(buf *b, const char *fmt, ...) MMDX_FORMAT(2, 3);
static void putf(buf *b, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line) {
        b->failed = 1;
        return;
    }
    put(b, line, (size_t)n);
}

/* Through core's atomic file; a model holds no patient data and is read by the
 * services that score with it, so it is made readable by all (0644). */
static int write_atomic(const char *path, const void *data, size_t len)
{
    mmdx_atomic_file af;
    int rc = mmdx_atomic_file_open(&af, path);
    if (rc)
        return rc;
    if (fchmod(fileno(af.f), 0644) != 0) {
        int e = errno;
        mmdx_atomic_file_abort(&af);
        return mmdx_fail(MMDX_EIO, "%s: cannot set permissions: %s", path, strerror(e));
    }
    if (fwrite(data, 1, len, af.f) != len) {
        mmdx_atomic_file_abort(&af);
        return mmdx_fail(MMDX_EIO, "%s: write failed", path);
    }
    return mmdx_atomic_file_commit(&af);
}

int mmdx_model_file_write(const mmdx_model_file *m, const char *path, const uint8_t *key,
                          size_t key_len)
{
    if (!token_ok(m->fusion) || !token_ok(m->fusion_version) || !token_ok(m->classifier) ||
        !token_ok(m->mmdx_version) || !token_ok(m->created))
        return mmdx_fail(MMDX_EINVAL, "%s: model description has an empty or invalid name", path);
    for (size_t i = 0; i < m->n_encoders; i++)
        if (!token_ok(m->encoders[i].name) || !token_ok(m->encoders[i].version))
            return mmdx_fail(MMDX_EINVAL, "%s: encoder %zu has an invalid name or version", path, i);
    for (size_t i = 0; i < m->n_modalities; i++)
        if (!token_ok(m->modalities[i]))
            return mmdx_fail(MMDX_EINVAL, "%s: modality %zu has an invalid name", path, i);
    for (size_t i = 0; i < m->n_features; i++)
        if (!token_ok(m->feature_names[i]))
            return mmdx_fail(MMDX_EINVAL, "%s: feature %zu has an invalid name", path, i);
    buf b = {0};
    putf(&b, MAGIC "%d\n", MMDX_MODEL_FORMAT_VERSION);
    putf(&b, "mmdx-version: %s\ncreated: %s\n", m->mmdx_version, m->created);
    putf(&b, "fusion: %s %s\nfusion-config-sha256: %s\n", m->fusion, m->fusion_version,
         m->fusion_config_sha256);
    putf(&b, "classifier: %s\nseed: %llu\nthreshold: %.17g\n", m->classifier,
         (unsigned long long)m->seed, m->threshold);
    putf(&b, "source: %s\ntraining-data-sha256: %s\ntraining-patients: %zu %zu\n",
         m->from_encoders ? "encoders" : "table", m->training_sha256, m->n_train, m->n_train_pos);
    for (size_t i = 0; i < m->n_encoders; i++)
        putf(&b, "encoder: %s %s %s\n", m->encoders[i].name, m->encoders[i].version,
             m->encoders[i].config_sha256);
    for (size_t i = 0; i < m->n_modalities; i++)
        putf(&b, "modality: %s %zu\n", m->modalities[i], m->modality_features[i]);
    for (size_t i = 0; i < m->n_features; i++)
        putf(&b, "feature: %s\n", m->feature_names[i]);
    putf(&b, "blob: %s %zu\n", m->fusion, m->blob_len);
    put(&b, m->blob, m->blob_len);
    put(&b, "\n", 1);
    if (b.failed) {
        free(b.d);
        return mmdx_fail(MMDX_ENOMEM, "%s: out of memory while writing the model", path);
    }
    uint8_t digest[MMDX_SHA256_LEN];
    char hex[MMDX_SHA256_HEX_LEN];
    size_t content = b.len;
    mmdx_sha256(b.d, content, digest);
    mmdx_hex(digest, MMDX_SHA256_LEN, hex);
    putf(&b, "sha256: %s\n", hex);
    if (key && key_len) {
        uint8_t mac[MMDX_SHA256_LEN];
        if (mmdx_hmac_sha256(key, key_len, b.d, content, mac) != 0) {
            free(b.d);
            return mmdx_fail(MMDX_ERROR, "%s: HMAC-SHA-256 failed", path);
        }
        mmdx_hex(mac, MMDX_SHA256_LEN, hex);
        putf(&b, "signature: hmac-sha256 %s\n", hex);
    } else {
        putf(&b, "signature: none\n");
    }
    int rc = b.failed ? mmdx_fail(MMDX_ENOMEM, "out of memory") : write_atomic(path, b.d, b.len);
    free(b.d);
    return rc;
}

/* ---- reading ---------------------------------------------------------- */

typedef struct reader {
    const char *p, *end;
    const char *name;
    long line;
} reader;

/* Next line (without its newline) into a NUL-terminated copy; 0 at end. */
static int next_line(reader *r, char *out, size_t size)
{
    if (r->p >= r->end)
        return 0;
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    if (!nl)
        return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: unterminated header line", r->name, r->line + 1);
    size_t n = (size_t)(nl - r->p);
    r->line++;
    if (n >= size)
        return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: header line too long", r->name, r->line);
    memcpy(out, r->p, n);
    out[n] = '\0';
    if (memchr(out, '\0', n))
        return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: NUL byte in the header", r->name, r->line);
    r->p = nl + 1;
    return 1;
}

static int bad_line(const reader *r, const char *what)
{
    return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: %s", r->name, r->line, what);
}

static int hex_ok(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

static char *dup_or_fail(const char *s, int *rc)
{
    char *c = strdup(s);
    if (!c)
        *rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    return c;
}

/* Locate the trailer: "sha256: <hex>\nsignature: ...\n" ending the data. */
static int split_trailer(const char *d, size_t len, const char *name, size_t *content_len,
                         char *sha_hex, char *sig_line, size_t sig_size)
{
    if (len < 2 || d[len - 1] != '\n')
        return mmdx_fail(MMDX_EINTEGRITY, "%s: truncated model file (no integrity trailer)", name);
    /* the signature line is the last line; the sha256 line the one before */
    size_t s = len - 1;
    while (s > 0 && d[s - 1] != '\n')
        s--;
    if (s < 2)
        return mmdx_fail(MMDX_EINTEGRITY, "%s: truncated model file (no integrity trailer)", name);
    size_t h = s - 1;
    while (h > 0 && d[h - 1] != '\n')
        h--;
    size_t hl = s - h - 1, sl = len - s - 1;
    if (hl != 8 + 64 || memcmp(d + h, "sha256: ", 8) != 0 || sl >= sig_size ||
        sl < 11 || memcmp(d + s, "signature: ", 11) != 0)
        return mmdx_fail(MMDX_EINTEGRITY, "%s: truncated or damaged model file (no integrity trailer)", name);
    memcpy(sha_hex, d + h + 8, 64);
    sha_hex[64] = '\0';
    memcpy(sig_line, d + s + 11, sl - 11);
    sig_line[sl - 11] = '\0';
    *content_len = h;
    return 0;
}

static int parse_header(mmdx_model_file *m, reader *r)
{
    char line[4096], a[4096], b[4096], c[4096];
    int rc = 0, seen_blob = 0;
    /* m comes fresh from calloc: its arrays start empty */
    size_t cap_encoders = 0, cap_modalities = 0, cap_modality_features = 0, cap_features = 0;
    while (!seen_blob) {
        int got = next_line(r, line, sizeof line);
        if (got < 0)
            return got;
        if (got == 0)
            return mmdx_fail(MMDX_EFORMAT, "%s: no 'blob:' line", r->name);
        char *colon = strstr(line, ": ");
        if (!colon)
            return bad_line(r, "expected 'key: value'");
        *colon = '\0';
        const char *key = line, *val = colon + 2;
        int n;
        if (strcmp(key, "mmdx-version") == 0) {
            free(m->mmdx_version);
            m->mmdx_version = dup_or_fail(val, &rc);
        } else if (strcmp(key, "created") == 0) {
            free(m->created);
            m->created = dup_or_fail(val, &rc);
        } else if (strcmp(key, "fusion") == 0) {
            if (sscanf(val, "%4095s %4095s%n", a, b, &n) != 2 || val[n])
                return bad_line(r, "expected 'fusion: <plugin> <version>'");
            free(m->fusion), free(m->fusion_version);
            m->fusion = dup_or_fail(a, &rc);
            m->fusion_version = dup_or_fail(b, &rc);
        } else if (strcmp(key, "fusion-config-sha256") == 0) {
            if (!hex_ok(val))
                return bad_line(r, "expected 64 hex digits");
            strcpy(m->fusion_config_sha256, val);
        } else if (strcmp(key, "classifier") == 0) {
            free(m->classifier);
            m->classifier = dup_or_fail(val, &rc);
        } else if (strcmp(key, "seed") == 0) {
            char *end;
            errno = 0;
            m->seed = strtoull(val, &end, 10);
            if (errno || *end || !*val)
                return bad_line(r, "bad seed");
        } else if (strcmp(key, "threshold") == 0) {
            char *end;
            m->threshold = strtod(val, &end);
            if (*end || !*val || !(m->threshold > 0 && m->threshold < 1))
                return bad_line(r, "threshold must be a number in (0, 1)");
        } else if (strcmp(key, "source") == 0) {
            if (strcmp(val, "encoders") == 0)
                m->from_encoders = 1;
            else if (strcmp(val, "table") == 0)
                m->from_encoders = 0;
            else
                return bad_line(r, "source must be 'encoders' or 'table'");
        } else if (strcmp(key, "training-data-sha256") == 0) {
            if (!hex_ok(val))
                return bad_line(r, "expected 64 hex digits");
            strcpy(m->training_sha256, val);
        } else if (strcmp(key, "training-patients") == 0) {
            if (sscanf(val, "%zu %zu%n", &m->n_train, &m->n_train_pos, &n) != 2 || val[n] ||
                m->n_train_pos > m->n_train)
                return bad_line(r, "expected 'training-patients: <n> <n with label 1>'");
        } else if (strcmp(key, "encoder") == 0) {
            if (sscanf(val, "%4095s %4095s %4095s%n", a, b, c, &n) != 3 || val[n] || !hex_ok(c))
                return bad_line(r, "expected 'encoder: <name> <version> <config sha256>'");
            if (mmdx_array_reserve(&m->encoders, &cap_encoders, m->n_encoders + 1,
                                   sizeof *m->encoders, 8, 0) < 0)
                return mmdx_fail(MMDX_ENOMEM, "out of memory");
            mmdx_model_encoder *e = &m->encoders[m->n_encoders++];
            memset(e, 0, sizeof *e);
            e->name = dup_or_fail(a, &rc);
            e->version = dup_or_fail(b, &rc);
            strcpy(e->config_sha256, c);
        } else if (strcmp(key, "modality") == 0) {
            size_t k;
            if (sscanf(val, "%4095s %zu%n", a, &k, &n) != 2 || val[n])
                return bad_line(r, "expected 'modality: <name> <features>'");
            if (mmdx_array_reserve(&m->modalities, &cap_modalities, m->n_modalities + 1,
                                   sizeof *m->modalities, 8, 0) < 0 ||
                mmdx_array_reserve(&m->modality_features, &cap_modality_features, m->n_modalities + 1,
                                   sizeof *m->modality_features, 8, 0) < 0)
                return mmdx_fail(MMDX_ENOMEM, "out of memory");
            m->modality_features[m->n_modalities] = k;
            m->modalities[m->n_modalities++] = dup_or_fail(a, &rc);
        } else if (strcmp(key, "feature") == 0) {
            if (!token_ok(val))
                return bad_line(r, "bad feature name");
            if (mmdx_array_reserve(&m->feature_names, &cap_features, m->n_features + 1,
                                   sizeof *m->feature_names, 8, 0) < 0)
                return mmdx_fail(MMDX_ENOMEM, "out of memory");
            m->feature_names[m->n_features++] = dup_or_fail(val, &rc);
        } else if (strcmp(key, "blob") == 0) {
            size_t len;
            if (sscanf(val, "%4095s %zu%n", a, &len, &n) != 2 || val[n])
                return bad_line(r, "expected 'blob: <plugin> <length>'");
            if (!m->fusion || strcmp(a, m->fusion) != 0)
                return bad_line(r, "blob plugin differs from the 'fusion:' line");
            if (len > (size_t)(r->end - r->p) || (size_t)(r->end - r->p) - len != 1 || r->p[len] != '\n')
                return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: blob length %zu does not match the file",
                                 r->name, r->line, len);
            m->blob = malloc(len ? len : 1);
            if (!m->blob)
                return mmdx_fail(MMDX_ENOMEM, "out of memory");
            memcpy(m->blob, r->p, len);
            m->blob_len = len;
            r->p += len + 1;
            seen_blob = 1;
        } else {
            /* newer minor additions would be ignored here; version 1 has no others */
            return mmdx_fail(MMDX_EFORMAT, "%s: line %ld: unknown header key '%s'", r->name, r->line, key);
        }
        if (rc)
            return rc;
    }
    /* consistency */
    if (!m->fusion || !m->classifier || !m->fusion_config_sha256[0] || !m->training_sha256[0] ||
        !m->n_features || !m->n_modalities)
        return mmdx_fail(MMDX_EFORMAT, "%s: header lacks fusion, classifier, hashes, modalities or features",
                         r->name);
    m->feature_modality = malloc(m->n_features * sizeof *m->feature_modality);
    if (!m->feature_modality)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    size_t j = 0;
    for (size_t k = 0; k < m->n_modalities; k++) {
        size_t pl = strlen(m->modalities[k]);
        for (size_t f = 0; f < m->modality_features[k]; f++, j++) {
            if (j >= m->n_features || strncmp(m->feature_names[j], m->modalities[k], pl) != 0 ||
                m->feature_names[j][pl] != '.')
                return mmdx_fail(MMDX_EFORMAT, "%s: feature list does not match the modality counts", r->name);
            m->feature_modality[j] = (uint32_t)k;
        }
    }
    if (j != m->n_features)
        return mmdx_fail(MMDX_EFORMAT, "%s: feature list does not match the modality counts", r->name);
    return 0;
}

int mmdx_model_file_parse(mmdx_model_file **out, const void *data, size_t len, const char *name,
                          const uint8_t *key, size_t key_len, int require_signature)
{
    *out = NULL;
    const char *d = data;
    size_t ml = strlen(MAGIC);
    if (len < ml || memcmp(d, MAGIC, ml) != 0)
        return mmdx_fail(MMDX_EFORMAT, "%s: not an mmdx model file (no '" MAGIC "' header)", name);
    size_t content = 0;
    char sha_hex[65], sig[256];
    int rc = split_trailer(d, len, name, &content, sha_hex, sig, sizeof sig);
    if (rc)
        return rc;
    uint8_t digest[MMDX_SHA256_LEN], want[MMDX_SHA256_LEN];
    mmdx_sha256(d, content, digest);
    if (mmdx_unhex(sha_hex, want, MMDX_SHA256_LEN) != 0 || !mmdx_digest_equal(digest, want, MMDX_SHA256_LEN))
        return mmdx_fail(MMDX_EINTEGRITY, "%s: SHA-256 mismatch: the model file was altered or damaged", name);
    int is_signed = 0, verified = 0;
    if (strcmp(sig, "none") != 0) {
        if (strncmp(sig, "hmac-sha256 ", 12) != 0 || strlen(sig + 12) != 64)
            return mmdx_fail(MMDX_EINTEGRITY, "%s: unreadable signature line", name);
        is_signed = 1;
        if (key && key_len) {
            uint8_t mac[MMDX_SHA256_LEN], got[MMDX_SHA256_LEN];
            if (mmdx_unhex(sig + 12, got, MMDX_SHA256_LEN) != 0)
                return mmdx_fail(MMDX_EINTEGRITY, "%s: unreadable signature line", name);
            if (mmdx_hmac_sha256(key, key_len, d, content, mac) != 0)
                return mmdx_fail(MMDX_ERROR, "%s: HMAC-SHA-256 failed", name);
            if (!mmdx_digest_equal(mac, got, MMDX_SHA256_LEN))
                return mmdx_fail(MMDX_EINTEGRITY,
                                 "%s: the signature does not verify with this site key (altered, or signed "
                                 "with another key)", name);
            verified = 1;
        }
    }
    if (require_signature) {
        if (!key || !key_len)
            return mmdx_fail(MMDX_EINTEGRITY, "%s: a signed model is required but no site key was given to verify it", name);
        if (!is_signed)
            return mmdx_fail(MMDX_EINTEGRITY, "%s: the model is unsigned and this host requires signed models", name);
    }
    mmdx_model_file *m = calloc(1, sizeof *m);
    if (!m)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    reader r = {d, d + content, name, 0};
    char line[64];
    rc = next_line(&r, line, sizeof line);
    if (rc > 0) {
        char *end;
        long v = strtol(line + ml, &end, 10);
        if (*end || end == line + ml || v < 1)
            rc = mmdx_fail(MMDX_EFORMAT, "%s: line 1: bad format version", name);
        else if (v > MMDX_MODEL_FORMAT_VERSION)
            rc = mmdx_fail(MMDX_EUNSUPPORTED, "%s: model format version %ld is newer than this mmdx reads (%d)",
                           name, v, MMDX_MODEL_FORMAT_VERSION);
        else
            m->format_version = (int)v, rc = 0;
    } else if (rc == 0) {
        rc = mmdx_fail(MMDX_EFORMAT, "%s: empty header", name);
    }
    if (!rc)
        rc = parse_header(m, &r);
    if (!rc && r.p != r.end)
        rc = mmdx_fail(MMDX_EFORMAT, "%s: unexpected data after the blob", name);
    if (rc) {
        mmdx_model_file_free(m);
        return rc;
    }
    memcpy(m->sha256, sha_hex, sizeof m->sha256);
    m->is_signed = is_signed;
    m->signature_verified = verified;
    *out = m;
    return 0;
}

int mmdx_model_file_read(mmdx_model_file **out, const char *path, const uint8_t *key,
                         size_t key_len, int require_signature)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mmdx_fail(errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: %s", path, strerror(errno));
    char *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (mmdx_array_reserve(&data, &cap, len + 65536, 1, 1 << 20, 0) < 0) {
            free(data);
            fclose(f);
            return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
        }
        size_t n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(data);
        return mmdx_fail(MMDX_EIO, "%s: read error", path);
    }
    int rc = mmdx_model_file_parse(out, data, len, path, key, key_len, require_signature);
    free(data);
    return rc;
}
