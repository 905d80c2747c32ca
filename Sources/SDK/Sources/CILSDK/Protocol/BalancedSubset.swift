/// The "class-balanced" subset on which the aggregation weights α are learned in
/// phases ≥ 1 (docs/ALGORITHMS.md §5.1, AAN:trainer/base_trainer.py
/// `gen_balanced_loader`).
public enum BalancedSubset {
    /// The original code, faithfully: `nb_cl * nb_protos` positions drawn uniformly
    /// **with replacement** (`np.random.randint`) from all training images of the
    /// new classes (`newClassPositions`, in split order), not stratified by class,
    /// followed by all current old-class exemplars (`oldExemplars`, in class order).
    /// Unshuffled; not balanced in the fixed-budget mode. The original's draw is
    /// unseeded; here it comes from `rng`.
    public static func faithful(newClassPositions: [Int], nbCl: Int, nbProtos: Int = 20,
                                oldExemplars: [Int], rng: inout RandomGenerator) -> [Int] {
        guard !newClassPositions.isEmpty else { return oldExemplars }
        let draws = (0 ..< nbCl * nbProtos).map { _ in newClassPositions[rng.nextInt(below: newClassPositions.count)] }
        return draws + oldExemplars
    }

    /// A truly class-balanced subset (corrected mode): every seen class contributes
    /// the same number m of images, m = `perClass` capped by the smallest supply:
    /// each old class its top-m herded exemplars (a prefix of its herding order,
    /// from `memory`), each new class m images drawn **without** replacement from
    /// `newClassPositions[c]`. The result is shuffled with `rng`.
    public static func classBalanced(newClassPositions: [[Int]], oldClasses: [Int], memory: ExemplarMemory,
                                     perClass: Int, rng: inout RandomGenerator) -> [Int] {
        let oldSupply = oldClasses.map { memory.exemplars(of: $0, perClass: perClass).count }
        let m = min(perClass, (newClassPositions.map(\.count) + oldSupply).min() ?? 0)
        guard m > 0 else { return [] }
        var result: [Int] = []
        for c in oldClasses { result += memory.exemplars(of: c, perClass: m) }
        for new in newClassPositions {
            var pool = new
            // Partial Fisher–Yates: the first m of a random permutation.
            for i in 0 ..< m {
                pool.swapAt(i, i + rng.nextInt(below: pool.count - i))
            }
            result += pool.prefix(m)
        }
        for i in stride(from: result.count - 1, to: 0, by: -1) {
            result.swapAt(i, rng.nextInt(below: i + 1))
        }
        return result
    }
}
