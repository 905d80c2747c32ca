/// iCaRL herding as the original code runs it (docs/ALGORITHMS.md §1.5; AAN:trainer/
/// base_trainer.py `set_exemplar_set`, pinned by Tests/Vectors/pytorch/11_herding.json).
///
/// For the n feature rows of one class (n × d):
/// 1. D = featuresᵀ (d × n), each column divided by its L2 norm; μ = mean column; w = μ.
/// 2. While #selected ≠ min(target, `selectionCap`) and fewer than
///    `maxIterations` iterations have run:
///    k = argmax_j w·D_j (the first index on ties); if k is not yet selected it gets
///    rank #selected + 1; then w ← w + μ − D_k (also when k was already selected).
///
/// All arithmetic is float64, as the original copies the features into a float64
/// array. A class with fewer images than the target runs the full
/// `maxIterations`. A zero feature row is left as zero (the original would divide
/// by zero and produce NaNs).
public enum Herding {
    /// The original's iteration cap.
    public static let maxIterations = 1000
    /// The original's cap on selected samples (`min(nb_protos_cl, 500)`).
    public static let selectionCap = 500

    /// The outcome for one class.
    public struct Result: Sendable, Equatable, Codable {
        /// `ranks[i]` = 1-based herding rank of sample i, 0 if never selected.
        public var ranks: [Int]
        /// Sample indices in the order they were selected.
        public var selectionOrder: [Int]
        /// The argmax of every iteration (re-picks included).
        public var argmaxPerIteration: [Int]
        /// Iterations run.
        public var iterations: Int { argmaxPerIteration.count }

        public init(ranks: [Int], selectionOrder: [Int], argmaxPerIteration: [Int]) {
            self.ranks = ranks
            self.selectionOrder = selectionOrder
            self.argmaxPerIteration = argmaxPerIteration
        }

        /// The exemplars for a budget of `m` per class: samples with 0 < rank ≤ m,
        /// in sample order (the original's `np.where`), i.e. a prefix of the
        /// herding order, re-sorted by position.
        public func exemplars(perClass m: Int) -> [Int] {
            ranks.indices.filter { ranks[$0] > 0 && ranks[$0] <= m }
        }
    }

    /// Herding on `features`, `count` rows of `dimension` float32 values (row-major),
    /// selecting up to `target` samples.
    public static func rank(features: [Float], count n: Int, dimension d: Int, target: Int,
                            maxIterations: Int = Herding.maxIterations, selectionCap: Int = Herding.selectionCap) -> Result {
        precondition(features.count == n * d, "\(features.count) values are not \(n) rows of \(d)")
        precondition(target >= 0, "herding target must be >= 0")
        // Columns of D, stored as rows of a n × d float64 matrix.
        var D = features.map(Double.init)
        for j in 0 ..< n {
            var norm = 0.0
            for i in 0 ..< d { norm += D[j * d + i] * D[j * d + i] }
            norm = norm.squareRoot()
            if norm > 0 { for i in 0 ..< d { D[j * d + i] /= norm } }
        }
        var mu = [Double](repeating: 0, count: d)
        for j in 0 ..< n { for i in 0 ..< d { mu[i] += D[j * d + i] } }
        if n > 0 { for i in 0 ..< d { mu[i] /= Double(n) } }
        var w = mu
        var ranks = [Int](repeating: 0, count: n)
        var order: [Int] = []
        var picks: [Int] = []
        let goal = min(target, selectionCap)
        while order.count != goal && picks.count < maxIterations && n > 0 {
            // np.argmax: the first index of the largest value.
            var best = 0.0, k = 0
            for j in 0 ..< n {
                var dot = 0.0
                for i in 0 ..< d { dot += w[i] * D[j * d + i] }
                if j == 0 || dot > best { best = dot; k = j }
            }
            picks.append(k)
            if ranks[k] == 0 {
                order.append(k)
                ranks[k] = order.count
            }
            for i in 0 ..< d { w[i] += mu[i] - D[k * d + i] }
        }
        return Result(ranks: ranks, selectionOrder: order, argmaxPerIteration: picks)
    }

    /// Herding on a `[n, d]` feature tensor.
    public static func rank(features: Tensor, target: Int,
                            maxIterations: Int = Herding.maxIterations, selectionCap: Int = Herding.selectionCap) -> Result {
        precondition(features.rank == 2, "herding needs [n, d] features, got \(features.shape)")
        return rank(features: features.scalars, count: features.shape[0], dimension: features.shape[1], target: target,
                    maxIterations: maxIterations, selectionCap: selectionCap)
    }
}
