// 2-D convolution (cross-correlation, no bias) as im2col + one GEMM per batch.

extension Tensor {
    /// y[n,o,i,j] = Σ_{c,u,v} w[o,c,u,v] · xpad[n,c,i·s+u, j·s+v], symmetric zero
    /// padding. x: [N, C, H, W], weight: [O, C, kH, kW] -> [N, O, H_out, W_out] with
    /// H_out = ⌊(H + 2p − kH)/s⌋ + 1. A frozen weight gets no gradient; the column
    /// matrix is recomputed in the backward pass instead of being kept.
    public static func conv2d(_ x: Tensor, weight: Tensor, stride: Int = 1, padding: Int = 0) -> Tensor {
        precondition(x.rank == 4 && weight.rank == 4 && x.shape[1] == weight.shape[1],
                     "conv2d: input \(x.shape) and weight \(weight.shape) do not match (NCHW, OCkk)")
        precondition(stride >= 1 && padding >= 0, "conv2d: stride \(stride), padding \(padding)")
        let g = ConvGeometry(batch: x.shape[0], channels: x.shape[1], height: x.shape[2], width: x.shape[3],
                             kernelH: weight.shape[2], kernelW: weight.shape[3], stride: stride, padding: padding)
        precondition(g.outH > 0 && g.outW > 0, "conv2d: kernel larger than padded input \(x.shape)")
        let O = weight.shape[0], K = g.patchSize, NP = g.batch * g.outPixels
        let outShape = [g.batch, O, g.outH, g.outW]

        let y = TensorStorage(uninitializedCount: g.batch * O * g.outPixels)
        do {
            let col = TensorStorage(uninitializedCount: K * NP)
            Im2col.im2col(x.storage.pointer, col.pointer, g)
            let ycm = TensorStorage(uninitializedCount: O * NP)
            BLAS.sgemm(m: O, n: NP, k: K, a: weight.storage.pointer, lda: K, b: col.pointer, ldb: NP,
                       c: ycm.pointer, ldc: NP)
            Im2col.channelMajorToBatchMajor(ycm.pointer, y.pointer, channels: O, batch: g.batch, pixels: g.outPixels)
        }
        return result("conv2d", shape: outShape, storage: y, inputs: [x, weight]) { grad in
            let gcm = TensorStorage(uninitializedCount: O * NP)
            Im2col.batchMajorToChannelMajor(grad.storage.pointer, gcm.pointer, channels: O, batch: g.batch, pixels: g.outPixels)
            var gw: Tensor?, gx: Tensor?
            if weight.requiresGrad {
                let col = TensorStorage(uninitializedCount: K * NP)
                Im2col.im2col(x.storage.pointer, col.pointer, g)
                gw = Tensor(uninitializedShape: weight.shape)
                BLAS.sgemm(transB: true, m: O, n: K, k: NP, a: gcm.pointer, lda: NP, b: col.pointer, ldb: NP,
                           c: gw!.storage.pointer, ldc: K)
            }
            if x.requiresGrad {
                let gcol = TensorStorage(uninitializedCount: K * NP)
                BLAS.sgemm(transA: true, m: K, n: NP, k: O, a: weight.storage.pointer, lda: K, b: gcm.pointer, ldb: NP,
                           c: gcol.pointer, ldc: NP)
                gx = Tensor(uninitializedShape: x.shape)
                Im2col.col2im(gcol.pointer, gx!.storage.pointer, g)
            }
            return [gx, gw]
        }
    }
}
