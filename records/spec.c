/* SPDX-License-Identifier: Apache-2.0 */
#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "array.h"
#include "error.h"

static const char *const AGG_NAMES[MMDX_AGG_N] = {"latest", "mean", "min", "max", "count", "slope"};

const char *mmdx_records_agg_name(int agg)
{
    return agg >= 0 && agg < MMDX_AGG_N ? AGG_NAMES[agg] : "?";
}

/* ------------------------------------------------------------------------ */
/* Files and positions                                                       */
/* ------------------------------------------------------------------------ */

int mmdx_records_read_file(char **out, size_t *len, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mmdx_fail(errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "%s: cannot open: %s", path,
                         strerror(errno));
    size_t cap = 0, n = 0;
    char *buf = NULL;
    for (;;) {
        if (mmdx_array_reserve(&buf, &cap, n + 2, 1, 1 << 16, 0) < 0) {
            free(buf);
            fclose(f);
            return mmdx_fail(MMDX_ENOMEM, "%s: out of memory", path);
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return mmdx_fail(MMDX_EIO, "%s: read error", path);
    }
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return 0;
}

void mmdx_records_line_col(const char *text, size_t off, long *line, long *col)
{
    long l = 1, c = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* ------------------------------------------------------------------------ */
/* Code systems and matching                                                 */
/* ------------------------------------------------------------------------ */

int mmdx_records_system_of(const char *s)
{
    if (!s)
        return MMDX_SYS_OTHER;
    static const struct {
        const char *uri;
        int sys;
    } systems[] = {
        {"http://loinc.org", MMDX_SYS_LOINC},
        {"urn:oid:2.16.840.1.113883.6.1", MMDX_SYS_LOINC},
        {"http://snomed.info/sct", MMDX_SYS_SNOMED},
        {"urn:oid:2.16.840.1.113883.6.96", MMDX_SYS_SNOMED},
        {"http://hl7.org/fhir/sid/icd-10-cm", MMDX_SYS_ICD10},
        {"http://hl7.org/fhir/sid/icd-10", MMDX_SYS_ICD10},
        {"urn:oid:2.16.840.1.113883.6.90", MMDX_SYS_ICD10},
        {"urn:oid:2.16.840.1.113883.6.3", MMDX_SYS_ICD10},
        {"http://www.nlm.nih.gov/research/umls/rxnorm", MMDX_SYS_RXNORM},
        {"urn:oid:2.16.840.1.113883.6.88", MMDX_SYS_RXNORM},
        {"http://www.whocc.no/atc", MMDX_SYS_ATC},
        {"urn:oid:2.16.840.1.113883.6.73", MMDX_SYS_ATC},
        {"http://unitsofmeasure.org", MMDX_SYS_UCUM},
    };
    for (size_t i = 0; i < sizeof systems / sizeof systems[0]; i++)
        if (strcmp(s, systems[i].uri) == 0)
            return systems[i].sys;
    return MMDX_SYS_OTHER;
}

/* Upper case, dots and spaces removed: "e11.9" -> "E119". */
static void normalise_code(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    for (; *src && n + 1 < cap; src++) {
        if (*src == '.' || *src == ' ')
            continue;
        dst[n++] = (char)toupper((unsigned char)*src);
    }
    dst[n] = '\0';
}

static int icd10_match(const char *pattern, const char *code)
{
    const char *dash = strchr(pattern, '-');
    if (!dash)
        return strncmp(code, pattern, strlen(pattern)) == 0;
    size_t len = (size_t)(dash - pattern);
    if (strlen(code) < len)
        return 0;
    return strncmp(code, pattern, len) >= 0 && strncmp(code, dash + 1, len) <= 0;
}

static int contains_ci(const char *hay, const char *needle_lower)
{
    size_t n = strlen(needle_lower);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == needle_lower[i])
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

int mmdx_records_codeset_match(const mmdx_records_codeset *cs, int system, const char *code,
                               const char *display)
{
    if (code && *code) {
        char norm[64];
        switch (system) {
        case MMDX_SYS_ICD10:
            normalise_code(norm, sizeof norm, code);
            for (size_t i = 0; i < cs->n_icd10; i++)
                if (icd10_match(cs->icd10[i], norm))
                    return 1;
            break;
        case MMDX_SYS_SNOMED:
            for (size_t i = 0; i < cs->n_snomed; i++)
                if (strcmp(cs->snomed[i], code) == 0)
                    return 1;
            break;
        case MMDX_SYS_RXNORM:
            for (size_t i = 0; i < cs->n_rxnorm; i++)
                if (strcmp(cs->rxnorm[i], code) == 0)
                    return 1;
            break;
        case MMDX_SYS_ATC:
            normalise_code(norm, sizeof norm, code);
            for (size_t i = 0; i < cs->n_atc; i++)
                if (strncmp(norm, cs->atc[i], strlen(cs->atc[i])) == 0)
                    return 1;
            break;
        default: break;
        }
    }
    if (display && *display)
        for (size_t i = 0; i < cs->n_text; i++)
            if (contains_ci(display, cs->text[i]))
                return 1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Spec parsing                                                              */
/* ------------------------------------------------------------------------ */

typedef struct parser {
    const char *file;
    mmdx_records_spec *spec;
    size_t cap_features;
} parser;

static int fail_at(const parser *p, const char *path, const char *fmt, ...) MMDX_FORMAT(3, 4);

static int fail_at(const parser *p, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mmdx_fail(MMDX_EFORMAT, "%s: %s: %s", p->file, path, msg);
}

static int valid_name(const char *s)
{
    if (!*s || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static int check_keys(const parser *p, const char *path, json_object *obj, const char *const *allowed)
{
    json_object_object_foreach(obj, key, val)
    {
        (void)val;
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(key, allowed[i]) == 0)
                ok = 1;
        if (!ok) {
            char list[256] = "";
            for (size_t i = 0; allowed[i]; i++) {
                if (i)
                    strncat(list, ", ", sizeof list - strlen(list) - 1);
                strncat(list, allowed[i], sizeof list - strlen(list) - 1);
            }
            return fail_at(p, path, "unknown key '%s' (expected one of: %s)", key, list);
        }
    }
    return 0;
}

static int add_feature(parser *p, size_t *index, const char *fmt, ...) MMDX_FORMAT(3, 4);

static int add_feature(parser *p, size_t *index, const char *fmt, ...)
{
    mmdx_records_spec *s = p->spec;
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < s->n_features; i++)
        if (strcmp(s->features[i], name) == 0)
            return mmdx_fail(MMDX_EFORMAT, "%s: duplicate feature name 'records.%s'", p->file, name);
    if (mmdx_array_reserve(&s->features, &p->cap_features, s->n_features + 1, sizeof *s->features, 32, 0) < 0)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    s->features[s->n_features] = strdup(name);
    if (!s->features[s->n_features])
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    *index = s->n_features++;
    return 0;
}

static int get_bool(const parser *p, const char *path, json_object *v, int *out)
{
    if (!json_object_is_type(v, json_type_boolean))
        return fail_at(p, path, "expected true or false");
    *out = json_object_get_boolean(v);
    return 0;
}

static int get_number(const parser *p, const char *path, json_object *v, double *out)
{
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return fail_at(p, path, "expected a number");
    *out = json_object_get_double(v);
    if (!isfinite(*out))
        return fail_at(p, path, "expected a finite number");
    return 0;
}

static int get_days(const parser *p, const char *path, json_object *v, int64_t *out)
{
    if (!json_object_is_type(v, json_type_int))
        return fail_at(p, path, "expected a whole number of days");
    int64_t d = json_object_get_int64(v);
    if (d < 0 || d > 365L * 200)
        return fail_at(p, path, "window of %lld days is out of range (0 = no limit, up to 73000)",
                       (long long)d);
    *out = d;
    return 0;
}

static int get_string(const parser *p, const char *path, json_object *v, char **out)
{
    if (!json_object_is_type(v, json_type_string))
        return fail_at(p, path, "expected a string");
    *out = strdup(json_object_get_string(v));
    if (!*out)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    return 0;
}

enum { LIST_PLAIN, LIST_UPPER, LIST_LOWER, LIST_ICD10 };

static int get_string_list(const parser *p, const char *path, json_object *v, int mode, char ***out,
                           size_t *n)
{
    if (!json_object_is_type(v, json_type_array))
        return fail_at(p, path, "expected an array of strings");
    size_t len = json_object_array_length(v);
    char **list = calloc(len ? len : 1, sizeof *list);
    if (!list)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    *out = list;
    *n = 0;
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        char sub[160];
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        if (!json_object_is_type(e, json_type_string) || json_object_get_string_len(e) == 0)
            return fail_at(p, sub, "expected a non-empty string");
        const char *s = json_object_get_string(e);
        char buf[128];
        if (strlen(s) >= sizeof buf)
            return fail_at(p, sub, "entry longer than %zu characters", sizeof buf - 1);
        if (mode == LIST_UPPER || mode == LIST_ICD10) {
            normalise_code(buf, sizeof buf, s);
        } else if (mode == LIST_LOWER) {
            size_t k = 0;
            for (; s[k]; k++)
                buf[k] = (char)tolower((unsigned char)s[k]);
            buf[k] = '\0';
        } else {
            snprintf(buf, sizeof buf, "%s", s);
        }
        if (mode == LIST_ICD10) {
            const char *dash = strchr(buf, '-');
            if (strlen(buf) > 31)
                return fail_at(p, sub, "ICD-10 entry '%s' is too long", s);
            if (dash && (strchr(dash + 1, '-') || (size_t)(dash - buf) != strlen(dash + 1) ||
                         strncmp(buf, dash + 1, (size_t)(dash - buf)) > 0 || dash == buf))
                return fail_at(p, sub, "ICD-10 range '%s' must be LOW-HIGH with equal lengths, LOW <= HIGH",
                               s);
        }
        list[i] = strdup(buf);
        if (!list[i])
            return mmdx_fail(MMDX_ENOMEM, "out of memory");
        (*n)++;
    }
    return 0;
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

typedef struct lab_defaults {
    int64_t window_days;
    unsigned aggs;
} lab_defaults;

static int get_aggs(const parser *p, const char *path, json_object *v, unsigned *out)
{
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0)
        return fail_at(p, path, "expected a non-empty array of aggregations");
    unsigned mask = 0;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i);
        char sub[160];
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        const char *s = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
        int found = -1;
        for (int a = 0; s && a < MMDX_AGG_N; a++)
            if (strcmp(s, AGG_NAMES[a]) == 0)
                found = a;
        if (found < 0)
            return fail_at(p, sub, "unknown aggregation '%s' (expected latest, mean, min, max, count, slope)",
                           s ? s : "(not a string)");
        mask |= 1u << found;
    }
    *out = mask;
    return 0;
}

static int parse_lab(parser *p, const char *path, json_object *o, const lab_defaults *d,
                     mmdx_records_lab *lab)
{
    static const char *const keys[] = {"name", "loinc", "unit", "molar_mass", "convert", "window_days",
                                       "aggregations", "valid_range", "description", NULL};
    char sub[160];
    int rc;
    if (!json_object_is_type(o, json_type_object))
        return fail_at(p, path, "expected an object");
    if ((rc = check_keys(p, path, o, keys)) < 0)
        return rc;
    lab->window_days = d->window_days;
    lab->aggs = d->aggs;
    lab->valid_min = -HUGE_VAL;
    lab->valid_max = HUGE_VAL;
    json_object *v;
    snprintf(sub, sizeof sub, "%s.name", path);
    if (!json_object_object_get_ex(o, "name", &v))
        return fail_at(p, path, "missing 'name'");
    if ((rc = get_string(p, sub, v, &lab->name)) < 0)
        return rc;
    if (!valid_name(lab->name))
        return fail_at(p, sub, "name '%s' must match [a-z0-9_-]{1,64}", lab->name);
    snprintf(sub, sizeof sub, "%s.loinc", path);
    if (!json_object_object_get_ex(o, "loinc", &v))
        return fail_at(p, path, "missing 'loinc'");
    if ((rc = get_string_list(p, sub, v, LIST_PLAIN, &lab->loinc, &lab->n_loinc)) < 0)
        return rc;
    if (lab->n_loinc == 0)
        return fail_at(p, sub, "at least one LOINC code is needed");
    snprintf(sub, sizeof sub, "%s.unit", path);
    if (!json_object_object_get_ex(o, "unit", &v))
        return fail_at(p, path, "missing 'unit'");
    if ((rc = get_string(p, sub, v, &lab->unit)) < 0)
        return rc;
    if (json_object_object_get_ex(o, "molar_mass", &v)) {
        snprintf(sub, sizeof sub, "%s.molar_mass", path);
        if ((rc = get_number(p, sub, v, &lab->rule.molar_mass)) < 0)
            return rc;
        if (lab->rule.molar_mass <= 0)
            return fail_at(p, sub, "molar mass must be positive (g/mol)");
    }
    if (json_object_object_get_ex(o, "convert", &v)) {
        snprintf(sub, sizeof sub, "%s.convert", path);
        if (!json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), "hba1c") != 0)
            return fail_at(p, sub, "the only special conversion is \"hba1c\" (NGSP %% <-> IFCC mmol/mol)");
        lab->rule.hba1c = 1;
    }
    if (json_object_object_get_ex(o, "window_days", &v)) {
        snprintf(sub, sizeof sub, "%s.window_days", path);
        if ((rc = get_days(p, sub, v, &lab->window_days)) < 0)
            return rc;
    }
    if (json_object_object_get_ex(o, "aggregations", &v)) {
        snprintf(sub, sizeof sub, "%s.aggregations", path);
        if ((rc = get_aggs(p, sub, v, &lab->aggs)) < 0)
            return rc;
    }
    if (json_object_object_get_ex(o, "valid_range", &v)) {
        snprintf(sub, sizeof sub, "%s.valid_range", path);
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != 2)
            return fail_at(p, sub, "expected [min, max]");
        if ((rc = get_number(p, sub, json_object_array_get_idx(v, 0), &lab->valid_min)) < 0 ||
            (rc = get_number(p, sub, json_object_array_get_idx(v, 1), &lab->valid_max)) < 0)
            return rc;
        if (lab->valid_min > lab->valid_max)
            return fail_at(p, sub, "min is above max");
    }
    for (int a = 0; a < MMDX_AGG_N; a++)
        if (lab->aggs & (1u << a))
            if ((rc = add_feature(p, &lab->feature[a], "lab.%s.%s", lab->name, AGG_NAMES[a])) < 0)
                return rc;
    return 0;
}

static int parse_codeset(const parser *p, const char *path, json_object *o, mmdx_records_codeset *cs,
                         int is_med)
{
    char sub[160];
    int rc;
    json_object *v;
    struct {
        const char *key;
        int mode;
        char ***list;
        size_t *n;
    } fields[] = {
        {"icd10", LIST_ICD10, &cs->icd10, &cs->n_icd10},
        {"snomed", LIST_PLAIN, &cs->snomed, &cs->n_snomed},
        {"rxnorm", LIST_PLAIN, &cs->rxnorm, &cs->n_rxnorm},
        {"atc", LIST_UPPER, &cs->atc, &cs->n_atc},
        {"text", LIST_LOWER, &cs->text, &cs->n_text},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (!json_object_object_get_ex(o, fields[i].key, &v))
            continue;
        snprintf(sub, sizeof sub, "%s.%s", path, fields[i].key);
        if ((rc = get_string_list(p, sub, v, fields[i].mode, fields[i].list, fields[i].n)) < 0)
            return rc;
        total += *fields[i].n;
    }
    (void)is_med;
    if (total == 0)
        return fail_at(p, path, "no codes: give at least one of icd10, snomed, rxnorm, atc, text");
    return 0;
}

static int parse_flag(parser *p, const char *path, json_object *o, mmdx_records_flag *f, int is_med,
                      int64_t default_window)
{
    static const char *const cond_keys[] = {"name", "icd10", "snomed", "text", "window_days",
                                            "active_only", "description", NULL};
    static const char *const med_keys[] = {"name", "rxnorm", "atc", "text", "window_days",
                                           "description", NULL};
    char sub[160];
    int rc;
    json_object *v;
    if (!json_object_is_type(o, json_type_object))
        return fail_at(p, path, "expected an object");
    if ((rc = check_keys(p, path, o, is_med ? med_keys : cond_keys)) < 0)
        return rc;
    f->window_days = default_window;
    snprintf(sub, sizeof sub, "%s.name", path);
    if (!json_object_object_get_ex(o, "name", &v))
        return fail_at(p, path, "missing 'name'");
    if ((rc = get_string(p, sub, v, &f->name)) < 0)
        return rc;
    if (!valid_name(f->name))
        return fail_at(p, sub, "name '%s' must match [a-z0-9_-]{1,64}", f->name);
    if ((rc = parse_codeset(p, path, o, &f->codes, is_med)) < 0)
        return rc;
    if (json_object_object_get_ex(o, "window_days", &v)) {
        snprintf(sub, sizeof sub, "%s.window_days", path);
        if ((rc = get_days(p, sub, v, &f->window_days)) < 0)
            return rc;
    }
    if (json_object_object_get_ex(o, "active_only", &v)) {
        snprintf(sub, sizeof sub, "%s.active_only", path);
        if ((rc = get_bool(p, sub, v, &f->active_only)) < 0)
            return rc;
    }
    return add_feature(p, &f->feature, "%s.%s", is_med ? "med" : "cond", f->name);
}

static int find_feature(const mmdx_records_spec *s, const char *name, size_t *idx)
{
    for (size_t i = 0; i < s->n_features; i++)
        if (strcmp(s->features[i], name) == 0) {
            *idx = i;
            return 1;
        }
    return 0;
}

static int parse_csv_column(parser *p, const char *path, json_object *o, mmdx_records_csv_column *c)
{
    static const char *const keys[] = {"column", "feature", "unit", "values", "description", NULL};
    mmdx_records_spec *s = p->spec;
    char sub[160];
    int rc;
    json_object *v;
    if (!json_object_is_type(o, json_type_object))
        return fail_at(p, path, "expected an object");
    if ((rc = check_keys(p, path, o, keys)) < 0)
        return rc;
    snprintf(sub, sizeof sub, "%s.column", path);
    if (!json_object_object_get_ex(o, "column", &v))
        return fail_at(p, path, "missing 'column'");
    if ((rc = get_string(p, sub, v, &c->column)) < 0)
        return rc;
    snprintf(sub, sizeof sub, "%s.feature", path);
    if (!json_object_object_get_ex(o, "feature", &v) || !json_object_is_type(v, json_type_string))
        return fail_at(p, path, "missing 'feature' (a feature name, \"birth_date\" or \"sex\")");
    const char *feat = json_object_get_string(v);
    if (strncmp(feat, "records.", 8) == 0)
        feat += 8;
    if (strcmp(feat, "birth_date") == 0) {
        c->target = MMDX_CSV_BIRTH_DATE;
    } else if (strcmp(feat, "sex") == 0) {
        c->target = MMDX_CSV_SEX;
    } else {
        c->target = MMDX_CSV_FEATURE;
        if (!find_feature(s, feat, &c->feature))
            return fail_at(p, sub, "'%s' is not a feature of this spec", feat);
        for (size_t i = 0; i < s->n_labs; i++)
            for (int a = 0; a < MMDX_AGG_N; a++)
                if ((s->labs[i].aggs & (1u << a)) && s->labs[i].feature[a] == c->feature &&
                    a != MMDX_AGG_COUNT && a != MMDX_AGG_SLOPE)
                    c->lab = &s->labs[i];
    }
    if (json_object_object_get_ex(o, "unit", &v)) {
        snprintf(sub, sizeof sub, "%s.unit", path);
        if ((rc = get_string(p, sub, v, &c->unit)) < 0)
            return rc;
        if (!c->lab)
            return fail_at(p, sub, "a unit is only meaningful for a lab's latest/mean/min/max feature");
        double probe;
        if (mmdx_unit_convert(&probe, 1.0, c->unit, c->lab->unit, &c->lab->rule) < 0)
            return fail_at(p, sub, "unit '%s' cannot be converted to the lab's unit '%s'", c->unit,
                           c->lab->unit);
    }
    if (json_object_object_get_ex(o, "values", &v)) {
        snprintf(sub, sizeof sub, "%s.values", path);
        if (!json_object_is_type(v, json_type_object))
            return fail_at(p, sub, "expected an object mapping cell text to a value");
        size_t n = (size_t)json_object_object_length(v);
        c->value_keys = calloc(n ? n : 1, sizeof *c->value_keys);
        c->value_texts = calloc(n ? n : 1, sizeof *c->value_texts);
        c->value_numbers = calloc(n ? n : 1, sizeof *c->value_numbers);
        if (!c->value_keys || !c->value_texts || !c->value_numbers)
            return mmdx_fail(MMDX_ENOMEM, "out of memory");
        json_object_object_foreach(v, key, val)
        {
            char sub2[200];
            snprintf(sub2, sizeof sub2, "%s.%s", sub, key);
            c->value_keys[c->n_values] = strdup(key);
            if (!c->value_keys[c->n_values])
                return mmdx_fail(MMDX_ENOMEM, "out of memory");
            c->n_values++;
            if (c->target == MMDX_CSV_SEX) {
                const char *t = json_object_is_type(val, json_type_string) ? json_object_get_string(val) : "";
                if (strcmp(t, "female") && strcmp(t, "male") && strcmp(t, "other") && strcmp(t, "unknown"))
                    return fail_at(p, sub2, "expected \"female\", \"male\", \"other\" or \"unknown\"");
                c->value_texts[c->n_values - 1] = strdup(t);
                if (!c->value_texts[c->n_values - 1])
                    return mmdx_fail(MMDX_ENOMEM, "out of memory");
            } else if (c->target == MMDX_CSV_FEATURE) {
                if (json_object_is_type(val, json_type_null)) {
                    c->value_numbers[c->n_values - 1] = NAN;
                } else if ((rc = get_number(p, sub2, val, &c->value_numbers[c->n_values - 1])) < 0) {
                    return rc;
                }
            } else {
                return fail_at(p, sub, "a birth_date column takes no value map");
            }
        }
    }
    return 0;
}

static int parse_csv(parser *p, json_object *o)
{
    static const char *const keys[] = {"id_column", "delimiter", "columns", NULL};
    mmdx_records_spec *s = p->spec;
    int rc;
    json_object *v;
    if (!json_object_is_type(o, json_type_object))
        return fail_at(p, "csv", "expected an object");
    if ((rc = check_keys(p, "csv", o, keys)) < 0)
        return rc;
    if (json_object_object_get_ex(o, "id_column", &v)) {
        free(s->csv_id_column);
        s->csv_id_column = NULL;
        if ((rc = get_string(p, "csv.id_column", v, &s->csv_id_column)) < 0)
            return rc;
    }
    if (json_object_object_get_ex(o, "delimiter", &v)) {
        const char *d = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        if (strcmp(d, ",") && strcmp(d, "\t"))
            return fail_at(p, "csv.delimiter", "expected \",\" or \"\\t\"");
        s->csv_delimiter = d[0];
    }
    if (json_object_object_get_ex(o, "columns", &v)) {
        if (!json_object_is_type(v, json_type_array))
            return fail_at(p, "csv.columns", "expected an array");
        size_t n = json_object_array_length(v);
        s->csv_columns = calloc(n ? n : 1, sizeof *s->csv_columns);
        if (!s->csv_columns)
            return mmdx_fail(MMDX_ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            char sub[64];
            snprintf(sub, sizeof sub, "csv.columns[%zu]", i);
            s->n_csv_columns++;
            if ((rc = parse_csv_column(p, sub, json_object_array_get_idx(v, i), &s->csv_columns[i])) < 0)
                return rc;
            for (size_t j = 0; j < i; j++)
                if (strcmp(s->csv_columns[j].column, s->csv_columns[i].column) == 0)
                    return fail_at(p, sub, "column '%s' is mapped twice", s->csv_columns[i].column);
        }
    }
    return 0;
}

static int build_loinc_index(parser *p)
{
    mmdx_records_spec *s = p->spec;
    size_t total = 0;
    for (size_t i = 0; i < s->n_labs; i++)
        total += s->labs[i].n_loinc;
    s->loinc_map = mmdx_strmap_new();
    s->loinc_links = calloc(total ? total : 1, sizeof *s->loinc_links);
    if (!s->loinc_map || !s->loinc_links)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < s->n_labs; i++) {
        for (size_t j = 0; j < s->labs[i].n_loinc; j++) {
            /* A code listed twice for one lab would count its values twice. */
            size_t head;
            int dup = 0;
            if (mmdx_strmap_get(s->loinc_map, s->labs[i].loinc[j], &head))
                for (size_t e = head; e != SIZE_MAX; e = s->loinc_links[e].next)
                    if (s->loinc_links[e].lab == i)
                        dup = 1;
            if (dup)
                return mmdx_fail(MMDX_EFORMAT, "%s: labs[%zu].loinc: code '%s' listed twice", p->file, i,
                                 s->labs[i].loinc[j]);
            s->loinc_links[k].lab = i;
            s->loinc_links[k].next = SIZE_MAX;
            size_t existing;
            int rc = mmdx_strmap_put(s->loinc_map, s->labs[i].loinc[j], k, &existing);
            if (rc < 0)
                return mmdx_fail(MMDX_ENOMEM, "out of memory");
            if (rc == 0) { /* append to the chain of labs sharing this code */
                size_t e = existing;
                while (s->loinc_links[e].next != SIZE_MAX)
                    e = s->loinc_links[e].next;
                s->loinc_links[e].next = k;
            }
            k++;
        }
    }
    return 0;
}

static char system_letter(int system)
{
    switch (system) {
    case MMDX_SYS_ICD10: return 'I';
    case MMDX_SYS_SNOMED: return 'S';
    case MMDX_SYS_RXNORM: return 'R';
    case MMDX_SYS_ATC: return 'A';
    default: return 0;
    }
}

static int index_code(mmdx_records_spec *s, uint32_t kind, uint32_t flag, int system, const char *code)
{
    char key[160];
    snprintf(key, sizeof key, "%c|%s", system_letter(system), code);
    if (mmdx_array_reserve(&s->code_links, &s->cap_code_links, s->n_code_links + 1,
                           sizeof *s->code_links, 64, 0) < 0)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    size_t k = s->n_code_links++;
    s->code_links[k].kind = kind;
    s->code_links[k].flag = flag;
    s->code_links[k].next = SIZE_MAX;
    size_t head;
    int rc = mmdx_strmap_put(s->code_map, key, k, &head);
    if (rc < 0)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    if (rc == 0) {
        while (s->code_links[head].next != SIZE_MAX)
            head = s->code_links[head].next;
        s->code_links[head].next = k;
    }
    return 0;
}

static int build_code_index(mmdx_records_spec *s)
{
    if (!(s->code_map = mmdx_strmap_new()))
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (uint32_t kind = 0; kind < 2; kind++) {
        const mmdx_records_flag *flags = kind ? s->medications : s->conditions;
        size_t n = kind ? s->n_medications : s->n_conditions;
        for (uint32_t f = 0; f < n; f++) {
            const mmdx_records_codeset *cs = &flags[f].codes;
            int rc = 0;
            for (size_t i = 0; i < cs->n_icd10 && rc == 0; i++) {
                const char *dash = strchr(cs->icd10[i], '-');
                if (!dash) {
                    rc = index_code(s, kind, f, MMDX_SYS_ICD10, cs->icd10[i]);
                    continue;
                }
                if (mmdx_array_reserve(&s->icd_ranges, &s->cap_icd_ranges, s->n_icd_ranges + 1,
                                       sizeof *s->icd_ranges, 8, 0) < 0)
                    return mmdx_fail(MMDX_ENOMEM, "out of memory");
                size_t len = (size_t)(dash - cs->icd10[i]);
                s->icd_ranges[s->n_icd_ranges].flag = f;
                s->icd_ranges[s->n_icd_ranges].len = len;
                snprintf(s->icd_ranges[s->n_icd_ranges].lo, sizeof s->icd_ranges[0].lo, "%.*s", (int)len,
                         cs->icd10[i]);
                snprintf(s->icd_ranges[s->n_icd_ranges].hi, sizeof s->icd_ranges[0].hi, "%s", dash + 1);
                s->n_icd_ranges++;
            }
            for (size_t i = 0; i < cs->n_snomed && rc == 0; i++)
                rc = index_code(s, kind, f, MMDX_SYS_SNOMED, cs->snomed[i]);
            for (size_t i = 0; i < cs->n_rxnorm && rc == 0; i++)
                rc = index_code(s, kind, f, MMDX_SYS_RXNORM, cs->rxnorm[i]);
            for (size_t i = 0; i < cs->n_atc && rc == 0; i++)
                rc = index_code(s, kind, f, MMDX_SYS_ATC, cs->atc[i]);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static void hit_key(const mmdx_records_spec *s, int kind, const char *key, uint8_t *hits)
{
    size_t e;
    if (!mmdx_strmap_get(s->code_map, key, &e))
        return;
    for (; e != SIZE_MAX; e = s->code_links[e].next)
        if ((int)s->code_links[e].kind == kind)
            hits[s->code_links[e].flag] = 1;
}

void mmdx_records_match_coding(const mmdx_records_spec *s, int kind, int system, const char *code,
                               const char *display, uint8_t *hits)
{
    char key[160];
    char letter = system_letter(system);
    if (code && *code && letter && strlen(code) < 120) {
        if (system == MMDX_SYS_ICD10 || system == MMDX_SYS_ATC) {
            /* prefix codes: look every prefix of the normalised code up */
            char norm[128];
            normalise_code(norm, sizeof norm, code);
            size_t len = strlen(norm);
            key[0] = letter;
            key[1] = '|';
            for (size_t l = 1; l <= len; l++) {
                memcpy(key + 2, norm, l);
                key[2 + l] = '\0';
                hit_key(s, kind, key, hits);
            }
            if (system == MMDX_SYS_ICD10 && kind == 0)
                for (size_t i = 0; i < s->n_icd_ranges; i++) {
                    size_t rl = s->icd_ranges[i].len;
                    if (len >= rl && strncmp(norm, s->icd_ranges[i].lo, rl) >= 0 &&
                        strncmp(norm, s->icd_ranges[i].hi, rl) <= 0)
                        hits[s->icd_ranges[i].flag] = 1;
                }
        } else {
            snprintf(key, sizeof key, "%c|%s", letter, code);
            hit_key(s, kind, key, hits);
        }
    }
    if (display && *display) {
        const mmdx_records_flag *flags = kind ? s->medications : s->conditions;
        size_t n = kind ? s->n_medications : s->n_conditions;
        char lower[512];
        size_t k = 0;
        for (; display[k] && k + 1 < sizeof lower; k++)
            lower[k] = (char)tolower((unsigned char)display[k]);
        lower[k] = '\0';
        for (size_t f = 0; f < n; f++)
            for (size_t i = 0; i < flags[f].codes.n_text && !hits[f]; i++)
                if (strstr(lower, flags[f].codes.text[i]))
                    hits[f] = 1;
    }
}

static int parse_root(parser *p, json_object *root)
{
    static const char *const keys[] = {"mmdx_records_spec", "name", "description", "demographics",
                                       "defaults", "labs", "conditions", "medications", "csv", NULL};
    mmdx_records_spec *s = p->spec;
    int rc;
    json_object *v;
    if (!json_object_is_type(root, json_type_object))
        return mmdx_fail(MMDX_EFORMAT, "%s: the spec must be a JSON object", p->file);
    if ((rc = check_keys(p, "(top level)", root, keys)) < 0)
        return rc;
    if (!json_object_object_get_ex(root, "mmdx_records_spec", &v) || !json_object_is_type(v, json_type_int))
        return mmdx_fail(MMDX_EFORMAT, "%s: missing \"mmdx_records_spec\": 1 (the format version)", p->file);
    if (json_object_get_int(v) != 1)
        return mmdx_fail(MMDX_EUNSUPPORTED, "%s: mmdx_records_spec: version %d is not supported (this build reads 1)",
                         p->file, json_object_get_int(v));
    if (json_object_object_get_ex(root, "name", &v)) {
        if ((rc = get_string(p, "name", v, &s->name)) < 0)
            return rc;
    } else if (!(s->name = strdup("unnamed"))) {
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }

    s->want_age = s->want_sex = 1;
    if (json_object_object_get_ex(root, "demographics", &v)) {
        static const char *const dkeys[] = {"age", "sex", "deceased", NULL};
        if (!json_object_is_type(v, json_type_object))
            return fail_at(p, "demographics", "expected an object");
        if ((rc = check_keys(p, "demographics", v, dkeys)) < 0)
            return rc;
        json_object *b;
        if (json_object_object_get_ex(v, "age", &b) && (rc = get_bool(p, "demographics.age", b, &s->want_age)) < 0)
            return rc;
        if (json_object_object_get_ex(v, "sex", &b) && (rc = get_bool(p, "demographics.sex", b, &s->want_sex)) < 0)
            return rc;
        if (json_object_object_get_ex(v, "deceased", &b) &&
            (rc = get_bool(p, "demographics.deceased", b, &s->want_deceased)) < 0)
            return rc;
    }
    if (s->want_age && (rc = add_feature(p, &s->f_age, "age")) < 0)
        return rc;
    if (s->want_sex && ((rc = add_feature(p, &s->f_female, "sex.female")) < 0 ||
                        (rc = add_feature(p, &s->f_male, "sex.male")) < 0))
        return rc;
    if (s->want_deceased && (rc = add_feature(p, &s->f_deceased, "deceased")) < 0)
        return rc;

    lab_defaults ld = {730, (1u << MMDX_AGG_LATEST) | (1u << MMDX_AGG_MEAN) | (1u << MMDX_AGG_COUNT)};
    int64_t cond_window = 0, med_window = 365;
    if (json_object_object_get_ex(root, "defaults", &v)) {
        static const char *const dkeys[] = {"lab_window_days", "lab_aggregations", "condition_window_days",
                                            "medication_window_days", NULL};
        if (!json_object_is_type(v, json_type_object))
            return fail_at(p, "defaults", "expected an object");
        if ((rc = check_keys(p, "defaults", v, dkeys)) < 0)
            return rc;
        json_object *b;
        if (json_object_object_get_ex(v, "lab_window_days", &b) &&
            (rc = get_days(p, "defaults.lab_window_days", b, &ld.window_days)) < 0)
            return rc;
        if (json_object_object_get_ex(v, "lab_aggregations", &b) &&
            (rc = get_aggs(p, "defaults.lab_aggregations", b, &ld.aggs)) < 0)
            return rc;
        if (json_object_object_get_ex(v, "condition_window_days", &b) &&
            (rc = get_days(p, "defaults.condition_window_days", b, &cond_window)) < 0)
            return rc;
        if (json_object_object_get_ex(v, "medication_window_days", &b) &&
            (rc = get_days(p, "defaults.medication_window_days", b, &med_window)) < 0)
            return rc;
    }

    struct {
        const char *key;
        int kind;
    } sections[] = {{"labs", 0}, {"conditions", 1}, {"medications", 2}};
    for (size_t k = 0; k < 3; k++) {
        if (!json_object_object_get_ex(root, sections[k].key, &v))
            continue;
        if (!json_object_is_type(v, json_type_array))
            return fail_at(p, sections[k].key, "expected an array");
        size_t n = json_object_array_length(v);
        if (sections[k].kind == 0) {
            s->labs = calloc(n ? n : 1, sizeof *s->labs);
            if (!s->labs)
                return mmdx_fail(MMDX_ENOMEM, "out of memory");
        } else {
            mmdx_records_flag **dst = sections[k].kind == 1 ? &s->conditions : &s->medications;
            *dst = calloc(n ? n : 1, sizeof **dst);
            if (!*dst)
                return mmdx_fail(MMDX_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            char sub[64];
            snprintf(sub, sizeof sub, "%s[%zu]", sections[k].key, i);
            json_object *e = json_object_array_get_idx(v, i);
            if (sections[k].kind == 0) {
                s->n_labs++;
                rc = parse_lab(p, sub, e, &ld, &s->labs[i]);
            } else if (sections[k].kind == 1) {
                s->n_conditions++;
                rc = parse_flag(p, sub, e, &s->conditions[i], 0, cond_window);
            } else {
                s->n_medications++;
                rc = parse_flag(p, sub, e, &s->medications[i], 1, med_window);
            }
            if (rc < 0)
                return rc;
        }
    }
    if (s->n_features == 0)
        return mmdx_fail(MMDX_EFORMAT, "%s: the spec defines no features", p->file);
    if ((rc = build_loinc_index(p)) < 0 || (rc = build_code_index(s)) < 0)
        return rc;

    if (!(s->csv_id_column = strdup("patient_id")))
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    s->csv_delimiter = ',';
    if (json_object_object_get_ex(root, "csv", &v) && (rc = parse_csv(p, v)) < 0)
        return rc;
    return 0;
}

int mmdx_records_spec_parse(mmdx_records_spec **out, const char *json, size_t len, const char *name)
{
    *out = NULL;
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *root = json_tokener_parse_ex(tok, json, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    if (jerr == json_tokener_success) {
        while (end < len && isspace((unsigned char)json[end]))
            end++;
        if (end < len)
            jerr = json_tokener_error_parse_unexpected;
    } else if (jerr == json_tokener_continue) {
        end = len;
    }
    json_tokener_free(tok);
    if (jerr != json_tokener_success) {
        long line, col;
        mmdx_records_line_col(json, end, &line, &col);
        json_object_put(root);
        return mmdx_fail(MMDX_EFORMAT, "%s: line %ld, column %ld: invalid JSON (%s)", name, line, col,
                         jerr == json_tokener_continue ? "unexpected end of input"
                         : end < len && jerr == json_tokener_error_parse_unexpected && root
                             ? "text after the JSON value"
                             : json_tokener_error_desc(jerr));
    }
    mmdx_records_spec *s = calloc(1, sizeof *s);
    if (!s) {
        json_object_put(root);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    parser p = {name, s, 0};
    int rc = parse_root(&p, root);
    json_object_put(root);
    if (rc < 0) {
        mmdx_records_spec_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int mmdx_records_spec_load(mmdx_records_spec **out, const char *path)
{
    char *text;
    size_t len;
    *out = NULL;
    int rc = mmdx_records_read_file(&text, &len, path);
    if (rc < 0)
        return rc;
    rc = mmdx_records_spec_parse(out, text, len, path);
    free(text);
    return rc;
}

int mmdx_records_spec_default(mmdx_records_spec **out)
{
    const char *t = mmdx_records_spec_default_text();
    return mmdx_records_spec_parse(out, t, strlen(t), "(built-in default spec)");
}

static void free_codeset(mmdx_records_codeset *c)
{
    free_list(c->icd10, c->n_icd10);
    free_list(c->snomed, c->n_snomed);
    free_list(c->rxnorm, c->n_rxnorm);
    free_list(c->atc, c->n_atc);
    free_list(c->text, c->n_text);
}

void mmdx_records_spec_free(mmdx_records_spec *s)
{
    if (!s)
        return;
    free(s->name);
    for (size_t i = 0; i < s->n_labs; i++) {
        free(s->labs[i].name);
        free_list(s->labs[i].loinc, s->labs[i].n_loinc);
        free(s->labs[i].unit);
    }
    free(s->labs);
    for (size_t i = 0; i < s->n_conditions; i++) {
        free(s->conditions[i].name);
        free_codeset(&s->conditions[i].codes);
    }
    free(s->conditions);
    for (size_t i = 0; i < s->n_medications; i++) {
        free(s->medications[i].name);
        free_codeset(&s->medications[i].codes);
    }
    free(s->medications);
    free_list(s->features, s->n_features);
    mmdx_strmap_free(s->loinc_map);
    free(s->loinc_links);
    mmdx_strmap_free(s->code_map);
    free(s->code_links);
    free(s->icd_ranges);
    free(s->csv_id_column);
    for (size_t i = 0; i < s->n_csv_columns; i++) {
        mmdx_records_csv_column *c = &s->csv_columns[i];
        free(c->column);
        free(c->unit);
        free_list(c->value_keys, c->n_values);
        free_list(c->value_texts, c->n_values);
        free(c->value_numbers);
    }
    free(s->csv_columns);
    free(s);
}
