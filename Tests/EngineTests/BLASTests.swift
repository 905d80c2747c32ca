import CILSDK
import Foundation
import Testing

/// The GEMM wrapper against a naive triple loop, for every transpose combination,
/// on sizes that stay whole and sizes that are split into column or row blocks
/// across the engine's threads.
@Suite("BLAS")
struct BLASTests {
    static func naive(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, transA: Bool, transB: Bool) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * m + i] : a[i * k + p]
                    let bv = transB ? b[j * k + p] : b[p * n + j]
                    s += Double(av) * Double(bv)
                }
                c[i * n + j] = s
            }
        }
        return c
    }

    @Test(arguments: [(5, 7, 3), (40, 300, 200), (300, 40, 200), (33, 517, 129)])
    func sgemmMatchesNaiveLoop(size: (Int, Int, Int)) throws {
        try BLAS.load()
        let (m, n, k) = size
        var rng = RandomGenerator(seed: UInt64(m * 1000 + n))
        for transA in [false, true] {
            for transB in [false, true] {
                let a = (0..<(m * k)).map { _ in rng.nextNormal() }
                let b = (0..<(k * n)).map { _ in rng.nextNormal() }
                var c = [Float](repeating: .nan, count: m * n)
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        c.withUnsafeMutableBufferPointer { cp in
                            BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k,
                                       a: ap.baseAddress!, lda: transA ? m : k,
                                       b: bp.baseAddress!, ldb: transB ? k : n,
                                       c: cp.baseAddress!, ldc: n)
                        }
                    }
                }
                let expected = Self.naive(a, b, m: m, n: n, k: k, transA: transA, transB: transB)
                let worst = zip(c, expected).map { abs(Double($0) - $1) / (1e-4 + 1e-4 * abs($1)) }.max() ?? 0
                #expect(worst <= 1, "m \(m) n \(n) k \(k) transA \(transA) transB \(transB): error \(worst)x tolerance")
            }
        }
    }

    @Test func openBLASRunsSingleThreadedUnderTheEngine() throws {
        try BLAS.load()
        // The engine splits GEMMs itself; OpenBLAS's own pool would spin on its cores.
        // (A user-set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS is respected.)
        let env = ProcessInfo.processInfo.environment
        if env["OPENBLAS_NUM_THREADS"] == nil && env["OMP_NUM_THREADS"] == nil {
            #expect(BLAS.threads == 1)
        }
        #expect(!BLAS.coreName.isEmpty && BLAS.coreName != "unavailable")
    }
}
