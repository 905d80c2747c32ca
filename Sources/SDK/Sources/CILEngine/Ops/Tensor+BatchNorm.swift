// Batch normalisation over (N, H, W) per channel, as torch.nn.BatchNorm2d.

import CKernels

extension Tensor {
    /// Batch norm of x [N, C, H, W] (or [N, C]) with affine γ, β ([C] each).
    ///
    /// Training (`training == true`): normalises with the batch mean and the *biased*
    /// batch variance (gradients flow through both), then updates the buffers in place:
    /// running_mean ← (1−m)·running_mean + m·μ_B and running_var ← (1−m)·running_var
    /// + m·σ²_B·n/(n−1) (unbiased), n = N·H·W. Evaluation: uses the running buffers as
    /// constants. `runningMean` / `runningVar` are [C] buffers, never differentiated.
    /// `relu: true` returns relu(batchNorm(x)) in the same passes (forward and backward),
    /// with the values and gradients of the two ops applied one after the other.
    public static func batchNorm(_ x: Tensor, gamma: Tensor, beta: Tensor,
                                 runningMean: Tensor, runningVar: Tensor,
                                 training: Bool, momentum: Float = 0.1, eps: Float = 1e-5,
                                 relu: Bool = false) -> Tensor {
        precondition(x.rank == 4 || x.rank == 2, "batchNorm: needs NCHW or NC input, got \(x.shape)")
        let N = x.shape[0], C = x.shape[1], HW = x.rank == 4 ? x.shape[2] * x.shape[3] : 1
        precondition(gamma.count == C && beta.count == C && runningMean.count == C && runningVar.count == C,
                     "batchNorm: parameters must have \(C) elements")
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
                        // Two passes (mean, then squared deviations): no cancellation.
                        var s = 0.0
                        for b in 0..<N { s += Double(cil_sum(xp + (b * C + c) * HW, HW)) }
                        let mu = s / Double(n)
                        let muF = Float(mu)
                        var ss = 0.0
                        for b in 0..<N { ss += Double(cil_sum_squared_deviation(xp + (b * C + c) * HW, HW, muF)) }
                        let varB = ss / Double(n)
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
        Parallel.forEach(N * C, grain: 4) { bc in
            let c = bc % C
            let a = gp[c] * invC[c], sh = bp[c] - meanC[c] * a
            let src = xp + bc * HW, dst = y.pointer + bc * HW
            if relu {
                for i in 0..<HW { let v = src[i] * a + sh; dst[i] = v <= 0 ? 0 : v } // NaN stays NaN
            } else {
                for i in 0..<HW { dst[i] = src[i] * a + sh }
            }
        }
        // With relu, the backward pass masks the incoming gradient where the output is
        // not positive (as PyTorch's threshold_backward), reading the output through
        // its own handle (capturing the result would make a reference cycle).
        let output = relu ? Tensor(shape: x.shape, storage: y) : nil
        return result(relu ? "batchNormReLU" : "batchNorm", shape: x.shape, storage: y, inputs: [x, gamma, beta]) { g in
            var masked: Tensor?
            if let output {
                let m = Tensor(uninitializedShape: x.shape)
                let box = UncheckedBox((m.storage.pointer, g.storage.pointer, output.storage.pointer))
                Parallel.forChunks(x.count, grain: 1 << 14) { r in
                    let (o, gp, yp) = box.value
                    cil_relu_backward(yp + r.lowerBound, gp + r.lowerBound, o + r.lowerBound, r.count)
                }
                masked = m
            }
            let gop = (masked ?? g).storage.pointer
            // Per channel: Σ g and Σ g·x̂.
            var sumG = [Double](repeating: 0, count: C), sumGX = [Double](repeating: 0, count: C)
            sumG.withUnsafeMutableBufferPointer { sg in
                sumGX.withUnsafeMutableBufferPointer { sgx in
                    let a = UncheckedBox(sg.baseAddress!), b = UncheckedBox(sgx.baseAddress!)
                    Parallel.forEach(C) { c in
                        var s = 0.0, sx = 0.0
                        for bi in 0..<N {
                            var ls: Float = 0, lsx: Float = 0
                            cil_sum_product_deviation(gop + (bi * C + c) * HW, xp + (bi * C + c) * HW, HW, meanC[c], &ls, &lsx)
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
                    let src = gop + bc * HW, xs = xp + bc * HW, dst = o + bc * HW
                    if training {
                        // dx = γ/σ · (g − mean(g) − x̂ · mean(g·x̂))
                        let mg = Float(sg[c] / Double(n)), mgx = Float(sgx[c] / Double(n))
                        for i in 0..<HW {
                            let xh = (xs[i] - meanC[c]) * invC[c]
                            dst[i] = k * (src[i] - mg - xh * mgx)
                        }
                    } else {
                        for i in 0..<HW { dst[i] = k * src[i] }
                    }
                }
                gx = out
            }
            return [gx, gGamma, gBeta]
        }
    }
}
