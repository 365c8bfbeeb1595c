/* SPDX-License-Identifier: Apache-2.0 */
/* Sessions of the review server: random IDs and CSRF tokens, one reviewer connection each, and the
 * patients each looked up (so that no patient ID has to appear in a URL). */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hash.h"
#include "web_internal.h"

#define PATIENTS_PER_SESSION 1024

struct web_sessions {
    web_session **s;
    size_t n, max;
    int idle_timeout_s;
};

int web_sessions_new(web_sessions **out, int max_sessions, int idle_timeout_s)
{
    *out = NULL;
    web_sessions *t = calloc(1, sizeof *t);
    if (t)
        t->s = calloc((size_t)max_sessions, sizeof *t->s);
    if (!t || !t->s) {
        free(t);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    t->max = (size_t)max_sessions;
    t->idle_timeout_s = idle_timeout_s;
    *out = t;
    return 0;
}

static void wipe(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

static void session_free(web_session *s)
{
    mmdx_store_free(s->store);
    for (size_t i = 0; i < s->n_patients; i++)
        wipe(s->patients[i].query);
    free(s->patients);
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
}

void web_sessions_free(web_sessions *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        session_free(t->s[i]);
    free(t->s);
    free(t);
}

int web_random_token(char out[WEB_TOKEN_HEX + 1])
{
    unsigned char b[WEB_TOKEN_HEX / 2];
    if (RAND_bytes(b, sizeof b) != 1)
        return mmdx_fail(MMDX_ERROR, "the random number generator failed");
    mmdx_hex(b, sizeof b, out);
    OPENSSL_cleanse(b, sizeof b);
    return 0;
}

static void remove_at(web_sessions *t, size_t i)
{
    session_free(t->s[i]);
    t->s[i] = t->s[--t->n];
}

static void expire(web_sessions *t)
{
    time_t now = time(NULL);
    for (size_t i = t->n; i-- > 0;)
        if (now - t->s[i]->last_used > t->idle_timeout_s)
            remove_at(t, i);
}

int web_is_token(const char *t)
{
    if (!t || strlen(t) != WEB_TOKEN_HEX)
        return 0;
    for (; *t; t++)
        if (!((*t >= '0' && *t <= '9') || (*t >= 'a' && *t <= 'f')))
            return 0;
    return 1;
}

int web_token_eq(const char *a, const char *b)
{
    return web_is_token(a) && web_is_token(b) && CRYPTO_memcmp(a, b, WEB_TOKEN_HEX) == 0;
}

web_session *web_session_find(web_sessions *t, const char *cookie)
{
    expire(t);
    web_session *found = NULL;
    for (size_t i = 0; i < t->n; i++)
        if (web_token_eq(t->s[i]->id, cookie))
            found = t->s[i];
    if (found)
        found->last_used = time(NULL);
    return found;
}

int web_session_add(web_sessions *t, mmdx_store *store, web_session **out)
{
    *out = NULL;
    expire(t);
    if (t->n == t->max) {
        mmdx_store_free(store);
        return mmdx_fail(MMDX_ERROR, "%zu reviewers are logged in already, the most this server allows "
                                     "(--max-sessions); try again when one logs out", t->max);
    }
    web_session *s = calloc(1, sizeof *s);
    int rc = s ? 0 : mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (rc == 0)
        rc = web_random_token(s->id);
    if (rc == 0)
        rc = web_random_token(s->csrf);
    if (rc < 0) {
        free(s);
        mmdx_store_free(store);
        return rc;
    }
    s->store = store;
    s->last_used = time(NULL);
    t->s[t->n++] = s;
    *out = s;
    return 0;
}

void web_session_close(web_sessions *t, web_session *s)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->s[i] == s) {
            remove_at(t, i);
            return;
        }
}

int web_csrf_ok(const web_session *s, const char *token)
{
    return web_token_eq(s->csrf, token);
}

int web_patient_handle(web_session *s, const char *query, int stored, const char **handle)
{
    *handle = NULL;
    for (size_t i = 0; i < s->n_patients; i++)
        if (s->patients[i].stored == stored && strcmp(s->patients[i].query, query) == 0) {
            *handle = s->patients[i].handle;
            return 0;
        }
    if (!s->patients && !(s->patients = calloc(PATIENTS_PER_SESSION, sizeof *s->patients)))
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    web_patient p = {{0}, NULL, stored};
    int rc = 0;
    char psn[MMDX_PSEUDONYM_LEN];
    /* A pseudonym's hex names the patient in a URL; without a site key, a random handle of this session. */
    if (stored && mmdx_audit_is_pseudonym(query)) /* only such a stored value becomes a URL as it is */
        snprintf(p.handle, sizeof p.handle, "%s", query + 4);
    else if (!stored && mmdx_store_has_key(s->store) && (rc = mmdx_store_pseudonym(s->store, query, psn)) == 0)
        snprintf(p.handle, sizeof p.handle, "%s", psn + 4);
    else if (rc == 0)
        rc = web_random_token(p.handle);
    if (rc < 0)
        return rc;
    if (!(p.query = strdup(query)))
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    size_t slot;
    if (s->n_patients < PATIENTS_PER_SESSION) {
        slot = s->n_patients++;
    } else {
        slot = s->next_patient;
        wipe(s->patients[slot].query);
        s->next_patient = (slot + 1) % PATIENTS_PER_SESSION;
    }
    s->patients[slot] = p;
    *handle = s->patients[slot].handle;
    return 0;
}

const web_patient *web_patient_find(web_session *s, const char *handle)
{
    for (size_t i = 0; i < s->n_patients; i++)
        if (strcmp(s->patients[i].handle, handle) == 0)
            return &s->patients[i];
    return NULL;
}
