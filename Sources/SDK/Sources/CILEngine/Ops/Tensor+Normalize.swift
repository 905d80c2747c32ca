// L2 normalisation along an axis (F.normalize semantics).

extension Tensor {
    /// v / max(‖v‖₂, eps) along `axis` (PyTorch `F.normalize`, eps 1e-12).
    public func l2Normalized(axis: Int = 1, eps: Float = 1e-12) -> Tensor {
        let ax = ShapeMath.axis(axis, rank: rank, op: "l2Normalized")
        let (outer, dim, inner) = ShapeMath.split(shape, axis: ax)
        let y = Tensor(uninitializedShape: shape)
        var norms = [Float](repeating: 0, count: outer * inner)
        let x = storage.pointer, yp = y.storage.pointer
        for a in 0..<outer {
            for i in 0..<inner {
                var s = 0.0
                for d in 0..<dim { let v = Double(x[(a * dim + d) * inner + i]); s += v * v }
                let n = Swift.max(Float(s.squareRoot()), eps)
                norms[a * inner + i] = n
                for d in 0..<dim { let j = (a * dim + d) * inner + i; yp[j] = x[j] / n }
            }
        }
        return Tensor.result("l2Normalize", shape: shape, storage: y.storage, inputs: [self]) { g in
            // Where ‖v‖ > eps: dx = (g - y Σ g·y) / ‖v‖; where clamped: dx = g / eps.
            let gx = Tensor(uninitializedShape: y.shape)
            let gp = g.storage.pointer, o = gx.storage.pointer
            for a in 0..<outer {
                for i in 0..<inner {
                    let n = norms[a * inner + i]
                    var rawNorm = 0.0
                    var dot = 0.0
                    for d in 0..<dim {
                        let j = (a * dim + d) * inner + i
                        rawNorm += Double(x[j]) * Double(x[j])
                        dot += Double(gp[j]) * Double(yp[j])
                    }
                    let clamped = Float(rawNorm.squareRoot()) <= eps
                    for d in 0..<dim {
                        let j = (a * dim + d) * inner + i
                        o[j] = clamped ? gp[j] / n : (gp[j] - yp[j] * Float(dot)) / n
                    }
                }
            }
            return [gx]
        }
    }
}

extension Tensor {
    /// ‖v‖₂ along `axis` (the axis is removed). Where the norm is 0 the gradient is 0
    /// (PyTorch's convention for `norm`), so a distance between equal tensors does not
    /// produce NaN.
    public func l2Norm(axis: Int) -> Tensor {
        let ax = ShapeMath.axis(axis, rank: rank, op: "l2Norm")
        let (outer, dim, inner) = ShapeMath.split(shape, axis: ax)
        var outShape = shape
        outShape.remove(at: ax)
        let storage = TensorStorage(uninitializedCount: outer * inner)
        let x = self.storage.pointer
        for a in 0..<outer {
            for i in 0..<inner {
                var s = 0.0
                for d in 0..<dim { let v = Double(x[(a * dim + d) * inner + i]); s += v * v }
                storage.pointer[a * inner + i] = Float(s.squareRoot())
            }
        }
        let norms = Tensor(shape: outShape, storage: storage)
        let inShape = shape
        return Tensor.result("l2Norm", shape: outShape, storage: storage, inputs: [self]) { g in
            let gx = Tensor(uninitializedShape: inShape)
            let o = gx.storage.pointer, gp = g.storage.pointer, np = norms.storage.pointer
            for a in 0..<outer {
                for i in 0..<inner {
                    let n = np[a * inner + i]
                    let scale = n > 0 ? gp[a * inner + i] / n : 0
                    for d in 0..<dim { let j = (a * dim + d) * inner + i; o[j] = x[j] * scale }
                }
            }
            return [gx]
        }
    }
}
