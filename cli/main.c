/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mmdx/plugin.h"

#ifndef MMDX_VERSION
#define MMDX_VERSION "unknown"
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "mmdx %s: clinical multimodal diagnostics\n"
            "\n"
            "Usage: mmdx <command> [options]   (mmdx <command> --help for details)\n"
            "\n"
            "Commands:\n",
            MMDX_VERSION);
    for (const mmdx_cli_command *c = mmdx_cli_commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f,
            "\n"
            "Options common to most commands:\n"
            "  --config F     site configuration (else $MMDX_CONFIG, else %s)\n"
            "  --threads N    worker threads (else [mmdx] threads, else all cores)\n"
            "  --json         machine-readable output where it applies\n"
            "\n"
            "Plugins are loaded from the folder next to this program (../lib/mmdx/plugins),\n"
            "the configuration's [mmdx] plugin_path and $MMDX_PLUGIN_PATH (':'-separated).\n"
            "\n"
            "Exit codes, the same in every command: 0 success; 1 runtime failure that may\n"
            "pass when run again (I/O, database, memory, a plugin's internal error); 2 bad\n"
            "command line (or an output that belongs to another run); 3 bad input to fix: a\n"
            "missing or malformed file, a bad configuration, a key file others can read, a\n"
            "model that does not fit the encoders; 4 an integrity check failed.\n",
            MMDX_CONFIG_DEFAULT_PATH);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return MMDX_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return MMDX_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("mmdx %s (plugin ABI %u.%u)\n", MMDX_VERSION, MMDX_ABI_VERSION_MAJOR,
               MMDX_ABI_VERSION_MINOR);
        return MMDX_EXIT_OK;
    }
    for (const mmdx_cli_command *c = mmdx_cli_commands; c->name; c++)
        if (strcmp(c->name, cmd) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "mmdx: unknown command \"%s\" (see mmdx --help)\n", cmd);
    return MMDX_EXIT_USAGE;
}
