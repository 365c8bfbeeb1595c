/* SPDX-License-Identifier: Apache-2.0 */
/* The site key: loading, derived keys, pseudonyms. The key never leaves this file's buffers
 * (wiped after use) and is never printed. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hash.h"
#include "site_key.h"
#include "store_internal.h"

int mmdx_audit__load_site_key(mmdx_store *s, const char *path)
{
    mmdx_site_key *k = NULL;
    int rc = mmdx_site_key_read(&k, path);
    /* Separate keys for separate purposes, so a pseudonym never equals an event MAC. */
    if (rc == 0)
        rc = mmdx_site_key_derive(k, MMDX_KEY_PURPOSE_AUDIT, s->hmac_key);
    if (rc == 0)
        rc = mmdx_site_key_derive(k, MMDX_KEY_PURPOSE_PSEUDONYM, s->pseudonym_key);
    mmdx_site_key_free(k);
    if (rc == 0)
        s->have_key = 1;
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

int mmdx_audit_pseudonym(const char *site_key_file, const char *patient_id, char out[MMDX_PSEUDONYM_LEN])
{
    mmdx_store tmp;
    memset(&tmp, 0, sizeof tmp);
    int rc = mmdx_audit__load_site_key(&tmp, site_key_file);
    if (rc == 0)
        rc = mmdx_store_pseudonym(&tmp, patient_id, out);
    OPENSSL_cleanse(tmp.hmac_key, sizeof tmp.hmac_key);
    OPENSSL_cleanse(tmp.pseudonym_key, sizeof tmp.pseudonym_key);
    return rc;
}

int mmdx_audit_is_pseudonym(const char *id)
{
    if (strncmp(id, "psn:", 4) != 0 || strlen(id) != MMDX_PSEUDONYM_LEN - 1)
        return 0;
    for (const char *p = id + 4; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}
