/* SPDX-License-Identifier: Apache-2.0 */
#include "fhir_date.h"

#include <stdio.h>
#include <time.h>

int64_t mmdx_fhir_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Era-based count (400-year cycles) so that it holds for any year. */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Read exactly n decimal digits; -1 when they are not there. */
static long digits(const char **p, int n)
{
    long v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

int mmdx_fhir_date_parse(mmdx_fhir_date *out, const char *s)
{
    if (!s)
        return MMDX_EFORMAT;
    const char *p = s;
    long y = digits(&p, 4);
    if (y < 1)
        return MMDX_EFORMAT;
    mmdx_fhir_date r;
    if (*p == '\0') {
        r.start = mmdx_fhir_days_from_civil(y, 1, 1) * MMDX_FHIR_SECONDS_PER_DAY;
        r.end = mmdx_fhir_days_from_civil(y + 1, 1, 1) * MMDX_FHIR_SECONDS_PER_DAY;
        r.precision = MMDX_FHIR_YEAR;
        *out = r;
        return 0;
    }
    if (*p++ != '-')
        return MMDX_EFORMAT;
    long mo = digits(&p, 2);
    if (mo < 1 || mo > 12)
        return MMDX_EFORMAT;
    if (*p == '\0') {
        r.start = mmdx_fhir_days_from_civil(y, (unsigned)mo, 1) * MMDX_FHIR_SECONDS_PER_DAY;
        r.end = (mo == 12 ? mmdx_fhir_days_from_civil(y + 1, 1, 1)
                          : mmdx_fhir_days_from_civil(y, (unsigned)mo + 1, 1)) *
                MMDX_FHIR_SECONDS_PER_DAY;
        r.precision = MMDX_FHIR_MONTH;
        *out = r;
        return 0;
    }
    if (*p++ != '-')
        return MMDX_EFORMAT;
    long d = digits(&p, 2);
    if (d < 1 || (unsigned long)d > days_in_month(y, (unsigned)mo))
        return MMDX_EFORMAT;
    int64_t day = mmdx_fhir_days_from_civil(y, (unsigned)mo, (unsigned)d);
    if (*p == '\0') {
        r.start = day * MMDX_FHIR_SECONDS_PER_DAY;
        r.end = r.start + MMDX_FHIR_SECONDS_PER_DAY;
        r.precision = MMDX_FHIR_DAY;
        *out = r;
        return 0;
    }
    if (*p++ != 'T')
        return MMDX_EFORMAT;
    long hh = digits(&p, 2);
    if (hh < 0 || hh > 23 || *p++ != ':')
        return MMDX_EFORMAT;
    long mi = digits(&p, 2);
    if (mi < 0 || mi > 59 || *p++ != ':')
        return MMDX_EFORMAT;
    long ss = digits(&p, 2);
    if (ss < 0 || ss > 60)
        return MMDX_EFORMAT;
    if (ss == 60)
        ss = 59;
    if (*p == '.') {
        p++;
        int n = 0;
        while (*p >= '0' && *p <= '9') {
            p++;
            n++;
        }
        if (n == 0 || n > 9)
            return MMDX_EFORMAT;
    }
    long offset = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        long oh = digits(&p, 2);
        if (oh < 0 || *p++ != ':')
            return MMDX_EFORMAT;
        long om = digits(&p, 2);
        if (om < 0 || om > 59 || oh > 14 || (oh == 14 && om != 0))
            return MMDX_EFORMAT;
        offset = sign * (oh * 3600 + om * 60);
    } else {
        return MMDX_EFORMAT; /* FHIR requires a timezone with a time */
    }
    if (*p != '\0')
        return MMDX_EFORMAT;
    r.start = day * MMDX_FHIR_SECONDS_PER_DAY + hh * 3600 + mi * 60 + ss - offset;
    r.end = r.start + 1;
    r.precision = MMDX_FHIR_SECOND;
    *out = r;
    return 0;
}

mmdx_fhir_date mmdx_fhir_today(void)
{
    time_t now = time(NULL);
    int64_t day = (int64_t)now / MMDX_FHIR_SECONDS_PER_DAY;
    mmdx_fhir_date r = {day * MMDX_FHIR_SECONDS_PER_DAY, (day + 1) * MMDX_FHIR_SECONDS_PER_DAY,
                        MMDX_FHIR_DAY};
    return r;
}

void mmdx_fhir_format_day(char *buf, size_t cap, int64_t t)
{
    int64_t days = t >= 0 ? t / MMDX_FHIR_SECONDS_PER_DAY : -((-t + MMDX_FHIR_SECONDS_PER_DAY - 1) / MMDX_FHIR_SECONDS_PER_DAY);
    /* inverse of mmdx_fhir_days_from_civil() */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    snprintf(buf, cap, "%04lld-%02d-%02d", (long long)y, (int)m, (int)d);
}
