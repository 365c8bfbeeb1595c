/* SPDX-License-Identifier: Apache-2.0 */
#include "cli.h"

/* One line per subcommand; keep alphabetical within a group. */
const mmdx_cli_command mmdx_cli_commands[] = {
    {"encode", "encode a cohort (or one input) into a feature table", mmdx_cmd_encode},
    {"genomics", "genomics tools: polygenic scores of a VCF/BCF (plink2-compatible)", mmdx_cmd_genomics},
    {"plugins", "list the loaded plugins and the ones refused", mmdx_cmd_plugins},
    {NULL, NULL, NULL},
};
