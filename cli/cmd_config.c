/* SPDX-License-Identifier: Apache-2.0 */
/* mmdx config check: validate the site configuration the way a run would use it. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "site_settings.h"
#include "encoders.h"
#include "error.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: mmdx config check [--config F] [--json]\n"
            "\n"
            "Load the site configuration and the plugins, check the host section [mmdx],\n"
            "that every section names a loaded plugin, and open every encoder with its\n"
            "section, so unknown keys and bad values are reported (file and line) before\n"
            "a long run rather than during it. Prints which file was used.\n"
            "\n"
            "  --config F   configuration file (else $MMDX_CONFIG, else %s)\n"
            "  --json       print {\"config\": ..., \"ok\": ..., \"error\": ..., \"encoders\": [...]}\n"
            "\n"
            "Exit codes: 0 valid; 3 invalid (the message names file and line); 1 other failure.\n",
            MMDX_CONFIG_DEFAULT_PATH);
}

int mmdx_cmd_config(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int json = 0, c;
    const char *config = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hjc:", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'c': config = optarg; break;
        case 'h': help(stdout); return MMDX_EXIT_OK;
        default: help(stderr); return MMDX_EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || strcmp(argv[optind], "check") != 0) {
        help(stderr);
        return MMDX_EXIT_USAGE;
    }
    mmdx_cli_env env;
    mmdx_encoder_set *set = NULL;
    int rc = mmdx_cli_env_open(&env, config, 1, json);
    if (rc == 0)
        rc = mmdx_encoder_set_open(&set, env.registry, env.config, 1, NULL, 0);
    if (rc == 0) {
        /* [audit]: unknown keys and bad values (keys are not read here). */
        mmdx_audit_settings audit;
        rc = mmdx_audit_settings_load(&audit, env.config);
        mmdx_audit_settings_clear(&audit);
    }
    const char *path = rc == 0 || env.config ? (env.config ? mmdx_config_path(env.config) : NULL) : NULL;
    if (json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "config", path ? json_object_new_string(path) : NULL);
        json_object_object_add(o, "ok", json_object_new_boolean(rc == 0));
        json_object_object_add(o, "error", rc == 0 ? NULL : json_object_new_string(mmdx_last_error()));
        json_object *encs = json_object_new_array();
        for (size_t i = 0; set && i < mmdx_encoder_set_count(set); i++) {
            json_object *e = json_object_new_object();
            json_object_object_add(e, "name", json_object_new_string(mmdx_encoder_set_plugin(set, i)->info.name));
            json_object_object_add(e, "features", json_object_new_int64((int64_t)mmdx_encoder_set_n_features(set, i)));
            json_object_object_add(e, "config_sha256", json_object_new_string(mmdx_encoder_set_config_hash(set, i)));
            json_object_array_add(encs, e);
        }
        json_object_object_add(o, "encoders", encs);
        mmdx_cli_print_json(o);
        json_object_put(o);
    } else if (rc == 0) {
        printf("configuration: %s\n", path ? path : "(none: built-in defaults)");
        for (size_t i = 0; i < mmdx_encoder_set_count(set); i++)
            printf("  %-10s %4zu features  config %.12s\n", mmdx_encoder_set_plugin(set, i)->info.name,
                   mmdx_encoder_set_n_features(set, i), mmdx_encoder_set_config_hash(set, i));
        printf("ok\n");
    }
    int exit_code = rc == 0 ? MMDX_EXIT_OK : (json ? mmdx_cli_exit_code(rc) : mmdx_cli_report("config", rc));
    mmdx_encoder_set_free(set);
    mmdx_cli_env_close(&env);
    return exit_code;
}
