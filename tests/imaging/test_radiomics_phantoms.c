/*
 * tests/imaging/test_radiomics_phantoms.c — the radiomics engine gives the
 * values main's engine gave (commit 63a8c0a, before the engine was made
 * faster) on the imaging benchmark's phantoms, to 1e-9 relative, with one
 * OpenMP thread and with two.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The reference, tests/imaging/radiomics_phantoms.csv, says how it was made.
 * The phantoms are regenerated here by the same code (bench/imaging/phantom.c).
 * A value passes when |new - ref| <= 1e-9 |ref|, or, for values near 0 where
 * a relative bound means nothing, |new - ref| <= 1e-12; NaN must stay NaN.
 */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "phantom.h"
#include "testsupport.h"

#define REL_TOL 1e-9
#define ABS_TOL 1e-12

typedef struct ref_row {
    char *name; /* "case,feature" */
    double value;
} ref_row;

typedef struct ref_table {
    ref_row *rows;
    size_t n;
} ref_table;

static ref_table ref;

static void load_reference(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/imaging/radiomics_phantoms.csv", mmdx_test_source_dir());
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: cannot open", path);
    char line[512];
    size_t cap = 0, lineno = 0;
    int header = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#')
            continue;
        if (!header) {
            ck_assert_str_eq(line, "case,feature,value\n");
            header = 1;
            continue;
        }
        char *last = strrchr(line, ',');
        ck_assert_msg(last != NULL, "%s:%zu: expected case,feature,value", path, lineno);
        *last = '\0';
        if (ref.n == cap) {
            cap = cap ? 2 * cap : 1024;
            ref.rows = realloc(ref.rows, cap * sizeof *ref.rows);
            ck_assert_ptr_nonnull(ref.rows);
        }
        char *end;
        ref.rows[ref.n].value = strtod(last + 1, &end);
        ck_assert_msg(end != last + 1, "%s:%zu: bad value", path, lineno);
        ref.rows[ref.n].name = strdup(line);
        ck_assert_ptr_nonnull(ref.rows[ref.n].name);
        ref.n++;
    }
    fclose(f);
    ck_assert_msg(ref.n > 1000, "%s: only %zu values", path, ref.n);
}

static void free_reference(void)
{
    for (size_t i = 0; i < ref.n; i++)
        free(ref.rows[i].name);
    free(ref.rows);
    memset(&ref, 0, sizeof ref);
}

/* Compare every feature of every case of `phantom` with the reference; returns the values compared. */
static size_t check_phantom(const char *phantom, int threads)
{
    mmdx_phantom_case cases[MMDX_PHANTOM_MAX_CASES];
    size_t n = 0;
    ck_assert_msg(mmdx_phantom_load(cases, &n, phantom) == 0, "%s: %s", phantom, mmdx_last_error());
    mmdx_radiomics_settings s;
    mmdx_phantom_settings(&s);
    omp_set_num_threads(threads);
    size_t compared = 0, bad = 0;
    char key[256], first_bad[512] = "";
    for (size_t c = 0; c < n; c++) {
        mmdx_radiomics_features *f = NULL;
        mmdx_error err = {0};
        ck_assert_msg(mmdx_radiomics_compute(&f, &s, cases[c].image, cases[c].mask, &err) == 0, "%s: %s",
                      cases[c].name, err.message);
        size_t matched = 0;
        for (size_t q = 0; q < f->count; q++) {
            snprintf(key, sizeof key, "%s,%s", cases[c].name, f->names[q]);
            const ref_row *r = NULL;
            for (size_t i = 0; i < ref.n && !r; i++)
                if (!strcmp(ref.rows[i].name, key))
                    r = &ref.rows[i];
            ck_assert_msg(r != NULL, "%s: not in the reference", key);
            matched++;
            double a = f->values[q], b = r->value, d = fabs(a - b);
            int ok = isnan(b) ? isnan(a) : (d <= REL_TOL * fabs(b) || d <= ABS_TOL);
            if (!ok && !bad++)
                snprintf(first_bad, sizeof first_bad, "%s: %.17g, reference %.17g (relative %.3g)", key, a, b,
                         d / fabs(b));
            compared++;
        }
        /* the reference holds exactly this case's features: none was dropped */
        size_t in_ref = 0, len = strlen(cases[c].name);
        for (size_t i = 0; i < ref.n; i++)
            in_ref += !strncmp(ref.rows[i].name, cases[c].name, len) && ref.rows[i].name[len] == ',';
        ck_assert_uint_eq(in_ref, matched);
        mmdx_radiomics_features_free(f);
    }
    mmdx_phantom_cases_free(cases, n);
    ck_assert_msg(!bad, "%s with %d thread(s): %zu of %zu values differ; first %s", phantom, threads, bad, compared,
                  first_bad);
    return compared;
}

START_TEST(screening_size_patients_match_main)
{
    ck_assert_uint_eq(check_phantom("synth64", 1), 4 * 210);
    ck_assert_uint_eq(check_phantom("synth64", 2), 4 * 210);
}
END_TEST

START_TEST(chest_ct_512_matches_main)
{
    ck_assert_uint_eq(check_phantom("ct512", 1), 210);
    ck_assert_uint_eq(check_phantom("ct512", 2), 210);
}
END_TEST

START_TEST(cylinder_matches_main)
{
    ck_assert_uint_eq(check_phantom("cylinder", 2), 210);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("radiomics_phantoms");
    TCase *tc = tcase_create("equal_to_main");
    tcase_set_timeout(tc, 600);
    tcase_add_unchecked_fixture(tc, load_reference, free_reference);
    tcase_add_test(tc, screening_size_patients_match_main);
    tcase_add_test(tc, chest_ct_512_matches_main);
    tcase_add_test(tc, cylinder_matches_main);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return mmdx_test_run_suite(suite()); }
