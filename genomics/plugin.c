/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "genomics" encoder plugin: polygenic scores, pathogenic-variant panel
 * counts and sample QC from a VCF/BCF (manifest column `vcf`, sample from
 * `vcf_sample`). prepare() reads each distinct file once for all the
 * cohort's samples and keeps the results for encode(); it also computes the
 * cohort mean and standard deviation used to standardise the scores (unless
 * the configuration gives a reference mean/sd). Configuration keys: see
 * docs/genomics.md.
 */
#include <ctype.h>
#include <errno.h>
#include <htslib/hts_log.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "config_values.h"
#include "mmdx/plugin.h"
#include "panel.h"
#include "prs.h"
#include "scan.h"
#include "scorefile.h"

#define MAX_TERMS 32

typedef struct cached_file {
    char *path;
    mmdx_scan_result *res;  /* NULL when the scan failed */
    int code;
    char *message;
} cached_file;

typedef struct genomics_state {
    mmdx_scan_settings settings;
    mmdx_scorefile **scores;
    size_t n_scores, cap_scores;
    mmdx_panel **panels;
    size_t n_panels, cap_panels;
    char *clnsig_field;
    char *terms_text;
    const char *terms[MAX_TERMS];
    double *ref_mean, *ref_sd; /* per score, NaN when not configured */
    double *mean, *sd;         /* per score, used for standardising */
    char **names;
    size_t n_features;
    cached_file *cache;
    size_t n_cache;
} genomics_state;

static void state_free(genomics_state *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n_scores; i++)
        mmdx_scorefile_free(st->scores[i]);
    free(st->scores);
    for (size_t i = 0; i < st->n_panels; i++)
        mmdx_panel_free(st->panels[i]);
    free(st->panels);
    for (size_t i = 0; i < st->n_cache; i++) {
        free(st->cache[i].path);
        free(st->cache[i].message);
        mmdx_scan_result_free(st->cache[i].res);
    }
    free(st->cache);
    for (size_t i = 0; st->names && i < st->n_features; i++)
        free(st->names[i]);
    free(st->names);
    free(st->clnsig_field);
    free(st->terms_text);
    free(st->ref_mean);
    free(st->ref_sd);
    free(st->mean);
    free(st->sd);
    free(st);
}

static void g_close(void *state) { state_free(state); }

static char *resolve(const mmdx_plugin_config *c, const char *v)
{
    if (v[0] == '/' || !c->base_dir || !*c->base_dir)
        return strdup(v);
    size_t n = strlen(c->base_dir) + strlen(v) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", c->base_dir, v);
    return p;
}


/* Split "a b c" into up to max whitespace-separated words (in place). */
static size_t words(char *s, char **w, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(s, " \t", &save); t && n < max; t = strtok_r(NULL, " \t", &save))
        w[n++] = t;
    return n;
}

static char *feature_token(const char *name)
{
    char *t = strdup(name);
    if (!t)
        return NULL;
    for (char *c = t; *c; c++) {
        *c = (char)tolower((unsigned char)*c);
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.'))
            *c = '_';
    }
    return t;
}

static mmdx_panel *find_panel(genomics_state *st, const char *name)
{
    for (size_t i = 0; i < st->n_panels; i++)
        if (strcasecmp(mmdx_panel_name(st->panels[i]), name) == 0)
            return st->panels[i];
    return NULL;
}

static int add_panel(genomics_state *st, const char *name, mmdx_panel **out, mmdx_error *err)
{
    if ((*out = find_panel(st, name)))
        return 0;
    if (mmdx_array_reserve(&st->panels, &st->cap_panels, st->n_panels + 1, sizeof *st->panels, 4, 0) < 0)
        return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    int rc = mmdx_panel_new(out, name, err);
    if (rc < 0)
        return rc;
    st->panels[st->n_panels++] = *out;
    return 0;
}

static int build_features(genomics_state *st, mmdx_error *err)
{
    size_t n = st->n_scores * 2 + st->n_panels * 2 + (st->settings.qc ? 4 : 0);
    st->names = calloc(n ? n : 1, sizeof *st->names);
    if (!st->names)
        return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    size_t k = 0;
    char buf[512];
    for (size_t i = 0; i < st->n_scores; i++) {
        char *tok = feature_token(st->scores[i]->name);
        if (!tok)
            return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(st->scores[j]->name, st->scores[i]->name) == 0) {
                int rc = mmdx_error_set(err, MMDX_EINVAL,
                                        "[genomics] two scoring files are both named '%s' (%s and %s)",
                                        st->scores[i]->name, st->scores[j]->path, st->scores[i]->path);
                free(tok);
                return rc;
            }
        snprintf(buf, sizeof buf, "prs.%s", tok);
        st->names[k++] = strdup(buf);
        snprintf(buf, sizeof buf, "prs.%s.raw", tok);
        st->names[k++] = strdup(buf);
        free(tok);
    }
    for (size_t i = 0; i < st->n_panels; i++) {
        snprintf(buf, sizeof buf, "panel.%s.het", mmdx_panel_name(st->panels[i]));
        st->names[k++] = strdup(buf);
        snprintf(buf, sizeof buf, "panel.%s.hom", mmdx_panel_name(st->panels[i]));
        st->names[k++] = strdup(buf);
    }
    if (st->settings.qc) {
        static const char *const qc[] = {"qc.call_rate", "qc.het_ratio", "qc.titv", "qc.n_nonref"};
        for (size_t i = 0; i < 4; i++)
            st->names[k++] = strdup(qc[i]);
    }
    st->n_features = k;
    for (size_t i = 0; i < k; i++)
        if (!st->names[i])
            return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    return 0;
}

static int g_open(void **state, const mmdx_plugin_config *c, mmdx_error *err)
{
    *state = NULL;
    hts_set_log_level(HTS_LOG_OFF); /* a plugin never prints; errors come back in err */
    genomics_state *st = calloc(1, sizeof *st);
    if (!st)
        return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    mmdx_scan_settings *s = &st->settings;
    mmdx_prs_options_init(&s->prs);
    s->qc = 1;
    s->pass_only = 1;
    s->n_threads = c->n_threads > 0 ? c->n_threads : 1;
    st->clnsig_field = strdup("CLNSIG");
    st->terms_text = strdup("Pathogenic,Likely_pathogenic,5,4");
    int rc = (!st->clnsig_field || !st->terms_text) ? mmdx_error_set(err, MMDX_ENOMEM, "out of memory") : 0;
    /* reference mean/sd lines are applied after every score is read */
    const mmdx_config_entry **refs = calloc(c->n_entries ? c->n_entries : 1, sizeof *refs);
    size_t n_refs = 0;
    if (!refs)
        rc = mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < c->n_entries; i++) {
        const mmdx_config_entry *e = &c->entries[i];
        double x;
        if (!strcmp(e->key, "score")) {
            char *p = resolve(c, e->value);
            mmdx_scorefile *sf = NULL;
            if (!p || mmdx_array_reserve(&st->scores, &st->cap_scores, st->n_scores + 1,
                                         sizeof *st->scores, 4, 0) < 0) {
                free(p);
                rc = mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
                break;
            }
            rc = mmdx_scorefile_read(&sf, p, err);
            free(p);
            if (rc < 0) {
                char msg[MMDX_ERROR_MESSAGE_MAX];
                snprintf(msg, sizeof msg, "%s", err->message);
                rc = mmdx_error_set(err, rc, "%s:%d: score: %s", e->file, (int)e->line, msg);
                break;
            }
            st->scores[st->n_scores++] = sf;
        } else if (!strcmp(e->key, "score_reference")) {
            refs[n_refs++] = e;
        } else if ((rc = mmdx_prs_options_set(&s->prs, e, err)) != 0) {
            rc = rc < 0 ? rc : 0; /* the matching and scoring options of genomics/prs.h */
        } else if (!strcmp(e->key, "panel") || !strcmp(e->key, "panel_region")) {
            char *copy = strdup(e->value);
            char *w[4];
            size_t nw = copy ? words(copy, w, 4) : 0;
            int is_bed = !strcmp(e->key, "panel");
            mmdx_panel *p = NULL;
            if (!copy) {
                rc = mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
            } else if ((is_bed && nw != 2) || (!is_bed && nw != 3)) {
                rc = mmdx_error_set(err, MMDX_EINVAL,
                                    is_bed ? "%s:%d: panel = '%s': expected '<name> <file.bed>'"
                                           : "%s:%d: panel_region = '%s': expected '<name> <gene> <chr:begin-end>'",
                                    e->file, (int)e->line, e->value);
            } else if ((rc = add_panel(st, w[0], &p, err)) == 0) {
                if (is_bed) {
                    char *path = resolve(c, w[1]);
                    rc = path ? mmdx_panel_add_bed(p, path, err) : mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
                    free(path);
                } else {
                    rc = mmdx_panel_add_region(p, w[1], w[2], err);
                }
            }
            if (rc < 0 && copy) {
                char msg[MMDX_ERROR_MESSAGE_MAX];
                snprintf(msg, sizeof msg, "%s", err->message);
                if (strncmp(msg, e->file, strlen(e->file)) != 0)
                    mmdx_error_set(err, rc, "%s:%d: %s: %s", e->file, (int)e->line, e->key, msg);
            }
            free(copy);
        } else if (!strcmp(e->key, "clnsig_field")) {
            free(st->clnsig_field);
            if (!(st->clnsig_field = strdup(e->value)))
                rc = mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
        } else if (!strcmp(e->key, "pathogenic_terms")) {
            free(st->terms_text);
            if (!(st->terms_text = strdup(e->value)))
                rc = mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
        } else if (!strcmp(e->key, "qc")) {
            rc = mmdx_genomics_cfg_bool(e, &s->qc, err);
        } else if (!strcmp(e->key, "pass_only")) {
            rc = mmdx_genomics_cfg_bool(e, &s->pass_only, err);
        } else if (!strcmp(e->key, "min_gq") || !strcmp(e->key, "min_dp")) {
            if ((rc = mmdx_genomics_cfg_num(e, e->value, 0, 100000, &x, err)) == 0) {
                if (!strcmp(e->key, "min_gq"))
                    s->min_gq = (int)x;
                else
                    s->min_dp = (int)x;
            }
        } else {
            rc = mmdx_error_set(err, MMDX_EINVAL,
                                "%s:%d: unknown key '%s' in [genomics] (known: score, score_reference, "
                                "keep_ambiguous, mean_impute, exact_dosage, min_overlap, dosage, "
                                "no_multiallelic, exclude_duplicates, require_positions, pgsc_defaults, "
                                "panel, panel_region, clnsig_field, pathogenic_terms, qc, pass_only, min_gq, min_dp)",
                                e->file, (int)e->line, e->key);
        }
    }
    if (rc == 0) {
        st->ref_mean = malloc((st->n_scores ? st->n_scores : 1) * sizeof *st->ref_mean);
        st->ref_sd = malloc((st->n_scores ? st->n_scores : 1) * sizeof *st->ref_sd);
        st->mean = malloc((st->n_scores ? st->n_scores : 1) * sizeof *st->mean);
        st->sd = malloc((st->n_scores ? st->n_scores : 1) * sizeof *st->sd);
        if (!st->ref_mean || !st->ref_sd || !st->mean || !st->sd)
            rc = mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
        for (size_t i = 0; rc == 0 && i < st->n_scores; i++)
            st->ref_mean[i] = st->ref_sd[i] = st->mean[i] = st->sd[i] = NAN;
    }
    for (size_t r = 0; rc == 0 && r < n_refs; r++) {
        const mmdx_config_entry *e = refs[r];
        char *copy = strdup(e->value);
        char *w[4];
        size_t nw = copy ? words(copy, w, 4) : 0;
        double mean, sd;
        size_t k = st->n_scores;
        if (nw != 3) {
            rc = mmdx_error_set(err, MMDX_EINVAL,
                                "%s:%d: score_reference = '%s': expected '<score name> <mean> <sd>'",
                                e->file, (int)e->line, e->value);
        } else {
            for (k = 0; k < st->n_scores; k++)
                if (!strcasecmp(st->scores[k]->name, w[0]))
                    break;
            if (k == st->n_scores)
                rc = mmdx_error_set(err, MMDX_EINVAL,
                                    "%s:%d: score_reference names '%s', which no score line defines",
                                    e->file, (int)e->line, w[0]);
            else if ((rc = mmdx_genomics_cfg_num(e, w[1], -1e300, 1e300, &mean, err)) == 0 &&
                     (rc = mmdx_genomics_cfg_num(e, w[2], 1e-300, 1e300, &sd, err)) == 0) {
                st->ref_mean[k] = mean;
                st->ref_sd[k] = sd;
            }
        }
        free(copy);
    }
    free(refs);
    if (rc == 0) {
        /* pathogenic terms: comma-separated */
        size_t n = 0;
        for (char *save = NULL, *t = strtok_r(st->terms_text, ",", &save); t && n < MAX_TERMS;
             t = strtok_r(NULL, ",", &save)) {
            while (*t == ' ')
                t++;
            if (*t)
                st->terms[n++] = t;
        }
        s->terms = st->terms;
        s->n_terms = n;
        s->clnsig_field = st->clnsig_field;
        s->scores = (const mmdx_scorefile *const *)st->scores;
        s->n_scores = st->n_scores;
        s->panels = (const mmdx_panel *const *)st->panels;
        s->n_panels = st->n_panels;
        for (size_t i = 0; rc == 0 && i < st->n_panels; i++)
            rc = mmdx_panel_finalize(st->panels[i], err);
    }
    if (rc == 0 && st->n_scores == 0 && st->n_panels == 0 && !s->qc)
        rc = mmdx_error_set(err, MMDX_EINVAL,
                            "[genomics] computes nothing: no score, no panel and qc = false");
    if (rc == 0)
        rc = build_features(st, err);
    if (rc < 0) {
        state_free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static int g_features(void *state, size_t *n, const char *const **names, mmdx_error *err)
{
    genomics_state *st = state;
    (void)err;
    *n = st->n_features;
    *names = (const char *const *)st->names;
    return 0;
}

static const cached_file *find_cached(const genomics_state *st, const char *path)
{
    for (size_t i = 0; i < st->n_cache; i++)
        if (strcmp(st->cache[i].path, path) == 0)
            return &st->cache[i];
    return NULL;
}

static int pick_sample(const mmdx_scan_result *res, const mmdx_encoder_input *in, long *idx,
                       mmdx_error *err)
{
    if (!in->sample) {
        if (res->n_samples == 1) {
            *idx = 0;
            return 0;
        }
        return mmdx_error_set(err, MMDX_EINVAL,
                              "%s: %zu samples in the file; say which one is the patient's (manifest "
                              "column vcf_sample, or --sample)",
                              in->path, res->n_samples);
    }
    *idx = mmdx_scan_result_sample(res, in->sample);
    if (*idx < 0) {
        if (in->origin)
            return mmdx_error_set(err, MMDX_ENOTFOUND, "%s: sample '%s' is not in the file (named at %s)",
                                  in->path, in->sample, in->origin);
        return mmdx_error_set(err, MMDX_ENOTFOUND, "%s: sample '%s' is not in the file", in->path,
                              in->sample);
    }
    return 0;
}

static int g_prepare(void *state, const mmdx_encoder_input *const *inputs, size_t n_inputs,
                     mmdx_error *err)
{
    genomics_state *st = state;
    (void)err;
    for (size_t i = 0; i < st->n_cache; i++) {
        free(st->cache[i].path);
        free(st->cache[i].message);
        mmdx_scan_result_free(st->cache[i].res);
    }
    free(st->cache);
    st->cache = NULL;
    st->n_cache = 0;
    if (n_inputs == 0)
        return 0;
    st->cache = calloc(n_inputs, sizeof *st->cache);
    if (!st->cache)
        return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
    for (size_t i = 0; i < n_inputs; i++) {
        if (find_cached(st, inputs[i]->path))
            continue;
        cached_file *cf = &st->cache[st->n_cache];
        if (!(cf->path = strdup(inputs[i]->path)))
            return mmdx_error_set(err, MMDX_ENOMEM, "out of memory");
        st->n_cache++;
    }
    /* One pass per distinct file. Several files (one VCF per patient) are read
       in parallel, one thread each; a single cohort file gets every thread for
       BGZF decompression. */
    mmdx_scan_settings one = st->settings;
    one.n_threads = 1;
    const mmdx_scan_settings *use = st->n_cache > 1 ? &one : &st->settings;
    long n_files = (long)st->n_cache;
#pragma omp parallel for schedule(dynamic) num_threads(st->settings.n_threads) if (n_files > 1)
    for (long i = 0; i < n_files; i++) {
        cached_file *cf = &st->cache[i];
        mmdx_error e = {0};
        cf->code = mmdx_scan_file(&cf->res, cf->path, use, &e);
        if (cf->code < 0)
            cf->message = strdup(e.message); /* NULL on ENOMEM: encode() words a generic message */
    }
    /* Cohort standardisation: mean and sd of the raw scores of the cohort's patients. */
    for (size_t k = 0; k < st->n_scores; k++) {
        double sum = 0, sum2 = 0;
        size_t cnt = 0;
        for (size_t i = 0; i < n_inputs; i++) {
            const cached_file *cf = find_cached(st, inputs[i]->path);
            long idx;
            mmdx_error e = {0};
            if (!cf || !cf->res || pick_sample(cf->res, inputs[i], &idx, &e) < 0)
                continue;
            double x = cf->res->prs_sum[k * cf->res->n_samples + (size_t)idx];
            sum += x;
            sum2 += x * x;
            cnt++;
        }
        st->mean[k] = st->sd[k] = NAN;
        if (cnt >= 2) {
            double m = sum / (double)cnt;
            double var = (sum2 - (double)cnt * m * m) / (double)(cnt - 1);
            st->mean[k] = m;
            st->sd[k] = var > 0 ? sqrt(var) : NAN;
        }
    }
    return 0;
}

static int fill(const genomics_state *st, const mmdx_scan_result *res, long idx, double *values)
{
    size_t k = 0, n = res->n_samples, i = (size_t)idx;
    for (size_t s = 0; s < st->n_scores; s++) {
        double raw = res->prs_sum[s * n + i];
        double mean = isnan(st->ref_mean[s]) ? st->mean[s] : st->ref_mean[s];
        double sd = isnan(st->ref_sd[s]) ? st->sd[s] : st->ref_sd[s];
        values[k++] = (isnan(mean) || isnan(sd) || sd <= 0) ? NAN : (raw - mean) / sd;
        values[k++] = raw;
    }
    for (size_t p = 0; p < st->n_panels; p++) {
        values[k++] = res->panel_het[p * n + i];
        values[k++] = res->panel_hom[p * n + i];
    }
    if (st->settings.qc) {
        values[k++] = res->call_rate[i];
        values[k++] = res->het_ratio[i];
        values[k++] = res->titv[i];
        values[k++] = res->n_nonref[i];
    }
    return 0;
}

static int g_encode(void *state, const mmdx_encoder_input *in, double *values, int32_t *present,
                    mmdx_error *err)
{
    const genomics_state *st = state;
    *present = 0;
    const cached_file *cf = find_cached(st, in->path);
    mmdx_scan_result *own = NULL;
    const mmdx_scan_result *res;
    if (cf) {
        if (!cf->res)
            return mmdx_error_set(err, cf->code, "%s", cf->message ? cf->message : "scan failed");
        res = cf->res;
    } else {
        /* not prepared (a host without prepare()): scan for this patient alone */
        int rc = mmdx_scan_file(&own, in->path, &st->settings, err);
        if (rc < 0)
            return rc;
        res = own;
    }
    long idx;
    int rc = pick_sample(res, in, &idx, err);
    if (rc == 0) {
        fill(st, res, idx, values);
        *present = 1;
    }
    mmdx_scan_result_free(own);
    return rc;
}

static const mmdx_encoder_vtable vtable = {
    sizeof(mmdx_encoder_vtable), 0, g_open, g_features, g_prepare, g_encode, g_close,
};

static const mmdx_plugin_info info = {
    MMDX_ABI_VERSION,
    sizeof(mmdx_plugin_info),
    MMDX_PLUGIN_ENCODER,
    0,
    "genomics",
    "0.1.0",
    "genomics",
    "vcf",
    "VCF/BCF via htslib: polygenic scores (PLINK 2-equal), pathogenic-variant panels, sample QC",
    &vtable,
    NULL,
};

MMDX_PLUGIN_DECLARE(info)
