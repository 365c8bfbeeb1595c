#ifndef MMDX_TEST_CORE_SUITES_H
#define MMDX_TEST_CORE_SUITES_H
#include <check.h>
TCase *csv_tcase(void);
TCase *manifest_tcase(void);
TCase *config_tcase(void);
TCase *feature_table_tcase(void);
TCase *site_key_tcase(void);
TCase *strmap_tcase(void);
extern char *core_tmp;
void core_setup(void);
void core_teardown(void);
#endif
