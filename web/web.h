/*
 * web/web.h — `mmdx audit serve`: the audit log reviewed in a browser over
 * HTTPS (libmicrohttpd with GnuTLS).
 * SPDX-License-Identifier: Apache-2.0
 *
 * A person logs in with their own PostgreSQL role and password; the server
 * opens one connection AS that role for the session (the --db connection
 * string with its user and password replaced) and refuses a role without
 * the privileges of mmdx_reviewer. Every page is built from the same
 * library calls as the `mmdx audit` and `mmdx db` commands (verify, query,
 * results, tree head, proofs, ATNA export) and every page view is recorded
 * in the log, through the reviewer's own connection, before anything is
 * shown. Patient IDs travel only in POST bodies: URLs carry the keyed
 * pseudonym, or a handle valid in one session, and the request log names
 * routes, never patients.
 *
 * Requests are handled one at a time by the server's thread: a session's
 * connection is never used by two threads, and a long verification holds
 * the other requests for its duration.
 *
 * Errors: 0 or a negative MMDX_E* code with the thread's last error set:
 * MMDX_EINVAL (bad --listen, missing file), MMDX_ENOTFOUND, MMDX_EIO
 * (cannot read the certificate or key, cannot bind), MMDX_EPERM (the key
 * file is readable by others), MMDX_EUNSUPPORTED (libmicrohttpd without TLS).
 */
#ifndef MMDX_WEB_H
#define MMDX_WEB_H

#include <stdio.h>

#include "mmdx/common.h"
#include "site_settings.h"

typedef struct mmdx_web_server mmdx_web_server;

typedef struct mmdx_web_options {
    /** "127.0.0.1:8443" or "[::1]:8443": a numeric address and a port
     *  (0: any free port, see mmdx_web_port). The server binds only there. */
    const char *listen;
    const char *tls_cert_file; /**< PEM certificate (chain) */
    const char *tls_key_file;  /**< PEM private key; refused when group or others may read it */
    /** db (a login's user and password are replaced), site key and
     *  pseudonymise, checkpoints and verify_key, site_id. Borrowed for the
     *  server's lifetime. */
    const mmdx_audit_settings *site;
    int idle_timeout_s; /**< a session idle this long is closed; 0: 900 */
    int max_sessions;   /**< open sessions (each holds a connection); 0: 16 */
    FILE *log;          /**< one line per request (route, status, role); NULL: stderr */
} mmdx_web_options;

/** Start serving in a thread of the server's own. Errors: see above. */
MMDX_RESULT_USED int mmdx_web_start(mmdx_web_server **out, const mmdx_web_options *o);

/** The port bound (useful with port 0). */
int mmdx_web_port(const mmdx_web_server *w);

/** Stop: finish the request in progress, close every session. NULL is fine. */
void mmdx_web_stop(mmdx_web_server *w);

#endif
