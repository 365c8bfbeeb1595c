/*
 * cli/cli.h — the `mmdx` host program: command table, exit codes, shared setup.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_CLI_H
#define MMDX_CLI_H

#include <signal.h>
#include <stdio.h>

#include "config.h"
#include "loader.h"

/* Exit codes (documented in README and `mmdx --help`). */
enum {
    MMDX_EXIT_OK = 0,        /* success */
    MMDX_EXIT_FAILURE = 1,   /* runtime failure: I/O, database, plugin error */
    MMDX_EXIT_USAGE = 2,     /* bad command line */
    MMDX_EXIT_INPUT = 3,     /* bad input data: malformed manifest, file, configuration */
    MMDX_EXIT_INTEGRITY = 4, /* an integrity check failed: audit chain, model signature */
    MMDX_EXIT_INTERRUPTED = 130 /* stopped by SIGINT/SIGTERM at a safe point: run it again to resume */
};

/**
 * Long commands (cli/interrupt.c): catch SIGINT and SIGTERM; the flag
 * returned becomes non-zero on the first one, which the work checks at safe
 * points (between batches); a second signal ends the program at once.
 */
const volatile sig_atomic_t *mmdx_cli_catch_interrupts(void);
int mmdx_cli_interrupted(void);

/** One subcommand: `mmdx <name> ...`. run() gets argv with argv[0] = name. */
typedef struct mmdx_cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} mmdx_cli_command;

/** The command table (cli/commands.c). Terminated by a NULL name. */
extern const mmdx_cli_command mmdx_cli_commands[];

/** Map an mmdx_error_code to an exit code. */
int mmdx_cli_exit_code(int err);

/** Print "mmdx <cmd>: <last error>" to stderr and return the exit code for `err`. */
int mmdx_cli_report(const char *cmd, int err);

struct json_object;
/** Print a JSON value on stdout, pretty and with spaces ("key": value), then a newline. */
void mmdx_cli_print_json(struct json_object *o);

/** Parse a positive thread count ("4"); 0 on error. */
int mmdx_cli_parse_threads(const char *s);

/**
 * What most commands need: the site configuration and the plugin registry.
 * Loads the configuration (--config, $MMDX_CONFIG, default path), scans the
 * plugin folders (next to the executable, the configuration's
 * [mmdx] plugin_path, $MMDX_PLUGIN_PATH), reports refused plugins on stderr
 * and checks the configuration's sections against the loaded plugins.
 */
typedef struct mmdx_cli_env {
    mmdx_config *config;
    mmdx_registry *registry;
    int threads;
} mmdx_cli_env;

MMDX_RESULT_USED int mmdx_cli_env_open(mmdx_cli_env *env, const char *config_path, int threads,
                                       int quiet);
void mmdx_cli_env_close(mmdx_cli_env *env);

/* Subcommands. */
int mmdx_cmd_plugins(int argc, char **argv);
int mmdx_cmd_encode(int argc, char **argv);
/** `mmdx encode imaging PATH ...` (cli/cmd_encode_imaging.c), dispatched by mmdx_cmd_encode. */
int mmdx_cmd_encode_imaging(int argc, char **argv);
int mmdx_cmd_config(int argc, char **argv);
/** `mmdx encode records FILE ...` (argv[0] = "records"); see cli/cmd_encode_records.c. */
int mmdx_cmd_encode_records(int argc, char **argv);
int mmdx_cmd_genomics(int argc, char **argv);
int mmdx_cmd_train(int argc, char **argv);
int mmdx_cmd_evaluate(int argc, char **argv);
int mmdx_cmd_predict(int argc, char **argv);
int mmdx_cmd_db(int argc, char **argv);
int mmdx_cmd_audit(int argc, char **argv);
/** `mmdx audit serve` (cli/cmd_audit_serve.c), dispatched by mmdx_cmd_audit. */
int mmdx_cmd_audit_serve(int argc, char **argv);
/** `mmdx similar`: nearest stored patients in a joint model's space (cli/cmd_similar.c). */
int mmdx_cmd_similar(int argc, char **argv);

/**
 * The site settings of every command (cli/env.c): the command line's
 * `cmdline` (NULL: none given), else $MMDX_DB, $MMDX_SITE_KEY and
 * $MMDX_REQUIRE_SIGNED_MODELS=1, else [audit] of `config`. Release `out`
 * with mmdx_audit_settings_clear().
 */
struct mmdx_audit_settings;
struct mmdx_site_overrides;
MMDX_RESULT_USED int mmdx_cli_site_settings(struct mmdx_audit_settings *out, const mmdx_config *config,
                                            const struct mmdx_site_overrides *cmdline);

/**
 * evaluate and predict: resolve the site key (--site-key, $MMDX_SITE_KEY,
 * [audit] site_key_file) and the signature requirement (--require-signed,
 * $MMDX_REQUIRE_SIGNED_MODELS=1), open the model and score the cohort of
 * `io` with it (model/model_session.h). `sc` is zeroed on failure.
 */
struct mmdx_scored_cohort;
struct mmdx_cohort_input_options;
MMDX_RESULT_USED int mmdx_cli_score_cohort(struct mmdx_scored_cohort *sc, const mmdx_cli_env *env,
                                           const char *model_path, const char *site_key, int require_signed,
                                           struct mmdx_cohort_input_options *io);

/* Open the audited store for `mmdx db` / `mmdx audit` (cmd_db.c) with the
 * site settings resolved by mmdx_cli_site_settings() from `cmdline`. */
struct mmdx_store;
MMDX_RESULT_USED int mmdx_cli_store_open(struct mmdx_store **out, struct mmdx_audit_settings *set,
                                         const char *config_path, const struct mmdx_site_overrides *cmdline);

/** `mmdx synth`: the synthetic cohort generator (cli/cmd_synth.c). */
int mmdx_cmd_synth(int argc, char **argv);
/** `mmdx screen`: batch screening into the audited store (cli/cmd_screen.c). */
int mmdx_cmd_screen(int argc, char **argv);

#endif
