import CBLAS

// 2-D convolution (cross-correlation, no bias): per image, im2col into a column
// buffer that stays in cache, then one GEMM whose output is the image's NCHW slice.
// Images run in parallel (one single-threaded GEMM per image and thread).

extension Tensor {
    /// y[n,o,i,j] = Σ_{c,u,v} w[o,c,u,v] · xpad[n,c,i·s+u, j·s+v], symmetric zero
    /// padding. x: [N, C, H, W], weight: [O, C, kH, kW] -> [N, O, H_out, W_out] with
    /// H_out = ⌊(H + 2p − kH)/s⌋ + 1. A frozen weight gets no gradient; the column
    /// matrices are recomputed in the backward pass instead of being kept. The weight
    /// gradient sums per-thread partial sums (in a fixed order for a given thread count).
    public static func conv2d(_ x: Tensor, weight: Tensor, stride: Int = 1, padding: Int = 0) -> Tensor {
        precondition(x.rank == 4 && weight.rank == 4 && x.shape[1] == weight.shape[1],
                     "conv2d: input \(x.shape) and weight \(weight.shape) do not match (NCHW, OCkk)")
        precondition(stride >= 1 && padding >= 0, "conv2d: stride \(stride), padding \(padding)")
        let g = ConvGeometry(batch: x.shape[0], channels: x.shape[1], height: x.shape[2], width: x.shape[3],
                             kernelH: weight.shape[2], kernelW: weight.shape[3], stride: stride, padding: padding)
        precondition(g.outH > 0 && g.outW > 0, "conv2d: kernel larger than padded input \(x.shape)")
        let O = weight.shape[0], K = g.patchSize, P = g.outPixels
        let inImage = g.channels * g.height * g.width, outImage = O * P
        let pointwise = g.kernelH == 1 && g.kernelW == 1 && stride == 1 && padding == 0
        let outShape = [g.batch, O, g.outH, g.outW]

        let y = TensorStorage(uninitializedCount: g.batch * outImage)
        let xp = UncheckedBox(x.storage.pointer), wp = UncheckedBox(weight.storage.pointer), yp = UncheckedBox(y.pointer)
        Parallel.forChunks(g.batch) { images in
            let col = pointwise ? nil : TensorStorage(uninitializedCount: K * P)
            for n in images {
                let input = xp.value + n * inImage
                if let col { Im2col.im2col(input, col.pointer, g) }
                cil_sgemm(0, 0, Int32(O), Int32(P), Int32(K), 1, wp.value, Int32(K),
                          col?.pointer ?? input, Int32(P), 0, yp.value + n * outImage, Int32(P))
            }
        }
        return result("conv2d", shape: outShape, storage: y, inputs: [x, weight]) { grad in
            let gp = UncheckedBox(grad.storage.pointer)
            let xp = UncheckedBox(x.storage.pointer), wp = UncheckedBox(weight.storage.pointer)
            let needW = weight.requiresGrad, needX = x.requiresGrad
            let gx = needX ? Tensor(uninitializedShape: x.shape) : nil
            let gxp = UncheckedBox(gx?.storage.pointer)
            // One partial weight gradient per chunk of images.
            let workers = min(Parallel.threads, g.batch)
            let chunk = (g.batch + workers - 1) / workers
            let partials = needW ? TensorStorage(count: workers * O * K, repeating: 0) : nil
            let pp = UncheckedBox(partials?.pointer)
            Parallel.forEach(workers) { w in
                let lo = w * chunk, hi = min(g.batch, lo + chunk)
                guard lo < hi else { return }
                let col = pointwise ? nil : TensorStorage(uninitializedCount: K * P)
                for n in lo..<hi {
                    let gy = gp.value + n * outImage
                    if needW, let partial = pp.value {
                        let input = xp.value + n * inImage
                        if let col { Im2col.im2col(input, col.pointer, g) }
                        // dW += gY_n [O, P] · col_nᵀ [P, K]
                        cil_sgemm(0, 1, Int32(O), Int32(K), Int32(P), 1, gy, Int32(P),
                                  col?.pointer ?? input, Int32(P), 1, partial + w * O * K, Int32(K))
                    }
                    if needX, let gxBase = gxp.value {
                        let dx = gxBase + n * inImage
                        if let col {
                            // dcol = Wᵀ [K, O] · gY_n [O, P], then back to the image.
                            cil_sgemm(1, 0, Int32(K), Int32(P), Int32(O), 1, wp.value, Int32(K), gy, Int32(P),
                                      0, col.pointer, Int32(P))
                            Im2col.col2im(col.pointer, dx, g)
                        } else {
                            cil_sgemm(1, 0, Int32(K), Int32(P), Int32(O), 1, wp.value, Int32(K), gy, Int32(P),
                                      0, dx, Int32(P))
                        }
                    }
                }
            }
            var gw: Tensor?
            if needW, let partials {
                let out = Tensor(shape: weight.shape, repeating: 0)
                for w in 0..<workers {
                    let src = partials.pointer + w * O * K
                    out.withUnsafeMutableBufferPointer { d in for i in 0..<(O * K) { d[i] += src[i] } }
                }
                gw = out
            }
            return [gx, gw]
        }
    }
}
