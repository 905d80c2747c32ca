/*
 * cil_plugin.h: the versioned C ABI between the cil host and its plugins.
 *
 * Every plugin library exports ONE of two entry points:
 *
 *  1. Swift plugins (baselines, branch types) export
 *       const cil_build_stamp *cil_plugin_build_info(void);
 *       int32_t cil_plugin_register(void *registrar, uint32_t host_abi_version);
 *     The host reads the build info first and checks the ABI version, the SDK
 *     version and the compiler (Swift has no stable ABI on Linux) BEFORE it lets
 *     the plugin touch any Swift type; only then it calls cil_plugin_register,
 *     which fills the registrar (see PluginRegistrar in the SDK).
 *     `cil_plugin_stamp()` below gives a Swift plugin its build info, evaluated
 *     when the plugin is compiled.
 *
 *  2. Plugins in C (or any language with a C ABI) export
 *       const cil_c_plugin *cil_c_plugin_entry(uint32_t host_abi_version);
 *     returning a static cil_c_plugin (a struct of function pointers that starts
 *     with abi_version and struct_size, so that later versions can only grow it).
 *
 * The file name of a plugin library found by directory scanning must start with
 * "libCILPlugin" and end with ".so" (other libraries in the directory, such as
 * libCILSDK.so, are not plugins).
 */
#ifndef CIL_PLUGIN_H
#define CIL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The plugin ABI this header describes. Bump on any incompatible change. */
#define CIL_PLUGIN_ABI_VERSION 1

/* The SDK version this header ships with (must equal SDKInfo.version). */
#define CIL_SDK_VERSION "0.5.0"

/* The compiler that compiles this header: in a Swift target that is the clang
   inside the Swift toolchain, whose version string names the toolchain's commit.
   (Only Swift plugins are checked against it; C plugins never need it.) */
#if defined(__clang_version__)
#define CIL_TOOLCHAIN_ID __clang_version__
#elif defined(__VERSION__)
#define CIL_TOOLCHAIN_ID "non-clang " __VERSION__
#else
#define CIL_TOOLCHAIN_ID "unknown compiler"
#endif

/* What a Swift plugin was built with (returned by its cil_plugin_build_info()). */
typedef struct cil_build_stamp {
    uint32_t abi_version;     /* CIL_PLUGIN_ABI_VERSION at the plugin's build */
    uint32_t struct_size;     /* sizeof(cil_build_stamp) at the plugin's build */
    const char *sdk_version;  /* CIL_SDK_VERSION at the plugin's build */
    const char *toolchain;    /* CIL_TOOLCHAIN_ID at the plugin's build */
} cil_build_stamp;

/* The build info of the code that includes this header, fixed at its compile time. */
static inline const cil_build_stamp *cil_plugin_stamp(void) {
    static const cil_build_stamp info = {
        CIL_PLUGIN_ABI_VERSION, (uint32_t)sizeof(cil_build_stamp), CIL_SDK_VERSION, CIL_TOOLCHAIN_ID};
    return &info;
}

/* ---- C plugins ---------------------------------------------------------- */

/* Inputs of a loss term for one batch (all arrays row-major float32, read-only). */
typedef struct cil_loss_term_input {
    uint32_t struct_size;        /* sizeof(cil_loss_term_input) */
    int64_t batch;               /* B */
    int64_t classes;             /* C: classes seen so far (columns of logits) */
    int64_t old_classes;         /* classes before this phase (0 in phase 0) */
    int64_t feature_dim;         /* D */
    int64_t phase;               /* 0-based phase index */
    const float *logits;         /* [B, C] current model */
    const float *features;       /* [B, D] current model's pooled features */
    const float *old_logits;     /* [B, old_classes] previous model, NULL in phase 0 */
    const float *old_features;   /* [B, D] previous model, NULL in phase 0 */
    const int64_t *targets;      /* [B] labels in 0..<C */
} cil_loss_term_input;

/* A loss term: writes the scalar loss to *value and dLoss/dlogits ([B, C]) and
   dLoss/dfeatures ([B, D]) into the given zero-filled buffers. Returns 0 on success;
   non-zero is an error, described in error_message (a buffer of error_capacity). */
typedef int32_t (*cil_loss_term_fn)(const cil_loss_term_input *input, float *value, float *grad_logits,
                                    float *grad_features, void *user_data, char *error_message,
                                    size_t error_capacity);

/* What a C plugin provides. Version 1. */
typedef struct cil_c_plugin {
    uint32_t abi_version;        /* CIL_PLUGIN_ABI_VERSION */
    uint32_t struct_size;        /* sizeof(cil_c_plugin) */
    const char *name;            /* plugin name, unique among plugins of its kind, e.g. "entropy-reg" */
    const char *version;         /* the plugin's own version */
    const char *description;     /* one line */
    /* Optional: functions exported by this library, declared by signature and
       called by the host through libffi. JSON:
       {"functions": [{"name": "...", "symbol": "...", "returns": "double",
                       "arguments": ["pointer", "int64", "double"]}]}
       Types: void int32 int64 uint32 uint64 float double pointer. */
    const char *manifest_json;
    /* Optional: a loss term a run can add to any baseline's loss. */
    cil_loss_term_fn loss_term;
    void *user_data;             /* passed back to loss_term */
} cil_c_plugin;

typedef const cil_c_plugin *(*cil_c_plugin_entry_fn)(uint32_t host_abi_version);
typedef const cil_build_stamp *(*cil_plugin_build_info_fn)(void);
typedef int32_t (*cil_plugin_register_fn)(void *registrar, uint32_t host_abi_version);

#ifdef __cplusplus
}
#endif
#endif
