/* SPDX-License-Identifier: Apache-2.0 */
#include "fhir_risk.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomic_file.h"
#include "error.h"
#include "hash.h"

static json_object *device(const mmdx_model_file *mf)
{
    json_object *d = json_object_new_object(), *id = json_object_new_object(), *name = json_object_new_object();
    json_object *ids = json_object_new_array(), *names = json_object_new_array(), *ver = json_object_new_object();
    json_object *vers = json_object_new_array();
    char text[160];
    json_object_object_add(d, "resourceType", json_object_new_string("Device"));
    json_object_object_add(d, "id", json_object_new_string("model"));
    json_object_object_add(id, "system", json_object_new_string("urn:mmdx:model-sha256"));
    json_object_object_add(id, "value", json_object_new_string(mf->sha256));
    json_object_array_add(ids, id);
    json_object_object_add(d, "identifier", ids);
    snprintf(text, sizeof text, "mmdx %s fusion risk model (%s)", mf->fusion, mf->classifier);
    json_object_object_add(name, "name", json_object_new_string(text));
    json_object_object_add(name, "type", json_object_new_string("model-name"));
    json_object_array_add(names, name);
    json_object_object_add(d, "deviceName", names);
    json_object_object_add(ver, "value", json_object_new_string(mf->fusion_version));
    json_object_array_add(vers, ver);
    json_object_object_add(d, "version", vers);
    return d;
}

/* "<first 32 hex of SHA-256(model sha, NUL, patient)>": stable, and not the identifier itself. */
static void resource_id(const mmdx_model_file *mf, const char *patient, char out[33])
{
    size_t a = strlen(mf->sha256), b = strlen(patient);
    char *buf = malloc(a + b + 1);
    uint8_t h[MMDX_SHA256_LEN];
    char hex[MMDX_SHA256_HEX_LEN];
    if (!buf) {
        snprintf(out, 33, "%.32s", mf->sha256);
        return;
    }
    memcpy(buf, mf->sha256, a);
    buf[a] = '\0';
    memcpy(buf + a + 1, patient, b);
    mmdx_sha256(buf, a + 1 + b, h);
    free(buf);
    mmdx_hex(h, sizeof h, hex);
    snprintf(out, 33, "%.32s", hex);
}

static json_object *risk(const mmdx_model_file *mf, const mmdx_cohort_input *in, size_t i, double p,
                         const double *contrib, const char *id_system, const char *when)
{
    json_object *r = json_object_new_object();
    char id[33], text[2048];
    resource_id(mf, in->ids[i], id);
    json_object_object_add(r, "resourceType", json_object_new_string("RiskAssessment"));
    json_object_object_add(r, "id", json_object_new_string(id));
    json_object *contained = json_object_new_array();
    json_object_array_add(contained, device(mf));
    json_object_object_add(r, "contained", contained);
    json_object_object_add(r, "status", json_object_new_string("final"));
    json_object *method = json_object_new_object();
    size_t at = (size_t)snprintf(text, sizeof text, "mmdx %s fusion (%s) of", mf->fusion, mf->classifier);
    for (size_t m = 0; m < in->n_modalities && at < sizeof text; m++)
        at += (size_t)snprintf(text + at, sizeof text - at, "%s %s", m ? "," : "", in->modalities[m]);
    json_object_object_add(method, "text", json_object_new_string(text));
    json_object_object_add(r, "method", method);
    json_object *subject = json_object_new_object(), *ident = json_object_new_object();
    json_object_object_add(ident, "system", json_object_new_string(id_system));
    json_object_object_add(ident, "value", json_object_new_string(in->ids[i]));
    json_object_object_add(subject, "identifier", ident);
    json_object_object_add(r, "subject", subject);
    json_object_object_add(r, "occurrenceDateTime", json_object_new_string(when));
    json_object *basis = json_object_new_array(), *ref = json_object_new_object();
    snprintf(text, sizeof text, "mmdx model %.12s", mf->sha256);
    json_object_object_add(ref, "reference", json_object_new_string("#model"));
    json_object_object_add(ref, "display", json_object_new_string(text));
    json_object_array_add(basis, ref);
    json_object_object_add(r, "basis", basis);
    json_object *pred = json_object_new_object(), *preds = json_object_new_array();
    json_object *outcome = json_object_new_object(), *qual = json_object_new_object();
    json_object *codings = json_object_new_array(), *coding = json_object_new_object();
    json_object_object_add(outcome, "text", json_object_new_string("the outcome the model was trained on (label 1)"));
    json_object_object_add(pred, "outcome", outcome);
    char num[40];
    snprintf(num, sizeof num, "%.10g", p);
    json_object_object_add(pred, "probabilityDecimal", json_object_new_double_s(p, num));
    int high = p >= mf->threshold;
    json_object_object_add(coding, "system",
                           json_object_new_string("http://terminology.hl7.org/CodeSystem/risk-probability"));
    json_object_object_add(coding, "code", json_object_new_string(high ? "high" : "low"));
    json_object_object_add(coding, "display", json_object_new_string(high ? "High likelihood" : "Low likelihood"));
    json_object_array_add(codings, coding);
    json_object_object_add(qual, "coding", codings);
    json_object_object_add(pred, "qualitativeRisk", qual);
    size_t used = (size_t)snprintf(text, sizeof text, "%s the model's decision threshold %.4g; contributions to "
                                   "the log-odds:", high ? "At or above" : "Below", mf->threshold);
    size_t M = in->n_modalities;
    for (size_t m = 0; m < M && used < sizeof text; m++) {
        if (in->present[i * M + m])
            used += (size_t)snprintf(text + used, sizeof text - used, " %s %+.3f;", in->modalities[m],
                                     contrib[i * M + m]);
        else
            used += (size_t)snprintf(text + used, sizeof text - used, " %s absent;", in->modalities[m]);
    }
    if (used < sizeof text && used > 0 && text[used - 1] == ';')
        text[used - 1] = '.';
    json_object_object_add(pred, "rationale", json_object_new_string(text));
    json_object_array_add(preds, pred);
    json_object_object_add(r, "prediction", preds);
    return r;
}

int mmdx_fhir_risk_write(const char *path, const mmdx_model_file *mf, const mmdx_cohort_input *in,
                         const double *prob, const double *contrib, const char *id_system)
{
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    mmdx_atomic_file af;
    int rc = mmdx_atomic_file_open(&af, path);
    if (rc)
        return rc;
    for (size_t i = 0; i < in->n; i++) {
        json_object *r = risk(mf, in, i, prob[i], contrib, id_system ? id_system : MMDX_FHIR_DEFAULT_ID_SYSTEM,
                              when);
        const char *s = r ? json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                          : NULL;
        if (!s) {
            json_object_put(r);
            mmdx_atomic_file_abort(&af);
            return mmdx_fail(MMDX_ENOMEM, "out of memory");
        }
        fputs(s, af.f);
        fputc('\n', af.f);
        json_object_put(r);
    }
    return mmdx_atomic_file_commit(&af);
}
