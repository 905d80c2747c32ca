import Foundation

/// Where datasets live: the `--data-dir` a command got, else the `CIL_DATA`
/// environment variable.
public enum DataLocation {
    /// The environment variable naming the data directory.
    public static let environmentVariable = "CIL_DATA"

    /// `explicit` if given, else `$CIL_DATA`; throws `noDataDirectory` if neither.
    /// A leading `~` is expanded.
    public static func resolve(_ explicit: String?, dataset: String,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if let explicit, !explicit.isEmpty { return (explicit as NSString).expandingTildeInPath }
        if let env = environment[environmentVariable], !env.isEmpty { return (env as NSString).expandingTildeInPath }
        throw DataError.noDataDirectory(dataset: dataset)
    }
}
