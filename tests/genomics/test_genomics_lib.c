/* SPDX-License-Identifier: Apache-2.0 — the genomics library: scoring files, VCF reading, matching, panels, QC. */
#include <check.h>
#include <htslib/bgzf.h>
#include <htslib/hts_log.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chrom.h"
#include "panel.h"
#include "path.h"
#include "prs.h"
#include "scan.h"
#include "scorefile.h"
#include "testsupport.h"
#include "vcf.h"

static char *tmp;

static void setup(void) { tmp = mmdx_test_tmpdir(); }
static void teardown(void)
{
    mmdx_test_rmtree(tmp);
    free(tmp);
}

static char *tpath(const char *name)
{
    static char buf[8][4096];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp, name);
    return buf[k];
}

/* ---------------------------------------------------------------- chrom */

START_TEST(chrom_names)
{
    char b[MMDX_CHROM_MAX];
    mmdx_chrom_canonical("chr1", 4, b);
    ck_assert_str_eq(b, "1");
    mmdx_chrom_canonical("CHRX", 4, b);
    ck_assert_str_eq(b, "X");
    mmdx_chrom_canonical("chrM", 4, b);
    ck_assert_str_eq(b, "MT");
    mmdx_chrom_canonical("MT", 2, b);
    ck_assert_str_eq(b, "MT");
    mmdx_chrom_canonical("22", 2, b);
    ck_assert_str_eq(b, "22");
    mmdx_chrom_canonical("chr", 3, b);
    ck_assert_str_eq(b, "chr");
}
END_TEST

/* ------------------------------------------------------------ scorefile */

static const char *good_score = "###PGS CATALOG SCORING FILE\n"
                                "#pgs_id=PGS999999\t\t\n"
                                "#genome_build=GRCh37\n"
                                "rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
                                "rs1\t1\t100\tg\ta\t0.5\n"
                                "rs2\t1\t200\tG\tC\t-2e-1\n"
                                "rs3\t1\t300\tN\tA\t1\n"
                                "rs4\t1\t400\t<DEL>\tA\t1\n";

START_TEST(scorefile_parses)
{
    mmdx_scorefile *sf;
    mmdx_error e = {0};
    ck_assert_int_eq(mmdx_scorefile_parse(&sf, good_score, strlen(good_score), "mem.txt", &e), 0);
    ck_assert_str_eq(sf->name, "PGS999999");
    ck_assert_str_eq(sf->genome_build, "GRCh37");
    ck_assert_uint_eq(sf->n_rows, 4);
    ck_assert_str_eq(sf->rows[0].effect, "G");
    ck_assert_str_eq(sf->rows[0].other, "A");
    ck_assert_int_eq(sf->rows[0].pos, 100);
    ck_assert_int_eq(sf->rows[0].line, 5);
    ck_assert(fabs(sf->rows[1].weight + 0.2) < 1e-15);
    /* non-ACGT rows are kept, counted, with a reason */
    ck_assert_uint_eq(sf->n_problems, 2);
    ck_assert_ptr_nonnull(sf->rows[2].problem);
    ck_assert_ptr_nonnull(strstr(sf->rows[3].problem, "A/C/G/T"));
    ck_assert_ptr_null(sf->rows[0].problem);
    mmdx_scorefile_free(sf);
}
END_TEST

START_TEST(scorefile_errors)
{
    mmdx_scorefile *sf = NULL;
    mmdx_error e = {0};
    const char *no_weight = "#pgs_id=X\nrsID\tchr_name\tchr_position\teffect_allele\tother_allele\n"
                            "rs1\t1\t100\tG\tA\n";
    ck_assert_int_eq(mmdx_scorefile_parse(&sf, no_weight, strlen(no_weight), "a.txt", &e), MMDX_EFORMAT);
    ck_assert_ptr_null(sf);
    ck_assert_ptr_nonnull(strstr(e.message, "a.txt: line 2"));
    ck_assert_ptr_nonnull(strstr(e.message, "effect_weight"));

    const char *bad_weight = "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
                             "1\t100\tG\tA\t0.1\n"
                             "1\t200\tG\tA\tabc\n";
    memset(&e, 0, sizeof e);
    ck_assert_int_eq(mmdx_scorefile_parse(&sf, bad_weight, strlen(bad_weight), "b.txt", &e), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.message, "b.txt: line 3"));
    ck_assert_ptr_nonnull(strstr(e.message, "abc"));

    const char *inf_weight = "chr_name\tchr_position\teffect_allele\teffect_weight\n1\t100\tG\tinf\n";
    ck_assert_int_eq(mmdx_scorefile_parse(&sf, inf_weight, strlen(inf_weight), "c.txt", &e), MMDX_EFORMAT);

    const char *bad_pos = "chr_name\tchr_position\teffect_allele\teffect_weight\n1\t12x\tG\t1\n";
    ck_assert_int_eq(mmdx_scorefile_parse(&sf, bad_pos, strlen(bad_pos), "d.txt", &e), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.message, "d.txt: line 2"));

    const char *no_locus = "effect_allele\teffect_weight\nG\t1\n";
    ck_assert_int_eq(mmdx_scorefile_parse(&sf, no_locus, strlen(no_locus), "e.txt", &e), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.message, "rsID"));

    const char *empty = "# only comments\n";
    ck_assert_int_eq(mmdx_scorefile_parse(&sf, empty, strlen(empty), "f.txt", &e), MMDX_EFORMAT);

    ck_assert_int_eq(mmdx_scorefile_read(&sf, tpath("absent.txt"), &e), MMDX_ENOTFOUND);
}
END_TEST

START_TEST(scorefile_harmonised_and_real)
{
    mmdx_scorefile *sf;
    mmdx_error e = {0};
    const char *hm = "rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\thm_chr\thm_pos\n"
                     "rs1\t1\t100\tG\tA\t1\tchr2\t555\n"
                     "rs2\t1\t200\tG\tA\t1\t\t\n";
    ck_assert_int_eq(mmdx_scorefile_parse(&sf, hm, strlen(hm), "/x/y/hm.txt.gz", &e), 0);
    ck_assert_int_eq(sf->harmonised, 1);
    ck_assert_str_eq(sf->rows[0].chrom, "chr2");
    ck_assert_int_eq(sf->rows[0].pos, 555);
    ck_assert_int_eq(sf->rows[1].pos, 0); /* not harmonised: falls back to its rsID */
    ck_assert_str_eq(sf->rows[1].rsid, "rs2");
    ck_assert_str_eq(sf->name, "hm");
    mmdx_scorefile_free(sf);

    char *p = mmdx_test_data_path("pgs/scorefiles/PGS000001.txt.gz");
    ck_assert_int_eq(mmdx_scorefile_read(&sf, p, &e), 0);
    ck_assert_str_eq(sf->name, "PGS000001");
    ck_assert_uint_eq(sf->n_rows, 77);
    ck_assert_int_eq(sf->rows[0].pos, 0);
    ck_assert_str_eq(sf->rows[0].rsid, "rs78540526");
    mmdx_scorefile_free(sf);
    free(p);

    p = mmdx_test_data_path("pgs/scorefiles/PGS001229_hmPOS_GRCh38.structured.tiny1000G_subset.txt");
    ck_assert_int_eq(mmdx_scorefile_read(&sf, p, &e), 0);
    ck_assert_str_eq(sf->name, "PGS001229"); /* from the accession column */
    ck_assert_uint_eq(sf->n_rows, 986);
    mmdx_scorefile_free(sf);
    free(p);
}
END_TEST

/* ------------------------------------------------------------------ vcf */

/* Compare every record's dosages from two readers. */
static void compare_readers(const char *a_path, int a_fast, const char *b_path, int b_fast,
                            mmdx_dosage_source src, long expect_records)
{
    mmdx_vcf *a, *b;
    mmdx_error e = {0};
    ck_assert_msg(mmdx_vcf_open(&a, a_path, 2, a_fast, &e) == 0, "%s", e.message);
    ck_assert_msg(mmdx_vcf_open(&b, b_path, 1, b_fast, &e) == 0, "%s", e.message);
    size_t n = mmdx_vcf_n_samples(a);
    ck_assert_uint_eq(n, mmdx_vcf_n_samples(b));
    double *da = malloc(16 * n * sizeof *da), *db = malloc(16 * n * sizeof *db);
    mmdx_vcf_site sa, sb;
    long records = 0;
    int ra;
    while ((ra = mmdx_vcf_next(a, &sa, &e)) == 1) {
        ck_assert_int_eq(mmdx_vcf_next(b, &sb, &e), 1);
        ck_assert_int_eq(sa.pos, sb.pos);
        ck_assert_uint_eq(sa.n_alleles, sb.n_alleles);
        ck_assert_int_le(sa.n_alleles, 16);
        int x = mmdx_vcf_dosages(a, src, 1, da, &e);
        int y = mmdx_vcf_dosages(b, src, 1, db, &e);
        ck_assert_int_eq(x, y);
        for (size_t i = 0; i < sa.n_alleles * n; i++)
            ck_assert_msg((isnan(da[i]) && isnan(db[i])) || da[i] == db[i],
                          "record %ld value %zu: %.17g vs %.17g", records, i, da[i], db[i]);
        records++;
    }
    ck_assert_int_eq(ra, 0);
    ck_assert_int_eq(mmdx_vcf_next(b, &sb, &e), 0);
    ck_assert_int_eq(records, expect_records);
    free(da);
    free(db);
    mmdx_vcf_free(a);
    mmdx_vcf_free(b);
}

START_TEST(vcf_fast_path_equals_htslib)
{
    char *vcf = mmdx_test_data_path("vcf/variantannotation/chr22.vcf.gz");
    char *bcf = mmdx_test_data_path("vcf/derived/chr22.bcf");
    compare_readers(vcf, 1, vcf, 0, MMDX_DOSAGE_GT, 10376);
    compare_readers(vcf, 1, vcf, 0, MMDX_DOSAGE_DS, 10376);
    compare_readers(vcf, 1, bcf, 0, MMDX_DOSAGE_DS, 10376);
    compare_readers(vcf, 1, bcf, 0, MMDX_DOSAGE_GT, 10376);
    free(vcf);
    free(bcf);
    char *gp = mmdx_test_data_path("vcf/bcftools_test/convert.vcf");
    compare_readers(gp, 1, gp, 0, MMDX_DOSAGE_GP, 33);
    compare_readers(gp, 1, gp, 0, MMDX_DOSAGE_GT, 33);
    free(gp);
}
END_TEST

/*
 * Dosages at the edges of their range: htslib reads FORMAT/DS and GP as
 * 32-bit floats, so a text value just above 2 that rounds to 2.0f is 2, and
 * one clearly above is an error; the fast text reader must agree with it on
 * both (it once checked the range before rounding, and refused the first).
 */
START_TEST(vcf_readers_agree_on_dosage_edges)
{
    char *dir = mmdx_test_tmpdir();
    char *path = mmdx_test_strf("%s/edges.vcf", dir), *bad = mmdx_test_strf("%s/bad.vcf", dir);
    const char *head = "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
                       "##FORMAT=<ID=DS,Number=A,Type=Float,Description=\"dosage\">\n"
                       "##FORMAT=<ID=GP,Number=G,Type=Float,Description=\"probabilities\">\n"
                       "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\tS3\n";
    char *text = mmdx_test_strf("%s1\t10\t.\tA\tG\t.\t.\t.\tDS:GP\t2.00000001:0,0,1.00000001\t"
                                "0.0000000001:1,0,0\t1.99999999:0.3333333,0.3333333,0.3333334\n"
                                "1\t20\t.\tA\tG,T\t.\t.\t.\tDS\t1.00000001,0.99999999\t0,2.0000000001\t.\n", head);
    mmdx_test_write_file(path, text);
    compare_readers(path, 1, path, 0, MMDX_DOSAGE_DS, 2);
    compare_readers(path, 1, path, 0, MMDX_DOSAGE_GP, 2);
    free(text);
    text = mmdx_test_strf("%s1\t10\t.\tA\tG\t.\t.\t.\tDS\t2.001\t0\t1\n", head);
    mmdx_test_write_file(bad, text);
    for (int fast = 0; fast <= 1; fast++) { /* both refuse it, naming the sample and the value */
        mmdx_vcf *v;
        mmdx_vcf_site site;
        mmdx_error e = {0};
        double out[6];
        ck_assert_msg(mmdx_vcf_open(&v, bad, 1, fast, &e) == 0, "%s", e.message);
        ck_assert_int_eq(mmdx_vcf_next(v, &site, &e), 1);
        ck_assert_int_eq(mmdx_vcf_dosages(v, MMDX_DOSAGE_DS, 1, out, &e), MMDX_EFORMAT);
        ck_assert_msg(strstr(e.message, "sample S1: FORMAT/DS value 2.001 outside [0,2]"), "%s", e.message);
        mmdx_vcf_free(v);
    }
    free(text);
    mmdx_test_rmtree(dir);
    free(dir), free(path), free(bad);
}
END_TEST

/*
 * Generated VCFs for the direct parser and the line reader: GT-only records
 * in the fixed-width layout the branch-free kernel takes (phased, unphased,
 * missing halves), and everything that must leave it for the general path
 * (haploid calls, alleles 10 and above, GT not first or not alone, dropped
 * trailing fields), CRLF and blank lines, a line longer than the reader's
 * buffer, and a last line without a newline. DS holds the ALT copies of the
 * call, so scores from DS and from GT must be equal too.
 */
static unsigned long lcg(unsigned long *x)
{
    *x = *x * 6364136223846793005UL + 1442695040888963407UL;
    return *x >> 33;
}

static const char *const gen_alleles[] = {"A", "C", "G", "T", "AA", "AC", "AG", "AT",
                                          "CA", "CC", "CG", "CT", "GA", "GC"};

static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        ck_assert_int_ge(k, 0);
        if ((size_t)k < *cap - *len) {
            *len += (size_t)k;
            return;
        }
        *cap = 2 * *cap + (size_t)k;
        *buf = realloc(*buf, *cap);
        ck_assert_ptr_nonnull(*buf);
    }
}

/* Writes the VCF (bgzipped when `gz`) and a scoring file over its records. */
static void gen_vcf(const char *path, const char *score_path, size_t n, int n_records,
                    unsigned long seed, int gz)
{
    size_t len = 0, cap = 1 << 16, slen = 0, scap = 1 << 12;
    char *b = malloc(cap), *sc = malloc(scap);
    unsigned long x = seed;
    append(&b, &len, &cap, "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
                           "##INFO=<ID=PAD,Number=1,Type=String,Description=\"padding\">\n"
                           "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"GT\">\n"
                           "##FORMAT=<ID=DS,Number=A,Type=Float,Description=\"DS\">\n"
                           "##FORMAT=<ID=GQ,Number=1,Type=Integer,Description=\"GQ\">\n"
                           "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT");
    for (size_t s = 0; s < n; s++)
        append(&b, &len, &cap, "\tS%zu", s + 1);
    append(&b, &len, &cap, "\n");
    append(&sc, &slen, &scap, "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n");
    long pos = 1000;
    for (int r = 0; r < n_records; r++) {
        pos += 1 + (long)(lcg(&x) % 50);
        int kind = (int)(lcg(&x) % 10); /* 0-5 GT only, 6 GT:DS, 7 DS:GT, 8 GQ:DS:GT, 9 GT only with odd calls */
        size_t na = lcg(&x) % 5 == 0 ? 3 + lcg(&x) % 12 : 2; /* up to 14 alleles: some need two digits */
        append(&b, &len, &cap, "1\t%ld\tv%d\t%s\t", pos, r, gen_alleles[0]);
        for (size_t a = 1; a < na; a++)
            append(&b, &len, &cap, "%s%s", a > 1 ? "," : "", gen_alleles[a]);
        append(&b, &len, &cap, "\t.\tPASS\t");
        if (r == n_records / 2) { /* longer than the line reader's 256 KiB buffer */
            append(&b, &len, &cap, "PAD=%0300000d", 7);
        } else {
            append(&b, &len, &cap, ".");
        }
        append(&b, &len, &cap, "\t%s", kind <= 5 || kind == 9 ? "GT" : kind == 6 ? "GT:DS" : kind == 7 ? "DS:GT" : "GQ:DS:GT");
        for (size_t s = 0; s < n; s++) {
            unsigned long u = lcg(&x);
            int a0 = (int)(u % na), a1 = (int)((u >> 8) % na);
            int m0 = (u >> 16) % 23 == 0, m1 = (u >> 21) % 29 == 0;
            char sep = (u >> 26) & 1 ? '|' : '/';
            char gt[32], ds[128];
            int hap = kind == 9 && (u >> 27) % 7 == 0;
            if (hap)
                snprintf(gt, sizeof gt, "%d", a0);
            else if (m0 || m1)
                snprintf(gt, sizeof gt, "%s%c%s", m0 ? "." : "0", sep, m1 ? "." : "1");
            else
                snprintf(gt, sizeof gt, "%d%c%d", a0, sep, a1);
            size_t dl = 0;
            for (size_t a = 1; a < na; a++) {
                int copies = hap ? 2 * (a0 == (int)a) : (a0 == (int)a) + (a1 == (int)a);
                dl += (size_t)snprintf(ds + dl, sizeof ds - dl, "%s%d", a > 1 ? "," : "", copies);
            }
            if (m0 || m1)
                snprintf(ds, sizeof ds, ".");
            if (kind <= 5 || kind == 9)
                append(&b, &len, &cap, "\t%s", gt);
            else if (kind == 6)
                append(&b, &len, &cap, (u >> 28) % 5 == 0 ? "\t%s" : "\t%s:%s", gt, ds); /* DS dropped at the end */
            else if (kind == 7)
                append(&b, &len, &cap, "\t%s:%s", ds, gt);
            else
                append(&b, &len, &cap, "\t%d:%s:%s", (int)(u % 99), ds, gt);
        }
        append(&b, &len, &cap, r % 17 == 3 ? "\r\n" : r % 41 == 5 ? "\n\n" : "\n");
        if (lcg(&x) % 3 == 0) {
            size_t ea = lcg(&x) % na, oa = (ea + 1 + lcg(&x) % (na - 1)) % na;
            append(&sc, &slen, &scap, "1\t%ld\t%s\t%s\t%.3f\n", pos, gen_alleles[ea], gen_alleles[oa],
                   (double)(lcg(&x) % 2001) / 1000.0 - 1.0);
        }
    }
    if (len > 0 && b[len - 1] == '\n' && b[len - 2] != '\n' && b[len - 2] != '\r')
        len--; /* no newline after the last record */
    if (gz) {
        BGZF *f = bgzf_open(path, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(bgzf_write(f, b, len), (ssize_t)len);
        ck_assert_int_eq(bgzf_close(f), 0);
    } else {
        b[len] = '\0';
        mmdx_test_write_file(path, b);
    }
    sc[slen] = '\0';
    mmdx_test_write_file(score_path, sc);
    free(b);
    free(sc);
}

START_TEST(vcf_fast_paths_equal_htslib_on_generated_files)
{
    const size_t ns[] = {1, 2, 3, 4, 5, 8, 9, 37};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (int gz = 0; gz < 2; gz++) {
            const char *p = tpath(gz ? "gen.vcf.gz" : "gen.vcf");
            gen_vcf(p, tpath("gen.pgs.txt"), ns[i], 300, 7 + i, gz);
            compare_readers(p, 1, p, 0, MMDX_DOSAGE_GT, 300);
            compare_readers(p, 1, p, 0, MMDX_DOSAGE_DS, 300);
        }
}
END_TEST

/* One score from a generated VCF: GT or DS, direct parser or htslib's. */
static mmdx_prs *score_generated(const char *vcf, const mmdx_scorefile *sf, int fast,
                                 mmdx_dosage_source src, int impute)
{
    mmdx_error e = {0};
    mmdx_vcf *v;
    ck_assert_msg(mmdx_vcf_open(&v, vcf, 2, fast, &e) == 0, "%s", e.message);
    mmdx_prs_options o;
    mmdx_prs_options_init(&o);
    o.dosage = src;
    o.mean_impute = impute;
    o.keep_ambiguous = 1;
    mmdx_prs *p;
    const mmdx_scorefile *s[1] = {sf};
    ck_assert_int_eq(mmdx_prs_new(&p, s, 1, mmdx_vcf_n_samples(v), &o, &e), 0);
    ck_assert_msg(mmdx_prs_run(p, v, NULL, NULL, &e) == 0, "%s", e.message);
    mmdx_vcf_free(v);
    return p;
}

START_TEST(prs_calls_and_dosages_give_the_same_bits)
{
    const size_t ns[] = {1, 6, 37};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        const char *vcf = tpath("gen.vcf.gz");
        gen_vcf(vcf, tpath("gen.pgs.txt"), ns[i], 400, 101 + i, 1);
        mmdx_scorefile *sf;
        mmdx_error e = {0};
        ck_assert_msg(mmdx_scorefile_read(&sf, tpath("gen.pgs.txt"), &e) == 0, "%s", e.message);
        for (int impute = 0; impute < 2; impute++) {
            mmdx_prs *ref = score_generated(vcf, sf, 0, MMDX_DOSAGE_GT, impute);
            mmdx_prs *fast = score_generated(vcf, sf, 1, MMDX_DOSAGE_GT, impute);
            mmdx_prs *ds = score_generated(vcf, sf, 1, MMDX_DOSAGE_DS, impute);
            mmdx_prs_stats st;
            mmdx_prs_get_stats(ref, 0, &st);
            ck_assert_uint_gt(st.matched, 50);
            ck_assert_uint_gt(st.multiallelic, 5);
            for (size_t s = 0; s < ns[i]; s++) {
                double r = mmdx_prs_sum(ref, 0, s);
                ck_assert_msg(mmdx_prs_sum(fast, 0, s) == r, "n %zu S%zu: %.17g vs %.17g", ns[i],
                              s + 1, mmdx_prs_sum(fast, 0, s), r);
                ck_assert_msg(mmdx_prs_sum(ds, 0, s) == r, "n %zu S%zu: DS %.17g vs GT %.17g",
                              ns[i], s + 1, mmdx_prs_sum(ds, 0, s), r);
                ck_assert_uint_eq(mmdx_prs_allele_ct(fast, 0, s), mmdx_prs_allele_ct(ref, 0, s));
                ck_assert_uint_eq(mmdx_prs_allele_ct(ds, 0, s), mmdx_prs_allele_ct(ref, 0, s));
            }
            mmdx_prs_free(ref);
            mmdx_prs_free(fast);
            mmdx_prs_free(ds);
        }
        mmdx_scorefile_free(sf);
    }
}
END_TEST

static int read_all(const char *path, int fast, mmdx_error *e)
{
    mmdx_vcf *v;
    int rc = mmdx_vcf_open(&v, path, 1, fast, e);
    if (rc < 0)
        return rc;
    size_t n = mmdx_vcf_n_samples(v);
    double *d = malloc((64 * n + 1) * sizeof *d);
    mmdx_vcf_site s;
    while ((rc = mmdx_vcf_next(v, &s, e)) == 1) {
        const int32_t *gt, *gq;
        const char *info;
        if (s.n_alleles > 64)
            continue;
        if ((rc = mmdx_vcf_dosages(v, MMDX_DOSAGE_GT, 1, d, e)) < 0 && rc != MMDX_ENOTFOUND)
            break;
        if ((rc = mmdx_vcf_genotypes(v, &gt, e)) < 0 && rc != MMDX_ENOTFOUND)
            break;
        if ((rc = mmdx_vcf_format_int(v, "GQ", &gq, e)) < 0 && rc != MMDX_ENOTFOUND)
            break;
        if ((rc = mmdx_vcf_info_string(v, "DP", &info, e)) < 0)
            break;
        rc = 1;
    }
    free(d);
    mmdx_vcf_free(v);
    return rc;
}

static void walk(const char *dir, int *n_files)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (mmdx_path_is_dir(p)) {
            walk(p, n_files);
            continue;
        }
        size_t l = strlen(p);
        if (l > 4 && (!strcmp(p + l - 4, ".tbi") || !strcmp(p + l - 4, ".csi")))
            continue;
        mmdx_error e = {0};
        for (int fast = 0; fast < 2; fast++) {
            int rc = read_all(p, fast, &e);
            /* every file either reads or fails with a message naming it */
            ck_assert_msg(rc == 0 || (rc < 0 && strstr(e.message, de->d_name)), "%s: rc %d '%s'", p,
                          rc, e.message);
        }
        (*n_files)++;
    }
    closedir(d);
}

START_TEST(vcf_every_staged_file_reads_or_fails_cleanly)
{
    char *root = mmdx_test_data_path("vcf");
    int n = 0;
    walk(root, &n);
    ck_assert_int_ge(n, 40);
    free(root);
}
END_TEST

static const char *hand_vcf =
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=chr1>\n"
    "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"GT\">\n"
    "##FORMAT=<ID=DS,Number=A,Type=Float,Description=\"DS\">\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\tS3\tS4\n"
    "chr1\t100\trs1\tA\tG\t.\tPASS\t.\tGT:DS\t0/1:0.9\t1/1:1.8\t./.:.\t0/0:0.1\n"
    "chr1\t200\trs2\tC\tT,G\t.\tPASS\t.\tGT\t0/2\t1/2\t2/2\t./.\n"
    "chr1\t300\trs3\tA\tC\t.\t.\t.\tGT\t1\t0\t./.\t0|1\n"
    "chr1\t400\trs4\tA\tT\t.\t.\t.\tGT\t0/1\t0/1\t0/0\t1/1\n"
    "chr1\t500\trs5\tC\tA\t.\t.\t.\tGT\t0/1\t0/0\t0/0\t0/0\n"
    "chr1\t600\trs6\tG\tA\t.\t.\t.\tGT\t0/0\t0/1\t1/1\t./.\n";

START_TEST(vcf_malformed_lines_are_named)
{
    struct {
        const char *line;
        int code;
        const char *needle;
    } cases[] = {
        {"chr1\t700\trs7\tA\tG\n", MMDX_EFORMAT, "5 tab-separated columns"},
        {"chr1\t7x0\trs7\tA\tG\t.\t.\t.\tGT\t0/0\t0/0\t0/0\t0/0\n", MMDX_EFORMAT, "POS"},
        {"chr1\t700\trs7\tA\tG\t.\t.\t.\tGT\t0/0\t0/x\t0/0\t0/0\n", MMDX_EFORMAT, "sample S2"},
        {"chr1\t700\trs7\tA\tG\t.\t.\t.\tGT\t0/0\t0/0\t0/0\n", MMDX_EFORMAT, "3 sample columns"},
        {"chr1\t700\trs7\tA\tG\t.\t.\t.\tGT\t0/0\t0/0\t0/0\t0/0\t0/0\n", MMDX_EFORMAT, "more sample"},
        {"chr1\t700\trs7\tA\tG\t.\t.\t.\tGT\t0/0\t0/3\t0/0\t0/0\n", MMDX_EFORMAT, "beyond REF/ALT"},
        {"chr1\t700\trs7\tA\tG\t.\t.\t.\tGT\t0/0/1\t0/0\t0/0\t0/0\n", MMDX_EUNSUPPORTED, "ploidy"},
        /* ':' is '0' + 10: with 11 alleles the fixed-width GT kernel must still refuse it */
        {"chr1\t700\trs7\tA\tC,G,T,AA,AC,AG,AT,CA,CC,CG\t.\t.\t.\tGT\t0/0\t0/:\t0/0\t0/0\n",
         MMDX_EFORMAT, "sample S2"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *text = malloc(strlen(hand_vcf) + strlen(cases[c].line) + 1);
        strcpy(text, hand_vcf);
        strcat(text, cases[c].line);
        mmdx_test_write_file(tpath("bad.vcf"), text);
        free(text);
        for (int fast = 1; fast >= 0; fast--) {
            mmdx_error e = {0};
            int rc = read_all(tpath("bad.vcf"), fast, &e);
            if (!fast && c == 4)
                continue; /* htslib ignores surplus sample columns; the direct parser refuses them */
            ck_assert_msg(rc < 0, "case %zu fast %d: accepted", c, fast);
            ck_assert_msg(strstr(e.message, "bad.vcf"), "case %zu: %s", c, e.message);
            if (fast) {
                ck_assert_msg(rc == cases[c].code, "case %zu: rc %d: %s", c, rc, e.message);
                ck_assert_msg(strstr(e.message, cases[c].needle), "case %zu: '%s' lacks '%s'", c,
                              e.message, cases[c].needle);
                ck_assert_msg(strstr(e.message, "line 12"), "case %zu: %s", c, e.message);
            }
        }
    }
    mmdx_vcf *v;
    mmdx_error e = {0};
    ck_assert_int_eq(mmdx_vcf_open(&v, tpath("none.vcf"), 1, 1, &e), MMDX_ENOTFOUND);
    mmdx_test_write_file(tpath("text.vcf"), "hello\nworld\n");
    ck_assert_int_lt(mmdx_vcf_open(&v, tpath("text.vcf"), 1, 1, &e), 0);
    ck_assert_ptr_nonnull(strstr(e.message, "text.vcf"));
}
END_TEST

START_TEST(vcf_regions_need_an_index)
{
    mmdx_test_write_file(tpath("h.vcf"), hand_vcf);
    mmdx_vcf *v;
    mmdx_error e = {0};
    ck_assert_int_eq(mmdx_vcf_open(&v, tpath("h.vcf"), 1, 1, &e), 0);
    ck_assert_int_eq(mmdx_vcf_has_index(v), 0);
    mmdx_region r = {"1", 100, 300};
    ck_assert_int_eq(mmdx_vcf_set_regions(v, &r, 1, &e), MMDX_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(e.message, "h.vcf"));
    ck_assert_ptr_nonnull(strstr(e.message, "index"));
    ck_assert_int_eq(mmdx_vcf_sample_index(v, "S3"), 2);
    ck_assert_int_eq(mmdx_vcf_sample_index(v, "nobody"), -1);
    mmdx_vcf_free(v);

    /* indexed file, region named "chr22" while the file says "22" */
    char *p = mmdx_test_data_path("vcf/variantannotation/chr22.vcf.gz");
    ck_assert_int_eq(mmdx_vcf_open(&v, p, 2, 1, &e), 0);
    ck_assert_int_eq(mmdx_vcf_has_index(v), 1);
    mmdx_region rr[2] = {{"chr22", 50300000, 50310000}, {"22", 50305000, 50320000}};
    ck_assert_int_eq(mmdx_vcf_set_regions(v, rr, 2, &e), 0);
    mmdx_vcf_site s;
    long n = 0, last = 0;
    int rc;
    while ((rc = mmdx_vcf_next(v, &s, &e)) == 1) {
        ck_assert_int_ge(s.pos, 50300000);
        ck_assert_int_le(s.pos, 50320000);
        ck_assert_int_gt(s.pos, last - 1); /* merged regions: no record twice */
        last = s.pos;
        n++;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_gt(n, 10);
    mmdx_vcf_free(v);
    free(p);
}
END_TEST

/* ------------------------------------------------------------------ prs */

static const char *hand_score = "#pgs_id=HAND\n"
                                "rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
                                ".\t1\t100\tG\tA\t0.5\n"   /* altref */
                                ".\t1\t200\tG\tT\t2\n"     /* altalt: both ALTs of a multi-allelic record */
                                ".\t1\t300\tC\tA\t-1\n"    /* altref, haploid and phased calls */
                                ".\t1\t400\tT\tA\t1\n"     /* strand-ambiguous */
                                ".\t1\t500\tG\tT\t3\n"     /* C/A on the other strand: refalt_flip */
                                "rs6\t1\t\tA\tG\t1\n"      /* no position: by rsID */
                                ".\t1\t700\tA\tC\t1\n"     /* no record */
                                ".\t1\t100\tC\tA\t1\n";    /* alleles differ, also flipped (G/T) */

static mmdx_prs *run_hand(mmdx_prs_options *o, mmdx_scorefile **sf_out, mmdx_vcf **v_out)
{
    mmdx_error e = {0};
    mmdx_test_write_file(tpath("h.vcf"), hand_vcf);
    ck_assert_int_eq(mmdx_scorefile_parse(sf_out, hand_score, strlen(hand_score), "hand.txt", &e), 0);
    ck_assert_int_eq(mmdx_vcf_open(v_out, tpath("h.vcf"), 1, 1, &e), 0);
    mmdx_prs *p;
    const mmdx_scorefile *s[1] = {*sf_out};
    ck_assert_int_eq(mmdx_prs_new(&p, s, 1, 4, o, &e), 0);
    ck_assert_msg(mmdx_prs_run(p, *v_out, NULL, NULL, &e) == 0, "%s", e.message);
    return p;
}

START_TEST(prs_rules_and_plink2_arithmetic)
{
    mmdx_prs_options o;
    mmdx_prs_options_init(&o);
    mmdx_scorefile *sf;
    mmdx_vcf *v;
    mmdx_prs *p = run_hand(&o, &sf, &v);
    mmdx_prs_stats st;
    mmdx_prs_get_stats(p, 0, &st);
    ck_assert_uint_eq(st.rows, 8);
    ck_assert_uint_eq(st.matched, 5);
    ck_assert_uint_eq(st.flipped, 1);
    ck_assert_uint_eq(st.by_rsid, 1);
    ck_assert_uint_eq(st.multiallelic, 1);
    ck_assert_uint_eq(st.ambiguous_dropped, 1);
    ck_assert_uint_eq(st.unmatched, 2);
    /* Worked by hand with PLINK 2's rules (haploid = homozygous, missing = 2 x frequency). */
    const double sum[4] = {3.5, 10.0, 11.5, 8.0 / 3.0 - 1.0 + 6.0 + 1.0};
    const unsigned act[4] = {10, 10, 6, 6};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_msg(fabs(mmdx_prs_sum(p, 0, i) - sum[i]) < 1e-12, "S%zu: %.17g vs %.17g", i + 1,
                      mmdx_prs_sum(p, 0, i), sum[i]);
        ck_assert_uint_eq(mmdx_prs_allele_ct(p, 0, i), act[i]);
        ck_assert(fabs(mmdx_prs_avg(p, 0, i) - sum[i] / 10.0) < 1e-12);
    }
    mmdx_error e = {0};
    ck_assert_int_eq(mmdx_prs_check_overlap(p, &e), MMDX_EINVAL); /* 5/8 < 75% */
    ck_assert_ptr_nonnull(strstr(e.message, "HAND"));
    ck_assert_ptr_nonnull(strstr(e.message, "5 of 8"));

    ck_assert_int_eq(mmdx_prs_write_log(p, tpath("log.tsv"), &e), 0);
    char *log = mmdx_test_read_file(tpath("log.tsv"), NULL);
    ck_assert_ptr_nonnull(strstr(log, "HAND\t7\t\t1\t500\tG\tT\t3\tmatched\trefalt_flip\tchr1:500:C:A (rs5)"));
    ck_assert_ptr_nonnull(strstr(log, "HAND\t8\trs6\t1\t\tA\tG\t1\tmatched\trsid_altref"));
    ck_assert_ptr_nonnull(strstr(log, "\texcluded_ambiguous\taltref\tchr1:400:A:T (rs4)"));
    ck_assert_ptr_nonnull(strstr(log, "HAND\t4\t\t1\t200\tG\tT\t2\tmatched\taltalt\tchr1:200:C:T,G (rs2)"));
    ck_assert_ptr_nonnull(strstr(log, "\tunmatched\t\t\tno VCF record at this position"));
    ck_assert_ptr_nonnull(strstr(log, "\tunmatched\t\tchr1:100:A:G (rs1)\talleles differ"));
    free(log);
    ck_assert_int_eq(mmdx_prs_write_table(p, v, tpath("t.tsv"), &e), 0);
    char *t = mmdx_test_read_file(tpath("t.tsv"), NULL);
    ck_assert_ptr_nonnull(strstr(t, "#IID\tHAND_ALLELE_CT\tHAND_SUM\tHAND_AVG\nS1\t10\t3.5\t0.35\nS2\t10\t10\t1\n"));
    free(t);
    mmdx_prs_free(p);
    mmdx_vcf_free(v);
    mmdx_scorefile_free(sf);

    /* no mean imputation; strand-ambiguous row kept */
    o.mean_impute = 0;
    o.keep_ambiguous = 1;
    p = run_hand(&o, &sf, &v);
    mmdx_prs_get_stats(p, 0, &st);
    ck_assert_uint_eq(st.matched, 6);
    ck_assert_uint_eq(st.ambiguous_dropped, 0);
    const double sum2[4] = {3.5 + 1, 10 + 1, 12 + 0, 0 + 0 - 1 + 6 + 2};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_msg(fabs(mmdx_prs_sum(p, 0, i) - sum2[i]) < 1e-12, "S%zu: %.17g", i + 1,
                      mmdx_prs_sum(p, 0, i));
        ck_assert(fabs(mmdx_prs_avg(p, 0, i) - sum2[i] / mmdx_prs_allele_ct(p, 0, i)) < 1e-12);
    }
    mmdx_prs_free(p);
    mmdx_vcf_free(v);
    mmdx_scorefile_free(sf);
}
END_TEST

START_TEST(prs_dosage_quantised_like_plink2)
{
    mmdx_prs_options o;
    mmdx_prs_options_init(&o);
    o.dosage = MMDX_DOSAGE_DS;
    o.keep_ambiguous = 1;
    mmdx_scorefile *sf;
    mmdx_vcf *v;
    mmdx_prs *p = run_hand(&o, &sf, &v);
    /* only rs1 has DS: S1's 0.9 is stored by PLINK 2 as 14746/16384; the other
       records have no DS and keep their GT calls (GT sum with rs4 kept: 4.5) */
    double q = 14746.0 / 16384.0;
    mmdx_prs_stats st;
    mmdx_prs_get_stats(p, 0, &st);
    ck_assert_uint_eq(st.matched, 6);
    double s1 = mmdx_prs_sum(p, 0, 0);
    ck_assert_msg(fabs(s1 - (4.0 + 0.5 * q)) < 1e-12, "%.17g", s1);
    mmdx_prs_free(p);
    mmdx_vcf_free(v);
    mmdx_scorefile_free(sf);
    o.exact_dosage = 1;
    p = run_hand(&o, &sf, &v);
    ck_assert(fabs(mmdx_prs_sum(p, 0, 0) - (4.0 + 0.5 * (double)0.9f)) < 1e-12);
    mmdx_prs_free(p);
    mmdx_vcf_free(v);
    mmdx_scorefile_free(sf);
}
END_TEST

START_TEST(prs_duplicates_counted)
{
    const char *dup = "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
                      "1\t100\tG\tA\t1\n"
                      "1\t100\tC\tT\t1\n"; /* the same allele, written on the other strand */
    mmdx_test_write_file(tpath("h.vcf"), hand_vcf);
    mmdx_scorefile *sf;
    mmdx_vcf *v;
    mmdx_prs *p;
    mmdx_error e = {0};
    mmdx_prs_options o;
    mmdx_prs_options_init(&o);
    ck_assert_int_eq(mmdx_scorefile_parse(&sf, dup, strlen(dup), "dup.txt", &e), 0);
    ck_assert_int_eq(mmdx_vcf_open(&v, tpath("h.vcf"), 1, 1, &e), 0);
    const mmdx_scorefile *s[1] = {sf};
    ck_assert_int_eq(mmdx_prs_new(&p, s, 1, 4, &o, &e), 0);
    ck_assert_int_eq(mmdx_prs_run(p, v, NULL, NULL, &e), 0);
    mmdx_prs_stats st;
    mmdx_prs_get_stats(p, 0, &st);
    ck_assert_uint_eq(st.matched, 2);
    ck_assert_uint_eq(st.duplicates, 1);
    ck_assert_uint_eq(st.flipped, 1);
    ck_assert(fabs(mmdx_prs_sum(p, 0, 1) - 4.0) < 1e-12); /* S2 is 1/1: 2 + 2 */
    mmdx_prs_free(p);
    mmdx_vcf_free(v);
    mmdx_scorefile_free(sf);
}
END_TEST

START_TEST(prs_number_format)
{
    char b[64];
    mmdx_prs_format_double(0.1, b, sizeof b);
    ck_assert_str_eq(b, "0.1");
    mmdx_prs_format_double(1.0 / 3.0, b, sizeof b);
    ck_assert(strtod(b, NULL) == 1.0 / 3.0);
    mmdx_prs_format_double(NAN, b, sizeof b);
    ck_assert_str_eq(b, "NA");
}
END_TEST

/* ------------------------------------------------------------- panels/qc */

START_TEST(clnsig_terms)
{
    const char *t[] = {"Pathogenic", "Likely_pathogenic", "5", "4"};
    ck_assert(mmdx_clnsig_is_pathogenic("Pathogenic", 1, 1, t, 4));
    ck_assert(mmdx_clnsig_is_pathogenic("pathogenic/Likely_pathogenic", 1, 1, t, 4));
    ck_assert(mmdx_clnsig_is_pathogenic("Benign|Likely_pathogenic", 1, 1, t, 4));
    ck_assert(mmdx_clnsig_is_pathogenic("Pathogenic/Likely_pathogenic/Pathogenic,_low_penetrance", 1, 1, t, 4));
    ck_assert(!mmdx_clnsig_is_pathogenic("Conflicting_interpretations_of_pathogenicity", 1, 1, t, 4));
    ck_assert(!mmdx_clnsig_is_pathogenic("Benign", 1, 1, t, 4));
    ck_assert(!mmdx_clnsig_is_pathogenic("", 1, 1, t, 4));
    ck_assert(mmdx_clnsig_is_pathogenic("5|5", 1, 1, t, 4));
    ck_assert(!mmdx_clnsig_is_pathogenic("255|255", 1, 1, t, 4));
    /* one group per ALT */
    ck_assert(!mmdx_clnsig_is_pathogenic("Benign,Likely_pathogenic", 2, 1, t, 4));
    ck_assert(mmdx_clnsig_is_pathogenic("Benign,Likely_pathogenic", 2, 2, t, 4));
}
END_TEST

START_TEST(panel_bed_errors)
{
    mmdx_panel *p;
    mmdx_error e = {0};
    ck_assert_int_eq(mmdx_panel_new(&p, "bad name!", &e), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_panel_new(&p, "HBOC", &e), 0);
    ck_assert_str_eq(mmdx_panel_name(p), "hboc");
    mmdx_test_write_file(tpath("p.bed"), "track name=x\n# c\nchr17\t41196311\t41277500\tBRCA1\nchr13\tx\t5\n");
    ck_assert_int_eq(mmdx_panel_add_bed(p, tpath("p.bed"), &e), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.message, "p.bed: line 4"));
    mmdx_test_write_file(tpath("q.bed"), "chr17\t41196311\n");
    ck_assert_int_eq(mmdx_panel_add_bed(p, tpath("q.bed"), &e), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.message, "q.bed: line 1"));
    ck_assert_int_eq(mmdx_panel_add_region(p, "BRCA2", "13:32889611-32973805", &e), 0);
    ck_assert_int_eq(mmdx_panel_add_region(p, "X", "13:5-1", &e), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_panel_finalize(p, &e), 0);
    ck_assert(mmdx_panel_contains(p, "chr17", 41196312)); /* BED start is 0-based */
    ck_assert(!mmdx_panel_contains(p, "17", 41196311));
    ck_assert(mmdx_panel_contains(p, "chr13", 32889611));
    ck_assert(!mmdx_panel_contains(p, "13", 32973806));
    mmdx_panel_free(p);
}
END_TEST

static const char *qc_vcf =
    "##fileformat=VCFv4.2\n"
    "##FILTER=<ID=LowQual,Description=\"low\">\n"
    "##INFO=<ID=CLNSIG,Number=.,Type=String,Description=\"c\">\n"
    "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"GT\">\n"
    "##FORMAT=<ID=GQ,Number=1,Type=Integer,Description=\"GQ\">\n"
    "##FORMAT=<ID=DP,Number=1,Type=Integer,Description=\"DP\">\n"
    "##contig=<ID=1>\n##contig=<ID=2>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\n"
    "1\t1000\t.\tA\tG\t.\tPASS\tCLNSIG=Pathogenic\tGT:GQ:DP\t0/1:50:30\t1/1:10:30\n"
    "1\t2000\t.\tC\tT\t.\tPASS\tCLNSIG=Benign\tGT:GQ:DP\t0/1:50:30\t0/0:50:30\n"
    "1\t3000\t.\tG\tT\t.\tLowQual\tCLNSIG=Pathogenic\tGT:GQ:DP\t1/1:50:30\t0/1:50:30\n"
    "1\t4000\t.\tT\tC,A\t.\tPASS\tCLNSIG=Benign,Likely_pathogenic\tGT:GQ:DP\t0/2:50:5\t1/2:50:30\n"
    "2\t5000\t.\tA\tC\t.\tPASS\tCLNSIG=Conflicting_interpretations_of_pathogenicity\tGT:GQ:DP\t0/1:50:30\t./.:.:.\n";

static mmdx_scan_result *scan_qc(int min_gq, int min_dp, mmdx_panel *panel)
{
    static const char *terms[] = {"Pathogenic", "Likely_pathogenic"};
    const mmdx_panel *panels[1] = {panel};
    mmdx_scan_settings s = {0};
    mmdx_prs_options_init(&s.prs);
    s.n_panels = 1;
    s.panels = panels;
    s.clnsig_field = "CLNSIG";
    s.terms = terms;
    s.n_terms = 2;
    s.qc = 1;
    s.pass_only = 1;
    s.min_gq = min_gq;
    s.min_dp = min_dp;
    s.n_threads = 1;
    mmdx_scan_result *r;
    mmdx_error e = {0};
    ck_assert_msg(mmdx_scan_file(&r, tpath("qc.vcf"), &s, &e) == 0, "%s", e.message);
    return r;
}

START_TEST(scan_qc_and_panels_by_hand)
{
    mmdx_test_write_file(tpath("qc.vcf"), qc_vcf);
    mmdx_panel *p;
    mmdx_error e = {0};
    ck_assert_int_eq(mmdx_panel_new(&p, "p1", &e), 0);
    ck_assert_int_eq(mmdx_panel_add_region(p, "G", "chr1:1-4500", &e), 0);
    ck_assert_int_eq(mmdx_panel_finalize(p, &e), 0);

    mmdx_scan_result *r = scan_qc(20, 10, p);
    ck_assert_uint_eq(r->n_samples, 2);
    ck_assert_uint_eq(r->panel_het[0], 1); /* A: 1000 het (4000 fails DP) */
    ck_assert_uint_eq(r->panel_hom[0], 0);
    ck_assert_uint_eq(r->panel_het[1], 1); /* B: 1000 fails GQ, 4000 carries the pathogenic ALT 2 once */
    ck_assert_uint_eq(r->panel_hom[1], 0);
    ck_assert(fabs(r->call_rate[0] - 0.75) < 1e-12);
    ck_assert(fabs(r->call_rate[1] - 0.5) < 1e-12);
    ck_assert(isnan(r->het_ratio[0]));
    ck_assert(fabs(r->titv[0] - 2.0) < 1e-12);
    ck_assert(fabs(r->titv[1] - 1.0) < 1e-12);
    ck_assert_uint_eq(r->n_nonref[0], 3);
    ck_assert_uint_eq(r->n_nonref[1], 1);
    mmdx_scan_result_free(r);

    r = scan_qc(0, 0, p);
    ck_assert_uint_eq(r->panel_het[0], 2);
    ck_assert_uint_eq(r->panel_hom[0], 0);
    ck_assert_uint_eq(r->panel_het[1], 1);
    ck_assert_uint_eq(r->panel_hom[1], 1);
    ck_assert(fabs(r->call_rate[1] - 0.75) < 1e-12);
    ck_assert(fabs(r->het_ratio[1] - 1.0) < 1e-12); /* B: het 4000, hom-alt 1000 */
    mmdx_scan_result_free(r);
    mmdx_panel_free(p);
}
END_TEST

START_TEST(scan_legacy_clinvar_codes)
{
    /* The staged 2013 ClinVar excerpt codes pathogenic as CLNSIG=5; its one
       sample is 0/0 everywhere, so make it heterozygous in a copy. */
    char *src = mmdx_test_data_path("vcf/clinvar/gemini_test.clinvar.vcf");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "awk 'BEGIN{FS=OFS=\"\\t\"} /^#/{print;next} {$10=\"0/1\"; print}' '%s' > '%s'",
             src, tpath("cv.vcf"));
    ck_assert_int_eq(system(cmd), 0);
    free(src);
    mmdx_panel *p;
    mmdx_error e = {0};
    ck_assert_int_eq(mmdx_panel_new(&p, "agrn", &e), 0);
    ck_assert_int_eq(mmdx_panel_add_region(p, "AGRN", "1:900000-2000000", &e), 0);
    ck_assert_int_eq(mmdx_panel_finalize(p, &e), 0);
    static const char *terms[] = {"Pathogenic", "Likely_pathogenic", "5", "4"};
    const mmdx_panel *panels[1] = {p};
    mmdx_scan_settings s = {0};
    mmdx_prs_options_init(&s.prs);
    s.n_panels = 1;
    s.panels = panels;
    s.clnsig_field = "CLNSIG";
    s.terms = terms;
    s.n_terms = 4;
    s.n_threads = 1;
    mmdx_scan_result *r;
    ck_assert_msg(mmdx_scan_file(&r, tpath("cv.vcf"), &s, &e) == 0, "%s", e.message);
    /* 985955 is CLNSIG=5; 1199489 (1) and 1959699 (255|255|255) are not pathogenic */
    ck_assert_uint_eq(r->panel_het[0], 1);
    ck_assert_uint_eq(r->panel_hom[0], 0);
    ck_assert_uint_eq(r->n_records, 3); /* no QC: only the panel's records were read */
    mmdx_scan_result_free(r);
    mmdx_panel_free(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("genomics");
    TCase *tc = tcase_create("lib");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, chrom_names);
    tcase_add_test(tc, scorefile_parses);
    tcase_add_test(tc, scorefile_errors);
    tcase_add_test(tc, scorefile_harmonised_and_real);
    tcase_add_test(tc, vcf_fast_path_equals_htslib);
    tcase_add_test(tc, vcf_readers_agree_on_dosage_edges);
    tcase_add_test(tc, vcf_fast_paths_equal_htslib_on_generated_files);
    tcase_add_test(tc, prs_calls_and_dosages_give_the_same_bits);
    tcase_add_test(tc, vcf_every_staged_file_reads_or_fails_cleanly);
    tcase_add_test(tc, vcf_malformed_lines_are_named);
    tcase_add_test(tc, vcf_regions_need_an_index);
    tcase_add_test(tc, prs_rules_and_plink2_arithmetic);
    tcase_add_test(tc, prs_dosage_quantised_like_plink2);
    tcase_add_test(tc, prs_duplicates_counted);
    tcase_add_test(tc, prs_number_format);
    tcase_add_test(tc, clnsig_terms);
    tcase_add_test(tc, panel_bed_errors);
    tcase_add_test(tc, scan_qc_and_panels_by_hand);
    tcase_add_test(tc, scan_legacy_clinvar_codes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    mmdx_test_data_or_skip();
    hts_set_log_level(HTS_LOG_OFF); /* the files with undefined tags are read on purpose */
    return mmdx_test_run_suite(suite());
}
