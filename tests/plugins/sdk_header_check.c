/* Compiled with -std=c11 -pedantic -Werror: the SDK headers must be clean on their own. */
#include "mmdx/plugin.h"
#include "mmdx/common.h"

int mmdx_sdk_header_check_c(void);
int mmdx_sdk_header_check_c(void) { return (int)sizeof(mmdx_plugin_info) + MMDX_OK; }
