/* SPDX-License-Identifier: Apache-2.0 — the site key file and per-purpose keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core_suites.h"
#include "error.h"
#include "site_key.h"
#include "testsupport.h"

static const char *key_file(const char *content, mode_t mode)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/site.key", core_tmp);
    mmdx_test_write_file(path, content);
    ck_assert_int_eq(chmod(path, mode), 0);
    return path;
}

START_TEST(hex_and_raw_keys)
{
    const char *hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
    mmdx_site_key *k = NULL;
    ck_assert_int_eq(mmdx_site_key_read(&k, key_file(hex, 0600)), 0);
    uint8_t a[32], b[32], c[32];
    ck_assert_int_eq(mmdx_site_key_derive(k, MMDX_KEY_PURPOSE_MODEL, a), 0);
    ck_assert_int_eq(mmdx_site_key_derive(k, MMDX_KEY_PURPOSE_AUDIT, b), 0);
    ck_assert(memcmp(a, b, 32) != 0); /* purposes never share a key */
    mmdx_site_key_free(k);

    /* The derived key is HMAC-SHA-256(decoded key bytes, label), as openssl computes it. */
    char cmd[512], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "printf '%%s' '" MMDX_KEY_PURPOSE_MODEL "' | openssl dgst -sha256 -mac HMAC -macopt "
             "hexkey:%.64s | sed 's/.*= //'",
             hex);
    ck_assert_int_eq(mmdx_test_run(cmd, &out, NULL), 0);
    char got[65];
    mmdx_hex(a, 32, got);
    ck_assert_msg(strncmp(out, got, 64) == 0, "openssl %s vs %s", out, got);
    free(out);

    /* 40 raw bytes (not hex text) are a key too. */
    ck_assert_int_eq(mmdx_site_key_read(&k, key_file("this is not hex but it is forty bytes!!!", 0400)), 0);
    ck_assert_int_eq(mmdx_site_key_derive(k, MMDX_KEY_PURPOSE_MODEL, c), 0);
    ck_assert(memcmp(a, c, 32) != 0);
    mmdx_site_key_free(k);
}
END_TEST

START_TEST(refused_keys)
{
    mmdx_site_key *k = NULL;
    ck_assert_int_eq(mmdx_site_key_read(&k, key_file("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 0644)),
                     MMDX_EPERM);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "chmod 600"));
    ck_assert_ptr_null(strstr(mmdx_last_error(), "0011223344")); /* never the key */
    ck_assert_int_eq(mmdx_site_key_read(&k, key_file("abcdef\n", 0600)), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "3 bytes; at least 32"));
    ck_assert_int_eq(mmdx_site_key_read(&k, key_file("", 0600)), MMDX_EFORMAT);
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/none.key", core_tmp);
    ck_assert_int_eq(mmdx_site_key_read(&k, missing), MMDX_ENOTFOUND);
    ck_assert_ptr_null(k);
}
END_TEST

TCase *site_key_tcase(void)
{
    TCase *tc = tcase_create("site_key");
    tcase_add_checked_fixture(tc, core_setup, core_teardown);
    tcase_add_test(tc, hex_and_raw_keys);
    tcase_add_test(tc, refused_keys);
    return tc;
}
