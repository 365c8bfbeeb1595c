/* SPDX-License-Identifier: Apache-2.0 — loader: ABI negotiation, refusals, trust checks. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "encoders.h"
#include "error.h"
#include "loader.h"
#include "testsupport.h"

static char *tmp;

static void setup(void) { tmp = mmdx_test_tmpdir(); }
static void teardown(void)
{
    mmdx_test_rmtree(tmp);
    free(tmp);
}

/* Copy fixture <variant>.so into tmp/<subdir>/<as> and return the folder. */
static char *stage(const char *subdir, const char *variant, const char *as)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", tmp, subdir);
    mkdir(dir, 0755);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cp '%s/%s.so' '%s/%s'", MMDX_FIXTURE_DIR, variant, dir, as);
    ck_assert_int_eq(system(cmd), 0);
    return dir;
}

static mmdx_registry *scan(const char *dir, int *loaded)
{
    mmdx_registry *r = NULL;
    ck_assert_int_eq(mmdx_registry_new(&r, NULL, NULL), 0);
    *loaded = mmdx_registry_scan(r, dir);
    return r;
}

static void assert_refused(const char *variant, const char *expect)
{
    char sub[64];
    snprintf(sub, sizeof sub, "d_%s", variant);
    const char *dir = stage(sub, variant, "plugin.so");
    int loaded;
    mmdx_registry *r = scan(dir, &loaded);
    ck_assert_int_eq(loaded, 0);
    ck_assert_uint_eq(mmdx_registry_count(r), 0);
    ck_assert_uint_eq(mmdx_registry_refusals(r), 1);
    const char *why = mmdx_registry_refusal(r, 0);
    ck_assert_msg(strstr(why, expect) != NULL, "refusal of %s: \"%s\" lacks \"%s\"", variant, why,
                  expect);
    ck_assert_msg(strstr(why, "plugin.so") != NULL, "refusal names the file: %s", why);
    mmdx_registry_free(r);
}

START_TEST(good_plugin_loads_and_encodes)
{
    const char *dir = stage("good", "good", "mmdx_testenc.so");
    int loaded;
    mmdx_registry *r = scan(dir, &loaded);
    ck_assert_int_eq(loaded, 1);
    const mmdx_plugin *p = mmdx_registry_find(r, "testenc");
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->info.kind, MMDX_PLUGIN_ENCODER);
    ck_assert_str_eq(p->info.modality, "testmod");
    ck_assert_str_eq(p->info.input_column, "testinput");
    ck_assert_str_eq(p->info.version, "1.0.0");
    ck_assert_uint_eq(p->info.abi_version, MMDX_ABI_VERSION);

    /* SHA-256 agrees with coreutils. */
    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd, "sha256sum '%s' | cut -c1-64", p->path);
    ck_assert_int_eq(mmdx_test_run(cmd, &out, NULL), 0);
    out[strcspn(out, "\n")] = '\0';
    ck_assert_str_eq(p->sha256, out);
    free(out);

    /* Through the encoder set: open with config, encode a file. */
    mmdx_config *c = NULL;
    char conf[4096], input[4096];
    snprintf(conf, sizeof conf, "%s/site.conf", tmp);
    mmdx_test_write_file(conf, "[testenc]\nscale = 2\n");
    snprintf(input, sizeof input, "%s/in.txt", tmp);
    mmdx_test_write_file(input, "1\n2\n# comment\n6\n");
    ck_assert_int_eq(mmdx_config_load(&c, conf), 0);
    mmdx_encoder_set *set = NULL;
    ck_assert_int_eq(mmdx_encoder_set_open(&set, r, c, 1, NULL, 0), 0);
    ck_assert_uint_eq(mmdx_encoder_set_count(set), 1);
    ck_assert_uint_eq(mmdx_encoder_set_n_features(set, 0), 4);
    double v[4];
    int32_t present = 0;
    mmdx_encoder_input in;
    mmdx_encoder_input_init(&in, "P1", input, NULL, NULL);
    ck_assert_int_eq(mmdx_encoder_set_encode_one(set, 0, &in, v, &present), 0);
    ck_assert_int_eq(present, 1);
    ck_assert(v[0] == 3 && v[1] == 6 && v[2] == 2 && v[3] == 12);

    /* A malformed input: error names file and line. */
    mmdx_test_write_file(input, "1\nabc\n");
    ck_assert_int_eq(mmdx_encoder_set_encode_one(set, 0, &in, v, &present), MMDX_EFORMAT);
    ck_assert_msg(strstr(mmdx_last_error(), "in.txt: line 2") != NULL, "%s", mmdx_last_error());
    mmdx_encoder_set_free(set);
    mmdx_config_free(c);

    /* An unknown configuration key is reported with file and line by the plugin. */
    mmdx_test_write_file(conf, "[testenc]\n\nscal = 2\n");
    ck_assert_int_eq(mmdx_config_load(&c, conf), 0);
    ck_assert_int_eq(mmdx_encoder_set_open(&set, r, c, 1, NULL, 0), MMDX_EINVAL);
    ck_assert_msg(strstr(mmdx_last_error(), "site.conf: line 3: unknown key \"scal\"") != NULL, "%s",
                  mmdx_last_error());
    mmdx_config_free(c);
    mmdx_registry_free(r);
}
END_TEST

START_TEST(incompatible_plugins_refused)
{
    char major_msg[64];
    snprintf(major_msg, sizeof major_msg, "built for plugin ABI 2.%d,", MMDX_ABI_VERSION_MINOR);
    assert_refused("abi_major", major_msg);
    assert_refused("abi_minor", "newer than this host's");
    assert_refused("small_info", "struct_size 16 is smaller");
    assert_refused("small_vtable", "function table size 8");
    assert_refused("reserved", "reserved field");
    assert_refused("no_symbol", "no mmdx_plugin_describe symbol");
    assert_refused("no_encode", "lacks a required function");
    assert_refused("bad_kind", "unknown kind 7");
}
END_TEST

START_TEST(corrupt_plugin_refused_and_scan_goes_on)
{
    const char *dir = stage("mixed", "good", "b_good.so");
    stage("mixed", "abi_major", "c_old.so");
    char path[4096];
    snprintf(path, sizeof path, "%s/a_corrupt.so", dir);
    mmdx_test_write_file(path, "this is not an ELF file\n");
    int loaded;
    mmdx_registry *r = scan(dir, &loaded);
    ck_assert_int_eq(loaded, 1);
    ck_assert_ptr_nonnull(mmdx_registry_find(r, "testenc"));
    ck_assert_uint_eq(mmdx_registry_refusals(r), 2);
    ck_assert_ptr_nonnull(strstr(mmdx_registry_refusal(r, 0), "a_corrupt.so"));
    ck_assert_ptr_nonnull(strstr(mmdx_registry_refusal(r, 0), "not a loadable shared object"));
    ck_assert_ptr_nonnull(strstr(mmdx_registry_refusal(r, 1), "c_old.so"));
    mmdx_registry_free(r);
}
END_TEST

START_TEST(duplicates_refused)
{
    const char *dir = stage("dup", "good", "a.so");
    stage("dup", "good", "b.so");
    stage("dup", "same_modality", "c.so");
    int loaded;
    mmdx_registry *r = scan(dir, &loaded);
    ck_assert_int_eq(loaded, 1);
    ck_assert_uint_eq(mmdx_registry_refusals(r), 2);
    ck_assert_ptr_nonnull(strstr(mmdx_registry_refusal(r, 0), "a plugin named \"testenc\" is already loaded"));
    ck_assert_ptr_nonnull(strstr(mmdx_registry_refusal(r, 1), "modality \"testmod\" is already provided"));
    ck_assert_ptr_nonnull(strstr(mmdx_registry_get(r, 0)->path, "/a.so"));
    mmdx_registry_free(r);
}
END_TEST

START_TEST(world_writable_refused)
{
    const char *dir = stage("ww", "good", "p.so");
    char path[4096];
    snprintf(path, sizeof path, "%s/p.so", dir);
    ck_assert_int_eq(chmod(path, 0666), 0);
    int loaded;
    mmdx_registry *r = scan(dir, &loaded);
    ck_assert_int_eq(loaded, 0);
    ck_assert_ptr_nonnull(strstr(mmdx_registry_refusal(r, 0), "world-writable"));
    mmdx_registry_free(r);

    ck_assert_int_eq(chmod(path, 0644), 0);
    ck_assert_int_eq(chmod(dir, 0777), 0);
    r = scan(dir, &loaded);
    ck_assert_int_lt(loaded, 0);
    ck_assert_uint_eq(mmdx_registry_count(r), 0);
    ck_assert_ptr_nonnull(strstr(mmdx_registry_refusal(r, 0), "plugin folder is world-writable"));
    mmdx_registry_free(r);
    ck_assert_int_eq(chmod(dir, 0755), 0);
}
END_TEST

START_TEST(foreign_owner_refused)
{
    if (geteuid() != 0)
        return; /* only root can give a file away; CI runs this as root */
    const char *dir = stage("owner", "good", "p.so");
    char path[4096];
    snprintf(path, sizeof path, "%s/p.so", dir);
    ck_assert_int_eq(chown(path, 4242, 4242), 0);
    int loaded;
    mmdx_registry *r = scan(dir, &loaded);
    ck_assert_int_eq(loaded, 0);
    ck_assert_ptr_nonnull(strstr(mmdx_registry_refusal(r, 0), "owned by uid 4242"));
    mmdx_registry_free(r);
}
END_TEST

START_TEST(plugin_path_env)
{
    char *d1 = strdup(stage("env1", "good", "x.so"));
    char *d2 = strdup(stage("env2", "second", "y.so"));
    char val[8300];
    snprintf(val, sizeof val, "%s::%s/missing:%s", d1, tmp, d2);
    setenv("MMDX_PLUGIN_PATH", val, 1);
    mmdx_registry *r = NULL;
    ck_assert_int_eq(mmdx_registry_new(&r, NULL, NULL), 0);
    mmdx_registry_scan_default(r, NULL);
    ck_assert_ptr_nonnull(mmdx_registry_find(r, "testenc"));
    ck_assert_ptr_nonnull(mmdx_registry_find(r, "testenc2"));
    mmdx_registry_free(r);
    unsetenv("MMDX_PLUGIN_PATH");
    free(d1);
    free(d2);
}
END_TEST

START_TEST(abi_1_0_fusion_plugin_loads_and_works)
{
    const char *dir = stage("v10", "fusion_v10", "mmdx_prevalence10.so");
    int loaded;
    mmdx_registry *r = scan(dir, &loaded);
    ck_assert_int_eq(loaded, 1);
    const mmdx_plugin *p = mmdx_registry_find(r, "prevalence10");
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->info.abi_version, 1u << 16);
    /* the host's copy of the shorter table: the 1.1 entries zero-filled, never read past the plugin's */
    ck_assert_ptr_null(p->fusion.embed_dim);
    ck_assert_ptr_null(p->fusion.embed);
    ck_assert_ptr_null(p->fusion.impute);
    double x[4] = {1, 2, 3, 4};
    uint8_t present[4] = {1, 1, 1, 0};
    int32_t y[4] = {1, 0, 0, 1};
    const char *names[1] = {"m.f"}, *mods[1] = {"m"};
    uint32_t fm[1] = {0};
    mmdx_dataset d = {MMDX_ABI_VERSION, sizeof d, 4, 1, names, fm, 1, mods, x, present, y, NULL};
    mmdx_fusion_params prm = {MMDX_ABI_VERSION, sizeof prm, NULL, 1, NULL, 1, 0};
    mmdx_error err = {0};
    void *model = NULL, *again = NULL, *buf = NULL;
    ck_assert_int_eq(p->fusion.fit(&model, &prm, &d, &err), 0);
    size_t len = 0;
    ck_assert_int_eq(p->fusion.save(model, &buf, &len, &err), 0);
    ck_assert_int_eq(p->fusion.load(&again, buf, len, &err), 0);
    double prob[4], contrib[4];
    ck_assert_int_eq(p->fusion.predict(again, &d, prob, contrib, &err), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq(prob[i], 0.5);
    p->fusion.free_buffer(buf);
    p->fusion.free_model(model);
    p->fusion.free_model(again);
    mmdx_registry_free(r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("loader");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, good_plugin_loads_and_encodes);
    tcase_add_test(tc, abi_1_0_fusion_plugin_loads_and_works);
    tcase_add_test(tc, incompatible_plugins_refused);
    tcase_add_test(tc, corrupt_plugin_refused_and_scan_goes_on);
    tcase_add_test(tc, duplicates_refused);
    tcase_add_test(tc, world_writable_refused);
    tcase_add_test(tc, foreign_owner_refused);
    tcase_add_test(tc, plugin_path_env);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return mmdx_test_run_suite(suite()); }
