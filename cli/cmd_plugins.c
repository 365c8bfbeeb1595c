/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: mmdx plugins [--json] [--config F]\n"
            "\n"
            "List the plugins mmdx loaded (name, kind, modality, version, ABI, path, SHA-256)\n"
            "and the ones it refused, with the reason.\n"
            "\n"
            "  --json       print a JSON object {\"plugins\": [...], \"refused\": [...]}\n"
            "  --config F   site configuration file\n");
}

static json_object *plugin_json(const mmdx_plugin *p)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(p->info.name));
    json_object_object_add(o, "kind", json_object_new_string(mmdx_plugin_kind_name(p->info.kind)));
    json_object_object_add(o, "modality",
                           p->info.modality ? json_object_new_string(p->info.modality) : NULL);
    json_object_object_add(o, "input_column",
                           p->info.input_column ? json_object_new_string(p->info.input_column) : NULL);
    json_object_object_add(o, "version", json_object_new_string(p->info.version));
    char abi[32];
    snprintf(abi, sizeof abi, "%u.%u", MMDX_ABI_MAJOR(p->info.abi_version),
             MMDX_ABI_MINOR(p->info.abi_version));
    json_object_object_add(o, "abi", json_object_new_string(abi));
    json_object_object_add(o, "description",
                           json_object_new_string(p->info.description ? p->info.description : ""));
    json_object_object_add(o, "path", json_object_new_string(p->path));
    json_object_object_add(o, "sha256", json_object_new_string(p->sha256));
    return o;
}

int mmdx_cmd_plugins(int argc, char **argv)
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
    if (optind < argc) {
        fprintf(stderr, "mmdx plugins: unexpected argument \"%s\"\n", argv[optind]);
        return MMDX_EXIT_USAGE;
    }
    mmdx_cli_env env;
    int rc = mmdx_cli_env_open(&env, config, 1, json);
    if (rc < 0)
        return mmdx_cli_report("plugins", rc);
    size_t n = mmdx_registry_count(env.registry);
    if (json) {
        json_object *root = json_object_new_object(), *list = json_object_new_array();
        for (size_t i = 0; i < n; i++)
            json_object_array_add(list, plugin_json(mmdx_registry_get(env.registry, i)));
        json_object *ref = json_object_new_array();
        for (size_t i = 0; i < mmdx_registry_refusals(env.registry); i++)
            json_object_array_add(ref, json_object_new_string(mmdx_registry_refusal(env.registry, i)));
        char abi[32];
        snprintf(abi, sizeof abi, "%u.%u", MMDX_ABI_VERSION_MAJOR, MMDX_ABI_VERSION_MINOR);
        json_object_object_add(root, "host_abi", json_object_new_string(abi));
        json_object_object_add(root, "plugins", list);
        json_object_object_add(root, "refused", ref);
        mmdx_cli_print_json(root);
        json_object_put(root);
    } else {
        if (n == 0)
            printf("No plugins loaded.\n");
        for (size_t i = 0; i < n; i++) {
            const mmdx_plugin *p = mmdx_registry_get(env.registry, i);
            printf("%-12s %-8s %-10s %-9s ABI %u.%u  %s\n", p->info.name,
                   mmdx_plugin_kind_name(p->info.kind), p->info.modality ? p->info.modality : "-",
                   p->info.version, MMDX_ABI_MAJOR(p->info.abi_version),
                   MMDX_ABI_MINOR(p->info.abi_version), p->info.description ? p->info.description : "");
            printf("             %s\n             sha256 %s\n", p->path, p->sha256);
        }
        /* Refusals were already printed as warnings on stderr. */
    }
    mmdx_cli_env_close(&env);
    return MMDX_EXIT_OK;
}
