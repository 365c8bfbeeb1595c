/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "records_suites.h"
#include "testsupport.h"

int main(void)
{
    Suite *s = suite_create("records");
    suite_add_tcase(s, records_basics_tcase());
    suite_add_tcase(s, records_fhir_tcase());
    suite_add_tcase(s, records_csv_tcase());
    return mmdx_test_run_suite(s);
}
