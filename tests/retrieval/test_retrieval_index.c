/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * retrieval/ann.h (FAISS HNSW behind it) and retrieval/index_file.h: recall@10
 * against exact search, built at once and in two appends; save/load round
 * trip; missing, truncated, bit-flipped, foreign and future files refused
 * with the file named (damage is caught by the header and CRC-32 before FAISS
 * reads the payload; the ASan pass checks nothing leaks); bad arguments; the
 * index record (rows file with the index's SHA-256) saved, loaded and refused
 * when it does not match. No timing is asserted (bench/retrieval/).
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ann.h"
#include "error.h"
#include "exact.h"
#include "hash.h"
#include "index_file.h"
#include "rng.h"
#include "rows.h"
#include "testsupport.h"

/* --- the ANN index ------------------------------------------------------ */

enum { N = 20000, DIM = 32, NQ = 200, K = 10 };

static float *rows, *queries;
static int64_t *truth;
static char *tmp;

static void setup(void)
{
    rows = mmdx_test_rows(N, DIM, 42, 1);
    queries = mmdx_test_rows(NQ, DIM, 43, 1);
    truth = malloc(NQ * K * sizeof *truth);
    float *s = malloc(NQ * K * sizeof *s);
    ck_assert_int_eq(mmdx_exact_search(rows, N, DIM, queries, NQ, K, truth, s), 0);
    free(s);
    tmp = mmdx_test_tmpdir();
}

static void teardown(void)
{
    free(rows);
    free(queries);
    free(truth);
    mmdx_test_rmtree(tmp);
    free(tmp);
}

static char *tmp_path(const char *name)
{
    size_t len = strlen(tmp) + strlen(name) + 2;
    char *p = malloc(len);
    snprintf(p, len, "%s/%s", tmp, name);
    return p;
}

/* recall@K against exact search; also that every id's similarity is its row's. */
static double recall(const mmdx_ann *a, int64_t *ids, float *sims)
{
    ck_assert_int_eq(mmdx_ann_search(a, queries, NQ, K, ids, sims), 0);
    size_t hit = 0;
    for (size_t i = 0; i < NQ; i++)
        for (size_t j = 0; j < K; j++) {
            int64_t id = ids[i * K + j];
            ck_assert_int_ge(id, 0);
            ck_assert_int_lt(id, N);
            ck_assert_double_le(fabs(sims[i * K + j] - mmdx_test_dot(queries + i * DIM, rows + (size_t)id * DIM, DIM)), 1e-5);
            for (size_t t = 0; t < K; t++)
                hit += truth[i * K + t] == id;
        }
    return (double)hit / (NQ * K);
}

/* An index of the first n rows, added at once. */
static mmdx_ann *index_of(size_t n)
{
    mmdx_ann *a = NULL;
    ck_assert_int_eq(mmdx_ann_new(&a, DIM, NULL), 0);
    ck_assert_int_eq(mmdx_ann_add(a, rows, n), 0);
    return a;
}

static mmdx_ann *build(size_t first_batch)
{
    mmdx_ann *a = NULL;
    ck_assert_int_eq(mmdx_ann_new(&a, DIM, NULL), 0);
    ck_assert_int_eq(mmdx_ann_add(a, rows, first_batch), 0);
    ck_assert_uint_eq(mmdx_ann_count(a), first_batch);
    ck_assert_int_eq(mmdx_ann_add(a, rows + first_batch * DIM, N - first_batch), 0);
    ck_assert_uint_eq(mmdx_ann_count(a), N);
    ck_assert_uint_eq(mmdx_ann_dim(a), DIM);
    return a;
}

START_TEST(ann_recall_at_once_and_appended)
{
    int64_t ids[NQ * K];
    float sims[NQ * K];
    mmdx_ann *a = build(N);
    double r1 = recall(a, ids, sims);
    mmdx_ann_free(a);
    a = build(N / 2); /* 10,000 then 10,000 more: ids continue from the first batch */
    double r2 = recall(a, ids, sims);
    mmdx_ann_free(a);
    printf("recall@10: %.4f at once, %.4f appended\n", r1, r2);
    ck_assert_double_ge(r1, 0.95);
    ck_assert_double_ge(r2, 0.95);
}
END_TEST

START_TEST(ann_single_queries_match_batch)
{
    mmdx_ann_options o;
    mmdx_ann_options_init(&o);
    o.n_threads = 2;
    mmdx_ann *a = NULL;
    ck_assert_int_eq(mmdx_ann_new(&a, DIM, &o), 0);
    ck_assert_int_eq(mmdx_ann_add(a, rows, N), 0);
    int64_t batch[20 * K], one[K];
    float bs[20 * K], os[K];
    ck_assert_int_eq(mmdx_ann_search(a, queries, 20, K, batch, bs), 0);
    for (size_t i = 0; i < 20; i++) {
        ck_assert_int_eq(mmdx_ann_search(a, queries + i * DIM, 1, K, one, os), 0);
        ck_assert_mem_eq(one, batch + i * K, sizeof one);
        ck_assert_mem_eq(os, bs + i * K, sizeof os);
    }
    mmdx_ann_free(a);
}
END_TEST

START_TEST(ann_small_and_empty)
{
    mmdx_ann *a = NULL;
    ck_assert_int_eq(mmdx_ann_new(&a, DIM, NULL), 0);
    int64_t ids[2 * K];
    float sims[2 * K];
    ck_assert_int_eq(mmdx_ann_search(a, queries, 2, K, ids, sims), 0);
    for (size_t i = 0; i < 2 * K; i++)
        ck_assert(ids[i] == -1 && isinf(sims[i]) && sims[i] < 0);
    ck_assert_int_eq(mmdx_ann_add(a, rows, 3), 0);
    ck_assert_int_eq(mmdx_ann_search(a, queries, 2, K, ids, sims), 0);
    int64_t ref[2 * K];
    float rs[2 * K];
    ck_assert_int_eq(mmdx_exact_search(rows, 3, DIM, queries, 2, K, ref, rs), 0);
    ck_assert_mem_eq(ids, ref, sizeof ids);
    for (size_t i = 0; i < 2 * K; i++)
        ck_assert(ref[i] < 0 ? isinf(sims[i]) : fabsf(sims[i] - rs[i]) < 1e-5f);
    mmdx_ann_free(a);
}
END_TEST

START_TEST(ann_save_load_round_trip)
{
    mmdx_ann *a = build(N);
    char *path = tmp_path("index.ann");
    ck_assert_int_eq(mmdx_ann_save(a, path), 0);
    ck_assert_int_eq(mmdx_ann_save(a, path), 0); /* replacing it */
    mmdx_ann *b = NULL;
    ck_assert_int_eq(mmdx_ann_load(&b, path, DIM, NULL), 0);
    ck_assert_uint_eq(mmdx_ann_count(b), N);
    ck_assert_uint_eq(mmdx_ann_dim(b), DIM);
    int64_t ia[NQ * K], ib[NQ * K];
    float sa[NQ * K], sb[NQ * K];
    ck_assert_int_eq(mmdx_ann_search(a, queries, NQ, K, ia, sa), 0);
    ck_assert_int_eq(mmdx_ann_search(b, queries, NQ, K, ib, sb), 0);
    ck_assert_mem_eq(ia, ib, sizeof ia);
    ck_assert_mem_eq(sa, sb, sizeof sa);
    /* appending to a loaded index continues its ids */
    ck_assert_int_eq(mmdx_ann_add(b, queries, 1), 0);
    ck_assert_uint_eq(mmdx_ann_count(b), N + 1);
    ck_assert_int_eq(mmdx_ann_search(b, queries, 1, 1, ib, sb), 0);
    ck_assert_int_eq(ib[0], N);
    /* no temporary left beside it */
    DIR *d = opendir(tmp);
    size_t entries = 0;
    for (struct dirent *e; (e = readdir(d));)
        entries += e->d_name[0] != '.';
    closedir(d);
    ck_assert_uint_eq(entries, 1);
    mmdx_ann_free(b);
    /* the wrong dimension */
    ck_assert_int_eq(mmdx_ann_load(&b, path, DIM + 1, NULL), MMDX_EFORMAT);
    ck_assert_ptr_null(b);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), path));
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "expected 33"));
    mmdx_ann_free(a);
    free(path);
}
END_TEST

static void expect_load_failure(const char *path, int code, const char *why)
{
    mmdx_ann *b = (mmdx_ann *)&b; /* must be reset to NULL */
    ck_assert_int_eq(mmdx_ann_load(&b, path, DIM, NULL), code);
    ck_assert_ptr_null(b);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), path));
    ck_assert_msg(strstr(mmdx_last_error(), why), "'%s' lacks '%s'", mmdx_last_error(), why);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(ann_load_refuses_bad_files)
{
    mmdx_ann *a = index_of(1000);
    char *path = tmp_path("good.ann");
    ck_assert_int_eq(mmdx_ann_save(a, path), 0);
    mmdx_ann_free(a);
    size_t len;
    unsigned char *good = (unsigned char *)mmdx_test_read_file(path, &len);
    ck_assert_ptr_nonnull(good);

    char *p = tmp_path("missing.ann");
    expect_load_failure(p, MMDX_ENOTFOUND, "No such file");
    free(p);

    p = tmp_path("truncated.ann");
    write_bytes(p, good, len / 2);
    expect_load_failure(p, MMDX_EFORMAT, "truncated");
    write_bytes(p, good, 20);
    expect_load_failure(p, MMDX_EFORMAT, "not an mmdx ANN index");
    write_bytes(p, good, 0);
    expect_load_failure(p, MMDX_EFORMAT, "not an mmdx ANN index");
    free(p);

    p = tmp_path("damaged.ann");
    good[len / 2] ^= 0x40;
    write_bytes(p, good, len);
    expect_load_failure(p, MMDX_EFORMAT, "checksum");
    good[len / 2] ^= 0x40;
    free(p);

    p = tmp_path("garbage.ann");
    unsigned char junk[5000];
    mmdx_rng r;
    mmdx_rng_seed(&r, 7);
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)mmdx_rng_next(&r);
    write_bytes(p, junk, sizeof junk);
    expect_load_failure(p, MMDX_EFORMAT, "not an mmdx ANN index");
    /* a valid header and checksum around what FAISS cannot read: its
     * exception must come back as an error */
    memcpy(junk, good, 40);
    memcpy(junk + 40, "IxXX", 4);
    uint64_t payload = sizeof junk - 40;
    for (int i = 0; i < 8; i++)
        junk[24 + i] = (unsigned char)(payload >> (8 * i));
    uint32_t crc = 0xffffffffu; /* CRC-32 (zlib's polynomial), written out here */
    for (size_t i = 40; i < sizeof junk; i++) {
        crc ^= junk[i];
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    crc ^= 0xffffffffu;
    for (int i = 0; i < 4; i++)
        junk[32 + i] = (unsigned char)(crc >> (8 * i));
    write_bytes(p, junk, sizeof junk);
    expect_load_failure(p, MMDX_EFORMAT, "FAISS");
    free(p);

    /* a future format version */
    p = tmp_path("future.ann");
    good[8] = 9;
    write_bytes(p, good, len);
    expect_load_failure(p, MMDX_EUNSUPPORTED, "version 9");
    free(p);

    expect_load_failure(tmp, MMDX_EIO, "not a regular file");
    free(good);
    free(path);
}
END_TEST

/* Every single-bit flip (one bit of each header byte, one of every 97th
 * payload byte) and every cut (each header length, every 61st payload length)
 * of a saved index is refused, naming the file. Flips in the payload and all
 * cuts are caught by the size or CRC-32 check, before FAISS reads a byte. */
START_TEST(ann_load_refuses_every_flip_and_cut)
{
    mmdx_ann *a = index_of(300);
    char *path = tmp_path("good.ann"), *bad = tmp_path("bad.ann");
    ck_assert_int_eq(mmdx_ann_save(a, path), 0);
    mmdx_ann_free(a);
    size_t len;
    unsigned char *good = (unsigned char *)mmdx_test_read_file(path, &len);
    ck_assert_ptr_nonnull(good);
    ck_assert_uint_gt(len, 40 + 300 * DIM * sizeof(float));
    size_t flips = 0, cuts = 0;
    for (size_t at = 0; at < len; at += at < 40 ? 1 : 97) {
        good[at] ^= (unsigned char)(1u << (at % 8));
        write_bytes(bad, good, len);
        good[at] ^= (unsigned char)(1u << (at % 8));
        mmdx_ann *b = (mmdx_ann *)&b;
        int rc = mmdx_ann_load(&b, bad, DIM, NULL);
        ck_assert_msg(rc == MMDX_EFORMAT || rc == MMDX_EUNSUPPORTED, "bit %zu of byte %zu flipped: %d", at % 8, at,
                      rc);
        ck_assert_ptr_null(b);
        ck_assert_ptr_nonnull(strstr(mmdx_last_error(), bad));
        if (at >= 40)
            ck_assert_msg(strstr(mmdx_last_error(), "checksum mismatch"), "byte %zu: %s", at, mmdx_last_error());
        flips++;
    }
    for (size_t cut = 0; cut < len; cut += cut < 40 ? 1 : 61) {
        write_bytes(bad, good, cut);
        mmdx_ann *b = (mmdx_ann *)&b;
        ck_assert_int_eq(mmdx_ann_load(&b, bad, DIM, NULL), MMDX_EFORMAT);
        ck_assert_ptr_null(b);
        ck_assert_ptr_nonnull(strstr(mmdx_last_error(), bad));
        ck_assert_ptr_nonnull(strstr(mmdx_last_error(), cut < 40 ? "not an mmdx ANN index" : "truncated"));
        cuts++;
    }
    printf("index file of %zu bytes: %zu flips and %zu cuts refused\n", len, flips, cuts);
    free(good);
    free(path);
    free(bad);
}
END_TEST

START_TEST(ann_bad_arguments)
{
    mmdx_ann *a = NULL;
    mmdx_ann_options o;
    mmdx_ann_options_init(&o);
    ck_assert_int_eq(mmdx_ann_new(&a, 0, &o), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_ann_new(&a, 5000, &o), MMDX_EINVAL);
    o.m = 1;
    ck_assert_int_eq(mmdx_ann_new(&a, DIM, &o), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "m = 1"));
    mmdx_ann_options_init(&o);
    o.ef_search = 0;
    ck_assert_int_eq(mmdx_ann_new(&a, DIM, &o), MMDX_EINVAL);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(mmdx_ann_new(&a, DIM, NULL), 0);
    int64_t id[1];
    float s[1];
    ck_assert_int_eq(mmdx_ann_search(a, queries, 1, 0, id, s), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "k must be"));
    float nan_row[DIM] = {NAN};
    ck_assert_int_eq(mmdx_ann_add(a, nan_row, 1), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "row 0"));
    ck_assert_uint_eq(mmdx_ann_count(a), 0);
    ck_assert_int_eq(mmdx_ann_search(a, nan_row, 1, 1, id, s), MMDX_EINVAL);
    char *dir_path = tmp_path("no/such/folder/x.ann");
    ck_assert_int_eq(mmdx_ann_save(a, dir_path), MMDX_EIO);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), dir_path));
    free(dir_path);
    mmdx_ann_free(a);
    mmdx_ann_free(NULL);
}
END_TEST

/* --- the index record (index_file.h) ---------------------------------- */

static char *file_of(const mmdx_index_file *f, const char *ext)
{
    size_t len = strlen(f->base) + strlen(ext) + 2;
    char *p = malloc(len);
    snprintf(p, len, "%s.%s", f->base, ext);
    return p;
}

START_TEST(index_record_round_trip_and_mismatch)
{
    enum { R = 2000 };
    mmdx_ann *a = index_of(R);
    mmdx_index_file f;
    mmdx_index_rows rec = {0}, back;
    for (size_t i = 0; i < R; i++)
        ck_assert_int_eq(mmdx_index_rows_push(&rec, (int64_t)(3 * i + 7)), 0);
    ck_assert_int_eq(mmdx_index_file_open(&f, tmp, "mmdx-audit/x", "ab", "fused"), 0);
    ck_assert_int_eq(mmdx_index_file_save(&f, a, &rec), 0);
    mmdx_ann *c = NULL;
    ck_assert_int_eq(mmdx_index_file_load(&f, DIM, &c, &back), 0);
    ck_assert_uint_eq(back.n, R);
    ck_assert_int_eq(back.last_seq, rec.last_seq);
    ck_assert_mem_eq(back.seq, rec.seq, R * sizeof *rec.seq);
    mmdx_ann_free(c);
    mmdx_index_rows_free(&back);

    /* another index in its place: the record names a different file hash */
    char *ip = file_of(&f, "faiss"), *rp = file_of(&f, "rows");
    mmdx_ann *other = index_of(R / 2);
    ck_assert_int_eq(mmdx_ann_save(other, ip), 0);
    mmdx_ann_free(other);
    ck_assert_int_eq(mmdx_index_file_load(&f, DIM, &c, &back), MMDX_EFORMAT);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "is not the one"));

    /* a bit flipped in the index and its record rewritten to match the damaged
     * file's hash: the index file's own CRC-32 still refuses it */
    ck_assert_int_eq(mmdx_index_file_save(&f, a, &rec), 0);
    size_t len;
    unsigned char *bytes = (unsigned char *)mmdx_test_read_file(ip, &len);
    ck_assert_ptr_nonnull(bytes);
    bytes[len - 100] ^= 0x10;
    write_bytes(ip, bytes, len);
    free(bytes);
    uint8_t h[32];
    char hex[65];
    ck_assert_int_eq(mmdx_sha256_file(ip, h), 0);
    mmdx_hex(h, 32, hex);
    size_t rlen;
    char *record = mmdx_test_read_file(rp, &rlen);
    ck_assert_ptr_nonnull(record);
    char *sha = strstr(record, "faiss_sha256 ");
    ck_assert_ptr_nonnull(sha);
    memcpy(sha + strlen("faiss_sha256 "), hex, 64);
    write_bytes(rp, record, rlen);
    free(record);
    ck_assert_int_eq(mmdx_index_file_load(&f, DIM, &c, &back), MMDX_EFORMAT);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "checksum mismatch"));
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), ip));
    mmdx_index_file_close(&f);

    /* a folder others may write is refused */
    char *open_dir = tmp_path("shared");
    ck_assert_int_eq(mmdx_index_file_open(&f, open_dir, "o", "m", "fused"), 0);
    mmdx_index_file_close(&f);
    ck_assert_int_eq(chmod(open_dir, 0777), 0);
    ck_assert_int_eq(mmdx_index_file_open(&f, open_dir, "o", "m", "fused"), MMDX_EPERM);
    ck_assert_ptr_nonnull(strstr(mmdx_last_error(), "writable by others"));
    free(open_dir);
    free(ip);
    free(rp);
    mmdx_index_rows_free(&rec);
    mmdx_ann_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("retrieval_index");
    TCase *ann = tcase_create("ann");
    tcase_set_timeout(ann, 600);
    tcase_add_checked_fixture(ann, setup, teardown);
    tcase_add_test(ann, ann_recall_at_once_and_appended);
    tcase_add_test(ann, ann_single_queries_match_batch);
    tcase_add_test(ann, ann_small_and_empty);
    tcase_add_test(ann, ann_save_load_round_trip);
    tcase_add_test(ann, ann_load_refuses_bad_files);
    tcase_add_test(ann, ann_load_refuses_every_flip_and_cut);
    tcase_add_test(ann, ann_bad_arguments);
    suite_add_tcase(s, ann);
    TCase *rec = tcase_create("index_record");
    tcase_set_timeout(rec, 600);
    tcase_add_checked_fixture(rec, setup, teardown);
    tcase_add_test(rec, index_record_round_trip_and_mismatch);
    suite_add_tcase(s, rec);
    return mmdx_test_run_suite(s);
}
