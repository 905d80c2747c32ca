
/// One plugin the host can use, with where it came from.
public struct PluginEntry {
    /// What provides the plugin: a Swift type, or a C plugin.
    public enum Provider {
        case baseline(any Baseline.Type)
        case branchType(any BranchType.Type)
        case c(CPlugin)
    }

    public let kind: PluginKind
    public let info: PluginInfo
    public let options: [OptionSpec]
    /// The library file it was loaded from.
    public let path: String
    public let provider: Provider
}

/// A library that could not be used, and why (one line for the user).
public struct PluginFailure: CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "plugin \(path): \(reason)" }
}

/// Every plugin found, by kind and name, and every failure met on the way.
public struct PluginCatalog {
    public private(set) var entries: [PluginEntry] = []
    public private(set) var failures: [PluginFailure] = []
    /// Library files already loaded (by resolved path): each is loaded once.
    public var loadedFiles: Set<String> = []

    public init() {}

    public mutating func recordFailure(_ path: String, _ reason: String) {
        failures.append(PluginFailure(path: path, reason: reason))
    }

    /// Adds the entries of one library, refusing names another library already
    /// registered for the same kind. Returns false (and records why) on a clash.
    public mutating func add(_ newEntries: [PluginEntry], from path: String) -> Bool {
        var seen = Set<String>()
        for e in newEntries {
            if !seen.insert("\(e.kind.rawValue)/\(e.info.name)").inserted {
                recordFailure(path, "registers \(e.kind.rawValue) '\(e.info.name)' twice")
                return false
            }
            if let other = entries.first(where: { $0.kind == e.kind && $0.info.name == e.info.name }) {
                recordFailure(path, "registers \(e.kind.rawValue) '\(e.info.name)', which \(other.path) already provides")
                return false
            }
        }
        entries += newEntries
        return true
    }

    /// The plugins of `kind`, sorted by name.
    public func entries(of kind: PluginKind) -> [PluginEntry] {
        entries.filter { $0.kind == kind }.sorted { $0.info.name < $1.info.name }
    }

    /// The baseline called `name`, or an error listing the available ones.
    public func baseline(named name: String) throws -> any Baseline.Type {
        for e in entries(of: .baseline) where e.info.name == name {
            if case let .baseline(t) = e.provider { return t }
        }
        throw CatalogError.unknown(kind: .baseline, name: name, available: entries(of: .baseline).map(\.info.name))
    }

    /// The branch type called `name`, or an error listing the available ones.
    public func branchType(named name: String) throws -> any BranchType.Type {
        for e in entries(of: .branchType) where e.info.name == name {
            if case let .branchType(t) = e.provider { return t }
        }
        throw CatalogError.unknown(kind: .branchType, name: name, available: entries(of: .branchType).map(\.info.name))
    }

    /// The C loss term called `name`, or an error listing the available ones.
    public func lossTerm(named name: String) throws -> ForeignLossTerm {
        for e in entries(of: .lossTerm) where e.info.name == name {
            if case let .c(plugin) = e.provider, let term = plugin.lossTerm { return term }
        }
        throw CatalogError.unknown(kind: .lossTerm, name: name, available: entries(of: .lossTerm).map(\.info.name))
    }

    /// A plugin asked for by name that no loaded library provides.
    public enum CatalogError: Error, CustomStringConvertible {
        case unknown(kind: PluginKind, name: String, available: [String])
        public var description: String {
            switch self {
            case let .unknown(kind, name, available):
                let list = available.isEmpty ? "none is loaded (see `cil plugins`)" : "available: \(available.joined(separator: ", "))"
                return "unknown \(kind.rawValue) '\(name)'; \(list)"
            }
        }
    }
}
