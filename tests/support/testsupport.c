/* SPDX-License-Identifier: Apache-2.0 */
#define _XOPEN_SOURCE 700
#include "testsupport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *mmdx_test_build_dir(void) { return MMDX_TEST_BUILD_DIR; }
const char *mmdx_test_source_dir(void) { return MMDX_TEST_SOURCE_DIR; }

const char *mmdx_test_data_dir(void)
{
    static char resolved[4096];
    const char *env = getenv("MMDX_TEST_DATA");
    const char *dir = (env && *env) ? env : MMDX_TEST_DATA_DEFAULT;
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (!realpath(dir, resolved))
            snprintf(resolved, sizeof resolved, "%s", dir);
        return resolved;
    }
    const char *ci = getenv("CI");
    if (ci && strcmp(ci, "true") == 0) {
        fprintf(stderr, "test data folder %s is missing, and CI=true requires it\n", dir);
        exit(1);
    }
    return NULL;
}

const char *mmdx_test_data_or_skip(void)
{
    const char *d = mmdx_test_data_dir();
    if (!d) {
        fprintf(stderr, "SKIP: shared test data not found (set MMDX_TEST_DATA)\n");
        exit(MMDX_TEST_SKIP);
    }
    return d;
}

char *mmdx_test_data_path(const char *rel)
{
    const char *d = mmdx_test_data_or_skip();
    size_t n = strlen(d) + strlen(rel) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", d, rel);
    return p;
}

char *mmdx_test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/mmdx-test-XXXXXX", (base && *base) ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    ck_assert_msg(d != NULL, "mkdtemp: %s", strerror(errno));
    return strdup(d);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

void mmdx_test_rmtree(const char *dir)
{
    if (dir)
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void mmdx_test_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
    ck_assert_int_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    ck_assert_int_eq(fclose(f), 0);
}

char *mmdx_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static char *slurp_fd(int fd)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ssize_t got;
    while ((got = read(fd, buf + n, cap - n - 1)) > 0) {
        n += (size_t)got;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[n] = '\0';
    return buf;
}

int mmdx_test_run(const char *cmdline, char **out, char **err)
{
    char outp[] = "/tmp/mmdx-run-out-XXXXXX", errp[] = "/tmp/mmdx-run-err-XXXXXX";
    int ofd = mkstemp(outp), efd = mkstemp(errp);
    if (ofd < 0 || efd < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(ofd, 1);
        dup2(efd, 2);
        execl("/bin/sh", "sh", "-c", cmdline, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    lseek(ofd, 0, SEEK_SET);
    lseek(efd, 0, SEEK_SET);
    if (out)
        *out = slurp_fd(ofd);
    if (err)
        *err = slurp_fd(efd);
    close(ofd);
    close(efd);
    unlink(outp);
    unlink(errp);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int mmdx_test_spawn(const char *cmdline)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execl("/bin/sh", "sh", "-c", cmdline, (char *)NULL);
        _exit(127);
    }
    return (int)pid;
}

char *mmdx_test_strf(const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, again);
    va_end(again);
    ck_assert_ptr_nonnull(s);
    return s;
}

const char *mmdx_test_mmdx_bin(void)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/bin/mmdx", MMDX_TEST_BUILD_DIR);
    return path;
}

/* Write `s` with tabs and line breaks turned into spaces (one field, one line). */
static void put_field(const char *s)
{
    for (; *s; s++)
        putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

void mmdx_test_reliability(int row, const char *case_name, int pass, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *figure = malloc(n >= 0 ? (size_t)n + 1 : 1);
    ck_assert_ptr_nonnull(figure);
    va_start(ap, fmt);
    vsnprintf(figure, n >= 0 ? (size_t)n + 1 : 1, fmt, ap);
    va_end(ap);
    /* Flushed before and after: Check forks each test, and a crash must not lose earlier lines. */
    fflush(stdout);
    printf("MMDX-RELIABILITY\t%d\t", row);
    put_field(case_name);
    printf("\t%s\t", pass ? "pass" : "fail");
    put_field(figure);
    putchar('\n');
    fflush(stdout);
    free(figure);
}

int mmdx_test_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

void mmdx_test_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
