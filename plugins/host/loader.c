/* SPDX-License-Identifier: Apache-2.0 */
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "error.h"
#include "path.h"

/* Sizes of the structs as ABI 1.0 defined them: a plugin must provide at least these. */
#define V1_0_INFO_SIZE (offsetof(mmdx_plugin_info, fusion) + sizeof(void *))
#define V1_0_ENCODER_SIZE (offsetof(mmdx_encoder_vtable, close) + sizeof(void *))
#define V1_0_FUSION_SIZE (offsetof(mmdx_fusion_vtable, free_model) + sizeof(void *))

struct mmdx_registry {
    mmdx_plugin **plugins;
    size_t n, cap;
    char **refusals;
    size_t n_ref, cap_ref;
    mmdx_registry_log_fn log;
    void *log_ctx;
};

int mmdx_registry_new(mmdx_registry **out, mmdx_registry_log_fn log, void *ctx)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    (*out)->log = log;
    (*out)->log_ctx = ctx;
    return 0;
}

static void plugin_free(mmdx_plugin *p)
{
    if (!p)
        return;
    if (p->handle)
        dlclose(p->handle);
    free(p->path);
    free(p);
}

void mmdx_registry_free(mmdx_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        plugin_free(r->plugins[i]);
    for (size_t i = 0; i < r->n_ref; i++)
        free(r->refusals[i]);
    free(r->plugins);
    free(r->refusals);
    free(r);
}

size_t mmdx_registry_count(const mmdx_registry *r) { return r->n; }
const mmdx_plugin *mmdx_registry_get(const mmdx_registry *r, size_t i) { return r->plugins[i]; }
size_t mmdx_registry_refusals(const mmdx_registry *r) { return r->n_ref; }
const char *mmdx_registry_refusal(const mmdx_registry *r, size_t i) { return r->refusals[i]; }

const mmdx_plugin *mmdx_registry_find(const mmdx_registry *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->plugins[i]->info.name, name) == 0)
            return r->plugins[i];
    return NULL;
}

const char *mmdx_plugin_kind_name(uint32_t kind)
{
    switch (kind) {
    case MMDX_PLUGIN_ENCODER: return "encoder";
    case MMDX_PLUGIN_FUSION: return "fusion";
    default: return "unknown";
    }
}

/* Record a refusal ("<path>: <reason>"), log it, and return `code`. */
static int refuse(mmdx_registry *r, int code, const char *path, const char *fmt, ...)
    MMDX_FORMAT(4, 5);

static int refuse(mmdx_registry *r, int code, const char *path, const char *fmt, ...)
{
    char reason[768], msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "plugin %s refused: %s", path, reason);
    mmdx_fail(code, "%s", msg);
    if (mmdx_array_reserve(&r->refusals, &r->cap_ref, r->n_ref + 1, sizeof *r->refusals, 8, 0) < 0)
        return code;
    char *copy = strdup(msg);
    if (copy)
        r->refusals[r->n_ref++] = copy;
    if (r->log)
        r->log(r->log_ctx, msg);
    return code;
}

/* A hospital host must not run code anyone can swap: owner root or us, not world-writable. */
static int check_trust(mmdx_registry *r, const char *path, const char *what, int want_dir)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return refuse(r, MMDX_ENOTFOUND, path, "cannot stat %s: %s", what, strerror(errno));
    if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
        return refuse(r, MMDX_EPERM, path, "%s is not a %s", what,
                      want_dir ? "folder" : "regular file");
    if (st.st_uid != 0 && st.st_uid != geteuid())
        return refuse(r, MMDX_EPERM, path,
                      "%s is owned by uid %u, neither root nor the current user (uid %u)", what,
                      (unsigned)st.st_uid, (unsigned)geteuid());
    if (st.st_mode & S_IWOTH)
        return refuse(r, MMDX_EPERM, path, "%s is world-writable (mode %04o)", what,
                      (unsigned)(st.st_mode & 07777));
    return 0;
}

static int valid_ident(const char *s, int allow_dash)
{
    if (!s || !(*s >= 'a' && *s <= 'z'))
        return 0;
    size_t n = 0;
    for (; *s; s++, n++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              (allow_dash && *s == '-')))
            return 0;
    return n <= 64;
}

static int check_info(mmdx_registry *r, const char *path, const mmdx_plugin_info *raw,
                      mmdx_plugin *p)
{
    if (!raw)
        return refuse(r, MMDX_EABI, path, "mmdx_plugin_describe() returned NULL");
    uint32_t v = raw->abi_version;
    if (MMDX_ABI_MAJOR(v) != MMDX_ABI_VERSION_MAJOR)
        return refuse(r, MMDX_EABI, path,
                      "built for plugin ABI %u.%u, this host speaks ABI %u.x (rebuild the plugin)",
                      MMDX_ABI_MAJOR(v), MMDX_ABI_MINOR(v), MMDX_ABI_VERSION_MAJOR);
    if (MMDX_ABI_MINOR(v) > MMDX_ABI_VERSION_MINOR)
        return refuse(r, MMDX_EABI, path,
                      "built for plugin ABI %u.%u, newer than this host's %u.%u (upgrade mmdx)",
                      MMDX_ABI_MAJOR(v), MMDX_ABI_MINOR(v), MMDX_ABI_VERSION_MAJOR,
                      MMDX_ABI_VERSION_MINOR);
    if (raw->struct_size < V1_0_INFO_SIZE)
        return refuse(r, MMDX_EABI, path,
                      "mmdx_plugin_info.struct_size %u is smaller than ABI 1.0's %zu",
                      raw->struct_size, V1_0_INFO_SIZE);
    /* Copy what the plugin knows; fields of later minors stay zero. */
    size_t n = raw->struct_size < sizeof p->info ? raw->struct_size : sizeof p->info;
    memset(&p->info, 0, sizeof p->info);
    memcpy(&p->info, raw, n);
    const mmdx_plugin_info *in = &p->info;
    if (in->reserved != 0)
        return refuse(r, MMDX_EABI, path, "reserved field of mmdx_plugin_info is not zero");
    if (!valid_ident(in->name, 1))
        return refuse(r, MMDX_EABI, path, "invalid plugin name (want [a-z][a-z0-9_-]*, at most 64)");
    if (!in->version || !*in->version)
        return refuse(r, MMDX_EABI, path, "plugin %s has no version", in->name);
    if (in->kind == MMDX_PLUGIN_ENCODER) {
        if (!valid_ident(in->modality, 0))
            return refuse(r, MMDX_EABI, path, "encoder %s: invalid modality (want [a-z][a-z0-9_]*)",
                          in->name);
        if (!valid_ident(in->input_column, 0))
            return refuse(r, MMDX_EABI, path, "encoder %s: invalid input_column", in->name);
        const mmdx_encoder_vtable *vt = in->encoder;
        if (!vt)
            return refuse(r, MMDX_EABI, path, "encoder %s has no encoder function table", in->name);
        if (vt->struct_size < V1_0_ENCODER_SIZE)
            return refuse(r, MMDX_EABI, path, "encoder %s: function table size %u < ABI 1.0's %zu",
                          in->name, vt->struct_size, V1_0_ENCODER_SIZE);
        memset(&p->encoder, 0, sizeof p->encoder);
        memcpy(&p->encoder, vt, vt->struct_size < sizeof p->encoder ? vt->struct_size : sizeof p->encoder);
        if (p->encoder.reserved)
            return refuse(r, MMDX_EABI, path, "encoder %s: reserved field is not zero", in->name);
        if (!p->encoder.open || !p->encoder.features || !p->encoder.encode || !p->encoder.close)
            return refuse(r, MMDX_EABI, path,
                          "encoder %s lacks a required function (open, features, encode, close)",
                          in->name);
    } else if (in->kind == MMDX_PLUGIN_FUSION) {
        const mmdx_fusion_vtable *vt = in->fusion;
        if (!vt)
            return refuse(r, MMDX_EABI, path, "fusion plugin %s has no fusion function table", in->name);
        if (vt->struct_size < V1_0_FUSION_SIZE)
            return refuse(r, MMDX_EABI, path, "fusion %s: function table size %u < ABI 1.0's %zu",
                          in->name, vt->struct_size, V1_0_FUSION_SIZE);
        memset(&p->fusion, 0, sizeof p->fusion);
        memcpy(&p->fusion, vt, vt->struct_size < sizeof p->fusion ? vt->struct_size : sizeof p->fusion);
        if (p->fusion.reserved)
            return refuse(r, MMDX_EABI, path, "fusion %s: reserved field is not zero", in->name);
        if (!p->fusion.fit || !p->fusion.predict || !p->fusion.save || !p->fusion.free_buffer ||
            !p->fusion.load || !p->fusion.free_model)
            return refuse(r, MMDX_EABI, path,
                          "fusion %s lacks a required function (fit, predict, save, free_buffer, "
                          "load, free_model)",
                          in->name);
        p->info.modality = NULL;
        p->info.input_column = NULL;
    } else {
        return refuse(r, MMDX_EABI, path, "plugin %s has unknown kind %u", in->name, in->kind);
    }
    p->info.encoder = NULL; /* use the normalised copies */
    p->info.fusion = NULL;
    for (size_t i = 0; i < r->n; i++) {
        const mmdx_plugin *o = r->plugins[i];
        if (strcmp(o->info.name, in->name) == 0)
            return refuse(r, MMDX_EEXISTS, path, "a plugin named \"%s\" is already loaded from %s",
                          in->name, o->path);
        if (in->kind == MMDX_PLUGIN_ENCODER && o->info.kind == MMDX_PLUGIN_ENCODER &&
            strcmp(o->info.modality, in->modality) == 0)
            return refuse(r, MMDX_EEXISTS, path,
                          "modality \"%s\" is already provided by plugin %s (%s)", in->modality,
                          o->info.name, o->path);
    }
    return 0;
}

int mmdx_registry_load_file(mmdx_registry *r, const char *path)
{
    char real[PATH_MAX];
    if (!realpath(path, real))
        return refuse(r, MMDX_ENOTFOUND, path, "cannot resolve path: %s", strerror(errno));
    char *dir = mmdx_path_dirname(real);
    if (!dir)
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    int rc = check_trust(r, dir, "its folder", 1);
    free(dir);
    if (rc == 0)
        rc = check_trust(r, real, "the file", 0);
    if (rc < 0)
        return rc;

    mmdx_plugin *p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(real))) {
        plugin_free(p);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    uint8_t digest[MMDX_SHA256_LEN];
    if ((rc = mmdx_sha256_file(real, digest)) < 0) {
        plugin_free(p);
        return refuse(r, rc, real, "%s", mmdx_last_error());
    }
    mmdx_hex(digest, sizeof digest, p->sha256);

    dlerror();
    p->handle = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (!p->handle) {
        const char *e = dlerror();
        plugin_free(p);
        return refuse(r, MMDX_EABI, real, "not a loadable shared object: %s", e ? e : "dlopen failed");
    }
    mmdx_plugin_describe_fn describe;
    void *sym = dlsym(p->handle, MMDX_PLUGIN_ENTRY);
    if (!sym) {
        plugin_free(p);
        return refuse(r, MMDX_EABI, real, "no %s symbol: not an mmdx plugin", MMDX_PLUGIN_ENTRY);
    }
    memcpy(&describe, &sym, sizeof describe); /* POSIX: object pointer to function pointer */
    if ((rc = check_info(r, real, describe(), p)) < 0) {
        plugin_free(p);
        return rc;
    }
    if (mmdx_array_reserve(&r->plugins, &r->cap, r->n + 1, sizeof *r->plugins, 8, 0) < 0) {
        plugin_free(p);
        return mmdx_fail(MMDX_ENOMEM, "out of memory");
    }
    r->plugins[r->n++] = p;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int mmdx_registry_scan(mmdx_registry *r, const char *dir)
{
    if (!mmdx_path_is_dir(dir))
        return 0;
    int rc = check_trust(r, dir, "the plugin folder", 1);
    if (rc < 0)
        return rc;
    DIR *d = opendir(dir);
    if (!d)
        return refuse(r, MMDX_EIO, dir, "cannot read folder: %s", strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0 || e->d_name[0] == '.')
            continue;
        if (mmdx_array_reserve(&names, &cap, n + 1, sizeof *names, 16, 0) < 0)
            break;
        if ((names[n] = strdup(e->d_name)) != NULL)
            n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str); /* deterministic: first of a duplicate pair wins */
    int loaded = 0;
    for (size_t i = 0; i < n; i++) {
        char *path = mmdx_path_resolve(dir, names[i]);
        if (path && mmdx_registry_load_file(r, path) == 0)
            loaded++;
        free(path);
        free(names[i]);
    }
    free(names);
    return loaded;
}

static char *exe_relative(const char *rel)
{
    char *exe = mmdx_path_exe_dir();
    char *p = exe ? mmdx_path_resolve(exe, rel) : NULL;
    free(exe);
    return p;
}

char *mmdx_registry_builtin_dir(void) { return exe_relative(MMDX_PLUGIN_RELDIR); }
char *mmdx_registry_data_dir(void) { return exe_relative(MMDX_DATA_RELDIR); }

static void scan_list(mmdx_registry *r, const char *list)
{
    if (!list || !*list)
        return;
    char *copy = strdup(list), *save = NULL;
    for (char *tok = copy ? strtok_r(copy, ":", &save) : NULL; tok; tok = strtok_r(NULL, ":", &save))
        if (*tok)
            (void)mmdx_registry_scan(r, tok);
    free(copy);
}

int mmdx_registry_scan_default(mmdx_registry *r, const char *extra)
{
    char *builtin = mmdx_registry_builtin_dir();
    if (builtin)
        (void)mmdx_registry_scan(r, builtin);
    free(builtin);
    scan_list(r, extra);
    scan_list(r, getenv("MMDX_PLUGIN_PATH"));
    return (int)r->n;
}
