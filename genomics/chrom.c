/* SPDX-License-Identifier: Apache-2.0 */
#include "chrom.h"

#include <string.h>

size_t mmdx_chrom_canonical(const char *name, size_t len, char *buf)
{
    if (len > 3 && (name[0] == 'c' || name[0] == 'C') && (name[1] == 'h' || name[1] == 'H') &&
        (name[2] == 'r' || name[2] == 'R')) {
        name += 3;
        len -= 3;
    }
    if (len == 1 && (name[0] == 'M' || name[0] == 'm')) {
        memcpy(buf, "MT", 3);
        return 2;
    }
    if (len >= MMDX_CHROM_MAX)
        len = MMDX_CHROM_MAX - 1;
    memcpy(buf, name, len);
    buf[len] = '\0';
    return len;
}
