/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"
#include "path.h"

typedef struct section {
    char *name;
    int line;
    size_t n, cap;
    mmdx_config_entry *entries;
} section;

struct mmdx_config {
    char *path;  /* NULL when empty */
    char *dir;
    size_t n_sections, cap_sections;
    section *sections;
};

int mmdx_config_new_empty(mmdx_config **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : mmdx_fail(MMDX_ENOMEM, "out of memory");
}

void mmdx_config_free(mmdx_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_sections; i++) {
        section *s = &c->sections[i];
        for (size_t j = 0; j < s->n; j++) {
            free((char *)s->entries[j].key);
            free((char *)s->entries[j].value);
        }
        free(s->entries);
        free(s->name);
    }
    free(c->sections);
    free(c->path);
    free(c->dir);
    free(c);
}

const char *mmdx_config_path(const mmdx_config *c) { return c->path; }

static int valid_name(const char *s)
{
    if (!*s || !(islower((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_' || *s == '-' ||
              *s == '.'))
            return 0;
    return 1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static section *find_section(const mmdx_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_sections; i++)
        if (strcmp(c->sections[i].name, name) == 0)
            return &c->sections[i];
    return NULL;
}

static int add_section(mmdx_config *c, const char *name, int line, section **out)
{
    section *s = find_section(c, name);
    if (s) { /* a repeated section continues the first one */
        *out = s;
        return 0;
    }
    if (mmdx_array_reserve(&c->sections, &c->cap_sections, c->n_sections + 1, sizeof *c->sections, 4, 0) < 0)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    s = &c->sections[c->n_sections];
    memset(s, 0, sizeof *s);
    if (!(s->name = strdup(name)))
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    s->line = line;
    c->n_sections++;
    *out = s;
    return 0;
}

static int add_entry(mmdx_config *c, section *s, const char *key, const char *value, int line)
{
    if (mmdx_array_reserve(&s->entries, &s->cap, s->n + 1, sizeof *s->entries, 8, 0) < 0)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    mmdx_config_entry *e = &s->entries[s->n];
    memset(e, 0, sizeof *e);
    e->key = strdup(key);
    e->value = strdup(value);
    e->file = c->path;
    e->line = line;
    if (!e->key || !e->value) {
        free((char *)e->key);
        free((char *)e->value);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    s->n++;
    return 0;
}

static int parse_line(mmdx_config *c, char *raw, int line, section **cur)
{
    char *s = trim(raw);
    if (!*s || *s == '#' || *s == ';')
        return 0;
    if (*s == '[') {
        char *end = strchr(s, ']');
        if (!end || *trim(end + 1))
            return mmdx_fail(MMDX_EFORMAT, "%s: line %d: malformed section header (expected [name])",
                             c->path, line);
        *end = '\0';
        char *name = trim(s + 1);
        if (!valid_name(name))
            return mmdx_fail(MMDX_EFORMAT, "%s: line %d: invalid section name \"%s\"", c->path, line,
                             name);
        return add_section(c, name, line, cur);
    }
    char *eq = strchr(s, '=');
    if (!eq)
        return mmdx_fail(MMDX_EFORMAT,
                         "%s: line %d: expected \"key = value\", a [section] or a # comment", c->path,
                         line);
    *eq = '\0';
    char *key = trim(s), *value = trim(eq + 1);
    if (!valid_name(key))
        return mmdx_fail(MMDX_EFORMAT, "%s: line %d: invalid key \"%s\"", c->path, line, key);
    if (!*cur)
        return mmdx_fail(MMDX_EFORMAT, "%s: line %d: key \"%s\" before any [section]", c->path, line,
                         key);
    size_t vl = strlen(value);
    if (vl && value[0] == '"') {
        if (vl < 2 || value[vl - 1] != '"')
            return mmdx_fail(MMDX_EFORMAT, "%s: line %d: unterminated quoted value for \"%s\"",
                             c->path, line, key);
        value[vl - 1] = '\0';
        value++;
    }
    return add_entry(c, *cur, key, value, line);
}

static int parse_stream(mmdx_config **out, FILE *f, const char *path)
{
    mmdx_config *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path)) || !(c->dir = mmdx_path_dirname(path))) {
        mmdx_config_free(c);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    int line = 0, rc = 0;
    section *cur = NULL;
    while (rc == 0 && (n = getline(&buf, &cap, f)) >= 0) {
        line++;
        if (memchr(buf, '\0', (size_t)n))
            rc = mmdx_fail(MMDX_EFORMAT, "%s: line %d: NUL byte (not a text file?)", path, line);
        else
            rc = parse_line(c, buf, line, &cur);
    }
    if (rc == 0 && ferror(f))
        rc = mmdx_fail(MMDX_EIO, "%s: read error", path);
    free(buf);
    if (rc < 0) {
        mmdx_config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int mmdx_config_load(mmdx_config **out, const char *path)
{
    *out = NULL;
    if (!path) {
        const char *env = getenv("MMDX_CONFIG");
        if (env && *env)
            path = env;
        else if (mmdx_path_exists(MMDX_CONFIG_DEFAULT_PATH))
            path = MMDX_CONFIG_DEFAULT_PATH;
        else
            return mmdx_config_new_empty(out);
    }
    FILE *f = fopen(path, "r");
    if (!f)
        return mmdx_fail(errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO,
                         "configuration %s: cannot open: %s", path, strerror(errno));
    int rc = parse_stream(out, f, path);
    fclose(f);
    return rc;
}

int mmdx_config_parse(mmdx_config **out, const char *data, size_t len, const char *name)
{
    *out = NULL;
    if (len == 0)
        return mmdx_config_new_empty(out);
    FILE *f = fmemopen((void *)data, len, "r");
    if (!f)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    int rc = parse_stream(out, f, name);
    fclose(f);
    return rc;
}

void mmdx_config_section(const mmdx_config *c, const char *name, int n_threads,
                         mmdx_plugin_config *out)
{
    memset(out, 0, sizeof *out);
    out->abi_version = MMDX_ABI_VERSION;
    out->struct_size = sizeof *out;
    out->section = name;
    out->base_dir = c->dir;
    out->n_threads = n_threads > 0 ? n_threads : 1;
    const section *s = find_section(c, name);
    if (s) {
        out->n_entries = s->n;
        out->entries = s->entries;
    }
}

int mmdx_config_check_sections(const mmdx_config *c, const char *const *known, size_t n_known)
{
    for (size_t i = 0; i < c->n_sections; i++) {
        int ok = 0;
        for (size_t k = 0; k < n_known && !ok; k++)
            ok = strcmp(c->sections[i].name, known[k]) == 0;
        if (ok)
            continue;
        char list[512] = "";
        size_t at = 0;
        for (size_t k = 0; k < n_known && at < sizeof list; k++)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", k ? ", " : "", known[k]);
        return mmdx_fail(MMDX_EINVAL,
                         "%s: line %d: unknown section [%s]: no plugin of that name is loaded "
                         "(known: %s)",
                         c->path, c->sections[i].line, c->sections[i].name, list);
    }
    return 0;
}

const char *mmdx_config_host_value(const mmdx_config *c, const char *key)
{
    const section *s = find_section(c, "mmdx");
    const char *v = NULL;
    for (size_t i = 0; s && i < s->n; i++)
        if (strcmp(s->entries[i].key, key) == 0)
            v = s->entries[i].value;
    return v;
}

int mmdx_config_check_host(const mmdx_config *c)
{
    const section *s = find_section(c, "mmdx");
    for (size_t i = 0; s && i < s->n; i++) {
        const mmdx_config_entry *e = &s->entries[i];
        if (strcmp(e->key, "threads") == 0) {
            char *end;
            long t = strtol(e->value, &end, 10);
            if (*end || t < 1 || t > 1024)
                return mmdx_fail(MMDX_EINVAL, "%s: line %d: [mmdx] threads = \"%s\": expected 1..1024",
                                 e->file, e->line, e->value);
        } else if (strcmp(e->key, "plugin_path") != 0) {
            return mmdx_fail(MMDX_EINVAL,
                             "%s: line %d: unknown key \"%s\" in [mmdx] (known: threads, plugin_path)",
                             e->file, e->line, e->key);
        }
    }
    return 0;
}

int mmdx_config_section_hash(const mmdx_plugin_config *pc, char hex[MMDX_SHA256_HEX_LEN])
{
    size_t len = 1;
    for (size_t i = 0; i < pc->n_entries; i++)
        len += strlen(pc->entries[i].key) + strlen(pc->entries[i].value) + 2;
    char *text = malloc(len), *at = text;
    if (!text)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    for (size_t i = 0; i < pc->n_entries; i++)
        at += sprintf(at, "%s=%s\n", pc->entries[i].key, pc->entries[i].value);
    uint8_t d[MMDX_SHA256_LEN];
    mmdx_sha256(text, (size_t)(at - text), d);
    mmdx_hex(d, sizeof d, hex);
    free(text);
    return 0;
}
