/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTPS server of `mmdx audit serve`: libmicrohttpd with TLS, one request at a time, routes, forms,
 * cookies, security headers and the request log. The pages are in page_*.c. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "error.h"
#include "web_internal.h"

#define MAX_BODY 16384

struct mmdx_web_server {
    struct MHD_Daemon *daemon;
    mmdx_web_options opt;
    web_sessions *sessions;
    char *cert, *key;
    struct sockaddr_storage addr;
};

/* What one request has sent so far (a POST body comes in pieces). */
typedef struct upload {
    char *data;
    size_t len;
    int too_large;
} upload;

const char *web_field_get(const web_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_fields; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return r->fields[i].value;
    return NULL;
}

void web_redirect(web_req *r, const char *path)
{
    r->status = MHD_HTTP_SEE_OTHER;
    snprintf(r->location, sizeof r->location, "%s", path);
}

/* ---- forms ---- */

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

/* Decode application/x-www-form-urlencoded text in place; -1 on a bad escape or a NUL byte. */
static int url_decode(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '+') {
            *o++ = ' ';
        } else if (*p == '%') {
            int hi = hexval((unsigned char)p[1]), lo = hi < 0 ? -1 : hexval((unsigned char)p[2]);
            if (lo < 0 || (hi == 0 && lo == 0))
                return -1;
            *o++ = (char)(hi * 16 + lo);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return 0;
}

static int parse_form(web_req *r, upload *u)
{
    if (!u->data)
        return 0;
    char *save = NULL;
    for (char *pair = strtok_r(u->data, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (!eq || r->n_fields == WEB_MAX_FIELDS)
            return -1;
        *eq = '\0';
        if (url_decode(pair) < 0 || url_decode(eq + 1) < 0 || web_field_get(r, pair))
            return -1;
        r->fields[r->n_fields].name = pair;
        r->fields[r->n_fields++].value = eq + 1;
    }
    return 0;
}

/* ---- routes ---- */

static int is_run(const char *s)
{
    size_t n = strlen(s);
    for (const char *p = s; *p; p++)
        if (!(isdigit((unsigned char)*p) || (*p >= 'a' && *p <= 'f') || *p == '-'))
            return 0;
    return n >= 8 && n <= 36;
}

/* A form posted from another site, or without this session's token, is refused. */
static int check_post(web_req *r, struct MHD_Connection *c)
{
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (origin && (!host || strncmp(origin, "https://", 8) != 0 || strcmp(origin + 8, host) != 0)) {
        web_page_error(r, MHD_HTTP_FORBIDDEN, "Refused", "This form was sent from another site.");
        return -1;
    }
    if (r->session && !web_csrf_ok(r->session, web_field_get(r, "csrf"))) {
        web_page_error(r, MHD_HTTP_FORBIDDEN, "Refused",
                       "This form has no valid CSRF token (it was not sent from this session's page): "
                       "open the page again and send the form from there.");
        return -1;
    }
    return 0;
}

static void dispatch(web_req *r, struct MHD_Connection *c)
{
    int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    int post = strcmp(r->method, "POST") == 0;
    const char *p = r->path;
    if (!get && !post) {
        r->route = "(method)";
        web_page_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "Not allowed", "Only GET and POST are served.");
        return;
    }
    if (strcmp(p, "/style.css") == 0 && get) {
        r->route = p;
        r->status = MHD_HTTP_OK;
        r->content_type = "text/css; charset=utf-8";
        fputs(web_style_css(), r->body);
        return;
    }
    if (strcmp(p, "/favicon.ico") == 0) {
        r->route = p;
        r->status = MHD_HTTP_NO_CONTENT;
        r->content_type = "image/x-icon";
        return;
    }
    if (strcmp(p, "/login") == 0) {
        r->route = p;
        if (get && r->session)
            web_redirect(r, "/");
        else if (get)
            web_page_login_form(r, NULL);
        else if (check_post(r, c) == 0)
            web_page_login(r);
        return;
    }
    if (!r->session) {
        r->route = "(not logged in)";
        if (get)
            web_redirect(r, "/login");
        else
            web_page_error(r, MHD_HTTP_FORBIDDEN, "Not logged in", "Your session has ended: log in again.");
        return;
    }
    if (post && check_post(r, c) < 0) {
        r->route = "(refused form)";
        return;
    }
    static const struct {
        const char *path;
        int post;
        void (*page)(web_req *r);
    } fixed[] = {
        {"/", 0, web_page_home},           {"/integrity", 0, web_page_integrity},
        {"/proof", 0, web_page_proof},     {"/export", 0, web_page_export_form},
        {"/export", 1, web_page_export},   {"/patient", 1, web_page_patient_lookup},
        {"/logout", 1, web_page_logout},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (strcmp(p, fixed[i].path) == 0 && fixed[i].post == post) {
            r->route = fixed[i].path;
            fixed[i].page(r);
            return;
        }
    if (get && strncmp(p, "/timeline/", 10) == 0 && web_is_token(p + 10)) {
        r->route = "/timeline/{handle}";
        web_page_timeline(r, p + 10);
    } else if (get && strcmp(p, "/run") == 0) {
        r->route = "/run";
        char to[64];
        if (r->query_run && is_run(r->query_run)) {
            snprintf(to, sizeof to, "/run/%s", r->query_run);
            web_redirect(r, to);
        } else {
            web_page_error(r, MHD_HTTP_BAD_REQUEST, "Run",
                           "Give a run ID, or at least its first 8 characters (0-9, a-f).");
        }
    } else if (get && strncmp(p, "/run/", 5) == 0 && is_run(p + 5)) {
        r->route = "/run/{id}";
        web_page_run(r, p + 5);
    } else {
        /* A mistyped URL might hold anything a person typed: the log does not repeat it. */
        r->route = "(not found)";
        web_page_error(r, MHD_HTTP_NOT_FOUND, "Not found", "There is no such page.");
    }
}

/* ---- responses ---- */

static void add_security_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                            "frame-ancestors 'none'; base-uri 'none'");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    /* same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on its own forms */
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
    MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
}

static void log_request(const mmdx_web_server *w, struct MHD_Connection *c, const web_req *r)
{
    char when[32], addr[INET6_ADDRSTRLEN] = "?";
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr, sizeof addr);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, addr, sizeof addr);
    }
    FILE *f = w->opt.log ? w->opt.log : stderr;
    fprintf(f, "%s %s %s %s %d role=%s\n", when, addr, r->method, r->route ? r->route : "(none)", r->status,
            r->session ? mmdx_store_role(r->session->store) : "-");
    fflush(f);
}

static enum MHD_Result send_response(mmdx_web_server *w, struct MHD_Connection *c, web_req *r)
{
    fclose(r->body);
    r->body = NULL;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->body_len, r->body_buf, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(r->body_buf);
        return MHD_NO;
    }
    r->body_buf = NULL;
    add_security_headers(resp);
    MHD_add_response_header(resp, "Content-Type", r->content_type ? r->content_type : "text/html; charset=utf-8");
    if (r->location[0])
        MHD_add_response_header(resp, "Location", r->location);
    if (r->disposition[0])
        MHD_add_response_header(resp, "Content-Disposition", r->disposition);
    for (int i = 0; i < 2; i++)
        if (r->set_cookie[i][0])
            MHD_add_response_header(resp, "Set-Cookie", r->set_cookie[i]);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    log_request(w, c, r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *data_size, void **state)
{
    mmdx_web_server *w = cls;
    upload *u = *state;
    if (!u) {
        if (!(u = calloc(1, sizeof *u)))
            return MHD_NO;
        *state = u;
        return MHD_YES;
    }
    if (*data_size) {
        if (u->len + *data_size > MAX_BODY)
            u->too_large = 1;
        char *grown = u->too_large ? NULL : realloc(u->data, u->len + *data_size + 1);
        if (grown) {
            memcpy(grown + u->len, data, *data_size);
            u->len += *data_size;
            grown[u->len] = '\0';
            u->data = grown;
        }
        *data_size = 0;
        return MHD_YES;
    }
    web_req r;
    memset(&r, 0, sizeof r);
    r.opt = &w->opt;
    r.sessions = w->sessions;
    r.method = method;
    r.path = url;
    r.status = MHD_HTTP_OK;
    r.query_seq = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "seq");
    r.query_run = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "id");
    r.cookie_session = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "__Host-mmdx_session");
    r.cookie_login = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "__Host-mmdx_login");
    r.session = r.cookie_session ? web_session_find(w->sessions, r.cookie_session) : NULL;
    if (!(r.body = open_memstream(&r.body_buf, &r.body_len)))
        return MHD_NO;
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (strcmp(method, "POST") == 0 &&
        (!type || strncmp(type, "application/x-www-form-urlencoded", 33) != 0 || u->too_large ||
         parse_form(&r, u) < 0)) {
        r.route = "(bad form)";
        web_page_error(&r, u->too_large ? MHD_HTTP_CONTENT_TOO_LARGE : MHD_HTTP_BAD_REQUEST, "Bad request",
                       "The form could not be read.");
    } else {
        dispatch(&r, c);
    }
    return send_response(w, c, &r);
}

/* Wipe what a request sent (a password, an ID) as soon as it is answered. */
static void on_completed(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode why)
{
    upload *u = *state;
    if (u) {
        if (u->data) {
            OPENSSL_cleanse(u->data, u->len);
            free(u->data);
        }
        free(u);
        *state = NULL;
    }
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
    mmdx_web_server *w = cls;
    FILE *f = w->opt.log ? w->opt.log : stderr;
    fputs("mmdx audit serve: ", f);
    vfprintf(f, fmt, ap);
    fflush(f);
}

/* ---- start and stop ---- */

static int read_pem(const char *path, const char *what, int secret, char **out)
{
    struct stat st;
    if (!path || !*path)
        return mmdx_fail(MMDX_EINVAL, "give the TLS %s (--tls-%s FILE, PEM)", what, what);
    if (stat(path, &st) < 0)
        return mmdx_fail(errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: %s", path, strerror(errno));
    if (secret && (st.st_mode & 077))
        return mmdx_fail(MMDX_EPERM, "%s: the TLS private key may be read by group or others (chmod 600 it)",
                         path);
    FILE *f = fopen(path, "rb");
    char *buf = f && st.st_size < (1 << 20) ? calloc(1, (size_t)st.st_size + 1) : NULL;
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    if (f)
        fclose(f);
    if (!buf || n != (size_t)st.st_size || !strstr(buf, "-----BEGIN ")) {
        free(buf);
        return mmdx_fail(MMDX_EFORMAT, "%s: cannot read the TLS %s (a PEM file of at most 1 MiB)", path, what);
    }
    *out = buf;
    return 0;
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss)
{
    char host[128];
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    size_t hl = colon ? (size_t)(colon - listen) : 0;
    if (!colon || hl == 0 || hl >= sizeof host || !colon[1])
        return mmdx_fail(MMDX_EINVAL, "--listen \"%s\": give ADDRESS:PORT (127.0.0.1:8443, [::1]:8443)",
                         listen ? listen : "");
    memcpy(host, listen, hl);
    host[hl] = '\0';
    if (host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    hints.ai_socktype = SOCK_STREAM;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
        return mmdx_fail(MMDX_EINVAL, "--listen \"%s\": not a numeric address and port", listen);
    memset(ss, 0, sizeof *ss);
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

int mmdx_web_start(mmdx_web_server **out, const mmdx_web_options *o)
{
    *out = NULL;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return mmdx_fail(MMDX_EUNSUPPORTED, "this libmicrohttpd was built without TLS");
    mmdx_web_server *w = calloc(1, sizeof *w);
    if (!w)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    w->opt = *o;
    if (w->opt.idle_timeout_s <= 0)
        w->opt.idle_timeout_s = 900;
    if (w->opt.max_sessions <= 0)
        w->opt.max_sessions = 16;
    int rc = parse_listen(o->listen, &w->addr);
    if (rc == 0)
        rc = read_pem(o->tls_cert_file, "cert", 0, &w->cert);
    if (rc == 0)
        rc = read_pem(o->tls_key_file, "key", 1, &w->key);
    if (rc == 0)
        rc = web_sessions_new(&w->sessions, w->opt.max_sessions, w->opt.idle_timeout_s);
    if (rc < 0) {
        mmdx_web_stop(w);
        return rc;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_USE_ERROR_LOG;
    if (w->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    w->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, w,
                                 MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, w,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&w->addr,
                                 MHD_OPTION_HTTPS_MEM_CERT, w->cert, MHD_OPTION_HTTPS_MEM_KEY, w->key,
                                 MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (!w->daemon) {
        mmdx_web_stop(w);
        return mmdx_fail(MMDX_EIO, "cannot serve HTTPS on %s (address in use, not this host's, or a "
                                   "certificate and key that do not fit)", o->listen);
    }
    *out = w;
    return 0;
}

int mmdx_web_port(const mmdx_web_server *w)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : 0;
}

void mmdx_web_stop(mmdx_web_server *w)
{
    if (!w)
        return;
    if (w->daemon)
        MHD_stop_daemon(w->daemon);
    web_sessions_free(w->sessions);
    if (w->key) {
        OPENSSL_cleanse(w->key, strlen(w->key));
        free(w->key);
    }
    free(w->cert);
    free(w);
}
