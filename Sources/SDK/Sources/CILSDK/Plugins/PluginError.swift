/// Errors a plugin or the plugin machinery reports; each message names the plugin
/// (or file) and says what was expected.
public enum PluginError: Error, CustomStringConvertible, Equatable {
    /// A plugin has no option of that name.
    case unknownOption(plugin: String, option: String, valid: [String])
    /// An option's value does not parse as its declared type.
    case invalidOptionValue(plugin: String, option: String, expected: String, got: String)
    /// A feature registered under its real name whose implementation has not landed.
    case notImplemented(plugin: String, what: String)
    /// A plugin rejected its input or failed; `reason` is its own message.
    case failed(plugin: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownOption(plugin, option, valid):
            let list = valid.isEmpty ? "it has no options" : "its options are: \(valid.joined(separator: ", "))"
            return "plugin '\(plugin)' has no option '\(option)'; \(list)"
        case let .invalidOptionValue(plugin, option, expected, got):
            return "option '\(option)' of plugin '\(plugin)' expects \(expected), got '\(got)'"
        case let .notImplemented(plugin, what):
            return "plugin '\(plugin)': \(what) is not implemented yet"
        case let .failed(plugin, reason):
            return "plugin '\(plugin)': \(reason)"
        }
    }
}
