/* SPDX-License-Identifier: Apache-2.0 */
/* mmdx audit serve: the audit log reviewed in a browser over HTTPS (web/). */
#include <getopt.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "site_settings.h"
#include "web.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: mmdx audit serve --listen ADDRESS:PORT --tls-cert PEM --tls-key PEM [options]\n"
            "\n"
            "Serve the audit log for review in a browser, over HTTPS only, on ADDRESS only\n"
            "(e.g. 127.0.0.1:8443 or [::1]:8443; port 0 picks a free one). Each reviewer logs\n"
            "in with their own PostgreSQL role and password: the server connects as that role\n"
            "(the --db connection string with its user and password replaced; no password file\n"
            "is read) and refuses a role that is not a member of mmdx_reviewer. Pages: the log's\n"
            "integrity (verification, tree head, last checkpoint), a patient's timeline (the ID\n"
            "is sent in a form; the address holds the keyed pseudonym), one run's events and\n"
            "predictions, an event's inclusion proof, and the ATNA export as a download. Every\n"
            "page view is recorded in the log (audit.view) as the reviewer. Forms carry a CSRF\n"
            "token; cookies are Secure, HttpOnly, SameSite=Strict. One line per request goes to\n"
            "standard error, naming the route and status, never a patient or a password.\n"
            "Stops cleanly on SIGINT or SIGTERM.\n"
            "\n"
            "Options:\n"
            "  --listen A:P         numeric address and port to bind (required)\n"
            "  --tls-cert PEM       server certificate (chain), PEM\n"
            "  --tls-key PEM        its private key, PEM, not readable by group or others\n"
            "  --db CONNINFO        libpq connection string or URI without credentials (else\n"
            "                       [audit] db, $MMDX_DB, PG*)\n"
            "  --config F           site configuration ([audit] section)\n"
            "  --site-key F         site key: HMACs of the recorded views, pseudonyms (else\n"
            "                       $MMDX_SITE_KEY, [audit] site_key_file)\n"
            "  --verify-key PEM     checkpoints' public key (else [audit] verify_key; the\n"
            "                       checkpoints are those of [audit] checkpoint_dir)\n"
            "  --idle-timeout S     close a session idle for S seconds (default 900)\n"
            "  --max-sessions N     reviewers logged in at once (default 16)\n"
            "  --json               print the address served as JSON ({\"url\", \"port\"})\n"
            "\n"
            "Exit codes: 0 stopped by a signal, 1 cannot serve (address in use, TLS), 2 bad usage,\n"
            "3 bad input (certificate, key, configuration).\n");
}

static int parse_positive(const char *opt, const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 1 || v > 86400 * 7) {
        fprintf(stderr, "mmdx audit serve: %s \"%s\" is not a positive number\n", opt, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int mmdx_cmd_audit_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},     {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'},    {"db", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},     {"site-key", required_argument, NULL, 'k'},
        {"verify-key", required_argument, NULL, 'V'}, {"idle-timeout", required_argument, NULL, 'i'},
        {"max-sessions", required_argument, NULL, 'm'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0}};
    mmdx_web_options wo = {0};
    mmdx_site_overrides cmdline = MMDX_SITE_OVERRIDES_NONE;
    const char *config = NULL;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': wo.listen = optarg; break;
        case 'C': wo.tls_cert_file = optarg; break;
        case 'K': wo.tls_key_file = optarg; break;
        case 'd': cmdline.db = optarg; break;
        case 'c': config = optarg; break;
        case 'k': cmdline.site_key_file = optarg; break;
        case 'V': cmdline.verify_key = optarg; break;
        case 'i':
            if (parse_positive("--idle-timeout", optarg, &wo.idle_timeout_s) < 0)
                return MMDX_EXIT_USAGE;
            break;
        case 'm':
            if (parse_positive("--max-sessions", optarg, &wo.max_sessions) < 0)
                return MMDX_EXIT_USAGE;
            break;
        case 'j': json = 1; break;
        case 'h': help(stdout); return MMDX_EXIT_OK;
        default: help(stderr); return MMDX_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mmdx audit serve: unexpected argument \"%s\"\n", argv[optind]);
        return MMDX_EXIT_USAGE;
    }
    if (!wo.listen || !wo.tls_cert_file || !wo.tls_key_file) {
        fprintf(stderr, "mmdx audit serve: give --listen ADDRESS:PORT, --tls-cert PEM and --tls-key PEM "
                        "(HTTPS only)\n");
        return MMDX_EXIT_USAGE;
    }
    mmdx_config *cfg = NULL;
    mmdx_audit_settings set;
    memset(&set, 0, sizeof set);
    int rc = mmdx_config_load(&cfg, config);
    if (rc == 0)
        rc = mmdx_cli_site_settings(&set, cfg, &cmdline);
    mmdx_config_free(cfg);
    if (rc < 0) {
        mmdx_audit_settings_clear(&set);
        return mmdx_cli_report("audit serve", rc);
    }
    wo.site = &set;
    /* The server's threads inherit this mask: the signals reach only sigwait below. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    mmdx_web_server *w = NULL;
    rc = mmdx_web_start(&w, &wo);
    if (rc < 0) {
        mmdx_audit_settings_clear(&set);
        return rc == MMDX_EIO ? mmdx_cli_report("audit serve", MMDX_ERROR) : mmdx_cli_report("audit serve", rc);
    }
    int port = mmdx_web_port(w);
    char url[200];
    const char *colon = strrchr(wo.listen, ':');
    snprintf(url, sizeof url, "https://%.*s:%d/", (int)(colon - wo.listen), wo.listen, port);
    if (json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "url", json_object_new_string(url));
        json_object_object_add(o, "port", json_object_new_int(port));
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else {
        printf("mmdx audit serve: listening on %s (Ctrl-C stops)\n", url);
    }
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    mmdx_web_stop(w);
    mmdx_audit_settings_clear(&set);
    fprintf(stderr, "mmdx audit serve: stopped (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    return MMDX_EXIT_OK;
}
