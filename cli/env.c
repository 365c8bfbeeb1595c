/* SPDX-License-Identifier: Apache-2.0 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "model_session.h"
#include "site_settings.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Sections of the site configuration that belong to the host, not to a plugin. */
static const char *const host_sections[] = {"mmdx", "audit"};

/*
 * The one rule from error to exit code, for every command (README, "Exit
 * codes"): what the user or administrator must fix in the input — a missing
 * or malformed file, a bad configuration, a key file others may read, a
 * model that does not fit the encoders — is 3; a choice on the command line
 * that cannot be honoured (an output that belongs to another run) is 2;
 * a broken check of integrity is 4; what may pass if run again (I/O, the
 * database, memory, a plugin's internal failure) is 1.
 */
int mmdx_cli_exit_code(int err)
{
    switch (err) {
    case MMDX_OK: return MMDX_EXIT_OK;
    case MMDX_EINVAL:
    case MMDX_EFORMAT:
    case MMDX_ENOTFOUND:
    case MMDX_ESCHEMA:
    case MMDX_EPERM:
    case MMDX_EABI:
    case MMDX_EUNSUPPORTED: return MMDX_EXIT_INPUT;
    case MMDX_EEXISTS: return MMDX_EXIT_USAGE;
    case MMDX_EINTEGRITY: return MMDX_EXIT_INTEGRITY;
    case MMDX_ECANCELED: return MMDX_EXIT_INTERRUPTED;
    default: return MMDX_EXIT_FAILURE;
    }
}

int mmdx_cli_report(const char *cmd, int err)
{
    const char *msg = mmdx_last_error();
    fprintf(stderr, "mmdx %s: %s\n", cmd, *msg ? msg : mmdx_error_name(err));
    return mmdx_cli_exit_code(err);
}

void mmdx_cli_print_json(struct json_object *o)
{
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                               JSON_C_TO_STRING_NOSLASHESCAPE));
}

int mmdx_cli_parse_threads(const char *s)
{
    char *end;
    long t = strtol(s, &end, 10);
    return (*s && !*end && t >= 1 && t <= 1024) ? (int)t : 0;
}

static void log_refusal(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "mmdx: warning: %s\n", message);
}

int mmdx_cli_env_open(mmdx_cli_env *env, const char *config_path, int threads, int quiet)
{
    memset(env, 0, sizeof *env);
    int rc = mmdx_config_load(&env->config, config_path);
    if (rc == 0)
        rc = mmdx_config_check_host(env->config);
    if (rc == 0)
        rc = mmdx_registry_new(&env->registry, quiet ? NULL : log_refusal, NULL);
    if (rc < 0) {
        mmdx_cli_env_close(env);
        return rc;
    }
    const char *extra = mmdx_config_host_value(env->config, "plugin_path");
    char *extra_resolved = NULL;
    if (extra && mmdx_config_path(env->config)) {
        /* Relative plugin_path entries are relative to the configuration file. */
        char *dir = strdup(mmdx_config_path(env->config));
        char *slash = dir ? strrchr(dir, '/') : NULL;
        if (slash && extra[0] != '/') {
            *slash = '\0';
            size_t n = strlen(dir) + strlen(extra) + 2;
            extra_resolved = malloc(n);
            if (extra_resolved)
                snprintf(extra_resolved, n, "%s/%s", dir, extra);
        }
        free(dir);
    }
    (void)mmdx_registry_scan_default(env->registry, extra_resolved ? extra_resolved : extra);
    free(extra_resolved);

    size_t n = mmdx_registry_count(env->registry);
    size_t n_host = sizeof host_sections / sizeof *host_sections;
    const char **known = malloc((n + n_host) * sizeof *known);
    if (!known) {
        mmdx_cli_env_close(env);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_host; i++)
        known[i] = host_sections[i];
    for (size_t i = 0; i < n; i++)
        known[n_host + i] = mmdx_registry_get(env->registry, i)->info.name;
    rc = mmdx_config_check_sections(env->config, known, n + n_host);
    free(known);
    if (rc < 0) {
        mmdx_cli_env_close(env);
        return rc;
    }

    if (threads <= 0) {
        const char *t = mmdx_config_host_value(env->config, "threads");
        threads = t ? mmdx_cli_parse_threads(t) : 0;
    }
#ifdef _OPENMP
    if (threads <= 0)
        threads = omp_get_max_threads();
    omp_set_num_threads(threads);
#endif
    env->threads = threads > 0 ? threads : 1;
    return 0;
}

void mmdx_cli_env_close(mmdx_cli_env *env)
{
    mmdx_registry_free(env->registry);
    mmdx_config_free(env->config);
    memset(env, 0, sizeof *env);
}

int mmdx_cli_site_settings(mmdx_audit_settings *out, const mmdx_config *config, const mmdx_site_overrides *cmdline)
{
    mmdx_site_overrides env = MMDX_SITE_OVERRIDES_NONE;
    env.db = getenv("MMDX_DB");
    env.site_key_file = getenv("MMDX_SITE_KEY");
    const char *require = getenv("MMDX_REQUIRE_SIGNED_MODELS");
    if (require && strcmp(require, "1") == 0)
        env.require_signed_models = 1;
    return mmdx_audit_settings_resolve(out, config, cmdline, &env);
}

int mmdx_cli_score_cohort(struct mmdx_scored_cohort *sc, const mmdx_cli_env *env, const char *model_path,
                          const char *site_key, int require_signed, struct mmdx_cohort_input_options *io)
{
    mmdx_site_overrides cmdline = MMDX_SITE_OVERRIDES_NONE;
    cmdline.site_key_file = site_key;
    cmdline.require_signed_models = require_signed ? 1 : -1;
    mmdx_audit_settings site;
    memset(sc, 0, sizeof *sc);
    int rc = mmdx_cli_site_settings(&site, env->config, &cmdline);
    if (rc == 0)
        rc = mmdx_scored_cohort_run(sc, model_path, site.site_key_file, site.require_signed_models, io);
    mmdx_audit_settings_clear(&site);
    return rc;
}
