import ArgumentParser
import CILSDK
import Foundation

/// `cil plugins`: every loaded plugin with kind, name, version, file and options;
/// every library that failed, one line each on stderr (exit status 1 if any).
struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List the baselines, branch types and C plugins that load, and the libraries that do not."
    )

    @OptionGroup var directories: PluginDirectoryOptions

    @Flag(help: "Print a JSON array (keys: name, kind, version, path, summary, options, functions).")
    var json = false

    func run() throws {
        let catalog = PluginLoader.loadAll(pluginDirs: directories.pluginDirs)
        let kinds: [PluginKind] = [.baseline, .branchType, .lossTerm, .hooks]
        let entries = kinds.flatMap { catalog.entries(of: $0) }
        if json {
            let array = entries.map(Self.jsonObject)
            let data = try JSONSerialization.data(withJSONObject: array, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(Self.table(entries))
        }
        for failure in catalog.failures {
            FileHandle.standardError.write(Data("cil: \(failure)\n".utf8))
        }
        if !catalog.failures.isEmpty { throw ExitCode(1) }
    }

    static func jsonObject(_ e: PluginEntry) -> [String: Any] {
        var object: [String: Any] = [
            "name": e.info.name, "kind": e.kind.rawValue, "version": e.info.version,
            "path": e.path, "summary": e.info.summary,
            "options": e.options.map { o -> [String: Any] in
                var d: [String: Any] = ["name": o.name, "type": o.type.rawValue, "default": o.defaultValue, "help": o.help]
                if !o.choices.isEmpty { d["choices"] = o.choices }
                return d
            },
        ]
        if case let .c(plugin) = e.provider {
            object["functions"] = plugin.functions.map { ["name": $0.name, "symbol": $0.symbol, "signature": $0.signature] }
        }
        return object
    }

    static func table(_ entries: [PluginEntry]) -> String {
        if entries.isEmpty { return "no plugins loaded" }
        var lines: [String] = []
        for e in entries {
            lines.append("\(e.kind.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \(e.info.name) \(e.info.version) — \(e.info.summary)")
            lines.append("             file: \(e.path)")
            for o in e.options {
                let choices = o.choices.isEmpty ? "" : " {\(o.choices.joined(separator: "|"))}"
                lines.append("             option \(o.name)=\(o.defaultValue) (\(o.type.rawValue)\(choices)): \(o.help)")
            }
            if case let .c(plugin) = e.provider {
                for f in plugin.functions { lines.append("             function \(f.name): \(f.signature) [\(f.symbol)]") }
            }
        }
        return lines.joined(separator: "\n")
    }
}
