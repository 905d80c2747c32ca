import CKernels
import Foundation

// Element-wise ops: binary ops broadcast like NumPy; unary ops keep the shape.
// Every gradient reduces back to its input's shape (sums over broadcast axes).

extension Tensor {
    /// Sums `self` (of a broadcast shape) down to `target` shape. No graph.
    func sumToShape(_ target: [Int]) -> Tensor {
        if target == shape { return self }
        if Tensor.elementCount(target) == 1 {
            // A sum of everything (a scalar operand's gradient): one vectorised pass.
            return Tensor(shape: target, [Float(Tensor.sumAll(self))])
        }
        let out = Tensor.zeros(target)
        let o = out.storage.pointer, g = storage.pointer
        let st = ShapeMath.broadcastStrides(target, to: shape)
        let zeros = [Int](repeating: 0, count: shape.count)
        forEachBroadcastOffset(shape, st, zeros) { i, offT, _ in o[offT] += g[i] }
        return out
    }

    /// The four arithmetic ops; each has its own tight loops (no per-element calls).
    fileprivate enum Arithmetic {
        case add, sub, mul, div

        @inline(__always)
        func apply(_ a: Float, _ b: Float) -> Float {
            switch self {
            case .add: return a + b
            case .sub: return a - b
            case .mul: return a * b
            case .div: return a / b
            }
        }

        /// o[i] = a[i ⋅ sa] op b[i ⋅ sb] for i in 0..<n (strides 0 or 1).
        func run(_ o: UnsafeMutablePointer<Float>, _ a: UnsafeMutablePointer<Float>, _ sa: Int,
                 _ b: UnsafeMutablePointer<Float>, _ sb: Int, count n: Int) {
            let box = UncheckedBox((o, a, b))
            Parallel.forChunks(n, grain: 1 << 14) { r in
                let (o, a, b) = box.value
                switch (self, sa, sb) {
                case (.add, 1, 1): for i in r { o[i] = a[i] + b[i] }
                case (.sub, 1, 1): for i in r { o[i] = a[i] - b[i] }
                case (.mul, 1, 1): for i in r { o[i] = a[i] * b[i] }
                case (.div, 1, 1): for i in r { o[i] = a[i] / b[i] }
                case (.add, 1, 0): let s = b[0]; for i in r { o[i] = a[i] + s }
                case (.mul, 1, 0): let s = b[0]; for i in r { o[i] = a[i] * s }
                default: for i in r { o[i] = apply(a[i * sa], b[i * sb]) }
                }
            }
        }
    }

    /// The shared engine of the four broadcasting binary ops.
    @inline(__always)
    fileprivate static func binary(_ name: String, _ a: Tensor, _ b: Tensor, _ op: Arithmetic,
                                   grads: @escaping (_ g: Tensor, _ a: Tensor, _ b: Tensor, _ out: Tensor) -> (Tensor?, Tensor?)) -> Tensor {
        guard let outShape = ShapeMath.broadcast(a.shape, b.shape) else {
            preconditionFailure("\(name): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let storage = TensorStorage(uninitializedCount: Tensor.elementCount(outShape))
        let o = storage.pointer, pa = a.storage.pointer, pb = b.storage.pointer
        if a.shape == b.shape {
            op.run(o, pa, 1, pb, 1, count: storage.count)
        } else if b.count == 1 {
            op.run(o, pa, 1, pb, 0, count: storage.count)
        } else if a.count == 1 {
            op.run(o, pa, 0, pb, 1, count: storage.count)
        } else {
            let sa = ShapeMath.broadcastStrides(a.shape, to: outShape)
            let sb = ShapeMath.broadcastStrides(b.shape, to: outShape)
            forEachBroadcastOffset(outShape, sa, sb) { i, ia, ib in o[i] = op.apply(pa[ia], pb[ib]) }
        }
        // The backward closure sees the result through a separate handle on the same
        // storage: capturing the result itself would make a reference cycle.
        let values = Tensor(shape: outShape, storage: storage)
        return Tensor.result(name, shape: outShape, storage: storage, inputs: [a, b]) { g in
            let (ga, gb) = grads(g, a, b, values)
            return [a.requiresGrad ? ga?.sumToShape(a.shape) : nil,
                    b.requiresGrad ? gb?.sumToShape(b.shape) : nil]
        }
    }

    /// Element-wise map of `self` (and an optional broadcast partner) with no graph.
    @inline(__always)
    fileprivate func mapped(_ f: (Float) -> Float) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let o = out.storage.pointer, p = storage.pointer
        withoutActuallyEscaping(f) { f in
            let box = UncheckedBox(f)
            Parallel.forChunks(count, grain: 1 << 14) { r in
                for i in r { o[i] = box.value(p[i]) }
            }
        }
        return out
    }

    /// Element-wise combination of two equal-count tensors with no graph.
    @inline(__always)
    fileprivate func zipped(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        precondition(other.count == count)
        let out = Tensor(uninitializedShape: shape)
        let o = out.storage.pointer, p = storage.pointer, q = other.storage.pointer
        withoutActuallyEscaping(f) { f in
            let box = UncheckedBox(f)
            Parallel.forChunks(count, grain: 1 << 14) { r in
                for i in r { o[i] = box.value(p[i], q[i]) }
            }
        }
        return out
    }

    /// A unary op y = f(x) whose derivative is `dydx(x, y)`.
    @inline(__always)
    fileprivate func unary(_ name: String, _ f: @escaping (Float) -> Float,
                           derivative: @escaping (_ x: Float, _ y: Float) -> Float) -> Tensor {
        let y = mapped(f)
        let x = self
        return Tensor.result(name, shape: shape, storage: y.storage, inputs: [x]) { g in
            let xy = x.zipped(y) { a, b in derivative(a, b) }
            return [g.zipped(xy, *)]
        }
    }
}

// MARK: - Binary operators

/// a + b, broadcasting.
public func + (a: Tensor, b: Tensor) -> Tensor {
    Tensor.binary("add", a, b, .add) { g, _, _, _ in (g, g) }
}

/// a - b, broadcasting.
public func - (a: Tensor, b: Tensor) -> Tensor {
    Tensor.binary("sub", a, b, .sub) { g, _, _, _ in (g, g.scaledRaw(-1)) }
}

/// a * b element-wise, broadcasting.
public func * (a: Tensor, b: Tensor) -> Tensor {
    Tensor.binary("mul", a, b, .mul) { g, a, b, _ in
        (a.requiresGrad ? Tensor.productGradient(g, partner: b, of: a) : nil,
         b.requiresGrad ? Tensor.productGradient(g, partner: a, of: b) : nil)
    }
}

extension Tensor {
    /// The gradient of one factor x of x · partner (broadcasting) before its reduction
    /// to x's shape: g · partner. Two shortcuts for a scalar factor on a full-size
    /// tensor (α · B(x) in MANets' aggregation): a scalar partner scales g (no
    /// broadcast copy); a scalar x gets Σ g · partner directly (one pass, no product
    /// tensor).
    fileprivate static func productGradient(_ g: Tensor, partner: Tensor, of x: Tensor) -> Tensor {
        if partner.count == 1 { return g.scaledRaw(partner.storage.pointer[0]) }
        if x.count == 1, partner.shape == g.shape {
            return Tensor(shape: x.shape, [Float(Tensor.dot(g, partner))])
        }
        return g * partner.broadcastNoGrad(to: g.shape)
    }

    /// Σ a[i]·b[i] over two equal-count tensors.
    static func dot(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.count == b.count)
        let pa = a.storage.pointer, pb = b.storage.pointer
        return withExtendedLifetime((a, b)) { chunkedSum(a.count) { cil_dot(pa + $0, pb + $0, $1) } }
    }

    /// Σ t[i].
    static func sumAll(_ t: Tensor) -> Double {
        let p = t.storage.pointer
        return withExtendedLifetime(t) { chunkedSum(t.count) { cil_sum(p + $0, $1) } }
    }

    /// Σ over chunks of `count` elements of `partial(start, length)` (a float kernel of
    /// 16-lane partial sums), the chunks run in parallel and added in Double in chunk
    /// order: the same result for any thread count.
    private static func chunkedSum(_ count: Int, _ partial: (Int, Int) -> Float) -> Double {
        let grain = 1 << 15, chunks = (count + grain - 1) / grain
        var sums = [Double](repeating: 0, count: chunks)
        sums.withUnsafeMutableBufferPointer { out in
            let box = UncheckedBox(out.baseAddress!)
            Parallel.forEach(chunks) { k in
                let lo = k * grain
                box.value[k] = Double(partial(lo, min(grain, count - lo)))
            }
        }
        return sums.reduce(0, +)
    }
}

/// a / b element-wise, broadcasting.
public func / (a: Tensor, b: Tensor) -> Tensor {
    Tensor.binary("div", a, b, .div) { g, a, b, out in
        let bb = b.broadcastNoGrad(to: g.shape)
        return (a.requiresGrad ? g / bb : nil,
                b.requiresGrad ? (g * out / bb).scaledRaw(-1) : nil)
    }
}

public func + (a: Tensor, s: Float) -> Tensor { a + Tensor(scalar: s) }
public func + (s: Float, a: Tensor) -> Tensor { Tensor(scalar: s) + a }
public func - (a: Tensor, s: Float) -> Tensor { a + Tensor(scalar: -s) }
public func - (s: Float, a: Tensor) -> Tensor { Tensor(scalar: s) - a }
public func * (a: Tensor, s: Float) -> Tensor { a.scaled(by: s) }
public func * (s: Float, a: Tensor) -> Tensor { a.scaled(by: s) }
public func / (a: Tensor, s: Float) -> Tensor { a.scaled(by: 1 / s) }
public func / (s: Float, a: Tensor) -> Tensor { Tensor(scalar: s) / a }
public prefix func - (a: Tensor) -> Tensor { a.scaled(by: -1) }

extension Tensor {
    /// A copy of `self` broadcast to `target` (no graph); self if already that shape.
    func broadcastNoGrad(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let out = Tensor(uninitializedShape: target)
        let o = out.storage.pointer, p = storage.pointer
        let s = ShapeMath.broadcastStrides(shape, to: target)
        forEachBroadcastOffset(target, s, s) { i, j, _ in o[i] = p[j] }
        return out
    }

    /// self * s with no graph.
    fileprivate func scaledRaw(_ s: Float) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        // The factor lives in a local for the whole call: a temporary Tensor(scalar:)
        // could be released (its buffer back in the pool and reused by another
        // thread) before the loop reads it.
        var factor = s
        withUnsafeMutablePointer(to: &factor) { f in
            Arithmetic.mul.run(out.storage.pointer, storage.pointer, 1, f, 0, count: count)
        }
        return out
    }

    /// self * s for a constant s.
    public func scaled(by s: Float) -> Tensor {
        let y = scaledRaw(s)
        return Tensor.result("scale", shape: shape, storage: y.storage, inputs: [self]) { g in
            [g.scaledRaw(s)]
        }
    }

    /// Multiplies channel c of an NCHW (or NC) tensor by `scale[c]`; `scale` has C
    /// elements (any shape). Gradients flow to both.
    public func channelScaled(by scale: Tensor) -> Tensor {
        precondition(rank >= 2 && scale.count == shape[1],
                     "channelScaled: \(scale.count) scales for shape \(shape)")
        var bshape = [Int](repeating: 1, count: rank)
        bshape[1] = shape[1]
        return self * scale.reshaped(bshape)
    }

    // MARK: Unary ops

    /// max(x, 0). The gradient at 0 is 0.
    public func relu() -> Tensor {
        let x = self
        let y = TensorStorage(uninitializedCount: count)
        let box = UncheckedBox((y.pointer, storage.pointer))
        Parallel.forChunks(count, grain: 1 << 14) { r in
            let (o, p) = box.value
            cil_relu_forward(p + r.lowerBound, o + r.lowerBound, r.count)
        }
        // The backward pass reads the output (positive exactly where x is) through
        // its own handle: capturing the result itself would make a reference cycle.
        let output = Tensor(shape: shape, storage: y)
        return Tensor.result("relu", shape: shape, storage: y, inputs: [x]) { g in
            let gx = Tensor(uninitializedShape: x.shape)
            let box = UncheckedBox((gx.storage.pointer, g.storage.pointer, output.storage.pointer))
            Parallel.forChunks(x.count, grain: 1 << 14) { r in
                let (o, gp, yp) = box.value
                cil_relu_backward(yp + r.lowerBound, gp + r.lowerBound, o + r.lowerBound, r.count)
            }
            return [gx]
        }
    }

    /// relu(a + b) for two tensors of the same shape (no broadcasting), in one pass: the
    /// residual addition and ReLU of a ResNet block. Forward: y = max(a + b, 0), NaN
    /// stays NaN. Backward: one masked gradient g' (0 where y <= 0, as PyTorch's
    /// threshold_backward, so a tie at a + b == 0 gets 0; a NaN output passes g) is
    /// written once and is the gradient of both inputs. Values and gradients equal
    /// those of `(a + b).relu()`.
    public static func addReLU(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "addReLU: shapes \(a.shape) and \(b.shape) differ")
        let y = TensorStorage(uninitializedCount: a.count)
        let box = UncheckedBox((y.pointer, a.storage.pointer, b.storage.pointer))
        Parallel.forChunks(a.count, grain: 1 << 14) { r in
            let (o, pa, pb) = box.value
            cil_add_relu_forward(pa + r.lowerBound, pb + r.lowerBound, o + r.lowerBound, r.count)
        }
        // The backward pass reads the output through its own handle (capturing the
        // result itself would make a reference cycle).
        let output = Tensor(shape: a.shape, storage: y)
        return Tensor.result("addReLU", shape: a.shape, storage: y, inputs: [a, b]) { g in
            let gx = Tensor(uninitializedShape: a.shape)
            let box = UncheckedBox((gx.storage.pointer, g.storage.pointer, output.storage.pointer))
            Parallel.forChunks(gx.count, grain: 1 << 14) { r in
                let (o, gp, yp) = box.value
                cil_relu_backward(yp + r.lowerBound, gp + r.lowerBound, o + r.lowerBound, r.count)
            }
            return [gx, gx]
        }
    }

    /// e^x.
    public func exp() -> Tensor { unary("exp", { Foundation.exp($0) }, derivative: { _, y in y }) }

    /// Natural logarithm.
    public func log() -> Tensor { unary("log", { Foundation.log($0) }, derivative: { x, _ in 1 / x }) }

    /// Square root (gradient 1/(2 sqrt x); infinite at 0).
    public func sqrt() -> Tensor { unary("sqrt", { $0.squareRoot() }, derivative: { _, y in 0.5 / y }) }

    /// x².
    public func square() -> Tensor { unary("square", { $0 * $0 }, derivative: { x, _ in 2 * x }) }

    /// |x| (gradient sign(x), 0 at 0).
    public func abs() -> Tensor { unary("abs", { Swift.abs($0) }, derivative: { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) }) }

    /// Clamps to [min, max] (either may be nil). As in PyTorch, the gradient passes
    /// where min <= x <= max and is 0 outside.
    public func clamped(min lo: Float? = nil, max hi: Float? = nil) -> Tensor {
        let l = lo ?? -.infinity, h = hi ?? .infinity
        return unary("clamp", { Swift.min(Swift.max($0, l), h) },
                     derivative: { x, _ in x >= l && x <= h ? 1 : 0 })
    }
}
