/*
 * orthanc/settings.h — the "Mmdx" section of Orthanc's JSON configuration.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Orthanc hands its whole configuration to the plugin as one JSON document;
 * the plugin reads only its own section:
 *
 *   "Mmdx": {
 *     "Enable": true,
 *     "Model": "/etc/mmdx/model.mmdx",          required: the trained fusion model
 *     "ModelKey": "/etc/mmdx/site.key",         site key verifying the model's signature (default: SiteKey)
 *     "RequireSignedModel": false,
 *     "PluginFolder": "/usr/lib/mmdx/plugins",  mmdx encoder/fusion plugins
 *     "SiteConfig": "/etc/mmdx/mmdx.conf",      encoder settings ([imaging], [records]...)
 *     "Database": "host=db dbname=mmdx ...",    required: libpq conninfo (queue, results, audit)
 *     "ReviewerDatabase": "host=db dbname=mmdx user=reviewer ...",
 *                                               libpq conninfo of a reviewer login (a member of
 *                                               mmdx_reviewer): GET /mmdx/studies/{id}/similar;
 *                                               unset: that route answers 503
 *     "SimilarLabels": "/data/labels.csv",      patient_id,label table: the neighbours' labels
 *     "SiteKey": "/etc/mmdx/site.key",          HMAC of audit events, pseudonyms
 *     "Pseudonymise": false,
 *     "WorkFolder": "/var/lib/orthanc/mmdx",    downloaded series, SR files (per job, removed after)
 *     "Threads": 1,                             threads one screening may use
 *     "MaxAttempts": 3, "RetryDelay": 30,       transient failures: attempts, seconds between
 *     "PollInterval": 2,                        seconds between queue polls when idle
 *     "SeriesSelection": [ rule, ... ],         see selector.h
 *     "Records": "/data/fhir-export",           FHIR Bundle/NDJSON/bulk folder/CSV for every patient
 *     "Genomics": { "Vcf": "/data/cohort.vcf.gz", "SampleMap": "/data/samples.csv" },
 *     "Manifest": "/data/cohort.csv",           per-patient record/vcf/vcf_sample/... columns
 *     "SeriesNumber": 9901, "SeriesDescription": "...", "Manufacturer": "...",
 *     "InstitutionName": "..."
 *   }
 *
 * Relative paths resolve against the folder Orthanc was started in (its
 * working directory), as Orthanc resolves its own paths.
 */
#ifndef MMDX_ORTHANC_SETTINGS_H
#define MMDX_ORTHANC_SETTINGS_H

#include <stddef.h>

#include "mmdx/common.h"
#include "selector.h"

typedef struct mmdx_orthanc_settings {
    int enable;
    char *model;
    char *model_key;
    int require_signed;
    char *plugin_folder;
    char *site_config;
    char *database;
    char *reviewer_database; /**< reviewer conninfo for the similar-patient route, or NULL */
    char *similar_labels;    /**< patient_id,label CSV, or NULL */
    char *site_key;
    int pseudonymise;
    char *work_folder;
    int threads;
    int max_attempts;
    int retry_delay;     /**< seconds */
    int poll_interval;   /**< seconds */
    mmdx_series_rules *rules;
    char *records;
    char *vcf;
    char *sample_map;
    char *manifest;
    int series_number;
    char *series_description;
    char *manufacturer;
    char *institution;
    int http_port;       /**< Orthanc's own HttpPort (8042 when unset): names this server's worker */
    int stable_age;      /**< Orthanc's own StableAge (60 when unset), seconds */
} mmdx_orthanc_settings;

/**
 * Parse Orthanc's configuration (the JSON text OrthancPluginGetConfiguration
 * returns) into `out` (zeroed first; free with mmdx_orthanc_settings_clear,
 * also after a failure). A missing "Mmdx" section or "Enable": false gives
 * enable = 0 and no error. Errors (thread-local last error) name the JSON
 * path, e.g. `Mmdx.SeriesSelection[1].Attributes.Modality`: an unknown key,
 * a value of the wrong type or out of range, an invalid regular expression,
 * a missing Model or Database (MMDX_EINVAL); invalid JSON (MMDX_EFORMAT).
 */
MMDX_RESULT_USED int mmdx_orthanc_settings_parse(mmdx_orthanc_settings *out, const char *json,
                                                 size_t len);

void mmdx_orthanc_settings_clear(mmdx_orthanc_settings *s);

struct mmdx_audit_settings;
/**
 * The site settings the plugin works with, from the one resolver
 * (audit/settings.h): Database, SiteKey, Pseudonymise and RequireSignedModel
 * of the Orthanc configuration first, else [audit] of SiteConfig. The
 * environment is not read (Orthanc's configuration is the plugin's command
 * line). Release `out` with mmdx_audit_settings_clear().
 */
MMDX_RESULT_USED int mmdx_orthanc_site_settings(const mmdx_orthanc_settings *s,
                                                struct mmdx_audit_settings *out);

#endif
