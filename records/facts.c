/* SPDX-License-Identifier: Apache-2.0 */
#include "facts.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

int mmdx_records_store_init(mmdx_records_store *st, const mmdx_records_spec *spec)
{
    memset(st, 0, sizeof *st);
    st->spec = spec;
    st->by_id = mmdx_strmap_new();
    return st->by_id ? 0 : MMDX_ENOMEM;
}

static void patient_free(mmdx_records_patient *p)
{
    free(p->id);
    for (size_t i = 0; i < p->n_identifiers; i++)
        free(p->identifiers[i]);
    free(p->identifiers);
    free(p->labs);
    free(p->conds);
    free(p->meds);
    free(p->direct);
    free(p->error);
}

void mmdx_records_store_clear(mmdx_records_store *st)
{
    for (size_t i = 0; i < st->n_patients; i++)
        patient_free(&st->patients[i]);
    free(st->patients);
    mmdx_strmap_free(st->by_id);
    mmdx_strmap_free(st->by_identifier);
    memset(st, 0, sizeof *st);
}

mmdx_records_patient *mmdx_records_store_patient(mmdx_records_store *st, const char *id)
{
    size_t idx;
    if (mmdx_strmap_get(st->by_id, id, &idx))
        return &st->patients[idx];
    if (mmdx_array_reserve(&st->patients, &st->cap_patients, st->n_patients + 1,
                           sizeof *st->patients, 16, 0) < 0)
        return NULL;
    mmdx_records_patient *p = &st->patients[st->n_patients];
    memset(p, 0, sizeof *p);
    p->id = strdup(id);
    p->death = MMDX_TIME_NONE;
    if (!p->id)
        return NULL;
    if (mmdx_strmap_put(st->by_id, id, st->n_patients, NULL) < 0) {
        free(p->id);
        return NULL;
    }
    st->n_patients++;
    return p;
}

int mmdx_records_add_lab(mmdx_records_patient *p, uint32_t lab, int64_t t, double v)
{
    if (mmdx_array_reserve(&p->labs, &p->cap_labs, p->n_labs + 1, sizeof *p->labs, 8, 0) < 0)
        return MMDX_ENOMEM;
    p->labs[p->n_labs++] = (mmdx_lab_fact){lab, t, v};
    return 0;
}

int mmdx_records_add_cond(mmdx_records_patient *p, const mmdx_flag_fact *f)
{
    if (mmdx_array_reserve(&p->conds, &p->cap_conds, p->n_conds + 1, sizeof *p->conds, 8, 0) < 0)
        return MMDX_ENOMEM;
    p->conds[p->n_conds++] = *f;
    return 0;
}

int mmdx_records_add_med(mmdx_records_patient *p, const mmdx_flag_fact *f)
{
    if (mmdx_array_reserve(&p->meds, &p->cap_meds, p->n_meds + 1, sizeof *p->meds, 8, 0) < 0)
        return MMDX_ENOMEM;
    p->meds[p->n_meds++] = *f;
    return 0;
}

void mmdx_records_warn(mmdx_records_stats *st, size_t *counter, const char *fmt, ...)
{
    (*counter)++;
    if (st->first_warning[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->first_warning, sizeof st->first_warning, fmt, ap);
    va_end(ap);
}

void mmdx_records_patient_error(mmdx_records_patient *p, const char *fmt, ...)
{
    if (p->error)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    p->error = strdup(buf); /* on ENOMEM the patient simply stays valid */
}

static int append_facts(mmdx_records_patient *d, const mmdx_records_patient *p)
{
    for (size_t i = 0; i < p->n_labs; i++)
        if (mmdx_records_add_lab(d, p->labs[i].lab, p->labs[i].t, p->labs[i].value) < 0)
            return MMDX_ENOMEM;
    for (size_t i = 0; i < p->n_conds; i++)
        if (mmdx_records_add_cond(d, &p->conds[i]) < 0)
            return MMDX_ENOMEM;
    for (size_t i = 0; i < p->n_meds; i++)
        if (mmdx_records_add_med(d, &p->meds[i]) < 0)
            return MMDX_ENOMEM;
    return 0;
}

int mmdx_records_store_merge(mmdx_records_store *dst, const mmdx_records_store *src, size_t **remap)
{
    size_t *map = calloc(src->n_patients ? src->n_patients : 1, sizeof *map);
    if (!map)
        return MMDX_ENOMEM;
    for (size_t i = 0; i < src->n_patients; i++) {
        const mmdx_records_patient *p = &src->patients[i];
        mmdx_records_patient *d = mmdx_records_store_patient(dst, p->id);
        if (!d) {
            free(map);
            return MMDX_ENOMEM;
        }
        map[i] = (size_t)(d - dst->patients);
        if (p->has_resource) { /* a later Patient resource overrides, as when read in sequence */
            d->has_resource = 1;
            d->sex = p->sex;
            if (p->has_birth) {
                d->has_birth = 1;
                d->birth = p->birth;
            }
            if (p->deceased) {
                d->deceased = 1;
                d->death = p->death;
            }
        }
        for (size_t k = 0; k < p->n_identifiers; k++) {
            if (mmdx_array_reserve(&d->identifiers, &d->cap_identifiers, d->n_identifiers + 1,
                                   sizeof *d->identifiers, 4, 0) < 0 ||
                !(d->identifiers[d->n_identifiers] = strdup(p->identifiers[k]))) {
                free(map);
                return MMDX_ENOMEM;
            }
            d->n_identifiers++;
        }
        if (append_facts(d, p) < 0) {
            free(map);
            return MMDX_ENOMEM;
        }
        if (!d->error && p->error && !(d->error = strdup(p->error))) {
            free(map);
            return MMDX_ENOMEM;
        }
        d->n_resources += p->n_resources;
        if (!d->first_origin[0])
            memcpy(d->first_origin, p->first_origin, sizeof d->first_origin);
    }
    mmdx_records_stats *a = &dst->stats;
    const mmdx_records_stats *b = &src->stats;
    a->resources += b->resources;
    a->used += b->used;
    a->skipped_type += b->skipped_type;
    a->ignored_status += b->ignored_status;
    a->unit_unconvertible += b->unit_unconvertible;
    a->out_of_range += b->out_of_range;
    a->no_value += b->no_value;
    a->unresolved_reference += b->unresolved_reference;
    a->no_subject += b->no_subject;
    a->bad_date += b->bad_date;
    a->skipped_files += b->skipped_files;
    a->undated += b->undated;
    if (!a->first_warning[0])
        memcpy(a->first_warning, b->first_warning, sizeof a->first_warning);
    *remap = map;
    return 0;
}

int mmdx_records_store_index_identifiers(mmdx_records_store *st)
{
    mmdx_strmap_free(st->by_identifier);
    if (!(st->by_identifier = mmdx_strmap_new()))
        return MMDX_ENOMEM;
    for (size_t i = 0; i < st->n_patients; i++)
        for (size_t k = 0; k < st->patients[i].n_identifiers; k++)
            if (mmdx_strmap_put(st->by_identifier, st->patients[i].identifiers[k], i, NULL) < 0)
                return MMDX_ENOMEM;
    return 0;
}

const mmdx_records_patient *mmdx_records_store_find(const mmdx_records_store *st, const char *id)
{
    size_t idx;
    if (id && mmdx_strmap_get(st->by_id, id, &idx))
        return st->patients[idx].orphan ? NULL : &st->patients[idx];
    if (id && st->by_identifier && mmdx_strmap_get(st->by_identifier, id, &idx))
        return &st->patients[idx];
    const mmdx_records_patient *only = NULL;
    for (size_t i = 0; i < st->n_patients; i++) {
        if (st->patients[i].orphan)
            continue;
        if (only)
            return NULL;
        only = &st->patients[i];
    }
    return only;
}

/* ------------------------------------------------------------------------ */
/* Evaluation                                                                */
/* ------------------------------------------------------------------------ */

static int in_window(int64_t t, int64_t index_end, int64_t window_days)
{
    if (t == MMDX_TIME_NONE)
        return 0;
    if (t >= index_end)
        return 0;
    return window_days == 0 || t >= index_end - window_days * (int64_t)MMDX_FHIR_SECONDS_PER_DAY;
}

typedef struct lab_acc {
    size_t n;
    double sum, min, max;
    int64_t latest_t;
    double latest;
    /* slope: times in years relative to t0, for numerical stability */
    int64_t t0;
    double st, stt, sv, stv;
} lab_acc;

static void eval_lab(const mmdx_records_lab *lab, uint32_t li, const mmdx_records_patient *p,
                     int64_t index_end, double *values)
{
    lab_acc a = {0, 0, HUGE_VAL, -HUGE_VAL, INT64_MIN, NAN, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < p->n_labs; i++) {
        const mmdx_lab_fact *f = &p->labs[i];
        if (f->lab != li || !in_window(f->t, index_end, lab->window_days))
            continue;
        double v = f->value;
        if (a.n == 0)
            a.t0 = f->t;
        a.n++;
        a.sum += v;
        if (v < a.min)
            a.min = v;
        if (v > a.max)
            a.max = v;
        if (f->t >= a.latest_t) { /* ties: the later one in the input wins */
            a.latest_t = f->t;
            a.latest = v;
        }
        double ty = (double)(f->t - a.t0) / MMDX_FHIR_SECONDS_PER_YEAR;
        a.st += ty;
        a.stt += ty * ty;
        a.sv += v;
        a.stv += ty * v;
    }
    for (int g = 0; g < MMDX_AGG_N; g++) {
        if (!(lab->aggs & (1u << g)))
            continue;
        double out = NAN;
        switch (g) {
        case MMDX_AGG_LATEST: out = a.n ? a.latest : NAN; break;
        case MMDX_AGG_MEAN: out = a.n ? a.sum / (double)a.n : NAN; break;
        case MMDX_AGG_MIN: out = a.n ? a.min : NAN; break;
        case MMDX_AGG_MAX: out = a.n ? a.max : NAN; break;
        case MMDX_AGG_COUNT: out = (double)a.n; break;
        case MMDX_AGG_SLOPE:
            if (a.n >= 2) {
                double n = (double)a.n;
                double sxx = a.stt - a.st * a.st / n;
                /* all measurements at one instant: no trend can be estimated */
                if (sxx > 1e-12)
                    out = (a.stv - a.st * a.sv / n) / sxx;
            }
            break;
        default: break;
        }
        values[lab->feature[g]] = out;
    }
}

static int flag_hit(const mmdx_records_flag *fl, uint32_t fi, const mmdx_flag_fact *facts, size_t n,
                    int64_t index_end, int is_cond)
{
    for (size_t i = 0; i < n; i++) {
        const mmdx_flag_fact *f = &facts[i];
        if (f->flag != fi)
            continue;
        /* An undated record cannot be placed in time; it counts as known history. */
        if (f->start != MMDX_TIME_NONE && f->start >= index_end)
            continue;
        if (is_cond && fl->active_only) {
            if (!f->status_active)
                continue;
            if (f->end != MMDX_TIME_OPEN && f->end < index_end)
                continue; /* abated before the index date */
        }
        if (fl->window_days > 0 && f->start != MMDX_TIME_NONE) {
            int64_t lo = index_end - fl->window_days * (int64_t)MMDX_FHIR_SECONDS_PER_DAY;
            int64_t end = f->end == MMDX_TIME_OPEN ? index_end : f->end;
            if (end < f->start)
                end = f->start;
            if (end < lo) /* the whole interval lies before the window */
                continue;
        }
        return 1;
    }
    return 0;
}

void mmdx_records_eval(const mmdx_records_spec *spec, const mmdx_records_patient *p,
                       const mmdx_fhir_date *index, double *values)
{
    for (size_t i = 0; i < spec->n_features; i++)
        values[i] = NAN;
    int64_t index_end = index->end;
    if (spec->want_age && p->has_birth) {
        /* The middle of the birth interval: a year-only birthDate gives an unbiased age. */
        double birth_mid = ((double)p->birth.start + (double)p->birth.end) / 2.0;
        double idx_mid = ((double)index->start + (double)index->end) / 2.0;
        if (index->precision == MMDX_FHIR_SECOND)
            idx_mid = (double)index->start;
        double age = (idx_mid - birth_mid) / MMDX_FHIR_SECONDS_PER_YEAR;
        values[spec->f_age] = age >= 0 ? age : NAN; /* born after the index date */
    }
    if (spec->want_sex && p->has_resource && p->sex != MMDX_SEX_UNKNOWN) {
        values[spec->f_female] = p->sex == MMDX_SEX_FEMALE;
        values[spec->f_male] = p->sex == MMDX_SEX_MALE;
    }
    if (p->direct) {
        /* A CSV row states what it knows; everything else is unknown, not absent. */
        for (size_t i = 0; i < spec->n_features; i++)
            if (!isnan(p->direct[i]))
                values[i] = p->direct[i];
        return;
    }
    if (spec->want_deceased && p->has_resource)
        values[spec->f_deceased] = p->deceased && (p->death == MMDX_TIME_NONE || p->death < index_end);
    for (size_t i = 0; i < spec->n_labs; i++)
        eval_lab(&spec->labs[i], (uint32_t)i, p, index_end, values);
    for (size_t i = 0; i < spec->n_conditions; i++)
        values[spec->conditions[i].feature] =
            flag_hit(&spec->conditions[i], (uint32_t)i, p->conds, p->n_conds, index_end, 1);
    for (size_t i = 0; i < spec->n_medications; i++)
        values[spec->medications[i].feature] =
            flag_hit(&spec->medications[i], (uint32_t)i, p->meds, p->n_meds, index_end, 0);
}
