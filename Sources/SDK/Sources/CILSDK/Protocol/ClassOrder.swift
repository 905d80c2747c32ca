/// The class order of a run: `classes[k]` is the dataset class (e.g. CIFAR fine
/// label) whose mapped label is `k` (docs/ALGORITHMS.md §0, §1.1). Phase p trains the
/// mapped labels of its slice of this order.
public struct ClassOrder: Sendable, Equatable, Codable {
    /// Dataset class of each mapped label.
    public let classes: [Int]
    /// `mappedLabels[c]` is the mapped label of dataset class `c`.
    public let mappedLabels: [Int]

    /// Wraps an explicit order; it must be a permutation of `0..<classes.count`.
    public init(classes: [Int]) throws {
        var mapped = [Int](repeating: -1, count: classes.count)
        for (k, c) in classes.enumerated() {
            guard c >= 0 && c < classes.count else {
                throw ProtocolError.notAPermutation(count: classes.count, reason: "class \(c) at position \(k) is out of range")
            }
            guard mapped[c] < 0 else {
                throw ProtocolError.notAPermutation(count: classes.count, reason: "class \(c) appears twice")
            }
            mapped[c] = k
        }
        self.classes = classes
        self.mappedLabels = mapped
    }

    /// The order the original code draws for `seed`: NumPy's legacy
    /// `np.random.seed(seed); np.random.shuffle(np.arange(count))`. For seed 1993
    /// and 100 classes this is docs/ALGORITHMS.md §1.1's list, returned from the
    /// hard-coded copy (`seed1993Order100`); the MT19937 path reproduces it (tested).
    /// Throws if `seed` is outside NumPy's accepted range 0...2³²-1 or `count` < 1.
    public static func seeded(_ seed: Int, count: Int) throws -> ClassOrder {
        guard count >= 1 else {
            throw ProtocolError.invalidValue(flag: "number of classes", value: String(count), expected: "at least 1")
        }
        guard seed >= 0 && seed <= Int(UInt32.max) else {
            throw ProtocolError.invalidValue(flag: "--seed", value: String(seed),
                                             expected: "an integer in 0...4294967295 (NumPy's legacy seed range)")
        }
        if seed == 1993 && count == 100 { return try ClassOrder(classes: seed1993Order100) }
        return try ClassOrder(classes: NumPyLegacyShuffle.permutation(count: count, seed: UInt32(seed)))
    }

    /// The identity order (mapped label = dataset class).
    public static func identity(count: Int) -> ClassOrder {
        // A permutation by construction.
        try! ClassOrder(classes: Array(0 ..< count))
    }

    /// Number of classes.
    public var count: Int { classes.count }

    /// Mapped label of each dataset label.
    public func map(_ labels: [Int]) -> [Int] { labels.map { mappedLabels[$0] } }

    /// docs/ALGORITHMS.md §1.1: the order for seed 1993 on 100 classes (CIFAR-100 fine
    /// labels; ImageFolder indices of LUCIR's ImageNet-Subset).
    public static let seed1993Order100: [Int] = [
        68, 56, 78, 8, 23, 84, 90, 65, 74, 76, 40, 89, 3, 92, 55, 9, 26, 80, 43, 38,
        58, 70, 77, 1, 85, 19, 17, 50, 28, 53, 13, 81, 45, 82, 6, 59, 83, 16, 15, 44,
        91, 41, 72, 60, 79, 52, 20, 10, 31, 54, 37, 95, 14, 71, 96, 98, 97, 2, 64, 66,
        42, 22, 35, 86, 24, 34, 87, 21, 99, 0, 88, 27, 18, 94, 11, 12, 47, 25, 30, 46,
        62, 69, 36, 61, 7, 63, 75, 5, 32, 4, 51, 48, 73, 93, 39, 67, 29, 49, 57, 33,
    ]
}
