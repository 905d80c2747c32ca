import Foundation

/// A seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64):
/// the same seed gives the same stream on every machine, so runs are repeatable.
public struct RandomGenerator: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64
    private var spareNormal: Float?

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in 0..<n.
    public mutating func nextInt(below n: Int) -> Int {
        precondition(n > 0)
        return Int(next(upperBound: UInt64(n)))
    }

    /// A standard normal sample (Box–Muller, computed in double).
    public mutating func nextNormal() -> Float {
        if let s = spareNormal { spareNormal = nil; return s }
        var u1 = 0.0
        repeat { u1 = Double(next() >> 11) * 0x1p-53 } while u1 <= 0
        let u2 = Double(next() >> 11) * 0x1p-53
        let r = (-2 * Foundation.log(u1)).squareRoot()
        spareNormal = Float(r * Foundation.sin(2 * .pi * u2))
        return Float(r * Foundation.cos(2 * .pi * u2))
    }

    /// The complete state of a generator, to save and restore it exactly (a run
    /// resumed mid-phase continues the very stream it was drawing from).
    public struct State: Codable, Equatable, Sendable {
        public var words: [UInt64]
        public var spareNormal: Float?
    }

    /// This generator's state; setting it makes the generator continue that stream.
    /// Setting a state whose `words` are not four values is a programming error.
    public var state: State {
        get { State(words: [s0, s1, s2, s3], spareNormal: spareNormal) }
        set {
            precondition(newValue.words.count == 4, "RandomGenerator.state: expected 4 words, got \(newValue.words.count)")
            s0 = newValue.words[0]; s1 = newValue.words[1]; s2 = newValue.words[2]; s3 = newValue.words[3]
            spareNormal = newValue.spareNormal
        }
    }

    /// An independent generator derived from this one's seed stream and `stream`
    /// (for per-phase or per-worker randomness that does not shift other draws).
    public mutating func fork(stream: UInt64) -> RandomGenerator {
        RandomGenerator(seed: next() ^ (stream &* 0x9E37_79B9_7F4A_7C15))
    }
}
