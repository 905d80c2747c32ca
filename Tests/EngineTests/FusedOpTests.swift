// The fused batch-norm / ReLU / residual ops against the unfused compositions they
// replace: forward values, gradients against central differences of the Double
// reference and against the unfused ops' gradients (tolerance .tight), ties at zero
// (gradient 0 where the output is <= 0, as PyTorch's threshold_backward), NaN
// propagation, and plane sizes that are not a multiple of the 16-float vector.

import CILSDK
import Foundation
import Testing

/// Plane sizes 35 (tail of 3), 20 (tail of 4), 32 (no tail), 1 and an [N, C] input.
private let fusedShapes: [[Int]] = [[3, 4, 5, 7], [2, 3, 4, 5], [2, 2, 4, 8], [4, 3, 1, 1], [6, 3]]

/// Values that are equal, bit for bit, or NaN in the same places.
private func expectSameBits(_ a: [Float], _ b: [Float], _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, "\(what): counts \(a.count) vs \(b.count)", sourceLocation: sourceLocation)
    let bad = zip(a, b).filter { !($0.0 == $0.1 || ($0.0.isNaN && $0.1.isNaN)) }.count
    #expect(bad == 0, "\(what): \(bad) of \(a.count) values differ", sourceLocation: sourceLocation)
}

/// Inputs with exact zeros after normalisation: each channel is dyadic values v and −v
/// (so the batch mean is exactly 0) plus exact zeros; with β = 0 the zeros normalise
/// to exactly 0, a tie of the ReLU.
private func tiedInput(_ shape: [Int], rng: inout RandomGenerator) -> [Float] {
    let N = shape[0], C = shape[1], HW = shape.count == 4 ? shape[2] * shape[3] : 1
    var x = [Float](repeating: 0, count: NaiveRef.count(shape))
    for c in 0..<C {
        let idx = (0..<N).flatMap { b in (0..<HW).map { (b * C + c) * HW + $0 } }
        let half = idx.count / 3 // a third v, a third −v, the rest 0
        for k in 0..<half {
            let v = Float(Int(rng.uniforms(1, in: 1...8)[0])) * 0.25
            x[idx[k]] = v
            x[idx[half + k]] = -v
        }
    }
    return x
}

/// Gradients of Σ upstream · f(inputs) w.r.t. each input (nil when it needs none).
private func gradients(_ inputs: [Tensor], upstream: Tensor, _ f: ([Tensor]) -> Tensor) -> (out: [Float], grads: [[Float]?]) {
    let copies = inputs.map { Tensor(shape: $0.shape, $0.scalars, requiresGrad: $0.requiresGrad) }
    let out = f(copies)
    out.backward(upstream)
    return (out.scalars, copies.map { $0.grad?.scalars })
}

@Suite("Fused batch norm, ReLU and residual ops")
struct FusedOpTests {
    // MARK: batchNorm(relu: true), backward masked on the fly

    @Test("batchNorm+relu equals batchNorm then relu(): values and gradients, ties at zero included",
          arguments: fusedShapes, [true, false])
    func batchNormReLUMatchesUnfused(_ shape: [Int], _ training: Bool) {
        var rng = opRNG("fused.bnrelu \(shape) \(training)")
        let C = shape[1]
        let x = Tensor(shape: shape, tiedInput(shape, rng: &rng), requiresGrad: true)
        let gamma = Tensor(shape: [C], rng.normals(C, mean: 1, std: 0.5), requiresGrad: true)
        let beta = Tensor.zeros([C]); beta.requiresGrad = true
        // Eval: running mean 0, so the zeros of x again normalise to exactly 0.
        let rv = rng.uniforms(C, in: 0.5...2)
        let up = Tensor(shape: shape, rng.normals(NaiveRef.count(shape)))
        func bn(_ t: [Tensor], relu: Bool) -> Tensor {
            Tensor.batchNorm(t[0], gamma: t[1], beta: t[2], runningMean: Tensor.zeros([C]),
                             runningVar: Tensor(shape: [C], rv), training: training, relu: relu)
        }
        let fused = gradients([x, gamma, beta], upstream: up) { bn($0, relu: true) }
        let plain = gradients([x, gamma, beta], upstream: up) { bn($0, relu: false).relu() }
        #expect(fused.out.contains(0) && fused.out.contains { $0 > 0 }, "the case has ties and positives")
        expectAllClose(fused.out, plain.out, .tight, "forward \(shape)")
        for k in 0..<3 {
            expectAllClose(fused.grads[k] ?? [], plain.grads[k] ?? [.nan], .tight, "d/d input \(k) \(shape)")
        }
        // At a tie the output is 0 and the gradient reaching batch norm is 0: in eval
        // mode dx = γ/σ·g' there, so it is exactly 0.
        if !training {
            let gx = fused.grads[0] ?? []
            #expect(zip(fused.out, gx).allSatisfy { $0.0 > 0 || $0.1 == 0 }, "dx is 0 where the output is <= 0")
        }
    }

    @Test("batchNorm+relu: NaN in one channel makes that channel NaN, fused as unfused")
    func batchNormReLUNaN() {
        let shape = [2, 3, 5, 7], C = 3
        var rng = opRNG("fused.bnrelu.nan")
        var xv = rng.normals(NaiveRef.count(shape))
        xv[1 * 35 + 17] = .nan // image 0, channel 1
        let x = Tensor(shape: shape, xv, requiresGrad: true)
        let gamma = Tensor(shape: [C], rng.normals(C, mean: 1, std: 0.5), requiresGrad: true)
        let beta = Tensor(shape: [C], rng.normals(C), requiresGrad: true)
        let up = Tensor(shape: shape, rng.normals(NaiveRef.count(shape)))
        func bn(_ t: [Tensor], relu: Bool) -> Tensor {
            Tensor.batchNorm(t[0], gamma: t[1], beta: t[2], runningMean: Tensor.zeros([C]),
                             runningVar: Tensor(shape: [C], repeating: 1), training: true, relu: relu)
        }
        let fused = gradients([x, gamma, beta], upstream: up) { bn($0, relu: true) }
        let plain = gradients([x, gamma, beta], upstream: up) { bn($0, relu: false).relu() }
        #expect(fused.out.filter(\.isNaN).count == 2 * 35, "channel 1 of both images is NaN")
        expectSameBits(fused.out, plain.out, "forward")
        for k in 0..<3 { expectSameBits(fused.grads[k] ?? [], plain.grads[k] ?? [], "d/d input \(k)") }
    }

    // MARK: Forward statistics from one read of each plane

    @Test("batch statistics stay exact with a large mean (no cancellation)", arguments: fusedShapes)
    func batchStatisticsLargeMean(_ shape: [Int]) {
        var rng = opRNG("fused.stats \(shape)")
        let C = shape[1]
        // Mean 3000, std 0.5: E[x²] − E[x]² in Float would lose every digit of σ².
        let x = rng.normals(NaiveRef.count(shape), mean: 3000, std: 0.5)
        let runningMean = Tensor.zeros([C]), runningVar = Tensor.zeros([C])
        _ = Tensor.batchNorm(Tensor(shape: shape, x), gamma: Tensor(shape: [C], repeating: 1),
                             beta: Tensor.zeros([C]), runningMean: runningMean, runningVar: runningVar,
                             training: true, momentum: 1)
        let st = NaiveRef.channelStats(x.map(Double.init), shape)
        expectAllClose(runningMean.scalars, st.mean, OpTolerance(abs: 0, rel: 1e-6), "batch mean \(shape)")
        let unbiased = st.biasedVar.map { $0 * Double(st.n) / Double(st.n - 1) }
        // Float inputs of magnitude 3000 carry ~1e-4 of rounding per deviation.
        expectAllClose(runningVar.scalars, unbiased, OpTolerance(abs: 0, rel: 2e-3), "batch variance \(shape)")
    }

    // MARK: batchNorm with a residual input: relu(batchNorm(x) + r)

    @Test("relu(batchNorm(x) + r) fused: values and gradients against central differences",
          arguments: [true, false])
    func batchNormAddReLUFiniteDifferences(_ training: Bool) {
        let shape = [3, 4, 5, 7], C = 4
        var rng = opRNG("fused.bnadd.fd \(training)")
        let x = OpInput(shape, rng.normals(NaiveRef.count(shape), mean: 0.5, std: 1.5))
        let gamma = OpInput([C], rng.normals(C, mean: 1, std: 0.5)), beta = OpInput([C], rng.normals(C))
        let r = OpInput(shape, rng.normals(NaiveRef.count(shape)))
        let rm = rng.normals(C), rv = rng.uniforms(C, in: 0.5...2)
        let runningMean = Tensor(shape: [C], rm), runningVar = Tensor(shape: [C], rv)
        checkOp("batchNorm+add+relu \(training)", [x, gamma, beta, r], rng: &rng) {
            Tensor.batchNorm($0[0], gamma: $0[1], beta: $0[2], runningMean: runningMean.copy(),
                             runningVar: runningVar.copy(), training: training, relu: true, residual: $0[3])
        } reference: {
            let bn = NaiveRef.batchNorm($0[0], shape, gamma: $0[1], beta: $0[2],
                                        running: training ? nil : (rm.map(Double.init), rv.map(Double.init)), eps: 1e-5)
            return NaiveRef.Out(shape: shape, values: zip(bn.values, $0[3]).map { max($0 + $1, 0) })
        }
    }

    @Test("relu(batchNorm(x) + r) equals the unfused ops, ties at zero included, residual frozen or not",
          arguments: fusedShapes, [true, false])
    func batchNormAddReLUMatchesUnfused(_ shape: [Int], _ residualGrad: Bool) {
        var rng = opRNG("fused.bnadd \(shape) \(residualGrad)")
        let C = shape[1], count = NaiveRef.count(shape)
        let x = Tensor(shape: shape, tiedInput(shape, rng: &rng), requiresGrad: true)
        let gamma = Tensor(shape: [C], rng.normals(C, mean: 1, std: 0.5), requiresGrad: true)
        let beta = Tensor.zeros([C]); beta.requiresGrad = true
        // Zero residual where x is 0 (a tie), elsewhere random with some exact zeros.
        let xv = x.scalars
        let rv = (0..<count).map { i -> Float in xv[i] == 0 || i % 5 == 0 ? 0 : rng.normals(1)[0] }
        let r = Tensor(shape: shape, rv, requiresGrad: residualGrad)
        let up = Tensor(shape: shape, rng.normals(count))
        func bn(_ t: Tensor, _ g: Tensor, _ b: Tensor, residual: Tensor?) -> Tensor {
            Tensor.batchNorm(t, gamma: g, beta: b, runningMean: Tensor.zeros([C]), runningVar: Tensor.zeros([C]),
                             training: true, relu: residual != nil, residual: residual)
        }
        let fused = gradients([x, gamma, beta, r], upstream: up) { bn($0[0], $0[1], $0[2], residual: $0[3]) }
        let plain = gradients([x, gamma, beta, r], upstream: up) { (bn($0[0], $0[1], $0[2], residual: nil) + $0[3]).relu() }
        #expect(fused.out.contains(0) && fused.out.contains { $0 > 0 }, "the case has ties and positives")
        expectAllClose(fused.out, plain.out, .tight, "forward \(shape)")
        for k in 0..<3 {
            expectAllClose(fused.grads[k] ?? [], plain.grads[k] ?? [.nan], .tight, "d/d input \(k) \(shape)")
        }
        if residualGrad {
            let gr = fused.grads[3] ?? []
            expectSameBits(gr, plain.grads[3] ?? [], "d/d residual \(shape)")
            #expect(zip(fused.out, gr).allSatisfy { $0.0 > 0 || $0.1 == 0 }, "residual gradient is 0 where the output is <= 0")
        } else {
            #expect(fused.grads[3] == nil, "a frozen residual gets no gradient")
        }
    }

    // MARK: Tensor.addReLU

    @Test("addReLU: values and gradients against central differences", arguments: [[3, 5, 7], [2, 16], [1]])
    func addReLUFiniteDifferences(_ shape: [Int]) {
        var rng = opRNG("fused.addrelu.fd \(shape)")
        let n = NaiveRef.count(shape)
        // Away from the kink: |a + b| >= 0.02.
        let s = rng.normals(n, awayFrom: [0]), a = rng.normals(n)
        let b = zip(s, a).map { $0 - $1 }
        checkOp("addReLU \(shape)", [OpInput(shape, a), OpInput(shape, b)], rng: &rng) {
            Tensor.addReLU($0[0], $0[1])
        } reference: {
            NaiveRef.Out(shape: shape, values: zip($0[0], $0[1]).map { max($0 + $1, 0) })
        }
    }

    @Test("addReLU equals (a + b).relu() bit for bit: ties at zero, NaN, aliasing", arguments: [35, 20, 32, 1])
    func addReLUMatchesUnfused(_ n: Int) {
        var rng = opRNG("fused.addrelu \(n)")
        var a = rng.normals(n), b = rng.normals(n)
        for i in stride(from: 0, to: n, by: 3) { b[i] = -a[i] } // exact ties: a + b == 0
        if n > 4 { a[4] = .nan; b[2] = .nan }
        let A = Tensor(shape: [n], a, requiresGrad: true), B = Tensor(shape: [n], b, requiresGrad: true)
        let up = Tensor(shape: [n], rng.normals(n))
        let fused = gradients([A, B], upstream: up) { Tensor.addReLU($0[0], $0[1]) }
        let plain = gradients([A, B], upstream: up) { ($0[0] + $0[1]).relu() }
        expectSameBits(fused.out, plain.out, "forward")
        expectSameBits(fused.grads[0] ?? [], plain.grads[0] ?? [], "d/da")
        expectSameBits(fused.grads[1] ?? [], plain.grads[1] ?? [], "d/db")
        let ga = fused.grads[0] ?? []
        #expect(stride(from: 0, to: n, by: 3).allSatisfy { ga[$0] == 0 }, "gradient 0 at the ties a + b == 0")
        if n > 4 { #expect(fused.out[4].isNaN && ga[4] == up.scalars[4], "NaN output passes the gradient") }
        // The same tensor as both operands: the shared gradient is accumulated twice.
        let t = Tensor(shape: [n], a.map { $0.isNaN ? 1 : $0 }, requiresGrad: true)
        Tensor.addReLU(t, t).backward(up)
        let expected = (0..<n).map { i -> Float in 2 * t.scalars[i] > 0 ? 2 * up.scalars[i] : 0 }
        expectSameBits(t.grad?.scalars ?? [], expected, "addReLU(t, t) gradient")
    }
}
