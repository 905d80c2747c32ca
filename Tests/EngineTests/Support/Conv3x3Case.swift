import Testing

/// One shape of the 3×3 stride-1 padding-1 kernel tests (direct and Winograd):
/// x [n, c, h, w] → o output channels.
struct Conv3x3Case: Sendable, CustomTestStringConvertible {
    var n: Int, c: Int, h: Int, w: Int, o: Int
    var testDescription: String { "x[\(n), \(c), \(h), \(w)] → \(o) channels" }
}
