/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "selector.h"

#include <json-c/json.h>
#include <limits.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

typedef struct pattern {
    char *keyword;
    regex_t re;
} pattern;

typedef struct rule {
    char *name;
    pattern *match;
    size_t n_match;
    pattern *exclude;
    size_t n_exclude;
    size_t min_slices, max_slices;
} rule;

struct mmdx_series_rules {
    rule *rules;
    size_t n;
};

static void free_patterns(pattern *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].keyword);
        regfree(&p[i].re);
    }
    free(p);
}

void mmdx_series_rules_free(mmdx_series_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->rules[i].name);
        free_patterns(r->rules[i].match, r->rules[i].n_match);
        free_patterns(r->rules[i].exclude, r->rules[i].n_exclude);
    }
    free(r->rules);
    free(r);
}

/* DICOM keywords are letters and digits, starting with a capital letter. */
static int valid_keyword(const char *k)
{
    if (!(*k >= 'A' && *k <= 'Z'))
        return 0;
    for (; *k; k++)
        if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9')))
            return 0;
    return 1;
}

/*
 * glibc's regcomp expands stacked quantifiers ("a++++") exponentially, and
 * POSIX leaves their meaning undefined: refuse them, and overlong patterns.
 */
static const char *pattern_problem(const char *re)
{
    if (strlen(re) > 512)
        return "longer than 512 characters";
    int prev_quant = 0;
    const char *bracket = NULL; /* first character inside the open bracket expression */
    for (const char *c = re; *c; c++) {
        if (bracket) {
            /* a ']' right after "[" or "[^" is literal */
            if (*c == ']' && c != bracket)
                bracket = NULL;
            prev_quant = 0;
            continue;
        }
        if (*c == '\\' && c[1]) {
            c++;
            prev_quant = 0;
            continue;
        }
        if (*c == '[') {
            bracket = c[1] == '^' ? c + 2 : c + 1;
            if (*bracket == '\0')
                break;
            prev_quant = 0;
            continue;
        }
        int quant = *c == '*' || *c == '+' || *c == '?' || *c == '{';
        if (quant && prev_quant)
            return "a quantifier follows another quantifier";
        if (*c == '{') {
            const char *end = strchr(c, '}');
            if (end)
                c = end;
        }
        prev_quant = quant;
    }
    return NULL;
}

static int compile_patterns(json_object *obj, const char *path, int icase, pattern **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!json_object_is_type(obj, json_type_object))
        return mmdx_fail(MMDX_EINVAL, "%s: expected an object of DICOM keyword -> regular expression", path);
    size_t count = (size_t)json_object_object_length(obj);
    pattern *p = calloc(count ? count : 1, sizeof *p);
    if (!p)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    size_t k = 0;
    json_object_object_foreach(obj, key, val)
    {
        if (!valid_keyword(key)) {
            free_patterns(p, k);
            return mmdx_fail(MMDX_EINVAL, "%s.%s: not a DICOM keyword (e.g. Modality, ImageType)", path, key);
        }
        if (!json_object_is_type(val, json_type_string)) {
            free_patterns(p, k);
            return mmdx_fail(MMDX_EINVAL, "%s.%s: expected a regular expression (string)", path, key);
        }
        const char *re = json_object_get_string(val);
        const char *problem = pattern_problem(re);
        if (problem) {
            free_patterns(p, k);
            return mmdx_fail(MMDX_EINVAL, "%s.%s: invalid regular expression \"%.80s\": %s", path, key, re, problem);
        }
        int rc = regcomp(&p[k].re, re, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
        if (rc != 0) {
            char msg[256];
            regerror(rc, &p[k].re, msg, sizeof msg);
            free_patterns(p, k);
            return mmdx_fail(MMDX_EINVAL, "%s.%s: invalid regular expression \"%s\": %s", path, key, re, msg);
        }
        if (!(p[k].keyword = strdup(key))) {
            regfree(&p[k].re);
            free_patterns(p, k);
            return mmdx_fail(MMDX_ENOMEM, "out of memory");
        }
        k++;
    }
    *out = p;
    *n = k;
    return 0;
}

static int get_count(json_object *v, const char *path, const char *key, size_t *out)
{
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
        json_object_get_int64(v) > INT_MAX)
        return mmdx_fail(MMDX_EINVAL, "%s.%s: expected a whole number >= 0", path, key);
    *out = (size_t)json_object_get_int64(v);
    return 0;
}

static int compile_rule(rule *r, json_object *obj, const char *path, size_t index)
{
    memset(r, 0, sizeof *r);
    r->max_slices = (size_t)-1;
    if (!json_object_is_type(obj, json_type_object))
        return mmdx_fail(MMDX_EINVAL, "%s: expected a rule object", path);
    json_object *attrs = NULL, *excl = NULL, *v;
    int icase = 0;
    json_object_object_foreach(obj, key, val)
    {
        if (strcmp(key, "Name") == 0) {
            if (!json_object_is_type(val, json_type_string))
                return mmdx_fail(MMDX_EINVAL, "%s.Name: expected a string", path);
        } else if (strcmp(key, "Attributes") == 0) {
            attrs = val;
        } else if (strcmp(key, "Exclude") == 0) {
            excl = val;
        } else if (strcmp(key, "IgnoreCase") == 0) {
            if (!json_object_is_type(val, json_type_boolean))
                return mmdx_fail(MMDX_EINVAL, "%s.IgnoreCase: expected true or false", path);
            icase = json_object_get_boolean(val);
        } else if (strcmp(key, "MinSlices") == 0) {
            if (get_count(val, path, key, &r->min_slices) < 0)
                return mmdx_last_error_code();
        } else if (strcmp(key, "MaxSlices") == 0) {
            if (get_count(val, path, key, &r->max_slices) < 0)
                return mmdx_last_error_code();
        } else {
            return mmdx_fail(MMDX_EINVAL,
                             "%s.%s: unknown key (known: Name, Attributes, Exclude, IgnoreCase, MinSlices, "
                             "MaxSlices)",
                             path, key);
        }
    }
    if (r->min_slices > r->max_slices)
        return mmdx_fail(MMDX_EINVAL, "%s: MinSlices %zu is larger than MaxSlices %zu", path, r->min_slices,
                         r->max_slices);
    if (!attrs)
        return mmdx_fail(MMDX_EINVAL, "%s: missing \"Attributes\" (e.g. {\"Modality\": \"^CT$\"})", path);
    char sub[512];
    snprintf(sub, sizeof sub, "%s.Attributes", path);
    if (compile_patterns(attrs, sub, icase, &r->match, &r->n_match) < 0)
        return mmdx_last_error_code();
    if (excl) {
        snprintf(sub, sizeof sub, "%s.Exclude", path);
        if (compile_patterns(excl, sub, icase, &r->exclude, &r->n_exclude) < 0)
            return mmdx_last_error_code();
    }
    char fallback[32];
    snprintf(fallback, sizeof fallback, "rule %zu", index + 1);
    const char *name = json_object_object_get_ex(obj, "Name", &v) ? json_object_get_string(v) : fallback;
    if (!(r->name = strdup(name)))
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    return 0;
}

static const char default_rules[] = "[{\"Name\": \"default\", \"Attributes\": {\"Modality\": \"^(CT|MR|PT)$\"}}]";

int mmdx_series_rules_compile(mmdx_series_rules **out, const char *json, const char *where)
{
    *out = NULL;
    if (!where)
        where = "SeriesSelection";
    if (!json || !*json)
        json = default_rules;
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    json_object *root = json_tokener_parse_ex(tok, json, (int)strlen(json));
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success) {
        json_object_put(root);
        return mmdx_fail(MMDX_EFORMAT, "%s: invalid JSON: %s", where, json_tokener_error_desc(jerr));
    }
    if (!json_object_is_type(root, json_type_array)) {
        json_object_put(root);
        return mmdx_fail(MMDX_EINVAL, "%s: expected an array of rules", where);
    }
    mmdx_series_rules *r = calloc(1, sizeof *r);
    size_t n = json_object_array_length(root);
    if (!r || !(r->rules = calloc(n ? n : 1, sizeof *r->rules))) {
        free(r);
        json_object_put(root);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    if (n == 0) {
        json_object_put(root);
        mmdx_series_rules_free(r);
        return mmdx_fail(MMDX_EINVAL, "%s: no rules (leave it out to use the default rule)", where);
    }
    for (size_t i = 0; i < n; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s[%zu]", where, i);
        int rc = compile_rule(&r->rules[i], json_object_array_get_idx(root, i), path, i);
        r->n = i + 1; /* the failed rule holds partial state: free it too */
        if (rc < 0) {
            json_object_put(root);
            mmdx_series_rules_free(r);
            return rc;
        }
    }
    json_object_put(root);
    *out = r;
    return 0;
}

size_t mmdx_series_rules_count(const mmdx_series_rules *r)
{
    return r ? r->n : 0;
}

const char *mmdx_series_rules_name(const mmdx_series_rules *r, size_t i)
{
    return r && i < r->n ? r->rules[i].name : "";
}

static const char *attribute(const mmdx_series_candidate *c, const char *keyword)
{
    for (size_t i = 0; i < c->n_attributes; i++)
        if (c->keywords[i] && strcmp(c->keywords[i], keyword) == 0)
            return c->values[i];
    return NULL;
}

int mmdx_series_rule_matches(const mmdx_series_rules *r, size_t i, const mmdx_series_candidate *c)
{
    if (!r || i >= r->n)
        return 0;
    const rule *ru = &r->rules[i];
    if (c->n_slices < ru->min_slices || c->n_slices > ru->max_slices)
        return 0;
    for (size_t k = 0; k < ru->n_match; k++) {
        const char *v = attribute(c, ru->match[k].keyword);
        if (!v || regexec(&ru->match[k].re, v, 0, NULL, 0) != 0)
            return 0;
    }
    for (size_t k = 0; k < ru->n_exclude; k++) {
        const char *v = attribute(c, ru->exclude[k].keyword);
        if (v && regexec(&ru->exclude[k].re, v, 0, NULL, 0) == 0)
            return 0;
    }
    return 1;
}

static long series_number(const mmdx_series_candidate *c)
{
    const char *v = attribute(c, "SeriesNumber");
    if (!v || !*v)
        return LONG_MAX;
    char *end;
    long n = strtol(v, &end, 10);
    return end == v ? LONG_MAX : n;
}

/* 1 when a is a better pick than b. */
static int better(const mmdx_series_candidate *a, const mmdx_series_candidate *b)
{
    if (a->n_slices != b->n_slices)
        return a->n_slices > b->n_slices;
    long na = series_number(a), nb = series_number(b);
    if (na != nb)
        return na < nb;
    const char *ua = attribute(a, "SeriesInstanceUID"), *ub = attribute(b, "SeriesInstanceUID");
    return strcmp(ua ? ua : "", ub ? ub : "") < 0;
}

long mmdx_series_select(const mmdx_series_rules *r, const mmdx_series_candidate *c, size_t n, size_t *rule_out)
{
    for (size_t i = 0; r && i < r->n; i++) {
        long best = -1;
        for (size_t k = 0; k < n; k++)
            if (mmdx_series_rule_matches(r, i, &c[k]) && (best < 0 || better(&c[k], &c[best])))
                best = (long)k;
        if (best >= 0) {
            if (rule_out)
                *rule_out = i;
            return best;
        }
    }
    return -1;
}
