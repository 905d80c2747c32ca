// Shared test support for the op tests: seeded random inputs, tolerant comparison,
// central finite differences in Double, naive Double reference implementations of
// every op, and a checker that runs an op forward and backward against them.
//
// The method: each op's reference is a direct loop over the definition, written in
// Double. The engine's Float forward is compared with the reference evaluated at the
// same (Float-exact) inputs; its analytic Float gradient of
// loss = Σ upstream · output (upstream random, not ones) is compared with central
// differences (f(x+ε) − f(x−ε)) / 2ε of the Double reference's loss.

import CILSDK
import Foundation
import Testing

// MARK: - Tolerances

/// |actual − expected| <= abs + rel · |expected| (NaN never passes).
struct OpTolerance: Sendable, CustomStringConvertible {
    var abs: Double
    var rel: Double

    /// Engine Float forward vs Double reference.
    static let forward = OpTolerance(abs: 1e-4, rel: 1e-4)
    /// Engine Float analytic gradient vs Double central differences.
    static let gradient = OpTolerance(abs: 1e-3, rel: 1e-3)
    /// Values that must agree exactly up to Float rounding of a few operations.
    static let tight = OpTolerance(abs: 1e-6, rel: 1e-6)

    func allows(_ actual: Double, _ expected: Double) -> Bool {
        Swift.abs(actual - expected) <= abs + rel * Swift.abs(expected)
    }

    var description: String { "|a-e| <= \(abs) + \(rel)*|e|" }
}

/// Step of the central differences (in Double, on the Double reference).
let finiteDifferenceStep = 1e-4

/// Expects `actual` (engine, Float) to match `expected` (reference, Double) element-wise
/// within `tolerance`; records ONE issue naming the count and the worst element.
func expectAllClose(_ actual: [Float], _ expected: [Double], _ tolerance: OpTolerance, _ what: @autoclosure () -> String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard actual.count == expected.count else {
        Issue.record("\(what()): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    var bad = 0, worst = -1
    var worstExcess = -Double.infinity
    for i in actual.indices {
        let a = Double(actual[i]), e = expected[i]
        if !tolerance.allows(a, e) {
            bad += 1
            let excess = Swift.abs(a - e) - tolerance.abs - tolerance.rel * Swift.abs(e)
            if worst < 0 || !(excess <= worstExcess) { worst = i; worstExcess = excess }
        }
    }
    if bad > 0 {
        Issue.record("""
            \(what()): \(bad) of \(actual.count) values outside \(tolerance); worst at flat index \(worst): \
            got \(actual[worst]), expected \(expected[worst])
            """, sourceLocation: sourceLocation)
    }
}

func expectAllClose(_ actual: [Float], _ expected: [Float], _ tolerance: OpTolerance, _ what: @autoclosure () -> String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    expectAllClose(actual, expected.map(Double.init), tolerance, what(), sourceLocation: sourceLocation)
}

// MARK: - Random inputs

extension RandomGenerator {
    /// `n` samples of N(mean, std²).
    mutating func normals(_ n: Int, mean: Float = 0, std: Float = 1) -> [Float] {
        (0..<n).map { _ in mean + std * nextNormal() }
    }

    /// `n` samples uniform in `range`.
    mutating func uniforms(_ n: Int, in range: ClosedRange<Float>) -> [Float] {
        (0..<n).map { _ in range.lowerBound + (range.upperBound - range.lowerBound) * nextUnitFloat() }
    }

    /// `n` samples of N(0, std²), each at least `margin` away from every point of
    /// `kinks` (so finite differences never straddle a kink of relu/abs/clamp).
    mutating func normals(_ n: Int, std: Float = 1, awayFrom kinks: [Float], margin: Float = 0.02) -> [Float] {
        (0..<n).map { _ in
            while true {
                let v = std * nextNormal()
                if kinks.allSatisfy({ Swift.abs(v - $0) >= margin }) { return v }
            }
        }
    }

    /// `n` pairwise distinct values, at least `gap` apart, centred on `center`, in a
    /// random order (no ties for max / max-pool, and no argmax switch under ±ε).
    mutating func distinct(_ n: Int, gap: Float = 0.02, center: Float = 0) -> [Float] {
        var v = (0..<n).map { center + (Float($0) - Float(n - 1) / 2) * gap }
        v.shuffle(using: &self)
        return v
    }

    /// A random sign (±1) per element.
    mutating func signs(_ n: Int) -> [Float] {
        (0..<n).map { _ in nextUnitFloat() < 0.5 ? -1 : 1 }
    }
}

/// A generator seeded from a test-specific tag (FNV-1a of the tag), so that every
/// test and parameterised case has its own fixed, repeatable inputs.
func opRNG(_ tag: String) -> RandomGenerator {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in tag.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    return RandomGenerator(seed: h)
}

// MARK: - Finite differences

/// ∂f/∂inputs[k] by central differences, element by element.
func centralDifference(_ inputs: [[Double]], wrt k: Int, step eps: Double = finiteDifferenceStep,
                       _ f: ([[Double]]) -> Double) -> [Double] {
    var xs = inputs
    var g = [Double](repeating: 0, count: inputs[k].count)
    for j in g.indices {
        let x0 = xs[k][j]
        xs[k][j] = x0 + eps
        let fp = f(xs)
        xs[k][j] = x0 - eps
        let fm = f(xs)
        xs[k][j] = x0
        g[j] = (fp - fm) / (2 * eps)
    }
    return g
}

func upstreamDot(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    var s = 0.0
    for i in a.indices { s += Double(a[i]) * b[i] }
    return s
}

// MARK: - The op checker

/// One input of an op under test.
struct OpInput {
    var shape: [Int]
    var values: [Float]
    var requiresGrad: Bool

    init(_ shape: [Int], _ values: [Float], requiresGrad: Bool = true) {
        precondition(NaiveRef.count(shape) == values.count, "OpInput: \(values.count) values for \(shape)")
        self.shape = shape
        self.values = values
        self.requiresGrad = requiresGrad
    }
}

/// How the random upstream gradient enters the backward pass.
enum UpstreamStyle {
    /// `out.backward(upstream)`.
    case backwardArgument
    /// `(out * upstreamTensor).sum().backward()` (also exercises mul and sum).
    case sumOfProduct
}

/// Runs `engine` on fresh tensors made from `inputs`, compares the output (shape and
/// values) with `reference`, then backpropagates a random upstream gradient and
/// compares every input's gradient with central differences of
/// Σ upstream · reference. Inputs with `requiresGrad == false` must get no gradient.
/// Returns the engine's input tensors and output for further checks.
@discardableResult
func checkOp(_ label: String, _ inputs: [OpInput], rng: inout RandomGenerator,
             upstream style: UpstreamStyle = .backwardArgument,
             forwardTolerance: OpTolerance = .forward, gradientTolerance: OpTolerance = .gradient,
             step: Double = finiteDifferenceStep,
             engine: ([Tensor]) -> Tensor, reference: ([[Double]]) -> NaiveRef.Out,
             sourceLocation: SourceLocation = #_sourceLocation) -> (inputs: [Tensor], output: Tensor) {
    let tensors = inputs.map { Tensor(shape: $0.shape, $0.values, requiresGrad: $0.requiresGrad) }
    let doubles = inputs.map { $0.values.map(Double.init) }
    let out = engine(tensors)
    let ref = reference(doubles)
    #expect(out.shape == ref.shape, "\(label): output shape \(out.shape), expected \(ref.shape)",
            sourceLocation: sourceLocation)
    expectAllClose(out.scalars, ref.values, forwardTolerance, "\(label) forward", sourceLocation: sourceLocation)
    guard out.shape == ref.shape else { return (tensors, out) }

    let anyGrad = inputs.contains { $0.requiresGrad }
    #expect(out.requiresGrad == anyGrad, "\(label): output requiresGrad \(out.requiresGrad)",
            sourceLocation: sourceLocation)
    guard anyGrad else { return (tensors, out) }

    let up = rng.normals(out.count)
    let upTensor = Tensor(shape: out.shape, up)
    switch style {
    case .backwardArgument: out.backward(upTensor)
    case .sumOfProduct: (out * upTensor).sum().backward()
    }
    for (k, input) in inputs.enumerated() {
        let t = tensors[k]
        if input.requiresGrad {
            guard let grad = t.grad else {
                Issue.record("\(label): input \(k) \(input.shape) got no gradient", sourceLocation: sourceLocation)
                continue
            }
            #expect(grad.shape == input.shape, "\(label): gradient of input \(k) has shape \(grad.shape), expected \(input.shape)",
                    sourceLocation: sourceLocation)
            let numeric = centralDifference(doubles, wrt: k, step: step) { upstreamDot(up, reference($0).values) }
            expectAllClose(grad.scalars, numeric, gradientTolerance, "\(label) d/d(input \(k) \(input.shape))",
                        sourceLocation: sourceLocation)
        } else {
            #expect(t.grad == nil, "\(label): frozen input \(k) received a gradient", sourceLocation: sourceLocation)
        }
    }
    return (tensors, out)
}

/// Forward only, with no input requiring a gradient: output shape and values against
/// the reference, and no graph recorded.
@discardableResult
func checkOpForward(_ label: String, _ inputs: [OpInput], tolerance: OpTolerance = .forward,
                  engine: ([Tensor]) -> Tensor, reference: ([[Double]]) -> NaiveRef.Out,
                  sourceLocation: SourceLocation = #_sourceLocation) -> Tensor {
    let tensors = inputs.map { Tensor(shape: $0.shape, $0.values) }
    let out = engine(tensors)
    let ref = reference(inputs.map { $0.values.map(Double.init) })
    #expect(out.shape == ref.shape, "\(label): output shape \(out.shape), expected \(ref.shape)",
            sourceLocation: sourceLocation)
    expectAllClose(out.scalars, ref.values, tolerance, "\(label) forward", sourceLocation: sourceLocation)
    #expect(!out.requiresGrad && out.gradFn == nil, "\(label): graph recorded without any input requiring a gradient",
            sourceLocation: sourceLocation)
    return out
}

// MARK: - Naive Double references

/// Direct implementations of every op over flat row-major Double arrays.
enum NaiveRef {
    struct Out {
        var shape: [Int]
        var values: [Double]
    }

    static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Multi-index of flat position `i` in `shape` (row-major).
    static func unravel(_ i: Int, _ shape: [Int]) -> [Int] {
        var idx = [Int](repeating: 0, count: shape.count)
        var r = i
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            idx[d] = r % shape[d]
            r /= shape[d]
        }
        return idx
    }

    /// Flat position of a multi-index in `shape` (row-major).
    static func offset(_ idx: [Int], _ shape: [Int]) -> Int {
        var o = 0
        for d in shape.indices { o = o * shape[d] + idx[d] }
        return o
    }

    static func normAxis(_ axis: Int, _ rank: Int) -> Int { axis < 0 ? axis + rank : axis }

    // Element-wise.

    static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
        let n = Swift.max(a.count, b.count)
        let pa = [Int](repeating: 1, count: n - a.count) + a
        let pb = [Int](repeating: 1, count: n - b.count) + b
        return (0..<n).map { d in
            precondition(pa[d] == pb[d] || pa[d] == 1 || pb[d] == 1, "NaiveRef: \(a) and \(b) do not broadcast")
            return Swift.max(pa[d], pb[d])
        }
    }

    /// The element of an operand of `shape` read at output multi-index `idx`.
    static func broadcastOffset(_ idx: [Int], into shape: [Int]) -> Int {
        let lead = idx.count - shape.count
        var o = 0
        for d in shape.indices { o = o * shape[d] + (shape[d] == 1 ? 0 : idx[lead + d]) }
        return o
    }

    static func binary(_ a: [Double], _ aShape: [Int], _ b: [Double], _ bShape: [Int],
                       _ f: (Double, Double) -> Double) -> Out {
        let shape = broadcastShape(aShape, bShape)
        let values = (0..<count(shape)).map { i -> Double in
            let idx = unravel(i, shape)
            return f(a[broadcastOffset(idx, into: aShape)], b[broadcastOffset(idx, into: bShape)])
        }
        return Out(shape: shape, values: values)
    }

    static func unary(_ x: [Double], _ shape: [Int], _ f: (Double) -> Double) -> Out {
        Out(shape: shape, values: x.map(f))
    }

    // Reductions.

    static func sum(_ x: [Double], _ shape: [Int], axes: [Int]?, keepDims: Bool) -> Out {
        let ax = Set((axes ?? Array(shape.indices)).map { normAxis($0, shape.count) })
        let kept = shape.enumerated().map { ax.contains($0.offset) ? 1 : $0.element }
        var v = [Double](repeating: 0, count: count(kept))
        for i in x.indices {
            var idx = unravel(i, shape)
            for a in ax { idx[a] = 0 }
            v[offset(idx, kept)] += x[i]
        }
        let outShape = keepDims ? kept : shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element)
        return Out(shape: outShape, values: v)
    }

    static func mean(_ x: [Double], _ shape: [Int], axes: [Int]?, keepDims: Bool) -> Out {
        let ax = Set((axes ?? Array(shape.indices)).map { normAxis($0, shape.count) })
        let n = ax.reduce(1) { $0 * shape[$1] }
        var s = sum(x, shape, axes: axes, keepDims: keepDims)
        s.values = s.values.map { $0 / Double(n) }
        return s
    }

    /// The flat offsets of every line of `shape` along `axis` (one array per line).
    static func lines(_ shape: [Int], axis: Int) -> [[Int]] {
        let ax = normAxis(axis, shape.count)
        var result: [[Int]] = []
        for i in 0..<count(shape) {
            let idx = unravel(i, shape)
            if idx[ax] != 0 { continue }
            result.append((0..<shape[ax]).map { d in
                var j = idx
                j[ax] = d
                return offset(j, shape)
            })
        }
        return result
    }

    /// Max along `axis`, with the first maximal position of each line (flat offset).
    static func max(_ x: [Double], _ shape: [Int], axis: Int, keepDims: Bool) -> (out: Out, argmax: [Int]) {
        let ax = normAxis(axis, shape.count)
        var kept = shape
        kept[ax] = 1
        var values = [Double](repeating: 0, count: count(kept))
        var arg = [Int](repeating: 0, count: count(kept))
        for line in lines(shape, axis: ax) {
            var best = line[0]
            for o in line where x[o] > x[best] { best = o }
            var idx = unravel(line[0], shape)
            idx[ax] = 0
            let k = offset(idx, kept)
            values[k] = x[best]
            arg[k] = best
        }
        let outShape = keepDims ? kept : shape.enumerated().filter { $0.offset != ax }.map(\.element)
        return (Out(shape: outShape, values: values), arg)
    }

    // Linear algebra.

    static func matmul(_ a: [Double], _ aShape: [Int], _ b: [Double], _ bShape: [Int],
                       transposeA: Bool = false, transposeB: Bool = false) -> Out {
        let m = transposeA ? aShape[1] : aShape[0], k = transposeA ? aShape[0] : aShape[1]
        let kb = transposeB ? bShape[1] : bShape[0], n = transposeB ? bShape[0] : bShape[1]
        precondition(k == kb)
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transposeA ? a[p * aShape[1] + i] : a[i * aShape[1] + p]
                    let bv = transposeB ? b[j * bShape[1] + p] : b[p * bShape[1] + j]
                    s += av * bv
                }
                c[i * n + j] = s
            }
        }
        return Out(shape: [m, n], values: c)
    }

    /// x [B, in] · Wᵀ (W [out, in]) + bias.
    static func linear(_ x: [Double], _ xShape: [Int], _ w: [Double], _ wShape: [Int], bias: [Double]?) -> Out {
        var y = matmul(x, xShape, w, wShape, transposeB: true)
        if let bias {
            for i in y.values.indices { y.values[i] += bias[i % wShape[0]] }
        }
        return y
    }

    // Softmax family and normalisation.

    static func softmax(_ x: [Double], _ shape: [Int], axis: Int, log: Bool) -> Out {
        var y = x
        for line in lines(shape, axis: axis) {
            let m = line.map { x[$0] }.max()!
            let lse = m + Foundation.log(line.reduce(0.0) { $0 + Foundation.exp(x[$1] - m) })
            for o in line { y[o] = log ? x[o] - lse : Foundation.exp(x[o] - lse) }
        }
        return Out(shape: shape, values: y)
    }

    /// v / max(‖v‖₂, eps) along `axis`.
    static func l2Normalize(_ x: [Double], _ shape: [Int], axis: Int, eps: Double) -> Out {
        var y = x
        for line in lines(shape, axis: axis) {
            let norm = line.reduce(0.0) { $0 + x[$1] * x[$1] }.squareRoot()
            let d = Swift.max(norm, eps)
            for o in line { y[o] = x[o] / d }
        }
        return Out(shape: shape, values: y)
    }

    // Shape ops.

    static func slice(_ x: [Double], _ shape: [Int], axis: Int, _ range: Range<Int>) -> Out {
        let ax = normAxis(axis, shape.count)
        var outShape = shape
        outShape[ax] = range.count
        let values = (0..<count(outShape)).map { i -> Double in
            var idx = unravel(i, outShape)
            idx[ax] += range.lowerBound
            return x[offset(idx, shape)]
        }
        return Out(shape: outShape, values: values)
    }

    /// y[n, c, i, j] = x[n, c, s·i, s·j] for c < C, else 0; sides ⌈H/s⌉ × ⌈W/s⌉.
    static func subsampleZeroPad(_ x: [Double], _ shape: [Int], stride s: Int, channels: Int) -> Out {
        let outShape = [shape[0], channels, (shape[2] + s - 1) / s, (shape[3] + s - 1) / s]
        let values = (0..<count(outShape)).map { i -> Double in
            let idx = unravel(i, outShape)
            return idx[1] < shape[1] ? x[offset([idx[0], idx[1], idx[2] * s, idx[3] * s], shape)] : 0
        }
        return Out(shape: outShape, values: values)
    }

    static func concatenate(_ xs: [[Double]], _ shapes: [[Int]], axis: Int) -> Out {
        let ax = normAxis(axis, shapes[0].count)
        var outShape = shapes[0]
        outShape[ax] = shapes.reduce(0) { $0 + $1[ax] }
        let values = (0..<count(outShape)).map { i -> Double in
            var idx = unravel(i, outShape)
            var k = 0
            while idx[ax] >= shapes[k][ax] { idx[ax] -= shapes[k][ax]; k += 1 }
            return xs[k][offset(idx, shapes[k])]
        }
        return Out(shape: outShape, values: values)
    }

    static func transpose(_ x: [Double], _ shape: [Int]) -> Out {
        let r = shape[0], c = shape[1]
        var y = [Double](repeating: 0, count: r * c)
        for i in 0..<r { for j in 0..<c { y[j * r + i] = x[i * c + j] } }
        return Out(shape: [c, r], values: y)
    }

    static func gather(_ x: [Double], _ shape: [Int], _ indices: [[Int]]) -> Out {
        let c = shape[1], k = indices.first?.count ?? 0
        var y: [Double] = []
        for (b, row) in indices.enumerated() { for j in row { y.append(x[b * c + j]) } }
        return Out(shape: [shape[0], k], values: y)
    }

    static func selectRows(_ x: [Double], _ shape: [Int], _ rows: [Int]) -> Out {
        let width = count(Array(shape.dropFirst()))
        var y: [Double] = []
        for r in rows { y += x[(r * width)..<((r + 1) * width)] }
        return Out(shape: [rows.count] + shape.dropFirst(), values: y)
    }

    // Convolution, normalisation, pooling (NCHW).

    /// Direct 7-loop cross-correlation with symmetric zero padding.
    /// The input and weight gradients of a 3×3 stride-1 padding-1 convolution of x
    /// (shape xs, NCHW) with w (shape ws, OC33) for the output gradient g, in Double.
    static func conv3x3Gradients(_ x: [Double], _ xs: [Int], _ w: [Double], _ ws: [Int],
                                 outputGradient g: [Double]) -> (input: [Double], weight: [Double]) {
        let (N, C, H, W, O) = (xs[0], xs[1], xs[2], xs[3], ws[0])
        precondition(ws[1] == C && ws[2] == 3 && ws[3] == 3 && g.count == N * O * H * W)
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
        for n in 0..<N { for o in 0..<O { for i in 0..<H { for j in 0..<W {
            let gy = g[((n * O + o) * H + i) * W + j]
            for c in 0..<C { for u in 0..<3 { for v in 0..<3 {
                let hh = i + u - 1, ww = j + v - 1
                guard hh >= 0, hh < H, ww >= 0, ww < W else { continue }
                let xi = ((n * C + c) * H + hh) * W + ww, wi = ((o * C + c) * 3 + u) * 3 + v
                dx[xi] += gy * w[wi]
                dw[wi] += gy * x[xi]
            } } }
        } } } }
        return (dx, dw)
    }

    static func conv2d(_ x: [Double], _ xs: [Int], _ w: [Double], _ ws: [Int], stride s: Int, padding p: Int) -> Out {
        let (N, C, H, W) = (xs[0], xs[1], xs[2], xs[3])
        let (O, kH, kW) = (ws[0], ws[2], ws[3])
        precondition(ws[1] == C)
        let oh = (H + 2 * p - kH) / s + 1, ow = (W + 2 * p - kW) / s + 1
        var y = [Double](repeating: 0, count: N * O * oh * ow)
        for n in 0..<N {
            for o in 0..<O {
                for i in 0..<oh {
                    for j in 0..<ow {
                        var acc = 0.0
                        for c in 0..<C {
                            for u in 0..<kH {
                                for v in 0..<kW {
                                    let h = i * s - p + u, ww = j * s - p + v
                                    guard h >= 0, h < H, ww >= 0, ww < W else { continue }
                                    acc += w[((o * C + c) * kH + u) * kW + v] * x[((n * C + c) * H + h) * W + ww]
                                }
                            }
                        }
                        y[((n * O + o) * oh + i) * ow + j] = acc
                    }
                }
            }
        }
        return Out(shape: [N, O, oh, ow], values: y)
    }

    /// Per-channel batch mean and biased variance of x [N, C, ...].
    static func channelStats(_ x: [Double], _ shape: [Int]) -> (mean: [Double], biasedVar: [Double], n: Int) {
        let N = shape[0], C = shape[1], HW = count(Array(shape.dropFirst(2)))
        var mean = [Double](repeating: 0, count: C), variance = [Double](repeating: 0, count: C)
        for c in 0..<C {
            var s = 0.0
            for b in 0..<N { for i in 0..<HW { s += x[(b * C + c) * HW + i] } }
            mean[c] = s / Double(N * HW)
            var ss = 0.0
            for b in 0..<N { for i in 0..<HW { let d = x[(b * C + c) * HW + i] - mean[c]; ss += d * d } }
            variance[c] = ss / Double(N * HW)
        }
        return (mean, variance, N * HW)
    }

    /// y = γ (x − μ) / √(σ² + eps) + β per channel; batch statistics (biased variance)
    /// in training, the given running statistics otherwise.
    static func batchNorm(_ x: [Double], _ shape: [Int], gamma: [Double], beta: [Double],
                          running: (mean: [Double], variance: [Double])?, eps: Double) -> Out {
        let C = shape[1], HW = count(Array(shape.dropFirst(2)))
        let (mean, variance): ([Double], [Double])
        if let running {
            (mean, variance) = running
        } else {
            let st = channelStats(x, shape)
            (mean, variance) = (st.mean, st.biasedVar)
        }
        var y = x
        for i in x.indices {
            let c = (i / HW) % C
            y[i] = gamma[c] * (x[i] - mean[c]) / (variance[c] + eps).squareRoot() + beta[c]
        }
        return Out(shape: shape, values: y)
    }

    /// k×k average pooling, stride s, no padding (floor).
    static func avgPool(_ x: [Double], _ shape: [Int], kernel k: Int, stride s: Int) -> Out {
        let (N, C, H, W) = (shape[0], shape[1], shape[2], shape[3])
        let oh = (H - k) / s + 1, ow = (W - k) / s + 1
        var y = [Double](repeating: 0, count: N * C * oh * ow)
        for nc in 0..<(N * C) {
            for i in 0..<oh {
                for j in 0..<ow {
                    var acc = 0.0
                    for u in 0..<k { for v in 0..<k { acc += x[(nc * H + i * s + u) * W + j * s + v] } }
                    y[(nc * oh + i) * ow + j] = acc / Double(k * k)
                }
            }
        }
        return Out(shape: [N, C, oh, ow], values: y)
    }

    /// k×k max pooling, stride s, padding p (padded positions never win), with the
    /// flat input offset of the first maximal element (row-major window scan).
    static func maxPool(_ x: [Double], _ shape: [Int], kernel k: Int, stride s: Int, padding p: Int)
        -> (out: Out, argmax: [Int]) {
        let (N, C, H, W) = (shape[0], shape[1], shape[2], shape[3])
        let oh = (H + 2 * p - k) / s + 1, ow = (W + 2 * p - k) / s + 1
        var y = [Double](repeating: 0, count: N * C * oh * ow)
        var arg = [Int](repeating: -1, count: y.count)
        for nc in 0..<(N * C) {
            for i in 0..<oh {
                for j in 0..<ow {
                    var best = -1
                    for u in 0..<k {
                        for v in 0..<k {
                            let h = i * s - p + u, w = j * s - p + v
                            guard h >= 0, h < H, w >= 0, w < W else { continue }
                            let o = (nc * H + h) * W + w
                            if best < 0 || x[o] > x[best] { best = o }
                        }
                    }
                    y[(nc * oh + i) * ow + j] = x[best]
                    arg[(nc * oh + i) * ow + j] = best
                }
            }
        }
        return (Out(shape: [N, C, oh, ow], values: y), arg)
    }

    static func globalAvgPool(_ x: [Double], _ shape: [Int]) -> Out {
        let N = shape[0], C = shape[1], HW = shape[2] * shape[3]
        let y = (0..<(N * C)).map { nc in x[(nc * HW)..<((nc + 1) * HW)].reduce(0, +) / Double(HW) }
        return Out(shape: [N, C], values: y)
    }

    // Losses (scalar results, shape []).

    /// Mean over rows of −log softmax(logits)[target].
    static func crossEntropy(_ logits: [Double], _ shape: [Int], targets: [Int]) -> Out {
        let lp = softmax(logits, shape, axis: 1, log: true).values
        let c = shape[1]
        let total = targets.enumerated().reduce(0.0) { $0 - lp[$1.offset * c + $1.element] }
        return Out(shape: [], values: [total / Double(shape[0])])
    }

    /// Σ t·(log t − x) over t > 0, divided by `divisor`.
    static func klDivergence(_ logInput: [Double], _ target: [Double], divisor: Double) -> Out {
        var s = 0.0
        for i in logInput.indices where target[i] > 0 {
            s += target[i] * (Foundation.log(target[i]) - logInput[i])
        }
        return Out(shape: [], values: [s / divisor])
    }

    static func cosineSimilarity(_ a: [Double], _ b: [Double], _ shape: [Int], eps: Double) -> Out {
        let an = l2Normalize(a, shape, axis: 1, eps: eps).values, bn = l2Normalize(b, shape, axis: 1, eps: eps).values
        return sum(zip(an, bn).map { $0 * $1 }, shape, axes: [1], keepDims: false)
    }

    static func cosineEmbeddingLoss(_ a: [Double], _ b: [Double], _ shape: [Int], targets: [Int], margin: Double) -> Out {
        let (B, D) = (shape[0], shape[1])
        var total = 0.0
        for r in 0..<B {
            var ab = 0.0, aa = 0.0, bb = 0.0
            for d in 0..<D {
                let x = a[r * D + d], y = b[r * D + d]
                ab += x * y; aa += x * x; bb += y * y
            }
            let cos = ab / ((aa + 1e-12) * (bb + 1e-12)).squareRoot()
            total += targets[r] == 1 ? 1 - cos : Swift.max(0, cos - margin)
        }
        return Out(shape: [], values: [total / Double(B)])
    }

    static func marginRankingLoss(_ x1: [Double], _ x2: [Double], target: Double, margin: Double) -> Out {
        let terms = zip(x1, x2).map { Swift.max(0, -target * ($0 - $1) + margin) }
        return Out(shape: [], values: [terms.reduce(0, +) / Double(terms.count)])
    }
}

// MARK: - Shared case lists (used by the forward and the gradient tests)

/// One convolution geometry: x [batch, channels, height, width], weight
/// [outChannels, channels, kernelH, kernelW].
struct OpConvCase: Sendable, CustomTestStringConvertible {
    var batch: Int, channels: Int, outChannels: Int, height: Int, width: Int
    var kernelH: Int, kernelW: Int, stride: Int, padding: Int

    var xShape: [Int] { [batch, channels, height, width] }
    var wShape: [Int] { [outChannels, channels, kernelH, kernelW] }
    var testDescription: String {
        "x\(xShape) w\(wShape) stride \(stride) padding \(padding)"
    }

    /// Kernel 1 and 3 × stride 1 and 2 × padding 0 and 1 on odd (and mixed) spatial
    /// sizes, batch 2–3, channels 2–4; then a few irregular geometries.
    static let all: [OpConvCase] = {
        var cases: [OpConvCase] = []
        let sizes = [(5, 7), (7, 5), (5, 5), (6, 7)]
        var i = 0
        for k in [1, 3] {
            for s in [1, 2] {
                for p in [0, 1] {
                    let (h, w) = sizes[i % sizes.count]
                    cases.append(OpConvCase(batch: 2 + i % 2, channels: 2 + i % 3, outChannels: 2 + (i + 1) % 3,
                                          height: h, width: w, kernelH: k, kernelW: k, stride: s, padding: p))
                    i += 1
                }
            }
        }
        // Non-square kernel, stride 2 with padding.
        cases.append(OpConvCase(batch: 2, channels: 3, outChannels: 2, height: 6, width: 5,
                              kernelH: 3, kernelW: 1, stride: 2, padding: 1))
        // Even kernel, stride 2, odd width (last column dropped by the floor).
        cases.append(OpConvCase(batch: 2, channels: 3, outChannels: 4, height: 6, width: 7,
                              kernelH: 2, kernelW: 2, stride: 2, padding: 0))
        // Stride 3 with padding.
        cases.append(OpConvCase(batch: 3, channels: 2, outChannels: 3, height: 7, width: 5,
                              kernelH: 3, kernelW: 3, stride: 3, padding: 1))
        // Kernel wider than the unpadded input (most of each window is padding).
        cases.append(OpConvCase(batch: 2, channels: 2, outChannels: 3, height: 3, width: 1,
                              kernelH: 5, kernelW: 5, stride: 1, padding: 2))
        // Stride 2 on wide rows: im2col's vector gathers of 16 and 8 outputs and their
        // scalar tail (17 = 16 + 1, 8, 24 = 16 + 8 output columns), the last reading the
        // row's final column.
        cases.append(OpConvCase(batch: 1, channels: 2, outChannels: 2, height: 3, width: 33,
                              kernelH: 3, kernelW: 3, stride: 2, padding: 1))
        cases.append(OpConvCase(batch: 1, channels: 2, outChannels: 3, height: 2, width: 16,
                              kernelH: 1, kernelW: 1, stride: 2, padding: 0))
        cases.append(OpConvCase(batch: 1, channels: 2, outChannels: 2, height: 3, width: 49,
                              kernelH: 3, kernelW: 3, stride: 2, padding: 0))
        return cases
    }()
}

/// A max-pool geometry: input [N, C, H, W], kernel, stride, padding.
struct OpMaxPoolCase: Sendable, CustomTestStringConvertible {
    var shape: [Int], kernel: Int, stride: Int, padding: Int
    var testDescription: String { "x\(shape) k\(kernel) s\(stride) p\(padding)" }

    static let all: [OpMaxPoolCase] = [
        OpMaxPoolCase(shape: [2, 3, 5, 7], kernel: 3, stride: 2, padding: 1),
        OpMaxPoolCase(shape: [2, 2, 6, 6], kernel: 3, stride: 2, padding: 1),
        OpMaxPoolCase(shape: [3, 2, 5, 7], kernel: 3, stride: 2, padding: 0),
        OpMaxPoolCase(shape: [2, 3, 7, 6], kernel: 3, stride: 2, padding: 0),
        OpMaxPoolCase(shape: [2, 2, 6, 7], kernel: 2, stride: 2, padding: 0),
        OpMaxPoolCase(shape: [2, 2, 5, 5], kernel: 2, stride: 2, padding: 1),
        OpMaxPoolCase(shape: [2, 2, 5, 5], kernel: 3, stride: 1, padding: 1),
    ]
}

/// An average-pool geometry (no padding); stride nil means stride = kernel.
struct OpAvgPoolCase: Sendable, CustomTestStringConvertible {
    var shape: [Int], kernel: Int, stride: Int?
    var testDescription: String { "x\(shape) k\(kernel) s\(stride.map(String.init) ?? "default")" }

    static let all: [OpAvgPoolCase] = [
        OpAvgPoolCase(shape: [2, 3, 5, 7], kernel: 2, stride: nil),
        OpAvgPoolCase(shape: [2, 2, 7, 7], kernel: 3, stride: 3),
        OpAvgPoolCase(shape: [3, 2, 5, 7], kernel: 3, stride: 1),
        OpAvgPoolCase(shape: [2, 2, 6, 5], kernel: 2, stride: 1),
        OpAvgPoolCase(shape: [2, 3, 7, 5], kernel: 3, stride: 2),
        OpAvgPoolCase(shape: [2, 2, 4, 4], kernel: 4, stride: nil),
    ]
}

/// Operand shapes of a broadcasting binary op.
struct OpBroadcastPair: Sendable, CustomTestStringConvertible {
    var a: [Int], b: [Int]
    var testDescription: String { "\(a) with \(b)" }

    static let all: [OpBroadcastPair] = [
        OpBroadcastPair(a: [2, 3, 4], b: [2, 3, 4]),
        OpBroadcastPair(a: [2, 3, 4], b: [3, 1]),
        OpBroadcastPair(a: [2, 3, 4], b: [1]),
        OpBroadcastPair(a: [2, 3, 4], b: [4]),
        OpBroadcastPair(a: [2, 3, 4], b: []),
        OpBroadcastPair(a: [3, 1], b: [2, 3, 4]),
        OpBroadcastPair(a: [4], b: [2, 3, 4]),
        OpBroadcastPair(a: [1], b: [2, 3, 4]),
        OpBroadcastPair(a: [2, 1, 4], b: [3, 1]),
        OpBroadcastPair(a: [2, 3, 1], b: [1, 3, 4]),
    ]
}

/// The four broadcasting binary operators.
enum OpBinaryCase: String, CaseIterable, Sendable {
    case add, sub, mul, div

    func apply(_ a: Tensor, _ b: Tensor) -> Tensor {
        switch self {
        case .add: a + b
        case .sub: a - b
        case .mul: a * b
        case .div: a / b
        }
    }

    func reference(_ a: Double, _ b: Double) -> Double {
        switch self {
        case .add: a + b
        case .sub: a - b
        case .mul: a * b
        case .div: a / b
        }
    }

    /// Operands: normal; the divisor is ±[0.5, 1.5] (away from 0).
    func operands(_ pair: OpBroadcastPair, rng: inout RandomGenerator) -> ([Float], [Float]) {
        let a = rng.normals(NaiveRef.count(pair.a))
        let nb = NaiveRef.count(pair.b)
        let b = self == .div ? zip(rng.signs(nb), rng.uniforms(nb, in: 0.5...1.5)).map { $0 * $1 } : rng.normals(nb)
        return (a, b)
    }
}

/// Unary ops and the operators that combine a tensor with a Float constant.
enum OpUnaryCase: String, CaseIterable, Sendable {
    case relu, exp, log, sqrt, square, abs
    case clampBoth, clampMin, clampMax
    case scaled, negate, plusScalar, scalarPlus, minusScalar, scalarMinus, timesScalar, scalarTimes, overScalar

    static let lo: Float = -0.5, hi: Float = 0.7, c: Float = 1.7

    func apply(_ x: Tensor) -> Tensor {
        let c = OpUnaryCase.c
        switch self {
        case .relu: return x.relu()
        case .exp: return x.exp()
        case .log: return x.log()
        case .sqrt: return x.sqrt()
        case .square: return x.square()
        case .abs: return x.abs()
        case .clampBoth: return x.clamped(min: OpUnaryCase.lo, max: OpUnaryCase.hi)
        case .clampMin: return x.clamped(min: OpUnaryCase.lo)
        case .clampMax: return x.clamped(max: OpUnaryCase.hi)
        case .scaled: return x.scaled(by: c)
        case .negate: return -x
        case .plusScalar: return x + c
        case .scalarPlus: return c + x
        case .minusScalar: return x - c
        case .scalarMinus: return c - x
        case .timesScalar: return x * c
        case .scalarTimes: return c * x
        case .overScalar: return x / c
        }
    }

    func reference(_ x: Double) -> Double {
        let lo = Double(OpUnaryCase.lo), hi = Double(OpUnaryCase.hi), c = Double(OpUnaryCase.c)
        switch self {
        case .relu: return Swift.max(x, 0)
        case .exp: return Foundation.exp(x)
        case .log: return Foundation.log(x)
        case .sqrt: return x.squareRoot()
        case .square: return x * x
        case .abs: return Swift.abs(x)
        case .clampBoth: return Swift.min(Swift.max(x, lo), hi)
        case .clampMin: return Swift.max(x, lo)
        case .clampMax: return Swift.min(x, hi)
        case .scaled, .timesScalar, .scalarTimes: return x * c
        case .negate: return -x
        case .plusScalar, .scalarPlus: return x + c
        case .minusScalar: return x - c
        case .scalarMinus: return c - x
        case .overScalar: return x / c
        }
    }

    /// Inputs in the op's domain, away from its kinks.
    func inputs(_ n: Int, rng: inout RandomGenerator) -> [Float] {
        switch self {
        case .log, .sqrt: return rng.uniforms(n, in: 0.3...2.5)
        case .relu, .abs: return rng.normals(n, awayFrom: [0])
        case .clampBoth, .clampMin, .clampMax: return rng.normals(n, awayFrom: [OpUnaryCase.lo, OpUnaryCase.hi])
        default: return rng.normals(n)
        }
    }
}

/// Sum / mean / max over axes of a [3, 4, 5] tensor.
enum OpReductionCase: String, CaseIterable, Sendable {
    case sumAll, sumAllKeep, sumAxis1, sumAxes02Keep, sumLastAxis, sumAxis0Keep, sumNoAxes
    case meanAll, meanAxis1Keep, meanAxes02, meanNegativeAxis
    case max0, max1Keep, max2, maxNegative1Keep

    static let shape = [3, 4, 5]

    func apply(_ x: Tensor) -> Tensor {
        switch self {
        case .sumAll: x.sum()
        case .sumAllKeep: x.sum(keepDims: true)
        case .sumAxis1: x.sum(axes: [1])
        case .sumAxes02Keep: x.sum(axes: [0, 2], keepDims: true)
        case .sumLastAxis: x.sum(axes: [-1])
        case .sumAxis0Keep: x.sum(axes: [0], keepDims: true)
        case .sumNoAxes: x.sum(axes: [])
        case .meanAll: x.mean()
        case .meanAxis1Keep: x.mean(axes: [1], keepDims: true)
        case .meanAxes02: x.mean(axes: [0, 2])
        case .meanNegativeAxis: x.mean(axes: [-2])
        case .max0: x.max(axis: 0)
        case .max1Keep: x.max(axis: 1, keepDims: true)
        case .max2: x.max(axis: 2)
        case .maxNegative1Keep: x.max(axis: -1, keepDims: true)
        }
    }

    func reference(_ x: [Double]) -> NaiveRef.Out {
        let s = OpReductionCase.shape
        switch self {
        case .sumAll: return NaiveRef.sum(x, s, axes: nil, keepDims: false)
        case .sumAllKeep: return NaiveRef.sum(x, s, axes: nil, keepDims: true)
        case .sumAxis1: return NaiveRef.sum(x, s, axes: [1], keepDims: false)
        case .sumAxes02Keep: return NaiveRef.sum(x, s, axes: [0, 2], keepDims: true)
        case .sumLastAxis: return NaiveRef.sum(x, s, axes: [2], keepDims: false)
        case .sumAxis0Keep: return NaiveRef.sum(x, s, axes: [0], keepDims: true)
        case .sumNoAxes: return NaiveRef.sum(x, s, axes: [], keepDims: false)
        case .meanAll: return NaiveRef.mean(x, s, axes: nil, keepDims: false)
        case .meanAxis1Keep: return NaiveRef.mean(x, s, axes: [1], keepDims: true)
        case .meanAxes02: return NaiveRef.mean(x, s, axes: [0, 2], keepDims: false)
        case .meanNegativeAxis: return NaiveRef.mean(x, s, axes: [1], keepDims: false)
        case .max0: return NaiveRef.max(x, s, axis: 0, keepDims: false).out
        case .max1Keep: return NaiveRef.max(x, s, axis: 1, keepDims: true).out
        case .max2: return NaiveRef.max(x, s, axis: 2, keepDims: false).out
        case .maxNegative1Keep: return NaiveRef.max(x, s, axis: 2, keepDims: true).out
        }
    }
}
