/* SPDX-License-Identifier: Apache-2.0 */
/* Logging in as one's own database role, and out. */
#include <microhttpd.h>
#include <string.h>

#include "error.h"
#include "web_internal.h"

#define LOGIN_COOKIE "__Host-mmdx_login"
#define SESSION_COOKIE "__Host-mmdx_session"

void web_page_login_form(web_req *r, const char *problem)
{
    /* The form's token is also a cookie: a form posted from elsewhere cannot log a browser in. */
    char token[WEB_TOKEN_HEX + 1];
    if (web_is_token(r->cookie_login)) {
        /* the browser's token already: another tab's login form stays valid */
        snprintf(token, sizeof token, "%s", r->cookie_login);
    } else if (web_random_token(token) < 0) {
        web_page_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "Log in", mmdx_last_error());
        return;
    }
    snprintf(r->set_cookie[0], sizeof r->set_cookie[0],
             LOGIN_COOKIE "=%s; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=900", token);
    web_page_begin(r, problem ? MHD_HTTP_FORBIDDEN : MHD_HTTP_OK, "Log in");
    FILE *f = r->body;
    if (problem) {
        fputs("<p class=\"problem\" role=\"alert\">", f);
        mmdx_html_text(f, problem);
        fputs("</p>\n", f);
    }
    fputs("<p>Log in with your own PostgreSQL role (a member of <code>mmdx_reviewer</code>) and its password. "
          "Shared and writer accounts are refused.</p>\n"
          "<form class=\"search\" method=\"post\" action=\"/login\">\n",
          f);
    fprintf(f, "<input type=\"hidden\" name=\"login_csrf\" value=\"%s\">\n", token);
    fputs("<label for=\"role\">Database role</label>\n"
          "<input type=\"text\" id=\"role\" name=\"role\" autocomplete=\"username\" required>\n"
          "<label for=\"password\">Password</label>\n"
          "<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\n"
          "<button type=\"submit\">Log in</button>\n</form>\n",
          f);
    web_page_end(r);
}

void web_page_login(web_req *r)
{
    const char *role = web_field_get(r, "role"), *password = web_field_get(r, "password");
    if (!web_token_eq(r->cookie_login, web_field_get(r, "login_csrf"))) {
        web_page_login_form(r, "The login form has expired or was not sent from this server's page: "
                               "log in again from this page.");
        return;
    }
    if (!role || !*role || !password || !*password) {
        web_page_login_form(r, "Give your database role and its password.");
        return;
    }
    if (r->session) {
        /* a new login replaces the browser's session: never two for one cookie jar */
        web_session_close(r->sessions, r->session);
        r->session = NULL;
    }
    mmdx_store_options o = {0};
    o.conninfo = r->opt->site->db;
    o.site_key_file = r->opt->site->site_key_file;
    o.pseudonymise = r->opt->site->pseudonymise;
    o.login_role = role;
    o.login_password = password;
    mmdx_store *s = NULL;
    int rc = mmdx_store_open(&s, &o);
    if (rc == MMDX_EDB) {
        /* The server's words stay in its log; the page says only that the login failed. */
        web_page_login_form(r, "Login refused: the database did not accept this role and password.");
        return;
    }
    if (rc == 0 && (rc = mmdx_store_check_reviewer(s)) == MMDX_EPERM) {
        mmdx_store_free(s);
        web_page_login_form(r, "Login refused: this role is not a reviewer (a member of mmdx_reviewer). "
                               "Screening and writer accounts cannot open the audit review.");
        return;
    }
    if (rc == 0)
        rc = mmdx_store_check_can_audit(s);
    web_session *sess = NULL;
    if (rc == 0)
        rc = web_session_add(r->sessions, s, &sess);
    else
        mmdx_store_free(s);
    if (rc < 0) {
        web_page_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "Log in", mmdx_last_error());
        return;
    }
    r->session = sess;
    mmdx_audit_event e = {0};
    e.action = "audit.login";
    e.object_type = "audit-log";
    e.detail_json = "{\"via\":\"mmdx audit serve\"}";
    if (mmdx_store_audit(sess->store, &e, NULL) < 0) {
        char msg[MMDX_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "The login could not be recorded in the audit log, so it is refused: %s",
                 mmdx_last_error());
        web_session_close(r->sessions, sess);
        r->session = NULL;
        web_page_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "Log in", msg);
        return;
    }
    snprintf(r->set_cookie[0], sizeof r->set_cookie[0],
             SESSION_COOKIE "=%s; Path=/; Secure; HttpOnly; SameSite=Strict", sess->id);
    snprintf(r->set_cookie[1], sizeof r->set_cookie[1],
             LOGIN_COOKIE "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
    web_redirect(r, "/");
}

void web_page_logout(web_req *r)
{
    mmdx_audit_event e = {0};
    e.action = "audit.logout";
    e.object_type = "audit-log";
    e.detail_json = "{\"via\":\"mmdx audit serve\"}";
    /* Logging out always works; a failed record shows in the server log's status. */
    int rc = mmdx_store_audit(r->session->store, &e, NULL);
    web_session_close(r->sessions, r->session);
    r->session = NULL;
    snprintf(r->set_cookie[0], sizeof r->set_cookie[0],
             SESSION_COOKIE "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
    if (rc < 0) {
        web_page_error(r, MHD_HTTP_OK, "Logged out", "You are logged out (the logout could not be recorded).");
        return;
    }
    web_redirect(r, "/login");
}
