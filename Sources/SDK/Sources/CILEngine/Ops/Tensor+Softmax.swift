import Foundation

// Softmax and log-softmax along an axis (max-subtracted, so stable).

extension Tensor {
    /// softmax along `axis`: exp(x_i - max) / Σ_j exp(x_j - max).
    public func softmax(axis: Int = -1) -> Tensor {
        let ax = ShapeMath.axis(axis, rank: rank, op: "softmax")
        let (outer, dim, inner) = ShapeMath.split(shape, axis: ax)
        let y = Tensor(uninitializedShape: shape)
        Tensor.softmaxKernel(storage.pointer, y.storage.pointer, outer: outer, dim: dim, inner: inner, log: false)
        return Tensor.result("softmax", shape: shape, storage: y.storage, inputs: [self]) { g in
            // dx = y * (g - Σ_j g_j y_j)
            let gx = Tensor(uninitializedShape: y.shape)
            let gp = g.storage.pointer, yp = y.storage.pointer, o = gx.storage.pointer
            for a in 0..<outer {
                for i in 0..<inner {
                    var dot = 0.0
                    for d in 0..<dim { let j = (a * dim + d) * inner + i; dot += Double(gp[j] * yp[j]) }
                    for d in 0..<dim { let j = (a * dim + d) * inner + i; o[j] = yp[j] * (gp[j] - Float(dot)) }
                }
            }
            return [gx]
        }
    }

    /// log-softmax along `axis`: x_i - max - log Σ_j exp(x_j - max).
    public func logSoftmax(axis: Int = -1) -> Tensor {
        let ax = ShapeMath.axis(axis, rank: rank, op: "logSoftmax")
        let (outer, dim, inner) = ShapeMath.split(shape, axis: ax)
        let y = Tensor(uninitializedShape: shape)
        Tensor.softmaxKernel(storage.pointer, y.storage.pointer, outer: outer, dim: dim, inner: inner, log: true)
        return Tensor.result("logSoftmax", shape: shape, storage: y.storage, inputs: [self]) { g in
            // dx = g - softmax * Σ_j g_j
            let gx = Tensor(uninitializedShape: y.shape)
            let gp = g.storage.pointer, yp = y.storage.pointer, o = gx.storage.pointer
            for a in 0..<outer {
                for i in 0..<inner {
                    var s = 0.0
                    for d in 0..<dim { s += Double(gp[(a * dim + d) * inner + i]) }
                    for d in 0..<dim {
                        let j = (a * dim + d) * inner + i
                        o[j] = gp[j] - Foundation.exp(yp[j]) * Float(s)
                    }
                }
            }
            return [gx]
        }
    }

    static func softmaxKernel(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                              outer: Int, dim: Int, inner: Int, log: Bool) {
        for a in 0..<outer {
            for i in 0..<inner {
                var m = -Float.infinity
                for d in 0..<dim { m = Swift.max(m, x[(a * dim + d) * inner + i]) }
                var s = 0.0
                for d in 0..<dim { s += Double(Foundation.exp(x[(a * dim + d) * inner + i] - m)) }
                let ls = Float(Foundation.log(s))
                for d in 0..<dim {
                    let j = (a * dim + d) * inner + i
                    y[j] = log ? x[j] - m - ls : Foundation.exp(x[j] - m - ls)
                }
            }
        }
    }
}
