import CBLAS

/// The BLAS behind the engine: OpenBLAS, loaded at first use with the kernel
/// family chosen for this CPU (see `cil_blas.h` for why it is not linked).
public enum BLAS {
    /// Errors loading OpenBLAS.
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Loads OpenBLAS now (idempotent); throws a clear error if it is missing.
    public static func load() throws {
        if cil_blas_load() != 0 { throw LoadError(description: String(cString: cil_blas_error())) }
    }

    /// Kernel family in use, from `openblas_get_corename()` (e.g. "SkylakeX").
    public static var coreName: String { String(cString: cil_blas_corename()) }

    /// "user" (OPENBLAS_CORETYPE was set), "detected" (cil chose it from CPUID) or
    /// "library" (OpenBLAS's own choice).
    public static var coreSource: String { String(cString: cil_blas_core_source()) }

    /// The OPENBLAS_CORETYPE cil picks for this CPU ("" = leave it to OpenBLAS).
    public static var detectedCoreType: String { String(cString: cil_blas_detect_coretype()) }

    /// The shared library file that was loaded.
    public static var libraryPath: String { String(cString: cil_blas_library_path()) }

    /// OpenBLAS's build configuration (`openblas_get_config()`).
    public static var configuration: String { String(cString: cil_blas_config()) }

    /// Threads one BLAS call may use.
    public static var threads: Int {
        get { Int(cil_blas_get_num_threads()) }
        set { cil_blas_set_num_threads(Int32(newValue)) }
    }

    /// Row-major C = alpha * op(A) * op(B) + beta * C, op(A): M x K, op(B): K x N.
    ///
    /// Large products are split into column (or row) blocks computed on the engine's
    /// threads, each a single-threaded OpenBLAS call (OpenBLAS runs with one thread:
    /// see `cil_blas.c`). Each block is an independent GEMM over the full K, so the
    /// result does not depend on the split.
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                             c: UnsafeMutablePointer<Float>, ldc: Int) {
        let workers = Parallel.threads
        let flops = m * n * k
        if workers <= 1 || flops < 1 << 21 || max(m, n) < 2 * 16 {
            cil_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha,
                      a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
            return
        }
        let box = UncheckedBox((a, b, c))
        if n >= m {
            // Column blocks: C[:, j0..<j1] = op(A) · op(B)[:, j0..<j1]; multiples of 16.
            let chunk = ((n + workers - 1) / workers + 15) / 16 * 16
            Parallel.forEach((n + chunk - 1) / chunk) { w in
                let (a, b, c) = box.value
                let j0 = w * chunk, cols = min(chunk, n - j0)
                let bBlock = transB ? b + j0 * ldb : b + j0
                cil_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(cols), Int32(k), alpha,
                          a, Int32(lda), bBlock, Int32(ldb), beta, c + j0, Int32(ldc))
            }
        } else {
            // Row blocks: C[i0..<i1, :] = op(A)[i0..<i1, :] · op(B).
            let chunk = ((m + workers - 1) / workers + 15) / 16 * 16
            Parallel.forEach((m + chunk - 1) / chunk) { w in
                let (a, b, c) = box.value
                let i0 = w * chunk, rows = min(chunk, m - i0)
                let aBlock = transA ? a + i0 : a + i0 * lda
                cil_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(rows), Int32(n), Int32(k), alpha,
                          aBlock, Int32(lda), b, Int32(ldb), beta, c + i0 * ldc, Int32(ldc))
            }
        }
    }
}

/// Process-wide engine settings.
public enum Engine {
    /// Uses `threads` threads for the engine's kernels, including the blocks a
    /// large GEMM is split into (OpenBLAS itself stays single-threaded).
    public static func configure(threads: Int) throws {
        try BLAS.load()
        Parallel.threads = threads
    }
}
