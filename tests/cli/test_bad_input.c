/*
 * Row 5 of the reliability matrix (docs/reliability.md, issue #17): bad input
 * to every parser, through the real `mmdx` commands.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A synthetic cohort (`mmdx synth`) and a signed model trained on another are
 * made once; each case derives its broken input from them (or writes it from
 * scratch), runs one command and checks: no signal, the documented exit code
 * (README "Exit codes", cli/env.c), done within a safety bound (killed after
 * 30 s), memory bounded (the child runs under RLIMIT_AS of 2 GiB, except in
 * the sanitizer build, whose shadow memory needs the address space), nothing
 * left in the output folder when the command fails, and a message naming the
 * file and the line, tag or field. Inputs a parser must accept (a BOM, CRLF,
 * quotes, a 64 MiB line) expect exit 0 and their output.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testsupport.h"

#define ROW 5
#define BOUND_SECONDS 30
#define MEMORY_LIMIT ((rlim_t)2 << 30)

static char *root;   /* the test's folder */
static char *cohort; /* mmdx synth: 4 patients, with mmdx.conf */
static char model[4096], key[4096];

/* ---- helpers making inputs ---------------------------------------------- */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char *err = NULL;
    int rc = mmdx_test_run(cmd, NULL, &err);
    ck_assert_msg(rc == 0, "%s: exit %d: %s", cmd, rc, err ? err : "");
    free(err);
}

static char *slurp(const char *path, size_t *len)
{
    char *d = mmdx_test_read_file(path, len);
    ck_assert_msg(d != NULL, "cannot read %s", path);
    return d;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
    ck_assert_int_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* dst = src with the first occurrence of `from` replaced by `to`. */
static void derive(const char *src, const char *dst, const char *from, const char *to)
{
    size_t len;
    char *d = slurp(src, &len);
    char *at = strstr(d, from);
    ck_assert_msg(at != NULL, "%s: no '%s'", src, from);
    FILE *f = fopen(dst, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(d, 1, (size_t)(at - d), f);
    fputs(to, f);
    fputs(at + strlen(from), f);
    ck_assert_int_eq(fclose(f), 0);
    free(d);
}

/*
 * dst = src with field `field` (0-based, separated by `sep`) of the nth line
 * not starting with '#' (0-based) replaced by `value`; value NULL cuts the
 * line after field - 1.
 */
static void edit_field(const char *src, const char *dst, int nth, int field, const char *value, char sep)
{
    size_t len;
    char *d = slurp(src, &len);
    FILE *f = fopen(dst, "wb");
    ck_assert_ptr_nonnull(f);
    int seen = -1, done = 0;
    for (char *line = d; *line;) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) + 1 : strlen(line);
        if (line[0] != '#' && ++seen == nth) {
            char *p = line;
            for (int k = 0; k < field; k++) {
                p = memchr(p, sep, n - (size_t)(p - line));
                ck_assert_msg(p != NULL, "%s: line has fewer than %d fields", src, field + 1);
                p++;
            }
            char *e = p;
            while (e < line + n && *e != sep && *e != '\n' && *e != '\r')
                e++;
            if (value) {
                fwrite(line, 1, (size_t)(p - line), f);
                fputs(value, f);
                fwrite(e, 1, n - (size_t)(e - line), f);
            } else {
                fwrite(line, 1, (size_t)(p - line) - (field ? 1 : 0), f);
                fputc('\n', f);
            }
            done = 1;
        } else {
            fwrite(line, 1, n, f);
        }
        line += n;
    }
    ck_assert_msg(done, "%s: no data line %d", src, nth);
    ck_assert_int_eq(fclose(f), 0);
    free(d);
}

static void truncate_copy(const char *src, const char *dst, double fraction)
{
    size_t len;
    char *d = slurp(src, &len);
    spit(dst, d, (size_t)((double)len * fraction));
    free(d);
}

static void flip_copy(const char *src, const char *dst, double where, size_t n, uint8_t mask)
{
    size_t len;
    char *d = slurp(src, &len);
    size_t at = (size_t)((double)len * where);
    for (size_t i = at; i < at + n && i < len; i++)
        d[i] = (char)(d[i] ^ mask);
    spit(dst, d, len);
    free(d);
}

/* A NIfTI-1 file from scratch: dims, datatype/bitpix, `data_bytes` bytes of 1s after the header. */
static void nifti(const char *path, int nx, int ny, int nz, short datatype, short bitpix, size_t data_bytes)
{
    unsigned char h[352] = {0};
    int32_t sizeof_hdr = 348;
    int16_t dim[8] = {3, (int16_t)nx, (int16_t)ny, (int16_t)nz, 1, 1, 1, 1};
    float pixdim[8] = {1, 1, 1, 2, 1, 1, 1, 1}, vox_offset = 352, slope = 1;
    memcpy(h, &sizeof_hdr, 4);
    memcpy(h + 40, dim, sizeof dim);
    memcpy(h + 70, &datatype, 2);
    memcpy(h + 72, &bitpix, 2);
    memcpy(h + 76, pixdim, sizeof pixdim);
    memcpy(h + 108, &vox_offset, 4);
    memcpy(h + 112, &slope, 4);
    int16_t qform = 1;
    memcpy(h + 252, &qform, 2);
    memcpy(h + 344, "n+1", 4);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(h, 1, sizeof h, f);
    for (size_t i = 0; i < data_bytes; i++)
        fputc(1, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* A text VCF of one sample with `n` records on chromosome 1, and its bgzip copy. */
static void big_vcf(const char *dir)
{
    char plain[4096];
    snprintf(plain, sizeof plain, "%s/big.vcf", dir);
    FILE *f = fopen(plain, "w");
    ck_assert_ptr_nonnull(f);
    fputs("##fileformat=VCFv4.2\n##contig=<ID=1,length=248956422>\n"
          "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n",
          f);
    for (int i = 0; i < 40000; i++)
        fprintf(f, "1\t%d\trs%d\tA\tG\t60\tPASS\tDP=%d\tGT\t%s\n", 1000 + 10 * i, i, i % 97,
                i % 3 ? "0/1" : "1/1");
    ck_assert_int_eq(fclose(f), 0);
    sh("bgzip -f '%s'", plain);
}

/* The offset of the BGZF block that starts nearest `fraction` of the file. */
static size_t bgzf_block_at(const unsigned char *d, size_t len, double fraction)
{
    size_t off = 0, best = 0;
    while (off + 18 <= len) {
        if (d[off] != 0x1f || d[off + 1] != 0x8b)
            break;
        if ((double)off <= (double)len * fraction)
            best = off;
        off += (size_t)(d[off + 16] | (d[off + 17] << 8)) + 1;
    }
    return best;
}

/* ---- the cases ----------------------------------------------------------- */

typedef struct bad_case {
    const char *parser;
    const char *name;
    void (*make)(const char *dir); /* writes the case's inputs into dir; NULL: none */
    /* arguments after `mmdx`: @D the case's folder (outputs go to @D/out),
       @C the cohort, @M the signed model, @K the site key, @S the source tree;
       a leading "@L " suppresses htslib 1.16's own leak in the sanitizer
       build (tests/cli/lsan-htslib-1.16.supp) */
    const char *args;
    int exit_code;
    const char *say[3];            /* stderr must contain each */
    const char *output;            /* exit 0: this file must be in @D/out */
} bad_case;

static char ct[4200], series[4096], vcf[4096], score[4096], record[4096], manifest[4096];

static void copy_ct(const char *dir, const char *name, const char *dcmodify)
{
    sh("cp '%s' '%s/%s' && dcmodify -nb -q %s '%s/%s'", ct, dir, name, dcmodify, dir, name);
}

#define IN(name) char p[4096]; snprintf(p, sizeof p, "%s/%s", dir, name)

static void mk_dicom_trunc(const char *dir) { IN("trunc.dcm"); truncate_copy(ct, p, 0.45); }
static void mk_dicom_huge(const char *dir)
{
    copy_ct(dir, "huge.dcm", "-m '(0028,0010)=65535' -m '(0028,0011)=65535' -i '(0028,0008)=10000'");
}
static void mk_dicom_short(const char *dir) { copy_ct(dir, "short.dcm", "-m '(0028,0010)=64' -m '(0028,0011)=64'"); }
static void mk_dicom_text(const char *dir) { IN("text.dcm"); spit(p, "hello\n", 6); }
static void mk_dicom_empty(const char *dir) { IN("empty.dcm"); spit(p, "", 0); }
static void mk_dicom_frames(const char *dir) { copy_ct(dir, "frames.dcm", "-i '(0028,0008)=1A'"); }
static void mk_dicom_bits(const char *dir) { copy_ct(dir, "bits.dcm", "-m '(0028,0100)=12'"); }
static void mk_dicom_rows0(const char *dir) { copy_ct(dir, "rows0.dcm", "-m '(0028,0010)=0'"); }
static void mk_dicom_orient(const char *dir) { copy_ct(dir, "orient.dcm", "-m '(0020,0037)=1\\\\0\\\\0\\\\0\\\\0\\\\0'"); }
static void mk_dicom_spacing(const char *dir) { copy_ct(dir, "spacing.dcm", "-m '(0028,0030)=-1\\\\-1'"); }
static void mk_dicom_gap(const char *dir)
{
    sh("mkdir '%s/gap' && cp '%s'/*.dcm '%s/gap/' && rm '%s/gap/CT005.dcm'", dir, series, dir, dir);
}
static void mk_dicom_limit(const char *dir)
{
    IN("small.conf");
    mmdx_test_write_file(p, "[imaging]\nmax_voxels = 1000\n");
}
static void mk_dicom_limit_bad(const char *dir)
{
    IN("limit.conf");
    mmdx_test_write_file(p, "[imaging]\nmax_voxels = -1\n");
}
static void mk_dicom_cohort(const char *dir)
{
    mk_dicom_huge(dir);
    IN("cohort.csv");
    char text[8192];
    snprintf(text, sizeof text, "patient_id,dicom\nP1,%s\nP2,huge.dcm\n", series);
    mmdx_test_write_file(p, text);
}

static void mk_mask_grid(const char *dir) { IN("other.nii"); nifti(p, 30, 40, 12, 2, 8, 30 * 40 * 12); }
static void mk_mask_type(const char *dir) { IN("cplx.nii"); nifti(p, 40, 40, 12, 32, 64, 40 * 40 * 12 * 8); }
static void mk_mask_cut(const char *dir) { IN("cut.nii"); nifti(p, 40, 40, 12, 2, 8, 100); }
static void mk_mask_huge(const char *dir) { IN("huge.nii"); nifti(p, 30000, 30000, 30000, 2, 8, 100); }

static void mk_vcf_nofmt(const char *dir) { IN("nofmt.vcf"); derive(vcf, p, "##fileformat=VCFv4.2\n", ""); }
static void mk_vcf_nochrom(const char *dir) { IN("nochrom.vcf"); derive(vcf, p, "#CHROM", "##CHROM"); }
static void mk_vcf_meta(const char *dir)
{
    IN("meta.vcf");
    derive(vcf, p, "##FILTER=<ID=PASS,Description=\"All filters passed\">", "##FILTER=<ID=PASS,Description=\"All");
}
static void mk_vcf_pos(const char *dir) { IN("pos.vcf"); edit_field(vcf, p, 4, 1, "12x", '\t'); }
static void mk_vcf_gt(const char *dir) { IN("gt.vcf"); edit_field(vcf, p, 4, 9, "x/y:1:1", '\t'); }
static void mk_vcf_cols(const char *dir) { IN("cols.vcf"); edit_field(vcf, p, 4, 3, NULL, '\t'); }
static void mk_vcf_long(const char *dir)
{
    /* one record whose INFO is 64 MiB: legal, must be read in bounded memory */
    size_t n = (size_t)64 << 20;
    char *info = malloc(n + 3);
    ck_assert_ptr_nonnull(info);
    memcpy(info, "X=", 2);
    memset(info + 2, 'A', n);
    info[n + 2] = '\0';
    IN("long.vcf");
    edit_field(vcf, p, 4, 7, info, '\t');
    free(info);
}
static void mk_vcf_junk(const char *dir)
{
    /* a 64 MiB line without a single tab */
    size_t n = (size_t)64 << 20;
    char *junk = malloc(n + 1);
    ck_assert_ptr_nonnull(junk);
    memset(junk, 'A', n);
    junk[n] = '\0';
    IN("junk.vcf");
    edit_field(vcf, p, 4, 0, junk, '\n');
    free(junk);
}
static void mk_vcf_cut(const char *dir)
{
    big_vcf(dir);
    IN("big.vcf.gz");
    char q[4096];
    snprintf(q, sizeof q, "%s/cut.vcf.gz", dir);
    truncate_copy(p, q, 0.6);
}
static void mk_vcf_cut_block(const char *dir)
{
    big_vcf(dir);
    IN("big.vcf.gz");
    size_t len;
    unsigned char *d = (unsigned char *)slurp(p, &len);
    size_t at = bgzf_block_at(d, len, 0.6);
    ck_assert_uint_gt(at, 0);
    char q[4096];
    snprintf(q, sizeof q, "%s/blocks.vcf.gz", dir);
    spit(q, d, at);
    free(d);
}
static void mk_vcf_flip(const char *dir)
{
    big_vcf(dir);
    IN("big.vcf.gz");
    char q[4096];
    snprintf(q, sizeof q, "%s/flip.vcf.gz", dir);
    flip_copy(p, q, 0.5, 64, 0x5a);
}
static void mk_vcf_flip_header(const char *dir)
{
    IN("head.vcf.gz");
    sh("bgzip -c '%s' > '%s'", vcf, p);
    char q[4096];
    snprintf(q, sizeof q, "%s/head.vcf.gz", dir);
    flip_copy(p, q, 0.3, 16, 0xff);
}
static void mk_vcf_dir(const char *dir) { sh("mkdir '%s/folder.vcf'", dir); }
static void mk_bcf_huge(const char *dir)
{
    /* an uncompressed BCF whose first record claims 1.5 GiB (htslib reserves
       it before reading: bounded by the address-space limit, then refused) */
    static const char text[] = "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
                               "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
    unsigned char b[256] = "BCF\2\2";
    uint32_t l_text = sizeof text, l_shared = 0x60000000u, l_indiv = 0;
    memcpy(b + 5, &l_text, 4);
    memcpy(b + 9, text, sizeof text);
    memcpy(b + 9 + sizeof text, &l_shared, 4);
    memcpy(b + 13 + sizeof text, &l_indiv, 4);
    memset(b + 17 + sizeof text, 7, 32);
    IN("huge.bcf");
    spit(p, b, 49 + sizeof text);
}

static void mk_score_nan(const char *dir) { IN("nan.txt"); edit_field(score, p, 5, 5, "nan", '\t'); }
static void mk_score_text(const char *dir) { IN("text.txt"); edit_field(score, p, 5, 5, "0.1abc", '\t'); }
static void mk_score_huge(const char *dir) { IN("huge.txt"); edit_field(score, p, 5, 5, "1e999", '\t'); }
static void mk_score_nocol(const char *dir) { IN("nocol.txt"); derive(score, p, "\teffect_weight", "\tweight"); }
static void mk_score_short(const char *dir) { IN("short.txt"); edit_field(score, p, 5, 4, NULL, '\t'); }
static void mk_score_empty(const char *dir) { IN("empty.txt"); spit(p, "", 0); }
static void mk_score_pos(const char *dir) { IN("pos.txt"); edit_field(score, p, 5, 2, "-5", '\t'); }
static void mk_score_allele(const char *dir) { IN("allele.txt"); edit_field(score, p, 5, 3, "", '\t'); }
static void mk_score_gz(const char *dir) { IN("fake.txt.gz"); spit(p, "\x1f\x8b\x08\x00junk", 8); }

static void mk_fhir_deep(const char *dir)
{
    size_t depth = 100000, n = depth * 2 + 128;
    char *j = malloc(n);
    ck_assert_ptr_nonnull(j);
    size_t k = (size_t)sprintf(j, "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":");
    memset(j + k, '[', depth);
    memset(j + k + depth, ']', depth);
    k += 2 * depth;
    j[k++] = '}';
    IN("deep.json");
    spit(p, j, k);
    free(j);
}
static void mk_fhir_trunc(const char *dir) { IN("trunc.json"); truncate_copy(record, p, 0.5); }
static void mk_fhir_bignum(const char *dir)
{
    char digits[401];
    memset(digits, '9', 400);
    digits[400] = '\0';
    char v[512];
    snprintf(v, sizeof v, "\"value\": %s,", digits);
    IN("bignum.json");
    derive(record, p, "\"value\": 5.8,", v);
}
static void mk_fhir_exp(const char *dir) { IN("exp.json"); derive(record, p, "\"value\": 5.8,", "\"value\": 1e999,"); }
static void mk_fhir_type(const char *dir) { IN("type.json"); derive(record, p, "\"value\": 5.8,", "\"value\": \"abc\","); }
static void mk_fhir_birth(const char *dir) { IN("birth.json"); derive(record, p, "\"birthDate\": \"", "\"birthDate\": 1, \"x\": \""); }
static void mk_fhir_utf8(const char *dir) { IN("utf8.json"); derive(record, p, "\"gender\": \"female\"", "\"gender\": \"fem\xff\xfe\""); }
static void mk_fhir_rtype(const char *dir) { IN("rtype.json"); derive(record, p, "\"resourceType\": \"Bundle\"", "\"resourceType\": 5"); }
static void mk_fhir_entry(const char *dir) { IN("entry.json"); derive(record, p, "\"entry\": [", "\"entry\": 7, \"x\": ["); }
static void mk_fhir_nul(const char *dir)
{
    size_t len;
    char *d = slurp(record, &len);
    char *at = strstr(d, "female");
    ck_assert_ptr_nonnull(at);
    at[2] = '\0';
    IN("nul.json");
    spit(p, d, len);
    free(d);
}
static void mk_fhir_empty(const char *dir) { IN("empty.json"); spit(p, "", 0); }
static void mk_fhir_ndjson(const char *dir)
{
    IN("export.ndjson");
    mmdx_test_write_file(p, "{\"resourceType\":\"Patient\",\"id\":\"a\",\"gender\":\"male\",\"birthDate\":\"1950\"}\n"
                            "{\"resourceType\":\"Observation\",\"status\":\"final\",\n");
}

/* Manifests sit in the cohort folder, so that their relative paths resolve. */
static void manifest_case(const char *dir, const char *name, const char *from, const char *to)
{
    char p[4096];
    (void)dir;
    snprintf(p, sizeof p, "%s/%s", cohort, name);
    derive(manifest, p, from, to);
}
static void mk_man_bom(const char *dir) { manifest_case(dir, "m_bom.csv", "patient_id", "\xef\xbb\xbfpatient_id"); }
static void mk_man_crlf(const char *dir)
{
    (void)dir;
    size_t len;
    char *d = slurp(manifest, &len);
    char p[4096];
    snprintf(p, sizeof p, "%s/m_crlf.csv", cohort);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < len; i++) {
        if (d[i] == '\n')
            fputc('\r', f);
        fputc(d[i], f);
    }
    ck_assert_int_eq(fclose(f), 0);
    free(d);
}
static void mk_man_quotes(const char *dir) { manifest_case(dir, "m_quotes.csv", "\nSYN000002,,", "\n\"SYN000002\",\"\","); }
static void mk_man_unbalanced(const char *dir) { manifest_case(dir, "m_unbal.csv", "\nSYN000002,", "\n\"SYN0000,02,"); }
static void mk_man_traversal(const char *dir)
{
    manifest_case(dir, "m_trav.csv", "records/SYN000002.json", "../../../../../../etc/passwd");
}
static void mk_man_traversal2(const char *dir)
{
    manifest_case(dir, "m_trav2.csv", "dicom/SYN000003", "dicom/../../outside/../../x");
}
static void mk_man_nopid(const char *dir) { manifest_case(dir, "m_nopid.csv", "patient_id", "pid"); }
static void mk_man_dup(const char *dir) { manifest_case(dir, "m_dup.csv", "\nSYN000002,", "\nSYN000001,"); }
static void mk_man_fields(const char *dir) { manifest_case(dir, "m_fields.csv", "\nSYN000002,", "\nSYN000002,x,"); }
static void mk_man_label(const char *dir) { manifest_case(dir, "m_label.csv", "SYN000002.json,0", "SYN000002.json,2"); }
static void mk_man_missing(const char *dir) { manifest_case(dir, "m_missing.csv", "SYN000002.json", "NOPE.json"); }

static void conf_case(const char *dir, const char *name, const char *text)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    mmdx_test_write_file(p, text);
}
static void mk_conf_key(const char *dir) { conf_case(dir, "key.conf", "[imaging]\nfoo = 1\n"); }
static void mk_conf_bool(const char *dir) { conf_case(dir, "bool.conf", "[imaging]\nauto_mask = maybe\n"); }
static void mk_conf_section(const char *dir) { conf_case(dir, "section.conf", "[nonsense]\nx = 1\n"); }
static void mk_conf_nosection(const char *dir) { conf_case(dir, "nosection.conf", "threads = 2\n"); }
static void mk_conf_threads(const char *dir) { conf_case(dir, "threads.conf", "[mmdx]\nthreads = zero\n"); }
static void mk_conf_score(const char *dir) { conf_case(dir, "score.conf", "[genomics]\nscore = nope.txt\n"); }
static void mk_conf_spacing(const char *dir) { conf_case(dir, "spacing.conf", "[imaging]\nspacing = -2\n"); }
static void mk_conf_syntax(const char *dir) { conf_case(dir, "syntax.conf", "[imaging]\njust words\n"); }
static void mk_conf_date(const char *dir) { conf_case(dir, "date.conf", "[records]\nindex_date = 2024-99-01\n"); }
static void mk_conf_bin(const char *dir) { IN("binary.conf"); spit(p, "\x7f" "ELF\x02\x01\x01\0\0\0", 10); }

static void mk_model_trunc(const char *dir) { IN("trunc.mmdx"); truncate_copy(model, p, 0.5); }
static void mk_model_flip(const char *dir) { IN("flip.mmdx"); flip_copy(model, p, 0.5, 1, 0x10); }
static void mk_model_flip_head(const char *dir) { IN("head.mmdx"); flip_copy(model, p, 0.0005, 1, 0x01); }
static void mk_model_flip_tail(const char *dir) { IN("tail.mmdx"); flip_copy(model, p, 0.999, 1, 0x04); }
static void mk_model_empty(const char *dir) { IN("empty.mmdx"); spit(p, "", 0); }
static void mk_model_csv(const char *dir) { IN("csv.mmdx"); sh("cp '%s' '%s'", manifest, p); }

#define SCORE "genomics score --score @C/genomics/synth_prs.txt --out @D/out/s.tsv --vcf "
#define SCORE_VCF "genomics score --vcf @C/genomics/SYN000001.vcf.gz --out @D/out/s.tsv --score "
#define RECORD "encode records --index-date 2024-01-01 "
#define SCREEN "screen --no-db --no-progress --model @M --site-key @K --config @C/mmdx.conf --out @D/out/r.csv --cohort "
#define PREDICT "predict --cohort @C/cohort.csv --config @C/mmdx.conf --site-key @K --out @D/out/p.csv --model "
#define MASK "encode imaging @C/dicom/SYN000001 --mask "

static const bad_case cases[] = {
    /* DICOM */
    {"dicom", "DICOM truncated in the pixel data", mk_dicom_trunc, "encode imaging @D/trunc.dcm", 3, {"trunc.dcm", "(7FE0,0010)"}, NULL},
    {"dicom", "DICOM 65535 x 65535 x 10000 frames declared", mk_dicom_huge, "encode imaging @D/huge.dcm", 3, {"huge.dcm", "(0028,0008)", "max_voxels"}, NULL},
    {"dicom", "DICOM pixel data shorter than declared", mk_dicom_short, "encode imaging @D/short.dcm", 3, {"short.dcm", "(7FE0,0010)"}, NULL},
    {"dicom", "DICOM: a text file", mk_dicom_text, "encode imaging @D/text.dcm", 3, {"text.dcm", "not a DICOM"}, NULL},
    {"dicom", "DICOM: an empty file", mk_dicom_empty, "encode imaging @D/empty.dcm", 3, {"empty.dcm", "not a DICOM"}, NULL},
    {"dicom", "DICOM Number of Frames '1A'", mk_dicom_frames, "encode imaging @D/frames.dcm", 3, {"frames.dcm", "(0028,0008)"}, NULL},
    {"dicom", "DICOM Bits Allocated 12", mk_dicom_bits, "encode imaging @D/bits.dcm", 3, {"bits.dcm", "(0028,0100)"}, NULL},
    {"dicom", "DICOM Rows 0", mk_dicom_rows0, "encode imaging @D/rows0.dcm", 3, {"rows0.dcm", "(0028,0010)"}, NULL},
    {"dicom", "DICOM degenerate orientation", mk_dicom_orient, "encode imaging @D/orient.dcm", 3, {"orient.dcm", "(0020,0037)"}, NULL},
    {"dicom", "DICOM negative pixel spacing", mk_dicom_spacing, "encode imaging @D/spacing.dcm", 3, {"spacing.dcm", "(0028,0030)"}, NULL},
    {"dicom", "DICOM series with a missing slice", mk_dicom_gap, "encode imaging @D/gap", 3, {"CT004.dcm", "(0020,0032)"}, NULL},
    {"dicom", "DICOM above [imaging] max_voxels = 1000", mk_dicom_limit, "encode imaging @C/dicom/SYN000001 --config @D/small.conf", 3, {"SYN000001/CT0", "max_voxels", "(0028,0010)"}, NULL},
    {"dicom", "DICOM cohort with an absurd study: no partial table", mk_dicom_cohort, "encode --no-progress --only imaging --cohort @D/cohort.csv --out @D/out/f.csv", 3, {"huge.dcm", "max_voxels", "cohort.csv"}, NULL},
    /* masks */
    {"mask", "NIfTI mask on another grid", mk_mask_grid, MASK "@D/other.nii", 3, {"other.nii", "another grid"}, NULL},
    {"mask", "NIfTI mask of complex type", mk_mask_type, MASK "@D/cplx.nii", 3, {"cplx.nii", "datatype"}, NULL},
    {"mask", "NIfTI mask data truncated", mk_mask_cut, MASK "@D/cut.nii", 3, {"cut.nii", "truncated"}, NULL},
    {"mask", "NIfTI mask 30000^3 declared", mk_mask_huge, MASK "@D/huge.nii", 3, {"huge.nii", "dim", "max_voxels"}, NULL},
    {"mask", "a CT slice given as the mask", NULL, MASK "@C/dicom/SYN000001/CT000.dcm", 3, {"CT000.dcm", "(0008,0060)"}, NULL},
    {"mask", "a folder given as the mask", NULL, MASK "@C/dicom", 3, {"dicom", "not a folder"}, NULL},
    {"mask", "RTSTRUCT of another frame of reference", NULL, MASK "@S/tests/fuzz/corpus/masks/rtstruct_square.dcm", 3, {"rtstruct_square.dcm", "(3006,0024)"}, NULL},
    {"mask", "SEG of another study", NULL, MASK "@S/tests/fuzz/corpus/masks/seg_binary.dcm", 3, {"seg_binary.dcm", "(0020,0052)"}, NULL},
    {"mask", "missing mask file", NULL, MASK "@D/none.nii", 3, {"none.nii", "No such file"}, NULL},
    /* VCF */
    {"vcf", "VCF without ##fileformat", mk_vcf_nofmt, SCORE "@D/nofmt.vcf", 3, {"nofmt.vcf", "##fileformat"}, NULL},
    {"vcf", "VCF without #CHROM", mk_vcf_nochrom, SCORE "@D/nochrom.vcf", 3, {"nochrom.vcf", "#CHROM"}, NULL},
    {"vcf", "VCF with a broken ##FILTER line", mk_vcf_meta, SCORE "@D/meta.vcf", 3, {"meta.vcf", "header"}, NULL},
    {"vcf", "VCF POS '12x'", mk_vcf_pos, SCORE "@D/pos.vcf", 3, {"pos.vcf", "line ", "POS"}, NULL},
    {"vcf", "VCF GT 'x/y'", mk_vcf_gt, SCORE "@D/gt.vcf", 3, {"gt.vcf", "line ", "GT"}, NULL},
    {"vcf", "VCF record of 3 columns", mk_vcf_cols, SCORE "@D/cols.vcf", 3, {"cols.vcf", "line ", "columns"}, NULL},
    {"vcf", "VCF with a 64 MiB INFO (legal)", mk_vcf_long, SCORE "@D/long.vcf", 0, {"SYNTH001"}, "s.tsv"},
    {"vcf", "VCF with a 64 MiB line without tabs", mk_vcf_junk, SCORE "@D/junk.vcf", 3, {"junk.vcf", "line ", "column"}, NULL},
    {"vcf", "bgzipped VCF cut mid-block", mk_vcf_cut, SCORE "@D/cut.vcf.gz", 3, {"cut.vcf.gz", "truncated"}, NULL},
    {"vcf", "bgzipped VCF cut at a block boundary", mk_vcf_cut_block, SCORE "@D/blocks.vcf.gz", 3, {"blocks.vcf.gz", "truncated"}, NULL},
    {"vcf", "bgzipped VCF with a corrupt block", mk_vcf_flip, "@L " SCORE "@D/flip.vcf.gz --threads 2", 3, {"flip.vcf.gz", "after line", "corrupt BGZF block"}, NULL},
    {"vcf", "bgzipped VCF with a corrupt block, one thread", mk_vcf_flip, SCORE "@D/flip.vcf.gz --threads 1", 3, {"flip.vcf.gz", "after line", "corrupt BGZF block"}, NULL},
    {"vcf", "bgzipped VCF with a corrupt header block", mk_vcf_flip_header, "@L " SCORE "@D/head.vcf.gz", 3, {"head.vcf.gz", "BGZF"}, NULL},
    {"vcf", "BCF record claiming 1.5 GiB", mk_bcf_huge, SCORE "@D/huge.bcf", 3, {"huge.bcf", "record 1"}, NULL},
    {"vcf", "a folder given as the VCF", mk_vcf_dir, SCORE "@D/folder.vcf", 3, {"folder.vcf", "folder"}, NULL},
    {"vcf", "VCF sample not in the file", NULL, "encode genomics @C/genomics/SYN000001.vcf.gz --sample NOPE --config @C/mmdx.conf", 3, {"SYN000001.vcf.gz", "NOPE"}, NULL},
    /* PGS scoring files */
    {"score", "PGS weight 'nan'", mk_score_nan, SCORE_VCF "@D/nan.txt", 3, {"nan.txt", "line ", "effect_weight"}, NULL},
    {"score", "PGS weight '0.1abc'", mk_score_text, SCORE_VCF "@D/text.txt", 3, {"text.txt", "line ", "effect_weight"}, NULL},
    {"score", "PGS weight '1e999'", mk_score_huge, SCORE_VCF "@D/huge.txt", 3, {"huge.txt", "line ", "effect_weight"}, NULL},
    {"score", "PGS without effect_weight column", mk_score_nocol, SCORE_VCF "@D/nocol.txt", 3, {"nocol.txt", "line ", "effect_weight"}, NULL},
    {"score", "PGS row missing columns", mk_score_short, SCORE_VCF "@D/short.txt", 3, {"short.txt", "line ", "columns"}, NULL},
    {"score", "PGS empty file", mk_score_empty, SCORE_VCF "@D/empty.txt", 3, {"empty.txt", "header"}, NULL},
    {"score", "PGS position '-5'", mk_score_pos, SCORE_VCF "@D/pos.txt", 3, {"pos.txt", "line ", "position"}, NULL},
    {"score", "PGS empty effect_allele", mk_score_allele, SCORE_VCF "@D/allele.txt", 3, {"allele.txt", "line ", "effect_allele"}, NULL},
    {"score", "PGS .gz that is not gzip", mk_score_gz, SCORE_VCF "@D/fake.txt.gz", 3, {"fake.txt.gz"}, NULL},
    /* FHIR */
    {"fhir", "FHIR 100,000 nested arrays", mk_fhir_deep, RECORD "@D/deep.json", 3, {"deep.json", "column", "nesting"}, NULL},
    {"fhir", "FHIR truncated JSON", mk_fhir_trunc, RECORD "@D/trunc.json", 3, {"trunc.json", "column", "end"}, NULL},
    {"fhir", "FHIR 400-digit value (warned, not used)", mk_fhir_bignum, RECORD "@D/bignum.json", 0, {"bignum.json", "entry[", "range"}, NULL},
    {"fhir", "FHIR value 1e999 (warned, not used)", mk_fhir_exp, RECORD "@D/exp.json", 0, {"exp.json", "entry[", "range"}, NULL},
    {"fhir", "FHIR value of the wrong type (warned)", mk_fhir_type, RECORD "@D/type.json", 0, {"type.json", "entry[", "valueQuantity"}, NULL},
    {"fhir", "FHIR birthDate a number", mk_fhir_birth, RECORD "@D/birth.json", 3, {"birth.json", "entry[", "birthDate"}, NULL},
    {"fhir", "FHIR invalid UTF-8", mk_fhir_utf8, RECORD "@D/utf8.json", 3, {"utf8.json", "line ", "utf-8"}, NULL},
    {"fhir", "FHIR resourceType a number", mk_fhir_rtype, RECORD "@D/rtype.json", 3, {"rtype.json", "resourceType"}, NULL},
    {"fhir", "FHIR Bundle.entry not an array", mk_fhir_entry, RECORD "@D/entry.json", 3, {"entry.json", "Bundle.entry"}, NULL},
    {"fhir", "FHIR with a NUL byte", mk_fhir_nul, RECORD "@D/nul.json", 3, {"nul.json", "line "}, NULL},
    {"fhir", "FHIR empty file", mk_fhir_empty, RECORD "@D/empty.json", 3, {"empty.json", "column"}, NULL},
    {"fhir", "NDJSON with a broken second line", mk_fhir_ndjson, RECORD "@D/export.ndjson --patient a", 3, {"export.ndjson", "line 2"}, NULL},
    /* manifests */
    {"manifest", "manifest with a BOM (accepted)", mk_man_bom, SCREEN "@C/m_bom.csv", 0, {NULL}, "r.csv"},
    {"manifest", "manifest with CRLF (accepted)", mk_man_crlf, SCREEN "@C/m_crlf.csv", 0, {NULL}, "r.csv"},
    {"manifest", "manifest with quoted fields (accepted)", mk_man_quotes, SCREEN "@C/m_quotes.csv", 0, {NULL}, "r.csv"},
    {"manifest", "manifest with an unclosed quote", mk_man_unbalanced, SCREEN "@C/m_unbal.csv", 3, {"m_unbal.csv", "line 3", "quote"}, NULL},
    {"manifest", "manifest path ../../etc/passwd", mk_man_traversal, SCREEN "@C/m_trav.csv", 3, {"m_trav.csv", "line 3", "column record"}, NULL},
    {"manifest", "manifest path climbing out midway", mk_man_traversal2, SCREEN "@C/m_trav2.csv", 3, {"m_trav2.csv", "line 4", "column dicom"}, NULL},
    {"manifest", "manifest without patient_id", mk_man_nopid, SCREEN "@C/m_nopid.csv", 3, {"m_nopid.csv", "line 1", "patient_id"}, NULL},
    {"manifest", "manifest with a duplicate patient", mk_man_dup, SCREEN "@C/m_dup.csv", 3, {"m_dup.csv", "line 3", "line 2"}, NULL},
    {"manifest", "manifest row with an extra field", mk_man_fields, SCREEN "@C/m_fields.csv", 3, {"m_fields.csv", "line 3", "fields"}, NULL},
    {"manifest", "manifest label '2'", mk_man_label, SCREEN "@C/m_label.csv", 3, {"m_label.csv", "line 3", "label"}, NULL},
    {"manifest", "manifest naming a missing file", mk_man_missing, "predict --model @M --site-key @K --config @C/mmdx.conf --out @D/out/p.csv --cohort @C/m_missing.csv", 3, {"m_missing.csv:3", "NOPE.json"}, NULL},
    /* configuration */
    {"config", "config unknown key", mk_conf_key, "config check --config @D/key.conf", 3, {"key.conf:2", "foo"}, NULL},
    {"config", "config auto_mask = maybe", mk_conf_bool, "config check --config @D/bool.conf", 3, {"bool.conf:2", "auto_mask"}, NULL},
    {"config", "config unknown section", mk_conf_section, "config check --config @D/section.conf", 3, {"section.conf", "line 1", "nonsense"}, NULL},
    {"config", "config key before any section", mk_conf_nosection, "config check --config @D/nosection.conf", 3, {"nosection.conf", "line 1", "threads"}, NULL},
    {"config", "config threads = zero", mk_conf_threads, "config check --config @D/threads.conf", 3, {"threads.conf", "line 2", "threads"}, NULL},
    {"config", "config score file missing", mk_conf_score, "config check --config @D/score.conf", 3, {"score.conf:2", "nope.txt"}, NULL},
    {"config", "config spacing = -2", mk_conf_spacing, "config check --config @D/spacing.conf", 3, {"spacing.conf:2", "spacing"}, NULL},
    {"config", "config line without '='", mk_conf_syntax, "config check --config @D/syntax.conf", 3, {"syntax.conf", "line 2"}, NULL},
    {"config", "config index_date 2024-99-01", mk_conf_date, "config check --config @D/date.conf", 3, {"date.conf:2", "index_date"}, NULL},
    {"config", "config max_voxels = -1", mk_dicom_limit_bad, "config check --config @D/limit.conf", 3, {"limit.conf:2", "max_voxels"}, NULL},
    {"config", "config a binary file", mk_conf_bin, "config check --config @D/binary.conf", 3, {"binary.conf", "line 1"}, NULL},
    {"config", "config missing", NULL, "config check --config @D/none.conf", 3, {"none.conf"}, NULL},
    {"config", "train with a bad config: no model written", mk_conf_key, "train --cohort @C/cohort.csv --fusion late --config @D/key.conf --out @D/out/m.mmdx", 3, {"key.conf:2", "foo"}, NULL},
    /* model files */
    {"model", "model truncated", mk_model_trunc, PREDICT "@D/trunc.mmdx", 4, {"trunc.mmdx", "truncated"}, NULL},
    {"model", "model with a bit flipped mid-file", mk_model_flip, PREDICT "@D/flip.mmdx", 4, {"flip.mmdx", "SHA-256"}, NULL},
    {"model", "model with a bit flipped in the header", mk_model_flip_head, PREDICT "@D/head.mmdx", 4, {"head.mmdx"}, NULL},
    {"model", "model with a bit flipped in the trailer", mk_model_flip_tail, PREDICT "@D/tail.mmdx", 4, {"tail.mmdx"}, NULL},
    {"model", "model empty", mk_model_empty, PREDICT "@D/empty.mmdx", 3, {"empty.mmdx", "MMDX-MODEL"}, NULL},
    {"model", "model that is a CSV", mk_model_csv, PREDICT "@D/csv.mmdx", 3, {"csv.mmdx", "MMDX-MODEL"}, NULL},
    {"model", "screen with a bit-flipped model", mk_model_flip, "screen --no-db --no-progress --model @D/flip.mmdx --site-key @K --config @C/mmdx.conf --out @D/out/r.csv --cohort @C/cohort.csv", 4, {"flip.mmdx", "SHA-256"}, NULL},
};

#define N_CASES ((int)(sizeof cases / sizeof *cases))

/* ---- running one command ------------------------------------------------- */

typedef struct outcome {
    int exited, code, signal, timed_out;
    double seconds;
    long max_rss_kib;
} outcome;

static int sanitizer_build(void)
{
#ifdef MMDX_SANITIZE_BUILD
    return 1;
#else
    return 0;
#endif
}

static outcome run_bounded(const char *cmdline, const char *out_path, const char *err_path)
{
    outcome o = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setpgid(0, 0);
        if (!sanitizer_build()) {
            struct rlimit lim = {MEMORY_LIMIT, MEMORY_LIMIT};
            setrlimit(RLIMIT_AS, &lim);
        }
        if (!freopen(out_path, "w", stdout) || !freopen(err_path, "w", stderr))
            _exit(126);
        execl("/bin/sh", "sh", "-c", cmdline, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    for (;;) {
        pid_t r = wait4(pid, &status, WNOHANG, &ru);
        if (r == pid)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec >= BOUND_SECONDS && !o.timed_out) {
            o.timed_out = 1;
            kill(-pid, SIGKILL);
        }
        usleep(20000);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    o.seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    o.exited = WIFEXITED(status);
    o.code = o.exited ? WEXITSTATUS(status) : -1;
    o.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    o.max_rss_kib = ru.ru_maxrss;
    return o;
}

/* `template` with @D, @C, @M, @K, @S expanded. */
static void expand(char *dst, size_t size, const char *template, const char *dir)
{
    size_t k = 0;
    for (const char *s = template; *s && k + 1 < size; s++) {
        const char *rep = NULL;
        if (s[0] == '@' && s[1]) {
            switch (s[1]) {
            case 'D': rep = dir; break;
            case 'C': rep = cohort; break;
            case 'M': rep = model; break;
            case 'K': rep = key; break;
            case 'S': rep = mmdx_test_source_dir(); break;
            default: break;
            }
        }
        if (rep) {
            k += (size_t)snprintf(dst + k, size - k, "%s", rep);
            s++;
        } else {
            dst[k++] = *s;
        }
    }
    dst[k < size ? k : size - 1] = '\0';
}

/* Names left in a folder ("" when empty), for the partial-output check. */
static void list_dir(const char *path, char *names, size_t size)
{
    names[0] = '\0';
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    size_t k = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            k += (size_t)snprintf(names + k, k < size ? size - k : 0, "%s%s", k ? " " : "", e->d_name);
    closedir(d);
}

START_TEST(bad_input_case)
{
    const bad_case *c = &cases[_i];
    char dir[4096], out_dir[4200], args[16384], cmd[24576], out_path[4200], err_path[4200];
    snprintf(dir, sizeof dir, "%s/case%02d", root, _i);
    snprintf(out_dir, sizeof out_dir, "%s/out", dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    ck_assert_int_eq(mkdir(out_dir, 0700), 0);
    if (c->make)
        c->make(dir);
    int hts_leak = strncmp(c->args, "@L ", 3) == 0;
    expand(args, sizeof args, c->args + (hts_leak ? 3 : 0), dir);
    char lsan[4200] = "";
    if (hts_leak && sanitizer_build())
        snprintf(lsan, sizeof lsan, "LSAN_OPTIONS=suppressions=%s/tests/cli/lsan-htslib-1.16.supp",
                 mmdx_test_source_dir());
    snprintf(cmd, sizeof cmd, "exec env MMDX_CONFIG= MMDX_SITE_KEY= MMDX_DB= %s '%s' %s", lsan, mmdx_test_mmdx_bin(),
             args);
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    outcome o = run_bounded(cmd, out_path, err_path);
    char *err = mmdx_test_read_file(err_path, NULL);
    ck_assert_ptr_nonnull(err);

    char why[2048] = "";
    size_t w = 0;
#define WHY(...) (w += (size_t)snprintf(why + w, w < sizeof why ? sizeof why - w : 0, __VA_ARGS__))
    if (o.timed_out)
        WHY("killed after %d s; ", BOUND_SECONDS);
    else if (o.signal)
        WHY("signal %d; ", o.signal);
    else if (o.code != c->exit_code)
        WHY("exit %d, documented %d; ", o.code, c->exit_code);
    for (int k = 0; k < 3 && c->say[k]; k++)
        if (!strstr(err, c->say[k]))
            WHY("stderr does not name '%s'; ", c->say[k]);
    char left[1024];
    list_dir(out_dir, left, sizeof left);
    if (c->exit_code != 0 && left[0])
        WHY("left behind: %s; ", left);
    if (c->exit_code == 0 && c->output) {
        char p[4400];
        snprintf(p, sizeof p, "%s/%s", out_dir, c->output);
        struct stat st;
        if (stat(p, &st) != 0 || st.st_size == 0)
            WHY("no output %s; ", c->output);
    }
    int pass = w == 0;
    char case_name[256];
    snprintf(case_name, sizeof case_name, "%s: %s", c->parser, c->name);
    mmdx_test_reliability(ROW, case_name, pass, "%s%sexit %d, %.1f MiB peak%s, %.2f s%s",
                          pass ? "" : why, pass ? "" : "| ", o.code, (double)o.max_rss_kib / 1024.0,
                          sanitizer_build() ? (hts_leak ? " (ASan: no RLIMIT_AS; htslib 1.16 leak suppressed)"
                                                        : " (ASan: no RLIMIT_AS)")
                                            : " under a 2 GiB RLIMIT_AS",
                          o.seconds,
                          c->exit_code ? ", nothing written" : "");
    if (!pass) {
        /* first line of stderr, to see what the command said */
        char *nl = strchr(err, '\n');
        if (nl && nl - err > 400)
            err[400] = '\0';
        else if (nl)
            *nl = '\0';
    }
    ck_assert_msg(pass, "%s: %s | %s | stderr: %s", case_name, args, why, err);
    free(err);
}
END_TEST

/* ---- fixture: a cohort and a signed model, once ------------------------- */

static void setup(void)
{
    root = mmdx_test_tmpdir();
    const char *m = mmdx_test_mmdx_bin();
    snprintf(key, sizeof key, "%s/site.key", root);
    snprintf(model, sizeof model, "%s/model.mmdx", root);
    sh("cd '%s' && export MMDX_CONFIG= MMDX_SITE_KEY= && '%s' synth --patients 4 --out cohort --seed 1 >/dev/null && "
       "'%s' synth --patients 16 --out train --seed 2 >/dev/null && "
       "openssl rand -hex 32 > site.key && chmod 600 site.key && "
       "'%s' train --config train/mmdx.conf --cohort train/cohort.csv --fusion late --site-key site.key "
       "--out model.mmdx >/dev/null 2>&1",
       root, m, m, m);
    cohort = mmdx_test_strf("%s/cohort", root);
    snprintf(series, sizeof series, "%s/dicom/SYN000001", cohort);
    snprintf(ct, sizeof ct, "%s/CT000.dcm", series);
    snprintf(vcf, sizeof vcf, "%s/plain.vcf", root);
    sh("gzip -dc '%s/genomics/SYN000001.vcf.gz' > '%s'", cohort, vcf);
    snprintf(score, sizeof score, "%s/genomics/synth_prs.txt", cohort);
    snprintf(record, sizeof record, "%s/records/SYN000001.json", cohort);
    snprintf(manifest, sizeof manifest, "%s/cohort.csv", cohort);
}

static void teardown(void)
{
    mmdx_test_rmtree(root);
    free(root);
    free(cohort);
}

int main(void)
{
    Suite *s = suite_create("reliability: bad input");
    TCase *tc = tcase_create("cases");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, bad_input_case, 0, N_CASES);
    suite_add_tcase(s, tc);
    return mmdx_test_run_suite(s);
}
