/// What kind of extension a plugin provides.
public enum PluginKind: String, Sendable, Codable, CaseIterable {
    /// A CIL method: head, phase hooks, loss (`Baseline`).
    case baseline
    /// How a MANets block is derived and trained from phase 1 on (`BranchType`).
    case branchType = "branch type"
    /// A loss term written in C against `cil_plugin.h`, added to a baseline's loss.
    case lossTerm = "loss term"
    /// A C library of functions declared by signature in its manifest (hooks),
    /// called through libffi.
    case hooks
}

/// A plugin's public identity, shown by `cil plugins` and recorded in results.
public struct PluginInfo: Sendable, Codable, Equatable {
    /// Unique name used on the command line (`--baseline lucir`, `--branch-1 ss`).
    public var name: String
    /// The plugin's own version.
    public var version: String
    /// One line saying what it is (and which variant, e.g. "iCaRL as in MANets").
    public var summary: String

    public init(name: String, version: String, summary: String) {
        self.name = name
        self.version = version
        self.summary = summary
    }
}
