/* SPDX-License-Identifier: Apache-2.0 */
/* One patient's FHIR R4 Bundle (type collection) through json-c. */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "writers.h"

/* Days since 1970-01-01 of a civil date and back (proleptic Gregorian). */
static long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, char out[16])
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp + (mp < 10 ? 3 : -9);
    snprintf(out, 16, "%04d-%02d-%02d", (int)((y + (m <= 2)) % 10000), (int)(m % 100), (int)(d % 100));
}

static json_object *str(const char *s) { return json_object_new_string(s); }

/* A number with a fixed number of decimals, written as such (not as %.17g). */
static json_object *num(double v, int decimals)
{
    char text[32];
    snprintf(text, sizeof text, "%.*f", decimals, v);
    return json_object_new_double_s(v, text);
}

static json_object *coding(const char *system, const char *code, const char *display)
{
    json_object *c = json_object_new_object();
    json_object_object_add(c, "system", str(system));
    json_object_object_add(c, "code", str(code));
    if (display)
        json_object_object_add(c, "display", str(display));
    json_object *arr = json_object_new_array();
    json_object_array_add(arr, c);
    json_object *cc = json_object_new_object();
    json_object_object_add(cc, "coding", arr);
    return cc;
}

static json_object *subject(const char *id)
{
    char ref[64];
    snprintf(ref, sizeof ref, "Patient/%s", id);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "reference", str(ref));
    return o;
}

static void add_entry(json_object *entries, json_object *resource)
{
    json_object *e = json_object_new_object();
    json_object_object_add(e, "resource", resource);
    json_object_array_add(entries, e);
}

typedef struct lab {
    const char *name, *loinc, *display, *unit;
    double value, noise;
    int decimals;
    const char *category;
} lab;

int mmdx_synth__write_bundle(const char *path, const mmdx_synth_patient *p, mmdx_synth_rng *rng)
{
    long index = days_from_civil(2024, 1, 1);
    json_object *bundle = json_object_new_object();
    json_object *entries = json_object_new_array();
    json_object_object_add(bundle, "resourceType", str("Bundle"));
    json_object_object_add(bundle, "id", str(p->id));
    json_object_object_add(bundle, "type", str("collection"));

    json_object *pat = json_object_new_object();
    char birth[16];
    snprintf(birth, sizeof birth, "%04d-%02d-%02d", p->birth_year, p->birth_month, p->birth_day);
    json_object_object_add(pat, "resourceType", str("Patient"));
    json_object_object_add(pat, "id", str(p->id));
    json_object *ident = json_object_new_object();
    json_object_object_add(ident, "system", str("urn:mmdx:synth:patient"));
    json_object_object_add(ident, "value", str(p->id));
    json_object *idents = json_object_new_array();
    json_object_array_add(idents, ident);
    json_object_object_add(pat, "identifier", idents);
    json_object_object_add(pat, "gender", str(p->female ? "female" : "male"));
    json_object_object_add(pat, "birthDate", str(birth));
    add_entry(entries, pat);

    const lab labs[] = {
        {"hba1c", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", p->hba1c, 0.15, 1, "laboratory"},
        {"glucose", "2345-7", "Glucose [Moles/volume] in Serum or Plasma", "mmol/L", p->glucose, 0.3, 1, "laboratory"},
        {"ldl", "18262-6", "Cholesterol in LDL [Moles/volume] in Serum or Plasma", "mmol/L", p->ldl, 0.15, 2,
         "laboratory"},
        {"hdl", "2085-9", "Cholesterol in HDL [Moles/volume] in Serum or Plasma", "mmol/L", p->hdl, 0.08, 2,
         "laboratory"},
        {"creatinine", "2160-0", "Creatinine [Moles/volume] in Serum or Plasma", "umol/L", p->creatinine, 5, 0,
         "laboratory"},
        {"sbp", "8480-6", "Systolic blood pressure", "mm[Hg]", p->sbp, 5, 0, "vital-signs"},
        {"dbp", "8462-4", "Diastolic blood pressure", "mm[Hg]", p->dbp, 4, 0, "vital-signs"},
        {"bmi", "39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", p->bmi, 0.4, 1, "vital-signs"},
    };
    int n_obs = 0;
    for (size_t l = 0; l < sizeof labs / sizeof labs[0]; l++) {
        int count = 1 + (int)mmdx_synth_below(rng, 3);
        for (int k = 0; k < count; k++) {
            char id[48], date[16];
            /* The last measurement is the true value; earlier ones scatter around it. */
            long day = index - 5 - (long)k * 180 - (long)mmdx_synth_below(rng, 60);
            double v = labs[l].value + (k ? labs[l].noise * mmdx_synth_normal(rng) : 0.0);
            if (v < 0.1)
                v = 0.1;
            civil_from_days(day, date);
            snprintf(id, sizeof id, "obs-%d", ++n_obs);
            json_object *o = json_object_new_object();
            json_object_object_add(o, "resourceType", str("Observation"));
            json_object_object_add(o, "id", str(id));
            json_object_object_add(o, "status", str("final"));
            json_object *cat = json_object_new_array();
            json_object_array_add(cat, coding("http://terminology.hl7.org/CodeSystem/observation-category",
                                              labs[l].category, NULL));
            json_object_object_add(o, "category", cat);
            json_object_object_add(o, "code", coding("http://loinc.org", labs[l].loinc, labs[l].display));
            json_object_object_add(o, "subject", subject(p->id));
            json_object_object_add(o, "effectiveDateTime", str(date));
            json_object *q = json_object_new_object();
            json_object_object_add(q, "value", num(v, labs[l].decimals));
            json_object_object_add(q, "unit", str(labs[l].unit));
            json_object_object_add(q, "system", str("http://unitsofmeasure.org"));
            json_object_object_add(q, "code", str(labs[l].unit));
            json_object_object_add(o, "valueQuantity", q);
            add_entry(entries, o);
        }
    }

    struct {
        int has;
        const char *icd10, *display;
    } conds[] = {{p->hypertension, "I10", "Essential (primary) hypertension"},
                 {p->diabetes, "E11.9", "Type 2 diabetes mellitus without complications"}};
    for (size_t c = 0; c < sizeof conds / sizeof conds[0]; c++) {
        if (!conds[c].has)
            continue;
        char id[32], date[16];
        snprintf(id, sizeof id, "cond-%zu", c + 1);
        civil_from_days(index - 200 - (long)mmdx_synth_below(rng, 2000), date);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "resourceType", str("Condition"));
        json_object_object_add(o, "id", str(id));
        json_object_object_add(o, "clinicalStatus",
                               coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", NULL));
        json_object_object_add(o, "code", coding("http://hl7.org/fhir/sid/icd-10", conds[c].icd10, conds[c].display));
        json_object_object_add(o, "subject", subject(p->id));
        json_object_object_add(o, "onsetDateTime", str(date));
        add_entry(entries, o);
    }
    if (p->statin) {
        char date[16];
        civil_from_days(index - 30 - (long)mmdx_synth_below(rng, 300), date);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "resourceType", str("MedicationStatement"));
        json_object_object_add(o, "id", str("med-1"));
        json_object_object_add(o, "status", str("active"));
        json_object_object_add(o, "medicationCodeableConcept",
                               coding("http://www.whocc.no/atc", "C10AA05", "atorvastatin"));
        json_object_object_add(o, "subject", subject(p->id));
        json_object_object_add(o, "effectiveDateTime", str(date));
        add_entry(entries, o);
    }
    json_object_object_add(bundle, "entry", entries);

    int rc = 0;
    FILE *f = fopen(path, "w");
    if (!f) {
        rc = mmdx_fail(MMDX_EIO, "%s: cannot create: %s", path, strerror(errno));
    } else {
        const char *text = json_object_to_json_string_ext(bundle, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                                      JSON_C_TO_STRING_NOSLASHESCAPE);
        int ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
        ok = (fclose(f) == 0) && ok;
        if (!ok)
            rc = mmdx_fail(MMDX_EIO, "%s: write failed", path);
    }
    json_object_put(bundle);
    return rc;
}
