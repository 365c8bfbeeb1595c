/* SPDX-License-Identifier: Apache-2.0 */
#include "cli.h"

/* One line per subcommand; keep alphabetical within a group. */
const mmdx_cli_command mmdx_cli_commands[] = {
    {"encode", "encode a cohort (or one input) into a feature table", mmdx_cmd_encode},
    {"plugins", "list the loaded plugins and the ones refused", mmdx_cmd_plugins},
    {"synth", "generate a synthetic multimodal cohort (DICOM, VCF, FHIR, manifest)", mmdx_cmd_synth},
    {NULL, NULL, NULL},
};
