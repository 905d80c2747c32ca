/// One option a plugin declares: name, type, default and help. Values arrive as
/// strings (command line, experiment files) and are checked against the type.
public struct OptionSpec: Sendable, Codable, Equatable {
    /// The value types an option can have.
    public enum ValueType: String, Sendable, Codable {
        case int, float, bool, string, choice
    }

    public var name: String
    public var type: ValueType
    /// The default, written as it would be given on the command line.
    public var defaultValue: String
    public var help: String
    /// Allowed values of a `.choice` option.
    public var choices: [String]

    public init(name: String, type: ValueType, defaultValue: String, help: String, choices: [String] = []) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.help = help
        self.choices = choices
    }

    public static func int(_ name: String, default value: Int, help: String) -> OptionSpec {
        OptionSpec(name: name, type: .int, defaultValue: String(value), help: help)
    }

    public static func float(_ name: String, default value: Float, help: String) -> OptionSpec {
        OptionSpec(name: name, type: .float, defaultValue: String(value), help: help)
    }

    public static func bool(_ name: String, default value: Bool, help: String) -> OptionSpec {
        OptionSpec(name: name, type: .bool, defaultValue: String(value), help: help)
    }

    public static func string(_ name: String, default value: String, help: String) -> OptionSpec {
        OptionSpec(name: name, type: .string, defaultValue: value, help: help)
    }

    public static func choice(_ name: String, _ choices: [String], default value: String, help: String) -> OptionSpec {
        OptionSpec(name: name, type: .choice, defaultValue: value, help: help, choices: choices)
    }

    /// What a valid value looks like, for error messages.
    var expectation: String {
        switch type {
        case .int: return "an integer"
        case .float: return "a number"
        case .bool: return "true or false"
        case .string: return "a string"
        case .choice: return "one of \(choices.joined(separator: ", "))"
        }
    }

    /// Whether `value` is a valid value of this option.
    func accepts(_ value: String) -> Bool {
        switch type {
        case .int: return Int(value) != nil
        case .float: return Float(value).map { $0.isFinite } ?? false
        case .bool: return ["true", "false"].contains(value)
        case .string: return true
        case .choice: return choices.contains(value)
        }
    }
}

/// A plugin's options with every value checked and defaults filled in.
public struct PluginOptions: Sendable, Equatable, Codable {
    /// The plugin these options belong to.
    public let plugin: String
    /// Every declared option's value (given or default), as text.
    public let values: [String: String]

    /// Checks `given` against `specs`: unknown names and values of the wrong type are
    /// errors naming the plugin and the option.
    public init(plugin: String, specs: [OptionSpec], given: [String: String]) throws {
        var values: [String: String] = [:]
        for spec in specs { values[spec.name] = spec.defaultValue }
        for (name, value) in given.sorted(by: { $0.key < $1.key }) {
            guard let spec = specs.first(where: { $0.name == name }) else {
                throw PluginError.unknownOption(plugin: plugin, option: name, valid: specs.map(\.name))
            }
            guard spec.accepts(value) else {
                throw PluginError.invalidOptionValue(plugin: plugin, option: name, expected: spec.expectation, got: value)
            }
            values[name] = value
        }
        self.plugin = plugin
        self.values = values
    }

    private func value(_ name: String) -> String {
        guard let v = values[name] else {
            preconditionFailure("plugin '\(plugin)' reads option '\(name)', which it did not declare")
        }
        return v
    }

    public func int(_ name: String) -> Int { Int(value(name))! }
    public func float(_ name: String) -> Float { Float(value(name))! }
    public func bool(_ name: String) -> Bool { value(name) == "true" }
    public func string(_ name: String) -> String { value(name) }
}
