/*
 * mmdx/plugin.h — the mmdx plugin ABI.
 *
 * SPDX-License-Identifier: Apache-2.0
 *
 * A plugin is a shared object that exports exactly one symbol,
 * mmdx_plugin_describe(), returning a static mmdx_plugin_info. The host
 * (`mmdx`, the Orthanc plugin, ...) dlopen()s it with RTLD_NOW|RTLD_LOCAL,
 * checks the ABI version and struct sizes first, and then calls the function
 * table for the plugin's kind:
 *
 *   - an ENCODER turns one patient's input of one modality (a DICOM series,
 *     a VCF sample, a health record) into a fixed-length vector of named
 *     features;
 *   - a FUSION plugin fits a classifier on encoded features and predicts a
 *     risk probability with per-modality contributions.
 *
 * Versioning. MMDX_ABI_VERSION is (major << 16 | minor). The host refuses a
 * plugin whose major differs from its own or whose minor is newer. Every
 * struct that crosses the boundary starts with its size (and, for the
 * top-level ones, the ABI version) so that new fields can be appended in a
 * later minor version: the receiver copies what the sender provided and
 * zero-fills the rest. Fields are never removed or reordered. Reserved fields
 * must be zero; the host checks. Enums crossing the boundary are uint32_t.
 *
 * Ownership. Whoever allocates, frees: buffers the host passes (values,
 * probabilities, error records) are owned by the host; memory a plugin
 * returns (state, models, serialised models, feature names) is owned by the
 * plugin and released through the plugin's own close/free functions.
 *
 * Errors. Every fallible function returns 0 or a negative mmdx_error_code and
 * fills the mmdx_error the host passes with a message that names the input:
 * the file, and the line, DICOM tag or field where it applies. A plugin never
 * prints to stdout/stderr, never exits, never aborts on bad input, and never
 * writes patient identifiers into anything but the error message it returns.
 */
#ifndef MMDX_PLUGIN_H
#define MMDX_PLUGIN_H

#include "mmdx/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MMDX_ABI_VERSION_MAJOR 1
#define MMDX_ABI_VERSION_MINOR 1
#define MMDX_ABI_VERSION ((uint32_t)((MMDX_ABI_VERSION_MAJOR << 16) | MMDX_ABI_VERSION_MINOR))
#define MMDX_ABI_MAJOR(v) ((uint32_t)(v) >> 16)
#define MMDX_ABI_MINOR(v) ((uint32_t)(v)&0xffffu)

/** Name of the one symbol every plugin exports. */
#define MMDX_PLUGIN_ENTRY "mmdx_plugin_describe"

/** What a plugin does. Stored as uint32_t in mmdx_plugin_info.kind. */
typedef enum mmdx_plugin_kind {
    MMDX_PLUGIN_ENCODER = 1,
    MMDX_PLUGIN_FUSION = 2,
    MMDX__PLUGIN_KIND_FORCE32 = 0x7fffffff
} mmdx_plugin_kind;

/* ------------------------------------------------------------------------ */
/* Configuration handed to a plugin                                          */
/* ------------------------------------------------------------------------ */

/**
 * One `key = value` line of the plugin's section in the site configuration.
 * `file` and `line` locate it so a plugin can report "mmdx.conf:12: unknown
 * key 'bin_widht' in [imaging]". A key may appear several times (lists).
 * All strings are owned by the host and live until the plugin is closed.
 * Since ABI 1.0.
 */
typedef struct mmdx_config_entry {
    const char *key;
    const char *value;
    const char *file;
    int32_t line;
    uint32_t reserved; /**< zero */
} mmdx_config_entry;

/**
 * The configuration an encoder is opened with, or a fusion plugin fits with.
 * Owned by the host; valid for the duration of the call that receives it
 * (copy what you keep). Since ABI 1.0.
 */
typedef struct mmdx_plugin_config {
    uint32_t abi_version;              /**< MMDX_ABI_VERSION of the host */
    uint32_t struct_size;              /**< sizeof(mmdx_plugin_config) in the host */
    const char *section;               /**< section name (the plugin's name) */
    size_t n_entries;                  /**< entries of that section, in file order */
    const mmdx_config_entry *entries;
    const char *base_dir;              /**< folder relative paths in values resolve against, or NULL */
    const char *data_dir;              /**< mmdx's read-only data folder (<prefix>/share/mmdx), or NULL */
    int32_t n_threads;                 /**< threads a plugin may use inside one call (>= 1) */
    uint32_t reserved;                 /**< zero */
} mmdx_plugin_config;

/* ------------------------------------------------------------------------ */
/* Encoders                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * One patient's input for one encoder. Owned by the host; valid during the
 * call. Since ABI 1.0.
 */
typedef struct mmdx_encoder_input {
    uint32_t abi_version;
    uint32_t struct_size;
    const char *patient_id;    /**< the manifest's patient_id */
    const char *path;          /**< the input (file or folder), absolute or relative to the cwd; never NULL */
    const char *sample;        /**< sample name inside a multi-sample input (vcf_sample), or NULL */
    const char *origin;        /**< where the input was named, e.g. "cohort.csv:12", for messages; may be NULL */
    size_t n_extra;            /**< the manifest's other columns for this patient (e.g. mask, index_date) */
    const char *const *extra_keys;
    const char *const *extra_values; /**< empty string when the cell is empty; paths already resolved */
} mmdx_encoder_input;

/**
 * Encoder function table. Since ABI 1.0.
 *
 * Thread-safety: open, prepare, features and close are called from one
 * thread. encode is called concurrently from several threads on the same
 * state (the host parallelises over patients) and must be reentrant.
 */
typedef struct mmdx_encoder_vtable {
    uint32_t struct_size; /**< sizeof(mmdx_encoder_vtable) as the plugin saw it */
    uint32_t reserved;    /**< zero */

    /**
     * Create the encoder state from the plugin's configuration section.
     * Unknown keys and bad values are errors naming file and line
     * (MMDX_EINVAL). On success *state is owned by the plugin until close().
     */
    int (*open)(void **state, const mmdx_plugin_config *config, mmdx_error *err);

    /**
     * The feature schema: *n_features stable names, without the modality
     * prefix (the host writes "<modality>.<name>"), each matching
     * [a-z0-9_.-]+. Fixed for a given configuration. The array and the
     * strings are owned by the state and valid until close().
     */
    int (*features)(void *state, size_t *n_features, const char *const **names, mmdx_error *err);

    /**
     * Optional (may be NULL). Called once before a cohort is encoded, with
     * every patient that has this modality, so that a plugin can read a
     * shared file once for all its samples or compute cohort statistics.
     * Fails only for problems affecting the whole cohort; a problem with one
     * patient's input is reported later by encode() for that patient.
     */
    int (*prepare)(void *state, const mmdx_encoder_input *const *inputs, size_t n_inputs,
                   mmdx_error *err);

    /**
     * Encode one patient. values has n_features slots owned by the host; a
     * feature that cannot be computed for this patient (e.g. a lab never
     * measured) is NaN. *present is set to 1 when the modality is present
     * for this patient, 0 when the input holds nothing for it (then values
     * are ignored). Failure (unreadable or malformed input) returns a
     * negative code and a message naming the input.
     */
    int (*encode)(void *state, const mmdx_encoder_input *input, double *values, int32_t *present,
                  mmdx_error *err);

    /** Release the state. NULL is a no-op. */
    void (*close)(void *state);
} mmdx_encoder_vtable;

/* ------------------------------------------------------------------------ */
/* Fusion                                                                    */
/* ------------------------------------------------------------------------ */

/**
 * Encoded features of a set of patients, as the host hands them to a fusion
 * plugin. Owned by the host; valid during the call. Since ABI 1.0.
 */
typedef struct mmdx_dataset {
    uint32_t abi_version;
    uint32_t struct_size;
    size_t n_samples;
    size_t n_features;
    const char *const *feature_names;  /**< full names, e.g. "imaging.glcm.contrast" */
    const uint32_t *feature_modality;  /**< per feature: index into modalities[] */
    size_t n_modalities;
    const char *const *modalities;     /**< e.g. "imaging", "genomics", "records" */
    const double *x;                   /**< n_samples x n_features, row-major; NaN = missing */
    const uint8_t *present;            /**< n_samples x n_modalities; 1 = modality present */
    const int32_t *labels;             /**< n_samples labels in {0,1}, or NULL when unknown */
    const char *const *sample_ids;     /**< patient IDs (for messages only), or NULL */
} mmdx_dataset;

/** Training parameters. Owned by the host; valid during fit(). Since ABI 1.0. */
typedef struct mmdx_fusion_params {
    uint32_t abi_version;
    uint32_t struct_size;
    const char *classifier;            /**< "logreg", "mlp", or a plugin-specific name */
    uint64_t seed;                     /**< all randomness derives from it */
    const mmdx_plugin_config *config;  /**< the plugin's configuration section */
    int32_t n_threads;                 /**< threads fit/predict may use */
    uint32_t reserved;                 /**< zero */
} mmdx_fusion_params;

/**
 * Fusion function table. Since ABI 1.0; embed_dim, embed and impute since 1.1.
 *
 * Thread-safety: fit, save, load and free_model are called from one thread;
 * predict may be called concurrently on the same model.
 */
typedef struct mmdx_fusion_vtable {
    uint32_t struct_size; /**< sizeof(mmdx_fusion_vtable) as the plugin saw it */
    uint32_t reserved;    /**< zero */

    /** Fit a model on labelled data. *model is owned by the plugin (free_model). */
    int (*fit)(void **model, const mmdx_fusion_params *params, const mmdx_dataset *train,
               mmdx_error *err);

    /**
     * Predict. probability has n_samples slots; contribution has
     * n_samples x n_modalities slots (row-major) receiving each modality's
     * contribution to the log-odds (0 for a modality not present). Both are
     * owned by the host. The dataset's features are in the order fit() saw.
     */
    int (*predict)(const void *model, const mmdx_dataset *data, double *probability,
                   double *contribution, mmdx_error *err);

    /** Serialise a model. *buf is allocated by the plugin; release it with free_buffer(). */
    int (*save)(const void *model, void **buf, size_t *len, mmdx_error *err);
    void (*free_buffer)(void *buf);

    /** Deserialise what save() wrote. *model is owned by the plugin (free_model). */
    int (*load)(void **model, const void *buf, size_t len, mmdx_error *err);

    /** Release a model. NULL is a no-op. */
    void (*free_model)(void *model);

    /* ---- Since ABI 1.1: a shared representation. All three are optional:
     * a plugin without one leaves them NULL (a 1.0 plugin's table is shorter
     * and the host zero-fills them). They may be called concurrently on one
     * model, like predict. */

    /**
     * Size of the model's patient embedding: the fused vector has *dim
     * components, and so has each modality's token. *dim = 0 means that this
     * model has no embedding (embed() must then not be called).
     */
    int (*embed_dim)(const void *model, uint32_t *dim, mmdx_error *err);

    /**
     * Embed patients in the shared space. fused has n_samples x dim slots;
     * per_modality, when not NULL, has n_samples x n_modalities x dim slots
     * (patient-major, then modality, then component) and receives each
     * present modality's token, NaN in every component of an absent one.
     * Both are owned by the host.
     */
    int (*embed)(const void *model, const mmdx_dataset *data, double *fused,
                 double *per_modality, mmdx_error *err);

    /**
     * Fill in absent modalities. x_out has n_samples x n_features slots
     * (row-major, the dataset's feature order) and is owned by the host: a
     * feature of a modality the patient has is copied from data->x; every
     * feature of an absent modality receives the model's estimate from the
     * present ones, in the encoder's own units (not standardised).
     */
    int (*impute)(const void *model, const mmdx_dataset *data, double *x_out, mmdx_error *err);
} mmdx_fusion_vtable;

/* ------------------------------------------------------------------------ */
/* The plugin description                                                    */
/* ------------------------------------------------------------------------ */

/**
 * What mmdx_plugin_describe() returns: a static, immutable description. All
 * strings are static. Since ABI 1.0.
 */
typedef struct mmdx_plugin_info {
    uint32_t abi_version;      /**< MMDX_ABI_VERSION the plugin was built against */
    uint32_t struct_size;      /**< sizeof(mmdx_plugin_info) as the plugin saw it */
    uint32_t kind;             /**< mmdx_plugin_kind */
    uint32_t reserved;         /**< zero */
    const char *name;          /**< unique, [a-z][a-z0-9_-]*, e.g. "imaging", "early" */
    const char *version;       /**< the plugin's own version, e.g. "1.2.0" */
    const char *modality;      /**< encoders: feature prefix ("imaging"); fusion: NULL */
    const char *input_column;  /**< encoders: manifest column naming the input ("dicom"); fusion: NULL */
    const char *description;   /**< one line for `mmdx plugins` */
    const mmdx_encoder_vtable *encoder; /**< kind == MMDX_PLUGIN_ENCODER, else NULL */
    const mmdx_fusion_vtable *fusion;   /**< kind == MMDX_PLUGIN_FUSION, else NULL */
} mmdx_plugin_info;

/** The entry point's type. */
typedef const mmdx_plugin_info *(*mmdx_plugin_describe_fn)(void);

/**
 * Declare the entry point in a plugin source file:
 *
 *     static const mmdx_plugin_info info = { MMDX_ABI_VERSION, sizeof info, ... };
 *     MMDX_PLUGIN_DECLARE(info)
 *
 * Build the plugin with -fvisibility=hidden so that nothing else is exported.
 */
#define MMDX_PLUGIN_DECLARE(info_object)                                                          \
    MMDX_EXPORT const mmdx_plugin_info *mmdx_plugin_describe(void);                               \
    MMDX_EXPORT const mmdx_plugin_info *mmdx_plugin_describe(void) { return &(info_object); }

#ifdef __cplusplus
}
#endif

#endif /* MMDX_PLUGIN_H */
