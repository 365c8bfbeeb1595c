/* SPDX-License-Identifier: Apache-2.0 */
/* Wide CSV records: one row per patient, columns mapped onto features by the spec. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv.h"
#include "error.h"
#include "load.h"

static int is_missing(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return !*s || strcasecmp(s, "NA") == 0 || strcasecmp(s, "NaN") == 0 || strcasecmp(s, "null") == 0 ||
           strcmp(s, ".") == 0;
}

static int parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (end == s || *end || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static const char *map_lookup(const mmdx_records_csv_column *col, const char *cell, size_t *idx)
{
    for (size_t i = 0; i < col->n_values; i++)
        if (strcasecmp(col->value_keys[i], cell) == 0) {
            *idx = i;
            return col->value_keys[i];
        }
    return NULL;
}

static int default_sex(const char *cell)
{
    static const struct {
        const char *text;
        int sex;
    } table[] = {{"female", MMDX_SEX_FEMALE}, {"f", MMDX_SEX_FEMALE}, {"male", MMDX_SEX_MALE},
                 {"m", MMDX_SEX_MALE},        {"other", MMDX_SEX_OTHER}, {"unknown", MMDX_SEX_UNKNOWN}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcasecmp(table[i].text, cell) == 0)
            return table[i].sex;
    return -1;
}

static int sex_of_text(const char *t)
{
    return strcmp(t, "female") == 0 ? MMDX_SEX_FEMALE
           : strcmp(t, "male") == 0 ? MMDX_SEX_MALE
           : strcmp(t, "other") == 0 ? MMDX_SEX_OTHER
                                     : MMDX_SEX_UNKNOWN;
}

/* Apply one mapped cell to a patient; problems are recorded on the patient. */
static void apply_cell(mmdx_records_store *st, mmdx_records_patient *p, const mmdx_records_csv_column *col,
                       const char *cell, const char *path, long line)
{
    const mmdx_records_spec *spec = st->spec;
    size_t vi;
    /* Cell values are patient data: messages name the file, line and column, never the value. */
    switch (col->target) {
    case MMDX_CSV_BIRTH_DATE: {
        mmdx_fhir_date d;
        if (mmdx_fhir_date_parse(&d, cell) < 0) {
            mmdx_records_patient_error(p, "%s:%ld: column '%s': not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)",
                                       path, line, col->column);
            mmdx_records_warn(&st->stats, &st->stats.bad_date, "%s:%ld: column '%s': not a FHIR date", path, line,
                              col->column);
            return;
        }
        p->has_birth = 1;
        p->birth = d;
        if (spec->want_age)
            p->direct[spec->f_age] = NAN; /* age follows from the index date */
        return;
    }
    case MMDX_CSV_SEX: {
        int sex = map_lookup(col, cell, &vi) ? sex_of_text(col->value_texts[vi]) : default_sex(cell);
        if (sex < 0) {
            mmdx_records_patient_error(p, "%s:%ld: column '%s': not a sex (female/male/other/unknown, "
                                          "or give a \"values\" map in the spec)",
                                       path, line, col->column);
            return;
        }
        p->sex = sex;
        if (spec->want_sex && sex != MMDX_SEX_UNKNOWN) {
            p->direct[spec->f_female] = sex == MMDX_SEX_FEMALE;
            p->direct[spec->f_male] = sex == MMDX_SEX_MALE;
        }
        return;
    }
    default: break;
    }
    double v;
    if (map_lookup(col, cell, &vi)) {
        v = col->value_numbers[vi];
    } else if (parse_number(cell, &v) < 0) {
        mmdx_records_patient_error(p, "%s:%ld: column '%s': not a number%s", path, line, col->column,
                                   col->n_values ? " nor a key of the column's \"values\" map" : "");
        return;
    }
    if (col->lab && !isnan(v)) {
        double conv = v;
        if (col->unit && mmdx_unit_convert(&conv, v, col->unit, col->lab->unit, &col->lab->rule) < 0) {
            mmdx_records_warn(&st->stats, &st->stats.unit_unconvertible, "%s:%ld: column '%s': unit '%s' does not convert",
                              path, line, col->column, col->unit);
            return;
        }
        if (conv < col->lab->valid_min || conv > col->lab->valid_max) {
            mmdx_records_warn(&st->stats, &st->stats.out_of_range,
                              "%s:%ld: column '%s': value outside the valid range [%g, %g] %s; not used", path, line,
                              col->column, col->lab->valid_min, col->lab->valid_max, col->lab->unit);
            return;
        }
        v = conv;
    }
    p->direct[col->feature] = v;
}

int mmdx_records__load_csv(mmdx_records_store *st, const char *path)
{
    const mmdx_records_spec *spec = st->spec;
    if (spec->n_csv_columns == 0)
        return mmdx_fail(MMDX_EINVAL, "%s: the feature spec '%s' has no \"csv\" column mapping; CSV records "
                                      "need one (see docs/records.md)",
                         path, spec->name);
    size_t plen = strlen(path);
    char delim = plen > 4 && strcasecmp(path + plen - 4, ".tsv") == 0 ? '\t' : spec->csv_delimiter;
    mmdx_csv_reader *r;
    int rc = mmdx_csv_open(&r, path, delim);
    if (rc < 0)
        return rc;
    char **fields;
    size_t nf;
    rc = mmdx_csv_next(r, &fields, &nf);
    if (rc <= 0) {
        mmdx_csv_close(r);
        return rc < 0 ? rc : mmdx_fail(MMDX_EFORMAT, "%s: empty file (a header row is needed)", path);
    }
    rc = 0;
    long *col_of = calloc(spec->n_csv_columns, sizeof *col_of);
    if (!col_of) {
        mmdx_csv_close(r);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    long id_col = -1;
    for (size_t i = 0; i < nf; i++)
        if (strcmp(fields[i], spec->csv_id_column) == 0)
            id_col = (long)i;
    for (size_t k = 0; k < spec->n_csv_columns; k++) {
        col_of[k] = -1;
        for (size_t i = 0; i < nf; i++)
            if (strcmp(fields[i], spec->csv_columns[k].column) == 0)
                col_of[k] = (long)i;
    }
    if (id_col < 0) {
        rc = mmdx_fail(MMDX_EFORMAT, "%s:%ld: no id column '%s' in the header", path, mmdx_csv_line(r),
                       spec->csv_id_column);
    }
    /* A spec may map more columns than one extract has; none at all is a mistake. */
    size_t n_found = 0;
    for (size_t k = 0; k < spec->n_csv_columns; k++)
        n_found += col_of[k] >= 0;
    if (rc == 0 && n_found == 0)
        rc = mmdx_fail(MMDX_EFORMAT, "%s:%ld: none of the columns the spec maps (e.g. '%s') is in the header", path,
                       mmdx_csv_line(r), spec->csv_columns[0].column);
    size_t header_fields = nf;
    while (rc == 0) {
        int got = mmdx_csv_next(r, &fields, &nf);
        if (got < 0) {
            rc = got;
            break;
        }
        if (got == 0)
            break;
        long line = mmdx_csv_line(r);
        if (nf != header_fields) {
            rc = mmdx_fail(MMDX_EFORMAT, "%s:%ld: %zu fields where the header has %zu", path, line, nf,
                           header_fields);
            break;
        }
        const char *id = fields[id_col];
        if (is_missing(id)) {
            rc = mmdx_fail(MMDX_EFORMAT, "%s:%ld: empty patient id in column '%s'", path, line, spec->csv_id_column);
            break;
        }
        size_t before = st->n_patients;
        mmdx_records_patient *p = mmdx_records_store_patient(st, id);
        if (!p) {
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
            break;
        }
        if (st->n_patients == before) {
            rc = mmdx_fail(MMDX_EFORMAT, "%s:%ld: patient id appears twice (first at %s)", path, line,
                           p->first_origin);
            break;
        }
        snprintf(p->first_origin, sizeof p->first_origin, "%s:%ld", path, line);
        p->has_resource = 1;
        p->n_resources = 1;
        p->direct = malloc(spec->n_features * sizeof *p->direct);
        if (!p->direct) {
            rc = mmdx_fail(MMDX_ENOMEM, "out of memory");
            break;
        }
        for (size_t i = 0; i < spec->n_features; i++)
            p->direct[i] = NAN;
        st->stats.resources++;
        st->stats.used++;
        for (size_t k = 0; k < spec->n_csv_columns; k++) {
            if (col_of[k] < 0)
                continue;
            const char *cell = fields[col_of[k]];
            if (!is_missing(cell))
                apply_cell(st, p, &spec->csv_columns[k], cell, path, line);
        }
    }
    free(col_of);
    mmdx_csv_close(r);
    return rc;
}
