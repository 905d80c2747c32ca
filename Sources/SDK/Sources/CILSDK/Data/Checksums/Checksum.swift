/// A hash computed piece by piece.
public protocol StreamingDigest {
    init()
    mutating func update(_ bytes: UnsafeRawBufferPointer)
    /// The digest; call once, after the last `update`.
    mutating func finalize() -> [UInt8]
}

/// An expected checksum, written `md5:<32 hex digits>` or `sha256:<64 hex digits>`.
public struct Checksum: Sendable, Equatable, CustomStringConvertible {
    /// The digest algorithm of a checksum.
    public enum Algorithm: String, Sendable {
        case md5, sha256

        var hexLength: Int { self == .md5 ? 32 : 64 }

        /// A fresh streaming hasher for this algorithm.
        public func makeDigest() -> any StreamingDigest {
            self == .md5 ? MD5() : SHA256()
        }
    }

    public let algorithm: Algorithm
    /// Lower-case hex.
    public let hex: String

    /// Parses `md5:HEX` / `sha256:HEX`; nil if malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let algorithm = Algorithm(rawValue: parts[0].lowercased()) else { return nil }
        let hex = parts[1].lowercased()
        guard hex.count == algorithm.hexLength, hex.allSatisfy({ $0.isHexDigit }) else { return nil }
        self.algorithm = algorithm
        self.hex = hex
    }

    public init(algorithm: Algorithm, hex: String) {
        self.algorithm = algorithm
        self.hex = hex.lowercased()
    }

    public var description: String { "\(algorithm.rawValue):\(hex)" }

    /// Lower-case hex of `digest`.
    public static func hex(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(digest.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }

    /// The digest of `bytes` with `algorithm`, in hex.
    public static func compute(_ algorithm: Algorithm, of bytes: [UInt8]) -> String {
        var d = algorithm.makeDigest()
        bytes.withUnsafeBytes { d.update($0) }
        return hex(d.finalize())
    }
}
