/* SPDX-License-Identifier: Apache-2.0 */
#include "units.h"

#include <math.h>
#include <string.h>
#include <strings.h>

/*
 * Each unit: its dimension and the factor (and offset, for temperatures)
 * taking a value to the dimension's canonical unit: canonical = v * factor + offset.
 */
typedef struct unit_row {
    const char *unit;
    const char *dim;
    double factor;
    double offset;
} unit_row;

static const unit_row UNITS[] = {
    /* mass concentration, canonical g/L */
    {"g/L", "mass-concentration", 1.0, 0},
    {"g/dL", "mass-concentration", 10.0, 0},
    {"mg/dL", "mass-concentration", 0.01, 0},
    {"mg/L", "mass-concentration", 1e-3, 0},
    {"ug/mL", "mass-concentration", 1e-3, 0},
    {"ug/dL", "mass-concentration", 1e-5, 0},
    {"ug/L", "mass-concentration", 1e-6, 0},
    {"ng/mL", "mass-concentration", 1e-6, 0},
    {"ng/L", "mass-concentration", 1e-9, 0},
    {"pg/mL", "mass-concentration", 1e-9, 0},
    /* substance concentration, canonical mmol/L */
    {"mol/L", "substance-concentration", 1e3, 0},
    {"mmol/L", "substance-concentration", 1.0, 0},
    {"umol/L", "substance-concentration", 1e-3, 0},
    {"nmol/L", "substance-concentration", 1e-6, 0},
    {"pmol/L", "substance-concentration", 1e-9, 0},
    /* mass, canonical kg */
    {"kg", "mass", 1.0, 0},
    {"g", "mass", 1e-3, 0},
    {"[lb_av]", "mass", 0.45359237, 0},
    {"lb", "mass", 0.45359237, 0},
    {"lbs", "mass", 0.45359237, 0},
    {"[oz_av]", "mass", 0.028349523125, 0},
    {"oz", "mass", 0.028349523125, 0},
    /* length, canonical m */
    {"m", "length", 1.0, 0},
    {"cm", "length", 1e-2, 0},
    {"mm", "length", 1e-3, 0},
    {"[in_i]", "length", 0.0254, 0},
    {"in", "length", 0.0254, 0},
    {"[ft_i]", "length", 0.3048, 0},
    /* temperature, canonical K */
    {"K", "temperature", 1.0, 0},
    {"Cel", "temperature", 1.0, 273.15},
    {"C", "temperature", 1.0, 273.15},
    {"degrees C", "temperature", 1.0, 273.15},
    {"[degF]", "temperature", 5.0 / 9.0, 273.15 - 32.0 * 5.0 / 9.0},
    {"degF", "temperature", 5.0 / 9.0, 273.15 - 32.0 * 5.0 / 9.0},
    /* pressure, canonical Pa */
    {"Pa", "pressure", 1.0, 0},
    {"kPa", "pressure", 1e3, 0},
    {"mm[Hg]", "pressure", 133.322387415, 0},
    {"mmHg", "pressure", 133.322387415, 0},
    {"mm Hg", "pressure", 133.322387415, 0},
    {"cm[H2O]", "pressure", 98.0665, 0},
    /* body mass index, canonical kg/m2 */
    {"kg/m2", "area-density", 1.0, 0},
    {"kg/m^2", "area-density", 1.0, 0},
    /* rates (heart, respiratory), canonical per minute */
    {"/min", "rate", 1.0, 0},
    {"{beats}/min", "rate", 1.0, 0},
    {"beats/minute", "rate", 1.0, 0},
    {"{breaths}/min", "rate", 1.0, 0},
    {"breaths/minute", "rate", 1.0, 0},
    {"/h", "rate", 1.0 / 60.0, 0},
    /* number concentration (blood counts), canonical 10*9/L */
    {"10*9/L", "number-concentration", 1.0, 0},
    {"10^9/L", "number-concentration", 1.0, 0},
    {"10*3/uL", "number-concentration", 1.0, 0},
    {"10^3/uL", "number-concentration", 1.0, 0},
    {"10*3/mm3", "number-concentration", 1.0, 0},
    {"10*12/L", "number-concentration", 1e3, 0},
    {"10^12/L", "number-concentration", 1e3, 0},
    {"10*6/uL", "number-concentration", 1e3, 0},
    {"/uL", "number-concentration", 1e-3, 0},
    {"/mm3", "number-concentration", 1e-3, 0},
    /* catalytic activity concentration, canonical U/L (IU/L by convention equal) */
    {"U/L", "catalytic-concentration", 1.0, 0},
    {"[IU]/L", "catalytic-concentration", 1.0, 0},
    {"IU/L", "catalytic-concentration", 1.0, 0},
    {"ukat/L", "catalytic-concentration", 60.0, 0},
    /* fractions; % and mmol/mol are kept apart on purpose (see HbA1c) */
    {"%", "percent", 1.0, 0},
    {"mmol/mol", "substance-ratio", 1.0, 0},
    /* glomerular filtration rate */
    {"mL/min/{1.73_m2}", "gfr", 1.0, 0},
    {"mL/min/1.73m2", "gfr", 1.0, 0},
    {"mL/min/1.73 m2", "gfr", 1.0, 0},
};

#define N_UNITS (sizeof UNITS / sizeof UNITS[0])

static const unit_row *lookup(const char *u)
{
    if (!u)
        return NULL;
    for (size_t i = 0; i < N_UNITS; i++)
        if (strcasecmp(UNITS[i].unit, u) == 0)
            return &UNITS[i];
    return NULL;
}

int mmdx_unit_known(const char *unit) { return lookup(unit) != NULL; }

size_t mmdx_unit_table_size(void) { return N_UNITS; }

void mmdx_unit_table_row(size_t i, const char **unit, const char **dimension, double *factor)
{
    *unit = UNITS[i].unit;
    *dimension = UNITS[i].dim;
    *factor = UNITS[i].factor;
}

static int dim_is(const unit_row *a, const char *dim) { return strcmp(a->dim, dim) == 0; }

static int same_dim(const unit_row *a, const unit_row *b) { return dim_is(a, b->dim); }

/* NGSP/IFCC master equation: NGSP(%) = 0.09148 * IFCC(mmol/mol) + 2.152. */
#define HBA1C_SLOPE 0.09148
#define HBA1C_INTERCEPT 2.152

int mmdx_unit_convert(double *out, double value, const char *from, const char *to,
                      const mmdx_unit_rule *rule)
{
    if (!from || !to || !isfinite(value))
        return MMDX_EUNSUPPORTED;
    const unit_row *a = lookup(from), *b = lookup(to);
    if (!a || !b) {
        if (strcasecmp(from, to) == 0) {
            *out = value;
            return 0;
        }
        return MMDX_EUNSUPPORTED;
    }
    if (same_dim(a, b)) {
        double canonical = value * a->factor + a->offset;
        *out = (canonical - b->offset) / b->factor;
        return 0;
    }
    if (rule && rule->molar_mass > 0) {
        int a_mass = dim_is(a, "mass-concentration"), b_mass = dim_is(b, "mass-concentration");
        int a_subst = dim_is(a, "substance-concentration");
        int b_subst = dim_is(b, "substance-concentration");
        if (a_mass && b_subst) { /* g/L -> mmol/L */
            *out = (value * a->factor) / rule->molar_mass * 1e3 / b->factor;
            return 0;
        }
        if (a_subst && b_mass) { /* mmol/L -> g/L */
            *out = (value * a->factor) * rule->molar_mass * 1e-3 / b->factor;
            return 0;
        }
    }
    if (rule && rule->hba1c) {
        int a_pct = dim_is(a, "percent"), b_pct = dim_is(b, "percent");
        int a_ifcc = dim_is(a, "substance-ratio"), b_ifcc = dim_is(b, "substance-ratio");
        if (a_pct && b_ifcc) {
            *out = (value - HBA1C_INTERCEPT) / HBA1C_SLOPE;
            return 0;
        }
        if (a_ifcc && b_pct) {
            *out = HBA1C_SLOPE * value + HBA1C_INTERCEPT;
            return 0;
        }
    }
    return MMDX_EUNSUPPORTED;
}
