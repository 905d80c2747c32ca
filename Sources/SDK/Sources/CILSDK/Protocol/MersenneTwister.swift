/// MT19937, the 32-bit Mersenne Twister (Matsumoto & Nishimura 1998), seeded with
/// `init_genrand` — what NumPy's legacy `np.random.seed(s)` does for an integer
/// `s` in 0...2³²-1. Used only to reproduce class orders; training randomness uses
/// `RandomGenerator`.
public struct MersenneTwister: Sendable {
    private static let n = 624
    private static let m = 397
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    /// `init_genrand(seed)`.
    public init(seed: UInt32) {
        state[0] = seed
        for i in 1 ..< Self.n {
            let prev = state[i - 1]
            state[i] = 1_812_433_253 &* (prev ^ (prev >> 30)) &+ UInt32(i)
        }
        index = Self.n
    }

    /// The next 32-bit output (`genrand_int32`).
    public mutating func nextUInt32() -> UInt32 {
        if index >= Self.n { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        let upper: UInt32 = 0x8000_0000, lower: UInt32 = 0x7FFF_FFFF, matrixA: UInt32 = 0x9908_B0DF
        for i in 0 ..< Self.n {
            let y = (state[i] & upper) | (state[(i + 1) % Self.n] & lower)
            var next = state[(i + Self.m) % Self.n] ^ (y >> 1)
            if y & 1 != 0 { next ^= matrixA }
            state[i] = next
        }
        index = 0
    }
}
