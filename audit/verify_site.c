/* SPDX-License-Identifier: Apache-2.0 */
#include "verify_site.h"

#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "checkpoint.h"
#include "error.h"

static int has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The given checkpoint files, then every *.checkpoint of the configured folder (sorted). */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int collect(const mmdx_site_verify_options *o, char ***out, size_t *n_out)
{
    size_t cap = o->n_checkpoints + 16, n = 0;
    char **paths = calloc(cap, sizeof *paths);
    int rc = paths ? 0 : mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < o->n_checkpoints; i++)
        if (!(paths[n++] = strdup(o->checkpoints[i])))
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    const char *dir = o->site ? o->site->checkpoint_dir : NULL;
    DIR *d = rc == 0 && dir ? opendir(dir) : NULL;
    size_t first_listed = n;
    struct dirent *de;
    while (d && rc == 0 && (de = readdir(d)) != NULL) {
        if (!has_suffix(de->d_name, ".checkpoint"))
            continue;
        if (mmdx_array_reserve(&paths, &cap, n + 1, sizeof *paths, 16, 0) < 0) {
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
            break;
        }
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        if (!(paths[n] = malloc(len))) {
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
            break;
        }
        snprintf(paths[n++], len, "%s/%s", dir, de->d_name);
    }
    if (d)
        closedir(d);
    if (n > first_listed)
        qsort(paths + first_listed, n - first_listed, sizeof *paths, cmp_str);
    *out = paths;
    *n_out = n;
    return rc;
}

static void record(mmdx_store *s, int outcome, json_object *detail, mmdx_site_verify_result *out)
{
    mmdx_audit_event e = {0};
    e.action = "audit.verify";
    e.outcome = outcome;
    e.object_type = "audit-log";
    e.detail_json = json_object_to_json_string_ext(detail, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (mmdx_store_audit(s, &e, NULL) == 0)
        out->recorded = 1;
    else
        snprintf(out->record_error, sizeof out->record_error, "%s", mmdx_last_error());
}

int mmdx_audit_verify_site(mmdx_store *s, const mmdx_site_verify_options *o, mmdx_site_verify_result *out)
{
    memset(out, 0, sizeof *out);
    char **paths = NULL;
    size_t n = 0;
    int rc = collect(o, &paths, &n);
    mmdx_checkpoint *cps = calloc(n ? n : 1, sizeof *cps);
    const mmdx_checkpoint **cpp = calloc(n ? n : 1, sizeof *cpp);
    if (rc == 0 && (!cps || !cpp))
        rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
    const char *vkey = o->site ? o->site->verify_key : NULL;
    if (rc == 0 && n && !vkey)
        rc = mmdx_fail(MMDX_EINVAL, "verify: checkpoints need the public key to check their signatures "
                                    "(--verify-key or [audit] verify_key)");
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = mmdx_checkpoint_load(&cps[i], paths[i]);
        if (rc == 0 && (rc = mmdx_checkpoint_verify(&cps[i], vkey)) < 0) {
            char msg[MMDX_ERROR_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "%s", mmdx_last_error());
            rc = mmdx_fail(rc, "%s: %s", paths[i], msg);
        }
        cpp[i] = &cps[i];
        if (rc == 0 && (!out->has_latest || cps[i].size > out->latest.size ||
                        (cps[i].size == out->latest.size && cps[i].time_us > out->latest.time_us))) {
            out->has_latest = 1;
            out->latest = cps[i];
            snprintf(out->latest_file, sizeof out->latest_file, "%s", paths[i]);
        }
    }
    if (rc < 0)
        out->has_latest = 0;
    if (rc == MMDX_EINTEGRITY) {
        /* A forged or altered checkpoint is itself a finding: record it, then report it. */
        char msg[MMDX_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "%s", mmdx_last_error());
        out->checkpoint_rejected = 1;
        json_object *det = json_object_new_object();
        json_object_object_add(det, "intact", json_object_new_boolean(0));
        json_object_object_add(det, "checkpoint_rejected", json_object_new_string(msg));
        record(s, MMDX_OUTCOME_SERIOUS_FAILURE, det, out);
        json_object_put(det);
        rc = mmdx_fail(MMDX_EINTEGRITY, "%s", msg);
    }
    if (rc == 0 && o->require_hmac && !mmdx_store_has_key(s))
        rc = mmdx_fail(MMDX_EINVAL, "verify: --require-hmac needs the site key (--site-key, $MMDX_SITE_KEY or "
                                    "[audit] site_key_file)");
    if (rc == 0) {
        mmdx_verify_options vo = {0};
        vo.checkpoints = cpp;
        vo.n_checkpoints = n;
        out->hmacs_checked = mmdx_store_has_key(s);
        vo.check_hmac = out->hmacs_checked ? (o->require_hmac ? 2 : 1) : 0;
        vo.progress = o->progress;
        vo.progress_ctx = o->progress_ctx;
        rc = mmdx_store_verify(s, &vo, &out->report);
        if (rc == 0 || rc == MMDX_EINTEGRITY) {
            char keep[MMDX_ERROR_MESSAGE_MAX];
            snprintf(keep, sizeof keep, "%s", mmdx_last_error());
            out->walked = 1;
            json_object *det = json_object_new_object();
            json_object_object_add(det, "events", json_object_new_int64(out->report.n_events));
            json_object_object_add(det, "intact", json_object_new_boolean(rc == 0));
            if (rc)
                json_object_object_add(det, "first_broken_seq", json_object_new_int64(out->report.first_bad_seq));
            json_object_object_add(det, "checkpoints", json_object_new_int64(out->report.n_checkpoints));
            json_object_object_add(det, "hmacs_checked", json_object_new_boolean(out->hmacs_checked));
            record(s, rc == 0 ? MMDX_OUTCOME_SUCCESS : MMDX_OUTCOME_SERIOUS_FAILURE, det, out);
            json_object_put(det);
            if (rc)
                rc = mmdx_fail(rc, "%s", keep);
        }
    }
    for (size_t i = 0; paths && i < n; i++)
        free(paths[i]);
    free(paths);
    free(cps);
    free(cpp);
    return rc;
}
