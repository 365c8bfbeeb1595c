/* SPDX-License-Identifier: Apache-2.0 */
#include "fhir_risk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomic_file.h"
#include "error.h"
#include "hash.h"

static json_object *one_of(json_object *o)
{
    json_object *a = json_object_new_array();
    json_object_array_add(a, o);
    return a;
}

static json_object *device(const mmdx_fhir_risk_item *it)
{
    json_object *d = json_object_new_object(), *name = json_object_new_object();
    char text[200];
    json_object_object_add(d, "resourceType", json_object_new_string("Device"));
    json_object_object_add(d, "id", json_object_new_string("model"));
    if (it->model_sha256) {
        json_object *id = json_object_new_object();
        json_object_object_add(id, "system", json_object_new_string("urn:mmdx:model-sha256"));
        json_object_object_add(id, "value", json_object_new_string(it->model_sha256));
        json_object_object_add(d, "identifier", one_of(id));
    }
    if (it->fusion)
        snprintf(text, sizeof text, "mmdx %s fusion risk model%s%s%s", it->fusion, it->classifier ? " (" : "",
                 it->classifier ? it->classifier : "", it->classifier ? ")" : "");
    else
        snprintf(text, sizeof text, "mmdx risk model %.12s", it->model_sha256 ? it->model_sha256 : "");
    json_object_object_add(name, "name", json_object_new_string(text));
    json_object_object_add(name, "type", json_object_new_string("model-name"));
    json_object_object_add(d, "deviceName", one_of(name));
    if (it->fusion_version) {
        json_object *ver = json_object_new_object();
        json_object_object_add(ver, "value", json_object_new_string(it->fusion_version));
        json_object_object_add(d, "version", one_of(ver));
    }
    return d;
}

/* the first 32 hex digits of SHA-256(model sha, NUL, subject): stable, and not the identifier itself */
static void resource_id(const mmdx_fhir_risk_item *it, char out[33])
{
    const char *model = it->model_sha256 ? it->model_sha256 : "";
    size_t a = strlen(model), b = strlen(it->subject_value);
    char *buf = malloc(a + b + 1), hex[MMDX_SHA256_HEX_LEN];
    uint8_t h[MMDX_SHA256_LEN];
    if (buf) {
        memcpy(buf, model, a);
        buf[a] = '\0';
        memcpy(buf + a + 1, it->subject_value, b);
        mmdx_sha256(buf, a + 1 + b, h);
        free(buf);
    } else {
        mmdx_sha256(model, a, h);
    }
    mmdx_hex(h, sizeof h, hex);
    snprintf(out, 33, "%.32s", hex);
}

json_object *mmdx_fhir_risk_resource(const mmdx_fhir_risk_item *it)
{
    json_object *r = json_object_new_object();
    if (!r)
        return NULL;
    char id[33], text[2400], num[40];
    resource_id(it, id);
    json_object_object_add(r, "resourceType", json_object_new_string("RiskAssessment"));
    json_object_object_add(r, "id", json_object_new_string(id));
    json_object_object_add(r, "contained", one_of(device(it)));
    json_object_object_add(r, "status", json_object_new_string("final"));
    if (it->method) {
        json_object *method = json_object_new_object();
        json_object_object_add(method, "text", json_object_new_string(it->method));
        json_object_object_add(r, "method", method);
    }
    json_object *subject = json_object_new_object(), *ident = json_object_new_object();
    json_object_object_add(ident, "system", json_object_new_string(it->subject_system));
    json_object_object_add(ident, "value", json_object_new_string(it->subject_value));
    json_object_object_add(subject, "identifier", ident);
    json_object_object_add(r, "subject", subject);
    json_object_object_add(r, "occurrenceDateTime", json_object_new_string(it->when));
    json_object *ref = json_object_new_object();
    snprintf(text, sizeof text, "mmdx model %.12s", it->model_sha256 ? it->model_sha256 : "(unknown)");
    json_object_object_add(ref, "reference", json_object_new_string("#model"));
    json_object_object_add(ref, "display", json_object_new_string(text));
    json_object_object_add(r, "basis", one_of(ref));
    json_object *pred = json_object_new_object(), *outcome = json_object_new_object();
    json_object_object_add(outcome, "text", json_object_new_string("the outcome the model was trained on (label 1)"));
    json_object_object_add(pred, "outcome", outcome);
    snprintf(num, sizeof num, "%.10g", it->probability);
    json_object_object_add(pred, "probabilityDecimal", json_object_new_double_s(it->probability, num));
    if (it->decision >= 0) {
        json_object *qual = json_object_new_object(), *coding = json_object_new_object();
        json_object_object_add(coding, "system",
                               json_object_new_string("http://terminology.hl7.org/CodeSystem/risk-probability"));
        json_object_object_add(coding, "code", json_object_new_string(it->decision ? "high" : "low"));
        json_object_object_add(coding, "display",
                               json_object_new_string(it->decision ? "High likelihood" : "Low likelihood"));
        json_object_object_add(qual, "coding", one_of(coding));
        json_object_object_add(pred, "qualitativeRisk", qual);
    }
    size_t used = 0;
    if (!isnan(it->threshold))
        used = (size_t)snprintf(text, sizeof text, "%s the model's decision threshold %.4g",
                                it->decision ? "At or above" : "Below", it->threshold);
    else if (it->decision >= 0)
        used = (size_t)snprintf(text, sizeof text, "Decision %s at the model's threshold",
                                it->decision ? "positive" : "negative");
    if (it->contributions && used < sizeof text)
        snprintf(text + used, sizeof text - used, "%scontributions to the log-odds: %s", used ? "; " : "",
                 it->contributions);
    if (used || it->contributions)
        json_object_object_add(pred, "rationale", json_object_new_string(text));
    json_object_object_add(r, "prediction", one_of(pred));
    return r;
}

int mmdx_fhir_risk_print(FILE *f, const mmdx_fhir_risk_item *it)
{
    json_object *r = mmdx_fhir_risk_resource(it);
    const char *s = r ? json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                      : NULL;
    if (s) {
        fputs(s, f);
        fputc('\n', f);
    }
    json_object_put(r);
    return s ? 0 : mmdx_fail(MMDX_ENOMEM, "out of memory");
}

void mmdx_fhir_now(char out[32])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int mmdx_fhir_risk_write(const char *path, const mmdx_model_file *mf, const mmdx_cohort_input *in,
                         const double *prob, const double *contrib, const char *id_system)
{
    char when[32], method[512], contributions[2048];
    mmdx_fhir_now(when);
    size_t at = (size_t)snprintf(method, sizeof method, "mmdx %s fusion (%s) of", mf->fusion, mf->classifier);
    for (size_t m = 0; m < in->n_modalities && at < sizeof method; m++)
        at += (size_t)snprintf(method + at, sizeof method - at, "%s %s", m ? "," : "", in->modalities[m]);
    mmdx_atomic_file af;
    int rc = mmdx_atomic_file_open(&af, path);
    if (rc)
        return rc;
    size_t M = in->n_modalities;
    for (size_t i = 0; i < in->n && rc == 0; i++) {
        size_t used = 0;
        contributions[0] = '\0';
        for (size_t m = 0; m < M && used < sizeof contributions; m++) {
            if (in->present[i * M + m])
                used += (size_t)snprintf(contributions + used, sizeof contributions - used, "%s%s %+.3f",
                                         m ? "; " : "", in->modalities[m], contrib[i * M + m]);
            else
                used += (size_t)snprintf(contributions + used, sizeof contributions - used, "%s%s absent",
                                         m ? "; " : "", in->modalities[m]);
        }
        mmdx_fhir_risk_item it = {id_system ? id_system : MMDX_FHIR_DEFAULT_ID_SYSTEM,
                                  in->ids[i],
                                  when,
                                  prob[i],
                                  prob[i] >= mf->threshold,
                                  mf->threshold,
                                  mf->sha256,
                                  mf->fusion,
                                  mf->fusion_version,
                                  mf->classifier,
                                  method,
                                  contributions};
        rc = mmdx_fhir_risk_print(af.f, &it);
    }
    if (rc) {
        mmdx_atomic_file_abort(&af);
        return rc;
    }
    return mmdx_atomic_file_commit(&af);
}
