/*
 * web/web_internal.h — shared by the review server's files; not public.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_WEB_INTERNAL_H
#define MMDX_WEB_INTERNAL_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "html.h"
#include "store.h"
#include "web.h"

#define WEB_TOKEN_HEX 64 /* 32 random bytes */
#define WEB_MAX_FIELDS 8

/* ---- session.c ---- */

/** A patient a session looked up: the URL handle and what the log is searched with. */
typedef struct web_patient {
    char handle[WEB_TOKEN_HEX + 1];
    char *query; /* the typed ID (wiped on close), or the stored form */
    int stored;  /* query is the stored form (a pseudonym read from the log, or an ID as stored) */
} web_patient;

typedef struct web_session {
    char id[WEB_TOKEN_HEX + 1];
    char csrf[WEB_TOKEN_HEX + 1];
    mmdx_store *store; /* connected as the reviewer */
    time_t last_used;
    web_patient *patients; /* a ring: the oldest handle is reused when full */
    size_t n_patients, next_patient;
} web_session;

typedef struct web_sessions web_sessions;

MMDX_RESULT_USED int web_sessions_new(web_sessions **out, int max_sessions, int idle_timeout_s);
void web_sessions_free(web_sessions *t);

/** 32 random bytes as hex (OpenSSL's RAND_bytes). Errors: MMDX_ERROR. */
MMDX_RESULT_USED int web_random_token(char out[WEB_TOKEN_HEX + 1]);

/** The session of a cookie value (compared in constant time), or NULL; closes idle ones first. */
web_session *web_session_find(web_sessions *t, const char *cookie);

/** A new session owning `store` (freed with the session, or now on failure). Errors: MMDX_ERROR (full), MMDX_ENOMEM. */
MMDX_RESULT_USED int web_session_add(web_sessions *t, mmdx_store *store, web_session **out);

void web_session_close(web_sessions *t, web_session *s);

/** 1 when `t` has the form of a token of web_random_token (64 lower-case hex digits). */
int web_is_token(const char *t);

/** 1 when both are tokens of web_random_token and equal (constant time). */
int web_token_eq(const char *a, const char *b);

/** 1 when `token` is the session's CSRF token (constant time). */
int web_csrf_ok(const web_session *s, const char *token);

/** The URL handle of a patient: the pseudonym's hex with a site key, else a random one. Borrowed. */
MMDX_RESULT_USED int web_patient_handle(web_session *s, const char *query, int stored, const char **handle);

/** The patient behind a handle, or NULL. */
const web_patient *web_patient_find(web_session *s, const char *handle);

/* ---- request.c: one request and its response ---- */

typedef struct web_field {
    char *name, *value;
} web_field;

typedef struct web_server_ctx web_server_ctx;

typedef struct web_req {
    const mmdx_web_options *opt;
    web_sessions *sessions;
    web_session *session; /* NULL when not logged in */
    const char *method, *path, *query_seq, *query_run;
    const char *cookie_session, *cookie_login;
    web_field fields[WEB_MAX_FIELDS];
    size_t n_fields;
    /* response */
    int status;
    const char *route;        /* the log line's name of what was asked ("/timeline/{handle}") */
    FILE *body;               /* open_memstream */
    char *body_buf;
    size_t body_len;
    const char *content_type; /* default text/html */
    char location[256];       /* a redirect (303) */
    char set_cookie[2][256];
    char disposition[128];
} web_req;

/** A form field's value, or NULL. */
const char *web_field_get(const web_req *r, const char *name);

/** Respond with a redirect (303 See Other) to a path of this server. */
void web_redirect(web_req *r, const char *path);

/* ---- html.c ---- */

/** Write `s` with &, <, >, " and ' escaped (NULL writes nothing). */
/* HTML text escaping: mmdx_html_text (views/html.h), the one escaper of every page mmdx writes. */

/** printf into HTML; every %s argument must already be safe (numbers, hex, escaped text). */
void web_html_printf(FILE *f, const char *fmt, ...) MMDX_FORMAT(2, 3);

/** The page up to <main>: title (escaped), navigation, logout form when logged in. */
void web_page_begin(web_req *r, int status, const char *title);

/** The rest of the page: closes <main>, footer naming the role. */
void web_page_end(web_req *r);

/** The hidden CSRF field of the session's forms. */
void web_html_csrf(web_req *r);

/** A whole error page (status, a title and a message that is escaped). */
void web_page_error(web_req *r, int status, const char *title, const char *message);

/** The style sheet served at /style.css. Static. */
const char *web_style_css(void);

/** The outcome's name (success, minor-failure, ...). Static. */
const char *web_outcome_name(int outcome);

/* ---- the pages (page_*.c) ---- */

/** Record a page view as an "audit.view" event before anything is shown; on failure an error page is set. */
MMDX_RESULT_USED int web_record_view(web_req *r, const char *page, const mmdx_audit_event *more);

/** Record the view (web_record_view), then begin the page; NULL when the view could not be recorded. */
FILE *web_view_begin(web_req *r, const char *page, const mmdx_audit_event *more, const char *title);

void web_page_login_form(web_req *r, const char *problem);
void web_page_login(web_req *r);
void web_page_logout(web_req *r);
void web_page_home(web_req *r);
void web_page_integrity(web_req *r);
void web_page_patient_lookup(web_req *r);
void web_page_timeline(web_req *r, const char *handle);
void web_page_run(web_req *r, const char *run);
void web_page_proof(web_req *r);
void web_page_export_form(web_req *r);
void web_page_export(web_req *r);

/* ---- page_events.c: tables shared by the timeline and run pages ---- */

/** Write the events matching `f` as a table; *n gets how many. Errors: the query's. */
MMDX_RESULT_USED int web_events_table(web_req *r, const mmdx_audit_filter *f, size_t *n);

/** Write the predictions of a run or patient as a table (mmdx_store_results records results.view). */
MMDX_RESULT_USED int web_results_table(web_req *r, const char *run, const char *patient, size_t *n);

#endif
