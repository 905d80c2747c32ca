import ArgumentParser
import CILSDK
import Foundation

/// `cil compare`: every baseline plain and on MANets (or any arms) under one
/// protocol, each arm in its own process; writes comparison.{md,csv,json,svg} and
/// index.html. Re-running the same command resumes unfinished arms.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run baselines × arms × seeds under one protocol and write tables and a plot of the differences.",
        discussion: """
        Give an experiment file (YAML; keys are `cil run` option names, plus baselines, arms \
        and seeds) or the same as flags: --baselines icarl,lucir,podnet --arm plain:branch_mode=single,branch_1=free \
        --seeds 1993 and any `cil run` option after `--`. Without --arm the arms are plain \
        (single/free) and manets (dual/ss/free).
        """)

    @Argument(help: "An experiment file (YAML).")
    var experimentFile: String?

    @Option(help: "The comparison directory (runs/ and the reports go there).")
    var out: String

    @Option(help: "Arms run in parallel (each in its own process with cores/jobs threads).")
    var jobs: Int = 1

    @Option(help: "Baselines, comma-separated (without an experiment file).")
    var baselines: String?

    @Option(name: .customLong("arm"), help: ArgumentHelp("An arm NAME:OPTION=VALUE,...; repeatable (without an experiment file).", valueName: "arm"))
    var arms: [String] = []

    @Option(help: "Seeds, comma-separated (without an experiment file).")
    var seeds: String?

    @OptionGroup var directories: PluginDirectoryOptions

    @Argument(parsing: .postTerminator, help: "`cil run` options shared by every run (after --).")
    var runOptions: [String] = []

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
    }

    func makeExperiment() throws -> Experiment {
        if let experimentFile {
            guard baselines == nil, arms.isEmpty, seeds == nil else {
                throw ValidationError("give either an experiment file or --baselines/--arm/--seeds, not both")
            }
            return try Experiment.load(path: experimentFile)
        }
        let names = (baselines ?? "icarl,lucir,podnet").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        let seedList = try (seeds ?? "1993").split(separator: ",").map { text -> Int in
            guard let s = Int(text.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--seeds \(seeds!): expected integers") }
            return s
        }
        var armList = Experiment.defaultArms
        if !arms.isEmpty {
            armList = try arms.map { spec in
                guard let colon = spec.firstIndex(of: ":") else { throw ValidationError("--arm \(spec): expected NAME:OPTION=VALUE,...") }
                let options = try spec[spec.index(after: colon)...].split(separator: ",").map { pair -> (String, String) in
                    guard let eq = pair.firstIndex(of: "=") else { throw ValidationError("--arm \(spec): '\(pair)' is not OPTION=VALUE") }
                    return (String(pair[..<eq]), String(pair[pair.index(after: eq)...]))
                }
                return (String(spec[..<colon]), options)
            }
        }
        return Experiment(baselines: names, arms: armList, seeds: seedList, common: [])
    }

    func run() throws {
        var experiment = try makeExperiment()
        // Resolve `dataset: auto` once, so that every arm uses the same data.
        let datasetIndex = experiment.common.firstIndex { $0.0 == "dataset" }
        let runDataset = runOptions.firstIndex(of: "--dataset").map { runOptions.indices.contains($0 + 1) ? runOptions[$0 + 1] : "" }
        if (datasetIndex.map { experiment.common[$0].1 } ?? runDataset) == "auto" {
            let dir = experiment.common.first { $0.0 == "data_dir" || $0.0 == "data-dir" }?.1
                ?? runOptions.firstIndex(of: "--data-dir").flatMap { runOptions.indices.contains($0 + 1) ? runOptions[$0 + 1] : nil }
            let (name, notice) = DatasetAuto.resolve(dataDir: dir)
            if let notice { FileHandle.standardError.write(Data("cil compare: \(notice)\n".utf8)) }
            if let i = datasetIndex { experiment.common[i].1 = name } else { experiment.common.append(("dataset", name)) }
        }
        let directory = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let scheduler = ComparisonScheduler(experiment: experiment, directory: directory, jobs: jobs,
                                            pluginDirs: directories.pluginDirs, extraArguments: runOptions)
        let runs = try scheduler.run { FileHandle.standardError.write(Data("cil compare: \($0)\n".utf8)) }
        let report = ComparisonReport(runs: runs, armOrder: experiment.arms.map(\.name))
        try report.write(to: directory)
        print(report.markdown)
        print("\nWritten: \(directory.appendingPathComponent("index.html").path)")
        if !report.failures.isEmpty { throw ExitCode(1) }
    }
}

/// `cil report DIR...`: re-renders the tables and plot from finished run
/// directories, or from the runs/ of comparison directories.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Re-render comparison tables and plots from run or comparison directories.")

    @Argument(help: "Run directories, or comparison directories (their runs/ are read).")
    var directories: [String]

    @Option(help: "Where to write the reports (default: the single comparison directory given, else the current directory).")
    var out: String?

    func run() throws {
        var runs: [ComparisonRun] = []
        for path in directories {
            let runsDir = (path as NSString).appendingPathComponent("runs")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: runsDir, isDirectory: &isDir), isDir.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: runsDir))?.sorted() ?? []
                for name in names {
                    let runPath = (runsDir as NSString).appendingPathComponent(name)
                    if var run = try? Self.run(at: runPath) {
                        // `cil compare` names run directories BASELINE-ARM-seedN: keep its arm names.
                        let prefix = "\(run.baseline)-", suffix = "-seed\(run.seed)"
                        if name.hasPrefix(prefix), name.hasSuffix(suffix), name.count > prefix.count + suffix.count {
                            run.arm = String(name.dropFirst(prefix.count).dropLast(suffix.count))
                        }
                        runs.append(run)
                    } else {
                        // A run of the comparison that never wrote results: report it as failed.
                        let parts = name.split(separator: "-")
                        let seed = parts.last.flatMap { Int($0.dropFirst(4)) } ?? 0
                        runs.append(ComparisonRun(baseline: parts.first.map(String.init) ?? name,
                                                  arm: parts.count > 2 ? parts[1..<(parts.count - 1)].joined(separator: "-") : name,
                                                  seed: seed, directory: runPath, results: nil,
                                                  failure: "no results.json (see \(runPath)/log.txt)"))
                    }
                }
            } else {
                runs.append(try Self.run(at: path))
            }
        }
        guard !runs.isEmpty else { throw ValidationError("no run directories found in \(directories.joined(separator: ", "))") }
        let outDir = URL(fileURLWithPath: out ?? (directories.count == 1 && runs.count > 1 ? directories[0] : "."))
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        let report = ComparisonReport(runs: runs, armOrder: runs.map(\.arm).uniqued())
        try report.write(to: outDir)
        print(report.markdown)
        print("\nWritten: \(outDir.appendingPathComponent("index.html").path)")
    }

    /// One run directory as a comparison run; its arm is named from its branches.
    static func run(at path: String) throws -> ComparisonRun {
        guard let results = ComparisonScheduler.loadResults(path) else {
            throw ValidationError("\(path) has no readable results.json (not a cil run directory, or not started)")
        }
        let c = results.config
        let arm = c.branchMode == .single ? "single-\(c.branch1)" : "dual-\(c.branch1)-\(c.branch2)"
        return ComparisonRun(baseline: c.baseline, arm: arm, seed: c.classOrderSeed, directory: path, results: results,
                             failure: results.complete ? nil : "incomplete: \(results.phases.count) phases finished")
    }
}
