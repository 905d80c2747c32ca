/// The order in which an epoch visits a set of images, cut into batches, like a
/// PyTorch `DataLoader` (`drop_last=False`: the last batch may be smaller).
public enum BatchSampler {
    /// `positions` in the given order, in batches of `batchSize`.
    public static func sequential(_ positions: [Int], batchSize: Int) -> [[Int]] {
        precondition(batchSize > 0, "batch size must be positive")
        return stride(from: 0, to: positions.count, by: batchSize).map {
            Array(positions[$0 ..< min($0 + batchSize, positions.count)])
        }
    }

    /// `positions` shuffled (Fisher–Yates with `rng`), in batches of `batchSize`.
    public static func shuffled(_ positions: [Int], batchSize: Int, rng: inout RandomGenerator) -> [[Int]] {
        var p = positions
        if p.count > 1 {
            for i in stride(from: p.count - 1, to: 0, by: -1) {
                p.swapAt(i, rng.nextInt(below: i + 1))
            }
        }
        return sequential(p, batchSize: batchSize)
    }
}
