// Ops that move elements without arithmetic: reshape, concatenation, slicing,
// transposition, gathering, the zero-padded subsampling shortcut.

extension Tensor {
    /// The same elements under `newShape` (one dimension may be -1). Shares memory.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let i = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshaped: cannot infer -1 in \(newShape) for \(shape)")
            target[i] = count / known
        }
        precondition(Tensor.elementCount(target) == count, "reshaped: \(shape) has \(count) elements, \(target) needs \(Tensor.elementCount(target))")
        let inShape = shape
        return Tensor.result("reshape", shape: target, storage: storage, inputs: [self]) { g in
            [g.reshapedRaw(inShape)]
        }
    }

    /// Collapses every dimension after the first: [N, ...] -> [N, rest].
    public func flattened() -> Tensor { reshaped([shape[0], -1]) }

    /// Elements `range` along `axis` (a copy).
    public func sliced(axis: Int = 1, _ range: Range<Int>) -> Tensor {
        let ax = ShapeMath.axis(axis, rank: rank, op: "sliced")
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[ax],
                     "sliced: range \(range) outside 0..<\(shape[ax]) on axis \(ax) of \(shape)")
        let (outer, dim, inner) = ShapeMath.split(shape, axis: ax)
        var outShape = shape
        outShape[ax] = range.count
        let storage = TensorStorage(uninitializedCount: Tensor.elementCount(outShape))
        let src = self.storage.pointer, dst = storage.pointer
        let width = range.count * inner
        for o in 0..<outer {
            (dst + o * width).update(from: src + (o * dim + range.lowerBound) * inner, count: width)
        }
        let inShape = shape
        return Tensor.result("slice", shape: outShape, storage: storage, inputs: [self]) { g in
            let gi = Tensor.zeros(inShape)
            let gp = g.storage.pointer, gip = gi.storage.pointer
            for o in 0..<outer {
                (gip + (o * dim + range.lowerBound) * inner).update(from: gp + o * width, count: width)
            }
            return [gi]
        }
    }

    /// Concatenates tensors along `axis`; all other dimensions must agree.
    public static func concatenate(_ tensors: [Tensor], axis: Int = 1) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate: no tensors")
        let first = tensors[0]
        let ax = ShapeMath.axis(axis, rank: first.rank, op: "concatenate")
        for t in tensors {
            precondition(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == ax || t.shape[$0] == first.shape[$0] },
                         "concatenate: shape \(t.shape) does not match \(first.shape) off axis \(ax)")
        }
        var outShape = first.shape
        outShape[ax] = tensors.reduce(0) { $0 + $1.shape[ax] }
        let (outer, _, inner) = ShapeMath.split(outShape, axis: ax)
        let total = outShape[ax]
        let storage = TensorStorage(uninitializedCount: Tensor.elementCount(outShape))
        var start = 0
        var starts: [Int] = []
        for t in tensors {
            starts.append(start)
            let w = t.shape[ax] * inner
            for o in 0..<outer {
                (storage.pointer + (o * total + start) * inner).update(from: t.storage.pointer + o * w, count: w)
            }
            start += t.shape[ax]
        }
        let sizes = tensors.map { $0.shape[ax] }
        let shapes = tensors.map(\.shape)
        let needs = tensors.map(\.requiresGrad)
        return Tensor.result("concatenate", shape: outShape, storage: storage, inputs: tensors) { g in
            (0..<sizes.count).map { k in
                guard needs[k] else { return nil }
                let gi = Tensor(uninitializedShape: shapes[k])
                let w = sizes[k] * inner
                for o in 0..<outer {
                    (gi.storage.pointer + o * w).update(from: g.storage.pointer + (o * total + starts[k]) * inner, count: w)
                }
                return gi
            }
        }
    }

    /// The parameter-free ("option A") shortcut of a width-increasing residual block
    /// (docs/ALGORITHMS.md §2.5): every `stride`-th row and column from the first,
    /// then zero channels up to `channels`. [N, C, H, W] -> [N, channels, ⌈H/s⌉, ⌈W/s⌉]:
    ///     y[n, c, i, j] = x[n, c, s·i, s·j] for c < C,   0 for C ≤ c < channels
    /// (PyTorch: `cat([x[..., ::s, ::s], zeros], 1)`). The gradient goes back to the
    /// kept positions; the zero channels send none.
    public func subsampledZeroPadded(stride s: Int, channels: Int) -> Tensor {
        precondition(rank == 4, "subsampledZeroPadded: needs NCHW input, got \(shape)")
        precondition(s >= 1 && channels >= shape[1],
                     "subsampledZeroPadded: stride \(s) must be >= 1 and \(channels) channels at least the input's \(shape[1])")
        let N = shape[0], C = shape[1], H = shape[2], W = shape[3]
        let oh = (H + s - 1) / s, ow = (W + s - 1) / s
        let outShape = [N, channels, oh, ow]
        let y = TensorStorage(count: Tensor.elementCount(outShape), repeating: 0)
        let x = storage.pointer, yp = y.pointer
        Parallel.forEach(N * C, grain: 8) { nc in
            let (n, c) = nc.quotientAndRemainder(dividingBy: C)
            let src = x + nc * H * W, dst = yp + (n * channels + c) * oh * ow
            for i in 0..<oh {
                for j in 0..<ow { dst[i * ow + j] = src[i * s * W + j * s] }
            }
        }
        let inShape = shape
        return Tensor.result("subsampledZeroPadded", shape: outShape, storage: y, inputs: [self]) { grad in
            let gx = Tensor.zeros(inShape)
            let gp = grad.storage.pointer, o = gx.storage.pointer
            Parallel.forEach(N * C, grain: 8) { nc in
                let (n, c) = nc.quotientAndRemainder(dividingBy: C)
                let src = gp + (n * channels + c) * oh * ow, dst = o + nc * H * W
                for i in 0..<oh {
                    for j in 0..<ow { dst[i * s * W + j * s] = src[i * ow + j] }
                }
            }
            return [gx]
        }
    }

    /// The transpose of a 2-D tensor.
    public func transposed() -> Tensor {
        precondition(rank == 2, "transposed: needs a 2-D tensor, shape is \(shape)")
        let r = shape[0], c = shape[1]
        let out = Tensor.transpose2D(storage.pointer, rows: r, cols: c)
        return Tensor.result("transpose", shape: [c, r], storage: out, inputs: [self]) { g in
            [Tensor(shape: [r, c], storage: Tensor.transpose2D(g.storage.pointer, rows: c, cols: r))]
        }
    }

    static func transpose2D(_ src: UnsafeMutablePointer<Float>, rows: Int, cols: Int) -> TensorStorage {
        let out = TensorStorage(uninitializedCount: rows * cols)
        let dst = out.pointer
        for i in 0..<rows {
            for j in 0..<cols { dst[j * rows + i] = src[i * cols + j] }
        }
        return out
    }

    /// For a 2-D tensor [B, C] and `indices` [B][K]: result[b, k] = self[b, indices[b][k]].
    /// The gradient scatters back (adding where an index repeats).
    public func gathered(_ indices: [[Int]]) -> Tensor {
        precondition(rank == 2 && indices.count == shape[0], "gathered: \(indices.count) index rows for shape \(shape)")
        let b = shape[0], c = shape[1]
        let k = indices.first?.count ?? 0
        precondition(indices.allSatisfy { $0.count == k && $0.allSatisfy { (0..<c).contains($0) } },
                     "gathered: every row needs \(k) indices in 0..<\(c)")
        let storage = TensorStorage(uninitializedCount: b * k)
        for i in 0..<b {
            for j in 0..<k { storage.pointer[i * k + j] = self.storage.pointer[i * c + indices[i][j]] }
        }
        return Tensor.result("gather", shape: [b, k], storage: storage, inputs: [self]) { g in
            let gi = Tensor.zeros([b, c])
            for i in 0..<b {
                for j in 0..<k { gi.storage.pointer[i * c + indices[i][j]] += g.storage.pointer[i * k + j] }
            }
            return [gi]
        }
    }

    /// Rows `rows` of the first axis (a copy, in the given order; repeats allowed).
    public func selectingRows(_ rows: [Int]) -> Tensor {
        precondition(rank >= 1 && rows.allSatisfy { (0..<shape[0]).contains($0) },
                     "selectingRows: row index outside 0..<\(shape.first ?? 0)")
        let width = count / Swift.max(shape[0], 1)
        var outShape = shape
        outShape[0] = rows.count
        let storage = TensorStorage(uninitializedCount: rows.count * width)
        for (i, r) in rows.enumerated() {
            (storage.pointer + i * width).update(from: self.storage.pointer + r * width, count: width)
        }
        let inShape = shape
        return Tensor.result("selectRows", shape: outShape, storage: storage, inputs: [self]) { g in
            let gi = Tensor.zeros(inShape)
            for (i, r) in rows.enumerated() {
                let d = gi.storage.pointer + r * width, s = g.storage.pointer + i * width
                for j in 0..<width { d[j] += s[j] }
            }
            return [gi]
        }
    }

    /// Indices of the `k` largest entries of each row of a 2-D tensor, largest first
    /// (ties: lower index first). Not differentiable (indices).
    public func topKIndices(_ k: Int) -> [[Int]] {
        precondition(rank == 2 && k <= shape[1], "topKIndices: k = \(k) for shape \(shape)")
        let c = shape[1]
        return (0..<shape[0]).map { i in
            let row = UnsafeBufferPointer(start: storage.pointer + i * c, count: c)
            return Array((0..<c).sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }.prefix(k))
        }
    }

    /// The index of the largest entry of each row of a 2-D tensor (first on ties).
    public func argmaxRows() -> [Int] {
        precondition(rank == 2, "argmaxRows: needs a 2-D tensor, shape is \(shape)")
        let c = shape[1]
        return (0..<shape[0]).map { i in
            let p = storage.pointer + i * c
            var best = 0
            for j in 1..<Swift.max(c, 1) where p[j] > p[best] { best = j }
            return best
        }
    }
}
