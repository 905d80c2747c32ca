/// Shape arithmetic shared by the ops.
enum ShapeMath {
    /// Row-major strides of `shape`.
    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// NumPy broadcasting of two shapes, or nil if they are incompatible.
    static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let n = max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let da = i < n - a.count ? 1 : a[i - (n - a.count)]
            let db = i < n - b.count ? 1 : b[i - (n - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Strides to read an operand of `shape` while iterating over `outShape`
    /// (0 along broadcast dimensions).
    static func broadcastStrides(_ shape: [Int], to outShape: [Int]) -> [Int] {
        let own = strides(shape)
        let offset = outShape.count - shape.count
        return (0..<outShape.count).map { i in
            i < offset || shape[i - offset] == 1 ? 0 : own[i - offset]
        }
    }

    /// Normalises a possibly negative axis for a tensor of `rank` dimensions.
    static func axis(_ axis: Int, rank: Int, op: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "\(op): axis \(axis) out of range for rank \(rank)")
        return a
    }

    /// Splits `shape` around `axis` into (outer, size along axis, inner).
    static func split(_ shape: [Int], axis: Int) -> (outer: Int, dim: Int, inner: Int) {
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        return (outer, shape[axis], inner)
    }
}

/// Calls `body(outIndex, offsetA, offsetB)` for every element of `outShape`, with
/// the element offsets of two operands read through `stridesA` / `stridesB`.
@inline(__always)
func forEachBroadcastOffset(_ outShape: [Int], _ stridesA: [Int], _ stridesB: [Int],
                            _ body: (Int, Int, Int) -> Void) {
    let rank = outShape.count
    let total = outShape.reduce(1, *)
    if total == 0 { return }
    if rank == 0 { body(0, 0, 0); return }
    var index = [Int](repeating: 0, count: rank)
    var offA = 0, offB = 0
    let last = rank - 1
    let n = outShape[last], sa = stridesA[last], sb = stridesB[last]
    var i = 0
    while i < total {
        for j in 0..<n { body(i + j, offA + j * sa, offB + j * sb) }
        i += n
        // Advance the outer index (all dimensions but the last).
        var d = last - 1
        while d >= 0 {
            index[d] += 1
            offA += stridesA[d]
            offB += stridesB[d]
            if index[d] < outShape[d] { break }
            offA -= stridesA[d] * outShape[d]
            offB -= stridesB[d] * outShape[d]
            index[d] = 0
            d -= 1
        }
    }
}
