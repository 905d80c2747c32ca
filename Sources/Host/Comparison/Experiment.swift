import Foundation
import Yams

/// A comparison: baselines × arms × seeds under one protocol. Read from a YAML
/// experiment file whose keys are `cil run`'s option names (underscores or hyphens),
/// plus `baselines`, `arms` (name → options) and `seeds`:
///
/// ```yaml
/// dataset: synthetic
/// num_classes: 10
/// nb_cl_fg: 4
/// nb_cl: 2
/// preset: quick
/// epochs: 1
/// baselines: [icarl, lucir, podnet]
/// arms:
///   plain:  {branch_mode: single, branch_1: free}
///   manets: {branch_mode: dual, branch_1: ss, branch_2: free}
/// seeds: [1993]
/// ```
/// The first arm is the reference: the tables give every other arm's difference to it.
/// `baseline_options: {NAME: {OPTION: VALUE}}` sets options of one baseline only.
/// `seed_varies: order-and-training` (the default) makes each seed both the class-order
/// seed and the training seed, as the original's `--random_seed` does; `seed_varies:
/// training` keeps the class order of `seed` (default 1993) for every run and makes
/// each seed the training seed (`--train-seed`).
struct Experiment {
    /// What each seed of `seeds` sets.
    enum SeedVaries: String, CaseIterable, Sendable {
        case orderAndTraining = "order-and-training"
        case training

        static let allowed = allCases.map(\.rawValue).joined(separator: ", ")
    }

    var baselines: [String]
    /// Arms in file order: name and its own run options.
    var arms: [(name: String, options: [(String, String)])]
    var seeds: [Int]
    var seedVaries: SeedVaries = .orderAndTraining
    /// Options shared by every run, in file order.
    var common: [(String, String)]
    /// Baseline options per baseline (`baseline_options: {podnet: {finetune-epochs: 5}}`),
    /// passed as `--baseline-option NAME=VALUE` to that baseline's runs only.
    var baselineOptions: [String: [(String, String)]] = [:]

    /// The arms of a file that names none; the MANets arm's plastic branch is the
    /// preset's (free, or fixed in the paper preset on image folders).
    static let defaultArms: [(name: String, options: [(String, String)])] = [
        ("plain", [("branch-mode", "single"), ("branch-1", DefaultPlugins.plainBranch)]),
        ("manets", [("branch-mode", "dual"), ("branch-1", DefaultPlugins.stableBranch)]),
    ]

    enum ParseError: Error, CustomStringConvertible {
        case invalid(String)
        var description: String { switch self { case let .invalid(m): return m } }
    }

    /// Parses an experiment file; errors name the file and the key.
    static func load(path: String) throws -> Experiment {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ParseError.invalid("cannot read the experiment file \(path)")
        }
        return try parse(text, file: path)
    }

    /// Parses the text of an experiment file (`file` names it in errors).
    static func parse(_ text: String, file: String) throws -> Experiment {
        try ExperimentFileLimits.checkBeforeParsing(text, file: file)
        let composed: Node?
        do {
            composed = try Yams.compose(yaml: text)
        } catch {
            throw ParseError.invalid("\(file) is not valid YAML: \(error)")
        }
        if let composed { try ExperimentFileLimits.checkNodes(composed, file: file) }
        let node: Any?
        do {
            node = try Yams.load(yaml: text)
        } catch {
            throw ParseError.invalid("\(file) is not valid YAML: \(error)")
        }
        guard let root = node as? [String: Any] else {
            throw ParseError.invalid("\(file): expected a mapping of option names to values at the top level")
        }
        return try Experiment(root: root, file: file, text: text)
    }

    init(baselines: [String], arms: [(name: String, options: [(String, String)])], seeds: [Int], common: [(String, String)]) {
        self.baselines = baselines
        self.arms = arms
        self.seeds = seeds
        self.common = common
    }

    init(root: [String: Any], file: String, text: String) throws {
        func list(_ key: String) throws -> [Any]? {
            guard let value = root[key] else { return nil }
            guard let array = value as? [Any] else { throw ParseError.invalid("\(file): '\(key)' must be a list") }
            return array
        }
        baselines = try (list("baselines") ?? DefaultPlugins.comparisonBaselines).map { "\($0)" }
        seeds = try (list("seeds") ?? [1993]).map { value in
            guard let seed = value as? Int else { throw ParseError.invalid("\(file): 'seeds' must hold integers, got '\(value)'") }
            return seed
        }
        guard !baselines.isEmpty, !seeds.isEmpty else { throw ParseError.invalid("\(file): 'baselines' and 'seeds' must not be empty") }
        if let armsNode = root["arms"] {
            guard let mapping = armsNode as? [String: Any], !mapping.isEmpty else {
                throw ParseError.invalid("\(file): 'arms' must map arm names to their options")
            }
            // Yams loses the order of a mapping: keep the file's order of arm names.
            let names = Self.keyOrder(ofMapping: "arms", in: text)
                .filter { mapping[$0] != nil }
            let ordered = names.count == mapping.count ? names : mapping.keys.sorted()
            arms = try ordered.map { name in
                guard let options = mapping[name] as? [String: Any] else {
                    throw ParseError.invalid("\(file): arm '\(name)' must map option names to values")
                }
                return (name, try Self.flags(options, file: file, context: "arm '\(name)'"))
            }
        } else {
            arms = Self.defaultArms
        }
        if let node = root["baseline_options"] {
            guard let mapping = node as? [String: Any] else {
                throw ParseError.invalid("\(file): 'baseline_options' must map baseline names to option mappings")
            }
            for (name, value) in mapping {
                guard let options = value as? [String: Any] else {
                    throw ParseError.invalid("\(file): baseline_options.\(name) must map option names to values")
                }
                baselineOptions[name] = try Self.flags(options, file: file, context: "baseline_options.\(name)")
            }
        }
        if let value = root["seed_varies"] ?? root["seed-varies"] {
            guard let text = value as? String, let parsed = SeedVaries(rawValue: text) else {
                throw ParseError.invalid("\(file): 'seed_varies' must be one of \(SeedVaries.allowed), got '\(value)'")
            }
            seedVaries = parsed
        }
        var rest = root
        for key in ["baselines", "arms", "seeds", "baseline_options", "seed_varies", "seed-varies"] { rest.removeValue(forKey: key) }
        common = try Self.flags(rest, file: file, context: "the top level")
    }

    /// Option names (hyphenated) and values as text, sorted by name.
    static func flags(_ mapping: [String: Any], file: String, context: String) throws -> [(String, String)] {
        try mapping.keys.sorted().map { key in
            let value = mapping[key]!
            if value is [Any] || value is [String: Any] {
                throw ParseError.invalid("\(file): \(context): '\(key)' must be a single value")
            }
            return (key, "\(value)")
        }
    }

    /// The keys of the block mapping `name:` in file order (indentation-based).
    static func keyOrder(ofMapping name: String, in text: String) -> [String] {
        var keys: [String] = []
        var inside = false
        var indent: Int?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let lead = line.prefix { $0 == " " }.count
            if lead == 0 {
                inside = trimmed.hasPrefix("\(name):")
                indent = nil
                continue
            }
            guard inside else { continue }
            if indent == nil { indent = lead }
            if lead == indent, let colon = trimmed.firstIndex(of: ":") {
                keys.append(String(trimmed[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "\"' ")))
            }
        }
        return keys
    }
}

/// `cil run` arguments for options written as YAML keys: `key: value` becomes
/// `--key=value`, with underscores as hyphens except for the original code's own
/// names; `true` for a flag becomes `--flag`, `false` drops it.
enum RunArguments {
    static let underscoreNames: Set<String> = ["the_lambda", "lw_mr", "icarl_T", "icarl_beta", "dynamic_budget", "K", "dist"]
    static let flags: Set<String> = ["dynamic_budget", "quiet"]

    static func make(_ options: [(String, String)]) -> [String] {
        options.flatMap { key, value -> [String] in
            let name = underscoreNames.contains(key) ? key : key.replacingOccurrences(of: "_", with: "-")
            if flags.contains(key) || flags.contains(name) {
                return value == "true" ? ["--\(name)"] : []
            }
            return ["--\(name)=\(value)"]
        }
    }
}
