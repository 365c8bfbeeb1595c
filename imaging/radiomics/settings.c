/*
 * imaging/radiomics/settings.c — radiomics settings: defaults, text keys, checks.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "radiomics.h"

void mmdx_radiomics_settings_init(mmdx_radiomics_settings *s)
{
    memset(s, 0, sizeof *s);
    s->interp = MMDX_RAD_INTERP_NONE;
    s->interp_2d = 0;
    s->spacing[0] = s->spacing[1] = s->spacing[2] = NAN;
    s->round_intensities = 0;
    s->mask_interp = MMDX_RAD_INTERP_LINEAR;
    s->mask_partial_volume = 0.5;
    s->reseg_min = NAN;
    s->reseg_max = NAN;
    s->reseg_outlier_sigma = 0;
    s->discr = MMDX_RAD_DISCR_FBN;
    s->bin_number = 32;
    s->bin_width = NAN;
    s->bin_min = NAN;
    s->ivh_discr = MMDX_RAD_DISCR_NONE;
    s->ivh_bin_number = 0;
    s->ivh_bin_width = NAN;
    s->ivh_bin_min = NAN;
    s->families = MMDX_RAD_FAM_ALL;
    s->aggregation = MMDX_RAD_AGG_3D;
    s->cm_distance = 1;
    s->ngt_distance = 1;
    s->ngl_distance = 1;
    s->ngl_coarseness = 0;
    s->moran_max_voxels = 0;
}

static int parse_bool(const char *v, int32_t *out)
{
    if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1") || !strcasecmp(v, "on")) {
        *out = 1;
        return 0;
    }
    if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0") || !strcasecmp(v, "off")) {
        *out = 0;
        return 0;
    }
    return -1;
}

/* A number that fills the whole text (surrounding blanks allowed). */
static int parse_double(const char *v, double *out)
{
    char *end;
    while (isspace((unsigned char)*v))
        v++;
    if (!*v)
        return -1;
    errno = 0;
    double d = strtod(v, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (*end || errno == ERANGE || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

static int parse_int(const char *v, int32_t lo, int32_t hi, int32_t *out)
{
    double d;
    if (parse_double(v, &d) || d != floor(d) || d < lo || d > hi)
        return -1;
    *out = (int32_t)d;
    return 0;
}

static int parse_interp(const char *v, int32_t *out)
{
    static const char *const names[] = {"none", "nearest", "linear", "cubic"};
    for (int32_t i = 0; i < 4; i++)
        if (!strcasecmp(v, names[i])) {
            *out = i;
            return 0;
        }
    if (!strcasecmp(v, "trilinear") || !strcasecmp(v, "bilinear")) {
        *out = MMDX_RAD_INTERP_LINEAR;
        return 0;
    }
    if (!strcasecmp(v, "tricubic") || !strcasecmp(v, "spline")) {
        *out = MMDX_RAD_INTERP_CUBIC;
        return 0;
    }
    return -1;
}

/* "none" | "fbn:<bins>" | "fbs:<width>[@<min>]" */
static int parse_discr(const char *v, int32_t *method, int32_t *bins, double *width, double *min)
{
    if (!strcasecmp(v, "none")) {
        *method = MMDX_RAD_DISCR_NONE;
        return 0;
    }
    if (!strncasecmp(v, "fbn:", 4)) {
        if (parse_int(v + 4, 1, 1 << 20, bins))
            return -1;
        *method = MMDX_RAD_DISCR_FBN;
        return 0;
    }
    if (!strncasecmp(v, "fbs:", 4)) {
        char buf[64];
        size_t len = strlen(v + 4);
        if (len >= sizeof buf)
            return -1;
        memcpy(buf, v + 4, len + 1);
        char *at = strchr(buf, '@');
        double w, m = NAN;
        if (at) {
            *at = '\0';
            if (parse_double(at + 1, &m))
                return -1;
        }
        if (parse_double(buf, &w) || !(w > 0))
            return -1;
        *method = MMDX_RAD_DISCR_FBS;
        *width = w;
        *min = m;
        return 0;
    }
    return -1;
}

/* One bound of a range: empty or "inf"/"-inf" means unbounded. */
static int parse_bound(const char *v, double *out)
{
    while (isspace((unsigned char)*v))
        v++;
    if (!*v || !strcasecmp(v, "inf") || !strcasecmp(v, "-inf") || !strcasecmp(v, "+inf")) {
        *out = NAN;
        return 0;
    }
    return parse_double(v, out);
}

typedef struct name_bit {
    const char *name;
    uint32_t bit;
} name_bit;

static const name_bit family_names[] = {
    {"morph", MMDX_RAD_FAM_MORPH}, {"loc", MMDX_RAD_FAM_LOC}, {"stat", MMDX_RAD_FAM_STAT},
    {"ih", MMDX_RAD_FAM_IH},       {"ivh", MMDX_RAD_FAM_IVH}, {"cm", MMDX_RAD_FAM_CM},
    {"rlm", MMDX_RAD_FAM_RLM},     {"szm", MMDX_RAD_FAM_SZM}, {"dzm", MMDX_RAD_FAM_DZM},
    {"ngt", MMDX_RAD_FAM_NGT},     {"ngl", MMDX_RAD_FAM_NGL}, {"all", MMDX_RAD_FAM_ALL},
};

static const name_bit agg_names[] = {
    {"2d_avg", MMDX_RAD_AGG_2D_AVG},     {"2d_smrg", MMDX_RAD_AGG_2D_SMRG}, {"25d_dmrg", MMDX_RAD_AGG_25D_DMRG},
    {"25d_mrg", MMDX_RAD_AGG_25D_MRG},   {"3d_avg", MMDX_RAD_AGG_3D_AVG},   {"3d_mrg", MMDX_RAD_AGG_3D_MRG},
    {"2d", MMDX_RAD_AGG_2D},             {"3d", MMDX_RAD_AGG_3D},           {"all", MMDX_RAD_AGG_ALL},
};

/* A comma-separated list of names -> OR of their bits. */
static int parse_bits(const char *v, const name_bit *table, size_t n, uint32_t *out)
{
    uint32_t bits = 0;
    const char *p = v;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && isspace((unsigned char)t[-1]))
            t--;
        size_t len = (size_t)(t - p);
        size_t i;
        for (i = 0; i < n; i++)
            if (strlen(table[i].name) == len && !strncasecmp(table[i].name, p, len))
                break;
        if (i == n)
            return -1;
        bits |= table[i].bit;
        if (!*e)
            break;
        p = e + 1;
    }
    if (!bits)
        return -1;
    *out = bits;
    return 0;
}

int mmdx_radiomics_settings_set(mmdx_radiomics_settings *s, const char *key, const char *value, mmdx_error *err)
{
    int bad = 0;
    if (!s || !key || !value)
        return mmdx_error_set(err, MMDX_EINVAL, "radiomics setting: missing key or value");
    if (!strcmp(key, "interpolation")) {
        bad = parse_interp(value, &s->interp);
    } else if (!strcmp(key, "interpolation_2d")) {
        bad = parse_bool(value, &s->interp_2d);
    } else if (!strcmp(key, "spacing")) {
        double x, y, z;
        char extra;
        if (sscanf(value, " %lf , %lf , %lf %c", &x, &y, &z, &extra) == 3) {
            bad = !(x > 0 && y > 0 && z > 0 && isfinite(x) && isfinite(y) && isfinite(z));
        } else if (!parse_double(value, &x) && x > 0) {
            y = z = x;
        } else {
            bad = 1;
        }
        if (!bad) {
            s->spacing[0] = x;
            s->spacing[1] = y;
            s->spacing[2] = z;
        }
    } else if (!strcmp(key, "round_intensities")) {
        bad = parse_bool(value, &s->round_intensities);
    } else if (!strcmp(key, "mask_interpolation")) {
        int32_t m;
        bad = parse_interp(value, &m) || (m != MMDX_RAD_INTERP_NEAREST && m != MMDX_RAD_INTERP_LINEAR);
        if (!bad)
            s->mask_interp = m;
    } else if (!strcmp(key, "mask_partial_volume")) {
        double d;
        bad = parse_double(value, &d) || !(d > 0 && d <= 1);
        if (!bad)
            s->mask_partial_volume = d;
    } else if (!strcmp(key, "resegment_range")) {
        const char *comma = strchr(value, ',');
        char lo[64];
        double a, b;
        if (!comma || (size_t)(comma - value) >= sizeof lo) {
            bad = 1;
        } else {
            memcpy(lo, value, (size_t)(comma - value));
            lo[comma - value] = '\0';
            bad = parse_bound(lo, &a) || parse_bound(comma + 1, &b) || (!isnan(a) && !isnan(b) && a > b);
            if (!bad) {
                s->reseg_min = a;
                s->reseg_max = b;
            }
        }
    } else if (!strcmp(key, "resegment_outliers")) {
        bad = parse_bool(value, &s->reseg_outlier_sigma);
    } else if (!strcmp(key, "discretisation")) {
        bad = parse_discr(value, &s->discr, &s->bin_number, &s->bin_width, &s->bin_min);
    } else if (!strcmp(key, "ivh_discretisation")) {
        bad = parse_discr(value, &s->ivh_discr, &s->ivh_bin_number, &s->ivh_bin_width, &s->ivh_bin_min);
    } else if (!strcmp(key, "families")) {
        bad = parse_bits(value, family_names, sizeof family_names / sizeof *family_names, &s->families);
    } else if (!strcmp(key, "aggregation")) {
        bad = parse_bits(value, agg_names, sizeof agg_names / sizeof *agg_names, &s->aggregation);
    } else if (!strcmp(key, "cm_distance")) {
        bad = parse_int(value, 1, 16, &s->cm_distance);
    } else if (!strcmp(key, "ngt_distance")) {
        bad = parse_int(value, 1, 16, &s->ngt_distance);
    } else if (!strcmp(key, "ngl_distance")) {
        bad = parse_int(value, 1, 16, &s->ngl_distance);
    } else if (!strcmp(key, "ngl_coarseness")) {
        bad = parse_int(value, 0, 1 << 20, &s->ngl_coarseness);
    } else if (!strcmp(key, "moran_max_voxels")) {
        bad = parse_int(value, 0, INT32_MAX, &s->moran_max_voxels);
    } else {
        return mmdx_error_set(err, MMDX_EINVAL, "radiomics setting: unknown key '%s'", key);
    }
    if (bad)
        return mmdx_error_set(err, MMDX_EINVAL, "radiomics setting %s: invalid value '%s'", key, value);
    return 0;
}

int mmdx_radiomics_settings_check(const mmdx_radiomics_settings *s, mmdx_error *err)
{
    if (!s)
        return mmdx_error_set(err, MMDX_EINVAL, "radiomics settings: NULL");
    if (s->interp < MMDX_RAD_INTERP_NONE || s->interp > MMDX_RAD_INTERP_CUBIC)
        return mmdx_error_set(err, MMDX_EINVAL, "radiomics settings: interp %d out of range", (int)s->interp);
    if (s->interp != MMDX_RAD_INTERP_NONE) {
        int naxes = s->interp_2d ? 2 : 3;
        for (int a = 0; a < naxes; a++)
            if (!(s->spacing[a] > 0) || !isfinite(s->spacing[a]))
                return mmdx_error_set(err, MMDX_EINVAL,
                                      "radiomics settings: interpolation needs a positive spacing (axis %d)", a);
        if (s->mask_interp != MMDX_RAD_INTERP_NEAREST && s->mask_interp != MMDX_RAD_INTERP_LINEAR)
            return mmdx_error_set(err, MMDX_EINVAL, "radiomics settings: mask_interp must be nearest or linear");
        if (!(s->mask_partial_volume > 0 && s->mask_partial_volume <= 1))
            return mmdx_error_set(err, MMDX_EINVAL, "radiomics settings: mask_partial_volume must be in (0, 1]");
    }
    if (!isnan(s->reseg_min) && !isnan(s->reseg_max) && s->reseg_min > s->reseg_max)
        return mmdx_error_set(err, MMDX_EINVAL, "radiomics settings: re-segmentation range min > max");
    const int32_t methods[2] = {s->discr, s->ivh_discr};
    const int32_t bins[2] = {s->bin_number, s->ivh_bin_number};
    const double widths[2] = {s->bin_width, s->ivh_bin_width};
    static const char *const what[2] = {"discretisation", "ivh_discretisation"};
    for (int d = 0; d < 2; d++) {
        if (methods[d] == MMDX_RAD_DISCR_FBN && (bins[d] < 1 || bins[d] > (1 << 20)))
            return mmdx_error_set(err, MMDX_EINVAL, "radiomics settings: %s: bin number %d out of range",
                                  what[d], (int)bins[d]);
        if (methods[d] == MMDX_RAD_DISCR_FBS && !(widths[d] > 0 && isfinite(widths[d])))
            return mmdx_error_set(err, MMDX_EINVAL, "radiomics settings: %s: bin width must be positive", what[d]);
        if (methods[d] < MMDX_RAD_DISCR_NONE || methods[d] > MMDX_RAD_DISCR_FBS)
            return mmdx_error_set(err, MMDX_EINVAL, "radiomics settings: %s: unknown method %d", what[d],
                                  (int)methods[d]);
    }
    if (s->families & ~(uint32_t)MMDX_RAD_FAM_ALL)
        return mmdx_error_set(err, MMDX_EINVAL, "radiomics settings: unknown family bits 0x%x",
                              (unsigned)s->families);
    if (s->aggregation & ~(uint32_t)MMDX_RAD_AGG_ALL)
        return mmdx_error_set(err, MMDX_EINVAL, "radiomics settings: unknown aggregation bits 0x%x",
                              (unsigned)s->aggregation);
    if (s->cm_distance < 1 || s->ngt_distance < 1 || s->ngl_distance < 1 || s->cm_distance > 16 ||
        s->ngt_distance > 16 || s->ngl_distance > 16)
        return mmdx_error_set(err, MMDX_EINVAL, "radiomics settings: texture distances must be in 1..16");
    if (s->ngl_coarseness < 0)
        return mmdx_error_set(err, MMDX_EINVAL, "radiomics settings: ngl_coarseness must be >= 0");
    if (s->moran_max_voxels < 0)
        return mmdx_error_set(err, MMDX_EINVAL, "radiomics settings: moran_max_voxels must be >= 0");
    return 0;
}
