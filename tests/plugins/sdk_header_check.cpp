// Compiled as C++11 with -pedantic -Werror: the SDK headers must be usable from C++.
#include "mmdx/plugin.h"

extern "C" int mmdx_sdk_header_check_cpp(void);
extern "C" int mmdx_sdk_header_check_cpp(void)
{
    mmdx_error e = {};
    return mmdx_error_set(&e, MMDX_EINVAL, "%s", "x") + (int)sizeof(mmdx_encoder_vtable);
}
