/// NumPy's legacy global-RNG shuffle: `np.random.seed(seed); np.random.shuffle(a)`
/// on a 1-D array (numpy/random/mtrand.pyx `RandomState.shuffle`, the
/// `random_interval` of numpy/random/src/legacy and distributions.c).
///
/// For i from n-1 down to 1: j = `random_interval(i)`, swap a[i] and a[j], where
/// `random_interval(max)` masks 32-bit MT19937 outputs with the smallest all-ones
/// mask ≥ max and rejects values above max.
public enum NumPyLegacyShuffle {
    /// `random_interval(max)`: uniform in 0...max by masked rejection.
    public static func interval(_ max: UInt32, _ mt: inout MersenneTwister) -> UInt32 {
        if max == 0 { return 0 }
        var mask = max
        mask |= mask >> 1
        mask |= mask >> 2
        mask |= mask >> 4
        mask |= mask >> 8
        mask |= mask >> 16
        while true {
            let value = mt.nextUInt32() & mask
            if value <= max { return value }
        }
    }

    /// Shuffles `values` in place as `np.random.shuffle` does with the generator `mt`.
    public static func shuffle<T>(_ values: inout [T], _ mt: inout MersenneTwister) {
        guard values.count > 1 else { return }
        for i in stride(from: values.count - 1, through: 1, by: -1) {
            let j = Int(interval(UInt32(i), &mt))
            values.swapAt(i, j)
        }
    }

    /// `np.random.seed(seed); a = np.arange(n); np.random.shuffle(a)`.
    public static func permutation(count n: Int, seed: UInt32) -> [Int] {
        var mt = MersenneTwister(seed: seed)
        var a = Array(0 ..< n)
        shuffle(&a, &mt)
        return a
    }
}
