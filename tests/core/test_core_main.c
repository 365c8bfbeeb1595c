/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>

#include "core_suites.h"
#include "testsupport.h"

char *core_tmp;

void core_setup(void) { core_tmp = mmdx_test_tmpdir(); }
void core_teardown(void)
{
    mmdx_test_rmtree(core_tmp);
    free(core_tmp);
}

int main(void)
{
    Suite *s = suite_create("core");
    suite_add_tcase(s, csv_tcase());
    suite_add_tcase(s, manifest_tcase());
    suite_add_tcase(s, config_tcase());
    suite_add_tcase(s, feature_table_tcase());
    suite_add_tcase(s, site_key_tcase());
    suite_add_tcase(s, strmap_tcase());
    return mmdx_test_run_suite(s);
}
