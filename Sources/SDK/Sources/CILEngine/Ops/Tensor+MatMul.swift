// Matrix products on BLAS.

extension Tensor {
    /// Matrix product of [M, K] and [K, N] -> [M, N]. `transposeA` / `transposeB`
    /// use the stored matrix transposed ([K, M] / [N, K] as stored).
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.rank == 2 && b.rank == 2, "matmul: needs 2-D tensors, got \(a.shape) and \(b.shape)")
        let m = transposeA ? a.shape[1] : a.shape[0]
        let k = transposeA ? a.shape[0] : a.shape[1]
        let kb = transposeB ? b.shape[1] : b.shape[0]
        let n = transposeB ? b.shape[0] : b.shape[1]
        precondition(k == kb, "matmul: inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") x \(b.shape)\(transposeB ? "ᵀ" : "")")
        let storage = TensorStorage(uninitializedCount: m * n)
        BLAS.sgemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                   a: a.storage.pointer, lda: a.shape[1], b: b.storage.pointer, ldb: b.shape[1],
                   c: storage.pointer, ldc: n)
        return Tensor.result("matmul", shape: [m, n], storage: storage, inputs: [a, b]) { g in
            var ga: Tensor?, gb: Tensor?
            if a.requiresGrad {
                // dA = g * op(B)^T, stored in A's layout.
                ga = Tensor(uninitializedShape: a.shape)
                if !transposeA {
                    BLAS.sgemm(transA: false, transB: !transposeB, m: m, n: k, k: n,
                               a: g.storage.pointer, lda: n, b: b.storage.pointer, ldb: b.shape[1],
                               c: ga!.storage.pointer, ldc: k)
                } else {
                    BLAS.sgemm(transA: transposeB, transB: true, m: k, n: m, k: n,
                               a: b.storage.pointer, lda: b.shape[1], b: g.storage.pointer, ldb: n,
                               c: ga!.storage.pointer, ldc: m)
                }
            }
            if b.requiresGrad {
                // dB = op(A)^T * g, stored in B's layout.
                gb = Tensor(uninitializedShape: b.shape)
                if !transposeB {
                    BLAS.sgemm(transA: !transposeA, transB: false, m: k, n: n, k: m,
                               a: a.storage.pointer, lda: a.shape[1], b: g.storage.pointer, ldb: n,
                               c: gb!.storage.pointer, ldc: n)
                } else {
                    BLAS.sgemm(transA: true, transB: transposeA, m: n, n: k, k: m,
                               a: g.storage.pointer, lda: n, b: a.storage.pointer, ldb: a.shape[1],
                               c: gb!.storage.pointer, ldc: k)
                }
            }
            return [ga, gb]
        }
    }

    /// A fully connected layer: x [B, in] · Wᵀ (W [out, in]) + bias [out] -> [B, out].
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let y = matmul(x, weight, transposeB: true)
        guard let bias else { return y }
        return y + bias
    }
}
