/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * `mmdx genomics score` and `mmdx encode` with the genomics plugin, end to
 * end. The reference is PLINK 2 itself (Debian package plink2), run here on
 * the same inputs: sums, averages and allele counts must agree to the 6
 * significant digits plink2 prints, on real data (../shared/data/pgs) and on
 * generated data with missing genotypes, multi-allelic records, strand flips
 * and dosages.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

static char *tmp;

static void setup(void) { tmp = mmdx_test_tmpdir(); }
static void teardown(void)
{
    mmdx_test_rmtree(tmp);
    free(tmp);
}

static const char *T(const char *name)
{
    static char buf[16][4096];
    static int k;
    k = (k + 1) % 16;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp, name);
    return buf[k];
}

static int run(const char *cmd, char **out, char **err)
{
    char full[16384];
    snprintf(full, sizeof full, "MMDX_CONFIG= MMDX_PLUGIN_PATH= %s", cmd);
    return mmdx_test_run(full, out, err);
}

static int have_plink2(void)
{
    if (mmdx_test_run("command -v plink2", NULL, NULL) == 0)
        return 1;
    const char *ci = getenv("CI");
    ck_assert_msg(!(ci && !strcmp(ci, "true")), "plink2 is required under CI (scripts/install-deps.sh)");
    return 0;
}

/* ---- a small TSV table: header + rows of text cells ---- */

typedef struct table {
    char *text;
    size_t n_cols, n_rows;
    char **cells; /* (n_rows + 1) x n_cols, row 0 = header */
} table;

static table *table_read(const char *path)
{
    table *t = calloc(1, sizeof *t);
    t->text = mmdx_test_read_file(path, NULL);
    ck_assert_msg(t->text != NULL, "cannot read %s", path);
    size_t cap = 1024, n = 0;
    t->cells = malloc(cap * sizeof *t->cells);
    size_t cols = 0, row_cols = 0;
    char *p = t->text;
    char *line_start = p;
    for (;;) {
        char c = *p;
        if (c == '\t' || c == '\n' || c == '\0') {
            if (c == '\0' && p == line_start)
                break;
            *p = '\0';
            if (n == cap)
                t->cells = realloc(t->cells, (cap *= 2) * sizeof *t->cells);
            t->cells[n++] = line_start;
            row_cols++;
            line_start = p + 1;
            if (c != '\t') {
                if (cols == 0)
                    cols = row_cols;
                ck_assert_msg(row_cols == cols, "%s: ragged row", path);
                row_cols = 0;
                t->n_rows++;
            }
            if (c == '\0')
                break;
        }
        p++;
    }
    t->n_cols = cols;
    t->n_rows--; /* header */
    return t;
}

static void table_free(table *t)
{
    free(t->cells);
    free(t->text);
    free(t);
}

static long col_of(const table *t, const char *name)
{
    for (size_t c = 0; c < t->n_cols; c++)
        if (!strcmp(t->cells[c], name))
            return (long)c;
    return -1;
}

static const char *cell(const table *t, size_t row, long col) { return t->cells[(row + 1) * t->n_cols + (size_t)col]; }

/* Row whose sample id (FID_IID when plink2 wrote both, else IID) is `id`. */
static long row_of(const table *t, const char *id)
{
    long fid = col_of(t, "#FID"), iid = col_of(t, fid >= 0 ? "IID" : "#IID");
    char buf[512];
    for (size_t r = 0; r < t->n_rows; r++) {
        if (fid >= 0)
            snprintf(buf, sizeof buf, "%s_%s", cell(t, r, fid), cell(t, r, iid));
        else
            snprintf(buf, sizeof buf, "%s", cell(t, r, iid));
        if (!strcmp(buf, id))
            return (long)r;
    }
    return -1;
}

/* Equal to the precision plink2 prints (6 significant digits). */
static int same_printed(double ours, const char *theirs)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.6g", ours);
    if (!strcmp(buf, theirs))
        return 1;
    double t = strtod(theirs, NULL);
    if (t == 0)
        return fabs(ours) < 1e-12; /* a sum that cancels to rounding noise */
    /* a value on a rounding boundary may print either way */
    double unit = pow(10, floor(log10(fabs(t))) - 5);
    return fabs(ours - t) <= 0.5 * unit * (1 + 1e-9);
}

/* Compare our table (#IID, <score>_ALLELE_CT/_SUM/_AVG) with a plink2 .sscore. */
static long col_suffix(const table *t, const char *suffix)
{
    for (size_t c = 0; c < t->n_cols; c++) {
        size_t l = strlen(t->cells[c]), k = strlen(suffix);
        if (l > k && !strcmp(t->cells[c] + l - k, suffix) && strcmp(t->cells[c], "NAMED_ALLELE_DOSAGE_SUM"))
            return (long)c;
    }
    return -1;
}

/* plink2 names its columns after the score file's header, or SCORE1 when it reads none: one score per run here. */
static void compare_with_plink2(const char *ours_path, const char *score, const char *sscore_path,
                                int check_allele_ct)
{
    table *o = table_read(ours_path), *p = table_read(sscore_path);
    char c_sum[256], c_avg[256], c_ct[256];
    snprintf(c_sum, sizeof c_sum, "%s_SUM", score);
    snprintf(c_avg, sizeof c_avg, "%s_AVG", score);
    snprintf(c_ct, sizeof c_ct, "%s_ALLELE_CT", score);
    long os = col_of(o, c_sum), oa = col_of(o, c_avg), oc = col_of(o, c_ct), oi = col_of(o, "#IID");
    long ps = col_suffix(p, "_SUM"), pa = col_suffix(p, "_AVG"), pc = col_of(p, "ALLELE_CT");
    ck_assert_msg(os >= 0 && oa >= 0 && oc >= 0 && oi >= 0, "%s lacks columns for %s", ours_path, score);
    ck_assert_msg(ps >= 0 && pa >= 0 && pc >= 0, "%s lacks score columns", sscore_path);
    ck_assert_uint_eq(o->n_rows, p->n_rows);
    for (size_t r = 0; r < o->n_rows; r++) {
        const char *id = cell(o, r, oi);
        long q = row_of(p, id);
        ck_assert_msg(q >= 0, "sample %s missing from %s", id, sscore_path);
        double s = strtod(cell(o, r, os), NULL), a = strtod(cell(o, r, oa), NULL);
        ck_assert_msg(same_printed(s, cell(p, (size_t)q, ps)), "%s: %s SUM %.10g, plink2 %s", ours_path,
                      id, s, cell(p, (size_t)q, ps));
        ck_assert_msg(same_printed(a, cell(p, (size_t)q, pa)), "%s: %s AVG %.10g, plink2 %s", ours_path,
                      id, a, cell(p, (size_t)q, pa));
        if (check_allele_ct)
            ck_assert_msg(!strcmp(cell(o, r, oc), cell(p, (size_t)q, pc)), "%s: %s ALLELE_CT %s vs %s",
                          ours_path, id, cell(o, r, oc), cell(p, (size_t)q, pc));
    }
    table_free(o);
    table_free(p);
}

static void plink2(const char *args)
{
    char cmd[8192], *err = NULL;
    snprintf(cmd, sizeof cmd, "plink2 --memory 1024 --threads 2 %s", args);
    int rc = mmdx_test_run(cmd, NULL, &err);
    ck_assert_msg(rc == 0, "plink2 failed (%d): %s\n%s", rc, cmd, err);
    free(err);
}

/* plink2 --score on `vcf` with variant IDs chr:pos:ref:alt, as pgsc_calc names them */
static void plink2_score_by_id(const char *vcf, const char *score, const char *out)
{
    char args[8192];
    snprintf(args, sizeof args,
             "--vcf '%s' --set-all-var-ids '@:#:$r:$a' --new-id-max-allele-len 1000 "
             "--score '%s' 1 2 3 header cols=+scoresums --out '%s'",
             vcf, score, out);
    plink2(args);
}

static void mmdx_ok(const char *args, char **out)
{
    char cmd[8192], *err = NULL;
    snprintf(cmd, sizeof cmd, "'%s' %s", mmdx_test_mmdx_bin(), args);
    int rc = run(cmd, out, &err);
    ck_assert_msg(rc == 0, "mmdx failed (%d): %s\n%s", rc, cmd, err);
    free(err);
}

static long json_int(const char *json, const char *key)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(json, pat);
    ck_assert_msg(p != NULL, "no %s in %s", key, json);
    return strtol(p + strlen(pat), NULL, 10);
}

/* ------------------------------------------------------------------ */

START_TEST(plink2_equal_on_real_cineca_data)
{
    if (!have_plink2())
        return;
    char *vcf = mmdx_test_data_path("pgs/target_genomes/cineca_synthetic_subset.vcf.gz");
    char *pgs = mmdx_test_data_path("pgs/scorefiles/PGS001229_22.txt");
    char *pgsc = mmdx_test_data_path("pgs/expected_plink2/cineca_22_additive_0.scorefile.gz");
    char *published = mmdx_test_data_path("pgs/expected_plink2/cineca_22_additive_0.sscore.tsv");
    char *vars = mmdx_test_data_path("pgs/expected_plink2/cineca_22_additive_0.sscore.vars");
    char args[8192], *json = NULL;
    snprintf(args, sizeof args, "genomics score --vcf '%s' --score '%s' --out '%s' --log '%s' --json",
             vcf, pgs, T("m.tsv"), T("m.log"));
    mmdx_ok(args, &json);
    /* pgsc_calc's own report for this pair: 782 matched, 47 strand-ambiguous, 6 unmatched */
    ck_assert_int_eq(json_int(json, "matched"), 782);
    ck_assert_int_eq(json_int(json, "ambiguous_dropped"), 47);
    ck_assert_int_eq(json_int(json, "unmatched"), 6);
    ck_assert_int_eq(json_int(json, "rows"), 835);
    free(json);

    /* the variants we scored are the ones plink2 used in the published run */
    table *log = table_read(T("m.log"));
    char *want = mmdx_test_read_file(vars, NULL);
    long st = col_of(log, "status"), vv = col_of(log, "vcf_variant");
    size_t n_matched = 0;
    for (size_t r = 0; r < log->n_rows; r++) {
        if (strcmp(cell(log, r, st), "matched"))
            continue;
        char id[256];
        snprintf(id, sizeof id, "%s", cell(log, r, vv));
        *strchr(id, ' ') = '\0';
        char line[300];
        snprintf(line, sizeof line, "%s\n", id);
        ck_assert_msg(strstr(want, line) != NULL, "%s is not among plink2's variants", id);
        n_matched++;
    }
    ck_assert_uint_eq(n_matched, 782);
    free(want);
    table_free(log);

    /* plink2 run here on the same VCF with pgsc_calc's matched scoring file */
    plink2_score_by_id(vcf, pgsc, T("p"));
    compare_with_plink2(T("m.tsv"), "PGS001229", T("p.sscore"), 1);
    /* and the published plink2 result */
    compare_with_plink2(T("m.tsv"), "PGS001229", published, 1);
    free(vcf);
    free(pgs);
    free(pgsc);
    free(published);
    free(vars);
}
END_TEST

static void generate(const char *prefix, const char *opts)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' --prefix '%s' %s", MMDX_GENOMICS_GEN, prefix, opts);
    ck_assert_int_eq(mmdx_test_run(cmd, NULL, NULL), 0);
}

static long expect(const char *prefix, const char *key)
{
    char path[4096];
    snprintf(path, sizeof path, "%s.expect", prefix);
    char *t = mmdx_test_read_file(path, NULL);
    ck_assert_ptr_nonnull(t);
    char pat[64];
    snprintf(pat, sizeof pat, "%s\t", key);
    char *p = strstr(t, pat);
    ck_assert_ptr_nonnull(p);
    long v = strtol(p + strlen(pat), NULL, 10);
    free(t);
    return v;
}

START_TEST(plink2_equal_on_generated_gt_with_missing_flips_multiallelic)
{
    if (!have_plink2())
        return;
    const char *g = T("g");
    generate(g, "--variants 3000 --samples 80 --score-rows 900 --missing 0.04 --multiallelic 0.08 "
                "--flip 0.2 --absent 25 --chr-prefix --seed 7");
    char args[8192], *json = NULL;
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "bgzip -c '%s.vcf' > '%s.vcf.gz' && tabix -p vcf '%s.vcf.gz'", g, g, g);
    ck_assert_int_eq(mmdx_test_run(cmd, NULL, NULL), 0);

    snprintf(args, sizeof args, "--vcf '%s.vcf' --score '%s.plink2.txt' 1 2 3 header cols=+scoresums --out '%s'",
             g, g, T("gp"));
    plink2(args);
    snprintf(args, sizeof args,
             "--vcf '%s.vcf' --score '%s.plink2.txt' 1 2 3 header cols=+scoresums no-mean-imputation --out '%s'",
             g, g, T("gpn"));
    plink2(args);

    /* plain text, bgzipped streaming, and bgzipped through the index: all equal plink2 */
    const char *variants[][2] = {{".vcf", "no"}, {".vcf.gz", "no"}, {".vcf.gz", "yes"}};
    for (size_t i = 0; i < 3; i++) {
        snprintf(args, sizeof args,
                 "genomics score --vcf '%s%s' --score '%s.pgs.txt' --regions %s --out '%s' --json "
                 "--min-overlap 0.5",
                 g, variants[i][0], g, variants[i][1], T("g.tsv"));
        mmdx_ok(args, &json);
        ck_assert_int_eq(json_int(json, "matched"), expect(g, "matched"));
        ck_assert_int_eq(json_int(json, "flipped"), expect(g, "flipped"));
        ck_assert_int_eq(json_int(json, "ambiguous_dropped"), expect(g, "ambiguous"));
        ck_assert_int_eq(json_int(json, "unmatched"), expect(g, "unmatched"));
        ck_assert_int_gt(json_int(json, "multiallelic"), 0);
        ck_assert_int_gt(json_int(json, "flipped"), 0);
        free(json);
        compare_with_plink2(T("g.tsv"), "SYNTH", T("gp.sscore"), 1);
    }
    snprintf(args, sizeof args,
             "genomics score --vcf '%s.vcf.gz' --score '%s.pgs.txt' --no-mean-imputation --out '%s' --threads 3 "
             "--min-overlap 0.5",
             g, g, T("gn.tsv"));
    mmdx_ok(args, NULL);
    compare_with_plink2(T("gn.tsv"), "SYNTH", T("gpn.sscore"), 1);
}
END_TEST

START_TEST(plink2_equal_on_generated_dosages)
{
    if (!have_plink2())
        return;
    const char *g = T("d");
    generate(g, "--variants 2000 --samples 60 --score-rows 700 --missing 0.05 --ds --flip 0.2 --seed 11");
    char args[8192];
    snprintf(args, sizeof args,
             "--vcf '%s.vcf' dosage=DS --score '%s.plink2.txt' 1 2 3 header cols=+scoresums --out '%s'", g, g,
             T("dp"));
    plink2(args);
    snprintf(args, sizeof args, "genomics score --vcf '%s.vcf' --score '%s.pgs.txt' --dosage ds --out '%s' --min-overlap 0.5",
             g, g, T("d.tsv"));
    mmdx_ok(args, NULL);
    compare_with_plink2(T("d.tsv"), "SYNTH", T("dp.sscore"), 1);
    /* hard calls of the same file also agree */
    snprintf(args, sizeof args, "--vcf '%s.vcf' --score '%s.plink2.txt' 1 2 3 header cols=+scoresums --out '%s'",
             g, g, T("dg"));
    plink2(args);
    snprintf(args, sizeof args, "genomics score --vcf '%s.vcf' --score '%s.pgs.txt' --out '%s' --min-overlap 0.5",
             g, g, T("dg.tsv"));
    mmdx_ok(args, NULL);
    compare_with_plink2(T("dg.tsv"), "SYNTH", T("dg.sscore"), 1);

    /* a record without DS, and a sample whose DS is '.', keep their GT calls as in plink2 */
    mmdx_test_write_file(T("t3.vcf"),
                         "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
                         "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"GT\">\n"
                         "##FORMAT=<ID=DS,Number=A,Type=Float,Description=\"DS\">\n"
                         "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\tS3\tS4\n"
                         "1\t100\tv1\tA\tG\t.\t.\t.\tGT:DS\t0/1:0.9\t1/1:1.8\t./.:.\t0/0:0.1\n"
                         "1\t300\tv3\tA\tC\t.\t.\t.\tGT\t1/1\t0/0\t./.\t0|1\n"
                         "1\t400\tv4\tA\tT\t.\t.\t.\tGT:DS\t1/1:.\t0/0:0.5\t0/1:1\t0|1:1\n");
    mmdx_test_write_file(T("t3.plink2.txt"), "ID\tA1\tW\nv1\tG\t0.5\nv3\tC\t-1\nv4\tT\t2\n");
    mmdx_test_write_file(T("t3.pgs"), "#pgs_id=T3\nchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
                                      "1\t100\tG\tA\t0.5\n1\t300\tC\tA\t-1\n1\t400\tT\tA\t2\n");
    snprintf(args, sizeof args,
             "--vcf '%s' dosage=DS --score '%s' 1 2 3 header cols=+scoresums --bad-freqs --out '%s'",
             T("t3.vcf"), T("t3.plink2.txt"), T("t3p"));
    plink2(args);
    snprintf(args, sizeof args, "genomics score --vcf '%s' --score '%s' --dosage ds --keep-ambiguous --out '%s'",
             T("t3.vcf"), T("t3.pgs"), T("t3.tsv"));
    mmdx_ok(args, NULL);
    compare_with_plink2(T("t3.tsv"), "T3", T("t3p.sscore"), 1);

    /* FORMAT/GP (bcftools' test file, its chr22 part: plink2 refuses the haploid chrY GP) */
    char *gp = mmdx_test_data_path("vcf/bcftools_test/view.GP.vcf");
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "awk '/^#/ || $1==\"22\"' '%s' > '%s' && "
             "awk 'BEGIN{OFS=\"\\t\"; print \"#pgs_id=GP\"; print \"chr_name\",\"chr_position\",\"effect_allele\",\"other_allele\",\"effect_weight\"} "
             "!/^#/ && $5 !~ /[,.<]/ {print $1,$2,$5,$4,(NR%%7)/10-0.3}' '%s' > '%s' && "
             "awk 'BEGIN{OFS=\"\\t\"; print \"ID\",\"A1\",\"W\"} "
             "!/^#/ && $5 !~ /[,.<]/ {print $1\":\"$2\":\"$4\":\"$5,$5,(NR%%7)/10-0.3}' '%s' > '%s'",
             gp, T("gp.vcf"), T("gp.vcf"), T("gp.pgs"), T("gp.vcf"), T("gp.plink2.txt"));
    ck_assert_int_eq(mmdx_test_run(cmd, NULL, NULL), 0);
    free(gp);
    snprintf(args, sizeof args,
             "--vcf '%s' dosage=GP --set-all-var-ids '@:#:$r:$a' --new-id-max-allele-len 1000 --bad-freqs "
             "--score '%s' 1 2 3 header cols=+scoresums --out '%s'",
             T("gp.vcf"), T("gp.plink2.txt"), T("gpp"));
    plink2(args);
    snprintf(args, sizeof args, "genomics score --vcf '%s' --score '%s' --dosage gp --keep-ambiguous --out '%s'",
             T("gp.vcf"), T("gp.pgs"), T("gp.tsv"));
    mmdx_ok(args, NULL);
    compare_with_plink2(T("gp.tsv"), "GP", T("gpp.sscore"), 1);
}
END_TEST

static char complement(char c)
{
    return c == 'A' ? 'T' : c == 'T' ? 'A' : c == 'C' ? 'G' : c == 'G' ? 'C' : c;
}

/* plink2 scores by variant ID: write the rows our log says matched, as chr:pos:ref:alt IDs
   with the effect allele in the VCF's orientation. Returns the number of rows. */
static int plink2_score_from_log(const char *log_path, const char *out_path)
{
    table *log = table_read(log_path);
    FILE *f = fopen(out_path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "ID\tA1\tW\n");
    long st = col_of(log, "status"), vv = col_of(log, "vcf_variant"), ru = col_of(log, "rule"),
         ea = col_of(log, "effect_allele"), w = col_of(log, "effect_weight");
    int n = 0;
    for (size_t r = 0; r < log->n_rows; r++) {
        if (strcmp(cell(log, r, st), "matched"))
            continue;
        char id[256], allele[64];
        snprintf(id, sizeof id, "%s", cell(log, r, vv));
        char *sp = strchr(id, ' ');
        if (sp)
            *sp = '\0';
        snprintf(allele, sizeof allele, "%s", cell(log, r, ea));
        if (strstr(cell(log, r, ru), "flip"))
            for (char *c = allele; *c; c++)
                *c = complement(*c);
        fprintf(f, "%s\t%s\t%s\n", id, allele, cell(log, r, w));
        n++;
    }
    fclose(f);
    table_free(log);
    return n;
}

START_TEST(bcf_equals_vcf_and_plink2_on_1000g_dosages)
{
    char *vcf = mmdx_test_data_path("vcf/variantannotation/chr22.vcf.gz");
    char *bcf = mmdx_test_data_path("vcf/derived/chr22.bcf");
    char *pgs = mmdx_test_data_path("pgs/scorefiles/PGS001229_22.txt");
    char args[8192];
    /* 27 of the 835 rows lie in this 1 Mb subset: the overlap check must be lowered */
    snprintf(args, sizeof args,
             "genomics score --vcf '%s' --score '%s' --dosage ds --min-overlap 0 --out '%s' --log '%s'", vcf,
             pgs, T("v.tsv"), T("v.log"));
    mmdx_ok(args, NULL);
    snprintf(args, sizeof args, "genomics score --vcf '%s' --score '%s' --dosage ds --min-overlap 0 --out '%s'",
             bcf, pgs, T("b.tsv"));
    mmdx_ok(args, NULL);
    char *a = mmdx_test_read_file(T("v.tsv"), NULL), *b = mmdx_test_read_file(T("b.tsv"), NULL);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    if (have_plink2()) {
        int n = plink2_score_from_log(T("v.log"), T("v.plink2.txt"));
        ck_assert_int_eq(n, 26);
        snprintf(args, sizeof args,
                 "--vcf '%s' dosage=DS --set-all-var-ids '@:#:$r:$a' --new-id-max-allele-len 4000 --bad-freqs "
                 "--score '%s' 1 2 3 header cols=+scoresums --out '%s'",
                 vcf, T("v.plink2.txt"), T("vp"));
        plink2(args);
        compare_with_plink2(T("v.tsv"), "PGS001229", T("vp.sscore"), 1);
    }
    free(vcf);
    free(bcf);
    free(pgs);
}
END_TEST

static void expect_failure(const char *args, int code, const char *needle1, const char *needle2)
{
    char cmd[8192], *err = NULL;
    snprintf(cmd, sizeof cmd, "'%s' %s", mmdx_test_mmdx_bin(), args);
    int rc = run(cmd, NULL, &err);
    ck_assert_msg(rc == code, "exit %d (want %d): %s\n%s", rc, code, cmd, err);
    ck_assert_msg(!needle1 || strstr(err, needle1), "'%s' lacks '%s'", err, needle1);
    ck_assert_msg(!needle2 || strstr(err, needle2), "'%s' lacks '%s'", err, needle2);
    free(err);
}

START_TEST(bad_input_is_named)
{
    const char *g = T("e");
    generate(g, "--variants 200 --samples 10 --score-rows 100 --seed 3");
    char args[8192], cmd[8192];
    /* a scoring file without effect_weight */
    mmdx_test_write_file(T("noweight.txt"), "#pgs_id=X\nchr_name\tchr_position\teffect_allele\n1\t5\tA\n");
    snprintf(args, sizeof args, "genomics score --vcf '%s.vcf' --score '%s'", g, T("noweight.txt"));
    expect_failure(args, 3, "noweight.txt: line 2", "effect_weight");
    /* a non-numeric weight */
    mmdx_test_write_file(T("nan.txt"), "chr_name\tchr_position\teffect_allele\teffect_weight\n1\t5\tA\t0.1\n1\t6\tA\tx1\n");
    snprintf(args, sizeof args, "genomics score --vcf '%s.vcf' --score '%s'", g, T("nan.txt"));
    expect_failure(args, 3, "nan.txt: line 3", "x1");
    /* a malformed genotype in a scored record */
    mmdx_test_write_file(T("bad.vcf"), "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
                                       "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"GT\">\n"
                                       "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\n"
                                       "1\t5\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0/0\n"
                                       "1\t6\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0~0\n");
    mmdx_test_write_file(T("two.txt"), "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
                                       "1\t5\tG\tA\t1\n1\t6\tG\tA\t1\n");
    snprintf(args, sizeof args, "genomics score --vcf '%s' --score '%s'", T("bad.vcf"), T("two.txt"));
    expect_failure(args, 3, "bad.vcf: line 6: sample B", "not a genotype");
    /* a region query on a file without an index */
    snprintf(args, sizeof args, "genomics score --vcf '%s.vcf' --score '%s.pgs.txt' --regions yes", g, g);
    expect_failure(args, 3, "e.vcf", "index");
    /* the overlap check refuses and writes nothing */
    mmdx_test_write_file(T("far.txt"),
                         "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
                         "9\t5\tA\tG\t1\n9\t6\tA\tG\t1\n");
    snprintf(args, sizeof args, "genomics score --vcf '%s.vcf' --score '%s' --out '%s'", g, T("far.txt"),
             T("far.tsv"));
    expect_failure(args, 3, "0 of 2 variants", "--min-overlap");
    ck_assert_ptr_null(mmdx_test_read_file(T("far.tsv"), NULL));
    /* non-ACGT alleles are counted, not fatal */
    mmdx_test_write_file(T("odd.txt"), "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
                                       "1\t5\tN\tG\t1\n1\t6\t<DEL>\tG\t1\n");
    char *json = NULL, *warn = NULL;
    snprintf(cmd, sizeof cmd,
             "'%s' genomics score --vcf '%s.vcf' --score '%s' --min-overlap 0 --out '%s' --json",
             mmdx_test_mmdx_bin(), g, T("odd.txt"), T("odd.tsv"));
    ck_assert_int_eq(run(cmd, &json, &warn), 0);
    ck_assert_int_eq(json_int(json, "unusable"), 2);
    ck_assert_msg(strstr(warn, "odd.txt: line 2: effect allele is not made of A/C/G/T") != NULL, "%s", warn);
    ck_assert_msg(strstr(warn, "odd.txt: line 3: effect allele") != NULL, "%s", warn);
    free(json);
    free(warn);
    /* usage errors */
    snprintf(args, sizeof args, "genomics score --score '%s.pgs.txt'", g);
    expect_failure(args, 2, "--vcf", NULL);
    snprintf(args, sizeof args, "genomics score --vcf '%s.vcf' --score '%s.pgs.txt' --threads 0", g, g);
    expect_failure(args, 2, "--threads", NULL);
    snprintf(args, sizeof args, "genomics score --vcf '%s' --score '%s.pgs.txt'", T("absent.vcf"), g);
    expect_failure(args, 3, "absent.vcf", NULL);
    expect_failure("genomics frobnicate", 2, "frobnicate", NULL);
    char *out = NULL;
    mmdx_ok("genomics score --help", &out);
    ck_assert_ptr_nonnull(strstr(out, "--keep-ambiguous"));
    free(out);
}
END_TEST

START_TEST(encode_cohort_fills_genomics_columns)
{
    char *vcf = mmdx_test_data_path("pgs/target_genomes/cineca_synthetic_subset.vcf.gz");
    char *pgs = mmdx_test_data_path("pgs/scorefiles/PGS001229_22.txt");
    char *published = mmdx_test_data_path("pgs/expected_plink2/cineca_22_additive_0.sscore.tsv");
    char text[16384];
    snprintf(text, sizeof text,
             "[genomics]\nscore = %s\npanel_region = chr22demo GENE1 chr22:17000000-18000000\nmin_gq = 0\n", pgs);
    mmdx_test_write_file(T("site.conf"), text);
    static const char *samples[] = {"HG00096", "HG00097", "HG00099", "HG00100", "HG00101", "HG00102"};
    int k = snprintf(text, sizeof text, "patient_id,vcf,vcf_sample\n");
    for (int i = 0; i < 6; i++)
        k += snprintf(text + k, sizeof text - (size_t)k, "P%d,%s,%s_%s\n", i + 1, vcf, samples[i], samples[i]);
    /* a second file (read in parallel with the first) whose overlap with the score is too low:
       that patient fails alone */
    char *other = mmdx_test_data_path("vcf/variantannotation/chr22.vcf.gz");
    snprintf(text + k, sizeof text - (size_t)k, "P7,%s,HG00096\n", other);
    free(other);
    mmdx_test_write_file(T("cohort.csv"), text);
    char args[8192], *err = NULL;
    snprintf(args, sizeof args,
             "'%s' encode --cohort '%s' --out '%s' --config '%s' --only genomics --no-progress --keep-going "
             "--threads 2",
             mmdx_test_mmdx_bin(), T("cohort.csv"), T("f.csv"), T("site.conf"));
    ck_assert_int_eq(run(args, NULL, &err), 0);
    ck_assert_msg(strstr(err, "chr22.vcf.gz") && strstr(err, "minimum overlap"), "%s", err);
    free(err);
    /* read the CSV: header then 6 rows */
    char *csv = mmdx_test_read_file(T("f.csv"), NULL);
    ck_assert_ptr_nonnull(csv);
    char *save = NULL, *line = strtok_r(csv, "\n", &save);
    char *hdr = strdup(line);
    int c_std = -1, c_raw = -1, c_cr = -1, c_het = -1, c_present = -1, col = 0;
    for (char *s2 = NULL, *h = strtok_r(hdr, ",", &s2); h; h = strtok_r(NULL, ",", &s2), col++) {
        if (!strcmp(h, "genomics.present"))
            c_present = col;
        else if (!strcmp(h, "genomics.prs.pgs001229"))
            c_std = col;
        else if (!strcmp(h, "genomics.prs.pgs001229.raw"))
            c_raw = col;
        else if (!strcmp(h, "genomics.qc.call_rate"))
            c_cr = col;
        else if (!strcmp(h, "genomics.panel.chr22demo.het"))
            c_het = col;
    }
    ck_assert_msg(c_std >= 0 && c_raw >= 0 && c_cr >= 0 && c_het >= 0 && c_present >= 0,
                  "columns missing in %s", line);
    table *pub = table_read(published);
    long ps = col_of(pub, "PGS001229_SUM");
    double sum = 0, sum2 = 0;
    for (int i = 0; i < 6; i++) {
        line = strtok_r(NULL, "\n", &save);
        ck_assert_ptr_nonnull(line);
        double v[64];
        int n = 0;
        for (char *p = line;; n++) {
            char *comma = strchr(p, ',');
            v[n] = strtod(p, NULL);
            if (!comma || n == 63)
                break;
            p = comma + 1;
        }
        char id[64];
        snprintf(id, sizeof id, "%s_%s", samples[i], samples[i]);
        long r = row_of(pub, id);
        ck_assert_int_ge(r, 0);
        ck_assert_msg(same_printed(v[c_raw], cell(pub, (size_t)r, ps)), "%s raw %.10g vs %s", id, v[c_raw],
                      cell(pub, (size_t)r, ps));
        ck_assert(v[c_cr] > 0.99 && v[c_cr] <= 1.0); /* one missing call among these samples */
        sum += v[c_std];
        sum2 += v[c_std] * v[c_std];
    }
    line = strtok_r(NULL, "\n", &save);
    ck_assert_ptr_nonnull(line);
    ck_assert_msg(!strncmp(line, "P7,", 3), "%s", line);
    {
        const char *p = line;
        for (int c = 0; c < c_present; c++)
            p = strchr(p, ',') + 1;
        ck_assert_msg(p[0] == '0' && p[1] == ',', "P7 genomics.present: %s", line);
    }
    /* standardised by the cohort: mean 0, sample sd 1 */
    ck_assert_msg(fabs(sum / 6) < 1e-9, "mean %g", sum / 6);
    ck_assert_msg(fabs(sqrt((sum2 - sum * sum / 6) / 5) - 1) < 1e-9, "sd");
    table_free(pub);
    free(hdr);
    free(csv);

    /* one pass per file: the cohort VCF is opened once for its six patients */
    /* strace needs ptrace; where the machine forbids it, this one check cannot run */
    if (mmdx_test_run("strace -f -o /dev/null true", NULL, NULL) == 0) {
        snprintf(args, sizeof args,
                 /* LeakSanitizer cannot run under ptrace; leaks are checked by the runs above */
                 "ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=openat -o '%s' '%s' encode --cohort '%s' "
                 "--out '%s' --config '%s' "
                 "--only genomics --no-progress --keep-going",
                 T("trace.txt"), mmdx_test_mmdx_bin(), T("cohort.csv"), T("f2.csv"), T("site.conf"));
        ck_assert_int_eq(run(args, NULL, NULL), 0);
        char *trace = mmdx_test_read_file(T("trace.txt"), NULL);
        ck_assert_ptr_nonnull(trace);
        int opens = 0;
        for (const char *q = trace; (q = strstr(q, "cineca_synthetic_subset.vcf.gz\"")); q++)
            opens++;
        ck_assert_msg(opens == 1, "the cohort VCF was opened %d times", opens);
        free(trace);
    }

    /* a sample that is not in the file is an error naming it */
    snprintf(text, sizeof text, "patient_id,vcf,vcf_sample\nP1,%s,NOBODY\n", vcf);
    mmdx_test_write_file(T("bad.csv"), text);
    snprintf(args, sizeof args, "encode --cohort '%s' --out '%s' --config '%s' --only genomics --no-progress",
             T("bad.csv"), T("g.csv"), T("site.conf"));
    expect_failure(args, 3, "NOBODY", "not in the file");
    /* a configuration error names file and line */
    mmdx_test_write_file(T("bad.conf"), "[genomics]\nscore_reference = PGS001229 0\n");
    snprintf(args, sizeof args, "encode --cohort '%s' --out '%s' --config '%s' --only genomics --no-progress",
             T("cohort.csv"), T("g.csv"), T("bad.conf"));
    expect_failure(args, 3, "bad.conf:2", "score_reference");

    /* plugins lists it */
    char *out = NULL;
    mmdx_ok("plugins --json", &out);
    ck_assert_ptr_nonnull(strstr(out, "\"name\": \"genomics\""));
    ck_assert_ptr_nonnull(strstr(out, "\"input_column\": \"vcf\""));
    free(out);
    free(vcf);
    free(pgs);
    free(published);
}
END_TEST

START_TEST(plink2_equal_on_1000g_grch38_structured_score)
{
    /* 3202 phased 1000 Genomes samples (GRCh38) with pygscatalog's "structured" scoring file */
    if (!have_plink2())
        return;
    char *vcf = mmdx_test_data_path("pgs/target_genomes/tiny1000G.vcf.gz");
    char *pgs = mmdx_test_data_path("pgs/scorefiles/PGS001229_hmPOS_GRCh38.structured.tiny1000G_subset.txt");
    char args[8192], *json = NULL;
    snprintf(args, sizeof args, "genomics score --vcf '%s' --score '%s' --out '%s' --log '%s' --json", vcf, pgs,
             T("k.tsv"), T("k.log"));
    mmdx_ok(args, &json);
    ck_assert_int_eq(json_int(json, "rows"), 986);
    ck_assert_int_gt(json_int(json, "flipped"), 0); /* real strand flips */
    ck_assert_int_eq(json_int(json, "matched") + json_int(json, "ambiguous_dropped") + json_int(json, "unmatched"),
                     986);
    free(json);
    int n = plink2_score_from_log(T("k.log"), T("k.plink2.txt"));
    ck_assert_int_gt(n, 900);
    plink2_score_by_id(vcf, T("k.plink2.txt"), T("kp"));
    compare_with_plink2(T("k.tsv"), "PGS001229", T("kp.sscore"), 1);
    free(vcf);
    free(pgs);
}
END_TEST

/* ---- pgsc_calc's matching rules as options ---- */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static double our_sum(const char *path, const char *sample)
{
    table *t = table_read(path);
    long r = row_of(t, sample), c = col_of(t, "RULES_SUM");
    ck_assert_msg(r >= 0 && c >= 0, "%s: no RULES_SUM for %s", path, sample);
    double x = strtod(cell(t, (size_t)r, c), NULL);
    table_free(t);
    return x;
}

/* the log's status of the row at scoring-file line `line` */
static int log_status_is(const char *log_path, long line, const char *status)
{
    table *t = table_read(log_path);
    long cl = col_of(t, "scorefile_line"), cs = col_of(t, "status");
    int ok = 0;
    for (size_t r = 0; r < t->n_rows; r++)
        if (strtol(cell(t, r, cl), NULL, 10) == line)
            ok = !strcmp(cell(t, r, cs), status);
    table_free(t);
    return ok;
}

START_TEST(pgsc_calc_rules_each_and_together)
{
    /* Hand-made: a biallelic record, a multi-allelic one, a record matched by
     * two rows of the score, and a row without a position (rsID only). The
     * expected sums are worked out by hand from the genotypes. */
    write_text(T("r.vcf"), "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
                           "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
                           "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n"
                           "1\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0/1\t1/1\n"
                           "1\t200\trs2\tA\tT,G\t.\tPASS\t.\tGT\t0/2\t1/2\n"
                           "1\t300\trs3\tA\tC\t.\tPASS\t.\tGT\t0/0\t0/1\n"
                           "1\t400\trs4\tG\tT\t.\tPASS\t.\tGT\t1/1\t0/1\n");
    write_text(T("r.pgs"), "#pgs_id=RULES\n"
                           "rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
                           "rs1\t1\t100\tG\tA\t1.0\n"      /* line 3 */
                           "rs2\t1\t200\tG\tA\t0.5\n"      /* line 4: multi-allelic record */
                           "rs3\t1\t300\tC\tA\t0.25\n"     /* line 5: same record as line 6 */
                           "rs3\t1\t300\tA\tC\t0.125\n"    /* line 6 */
                           "rs4\t\t\tT\tG\t2.0\n");        /* line 7: no position */
    static const struct {
        const char *opts;
        double s1, s2;
        const char *key;
        long dropped, line;
        const char *status;
    } cases[] = {
        {"", 5.75, 4.875, NULL, 0, 7, "matched"},
        {"--no-multiallelic", 5.25, 4.375, "multiallelic_dropped", 1, 4, "excluded_multiallelic"},
        {"--exclude-duplicates", 5.5, 4.5, "duplicates_dropped", 2, 5, "excluded_duplicate"},
        {"--require-positions", 1.75, 2.875, "no_position", 1, 7, "excluded_no_position"},
        {"--pgsc-defaults", 1.0, 2.0, "matched", 1, 6, "excluded_duplicate"},
        {"--pgsc-defaults --keep-ambiguous", 1.0, 2.0, "matched", 1, 4, "excluded_multiallelic"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[8192], *json = NULL;
        snprintf(args, sizeof args, "genomics score --vcf '%s' --score '%s' --out '%s' --log '%s' --json --min-overlap 0.2 %s",
                 T("r.vcf"), T("r.pgs"), T("r.tsv"), T("r.log"), cases[i].opts);
        mmdx_ok(args, &json);
        ck_assert_int_eq(json_int(json, "rows"), 5);
        if (cases[i].key)
            ck_assert_msg(json_int(json, cases[i].key) == cases[i].dropped, "%s: %s in %s", cases[i].opts,
                          cases[i].key, json);
        else
            ck_assert_int_eq(json_int(json, "matched"), 5);
        free(json);
        ck_assert_msg(fabs(our_sum(T("r.tsv"), "S1") - cases[i].s1) < 1e-12, "%s: S1 %.17g", cases[i].opts,
                      our_sum(T("r.tsv"), "S1"));
        ck_assert_msg(fabs(our_sum(T("r.tsv"), "S2") - cases[i].s2) < 1e-12, "%s: S2 %.17g", cases[i].opts,
                      our_sum(T("r.tsv"), "S2"));
        ck_assert_msg(log_status_is(T("r.log"), cases[i].line, cases[i].status), "%s: line %ld not %s",
                      cases[i].opts, cases[i].line, cases[i].status);
    }
    /* pgsc_calc's 0.75 minimum overlap still applies: 1 of 5 rows is refused, naming the score */
    char args[8192];
    snprintf(args, sizeof args, "genomics score --vcf '%s' --score '%s' --out '%s' --pgsc-defaults", T("r.vcf"),
             T("r.pgs"), T("r2.tsv"));
    expect_failure(args, 3, "RULES", "overlap");
    /* the same rules from the site configuration */
    char conf[8192];
    snprintf(conf, sizeof conf, "[genomics]\nscore = %s\npgsc_defaults = true\nmin_overlap = 0.2\n", T("r.pgs"));
    write_text(T("r.conf"), conf);
    snprintf(args, sizeof args, "genomics score --vcf '%s' --config '%s' --out '%s'", T("r.vcf"), T("r.conf"),
             T("r.tsv"));
    mmdx_ok(args, NULL);
    ck_assert(fabs(our_sum(T("r.tsv"), "S1") - 1.0) < 1e-12);
    write_text(T("r.conf"), "[genomics]\nno_multiallelic = maybe\n");
    snprintf(args, sizeof args, "genomics score --vcf '%s' --score '%s' --config '%s' --out '%s'", T("r.vcf"),
             T("r.pgs"), T("r.conf"), T("r.tsv"));
    expect_failure(args, 3, "r.conf:2", "no_multiallelic");
}
END_TEST

START_TEST(pgsc_defaults_reproduce_pgsc_calc_counts_and_plink2)
{
    /* pgsc_calc's published report for PGS001229 (chr22) on the CINECA
     * synthetic 1000 Genomes subset: 782 matched, 47 excluded as
     * strand-ambiguous, 6 unmatched; the sums are plink2's published ones. */
    char *vcf = mmdx_test_data_path("pgs/target_genomes/cineca_synthetic_subset.vcf.gz");
    char *pgs = mmdx_test_data_path("pgs/scorefiles/PGS001229_22.txt");
    char *published = mmdx_test_data_path("pgs/expected_plink2/cineca_22_additive_0.sscore.tsv");
    char args[8192], *json = NULL;
    snprintf(args, sizeof args, "genomics score --vcf '%s' --score '%s' --out '%s' --json --pgsc-defaults", vcf,
             pgs, T("c.tsv"));
    mmdx_ok(args, &json);
    ck_assert_int_eq(json_int(json, "rows"), 835);
    ck_assert_int_eq(json_int(json, "matched"), 782);
    ck_assert_int_eq(json_int(json, "ambiguous_dropped"), 47);
    ck_assert_int_eq(json_int(json, "unmatched") + json_int(json, "multiallelic_dropped") +
                         json_int(json, "duplicates_dropped") + json_int(json, "no_position"),
                     6);
    free(json);
    compare_with_plink2(T("c.tsv"), "PGS001229", published, 1);
    free(vcf);
    free(pgs);
    free(published);

    /* 3202 phased 1000 Genomes samples (GRCh38, pygscatalog's structured
     * score): under pgsc_calc's rules every row is accounted for and the sums
     * equal plink2 on exactly the variants used */
    if (!have_plink2())
        return;
    vcf = mmdx_test_data_path("pgs/target_genomes/tiny1000G.vcf.gz");
    pgs = mmdx_test_data_path("pgs/scorefiles/PGS001229_hmPOS_GRCh38.structured.tiny1000G_subset.txt");
    snprintf(args, sizeof args, "genomics score --vcf '%s' --score '%s' --out '%s' --log '%s' --json --pgsc-defaults",
             vcf, pgs, T("t.tsv"), T("t.log"));
    mmdx_ok(args, &json);
    long matched = json_int(json, "matched");
    ck_assert_int_eq(matched + json_int(json, "ambiguous_dropped") + json_int(json, "unmatched") +
                         json_int(json, "multiallelic_dropped") + json_int(json, "duplicates_dropped") +
                         json_int(json, "no_position") + json_int(json, "unusable"),
                     986);
    free(json);
    ck_assert_int_eq(plink2_score_from_log(T("t.log"), T("t.plink2.txt")), matched);
    plink2_score_by_id(vcf, T("t.plink2.txt"), T("tp"));
    compare_with_plink2(T("t.tsv"), "PGS001229", T("tp.sscore"), 1);
    free(vcf);
    free(pgs);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("genomics_cli");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, plink2_equal_on_real_cineca_data);
    tcase_add_test(tc, plink2_equal_on_generated_gt_with_missing_flips_multiallelic);
    tcase_add_test(tc, plink2_equal_on_generated_dosages);
    tcase_add_test(tc, bcf_equals_vcf_and_plink2_on_1000g_dosages);
    tcase_add_test(tc, plink2_equal_on_1000g_grch38_structured_score);
    tcase_add_test(tc, bad_input_is_named);
    tcase_add_test(tc, encode_cohort_fills_genomics_columns);
    tcase_add_test(tc, pgsc_calc_rules_each_and_together);
    tcase_add_test(tc, pgsc_defaults_reproduce_pgsc_calc_counts_and_plink2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    mmdx_test_data_or_skip();
    return mmdx_test_run_suite(suite());
}
