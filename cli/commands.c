/* SPDX-License-Identifier: Apache-2.0 */
#include "cli.h"

/* One line per subcommand; keep alphabetical within a group. */
const mmdx_cli_command mmdx_cli_commands[] = {
    {"audit", "verify, list, export, checkpoint and prove the audit log", mmdx_cmd_audit},
    {"config", "check the site configuration (sections, keys, values) before a run", mmdx_cmd_config},
    {"db", "create or upgrade the result database; list stored results", mmdx_cmd_db},
    {"encode", "encode a cohort (or one input) into a feature table", mmdx_cmd_encode},
    {"evaluate", "score a labelled cohort with a model: AUROC, calibration, confusion matrix", mmdx_cmd_evaluate},
    {"genomics", "genomics tools: polygenic scores of a VCF/BCF (plink2-compatible)", mmdx_cmd_genomics},
    {"plugins", "list the loaded plugins and the ones refused", mmdx_cmd_plugins},
    {"predict", "write per-patient risk, decision and modality contributions", mmdx_cmd_predict},
    {"report", "the self-contained HTML report of a stored run: model, cohort, metrics, plots", mmdx_cmd_report},
    {"screen", "screen a cohort into the audited database: parallel, resumable, shardable", mmdx_cmd_screen},
    {"similar", "find stored patients like a query patient in a joint model's shared space", mmdx_cmd_similar},
    {"synth", "generate a synthetic multimodal cohort (DICOM, VCF, FHIR, manifest)", mmdx_cmd_synth},
    {"train", "fit an early or late fusion model and write a signed model file", mmdx_cmd_train},
    {NULL, NULL, NULL},
};
