/* SPDX-License-Identifier: Apache-2.0 */
/*
 * genomics_gen_vcf — deterministic synthetic genotypes and a matching PGS
 * Catalog scoring file, for the genomics tests and benchmark.
 *
 *   genomics_gen_vcf --prefix P [--variants N] [--samples M] [--score-rows K]
 *                    [--missing F] [--multiallelic F] [--flip F] [--absent K2]
 *                    [--ds] [--chr-prefix] [--seed S]
 *
 * Writes P.vcf (text; bgzip it yourself), P.pgs.txt (PGS Catalog format:
 * rsID, chr_name, chr_position, effect_allele, other_allele, effect_weight;
 * the rsID column is "." so matching must use positions), P.plink2.txt (ID,
 * effect allele as written in the VCF, weight: what PLINK 2 --score needs
 * for exactly the rows that should match) and P.expect (matched, flipped,
 * ambiguous and unmatched row counts by construction).
 *
 * Variants lie on chromosomes 1-3 (written "chr1" with --chr-prefix, while
 * the scoring file always says "1"), with random REF/ALT, a share of
 * multi-allelic records, genotypes drawn from a per-variant frequency with a
 * share of missing calls, and with --ds a FORMAT/DS dosage near the call.
 * Scoring rows: a random subset of variants with effect allele REF or an
 * ALT, a share written on the opposite strand, plus rows at absent positions.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint64_t next_u64(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform(void) { return (double)(next_u64() >> 11) * (1.0 / 9007199254740992.0); }

static char complement(char c)
{
    switch (c) {
    case 'A': return 'T';
    case 'T': return 'A';
    case 'C': return 'G';
    default: return 'C';
    }
}

typedef struct variant {
    int chrom;
    long pos;
    char alleles[3];
    int n_alleles;
} variant;

static void usage(void)
{
    fprintf(stderr, "usage: genomics_gen_vcf --prefix P [--variants N] [--samples M] [--score-rows K]\n"
                    "       [--missing F] [--multiallelic F] [--flip F] [--absent K] [--ds]\n"
                    "       [--chr-prefix] [--seed S]\n");
}

static FILE *open_out(const char *prefix, const char *ext)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s", prefix, ext);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    return f;
}

int main(int argc, char **argv)
{
    const char *prefix = NULL;
    long n_var = 1000, n_samp = 60, n_rows = 300, n_absent = 10;
    double missing = 0.02, multi = 0.05, flip = 0.15;
    int ds = 0, chr_prefix = 0;
    uint64_t seed = 42;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--ds")) {
            ds = 1;
            continue;
        }
        if (!strcmp(a, "--chr-prefix")) {
            chr_prefix = 1;
            continue;
        }
        if (!val) {
            usage();
            return 2;
        }
        i++;
        if (!strcmp(a, "--prefix"))
            prefix = val;
        else if (!strcmp(a, "--variants"))
            n_var = atol(val);
        else if (!strcmp(a, "--samples"))
            n_samp = atol(val);
        else if (!strcmp(a, "--score-rows"))
            n_rows = atol(val);
        else if (!strcmp(a, "--absent"))
            n_absent = atol(val);
        else if (!strcmp(a, "--missing"))
            missing = atof(val);
        else if (!strcmp(a, "--multiallelic"))
            multi = atof(val);
        else if (!strcmp(a, "--flip"))
            flip = atof(val);
        else if (!strcmp(a, "--seed"))
            seed = strtoull(val, NULL, 10);
        else {
            usage();
            return 2;
        }
    }
    if (!prefix || n_var < 1 || n_samp < 1 || n_rows < 0 || n_rows > n_var) {
        usage();
        return 2;
    }
    rng_state = seed;
    variant *v = malloc((size_t)n_var * sizeof *v);
    if (!v)
        return 1;
    static const char bases[] = "ACGT";
    long per_chrom = (n_var + 2) / 3;
    for (long i = 0; i < n_var; i++) {
        v[i].chrom = (int)(i / per_chrom) + 1;
        long prev = (i % per_chrom == 0) ? 10000 : v[i - 1].pos;
        v[i].pos = prev + 1 + (long)(next_u64() % 400);
        int r = (int)(next_u64() % 4), a = (r + 1 + (int)(next_u64() % 3)) % 4;
        v[i].alleles[0] = bases[r];
        v[i].alleles[1] = bases[a];
        v[i].n_alleles = 2;
        if (!ds && uniform() < multi) {
            int b;
            do
                b = (int)(next_u64() % 4);
            while (b == r || b == a);
            v[i].alleles[2] = bases[b];
            v[i].n_alleles = 3;
        }
    }

    FILE *f = open_out(prefix, ".vcf");
    fprintf(f, "##fileformat=VCFv4.2\n");
    for (int c = 1; c <= 3; c++)
        fprintf(f, "##contig=<ID=%s%d,length=250000000>\n", chr_prefix ? "chr" : "", c);
    fprintf(f, "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n");
    if (ds)
        fprintf(f, "##FORMAT=<ID=DS,Number=A,Type=Float,Description=\"Alternate allele dosage\">\n");
    fprintf(f, "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT");
    for (long s = 0; s < n_samp; s++)
        fprintf(f, "\tS%05ld", s + 1);
    fputc('\n', f);
    char *line = malloc((size_t)n_samp * 16 + 256);
    if (!line)
        return 1;
    for (long i = 0; i < n_var; i++) {
        int k = sprintf(line, "%s%d\t%ld\tv%ld\t%c\t%c", chr_prefix ? "chr" : "", v[i].chrom, v[i].pos,
                        i + 1, v[i].alleles[0], v[i].alleles[1]);
        if (v[i].n_alleles == 3)
            k += sprintf(line + k, ",%c", v[i].alleles[2]);
        k += sprintf(line + k, "\t.\tPASS\t.\t%s", ds ? "GT:DS" : "GT");
        double p = 0.02 + 0.96 * uniform();
        for (long s = 0; s < n_samp; s++) {
            if (uniform() < missing) {
                k += sprintf(line + k, ds ? "\t./.:." : "\t./.");
                continue;
            }
            int g[2];
            for (int j = 0; j < 2; j++) {
                g[j] = uniform() < p ? 1 : 0;
                if (g[j] && v[i].n_alleles == 3 && uniform() < 0.3)
                    g[j] = 2;
            }
            char sep = (next_u64() & 1) ? '|' : '/';
            k += sprintf(line + k, "\t%d%c%d", g[0], sep, g[1]);
            if (ds) {
                double d = g[0] + g[1] + (uniform() - 0.5) * 0.3;
                if (d < 0)
                    d = 0;
                if (d > 2)
                    d = 2;
                k += sprintf(line + k, ":%.3f", d);
            }
        }
        line[k++] = '\n';
        fwrite(line, 1, (size_t)k, f);
    }
    if (fclose(f) != 0)
        return 1;

    FILE *pgs = open_out(prefix, ".pgs.txt"), *pl = open_out(prefix, ".plink2.txt");
    fprintf(pgs, "###PGS CATALOG SCORING FILE (synthetic, generated by genomics_gen_vcf)\n"
                 "#format_version=2.0\n#pgs_id=SYNTH\n#genome_build=GRCh37\n"
                 "rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n");
    fprintf(pl, "ID\tA1\tSYNTH\n");
    long matched = 0, flipped = 0, ambiguous = 0;
    /* choose n_rows distinct variants in order: selection sampling */
    long need = n_rows, left = n_var, absent_left = n_absent;
    for (long i = 0; i < n_var; i++, left--) {
        if (absent_left > 0 && uniform() < (double)n_absent / (double)n_var) {
            /* a row between this variant and the previous one: no record there */
            long pos = v[i].pos - 1;
            if (i > 0 && v[i - 1].chrom == v[i].chrom && v[i - 1].pos == pos)
                pos = 0;
            if (pos > 0) {
                fprintf(pgs, ".\t%d\t%ld\tA\tG\t0.5\n", v[i].chrom, pos);
                absent_left--;
            }
        }
        if (need == 0 || uniform() * (double)left >= (double)need)
            continue;
        need--;
        int ea = (int)(next_u64() % (unsigned)v[i].n_alleles);
        int oa = ea == 0 ? 1 : 0;
        char e = v[i].alleles[ea], o = v[i].alleles[oa];
        double w = (uniform() - 0.5) * 0.2;
        int amb = complement(e) == o;
        int fl = !amb && uniform() < flip;
        fprintf(pgs, ".\t%d\t%ld\t%c\t%c\t%.6g\n", v[i].chrom, v[i].pos, fl ? complement(e) : e,
                fl ? complement(o) : o, w);
        if (amb) {
            ambiguous++;
            continue;
        }
        matched++;
        flipped += fl;
        fprintf(pl, "v%ld\t%c\t%.6g\n", i + 1, e, w);
    }
    if (fclose(pgs) != 0 || fclose(pl) != 0)
        return 1;
    FILE *ex = open_out(prefix, ".expect");
    fprintf(ex, "matched\t%ld\nflipped\t%ld\nambiguous\t%ld\nunmatched\t%ld\n", matched, flipped,
            ambiguous, n_absent - absent_left);
    fclose(ex);
    free(line);
    free(v);
    return 0;
}
