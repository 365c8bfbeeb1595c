/* SPDX-License-Identifier: Apache-2.0 */
#include "fhir_resources.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

#define MAX_BUNDLE_DEPTH 4

int mmdx_fhir_ctx_init(mmdx_fhir_ctx *c, mmdx_records_store *st)
{
    memset(c, 0, sizeof *c);
    c->st = st;
    c->entry = -1;
    c->med_map = mmdx_strmap_new();
    size_t n = st->spec->n_conditions > st->spec->n_medications ? st->spec->n_conditions : st->spec->n_medications;
    c->hits = calloc(n ? n : 1, 1);
    return c->med_map && c->hits ? 0 : MMDX_ENOMEM;
}

void mmdx_fhir_ctx_free(mmdx_fhir_ctx *c)
{
    mmdx_strmap_free(c->fullurls);
    mmdx_strmap_free(c->med_map);
    free(c->med_links);
    for (size_t i = 0; i < c->n_pending; i++)
        free(c->pending[i].ref);
    free(c->pending);
    free(c->hits);
    memset(c, 0, sizeof *c);
}

void mmdx_fhir_origin(const mmdx_fhir_ctx *c, char *buf, size_t cap)
{
    if (c->line > 0)
        snprintf(buf, cap, "%s:line %ld", c->file, c->line);
    else if (c->entry >= 0)
        snprintf(buf, cap, "%s: entry[%ld]", c->file, c->entry);
    else
        snprintf(buf, cap, "%s", c->file);
}

/* ------------------------------------------------------------------------ */
/* JSON helpers                                                              */
/* ------------------------------------------------------------------------ */

static json_object *get(json_object *o, const char *key)
{
    json_object *v;
    if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v))
        return v;
    return NULL;
}

static const char *get_str(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static size_t arr_len(json_object *a)
{
    return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* The code of the first coding of a status CodeableConcept ("active"...). */
static const char *concept_code(json_object *cc)
{
    json_object *codings = get(cc, "coding");
    for (size_t i = 0; i < arr_len(codings); i++) {
        const char *code = get_str(json_object_array_get_idx(codings, i), "code");
        if (code)
            return code;
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Dates                                                                     */
/* ------------------------------------------------------------------------ */

enum { DATE_ABSENT = 0, DATE_OK = 1, DATE_BAD = -1 };

/*
 * Parse field `key` of `o` as a FHIR date. DATE_BAD records the error on the
 * patient (when known) and in the stats.
 */
static int read_date(mmdx_fhir_ctx *c, mmdx_records_patient *p, const char *rtype, json_object *o,
                     const char *key, mmdx_fhir_date *out)
{
    json_object *v = get(o, key);
    if (!v)
        return DATE_ABSENT;
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    if (s && mmdx_fhir_date_parse(out, s) == 0)
        return DATE_OK;
    char origin[MMDX_ORIGIN_MAX];
    mmdx_fhir_origin(c, origin, sizeof origin);
    /* Dates of a person are patient data: the message names file, position and field, not the value. */
    if (p)
        mmdx_records_patient_error(p, "%s: %s.%s: %s (YYYY, YYYY-MM, YYYY-MM-DD or "
                                      "YYYY-MM-DDThh:mm:ss+zz:zz)",
                                   origin, rtype, key, s ? "not a FHIR date" : "not a string");
    mmdx_records_warn(&c->st->stats, &c->st->stats.bad_date, "%s: %s.%s: not a FHIR date", origin, rtype,
                      key);
    return DATE_BAD;
}

/* effective[x] / onset[x] style choice: <prefix>DateTime, <prefix>Instant, <prefix>Period. */
static int read_choice_time(mmdx_fhir_ctx *c, mmdx_records_patient *p, const char *rtype, json_object *o,
                            const char *prefix, int64_t *start, int64_t *end)
{
    char key[64];
    mmdx_fhir_date d;
    int r;
    snprintf(key, sizeof key, "%sDateTime", prefix);
    if ((r = read_date(c, p, rtype, o, key, &d)) != DATE_ABSENT) {
        if (r == DATE_OK)
            *start = *end = d.start;
        return r;
    }
    snprintf(key, sizeof key, "%sInstant", prefix);
    if ((r = read_date(c, p, rtype, o, key, &d)) != DATE_ABSENT) {
        if (r == DATE_OK)
            *start = *end = d.start;
        return r;
    }
    snprintf(key, sizeof key, "%sPeriod", prefix);
    json_object *period = get(o, key);
    if (period) {
        mmdx_fhir_date ds, de;
        int rs = read_date(c, p, rtype, period, "start", &ds);
        int re = read_date(c, p, rtype, period, "end", &de);
        if (rs == DATE_BAD || re == DATE_BAD)
            return DATE_BAD;
        if (rs == DATE_ABSENT && re == DATE_ABSENT)
            return DATE_ABSENT;
        *start = rs == DATE_OK ? ds.start : de.start;
        *end = re == DATE_OK ? de.start : MMDX_TIME_OPEN;
        return DATE_OK;
    }
    return DATE_ABSENT;
}

/* ------------------------------------------------------------------------ */
/* Patients and references                                                   */
/* ------------------------------------------------------------------------ */

/*
 * The patient a reference designates: *idx set and 1 returned; 0 when the
 * reference is not to a Patient; MMDX_ENOMEM.
 */
static int resolve_patient(mmdx_fhir_ctx *c, const char *ref, size_t *idx)
{
    char key[256];
    if (c->fullurls && mmdx_strmap_get(c->fullurls, ref, idx))
        return 1;
    if (strncmp(ref, "urn:uuid:", 9) == 0) {
        /* Bulk exports and bundles of one source reuse the Patient.id as uuid. */
        snprintf(key, sizeof key, "%s", ref + 9);
    } else {
        const char *p = NULL;
        for (const char *s = strstr(ref, "Patient/"); s; s = strstr(s + 1, "Patient/"))
            if (s == ref || s[-1] == '/')
                p = s;
        if (!p)
            return 0;
        p += 8;
        size_t n = strcspn(p, "/?#");
        if (n == 0 || n >= sizeof key)
            return 0;
        memcpy(key, p, n);
        key[n] = '\0';
    }
    if (!key[0])
        return 0;
    mmdx_records_patient *pt = mmdx_records_store_patient(c->st, key);
    if (!pt)
        return MMDX_ENOMEM;
    *idx = (size_t)(pt - c->st->patients);
    return 1;
}

/* The patient a clinical resource is about (subject, else patient). NULL: none; counted. */
static int subject_of(mmdx_fhir_ctx *c, json_object *res, const char *rtype, mmdx_records_patient **out)
{
    *out = NULL;
    json_object *subj = get(res, "subject");
    if (!subj)
        subj = get(res, "patient");
    const char *ref = get_str(subj, "reference");
    size_t idx;
    int r = ref ? resolve_patient(c, ref, &idx) : 0;
    if (r < 0)
        return r;
    if (r == 0) {
        char origin[MMDX_ORIGIN_MAX];
        mmdx_fhir_origin(c, origin, sizeof origin);
        mmdx_records_warn(&c->st->stats, &c->st->stats.no_subject, "%s: %s has no Patient subject; skipped",
                          origin, rtype);
        return 0;
    }
    mmdx_records_patient *p = &c->st->patients[idx];
    if (!p->first_origin[0])
        mmdx_fhir_origin(c, p->first_origin, sizeof p->first_origin);
    p->n_resources++;
    *out = p;
    return 0;
}

static int read_patient(mmdx_fhir_ctx *c, json_object *res, const char *fullurl)
{
    const char *id = get_str(res, "id");
    char key[256];
    if (id)
        snprintf(key, sizeof key, "%s", id);
    else if (fullurl && strncmp(fullurl, "urn:uuid:", 9) == 0)
        snprintf(key, sizeof key, "%s", fullurl + 9);
    else if (fullurl)
        snprintf(key, sizeof key, "%s", fullurl);
    else {
        char origin[MMDX_ORIGIN_MAX];
        mmdx_fhir_origin(c, origin, sizeof origin);
        snprintf(key, sizeof key, "(Patient without id at %s)", origin);
    }
    mmdx_records_patient *p = mmdx_records_store_patient(c->st, key);
    if (!p)
        return MMDX_ENOMEM;
    if (fullurl && c->fullurls && mmdx_strmap_put(c->fullurls, fullurl, (size_t)(p - c->st->patients), NULL) < 0)
        return MMDX_ENOMEM;
    p->has_resource = 1;
    p->n_resources++;
    if (!p->first_origin[0])
        mmdx_fhir_origin(c, p->first_origin, sizeof p->first_origin);
    const char *g = get_str(res, "gender");
    p->sex = !g                       ? MMDX_SEX_UNKNOWN
             : strcmp(g, "female") == 0 ? MMDX_SEX_FEMALE
             : strcmp(g, "male") == 0   ? MMDX_SEX_MALE
             : strcmp(g, "other") == 0  ? MMDX_SEX_OTHER
                                        : MMDX_SEX_UNKNOWN;
    mmdx_fhir_date d;
    int r = read_date(c, p, "Patient", res, "birthDate", &d);
    if (r == DATE_OK) {
        p->has_birth = 1;
        p->birth = d;
    }
    json_object *db = get(res, "deceasedBoolean");
    if (db && json_object_is_type(db, json_type_boolean)) {
        p->deceased = json_object_get_boolean(db);
        p->death = MMDX_TIME_NONE;
    }
    r = read_date(c, p, "Patient", res, "deceasedDateTime", &d);
    if (r == DATE_OK) {
        p->deceased = 1;
        p->death = d.start;
    }
    json_object *ids = get(res, "identifier");
    for (size_t i = 0; i < arr_len(ids); i++) {
        const char *v = get_str(json_object_array_get_idx(ids, i), "value");
        if (!v)
            continue;
        if (mmdx_array_reserve(&p->identifiers, &p->cap_identifiers, p->n_identifiers + 1,
                               sizeof *p->identifiers, 4, 0) < 0 ||
            !(p->identifiers[p->n_identifiers] = strdup(v)))
            return MMDX_ENOMEM;
        p->n_identifiers++;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Observation                                                               */
/* ------------------------------------------------------------------------ */

static int observe_value(mmdx_fhir_ctx *c, mmdx_records_patient *p, json_object *holder, json_object *code,
                         int64_t t, int dated)
{
    const mmdx_records_spec *spec = c->st->spec;
    json_object *codings = get(code, "coding");
    uint32_t seen[16];
    size_t n_seen = 0;
    char origin[MMDX_ORIGIN_MAX];
    for (size_t i = 0; i < arr_len(codings); i++) {
        json_object *cd = json_object_array_get_idx(codings, i);
        if (mmdx_records_system_of(get_str(cd, "system")) != MMDX_SYS_LOINC)
            continue;
        const char *lc = get_str(cd, "code");
        size_t head;
        if (!lc || !mmdx_strmap_get(spec->loinc_map, lc, &head))
            continue;
        for (size_t e = head; e != SIZE_MAX; e = spec->loinc_links[e].next) {
            uint32_t li = (uint32_t)spec->loinc_links[e].lab;
            int dup = 0;
            for (size_t k = 0; k < n_seen; k++)
                dup |= seen[k] == li;
            if (dup || n_seen == sizeof seen / sizeof seen[0])
                continue;
            seen[n_seen++] = li;
            const mmdx_records_lab *lab = &spec->labs[li];
            json_object *q = get(holder, "valueQuantity");
            json_object *qv = get(q, "value");
            if (!qv || !(json_object_is_type(qv, json_type_double) || json_object_is_type(qv, json_type_int))) {
                mmdx_fhir_origin(c, origin, sizeof origin);
                mmdx_records_warn(&c->st->stats, &c->st->stats.no_value,
                                  "%s: Observation for lab '%s' has no numeric valueQuantity", origin, lab->name);
                continue;
            }
            if (!dated) {
                mmdx_fhir_origin(c, origin, sizeof origin);
                mmdx_records_warn(&c->st->stats, &c->st->stats.undated,
                                  "%s: Observation for lab '%s' has no effective[x] or issued time; not used",
                                  origin, lab->name);
                continue;
            }
            double v = json_object_get_double(qv);
            const char *ucode = get_str(q, "code");
            const char *unit = ucode && mmdx_records_system_of(get_str(q, "system")) == MMDX_SYS_UCUM
                                   ? ucode
                                   : get_str(q, "unit");
            if (!unit)
                unit = ucode;
            double conv = v;
            if (!unit || (strcmp(unit, lab->unit) != 0 && mmdx_unit_convert(&conv, v, unit, lab->unit, &lab->rule) < 0)) {
                mmdx_fhir_origin(c, origin, sizeof origin);
                mmdx_records_warn(&c->st->stats, &c->st->stats.unit_unconvertible,
                                  "%s: Observation for lab '%s': unit '%s' does not convert to '%s'; value not used",
                                  origin, lab->name, unit ? unit : "(none)", lab->unit);
                continue;
            }
            if (!isfinite(conv) || conv < lab->valid_min || conv > lab->valid_max) {
                mmdx_fhir_origin(c, origin, sizeof origin);
                mmdx_records_warn(&c->st->stats, &c->st->stats.out_of_range,
                                  "%s: Observation for lab '%s': value outside the valid range [%g, %g] %s; not used",
                                  origin, lab->name, lab->valid_min, lab->valid_max, lab->unit);
                continue;
            }
            if (mmdx_records_add_lab(p, li, t, conv) < 0)
                return MMDX_ENOMEM;
        }
    }
    return 0;
}

static int read_observation(mmdx_fhir_ctx *c, json_object *res)
{
    const char *status = get_str(res, "status");
    if (status && (strcmp(status, "entered-in-error") == 0 || strcmp(status, "cancelled") == 0)) {
        c->st->stats.ignored_status++;
        return 0;
    }
    mmdx_records_patient *p;
    int rc = subject_of(c, res, "Observation", &p);
    if (rc < 0 || !p)
        return rc;
    int64_t start = MMDX_TIME_NONE, end = MMDX_TIME_NONE;
    int r = read_choice_time(c, p, "Observation", res, "effective", &start, &end);
    if (r == DATE_BAD)
        return 0;
    if (r == DATE_ABSENT) {
        mmdx_fhir_date d;
        r = read_date(c, p, "Observation", res, "issued", &d);
        if (r == DATE_BAD)
            return 0;
        if (r == DATE_OK)
            start = d.start;
    }
    int dated = start != MMDX_TIME_NONE;
    if ((rc = observe_value(c, p, res, get(res, "code"), start, dated)) < 0)
        return rc;
    json_object *comps = get(res, "component");
    for (size_t i = 0; i < arr_len(comps); i++) {
        json_object *comp = json_object_array_get_idx(comps, i);
        if ((rc = observe_value(c, p, comp, get(comp, "code"), start, dated)) < 0)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Condition                                                                 */
/* ------------------------------------------------------------------------ */

/* Flags of `kind` (0 conditions, 1 medications) a CodeableConcept matches, into c->hits. */
static void match_concept(mmdx_fhir_ctx *c, int kind, json_object *cc)
{
    const mmdx_records_spec *spec = c->st->spec;
    size_t n = kind ? spec->n_medications : spec->n_conditions;
    memset(c->hits, 0, n);
    json_object *codings = get(cc, "coding");
    for (size_t i = 0; i < arr_len(codings); i++) {
        json_object *cd = json_object_array_get_idx(codings, i);
        mmdx_records_match_coding(spec, kind, mmdx_records_system_of(get_str(cd, "system")), get_str(cd, "code"),
                                  get_str(cd, "display"), c->hits);
    }
    const char *text = get_str(cc, "text");
    if (text)
        mmdx_records_match_coding(spec, kind, MMDX_SYS_OTHER, NULL, text, c->hits);
}

static int read_condition(mmdx_fhir_ctx *c, json_object *res)
{
    const mmdx_records_spec *spec = c->st->spec;
    const char *ver = concept_code(get(res, "verificationStatus"));
    if (ver && (strcmp(ver, "entered-in-error") == 0 || strcmp(ver, "refuted") == 0)) {
        c->st->stats.ignored_status++;
        return 0;
    }
    mmdx_records_patient *p;
    int rc = subject_of(c, res, "Condition", &p);
    if (rc < 0 || !p)
        return rc;
    mmdx_flag_fact f = {0, 1, MMDX_TIME_NONE, MMDX_TIME_OPEN};
    int64_t s = MMDX_TIME_NONE, e = MMDX_TIME_NONE;
    int r = read_choice_time(c, p, "Condition", res, "onset", &s, &e);
    if (r == DATE_BAD)
        return 0;
    if (r == DATE_OK) {
        f.start = s;
    } else {
        mmdx_fhir_date d;
        r = read_date(c, p, "Condition", res, "recordedDate", &d);
        if (r == DATE_BAD)
            return 0;
        if (r == DATE_OK)
            f.start = d.start;
    }
    int64_t as = MMDX_TIME_NONE, ae = MMDX_TIME_NONE;
    r = read_choice_time(c, p, "Condition", res, "abatement", &as, &ae);
    if (r == DATE_BAD)
        return 0;
    if (r == DATE_OK)
        f.end = ae == MMDX_TIME_OPEN ? as : ae;
    json_object *ab = get(res, "abatementBoolean");
    if (ab && json_object_is_type(ab, json_type_boolean) && json_object_get_boolean(ab))
        f.status_active = 0;
    const char *clin = concept_code(get(res, "clinicalStatus"));
    if (clin && strcmp(clin, "active") && strcmp(clin, "recurrence") && strcmp(clin, "relapse"))
        f.status_active = 0;
    match_concept(c, 0, get(res, "code"));
    for (size_t i = 0; i < spec->n_conditions; i++) {
        if (!c->hits[i])
            continue;
        f.flag = (uint32_t)i;
        if (mmdx_records_add_cond(p, &f) < 0)
            return MMDX_ENOMEM;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Medications                                                               */
/* ------------------------------------------------------------------------ */

static int add_med_matches(mmdx_fhir_ctx *c, mmdx_records_patient *p, json_object *concept, int64_t start,
                           int64_t end)
{
    const mmdx_records_spec *spec = c->st->spec;
    match_concept(c, 1, concept);
    for (size_t i = 0; i < spec->n_medications; i++) {
        if (!c->hits[i])
            continue;
        mmdx_flag_fact f = {(uint32_t)i, 1, start, end};
        if (mmdx_records_add_med(p, &f) < 0)
            return MMDX_ENOMEM;
    }
    return 0;
}

/* Reference keys under which a Medication can be named. */
static int med_key(const char *ref, char *buf, size_t cap)
{
    if (strncmp(ref, "urn:", 4) == 0) {
        snprintf(buf, cap, "%s", ref);
        return 1;
    }
    const char *m = NULL;
    for (const char *s = strstr(ref, "Medication/"); s; s = strstr(s + 1, "Medication/"))
        if (s == ref || s[-1] == '/')
            m = s;
    if (!m)
        return 0;
    size_t n = strcspn(m + 11, "/?#");
    if (n == 0)
        return 0;
    snprintf(buf, cap, "Medication/%.*s", (int)n, m + 11);
    return 1;
}

static int read_medication(mmdx_fhir_ctx *c, json_object *res, const char *fullurl)
{
    const mmdx_records_spec *spec = c->st->spec;
    size_t head = SIZE_MAX;
    match_concept(c, 1, get(res, "code"));
    /* Chain the flags this Medication matches, newest first. */
    for (size_t i = 0; i < spec->n_medications; i++) {
        if (!c->hits[i])
            continue;
        if (mmdx_array_reserve(&c->med_links, &c->cap_med_links, c->n_med_links + 1,
                               sizeof *c->med_links, 64, 0) < 0)
            return MMDX_ENOMEM;
        c->med_links[c->n_med_links].flag = (uint32_t)i;
        c->med_links[c->n_med_links].next = head;
        head = c->n_med_links++;
    }
    char key[300];
    const char *id = get_str(res, "id");
    if (id) {
        snprintf(key, sizeof key, "Medication/%s", id);
        if (mmdx_strmap_put(c->med_map, key, head, NULL) < 0)
            return MMDX_ENOMEM;
    }
    if (fullurl && med_key(fullurl, key, sizeof key) && mmdx_strmap_put(c->med_map, key, head, NULL) < 0)
        return MMDX_ENOMEM;
    return 0;
}

static int read_med_use(mmdx_fhir_ctx *c, json_object *res, int is_request)
{
    const char *rtype = is_request ? "MedicationRequest" : "MedicationStatement";
    const char *status = get_str(res, "status");
    if (status && (strcmp(status, "entered-in-error") == 0 ||
                   (is_request && (strcmp(status, "cancelled") == 0 || strcmp(status, "draft") == 0)) ||
                   (!is_request && (strcmp(status, "not-taken") == 0 || strcmp(status, "intended") == 0)))) {
        c->st->stats.ignored_status++;
        return 0;
    }
    mmdx_records_patient *p;
    int rc = subject_of(c, res, rtype, &p);
    if (rc < 0 || !p)
        return rc;
    int64_t start = MMDX_TIME_NONE, end = MMDX_TIME_NONE;
    int r;
    if (is_request) {
        mmdx_fhir_date d;
        r = read_date(c, p, rtype, res, "authoredOn", &d);
        if (r == DATE_OK)
            start = end = d.start;
    } else {
        r = read_choice_time(c, p, rtype, res, "effective", &start, &end);
        if (r == DATE_ABSENT) {
            mmdx_fhir_date d;
            r = read_date(c, p, rtype, res, "dateAsserted", &d);
            if (r == DATE_OK)
                start = end = d.start;
        }
    }
    if (r == DATE_BAD)
        return 0;
    /* An active prescription or statement is taken to continue up to the index date. */
    if (status && strcmp(status, "active") == 0)
        end = MMDX_TIME_OPEN;
    json_object *concept = get(res, "medicationCodeableConcept");
    if (concept)
        return add_med_matches(c, p, concept, start, end);
    const char *ref = get_str(get(res, "medicationReference"), "reference");
    if (!ref) {
        char origin[MMDX_ORIGIN_MAX];
        mmdx_fhir_origin(c, origin, sizeof origin);
        mmdx_records_warn(&c->st->stats, &c->st->stats.unresolved_reference, "%s: %s has no medication[x]",
                          origin, rtype);
        return 0;
    }
    if (ref[0] == '#') {
        json_object *contained = get(res, "contained");
        for (size_t i = 0; i < arr_len(contained); i++) {
            json_object *cr = json_object_array_get_idx(contained, i);
            const char *cid = get_str(cr, "id");
            if (cid && strcmp(cid, ref + 1) == 0)
                return add_med_matches(c, p, get(cr, "code"), start, end);
        }
        char origin[MMDX_ORIGIN_MAX];
        mmdx_fhir_origin(c, origin, sizeof origin);
        mmdx_records_warn(&c->st->stats, &c->st->stats.unresolved_reference,
                          "%s: %s.medicationReference '%s' names no contained resource", origin, rtype, ref);
        return 0;
    }
    if (mmdx_array_reserve(&c->pending, &c->cap_pending, c->n_pending + 1, sizeof *c->pending, 64, 0) < 0)
        return MMDX_ENOMEM;
    mmdx_pending_med *pm = &c->pending[c->n_pending];
    pm->patient = (size_t)(p - c->st->patients);
    pm->start = start;
    pm->end = end;
    mmdx_fhir_origin(c, pm->origin, sizeof pm->origin);
    pm->ref = strdup(ref);
    if (!pm->ref)
        return MMDX_ENOMEM;
    c->n_pending++;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                  */
/* ------------------------------------------------------------------------ */

static int read_one(mmdx_fhir_ctx *c, json_object *res, const char *fullurl, int depth);

static int read_bundle(mmdx_fhir_ctx *c, json_object *bundle, int depth)
{
    json_object *entries = get(bundle, "entry");
    size_t n = arr_len(entries);
    if (entries && !json_object_is_type(entries, json_type_array)) {
        char origin[MMDX_ORIGIN_MAX];
        mmdx_fhir_origin(c, origin, sizeof origin);
        mmdx_records_warn(&c->st->stats, &c->st->stats.skipped_type, "%s: Bundle.entry is not an array; skipped",
                          origin);
    }
    long saved_entry = c->entry;
    mmdx_strmap *saved_urls = c->fullurls;
    int rc = 0;
    c->fullurls = mmdx_strmap_new();
    if (!c->fullurls) {
        c->fullurls = saved_urls;
        return MMDX_ENOMEM;
    }
    /* Patients first, so that urn:uuid references resolve whatever the entry order. */
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        for (size_t i = 0; i < n && rc == 0; i++) {
            json_object *e = json_object_array_get_idx(entries, i);
            json_object *res = get(e, "resource");
            if (!res)
                continue; /* request-only entries of transaction responses */
            const char *type = get_str(res, "resourceType");
            int is_patient = type && strcmp(type, "Patient") == 0;
            if (is_patient != (pass == 0))
                continue;
            if (c->line <= 0)
                c->entry = (long)i;
            rc = read_one(c, res, get_str(e, "fullUrl"), depth + 1);
        }
    }
    mmdx_strmap_free(c->fullurls);
    c->fullurls = saved_urls;
    c->entry = saved_entry;
    return rc;
}

static int read_one(mmdx_fhir_ctx *c, json_object *res, const char *fullurl, int depth)
{
    mmdx_records_stats *stats = &c->st->stats;
    const char *type = get_str(res, "resourceType");
    char origin[MMDX_ORIGIN_MAX];
    if (!type) {
        mmdx_fhir_origin(c, origin, sizeof origin);
        mmdx_records_warn(stats, &stats->skipped_type, "%s: not a FHIR resource (%s); skipped", origin,
                          get(res, "resourceType") ? "resourceType is not a string" : "no resourceType");
        return 0;
    }
    if (strcmp(type, "Bundle") == 0) {
        if (depth >= MAX_BUNDLE_DEPTH) {
            mmdx_fhir_origin(c, origin, sizeof origin);
            mmdx_records_warn(stats, &stats->skipped_type, "%s: Bundle nested deeper than %d levels; skipped",
                              origin, MAX_BUNDLE_DEPTH);
            return 0;
        }
        return read_bundle(c, res, depth);
    }
    stats->resources++;
    int rc;
    if (strcmp(type, "Patient") == 0)
        rc = read_patient(c, res, fullurl);
    else if (strcmp(type, "Observation") == 0)
        rc = read_observation(c, res);
    else if (strcmp(type, "Condition") == 0)
        rc = read_condition(c, res);
    else if (strcmp(type, "MedicationRequest") == 0)
        rc = read_med_use(c, res, 1);
    else if (strcmp(type, "MedicationStatement") == 0)
        rc = read_med_use(c, res, 0);
    else if (strcmp(type, "Medication") == 0)
        rc = read_medication(c, res, fullurl);
    else {
        mmdx_fhir_origin(c, origin, sizeof origin);
        mmdx_records_warn(stats, &stats->skipped_type, "%s: resource type %.40s is not used; skipped", origin,
                          type);
        return 0;
    }
    if (rc == 0)
        stats->used++;
    return rc;
}

int mmdx_fhir_resource(mmdx_fhir_ctx *c, json_object *res, int depth)
{
    if (!json_object_is_type(res, json_type_object)) {
        char origin[MMDX_ORIGIN_MAX];
        mmdx_fhir_origin(c, origin, sizeof origin);
        mmdx_records_warn(&c->st->stats, &c->st->stats.skipped_type, "%s: not a JSON object; skipped", origin);
        return 0;
    }
    return read_one(c, res, NULL, depth);
}

int mmdx_fhir_ctx_merge(mmdx_fhir_ctx *dst, mmdx_fhir_ctx *src, const size_t *remap)
{
    for (size_t i = 0; i < mmdx_strmap_slots(src->med_map); i++) {
        const char *key;
        size_t head;
        if (!mmdx_strmap_slot(src->med_map, i, &key, &head))
            continue;
        size_t existing;
        if (mmdx_strmap_get(dst->med_map, key, &existing))
            continue; /* the first Medication with an id wins, as in sequence */
        /* copy the chain of flags */
        size_t new_head = SIZE_MAX;
        for (size_t e = head; e != SIZE_MAX; e = src->med_links[e].next) {
            if (mmdx_array_reserve(&dst->med_links, &dst->cap_med_links, dst->n_med_links + 1,
                                   sizeof *dst->med_links, 64, 0) < 0)
                return MMDX_ENOMEM;
            dst->med_links[dst->n_med_links].flag = src->med_links[e].flag;
            dst->med_links[dst->n_med_links].next = new_head;
            new_head = dst->n_med_links++;
        }
        if (mmdx_strmap_put(dst->med_map, key, new_head, NULL) < 0)
            return MMDX_ENOMEM;
    }
    for (size_t i = 0; i < src->n_pending; i++) {
        if (mmdx_array_reserve(&dst->pending, &dst->cap_pending, dst->n_pending + 1,
                               sizeof *dst->pending, 64, 0) < 0)
            return MMDX_ENOMEM;
        dst->pending[dst->n_pending] = src->pending[i];
        dst->pending[dst->n_pending].patient = remap[src->pending[i].patient];
        src->pending[i].ref = NULL; /* moved */
        dst->n_pending++;
    }
    return 0;
}

int mmdx_fhir_finish(mmdx_fhir_ctx *c)
{
    mmdx_records_store *st = c->st;
    for (size_t i = 0; i < c->n_pending; i++) {
        mmdx_pending_med *pm = &c->pending[i];
        char key[300];
        size_t head;
        if (!med_key(pm->ref, key, sizeof key) || !mmdx_strmap_get(c->med_map, key, &head)) {
            mmdx_records_warn(&st->stats, &st->stats.unresolved_reference,
                              "%s: medicationReference names no Medication in the input", pm->origin);
            continue;
        }
        for (size_t e = head; e != SIZE_MAX; e = c->med_links[e].next) {
            mmdx_flag_fact f = {c->med_links[e].flag, 1, pm->start, pm->end};
            if (mmdx_records_add_med(&st->patients[pm->patient], &f) < 0)
                return MMDX_ENOMEM;
        }
    }
    int any_patient = 0;
    for (size_t i = 0; i < st->n_patients; i++)
        any_patient |= st->patients[i].has_resource;
    if (any_patient)
        for (size_t i = 0; i < st->n_patients; i++) {
            mmdx_records_patient *p = &st->patients[i];
            if (p->has_resource)
                continue;
            /* Its resources name a Patient the input does not hold: they are not used. */
            p->orphan = 1;
            st->stats.unresolved_reference += p->n_resources;
            if (!st->stats.first_warning[0])
                snprintf(st->stats.first_warning, sizeof st->stats.first_warning,
                         "%s: the resource's subject names a Patient that is not in the input", p->first_origin);
        }
    return 0;
}
