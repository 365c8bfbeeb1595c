/* SPDX-License-Identifier: Apache-2.0 — helpers shared by the records test programs. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "records_suites.h"
#include "testsupport.h"

const char *records_fixture_dir(void)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/records/data", mmdx_test_source_dir());
    return dir;
}

double records_feature(mmdx_records *r, const double *values, const char *name)
{
    const char *const *names;
    size_t n = mmdx_records_features(r, &names);
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return values[i];
    ck_abort_msg("no feature %s", name);
    return NAN;
}
