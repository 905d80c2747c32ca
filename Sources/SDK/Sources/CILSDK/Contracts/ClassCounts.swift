/// The classes of one phase, by mapped label: labels 0..<old were learned before,
/// old..<seen are new in this phase.
public struct ClassCounts: Sendable, Equatable, Codable {
    /// Classes learned in earlier phases (0 in phase 0).
    public var old: Int
    /// Classes new in this phase.
    public var new: Int
    /// old + new.
    public var seen: Int { old + new }

    public init(old: Int, new: Int) {
        self.old = old
        self.new = new
    }
}
