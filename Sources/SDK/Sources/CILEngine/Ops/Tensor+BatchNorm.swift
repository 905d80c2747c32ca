// Batch normalisation over (N, H, W) per channel, as torch.nn.BatchNorm2d, with the
// following ReLU and a residual addition optionally fused into the same passes.

import CKernels

extension Tensor {
    /// Batch norm of x [N, C, H, W] (or [N, C]) with affine γ, β ([C] each).
    ///
    /// Training (`training == true`): normalises with the batch mean and the *biased*
    /// batch variance (gradients flow through both), then updates the buffers in place:
    /// running_mean ← (1−m)·running_mean + m·μ_B and running_var ← (1−m)·running_var
    /// + m·σ²_B·n/(n−1) (unbiased), n = N·H·W. Evaluation: uses the running buffers as
    /// constants. `runningMean` / `runningVar` are [C] buffers, never differentiated.
    ///
    /// Fusion (values and gradients are those of the unfused ops applied one after
    /// the other, up to float rounding):
    /// - `relu: true` returns relu(batchNorm(x)). Forward: the ReLU is applied as each
    ///   value is written. Backward: the incoming gradient is masked on the fly (0 where
    ///   the output is <= 0, as PyTorch's threshold_backward; NaN outputs pass it) by
    ///   both the Σg / Σg·x̂ pass and the dx pass; no masked copy is written.
    /// - `residual` (needs `relu: true`; x's shape) returns relu(batchNorm(x) + residual)
    ///   in one forward pass. Backward: the residual's gradient is the masked gradient
    ///   (written once when the residual needs a gradient, else masked on the fly), and
    ///   batch norm's backward proceeds from it as above.
    public static func batchNorm(_ x: Tensor, gamma: Tensor, beta: Tensor,
                                 runningMean: Tensor, runningVar: Tensor,
                                 training: Bool, momentum: Float = 0.1, eps: Float = 1e-5,
                                 relu: Bool = false, residual: Tensor? = nil) -> Tensor {
        precondition(x.rank == 4 || x.rank == 2, "batchNorm: needs NCHW or NC input, got \(x.shape)")
        let N = x.shape[0], C = x.shape[1], HW = x.rank == 4 ? x.shape[2] * x.shape[3] : 1
        precondition(gamma.count == C && beta.count == C && runningMean.count == C && runningVar.count == C,
                     "batchNorm: parameters must have \(C) elements")
        precondition(residual == nil || relu, "batchNorm: a residual input is only fused with relu: true")
        precondition(residual.map { $0.shape == x.shape } ?? true,
                     "batchNorm: residual shape \(residual?.shape ?? []) differs from the input's \(x.shape)")
        let n = N * HW
        precondition(!training || n > 1, "batchNorm: training needs more than one value per channel, input \(x.shape)")
        var mean = [Float](repeating: 0, count: C)
        var invStd = [Float](repeating: 0, count: C)
        let xp = x.storage.pointer
        if training {
            mean.withUnsafeMutableBufferPointer { mp in
                invStd.withUnsafeMutableBufferPointer { ip in
                    let m = UncheckedBox(mp.baseAddress!), inv = UncheckedBox(ip.baseAddress!)
                    Parallel.forEach(C) { c in
                        let (mu, varB) = channelMoments(xp, images: N, channels: C, planeSize: HW, channel: c)
                        m.value[c] = Float(mu)
                        inv.value[c] = Float(1 / (varB + Double(eps)).squareRoot())
                        // Running statistics: unbiased variance.
                        let rm = runningMean.storage.pointer, rv = runningVar.storage.pointer
                        rm[c] = (1 - momentum) * rm[c] + momentum * Float(mu)
                        rv[c] = (1 - momentum) * rv[c] + momentum * Float(varB * Double(n) / Double(n - 1))
                    }
                }
            }
        } else {
            for c in 0..<C {
                mean[c] = runningMean.storage.pointer[c]
                invStd[c] = 1 / (runningVar.storage.pointer[c] + eps).squareRoot()
            }
        }
        let y = TensorStorage(uninitializedCount: x.count)
        let gp = gamma.storage.pointer, bp = beta.storage.pointer
        let meanC = mean, invC = invStd
        let rp = residual?.storage.pointer
        Parallel.forEach(N * C, grain: 4) { bc in
            let c = bc % C
            let a = gp[c] * invC[c], sh = bp[c] - meanC[c] * a
            let src = xp + bc * HW, dst = y.pointer + bc * HW
            if let rp {
                cil_affine_add_relu_forward(src, rp + bc * HW, dst, HW, a, sh)
            } else {
                cil_affine_forward(src, dst, HW, a, sh, relu ? 1 : 0)
            }
        }
        // With relu, the backward pass masks the incoming gradient where the output is
        // not positive, reading the output through its own handle (capturing the
        // result would make a reference cycle).
        let output = relu ? Tensor(shape: x.shape, storage: y) : nil
        let name = residual != nil ? "batchNormAddReLU" : (relu ? "batchNormReLU" : "batchNorm")
        return result(name, shape: x.shape, storage: y, inputs: [x, gamma, beta] + (residual.map { [$0] } ?? [])) { g in
            // The residual's gradient is the masked gradient itself; once it is written,
            // batch norm's backward reads it instead of masking again.
            var gResidual: Tensor?
            if let residual, residual.requiresGrad, let output {
                let m = Tensor(uninitializedShape: x.shape)
                let box = UncheckedBox((m.storage.pointer, g.storage.pointer, output.storage.pointer))
                Parallel.forChunks(x.count, grain: 1 << 14) { r in
                    let (o, gp, yp) = box.value
                    cil_relu_backward(yp + r.lowerBound, gp + r.lowerBound, o + r.lowerBound, r.count)
                }
                gResidual = m
            }
            let gop = (gResidual ?? g).storage.pointer
            // The mask still to apply on the fly: the output, or nil when there is none.
            let maskp: UnsafeMutablePointer<Float>? = gResidual == nil ? output?.storage.pointer : nil
            // Per channel: Σ g and Σ g·x̂ (g masked).
            var sumG = [Double](repeating: 0, count: C), sumGX = [Double](repeating: 0, count: C)
            sumG.withUnsafeMutableBufferPointer { sg in
                sumGX.withUnsafeMutableBufferPointer { sgx in
                    let a = UncheckedBox(sg.baseAddress!), b = UncheckedBox(sgx.baseAddress!)
                    Parallel.forEach(C) { c in
                        var s = 0.0, sx = 0.0
                        for bi in 0..<N {
                            var ls: Float = 0, lsx: Float = 0
                            let off = (bi * C + c) * HW
                            if let maskp {
                                cil_sum_product_deviation_relu(gop + off, xp + off, maskp + off, HW, meanC[c], &ls, &lsx)
                            } else {
                                cil_sum_product_deviation(gop + off, xp + off, HW, meanC[c], &ls, &lsx)
                            }
                            s += Double(ls); sx += Double(lsx)
                        }
                        a.value[c] = s
                        b.value[c] = sx * Double(invC[c])
                    }
                }
            }
            var gx: Tensor?, gGamma: Tensor?, gBeta: Tensor?
            if gamma.requiresGrad { gGamma = Tensor(shape: gamma.shape, sumGX.map { Float($0) }) }
            if beta.requiresGrad { gBeta = Tensor(shape: beta.shape, sumG.map { Float($0) }) }
            if x.requiresGrad {
                let out = Tensor(uninitializedShape: x.shape)
                let o = out.storage.pointer
                let sg = sumG, sgx = sumGX
                Parallel.forEach(N * C, grain: 4) { bc in
                    let c = bc % C
                    let k = gp[c] * invC[c]
                    let off = bc * HW
                    if training {
                        // dx = γ/σ · (g − mean(g) − x̂ · mean(g·x̂))
                        let mg = Float(sg[c] / Double(n)), mgx = Float(sgx[c] / Double(n))
                        cil_batch_norm_dx(gop + off, xp + off, maskp.map { $0 + off }, HW, k, meanC[c], invC[c],
                                          mg, mgx, o + off)
                    } else {
                        cil_scale_relu_backward(gop + off, maskp.map { $0 + off }, HW, k, o + off)
                    }
                }
                gx = out
            }
            return [gx, gGamma, gBeta] + (residual != nil ? [gResidual] : [])
        }
    }

    /// Mean and biased variance (in Double) of channel `channel` of an [N, C, planeSize]
    /// buffer, reading each (image, channel) plane once into cache: the plane's sum S_b,
    /// float mean m_b = S_b / p and M2_b = Σ (x − m_b)² come from two passes over the
    /// plane (1-4 KB, in L1), then the planes are combined with the parallel-variance
    /// (Chan et al.) identity Σ_b Σ_i (x − μ)² = Σ_b [M2_b + 2 d_b r_b + p d_b²], where
    /// μ = Σ S_b / (N p), d_b = m_b − μ and r_b = S_b − p m_b (the rounding residue of
    /// m_b; exact identity). Every term is a sum of squares of deviations or a tiny
    /// correction, never a difference of large sums: no cancellation, as the two-pass
    /// E[(x − μ)²] it replaces.
    static func channelMoments(_ x: UnsafeMutablePointer<Float>, images N: Int, channels C: Int,
                               planeSize p: Int, channel c: Int) -> (mean: Double, variance: Double) {
        withUnsafeTemporaryAllocation(of: (sum: Float, mean: Float, m2: Float).self, capacity: N) { planes in
            var total = 0.0
            for b in 0..<N {
                var s: Float = 0, m: Float = 0, m2: Float = 0
                cil_plane_moments(x + (b * C + c) * p, p, &s, &m, &m2)
                planes[b] = (s, m, m2)
                total += Double(s)
            }
            let count = Double(N * p), pd = Double(p)
            let mu = total / count
            var ss = 0.0
            for b in 0..<N {
                let d = Double(planes[b].mean) - mu
                let r = Double(planes[b].sum) - pd * Double(planes[b].mean)
                ss += Double(planes[b].m2) + 2 * d * r + pd * d * d
            }
            return (mu, (ss < 0 ? 0 : ss) / count) // rounding can leave ss just below 0; NaN passes
        }
    }
}
