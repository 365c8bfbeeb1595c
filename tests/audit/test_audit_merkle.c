/* SPDX-License-Identifier: Apache-2.0 */
/* Pure parts of the audit module: the RFC 6962 Merkle tree (against the
 * Certificate Transparency test vectors), signed checkpoints, DICOM audit
 * messages, the [audit] settings. No database needed. */
#include <check.h>
#include <libxml/parser.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atna.h"
#include "checkpoint.h"
#include "config.h"
#include "error.h"
#include "hash.h"
#include "merkle.h"
#include "site_settings.h"
#include "store_internal.h"
#include "testsupport.h"

/* RFC 6962 test vectors (certificate-transparency reference implementation). */
static const char *const ct_leaves[] = {"",         "00",       "10",
                                        "2021",     "3031",     "40414243",
                                        "5051525354555657", "606162636465666768696a6b6c6d6e6f"};
static const char *const ct_roots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

static void ct_leaf_hashes(mmdx_merkle_hash out[8])
{
    for (int i = 0; i < 8; i++) {
        uint8_t buf[16];
        size_t n = strlen(ct_leaves[i]) / 2;
        if (n)
            ck_assert_int_eq(mmdx_unhex(ct_leaves[i], buf, n), 0);
        mmdx_merkle_leaf_hash(buf, n, out[i]);
    }
}

static void assert_hex(const uint8_t *h, const char *want)
{
    char hex[65];
    mmdx_hex(h, 32, hex);
    ck_assert_str_eq(hex, want);
}

START_TEST(roots_match_rfc6962_vectors)
{
    mmdx_merkle_hash lv[8], root;
    ct_leaf_hashes(lv);
    for (int n = 0; n <= 8; n++) {
        mmdx_merkle_root(lv, (uint64_t)n, root);
        assert_hex(root, ct_roots[n]);
    }
}
END_TEST

static void check_proof(const mmdx_merkle_hash *p, size_t np, const char *const *want, size_t nwant)
{
    ck_assert_int_eq(np, nwant);
    for (size_t i = 0; i < np; i++)
        assert_hex(p[i], want[i]);
}

START_TEST(proofs_match_rfc6962_vectors)
{
    mmdx_merkle_hash lv[8], *p;
    size_t np;
    ct_leaf_hashes(lv);
    static const char *const incl_0_8[] = {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                                           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                           "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"};
    static const char *const incl_5_8[] = {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                                           "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                                           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"};
    static const char *const cons_2_8[] = {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                           "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"};
    static const char *const cons_2_5[] = {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                           "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"};
    static const char *const cons_6_8[] = {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                                           "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                                           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"};
    ck_assert_int_eq(mmdx_merkle_inclusion_proof(&p, &np, lv, 8, 0), 0);
    check_proof(p, np, incl_0_8, 3);
    free(p);
    ck_assert_int_eq(mmdx_merkle_inclusion_proof(&p, &np, lv, 8, 5), 0);
    check_proof(p, np, incl_5_8, 3);
    free(p);
    ck_assert_int_eq(mmdx_merkle_consistency_proof(&p, &np, lv, 2, 8), 0);
    check_proof(p, np, cons_2_8, 2);
    free(p);
    ck_assert_int_eq(mmdx_merkle_consistency_proof(&p, &np, lv, 2, 5), 0);
    check_proof(p, np, cons_2_5, 2);
    free(p);
    ck_assert_int_eq(mmdx_merkle_consistency_proof(&p, &np, lv, 6, 8), 0);
    check_proof(p, np, cons_6_8, 3);
    free(p);
    ck_assert_int_eq(mmdx_merkle_inclusion_proof(&p, &np, lv, 8, 8), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_merkle_consistency_proof(&p, &np, lv, 9, 8), MMDX_EINVAL);
}
END_TEST

/* Every proof of every shape verifies, and every altered proof fails. */
START_TEST(all_proofs_verify_and_tampering_fails)
{
    enum { N = 37 };
    mmdx_merkle_hash lv[N], roots[N + 1];
    for (int i = 0; i < N; i++) {
        uint8_t d[2] = {(uint8_t)i, (uint8_t)(i * 7)};
        mmdx_merkle_leaf_hash(d, 2, lv[i]);
    }
    for (int n = 0; n <= N; n++)
        mmdx_merkle_root(lv, (uint64_t)n, roots[n]);
    for (uint64_t n = 1; n <= N; n++) {
        for (uint64_t i = 0; i < n; i++) {
            mmdx_merkle_hash *p;
            size_t np;
            ck_assert_int_eq(mmdx_merkle_inclusion_proof(&p, &np, lv, n, i), 0);
            ck_assert_int_eq(mmdx_merkle_verify_inclusion(i, n, lv[i], p, np, roots[n]), 0);
            if (n > 1) {
                ck_assert_int_ne(mmdx_merkle_verify_inclusion((i + 1) % n, n, lv[i], p, np, roots[n]), 0);
                ck_assert_int_ne(mmdx_merkle_verify_inclusion(i, n, lv[(i + 1) % n], p, np, roots[n]), 0);
                /* (A size change alone can keep the same path shape: sizes are signed in checkpoints.) */
                ck_assert_int_ne(mmdx_merkle_verify_inclusion(i, n, lv[i], p, np, roots[n - 1]), 0);
                p[np - 1][0] ^= 1;
                ck_assert_int_ne(mmdx_merkle_verify_inclusion(i, n, lv[i], p, np, roots[n]), 0);
            }
            free(p);
        }
        for (uint64_t m = 0; m <= n; m++) {
            mmdx_merkle_hash *p;
            size_t np;
            ck_assert_int_eq(mmdx_merkle_consistency_proof(&p, &np, lv, m, n), 0);
            ck_assert_int_eq(mmdx_merkle_verify_consistency(m, n, roots[m], roots[n], p, np), 0);
            if (m > 0 && m < n) {
                /* A rewritten old tree (different root) is not consistent. */
                mmdx_merkle_hash other;
                memcpy(other, roots[m], 32);
                other[5] ^= 0x80;
                ck_assert_int_ne(mmdx_merkle_verify_consistency(m, n, other, roots[n], p, np), 0);
                ck_assert_int_ne(mmdx_merkle_verify_consistency(m, n, roots[m], roots[n - 1], p, np), 0);
                p[0][0] ^= 1;
                ck_assert_int_ne(mmdx_merkle_verify_consistency(m, n, roots[m], roots[n], p, np), 0);
            }
            free(p);
        }
    }
}
END_TEST

/* ---- checkpoints ---- */

static mmdx_checkpoint sample_checkpoint(void)
{
    mmdx_checkpoint cp;
    memset(&cp, 0, sizeof cp);
    snprintf(cp.origin, sizeof cp.origin, "mmdx-audit/1b4e28ba-2fa1-41d2-883f-0016d3cca427");
    cp.size = 1234;
    for (int i = 0; i < 32; i++)
        cp.root[i] = (uint8_t)(i * 9);
    cp.time_us = 1795740000123456;
    return cp;
}

START_TEST(checkpoint_sign_format_parse_verify)
{
    char *dir = mmdx_test_tmpdir();
    char priv[4096], pub[4096], other[4096], otherpub[4096];
    snprintf(priv, sizeof priv, "%s/k.pem", dir);
    snprintf(pub, sizeof pub, "%s/k.pub", dir);
    snprintf(other, sizeof other, "%s/o.pem", dir);
    snprintf(otherpub, sizeof otherpub, "%s/o.pub", dir);
    ck_assert_int_eq(mmdx_checkpoint_keygen(priv, pub), 0);
    ck_assert_int_eq(mmdx_checkpoint_keygen(other, otherpub), 0);
    struct stat st;
    ck_assert_int_eq(stat(priv, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    /* Never overwrites a key. */
    ck_assert_int_eq(mmdx_checkpoint_keygen(priv, NULL), MMDX_EEXISTS);

    mmdx_checkpoint cp = sample_checkpoint();
    ck_assert_int_eq(mmdx_checkpoint_sign(&cp, priv), 0);
    char *text;
    ck_assert_int_eq(mmdx_checkpoint_format(&cp, &text), 0);
    ck_assert_ptr_nonnull(strstr(text, "time 2026-11-"));
    mmdx_checkpoint back;
    ck_assert_int_eq(mmdx_checkpoint_parse(&back, text, "cp"), 0);
    ck_assert_int_eq(back.size, 1234);
    ck_assert_int_eq(back.time_us, cp.time_us);
    ck_assert_mem_eq(back.root, cp.root, 32);
    ck_assert_int_eq(mmdx_checkpoint_verify(&back, pub), 0);
    ck_assert_int_eq(mmdx_checkpoint_verify(&back, priv), 0); /* the public half of a private key */
    ck_assert_int_eq(mmdx_checkpoint_verify(&back, otherpub), MMDX_EINTEGRITY);
    /* Any change of a signed field breaks the signature. */
    back.size = 1233;
    ck_assert_int_eq(mmdx_checkpoint_verify(&back, pub), MMDX_EINTEGRITY);
    back.size = 1234;
    back.root[0] ^= 1;
    ck_assert_int_eq(mmdx_checkpoint_verify(&back, pub), MMDX_EINTEGRITY);
    back.root[0] ^= 1;
    back.time_us++;
    ck_assert_int_eq(mmdx_checkpoint_verify(&back, pub), MMDX_EINTEGRITY);

    /* Malformed text names the line. */
    char *bad = strdup(text);
    char *p = strstr(bad, "size 1234");
    p[5] = 'x';
    ck_assert_int_eq(mmdx_checkpoint_parse(&back, bad, "cp.txt"), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "cp.txt: line 3"));
    ck_assert_int_eq(mmdx_checkpoint_parse(&back, "hello\n", "cp.txt"), MMDX_EFORMAT);
    ck_assert_int_eq(mmdx_checkpoint_parse(&back, "mmdx-audit-checkpoint v1\norigin x\n", "cp.txt"), MMDX_EFORMAT);
    free(bad);

    /* A signing key others can read is refused. */
    chmod(priv, 0644);
    ck_assert_int_eq(mmdx_checkpoint_sign(&cp, priv), MMDX_EPERM);
    /* Not an Ed25519 key. */
    char rsa[4096];
    snprintf(rsa, sizeof rsa, "%s/not-a-key.pem", dir);
    mmdx_test_write_file(rsa, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    chmod(rsa, 0600);
    ck_assert_int_eq(mmdx_checkpoint_sign(&cp, rsa), MMDX_EFORMAT);
    free(text);
    mmdx_test_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- DICOM audit messages ---- */

START_TEST(atna_messages)
{
    mmdx_audit_row row = {0};
    row.seq = 7;
    row.time = "2026-01-02T03:04:05.000006Z";
    row.db_role = "screening";
    row.os_user = "ann";
    row.host = "ws1";
    row.action = "prediction.conflict";
    row.outcome = 8;
    row.patient = "O'Brien <&> \"x\"";
    row.study_uid = "1.2.3";
    row.run_id = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
    row.detail = "{\"reason\":\"a<b\"}";
    char *xml;
    ck_assert_int_eq(mmdx_atna_format(&xml, &row, "mmdx@ws1", "Site & Co"), 0);
    ck_assert_ptr_nonnull(strstr(xml, "<EventID csd-code=\"110110\" codeSystemName=\"DCM\" originalText=\"Patient Record\"/>"));
    ck_assert_ptr_nonnull(strstr(xml, "EventActionCode=\"C\""));
    ck_assert_ptr_nonnull(strstr(xml, "EventOutcomeIndicator=\"8\""));
    ck_assert_ptr_nonnull(strstr(xml, "ParticipantObjectID=\"O&apos;Brien &lt;&amp;&gt; &quot;x&quot;\""));
    ck_assert_ptr_nonnull(strstr(xml, "AuditEnterpriseSiteID=\"Site &amp; Co\""));
    ck_assert_ptr_nonnull(strstr(xml, "csd-code=\"110180\""));
    ck_assert_ptr_nonnull(strstr(xml, "urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427"));
    ck_assert_ptr_nonnull(strstr(xml, "<EventOutcomeDescription>{\"reason\":\"a&lt;b\"}</EventOutcomeDescription>"));
    ck_assert_ptr_null(strchr(xml, '\n'));
    free(xml);
    ck_assert_str_eq(mmdx_atna_event_code("audit.export"), "110106");
    ck_assert_str_eq(mmdx_atna_event_code("audit.log"), "110101");
    ck_assert_str_eq(mmdx_atna_event_code("audit.verify"), "110101");
    ck_assert_str_eq(mmdx_atna_event_code("run.start"), "110100");
    ck_assert_str_eq(mmdx_atna_event_code("results.view"), "110110");

    /* Bytes that are not UTF-8 (the database may hold them from a client that sent them), an overlong
     * '/', a surrogate, U+FFFF and a control character: the message stays well-formed UTF-8 XML, valid
     * characters (é, 中) pass unchanged, the rest become U+FFFD. */
    row.patient = "caf\xc3\xa9 \xff\xfe \xc0\xaf \xed\xa0\x80 \xef\xbf\xbf \x01 \xe4\xb8\xad";
    row.detail = "{\"reason\":\"bad \xc3\x28 byte\"}";
    ck_assert_int_eq(mmdx_atna_format(&xml, &row, "mmdx@ws1", "Site \xe9"), 0);
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "atna.xml", "UTF-8", XML_PARSE_NONET | XML_PARSE_NOERROR |
                                                                        XML_PARSE_NOWARNING);
    ck_assert_msg(doc != NULL, "not well-formed XML: %s", xml);
    xmlFreeDoc(doc);
    ck_assert_ptr_nonnull(strstr(xml, "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd"));
    ck_assert_ptr_nonnull(strstr(xml, "\xe4\xb8\xad"));
    ck_assert_ptr_null(strstr(xml, "\xef\xbf\xbf"));
    ck_assert_ptr_nonnull(strstr(xml, "bad \xef\xbf\xbd( byte"));
    ck_assert_ptr_nonnull(strstr(xml, "Site \xef\xbf\xbd"));
    free(xml);
}
END_TEST

/* ---- [audit] settings ---- */

START_TEST(settings_from_config)
{
    char *dir = mmdx_test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/mmdx.conf", dir);
    mmdx_test_write_file(path, "[audit]\ndb = host=db.example dbname=mmdx\nsite_key_file = keys/site.key\n"
                               "pseudonymise = yes\ncheckpoint_dir = /var/lib/cp\nsite_id = Example\n");
    mmdx_config *c;
    ck_assert_int_eq(mmdx_config_load(&c, path), 0);
    mmdx_audit_settings s;
    ck_assert_int_eq(mmdx_audit_settings_load(&s, c), 0);
    ck_assert_str_eq(s.db, "host=db.example dbname=mmdx");
    char want[4096];
    snprintf(want, sizeof want, "%s/keys/site.key", dir);
    ck_assert_str_eq(s.site_key_file, want);
    ck_assert_int_eq(s.pseudonymise, 1);
    ck_assert_str_eq(s.checkpoint_dir, "/var/lib/cp");
    ck_assert_str_eq(s.site_id, "Example");
    mmdx_audit_settings_clear(&s);
    mmdx_config_free(c);

    mmdx_test_write_file(path, "[audit]\npseudonymise = maybe\n");
    ck_assert_int_eq(mmdx_config_load(&c, path), 0);
    ck_assert_int_eq(mmdx_audit_settings_load(&s, c), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), ":2:"));
    mmdx_config_free(c);
    mmdx_test_write_file(path, "[audit]\npasword = x\n");
    ck_assert_int_eq(mmdx_config_load(&c, path), 0);
    ck_assert_int_eq(mmdx_audit_settings_load(&s, c), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "unknown key \"pasword\""));
    mmdx_config_free(c);
    mmdx_test_rmtree(dir);
    free(dir);
}
END_TEST

/*
 * The prediction content hash is a stored format: every version must keep
 * hashing as it did, or verify would call old rows tampered. The expected
 * digests were computed outside mmdx (Python's hashlib) from the layout in
 * docs/audit.md: the version tag with its NUL, then length-prefixed texts,
 * big-endian probability bits, decision, and for v2/v3 the counted vectors.
 */
START_TEST(prediction_hash_versions_are_stable)
{
    static const char *run = "0b9f3c1e-2a4d-4e6f-8a1b-3c5d7e9f0a2b";
    const double emb[2] = {0.25, -1.5}, tok[4] = {1.0, -0.0, NAN, -NAN};
    uint8_t h[32];
    char hex[65];
    mmdx_audit__prediction_hash(run, "P00042", 1, "1.2.840.1", 0.625, 1, "{\"imaging\":0.5}", "{\"ct\":\"ab\"}",
                                NULL, 0, NULL, 0, h);
    mmdx_hex(h, 32, hex);
    ck_assert_str_eq(hex, "24d0cbb74093241a1a1f15d0a9549758584615e5140e729042af74e3f5c2744c");
    mmdx_audit__prediction_hash(run, "P00042", 1, "1.2.840.1", 0.625, 1, "{\"imaging\":0.5}", "{\"ct\":\"ab\"}",
                                emb, 2, NULL, 0, h);
    mmdx_hex(h, 32, hex);
    ck_assert_str_eq(hex, "5bef0ae6a6933279c24f961fd164a32eb951de978ca0ede3d2b2ef5b7b65ec38");
    /* v3: every NaN (either sign, any payload) hashes as one pattern; -0.0 keeps its sign */
    mmdx_audit__prediction_hash(run, "P00042", 1, "1.2.840.1", 0.625, 1, "{\"imaging\":0.5}", "{\"ct\":\"ab\"}",
                                emb, 2, tok, 4, h);
    mmdx_hex(h, 32, hex);
    ck_assert_str_eq(hex, "60d7b3cffb147a73a8cc72b8f1e7c3bdc12599eccf49039ba9dadc018e92b167");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("audit_merkle");
    TCase *t = tcase_create("pure");
    tcase_add_test(t, roots_match_rfc6962_vectors);
    tcase_add_test(t, proofs_match_rfc6962_vectors);
    tcase_add_test(t, all_proofs_verify_and_tampering_fails);
    tcase_add_test(t, checkpoint_sign_format_parse_verify);
    tcase_add_test(t, atna_messages);
    tcase_add_test(t, prediction_hash_versions_are_stable);
    tcase_add_test(t, settings_from_config);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return mmdx_test_run_suite(suite());
}
