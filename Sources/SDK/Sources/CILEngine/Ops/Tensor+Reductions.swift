// Sums, means and maxima over chosen axes.

extension Tensor {
    /// Sum over `axes` (all axes if nil). `keepDims` keeps them with size 1.
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = Set((axes ?? Array(0..<rank)).map { ShapeMath.axis($0, rank: rank, op: "sum") })
        let kept = shape.enumerated().map { ax.contains($0.offset) ? 1 : $0.element }
        let outShape = keepDims ? kept : shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element)
        let out = Tensor.zeros(kept)
        // Accumulate in double: sums feed statistics and losses.
        var acc = [Double](repeating: 0, count: out.count)
        let p = storage.pointer
        let st = ShapeMath.broadcastStrides(kept, to: shape)
        acc.withUnsafeMutableBufferPointer { a in
            forEachBroadcastOffset(shape, st, st) { i, o, _ in a[o] += Double(p[i]) }
        }
        for i in 0..<acc.count { out.storage.pointer[i] = Float(acc[i]) }
        let inShape = shape
        return Tensor.result("sum", shape: outShape, storage: out.storage, inputs: [self]) { g in
            [g.reshapedRaw(kept).broadcastNoGrad(to: inShape)]
        }
    }

    /// Mean over `axes` (all axes if nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = (axes ?? Array(0..<rank)).map { ShapeMath.axis($0, rank: rank, op: "mean") }
        let n = Set(ax).reduce(1) { $0 * shape[$1] }
        return sum(axes: ax, keepDims: keepDims).scaled(by: 1 / Float(n))
    }

    /// Maximum along `axis`; the gradient goes to the first maximal entry.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor {
        let ax = ShapeMath.axis(axis, rank: rank, op: "max")
        let (outer, dim, inner) = ShapeMath.split(shape, axis: ax)
        precondition(dim > 0, "max: empty axis \(ax) in \(shape)")
        var kept = shape
        kept[ax] = 1
        let outShape = keepDims ? kept : shape.enumerated().filter { $0.offset != ax }.map(\.element)
        let storage = TensorStorage(uninitializedCount: outer * inner)
        var arg = [Int](repeating: 0, count: outer * inner)
        let p = self.storage.pointer
        for o in 0..<outer {
            for i in 0..<inner {
                var best = 0
                var v = p[o * dim * inner + i]
                for d in 1..<dim where p[(o * dim + d) * inner + i] > v {
                    v = p[(o * dim + d) * inner + i]
                    best = d
                }
                storage.pointer[o * inner + i] = v
                arg[o * inner + i] = best
            }
        }
        let inShape = shape
        return Tensor.result("max", shape: outShape, storage: storage, inputs: [self]) { g in
            let gi = Tensor.zeros(inShape)
            for o in 0..<outer {
                for i in 0..<inner {
                    gi.storage.pointer[(o * dim + arg[o * inner + i]) * inner + i] = g.storage.pointer[o * inner + i]
                }
            }
            return [gi]
        }
    }
}
