/*
 * orthanc/plugin.c — the mmdx-orthanc plugin: Orthanc SDK glue, the REST
 * routes and the worker thread.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Orthanc's change callback runs inside its core, where calling the REST API
 * can deadlock, and where a slow database would stall Orthanc. So the
 * callback only wakes the worker; the worker reads the studies to screen from
 * Orthanc's change log (changes.h: nothing is lost when Orthanc is killed
 * before a study is queued), moves them through an in-memory spool (with the
 * requests of POST /mmdx/studies/{id}/screen) into the PostgreSQL queue,
 * saves how far it has read (a global property of Orthanc's database),
 * claims jobs and screens them through the REST API. A configuration error leaves the
 * plugin loaded but idle (Orthanc keeps serving images) and is reported in
 * the log and at GET /mmdx/status.
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <orthanc/OrthancCPlugin.h>

#include "changes.h"
#include "clock.h"
#include "error.h"
#include "neighbours.h"
#include "queue.h"
#include "rest_report.h"
#include "worker.h"
#include "settings.h"

#ifndef MMDX_VERSION_STRING
#define MMDX_VERSION_STRING "0"
#endif

#define PLUGIN_NAME "mmdx-orthanc"

typedef struct spool_item {
    char id[MMDX_ORTHANC_ID_MAX];
    int force;
} spool_item;

static OrthancPluginContext *g_ctx;
static mmdx_orthanc_settings g_settings;
static char *g_config_error;   /* why the plugin is idle, or NULL */
static char *g_plugin_dir;     /* default mmdx plugin folder, next to this library */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static spool_item *g_spool;
static size_t g_n_spool, g_cap_spool;
static int g_stopping;
static int g_wake; /* a change arrived: read the change log */
static int g_worker_started;
static pthread_t g_worker;
static char g_worker_state[512] = "not started";

static pthread_mutex_t g_rest_mu = PTHREAD_MUTEX_INITIALIZER;
static mmdx_job_queue *g_rest_queue; /* REST handlers' own connection */

static pthread_mutex_t g_similar_mu = PTHREAD_MUTEX_INITIALIZER;
static mmdx_orthanc_neighbours *g_neighbours; /* the /similar route's model and reviewer connection */

/* ------------------------------------------------------------------------ */
/* Logging and the PACS interface                                            */
/* ------------------------------------------------------------------------ */

static void log_line(mmdx_log_level level, const char *fmt, ...) MMDX_FORMAT(2, 3);

static void log_line(mmdx_log_level level, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (!g_ctx)
        return;
    if (level == MMDX_LOG_ERROR)
        OrthancPluginLogError(g_ctx, buf);
    else if (level == MMDX_LOG_WARNING)
        OrthancPluginLogWarning(g_ctx, buf);
    else
        OrthancPluginLogInfo(g_ctx, buf);
}

static void pacs_log(void *ctx, mmdx_log_level level, const char *message)
{
    (void)ctx;
    log_line(level, "%s", message);
}

static int take_buffer(OrthancPluginMemoryBuffer *b, char **out, size_t *len)
{
    *out = malloc((size_t)b->size + 1);
    if (!*out) {
        OrthancPluginFreeMemoryBuffer(g_ctx, b);
        return MMDX_ENOMEM;
    }
    if (b->size)
        memcpy(*out, b->data, b->size);
    (*out)[b->size] = '\0';
    if (len)
        *len = b->size;
    OrthancPluginFreeMemoryBuffer(g_ctx, b);
    return 0;
}

static int map_error(OrthancPluginErrorCode e)
{
    if (e == OrthancPluginErrorCode_Success)
        return 0;
    if (e == OrthancPluginErrorCode_UnknownResource || e == OrthancPluginErrorCode_InexistentItem ||
        e == OrthancPluginErrorCode_InexistentFile)
        return MMDX_ENOTFOUND;
    return MMDX_EIO;
}

static int pacs_get(void *ctx, const char *uri, char **body, size_t *len)
{
    (void)ctx;
    OrthancPluginMemoryBuffer b;
    memset(&b, 0, sizeof b);
    *body = NULL;
    int rc = map_error(OrthancPluginRestApiGet(g_ctx, &b, uri));
    return rc ? rc : take_buffer(&b, body, len);
}

static int pacs_post(void *ctx, const char *uri, const void *body, size_t len, char **answer, size_t *alen)
{
    (void)ctx;
    OrthancPluginMemoryBuffer b;
    memset(&b, 0, sizeof b);
    *answer = NULL;
    if (len > UINT32_MAX)
        return MMDX_EINVAL;
    int rc = map_error(OrthancPluginRestApiPost(g_ctx, &b, uri, body, (uint32_t)len));
    return rc ? rc : take_buffer(&b, answer, alen);
}

static int pacs_del(void *ctx, const char *uri)
{
    (void)ctx;
    return map_error(OrthancPluginRestApiDelete(g_ctx, uri));
}

static const mmdx_pacs g_pacs = {NULL, pacs_get, pacs_post, pacs_del, pacs_log};

/* ------------------------------------------------------------------------ */
/* The spool: studies noticed but not yet in the database                    */
/* ------------------------------------------------------------------------ */

static int spool_push(const char *id, int force)
{
    if (strlen(id) >= MMDX_ORTHANC_ID_MAX)
        return MMDX_EINVAL;
    pthread_mutex_lock(&g_mu);
    int rc = 0;
    size_t i;
    for (i = 0; i < g_n_spool; i++)
        if (strcmp(g_spool[i].id, id) == 0)
            break;
    if (i < g_n_spool) {
        g_spool[i].force |= force;
    } else {
        if (g_n_spool == g_cap_spool) {
            size_t cap = g_cap_spool ? 2 * g_cap_spool : 64;
            spool_item *n = realloc(g_spool, cap * sizeof *n);
            if (!n)
                rc = MMDX_ENOMEM;
            else
                g_spool = n, g_cap_spool = cap;
        }
        if (!rc) {
            snprintf(g_spool[g_n_spool].id, sizeof g_spool[g_n_spool].id, "%s", id);
            g_spool[g_n_spool++].force = force;
        }
    }
    pthread_cond_signal(&g_cv);
    pthread_mutex_unlock(&g_mu);
    return rc;
}

/* Move the spool into the queue; whatever fails stays spooled. */
static int spool_flush(mmdx_job_queue *q)
{
    pthread_mutex_lock(&g_mu);
    size_t n = g_n_spool;
    spool_item *items = n ? malloc(n * sizeof *items) : NULL;
    if (items) {
        memcpy(items, g_spool, n * sizeof *items);
        g_n_spool = 0;
    } else {
        n = 0;
    }
    pthread_mutex_unlock(&g_mu);
    int rc = 0;
    size_t done = 0;
    for (; done < n; done++)
        if ((rc = mmdx_job_queue_enqueue(q, items[done].id, items[done].force)) < 0)
            break;
    for (size_t i = done; i < n; i++)
        (void)spool_push(items[i].id, items[i].force);
    free(items);
    return rc;
}

static void set_worker_state(const char *fmt, ...) MMDX_FORMAT(1, 2);

static void set_worker_state(const char *fmt, ...)
{
    pthread_mutex_lock(&g_mu);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_worker_state, sizeof g_worker_state, fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&g_mu);
}

/* Sleep up to `seconds`, waking early for new work or shutdown. Returns 1 when stopping. */
static int wait_for_work(int seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    pthread_mutex_lock(&g_mu);
    while (!g_stopping && g_n_spool == 0 && !g_wake)
        if (pthread_cond_timedwait(&g_cv, &g_mu, &until) == ETIMEDOUT)
            break;
    g_wake = 0;
    int stop = g_stopping;
    pthread_mutex_unlock(&g_mu);
    return stop;
}

static int stopping(void)
{
    pthread_mutex_lock(&g_mu);
    int s = g_stopping;
    pthread_mutex_unlock(&g_mu);
    return s;
}

/* ------------------------------------------------------------------------ */
/* The worker                                                                */
/* ------------------------------------------------------------------------ */

static void process(mmdx_job_queue *q, mmdx_screener **sc, const mmdx_job *job)
{
    int rc = 0;
    if (!*sc)
        rc = mmdx_screener_new(sc, &g_settings, &g_pacs, g_plugin_dir);
    int transient = rc != 0; /* an unprepared screener (model, plugins) may be fixed by the administrator */
    mmdx_screen_outcome outcome = MMDX_SCREEN_DONE;
    char *result = NULL, fingerprint[65] = "";
    if (!rc) {
        rc = mmdx_screener_run(*sc, job, &outcome, &result, fingerprint);
        transient = rc && mmdx_screen_error_is_transient(rc);
    }
    if (!rc) {
        if (outcome == MMDX_SCREEN_UNCHANGED) {
            log_line(MMDX_LOG_INFO, "mmdx: study %s unchanged since its last screening: nothing to do", job->orthanc_id);
            rc = mmdx_job_queue_unchanged(q, job->orthanc_id);
        } else {
            mmdx_orthanc_crash_point("orthanc.before-done");
            rc = mmdx_job_queue_done(q, job->orthanc_id, fingerprint, result);
        }
        if (rc)
            log_line(MMDX_LOG_ERROR, "mmdx: study %s: %s", job->orthanc_id, mmdx_last_error());
        free(result);
        return;
    }
    char message[1200];
    snprintf(message, sizeof message, "%s", mmdx_last_error());
    int retry = transient && job->attempts < g_settings.max_attempts ? g_settings.retry_delay : -1;
    log_line(MMDX_LOG_ERROR, "mmdx: study %s: screening failed (attempt %d of %d%s): %s", job->orthanc_id,
             job->attempts, g_settings.max_attempts, retry >= 0 ? ", will retry" : "", message);
    if (mmdx_orthanc_audit_failure(&g_settings, job->orthanc_id, message, job->attempts) < 0)
        log_line(MMDX_LOG_ERROR, "mmdx: study %s: the failure could not be audited: %s", job->orthanc_id,
                 mmdx_last_error());
    if (mmdx_job_queue_failed(q, job->orthanc_id, message, retry) < 0)
        log_line(MMDX_LOG_ERROR, "mmdx: study %s: %s", job->orthanc_id, mmdx_last_error());
}

/* Where the worker has read Orthanc's change log to: a global property of
 * Orthanc's own database (numbers from 1024 are the plugins'; 0x4d4d, "MM"),
 * so that it follows the log it counts. */
#define CURSOR_PROPERTY 0x4d4d

static long long load_cursor(void)
{
    char *v = OrthancPluginGetGlobalProperty(g_ctx, CURSOR_PROPERTY, "");
    long long c = v && *v ? strtoll(v, NULL, 10) : -1;
    if (v)
        OrthancPluginFreeString(g_ctx, v);
    return c;
}

static void save_cursor(long long c, long long *saved)
{
    if (c == *saved)
        return;
    char v[32];
    snprintf(v, sizeof v, "%lld", c);
    if (OrthancPluginSetGlobalProperty(g_ctx, CURSOR_PROPERTY, v) == OrthancPluginErrorCode_Success)
        *saved = c;
    else
        log_line(MMDX_LOG_WARNING, "mmdx: cannot save how far the change log was read (global property %d)",
                 CURSOR_PROPERTY);
}

static int found_study(void *ctx, const char *id)
{
    (void)ctx;
    if (spool_push(id, 0) < 0)
        return mmdx_fail(MMDX_ENOMEM, "study %s could not be queued (out of memory)", id);
    return 0;
}

/* Read the change log (the reader made on first use); 0, or an error logged once. */
static int read_changes(mmdx_orthanc_changes **ch, long long *saved)
{
    int rc = 0;
    if (!*ch) {
        *saved = load_cursor();
        rc = mmdx_orthanc_changes_new(ch, &g_pacs, *saved, g_settings.stable_age, mmdx_clock_seconds());
        if (!rc && mmdx_orthanc_changes_waiting(*ch) > 0)
            log_line(MMDX_LOG_WARNING, "mmdx: %zu study(ies) received before the restart and not yet stable: "
                                       "queued once idle for StableAge (%d s)",
                     mmdx_orthanc_changes_waiting(*ch), g_settings.stable_age);
    }
    if (!rc)
        rc = mmdx_orthanc_changes_poll(*ch, mmdx_clock_seconds(), found_study, NULL);
    if (rc)
        log_line(MMDX_LOG_ERROR, "mmdx: reading Orthanc's change log: %s", mmdx_last_error());
    return rc;
}

static void *worker_main(void *arg)
{
    (void)arg;
    char host[256] = "localhost", worker_id[320];
    gethostname(host, sizeof host - 1);
    /* host and HTTP port name this Orthanc server: after a restart it takes
       back the jobs it left running, and only those */
    snprintf(worker_id, sizeof worker_id, "%s:%d", host, g_settings.http_port);
    mmdx_job_queue *q = NULL;
    mmdx_screener *sc = NULL;
    mmdx_orthanc_changes *changes = NULL;
    long long saved_cursor = -1;
    int db_down_logged = 0;
    while (!stopping()) {
        if (!q) {
            if (mmdx_job_queue_open(&q, g_settings.database, worker_id) < 0) {
                if (!db_down_logged)
                    log_line(MMDX_LOG_ERROR, "mmdx: database unavailable, studies are kept in memory until it is "
                                             "back: %s", mmdx_last_error());
                db_down_logged = 1;
                set_worker_state("database unavailable: %s", mmdx_last_error());
                if (wait_for_work(g_settings.poll_interval) || stopping())
                    break;
                sleep(1); /* the spool wakes us: don't spin on a dead server */
                continue;
            }
            int n = 0;
            if (mmdx_job_queue_recover(q, &n) == 0 && n > 0)
                log_line(MMDX_LOG_WARNING, "mmdx: %d interrupted screening(s) queued again", n);
            if (db_down_logged)
                log_line(MMDX_LOG_WARNING, "mmdx: database reachable again");
            db_down_logged = 0;
            set_worker_state("running");
        }
        int read = read_changes(&changes, &saved_cursor);
        if (spool_flush(q) < 0) {
            log_line(MMDX_LOG_ERROR, "mmdx: cannot queue studies: %s", mmdx_last_error());
            mmdx_job_queue_free(q);
            q = NULL;
            continue;
        }
        if (read == 0) /* what was read is in the queue now */
            save_cursor(mmdx_orthanc_changes_cursor(changes), &saved_cursor);
        mmdx_job job;
        int got = mmdx_job_queue_claim(q, &job);
        if (got < 0) {
            log_line(MMDX_LOG_ERROR, "mmdx: %s", mmdx_last_error());
            mmdx_job_queue_free(q);
            q = NULL;
            continue;
        }
        if (got == 0) {
            wait_for_work(g_settings.poll_interval);
            continue;
        }
        log_line(MMDX_LOG_INFO, "mmdx: screening study %s (attempt %d%s)", job.orthanc_id, job.attempts,
                 job.force ? ", forced" : "");
        set_worker_state("screening %s", job.orthanc_id);
        process(q, &sc, &job);
        set_worker_state("running");
        mmdx_job_clear(&job);
    }
    mmdx_screener_free(sc);
    mmdx_orthanc_changes_free(changes);
    mmdx_job_queue_free(q);
    set_worker_state("stopped");
    return NULL;
}

static void start_worker(void)
{
    if (g_worker_started || g_config_error || !g_settings.enable)
        return;
    if (pthread_create(&g_worker, NULL, worker_main, NULL) != 0) {
        log_line(MMDX_LOG_ERROR, "mmdx: cannot start the worker thread: %s", strerror(errno));
        return;
    }
    g_worker_started = 1;
}

static void stop_worker(void)
{
    if (!g_worker_started)
        return;
    pthread_mutex_lock(&g_mu);
    g_stopping = 1;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    pthread_join(g_worker, NULL);
    g_worker_started = 0;
}

/* ------------------------------------------------------------------------ */
/* Callbacks                                                                 */
/* ------------------------------------------------------------------------ */

static OrthancPluginErrorCode on_change(OrthancPluginChangeType type, OrthancPluginResourceType resource,
                                        const char *id)
{
    if (type == OrthancPluginChangeType_OrthancStarted) {
        start_worker();
    } else if (type == OrthancPluginChangeType_OrthancStopped) {
        stop_worker();
    } else if (type == OrthancPluginChangeType_StableStudy && resource == OrthancPluginResourceType_Study &&
               g_settings.enable && !g_config_error) {
        /* the worker reads it from the change log (where it is already written) */
        (void)id;
        pthread_mutex_lock(&g_mu);
        g_wake = 1;
        pthread_cond_signal(&g_cv);
        pthread_mutex_unlock(&g_mu);
    }
    return OrthancPluginErrorCode_Success; /* never fail Orthanc's own work */
}

static void answer_json(OrthancPluginRestOutput *out, int status, const char *json)
{
    if (status == 200)
        OrthancPluginAnswerBuffer(g_ctx, out, json, (uint32_t)strlen(json), "application/json");
    else
        OrthancPluginSendHttpStatus(g_ctx, out, (uint16_t)status, json, (uint32_t)strlen(json));
}

static void answer_error(OrthancPluginRestOutput *out, int status, const char *message)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(message));
    answer_json(out, status, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
}

/* Run a query on the REST handlers' connection; reconnects after a failure. */
static int rest_query(const char *id, char **json)
{
    pthread_mutex_lock(&g_rest_mu);
    int rc = 0;
    if (!g_rest_queue) {
        char worker[64];
        snprintf(worker, sizeof worker, "rest");
        rc = mmdx_job_queue_open(&g_rest_queue, g_settings.database, worker);
    }
    if (!rc)
        rc = id ? mmdx_job_queue_get(g_rest_queue, id, json) : mmdx_job_queue_counts(g_rest_queue, json);
    if (rc == MMDX_EDB) {
        mmdx_job_queue_free(g_rest_queue);
        g_rest_queue = NULL;
    }
    pthread_mutex_unlock(&g_rest_mu);
    return rc;
}

static int study_exists(const char *id)
{
    char uri[128];
    snprintf(uri, sizeof uri, "/studies/%s", id);
    char *body = NULL;
    size_t len;
    int rc = pacs_get(NULL, uri, &body, &len);
    free(body);
    return rc;
}

/* A study route's request refused before any work: another method, or the plugin idle. 1: answered. */
static int refused(OrthancPluginRestOutput *out, const OrthancPluginHttpRequest *req, OrthancPluginHttpMethod method)
{
    if (req->method != method) {
        OrthancPluginSendMethodNotAllowed(g_ctx, out, method == OrthancPluginHttpMethod_Get ? "GET" : "POST");
        return 1;
    }
    if (g_config_error || !g_settings.enable) {
        answer_error(out, 503, g_config_error ? g_config_error : "mmdx screening is disabled (Mmdx.Enable)");
        return 1;
    }
    return 0;
}

static OrthancPluginErrorCode rest_study(OrthancPluginRestOutput *out, const char *url,
                                         const OrthancPluginHttpRequest *req)
{
    (void)url;
    if (refused(out, req, OrthancPluginHttpMethod_Get))
        return OrthancPluginErrorCode_Success;
    const char *id = req->groupsCount > 0 ? req->groups[0] : "";
    char *json = NULL;
    int rc = rest_query(id, &json);
    if (rc == 0)
        answer_json(out, 200, json);
    else if (rc == MMDX_ENOTFOUND)
        answer_error(out, 404, study_exists(id) == MMDX_ENOTFOUND ? "no such study" : "this study was never screened");
    else
        answer_error(out, 503, mmdx_last_error());
    free(json);
    return OrthancPluginErrorCode_Success;
}

/* GET /mmdx/studies/{id}/report: the HTML view of the result (orthanc/rest_report.c). */
static OrthancPluginErrorCode rest_report(OrthancPluginRestOutput *out, const char *url,
                                          const OrthancPluginHttpRequest *req)
{
    (void)url;
    mmdx_rest_report_env env = {g_ctx, &g_settings, g_config_error, rest_query};
    if (!g_config_error && !g_settings.enable)
        env.unavailable = "mmdx screening is disabled (Mmdx.Enable)";
    return mmdx_rest_report(&env, out, req);
}

static OrthancPluginErrorCode rest_screen(OrthancPluginRestOutput *out, const char *url,
                                          const OrthancPluginHttpRequest *req)
{
    (void)url;
    if (refused(out, req, OrthancPluginHttpMethod_Post))
        return OrthancPluginErrorCode_Success;
    const char *id = req->groupsCount > 0 ? req->groups[0] : "";
    int rc = study_exists(id);
    if (rc == MMDX_ENOTFOUND) {
        answer_error(out, 404, "no such study");
        return OrthancPluginErrorCode_Success;
    }
    if (rc || spool_push(id, 1) < 0) {
        answer_error(out, 500, "the study could not be queued");
        return OrthancPluginErrorCode_Success;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "orthanc_id", json_object_new_string(id));
    json_object_object_add(o, "queued", json_object_new_boolean(1));
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    /* 202 Accepted: the screening runs on the worker; poll GET /mmdx/studies/{id}. */
    OrthancPluginSendHttpStatus(g_ctx, out, 202, s, (uint32_t)strlen(s));
    json_object_put(o);
    return OrthancPluginErrorCode_Success;
}

/* The user of HTTP basic authentication (Orthanc's RegisteredUsers), or "" when none. */
static void basic_auth_user(const OrthancPluginHttpRequest *req, char *user, size_t size)
{
    user[0] = '\0';
    for (uint32_t i = 0; i < req->headersCount; i++) {
        const char *v = req->headersValues[i];
        if (strcasecmp(req->headersKeys[i], "authorization") || strncasecmp(v, "Basic ", 6))
            continue;
        v += 6;
        size_t len = strlen(v);
        unsigned char plain[768];
        if (len == 0 || len % 4 || len / 4 * 3 >= sizeof plain)
            return;
        int n = EVP_DecodeBlock(plain, (const unsigned char *)v, (int)len);
        if (n > 0) {
            plain[n] = '\0';
            char *colon = strchr((char *)plain, ':');
            size_t ul = colon ? (size_t)(colon - (char *)plain) : 0;
            if (colon && ul < size) {
                memcpy(user, plain, ul);
                user[ul] = '\0';
            }
        }
        OPENSSL_cleanse(plain, sizeof plain); /* it held the password */
        return;
    }
}

static OrthancPluginErrorCode rest_similar(OrthancPluginRestOutput *out, const char *url,
                                           const OrthancPluginHttpRequest *req)
{
    (void)url;
    if (refused(out, req, OrthancPluginHttpMethod_Get))
        return OrthancPluginErrorCode_Success;
    const char *id = req->groupsCount > 0 ? req->groups[0] : "", *k_text = NULL;
    for (uint32_t i = 0; i < req->getCount; i++) {
        if (strcmp(req->getKeys[i], "k") == 0) {
            k_text = req->getValues[i];
        } else {
            answer_error(out, 400, "unknown parameter (known: k)");
            return OrthancPluginErrorCode_Success;
        }
    }
    size_t k;
    if (mmdx_orthanc_neighbours_parse_k(k_text, &k) < 0) {
        answer_error(out, 400, mmdx_last_error());
        return OrthancPluginErrorCode_Success;
    }
    if (!g_settings.reviewer_database) {
        answer_error(out, 503, "similar-patient search is not configured: set Mmdx.ReviewerDatabase to a reviewer "
                               "login (a member of mmdx_reviewer; the writer role cannot read embeddings)");
        return OrthancPluginErrorCode_Success;
    }
    char *job = NULL;
    int rc = rest_query(id, &job);
    if (rc == MMDX_ENOTFOUND) {
        answer_error(out, 404, study_exists(id) == MMDX_ENOTFOUND ? "no such study" : "this study was never screened");
        return OrthancPluginErrorCode_Success;
    }
    if (rc) {
        answer_error(out, 503, mmdx_last_error());
        free(job);
        return OrthancPluginErrorCode_Success;
    }
    char user[256], *json = NULL;
    basic_auth_user(req, user, sizeof user);
    mmdx_orthanc_neighbours_query q = {id, job, k, user[0] ? user : NULL};
    pthread_mutex_lock(&g_similar_mu);
    rc = g_neighbours ? 0 : mmdx_orthanc_neighbours_new(&g_neighbours, &g_settings, g_plugin_dir);
    if (!rc)
        rc = mmdx_orthanc_neighbours_find(g_neighbours, &q, &json);
    pthread_mutex_unlock(&g_similar_mu);
    if (rc == 0) {
        /* the study's Orthanc ID only: who was shown is in the audit log, not in Orthanc's */
        log_line(MMDX_LOG_INFO, "mmdx: similar patients of study %s shown (k=%zu; audited as results.similar)", id,
                 k);
        answer_json(out, 200, json);
    } else {
        int status = mmdx_orthanc_neighbours_http_status(rc);
        if (status >= 500)
            log_line(MMDX_LOG_ERROR, "mmdx: similar patients of study %s: %s", id, mmdx_last_error());
        answer_error(out, status, mmdx_last_error());
    }
    free(json);
    free(job);
    return OrthancPluginErrorCode_Success;
}

static OrthancPluginErrorCode rest_status(OrthancPluginRestOutput *out, const char *url,
                                          const OrthancPluginHttpRequest *req)
{
    (void)url;
    if (req->method != OrthancPluginHttpMethod_Get) {
        OrthancPluginSendMethodNotAllowed(g_ctx, out, "GET");
        return OrthancPluginErrorCode_Success;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "version", json_object_new_string(MMDX_VERSION_STRING));
    json_object_object_add(o, "enabled", json_object_new_boolean(g_settings.enable && !g_config_error));
    if (g_config_error)
        json_object_object_add(o, "configuration_error", json_object_new_string(g_config_error));
    pthread_mutex_lock(&g_mu);
    json_object_object_add(o, "worker", json_object_new_string(g_worker_state));
    json_object_object_add(o, "spooled", json_object_new_int64((int64_t)g_n_spool));
    pthread_mutex_unlock(&g_mu);
    if (g_settings.enable && !g_config_error) {
        char *counts = NULL;
        if (rest_query(NULL, &counts) == 0)
            json_object_object_add(o, "queue", json_tokener_parse(counts));
        else
            json_object_object_add(o, "database_error", json_object_new_string(mmdx_last_error()));
        free(counts);
    }
    answer_json(out, 200, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return OrthancPluginErrorCode_Success;
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                              */
/* ------------------------------------------------------------------------ */

static char *default_plugin_dir(void)
{
    Dl_info info;
    if (!dladdr((void *)default_plugin_dir, &info) || !info.dli_fname)
        return NULL;
    char *copy = strdup(info.dli_fname);
    if (!copy)
        return NULL;
    char *slash = strrchr(copy, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(copy, ".");
    size_t n = strlen(copy) + 16;
    char *dir = malloc(n);
    if (dir)
        snprintf(dir, n, "%s/../plugins", copy);
    free(copy);
    return dir;
}

MMDX_EXPORT int32_t OrthancPluginInitialize(OrthancPluginContext *context);
MMDX_EXPORT void OrthancPluginFinalize(void);
MMDX_EXPORT const char *OrthancPluginGetName(void);
MMDX_EXPORT const char *OrthancPluginGetVersion(void);

MMDX_EXPORT int32_t OrthancPluginInitialize(OrthancPluginContext *context)
{
    g_ctx = context;
    if (!OrthancPluginCheckVersion(context)) {
        log_line(MMDX_LOG_ERROR, "mmdx: this Orthanc (%s) is older than the SDK the plugin was built with "
                                 "(%d.%d.%d)", context->orthancVersion, ORTHANC_PLUGINS_MINIMAL_MAJOR_NUMBER,
                 ORTHANC_PLUGINS_MINIMAL_MINOR_NUMBER, ORTHANC_PLUGINS_MINIMAL_REVISION_NUMBER);
        return -1;
    }
    OrthancPluginSetDescription(context, "mmdx: multimodal AI screening of stable studies; results as DICOM SR "
                                         "(TID 1500) and at /mmdx/studies/{id}");
    g_plugin_dir = default_plugin_dir();
    char *conf = OrthancPluginGetConfiguration(context);
    if (!conf) {
        g_config_error = strdup("mmdx: cannot read Orthanc's configuration");
    } else {
        if (mmdx_orthanc_settings_parse(&g_settings, conf, strlen(conf)) < 0) {
            size_t n = strlen(mmdx_last_error()) + 64;
            if ((g_config_error = malloc(n)))
                snprintf(g_config_error, n, "configuration error: %s", mmdx_last_error());
            g_settings.enable = 0;
        }
        OrthancPluginFreeString(context, conf);
    }
    if (g_config_error)
        log_line(MMDX_LOG_ERROR, "mmdx: %s; screening is disabled, Orthanc runs on without it",
                 g_config_error);
    else if (!g_settings.enable)
        log_line(MMDX_LOG_WARNING, "mmdx: no \"Mmdx\" section (or \"Enable\": false): screening is disabled");
    else
        log_line(MMDX_LOG_WARNING, "mmdx %s: screening stable studies with model %s", MMDX_VERSION_STRING,
                 g_settings.model);
    OrthancPluginRegisterOnChangeCallback(context, on_change);
    /* NoLock: the handlers lock what they share themselves (spool, REST connection) */
    OrthancPluginRegisterRestCallbackNoLock(context, "/mmdx/studies/([^/]+)", rest_study);
    OrthancPluginRegisterRestCallbackNoLock(context, "/mmdx/studies/([^/]+)/screen", rest_screen);
    OrthancPluginRegisterRestCallbackNoLock(context, "/mmdx/studies/([^/]+)/similar", rest_similar);
    OrthancPluginRegisterRestCallbackNoLock(context, "/mmdx/studies/([^/]+)/report", rest_report);
    OrthancPluginRegisterRestCallbackNoLock(context, "/mmdx/status", rest_status);
    return 0;
}

MMDX_EXPORT void OrthancPluginFinalize(void)
{
    stop_worker();
    pthread_mutex_lock(&g_rest_mu);
    mmdx_job_queue_free(g_rest_queue);
    g_rest_queue = NULL;
    pthread_mutex_unlock(&g_rest_mu);
    pthread_mutex_lock(&g_similar_mu);
    mmdx_orthanc_neighbours_free(g_neighbours);
    g_neighbours = NULL;
    pthread_mutex_unlock(&g_similar_mu);
    mmdx_orthanc_settings_clear(&g_settings);
    free(g_config_error);
    g_config_error = NULL;
    free(g_plugin_dir);
    g_plugin_dir = NULL;
    free(g_spool);
    g_spool = NULL;
    g_n_spool = g_cap_spool = 0;
}

MMDX_EXPORT const char *OrthancPluginGetName(void)
{
    return PLUGIN_NAME;
}

MMDX_EXPORT const char *OrthancPluginGetVersion(void)
{
    return MMDX_VERSION_STRING;
}
