// cil_blas.h: the engine's only door to BLAS.
//
// OpenBLAS is NOT linked at build time: it is dlopen()ed on first use, because
// Debian's OpenBLAS 0.3.21 reads OPENBLAS_CORETYPE once, when the library is
// initialised, and without it falls back to its slowest (Prescott, SSE3) kernels
// on CPUs it does not know (e.g. Sapphire Rapids: ~30 GFLOP/s instead of ~130 per
// core). Loading it ourselves lets us set the right core for the CPU first, in
// every process that uses the SDK (the cil binary, tests, plugins), without
// re-executing anything. A value the user set in OPENBLAS_CORETYPE is respected.
#ifndef CIL_BLAS_H
#define CIL_BLAS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Loads OpenBLAS once (thread-safe, idempotent). Returns 0 on success; otherwise
/// non-zero and a message in cil_blas_error().
int cil_blas_load(void);

/// A human-readable reason for the last load failure ("" if none).
const char *cil_blas_error(void);

/// The kernel family OpenBLAS runs (openblas_get_corename()), e.g. "SkylakeX".
const char *cil_blas_corename(void);

/// How the core was chosen: "user" (OPENBLAS_CORETYPE was set before loading),
/// "detected" (cil set it from CPUID), or "library" (OpenBLAS's own choice).
const char *cil_blas_core_source(void);

/// The OPENBLAS_CORETYPE cil would choose for this CPU from CPUID, or "" if it
/// would leave the choice to OpenBLAS.
const char *cil_blas_detect_coretype(void);

/// The library file that was loaded and OpenBLAS's build configuration string.
const char *cil_blas_library_path(void);
const char *cil_blas_config(void);

/// Number of threads OpenBLAS uses for one call; set it (>= 1).
int cil_blas_get_num_threads(void);
void cil_blas_set_num_threads(int n);

/// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C, where
/// op(X) = X or X^T. op(A) is M x K, op(B) is K x N, C is M x N; lda/ldb/ldc are the
/// row strides of A, B, C as stored.
void cil_sgemm(int transA, int transB, int M, int N, int K, float alpha,
               const float *A, int lda, const float *B, int ldb, float beta,
               float *C, int ldc);

#ifdef __cplusplus
}
#endif
#endif
