/// Why a protocol setting is invalid; every case names the flag and what was expected.
public enum ProtocolError: Error, Equatable, CustomStringConvertible {
    /// A flag value outside its range.
    case invalidValue(flag: String, value: String, expected: String)
    /// The seed's phase checks of docs/ALGORITHMS.md §1.2 (and the class count they
    /// imply).
    case phaseCheckFailed(String)
    /// Class counts per phase that do not fit the dataset.
    case badClassCounts(counts: [Int], numClasses: Int, reason: String)
    /// A class order that is not a permutation of 0..<n.
    case notAPermutation(count: Int, reason: String)

    public var description: String {
        switch self {
        case let .invalidValue(flag, value, expected):
            return "invalid value '\(value)' for \(flag): expected \(expected)"
        case let .phaseCheckFailed(text):
            return text
        case let .badClassCounts(counts, numClasses, reason):
            return "invalid class counts per phase \(counts.map(String.init).joined(separator: ",")) for \(numClasses) classes: \(reason)"
        case let .notAPermutation(count, reason):
            return "the class order is not a permutation of 0..<\(count): \(reason)"
        }
    }
}
