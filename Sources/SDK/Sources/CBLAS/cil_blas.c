#define _GNU_SOURCE
#include "cil_blas.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CBLAS enum values (cblas.h); repeated here so that no BLAS header is needed. */
enum { CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                         const float *, int, float, float *, int);
typedef char *(*corename_fn)(void);
typedef char *(*config_fn)(void);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int load_status = -1;
static char error_message[1024] = "";
static char core_source[16] = "library";
static char loaded_path[512] = "";
static sgemm_fn p_sgemm;
static corename_fn p_corename;
static config_fn p_config;
static set_threads_fn p_set_threads;
static get_threads_fn p_get_threads;

const char *cil_blas_detect_coretype(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512cd"))
        return "SKYLAKEX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "HASWELL";
    if (__builtin_cpu_supports("avx"))
        return "SANDYBRIDGE";
#endif
    return "";
}

static void load_once(void) {
    const char *user = getenv("OPENBLAS_CORETYPE");
    if (user != NULL && user[0] != '\0') {
        strcpy(core_source, "user");
    } else {
        const char *detected = cil_blas_detect_coretype();
        if (detected[0] != '\0') {
            setenv("OPENBLAS_CORETYPE", detected, 1);
            strcpy(core_source, "detected");
        }
    }
    /* The engine splits work across its own threads and calls BLAS from each of
       them, so OpenBLAS itself runs single-threaded: its idle workers would
       otherwise spin (sched_yield) on the cores the engine's threads need. */
    if (getenv("OPENBLAS_NUM_THREADS") == NULL && getenv("OMP_NUM_THREADS") == NULL)
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
    /* CIL_OPENBLAS_LIBRARY names another build of OpenBLAS to load, if wanted. */
    const char *candidates[] = {getenv("CIL_OPENBLAS_LIBRARY"), "libopenblas.so.0",
                                "libopenblas.so"};
    void *handle = NULL;
    char tried[768] = "";
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        if (candidates[i] == NULL || candidates[i][0] == '\0') continue;
        handle = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
        if (handle != NULL) {
            snprintf(loaded_path, sizeof loaded_path, "%s", candidates[i]);
            break;
        }
        size_t used = strlen(tried);
        snprintf(tried + used, sizeof tried - used, "%s%s", used ? "; " : "", dlerror());
    }
    if (handle == NULL) {
        snprintf(error_message, sizeof error_message,
                 "cannot load OpenBLAS (%s); install it with: apt-get install libopenblas-dev",
                 tried);
        load_status = 1;
        return;
    }
    Dl_info info;
    p_sgemm = (sgemm_fn)dlsym(handle, "cblas_sgemm");
    p_corename = (corename_fn)dlsym(handle, "openblas_get_corename");
    p_config = (config_fn)dlsym(handle, "openblas_get_config");
    p_set_threads = (set_threads_fn)dlsym(handle, "openblas_set_num_threads");
    p_get_threads = (get_threads_fn)dlsym(handle, "openblas_get_num_threads");
    if (p_sgemm == NULL || p_corename == NULL || p_set_threads == NULL || p_get_threads == NULL) {
        snprintf(error_message, sizeof error_message,
                 "%s is not OpenBLAS: cblas_sgemm / openblas_get_corename / "
                 "openblas_set_num_threads missing", loaded_path);
        load_status = 2;
        return;
    }
    if (dladdr((void *)p_sgemm, &info) != 0 && info.dli_fname != NULL)
        snprintf(loaded_path, sizeof loaded_path, "%s", info.dli_fname);
    load_status = 0;
}

int cil_blas_load(void) {
    pthread_once(&once, load_once);
    return load_status;
}

const char *cil_blas_error(void) {
    cil_blas_load();
    return error_message;
}

const char *cil_blas_corename(void) {
    if (cil_blas_load() != 0) return "unavailable";
    return p_corename();
}

const char *cil_blas_core_source(void) {
    cil_blas_load();
    return core_source;
}

const char *cil_blas_library_path(void) {
    cil_blas_load();
    return loaded_path;
}

const char *cil_blas_config(void) {
    if (cil_blas_load() != 0 || p_config == NULL) return "";
    return p_config();
}

int cil_blas_get_num_threads(void) {
    if (cil_blas_load() != 0) return 0;
    return p_get_threads();
}

void cil_blas_set_num_threads(int n) {
    if (cil_blas_load() != 0) return;
    p_set_threads(n < 1 ? 1 : n);
}

void cil_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A,
               int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (cil_blas_load() != 0) {
        fprintf(stderr, "cil: %s\n", error_message);
        abort();
    }
    p_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
