/// A seeded random-mutation engine for fuzz tests (AFL/libFuzzer-style operators):
/// bit flips, interesting bytes and integers (little-endian lengths such as 2³² or
/// −1), truncation, byte insertions and deletions, duplicated ranges, splices with
/// another valid input, and, for text formats, numbers replaced by extreme ones.
/// The same seed gives the same sequence of inputs, so a failure reproduces from
/// the seed and the iteration number the harness prints.
public struct Mutator {
    var state: UInt64

    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    /// SplitMix64.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in 0..<bound (bound > 0).
    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    static let interestingBytes: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF, 0x20, 0x0A, 0x22, 0x2D, 0x39]
    static let interestingIntegers: [UInt64] = [0, 1, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 0x1_0000_0000,
                                                0x7FFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000]
    static let interestingNumbers = ["-1", "0", "-0", "4294967296", "9223372036854775807", "-9223372036854775808",
                                     "99999999999999999999", "1e308", "-1e400", "nan", "0.5", "3"]

    /// `input` changed by one to four random operations; `corpus` supplies splices.
    public mutating func mutate(_ input: [UInt8], corpus: [[UInt8]], text: Bool = false) -> [UInt8] {
        var bytes = input
        for _ in 0 ..< 1 + below(4) {
            apply(to: &bytes, corpus: corpus, text: text)
        }
        return bytes
    }

    mutating func apply(to bytes: inout [UInt8], corpus: [[UInt8]], text: Bool) {
        let kinds = text ? 10 : 9
        switch below(kinds) {
        case 0 where !bytes.isEmpty: // flip one bit
            bytes[below(bytes.count)] ^= UInt8(1) << UInt8(below(8))
        case 1 where !bytes.isEmpty: // an interesting byte
            bytes[below(bytes.count)] = Self.interestingBytes[below(Self.interestingBytes.count)]
        case 2 where !bytes.isEmpty: // a random byte
            bytes[below(bytes.count)] = UInt8(truncatingIfNeeded: next())
        case 3 where !bytes.isEmpty: // truncate
            bytes.removeLast(1 + below(bytes.count))
        case 4: // insert 1-16 random bytes
            let at = below(bytes.count + 1)
            bytes.insert(contentsOf: (0 ..< 1 + below(16)).map { _ in UInt8(truncatingIfNeeded: next()) }, at: at)
        case 5 where !bytes.isEmpty: // delete a range
            let at = below(bytes.count)
            bytes.removeSubrange(at ..< min(bytes.count, at + 1 + below(32)))
        case 6 where !bytes.isEmpty: // duplicate a range
            let at = below(bytes.count), length = 1 + below(min(64, bytes.count - at))
            bytes.insert(contentsOf: bytes[at ..< at + length], at: below(bytes.count + 1))
        case 7 where bytes.count >= 8: // an interesting 4- or 8-byte little-endian integer
            let width = below(2) == 0 ? 4 : 8
            let at = below(bytes.count - width + 1)
            let value = Self.interestingIntegers[below(Self.interestingIntegers.count)]
            for k in 0 ..< width { bytes[at + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
        case 8 where !corpus.isEmpty: // splice: a head of this input, a tail of another
            let other = corpus[below(corpus.count)]
            let cut = below(bytes.count + 1), from = below(other.count + 1)
            bytes = Array(bytes[..<cut]) + other[from...]
        case 9: // text: replace a number (a run of digits) by an extreme one
            let digits = bytes.indices.filter { bytes[$0] >= 0x30 && bytes[$0] <= 0x39 }
            guard let start = digits.isEmpty ? nil : digits[below(digits.count)] else { return }
            var end = start
            while end < bytes.count, bytes[end] >= 0x30 && bytes[end] <= 0x39 { end += 1 }
            var begin = start
            while begin > 0, bytes[begin - 1] >= 0x30 && bytes[begin - 1] <= 0x39 { begin -= 1 }
            bytes.replaceSubrange(begin ..< end, with: Array(Self.interestingNumbers[below(Self.interestingNumbers.count)].utf8))
        default:
            break
        }
    }
}
