/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `mmdx audit serve` end to end: a real PostgreSQL with a writer and a reviewer role, events written
 * by the writer (pseudonymised, keyed), a signed checkpoint, the server started on a free loopback
 * port with a certificate made by OpenSSL; then curl for the protocol (logins refused, cookies, CSRF,
 * the ATNA download, the bound address) and headless Chromium for the pages a reviewer sees (the
 * DOM holds the events written; a screenshot of each page); every page passes tidy; every view is
 * in the log afterwards; no patient ID in a URL or in the server's log.
 */
#include <check.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pgtest.h"
#include "store.h"
#include "testsupport.h"

#define MRN_A "MRN-0001"
#define MRN_B "MRN 0002 O-Brien"
#define HOSTILE_STUDY "1.2.840.<script>alert(1)</script>&amp;"

static void sh(const char *cmd)
{
    char *err = NULL;
    int rc = mmdx_test_run(cmd, NULL, &err);
    ck_assert_msg(rc == 0, "%s: exit %d: %s", cmd, rc, err);
    free(err);
}

/* Every tool the test drives; without one, skip (fail under CI=true: scripts/install-deps.sh installs them). */
static void need_tools(void)
{
    static const char *const tools[] = {"chromium", "tidy", "curl", "python3", "openssl"};
    for (size_t i = 0; i < sizeof tools / sizeof *tools; i++) {
        char *cmd = mmdx_test_strf("command -v %s >/dev/null", tools[i]);
        int rc = mmdx_test_run(cmd, NULL, NULL);
        free(cmd);
        if (rc != 0) {
            const char *ci = getenv("CI");
            fprintf(stderr, "%s is not installed%s\n", tools[i], ci && !strcmp(ci, "true") ? ", and CI=true requires it" : ": skipped");
            exit(ci && !strcmp(ci, "true") ? 1 : MMDX_TEST_SKIP);
        }
    }
}

typedef struct server {
    pid_t pid;
    int port;
    char *url, *log;
} server;

static server start_server(const char *dir, const char *conf, const char *dsn)
{
    server s = {0};
    s.log = mmdx_test_strf("%s/server.log", dir);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    s.pid = fork();
    ck_assert_int_ge(s.pid, 0);
    if (s.pid == 0) {
        dup2(fds[1], 1);
        int e = open(s.log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(e, 2);
        close(fds[0]);
        char *cert = mmdx_test_strf("%s/tls.crt", dir), *key = mmdx_test_strf("%s/tls.key", dir);
        execl(mmdx_test_mmdx_bin(), "mmdx", "audit", "serve", "--config", conf, "--db", dsn, "--listen",
              "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key, "--json", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[512] = "";
    ck_assert_msg(fgets(line, sizeof line, f) != NULL, "the server did not start: %s", mmdx_test_read_file(s.log, NULL));
    fclose(f);
    json_object *j = json_tokener_parse(line);
    ck_assert_msg(j != NULL, "%s", line);
    s.port = json_object_get_int(json_object_object_get(j, "port"));
    s.url = mmdx_test_strf("https://127.0.0.1:%d", s.port);
    char *want = mmdx_test_strf("%s/", s.url);
    ck_assert_str_eq(json_object_get_string(json_object_object_get(j, "url")), want);
    free(want);
    json_object_put(j);
    ck_assert_int_gt(s.port, 0);
    return s;
}

typedef struct reply {
    int status;
    char *headers, *body;
} reply;

/* One request with curl: `data` is curl arguments (--data-urlencode ...), NULL for a GET. */
static reply http(const char *dir, const server *s, const char *jar, const char *path, const char *data)
{
    char *hdr = mmdx_test_strf("%s/last.headers", dir), *body = mmdx_test_strf("%s/last.body", dir);
    char *cmd = mmdx_test_strf("curl -sk --max-time 30 -c '%s/%s' -b '%s/%s' -D '%s' -o '%s' -w '%%{http_code}' %s '%s%s'", dir,
                    jar, dir, jar, hdr, body, data ? data : "", s->url, path);
    char *out = NULL;
    ck_assert_int_eq(mmdx_test_run(cmd, &out, NULL), 0);
    reply r = {atoi(out), mmdx_test_read_file(hdr, NULL), mmdx_test_read_file(body, NULL)};
    ck_assert_ptr_nonnull(r.headers);
    if (!r.body)
        r.body = strdup("");
    free(out);
    free(cmd);
    free(hdr);
    free(body);
    return r;
}

static void reply_free(reply *r)
{
    free(r->headers);
    free(r->body);
}

/* The value of a form's hidden field in a page. */
static char *hidden(const char *page, const char *name)
{
    char *needle = mmdx_test_strf("name=\"%s\" value=\"", name);
    const char *p = strstr(page, needle);
    ck_assert_msg(p != NULL, "no %s field in: %s", name, page);
    p += strlen(needle);
    free(needle);
    return strndup(p, strcspn(p, "\""));
}

/* tidy reports nothing: no errors, no warnings. */
static void check_tidy(const char *dir, const char *name, const char *html)
{
    char *path = mmdx_test_strf("%s/tidy-%s.html", dir, name);
    mmdx_test_write_file(path, html);
    char *cmd = mmdx_test_strf("tidy -q -e '%s'", path), *err = NULL;
    int rc = mmdx_test_run(cmd, NULL, &err);
    ck_assert_msg(rc == 0, "tidy on the %s page (exit %d): %s", name, rc, err);
    free(err);
    free(cmd);
    free(path);
}

static void check_png(const char *path)
{
    size_t len = 0;
    unsigned char *p = (unsigned char *)mmdx_test_read_file(path, &len);
    ck_assert_msg(p && len > 2000, "%s: missing or too small (%zu bytes)", path, len);
    ck_assert_msg(memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp(p + 12, "IHDR", 4) == 0, "%s: not a PNG", path);
    unsigned w = (unsigned)p[16] << 24 | (unsigned)p[17] << 16 | (unsigned)p[18] << 8 | p[19];
    unsigned h = (unsigned)p[20] << 24 | (unsigned)p[21] << 16 | (unsigned)p[22] << 8 | p[23];
    ck_assert_msg(w >= 1000 && h >= 300, "%s: %ux%u", path, w, h); /* the window is 1280 wide */
    free(p);
}

static char *page_file(const char *dir, const char *name)
{
    char *path = mmdx_test_strf("%s/browser/%s.html", dir, name);
    char *html = mmdx_test_read_file(path, NULL);
    ck_assert_msg(html != NULL, "the browser did not keep the %s page", name);
    free(path);
    return html;
}

START_TEST(serve_end_to_end)
{
    need_tools();
    char *dir = mmdx_test_tmpdir();
    char *dbname = mmdx_pgtest_create_db("serve");
    char *admin = mmdx_pgtest_admin_dsn(dbname);
    char *rev = mmdx_test_strf("srv_r_%d", (int)getpid()), *wri = mmdx_test_strf("srv_w_%d", (int)getpid());
    const char *rev_pw = "review-Pw-1", *wri_pw = "write-Pw-2";

    /* site key, checkpoint keys, configuration, TLS certificate */
    char *key = mmdx_test_strf("%s/site.key", dir);
    mmdx_test_write_file(key, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
    chmod(key, 0600);
    char *conf = mmdx_test_strf("%s/mmdx.conf", dir);
    mmdx_test_write_file(conf, "[audit]\nsite_key_file = site.key\npseudonymise = yes\nsigning_key = sign.pem\n"
                               "verify_key = sign.pub\ncheckpoint_dir = checkpoints\nsite_id = Serve Test Hospital\n");
    char *cmd = mmdx_test_strf("mkdir '%s/checkpoints' '%s/browser' && '%s' audit keygen --out '%s/sign.pem' --pub '%s/sign.pub' && "
                    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost "
                    "-addext subjectAltName=IP:127.0.0.1 -keyout '%s/tls.key' -out '%s/tls.crt' && chmod 600 '%s/tls.key'",
                    dir, dir, mmdx_test_mmdx_bin(), dir, dir, dir, dir, dir);
    sh(cmd);
    free(cmd);
    cmd = mmdx_test_strf("'%s' db migrate --db '%s'", mmdx_test_mmdx_bin(), admin);
    sh(cmd);
    free(cmd);
    char *sql = mmdx_test_strf("CREATE ROLE %s LOGIN PASSWORD '%s' IN ROLE mmdx_reviewer; "
                    "CREATE ROLE %s LOGIN PASSWORD '%s' IN ROLE mmdx_writer;", rev, rev_pw, wri, wri_pw);
    mmdx_pgtest_exec(admin, sql);
    free(sql);

    /* The writer's run: three patients, one with a study UID that is HTML. */
    char *wdsn = mmdx_pgtest_role_dsn(dbname, wri, wri_pw);
    mmdx_store_options so = {0};
    so.conninfo = wdsn;
    so.site_key_file = key;
    so.pseudonymise = 1;
    mmdx_store *st;
    ck_assert_int_eq(mmdx_store_open(&st, &so), 0);
    char run[MMDX_RUN_ID_LEN];
    mmdx_store_run rr = {0};
    ck_assert_int_eq(mmdx_store_run_begin(st, &rr, run), 0);
    static const mmdx_store_contribution contrib = {"imaging", 0.25};
    mmdx_store_prediction p[3] = {
        {MRN_A, HOSTILE_STUDY, 0.875, 1, &contrib, 1, NULL, 0, NULL, 0, NULL, 0},
        {MRN_B, "1.2.3", 0.125, 0, &contrib, 1, NULL, 0, NULL, 0, NULL, 0},
        {"MRN-0003", NULL, 0.5, -1, NULL, 0, NULL, 0, NULL, 0, NULL, 0},
    };
    ck_assert_int_eq(mmdx_store_predictions(st, run, p, 3, NULL), 0);
    ck_assert_int_eq(mmdx_store_run_end(st, run, MMDX_OUTCOME_SUCCESS, NULL), 0);
    char psn_a[MMDX_PSEUDONYM_LEN], psn_b[MMDX_PSEUDONYM_LEN];
    ck_assert_int_eq(mmdx_store_pseudonym(st, MRN_A, psn_a), 0);
    ck_assert_int_eq(mmdx_store_pseudonym(st, MRN_B, psn_b), 0);
    mmdx_store_free(st);
    char *out = NULL;
    cmd = mmdx_test_strf("'%s' audit checkpoint --config '%s' --db '%s' --json", mmdx_test_mmdx_bin(), conf, admin);
    ck_assert_int_eq(mmdx_test_run(cmd, &out, NULL), 0);
    free(cmd);
    json_object *cp = json_tokener_parse(out);
    ck_assert_ptr_nonnull(cp);
    long long cp_size = json_object_get_int64(json_object_object_get(cp, "size"));
    char *cp_root = strdup(json_object_get_string(json_object_object_get(cp, "root")));
    json_object_put(cp);
    free(out);

    /* The server's DSN is the administrator's, with its password file: a login must never use it. */
    server srv = start_server(dir, conf, admin);

    /* ---- protocol, with curl ---- */
    reply r = http(dir, &srv, "jar", "/integrity", NULL);
    ck_assert_int_eq(r.status, 303); /* not logged in */
    ck_assert_ptr_nonnull(strstr(r.headers, "Location: /login"));
    reply_free(&r);
    r = http(dir, &srv, "jar", "/login", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.headers, "Set-Cookie: __Host-mmdx_login="));
    ck_assert_ptr_nonnull(strstr(r.headers, "; Path=/; Secure; HttpOnly; SameSite=Strict"));
    ck_assert_ptr_nonnull(strstr(r.headers, "Content-Security-Policy: default-src 'none'"));
    ck_assert_ptr_nonnull(strstr(r.headers, "Strict-Transport-Security:"));
    check_tidy(dir, "login", r.body);
    char *login_tok = hidden(r.body, "login_csrf");
    reply_free(&r);
    struct {
        const char *what, *role, *password, *token, *says;
    } refused[] = {
        {"a wrong password", rev, "not-the-password", login_tok, "did not accept this role and password"},
        {"the writer role", wri, wri_pw, login_tok, "not a reviewer"},
        {"the administrator without its password (the DSN's passfile unused)", "mmdx_admin", "x", login_tok,
         "did not accept"},
        {"no login token", rev, rev_pw, "", "expired or was not sent from this server"},
        {"a forged login token", rev, rev_pw, "00000000000000000000000000000000000000000000000000000000deadbeef",
         "expired or was not sent from this server"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        char *d = mmdx_test_strf("--data-urlencode 'login_csrf=%s' --data-urlencode 'role=%s' --data-urlencode 'password=%s'",
                      refused[i].token, refused[i].role, refused[i].password);
        r = http(dir, &srv, "jar", "/login", d);
        ck_assert_msg(r.status == 403, "%s: status %d", refused[i].what, r.status);
        ck_assert_msg(strstr(r.body, refused[i].says) != NULL, "%s: %s", refused[i].what, r.body);
        ck_assert_msg(strstr(r.headers, "__Host-mmdx_session=") == NULL, "%s: a session was opened", refused[i].what);
        if (i == 0)
            check_tidy(dir, "login-refused", r.body);
        reply_free(&r);
        free(d);
    }
    char *d = mmdx_test_strf("--data-urlencode 'login_csrf=%s' --data-urlencode 'role=%s' --data-urlencode 'password=%s'",
                  login_tok, rev, rev_pw);
    r = http(dir, &srv, "jar", "/login", d);
    free(d);
    ck_assert_int_eq(r.status, 303);
    const char *sc = strstr(r.headers, "Set-Cookie: __Host-mmdx_session=");
    ck_assert_ptr_nonnull(sc);
    ck_assert_ptr_nonnull(strstr(sc, "; Path=/; Secure; HttpOnly; SameSite=Strict"));
    sc += strlen("Set-Cookie: __Host-mmdx_session=");
    char *session_id = strndup(sc, strcspn(sc, ";"));
    ck_assert_int_eq(strlen(session_id), 64);
    reply_free(&r);
    r = http(dir, &srv, "jar", "/", NULL);
    ck_assert_int_eq(r.status, 200);
    check_tidy(dir, "search", r.body);
    char *csrf = hidden(r.body, "csrf");
    reply_free(&r);
    /* forms without this session's token, or from another site, are refused */
    struct {
        const char *what, *args;
    } forged[] = {
        {"no token", "--data-urlencode 'mrn=" MRN_A "'"},
        {"a wrong token", "--data-urlencode 'csrf=0000000000000000000000000000000000000000000000000000000000000000' "
                          "--data-urlencode 'mrn=" MRN_A "'"},
    };
    for (size_t i = 0; i < sizeof forged / sizeof *forged; i++) {
        r = http(dir, &srv, "jar", "/patient", forged[i].args);
        ck_assert_msg(r.status == 403 && strstr(r.body, "CSRF"), "%s: %d %s", forged[i].what, r.status, r.body);
        reply_free(&r);
    }
    d = mmdx_test_strf("-H 'Origin: https://attacker.example' --data-urlencode 'csrf=%s' --data-urlencode 'mrn=" MRN_A "'", csrf);
    r = http(dir, &srv, "jar", "/patient", d);
    free(d);
    ck_assert_msg(r.status == 403 && strstr(r.body, "another site"), "%d %s", r.status, r.body);
    reply_free(&r);
    r = http(dir, &srv, "jar", "/logout", "--data-urlencode 'csrf=bad'");
    ck_assert_int_eq(r.status, 403);
    reply_free(&r);
    /* the MRN travels in the body; the timeline's address is the pseudonym */
    d = mmdx_test_strf("--data-urlencode 'csrf=%s' --data-urlencode 'mrn=" MRN_A "'", csrf);
    r = http(dir, &srv, "jar", "/patient", d);
    free(d);
    ck_assert_int_eq(r.status, 303);
    char *loc = mmdx_test_strf("Location: /timeline/%s\r\n", psn_a + 4);
    ck_assert_msg(strstr(r.headers, loc) != NULL, "%s", r.headers);
    free(loc);
    reply_free(&r);
    char *timeline = mmdx_test_strf("/timeline/%s", psn_a + 4), *run_path = mmdx_test_strf("/run/%s", run);
    struct {
        const char *name, *path;
        int status;
    } pages[] = {{"timeline", timeline, 200}, {"run", run_path, 200}, {"proof", "/proof?seq=3", 200},
                 {"integrity", "/integrity", 200}, {"export", "/export", 200}, {"not-found", "/no/such/page", 404},
                 {"no-such-run", "/run/00000000", 404}, /* a prefix no run has (but with odds of 2^-32) */
                 {"no-such-event", "/proof?seq=999999", 404}, {"bad-seq", "/proof?seq=-1", 400}};
    for (size_t i = 0; i < sizeof pages / sizeof *pages; i++) {
        r = http(dir, &srv, "jar", pages[i].path, NULL);
        ck_assert_msg(r.status == pages[i].status, "%s: %d", pages[i].name, r.status);
        ck_assert_ptr_null(strstr(r.body, "<script"));
        check_tidy(dir, pages[i].name, r.body);
        reply_free(&r);
    }
    /* the ATNA download: one DICOM audit message per event of the period */
    d = mmdx_test_strf("--data-urlencode 'csrf=%s' --data-urlencode since=2000-01-01 --data-urlencode until=2100-01-01", csrf);
    r = http(dir, &srv, "jar", "/export", d);
    free(d);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.headers, "Content-Disposition: attachment; filename=\"mmdx-audit-2000-01-01-2100-01-01.xml\""));
    int messages = 0;
    for (const char *l = r.body; (l = strstr(l, "<AuditMessage")) != NULL; l++)
        messages++;
    ck_assert_int_ge(messages, 10);
    ck_assert_ptr_nonnull(strstr(r.body, "AuditEnterpriseSiteID=\"Serve Test Hospital\""));
    ck_assert_ptr_nonnull(strstr(r.body, psn_a));
    reply_free(&r);
    r = http(dir, &srv, "jar", "/export", "--data-urlencode 'csrf=x' --data-urlencode since=2000-01-01");
    ck_assert_int_eq(r.status, 403);
    reply_free(&r);
    /* logout ends the session: its cookie, sent again, opens nothing */
    d = mmdx_test_strf("--data-urlencode 'csrf=%s'", csrf);
    r = http(dir, &srv, "jar", "/logout", d);
    free(d);
    ck_assert_int_eq(r.status, 303);
    reply_free(&r);
    d = mmdx_test_strf("-H 'Cookie: __Host-mmdx_session=%s'", session_id);
    r = http(dir, &srv, "nojar", "/integrity", d);
    free(d);
    ck_assert_int_eq(r.status, 303);
    ck_assert_ptr_nonnull(strstr(r.headers, "Location: /login"));
    reply_free(&r);
    free(session_id);
    /* bound to 127.0.0.1 only: another loopback address of this host is not served */
    cmd = mmdx_test_strf("curl -sk --max-time 10 -o /dev/null https://127.0.0.2:%d/login", srv.port);
    ck_assert_int_eq(mmdx_test_run(cmd, NULL, NULL), 7); /* could not connect */
    free(cmd);

    /* ---- the browser ---- */
    cmd = mmdx_test_strf("REVIEW_ROLE='%s' REVIEW_PASSWORD='%s' REVIEW_MRN='%s' python3 '%s/tests/web/browser.py' '%s' '%s/browser'",
              rev, rev_pw, MRN_A, mmdx_test_source_dir(), srv.url, dir);
    char *err = NULL;
    out = NULL;
    int brc = mmdx_test_run(cmd, &out, &err);
    ck_assert_msg(brc == 0, "browser: exit %d: %s", brc, err);
    free(cmd);
    free(err);
    json_object *b = json_tokener_parse(out);
    ck_assert_msg(b != NULL, "%s", out);
    free(out);
    json_object *bp = json_object_object_get(b, "pages");
    const char *names[] = {"login", "login-refused", "search", "timeline", "run", "proof", "integrity", "export",
                           "logged-out"};
    ck_assert_int_eq(json_object_array_length(bp), sizeof names / sizeof *names);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        json_object *pg = json_object_array_get_idx(bp, i);
        const char *url = json_object_get_string(json_object_object_get(pg, "url"));
        ck_assert_str_eq(json_object_get_string(json_object_object_get(pg, "name")), names[i]);
        ck_assert_msg(strstr(url, "MRN") == NULL && strstr(url, "0001") == NULL, "a patient ID in %s", url);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(pg, "scripts")), 0);
        char *png = mmdx_test_strf("%s/browser/%s.png", dir, names[i]);
        check_png(png);
        free(png);
    }
    char *timeline_url = mmdx_test_strf("%s%s", srv.url, timeline);
    ck_assert_str_eq(json_object_get_string(json_object_object_get(json_object_array_get_idx(bp, 3), "url")),
                     timeline_url);
    free(timeline_url);
    json_object_put(b);
    char *html = page_file(dir, "login-refused");
    ck_assert_ptr_nonnull(strstr(html, "Login refused"));
    free(html);
    html = page_file(dir, "timeline"); /* the patient's events and prediction, nobody else's */
    ck_assert_ptr_nonnull(strstr(html, psn_a));
    ck_assert_ptr_null(strstr(html, psn_b));
    ck_assert_ptr_null(strstr(html, MRN_A));
    ck_assert_ptr_nonnull(strstr(html, "prediction.store"));
    ck_assert_ptr_nonnull(strstr(html, "0.875"));
    char *short_run = mmdx_test_strf("<code>%.8s</code>", run);
    ck_assert_ptr_nonnull(strstr(html, short_run));
    ck_assert_ptr_nonnull(strstr(html, "1.2.840.&lt;script&gt;alert(1)&lt;/script&gt;&amp;amp;"));
    free(html);
    html = page_file(dir, "run"); /* the run's start, three predictions, end */
    ck_assert_ptr_nonnull(strstr(html, "run.start"));
    ck_assert_ptr_nonnull(strstr(html, "run.end"));
    ck_assert_ptr_nonnull(strstr(html, psn_a));
    ck_assert_ptr_nonnull(strstr(html, psn_b));
    ck_assert_ptr_nonnull(strstr(html, "0.125"));
    free(html);
    html = page_file(dir, "proof");
    ck_assert_ptr_nonnull(strstr(html, "The path leads from the event's leaf to the root"));
    free(html);
    html = page_file(dir, "integrity"); /* verdict, tree head and the checkpoint signed above */
    ck_assert_ptr_nonnull(strstr(html, "Intact:"));
    ck_assert_ptr_nonnull(strstr(html, cp_root));
    char *cps = mmdx_test_strf("<dd>%lld events</dd>", cp_size);
    ck_assert_ptr_nonnull(strstr(html, cps));
    free(cps);
    free(html);
    html = page_file(dir, "logged-out");
    ck_assert_ptr_nonnull(strstr(html, "name=\"password\""));
    free(html);

    /* ---- every view is in the log, as the reviewer ---- */
    cmd = mmdx_test_strf("'%s' audit log --config '%s' --db '%s' --actor '%s' --json", mmdx_test_mmdx_bin(), conf, admin, rev);
    out = NULL;
    ck_assert_int_eq(mmdx_test_run(cmd, &out, NULL), 0);
    free(cmd);
    json_object *log = json_tokener_parse(out);
    ck_assert_msg(log && json_object_is_type(log, json_type_array), "%s", out);
    free(out);
    const char *viewed[] = {"search", "timeline", "run", "proof", "integrity", "export"};
    int seen[6] = {0}, logins = 0, logouts = 0, exports = 0, verifies = 0, timeline_psn = 0;
    for (size_t i = 0; i < json_object_array_length(log); i++) {
        json_object *e = json_object_array_get_idx(log, i);
        const char *action = json_object_get_string(json_object_object_get(e, "action"));
        const char *patient = json_object_get_string(json_object_object_get(e, "patient"));
        ck_assert_str_eq(json_object_get_string(json_object_object_get(e, "db_role")), rev);
        logins += !strcmp(action, "audit.login");
        logouts += !strcmp(action, "audit.logout");
        exports += !strcmp(action, "audit.export");
        verifies += !strcmp(action, "audit.verify");
        if (strcmp(action, "audit.view") != 0)
            continue;
        const char *pg = json_object_get_string(json_object_object_get(json_object_object_get(e, "detail"), "page"));
        for (size_t k = 0; k < 6; k++)
            seen[k] += !strcmp(pg, viewed[k]);
        if (!strcmp(pg, "timeline"))
            timeline_psn += patient && !strcmp(patient, psn_a);
    }
    for (size_t k = 0; k < 6; k++) /* once through curl, once through the browser */
        ck_assert_msg(seen[k] >= 2, "%s viewed %d times in the log", viewed[k], seen[k]);
    ck_assert_int_eq(logins, 2);
    ck_assert_int_eq(logouts, 2);
    ck_assert_int_eq(exports, 1);
    ck_assert_int_ge(verifies, 2);
    ck_assert_int_ge(timeline_psn, 2);
    json_object_put(log);

    /* ---- stop; the server's log names routes, never a patient or a password ---- */
    ck_assert_int_eq(kill(srv.pid, SIGTERM), 0);
    int status;
    ck_assert_int_eq(waitpid(srv.pid, &status, 0), srv.pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server status %d", status);
    char *slog = mmdx_test_read_file(srv.log, NULL);
    ck_assert_ptr_nonnull(slog);
    ck_assert_ptr_nonnull(strstr(slog, "GET /timeline/{handle} 200 role="));
    ck_assert_ptr_nonnull(strstr(slog, "POST /login 403 role=-"));
    ck_assert_ptr_nonnull(strstr(slog, "stopped (SIGTERM)"));
    const char *secret[] = {"MRN", "0001", psn_a + 4, rev_pw, wri_pw, "not-the-password"};
    for (size_t i = 0; i < sizeof secret / sizeof *secret; i++)
        ck_assert_msg(strstr(slog, secret[i]) == NULL, "the server log holds \"%s\":\n%s", secret[i], slog);
    free(slog);

    cmd = mmdx_test_strf("'%s' audit verify --config '%s' --db '%s'", mmdx_test_mmdx_bin(), conf, admin);
    ck_assert_int_eq(mmdx_test_run(cmd, NULL, NULL), 0);
    free(cmd);
    free(timeline);
    free(run_path);
    free(short_run);
    free(csrf);
    free(login_tok);
    free(cp_root);
    /* MMDX_SERVE_SCREENSHOTS=DIR keeps the browser's pages and screenshots there (for the docs) */
    const char *keep = getenv("MMDX_SERVE_SCREENSHOTS");
    if (keep) {
        cmd = mmdx_test_strf("mkdir -p '%s' && cp '%s'/browser/*.png '%s'/browser/*.html '%s'/", keep, dir, dir, keep);
        sh(cmd);
        free(cmd);
    }
    mmdx_test_rmtree(dir);
    free(srv.url);
    free(srv.log);
    free(key);
    free(conf);
    free(wdsn);
    free(rev);
    free(wri);
    free(admin);
    free(dbname);
    free(dir);
}
END_TEST

START_TEST(serve_bad_usage)
{
    char *dir = mmdx_test_tmpdir();
    struct {
        const char *args;
        int code;
        const char *says;
    } cases[] = {
        {"--listen 127.0.0.1:0", 2, "--tls-cert"},
        {"--listen localhost:1 --tls-cert C --tls-key K", 3, "not a numeric address"},
        {"--listen 127.0.0.1 --tls-cert C --tls-key K", 3, "ADDRESS:PORT"},
        {"--listen 127.0.0.1:0 --tls-cert /nonexistent.pem --tls-key K", 3, "/nonexistent.pem"},
        {"--listen 127.0.0.1:0 --tls-cert @ --tls-key @", 3, "group or others"},
        {"--idle-timeout soon --listen 127.0.0.1:0", 2, "--idle-timeout"},
        {"--listen 127.0.0.1:0 extra", 2, "unexpected argument"},
    };
    char *pem = mmdx_test_strf("%s/readable.pem", dir);
    mmdx_test_write_file(pem, "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n");
    chmod(pem, 0644);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        /* @ stands for a key file others may read */
        char *args = calloc(1, strlen(cases[i].args) + 2 * strlen(pem) + 1);
        for (const char *q = cases[i].args; *q; q++)
            if (*q == '@')
                strcat(args, pem);
            else
                strncat(args, q, 1);
        char *cmd = mmdx_test_strf("'%s' audit serve %s", mmdx_test_mmdx_bin(), args), *err = NULL;
        int rc = mmdx_test_run(cmd, NULL, &err);
        ck_assert_msg(rc == cases[i].code && strstr(err, cases[i].says), "%s: exit %d: %s", args, rc, err);
        free(err);
        free(cmd);
        free(args);
    }
    char *out = NULL;
    char *cmd = mmdx_test_strf("'%s' audit serve --help", mmdx_test_mmdx_bin());
    ck_assert_int_eq(mmdx_test_run(cmd, &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "mmdx_reviewer"));
    free(out);
    free(cmd);
    free(pem);
    mmdx_test_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("audit_serve");
    TCase *t = tcase_create("serve");
    tcase_set_timeout(t, 180);
    tcase_add_test(t, serve_bad_usage);
    tcase_add_test(t, serve_end_to_end);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    mmdx_pgtest_state_dir();
    return mmdx_test_run_suite(suite());
}
