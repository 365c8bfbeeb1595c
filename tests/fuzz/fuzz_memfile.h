/*
 * tests/fuzz/fuzz_memfile.h — a fuzz input as a file, for readers that take
 * a path (htslib, DCMTK's mask readers): an anonymous memory file
 * (memfd_create), named /proc/self/fd/N, never on disk. Define _GNU_SOURCE
 * before the first #include.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_FUZZ_MEMFILE_H
#define MMDX_FUZZ_MEMFILE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* Call fn(path, ctx) with data[0..size) behind path; nothing when the memory file cannot be made. */
static inline void mmdx_fuzz_as_file(const uint8_t *data, size_t size, void (*fn)(const char *path, void *ctx),
                                     void *ctx)
{
    int fd = memfd_create("mmdx-fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        fn(path, ctx);
    }
    close(fd);
}

#endif
