/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "settings.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "site_settings.h"

#define SECTION "Mmdx"

void mmdx_orthanc_settings_clear(mmdx_orthanc_settings *s)
{
    if (!s)
        return;
    free(s->model);
    free(s->model_key);
    free(s->plugin_folder);
    free(s->site_config);
    free(s->database);
    free(s->reviewer_database);
    free(s->similar_labels);
    free(s->site_key);
    free(s->work_folder);
    mmdx_series_rules_free(s->rules);
    free(s->records);
    free(s->vcf);
    free(s->sample_map);
    free(s->manifest);
    free(s->series_description);
    free(s->manufacturer);
    free(s->institution);
    memset(s, 0, sizeof *s);
}

static int get_string(json_object *v, const char *path, char **out)
{
    if (json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
        return mmdx_fail(MMDX_EINVAL, "%s: expected a non-empty string", path);
    free(*out);
    if (!(*out = strdup(json_object_get_string(v))))
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    return 0;
}

static int get_bool(json_object *v, const char *path, int *out)
{
    if (!json_object_is_type(v, json_type_boolean))
        return mmdx_fail(MMDX_EINVAL, "%s: expected true or false", path);
    *out = json_object_get_boolean(v);
    return 0;
}

static int get_int(json_object *v, const char *path, int lo, int hi, int *out)
{
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < lo ||
        json_object_get_int64(v) > hi)
        return mmdx_fail(MMDX_EINVAL, "%s: expected a whole number from %d to %d", path, lo, hi);
    *out = (int)json_object_get_int64(v);
    return 0;
}

static int parse_genomics(mmdx_orthanc_settings *s, json_object *g)
{
    if (!json_object_is_type(g, json_type_object))
        return mmdx_fail(MMDX_EINVAL, SECTION ".Genomics: expected an object {\"Vcf\": ..., \"SampleMap\": ...}");
    json_object_object_foreach(g, key, val)
    {
        char path[128];
        snprintf(path, sizeof path, SECTION ".Genomics.%s", key);
        int rc;
        if (strcmp(key, "Vcf") == 0)
            rc = get_string(val, path, &s->vcf);
        else if (strcmp(key, "SampleMap") == 0)
            rc = get_string(val, path, &s->sample_map);
        else
            rc = mmdx_fail(MMDX_EINVAL, "%s: unknown key (known: Vcf, SampleMap)", path);
        if (rc < 0)
            return rc;
    }
    if (s->sample_map && !s->vcf)
        return mmdx_fail(MMDX_EINVAL, SECTION ".Genomics: SampleMap given without Vcf");
    return 0;
}

static int parse_key(mmdx_orthanc_settings *s, const char *key, json_object *val)
{
    char path[128];
    snprintf(path, sizeof path, SECTION ".%s", key);
    if (strcmp(key, "Enable") == 0)
        return get_bool(val, path, &s->enable);
    if (strcmp(key, "Model") == 0)
        return get_string(val, path, &s->model);
    if (strcmp(key, "ModelKey") == 0)
        return get_string(val, path, &s->model_key);
    if (strcmp(key, "RequireSignedModel") == 0)
        return get_bool(val, path, &s->require_signed);
    if (strcmp(key, "PluginFolder") == 0)
        return get_string(val, path, &s->plugin_folder);
    if (strcmp(key, "SiteConfig") == 0)
        return get_string(val, path, &s->site_config);
    if (strcmp(key, "Database") == 0)
        return get_string(val, path, &s->database);
    if (strcmp(key, "ReviewerDatabase") == 0)
        return get_string(val, path, &s->reviewer_database);
    if (strcmp(key, "SimilarLabels") == 0)
        return get_string(val, path, &s->similar_labels);
    if (strcmp(key, "SiteKey") == 0)
        return get_string(val, path, &s->site_key);
    if (strcmp(key, "Pseudonymise") == 0)
        return get_bool(val, path, &s->pseudonymise);
    if (strcmp(key, "WorkFolder") == 0)
        return get_string(val, path, &s->work_folder);
    if (strcmp(key, "Threads") == 0)
        return get_int(val, path, 1, 256, &s->threads);
    if (strcmp(key, "MaxAttempts") == 0)
        return get_int(val, path, 1, 100, &s->max_attempts);
    if (strcmp(key, "RetryDelay") == 0)
        return get_int(val, path, 0, 86400, &s->retry_delay);
    if (strcmp(key, "PollInterval") == 0)
        return get_int(val, path, 1, 3600, &s->poll_interval);
    if (strcmp(key, "SeriesSelection") == 0) {
        mmdx_series_rules_free(s->rules);
        s->rules = NULL;
        return mmdx_series_rules_compile(&s->rules, json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN),
                                         path);
    }
    if (strcmp(key, "Records") == 0)
        return get_string(val, path, &s->records);
    if (strcmp(key, "Genomics") == 0)
        return parse_genomics(s, val);
    if (strcmp(key, "Manifest") == 0)
        return get_string(val, path, &s->manifest);
    if (strcmp(key, "SeriesNumber") == 0)
        return get_int(val, path, 1, 2147483647, &s->series_number);
    if (strcmp(key, "SeriesDescription") == 0)
        return get_string(val, path, &s->series_description);
    if (strcmp(key, "Manufacturer") == 0)
        return get_string(val, path, &s->manufacturer);
    if (strcmp(key, "InstitutionName") == 0)
        return get_string(val, path, &s->institution);
    return mmdx_fail(MMDX_EINVAL,
                     "%s: unknown key (known: Enable, Model, ModelKey, RequireSignedModel, PluginFolder, "
                     "SiteConfig, Database, ReviewerDatabase, SimilarLabels, SiteKey, Pseudonymise, WorkFolder, "
                     "Threads, MaxAttempts, RetryDelay, PollInterval, SeriesSelection, Records, Genomics, Manifest, "
                     "SeriesNumber, SeriesDescription, Manufacturer, InstitutionName)",
                     path);
}

static int set_defaults(mmdx_orthanc_settings *s)
{
    s->enable = 1;
    s->threads = 1;
    s->max_attempts = 3;
    s->retry_delay = 30;
    s->poll_interval = 2;
    s->series_number = 9901;
    if (!(s->series_description = strdup("mmdx AI screening result (not verified)")) ||
        !(s->manufacturer = strdup("mmdx")))
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    return 0;
}

int mmdx_orthanc_settings_parse(mmdx_orthanc_settings *out, const char *json, size_t len)
{
    memset(out, 0, sizeof *out);
    if (len > INT_MAX)
        return mmdx_fail(MMDX_EINVAL, "Orthanc configuration: too large");
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    json_object *root = json_tokener_parse_ex(tok, json, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success) {
        json_object_put(root);
        return mmdx_fail(MMDX_EFORMAT, "Orthanc configuration: invalid JSON: %s", json_tokener_error_desc(jerr));
    }
    int rc = set_defaults(out);
    json_object *port = NULL;
    out->http_port = 8042;
    if (json_object_object_get_ex(root, "HttpPort", &port) && json_object_is_type(port, json_type_int))
        out->http_port = json_object_get_int(port);
    json_object *age = NULL;
    out->stable_age = 60;
    if (json_object_object_get_ex(root, "StableAge", &age) && json_object_is_type(age, json_type_int) &&
        json_object_get_int(age) >= 0)
        out->stable_age = json_object_get_int(age);
    json_object *sec = NULL;
    if (rc == 0 && !json_object_object_get_ex(root, SECTION, &sec)) {
        out->enable = 0; /* the plugin is loaded but not configured: it stays idle */
        json_object_put(root);
        return 0;
    }
    if (rc == 0 && !json_object_is_type(sec, json_type_object))
        rc = mmdx_fail(MMDX_EINVAL, SECTION ": expected an object");
    if (rc == 0) {
        json_object_object_foreach(sec, key, val)
        {
            if ((rc = parse_key(out, key, val)) < 0)
                break;
        }
    }
    if (rc == 0 && !out->rules)
        rc = mmdx_series_rules_compile(&out->rules, NULL, SECTION ".SeriesSelection");
    if (rc == 0 && out->enable) {
        if (!out->model)
            rc = mmdx_fail(MMDX_EINVAL, SECTION ".Model: missing (path of the trained .mmdx model)");
        else if (!out->database)
            rc = mmdx_fail(MMDX_EINVAL, SECTION ".Database: missing (PostgreSQL conninfo, e.g. "
                                        "\"host=db dbname=mmdx user=orthanc\")");
        else if (out->pseudonymise && !out->site_key)
            rc = mmdx_fail(MMDX_EINVAL, SECTION ".Pseudonymise: needs SiteKey");
    }
    json_object_put(root);
    return rc;
}

int mmdx_orthanc_site_settings(const mmdx_orthanc_settings *s, mmdx_audit_settings *out)
{
    memset(out, 0, sizeof *out);
    mmdx_config *c = NULL;
    int rc = s->site_config ? mmdx_config_load(&c, s->site_config) : 0;
    mmdx_site_overrides mine = MMDX_SITE_OVERRIDES_NONE;
    mine.db = s->database;
    mine.site_key_file = s->site_key;
    mine.pseudonymise = s->pseudonymise ? 1 : -1;
    mine.require_signed_models = s->require_signed ? 1 : -1;
    if (rc == 0)
        rc = mmdx_audit_settings_resolve(out, c, &mine, NULL);
    mmdx_config_free(c);
    return rc;
}
