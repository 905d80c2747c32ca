import ArgumentParser
import CILSDK
import Foundation

/// `cil report DIR...`: re-renders the tables and plot from finished run
/// directories, or from the runs/ of comparison directories (for one submitted
/// with `--slurm`, the cells of its slurm/jobs.json, as `cil compare --collect`).
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
        var comparisons = 0
        // The arm order `cil compare` wrote (its first arm is the reference of the Δ
        // columns); run directories alone list arms alphabetically.
        var recordedArmOrder: [String] = []
        for path in directories {
            // A comparison submitted with --slurm: its recorded cells, unfinished ones with their Slurm state.
            if FileManager.default.fileExists(atPath: SlurmRecord.url(in: URL(fileURLWithPath: path)).path) {
                runs += try SlurmCollector(directory: URL(fileURLWithPath: path)).runs().runs
                comparisons += 1
                continue
            }
            let runsDir = (path as NSString).appendingPathComponent("runs")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: runsDir, isDirectory: &isDir), isDir.boolValue {
                comparisons += 1
                recordedArmOrder += Self.armOrder(ofComparison: path)
                let names = (try? FileManager.default.contentsOfDirectory(atPath: runsDir))?.sorted() ?? []
                for name in names {
                    let runPath = (runsDir as NSString).appendingPathComponent(name)
                    if var run = try? Self.run(at: runPath) {
                        run.arm = Self.armName(directoryName: name, baseline: run.baseline, seed: run.seed) ?? run.arm
                        runs.append(run)
                    } else {
                        // A run of the comparison that never wrote results: report it as failed,
                        // named from its config.json when it got that far (a baseline's name may
                        // contain "-"), else from the directory name alone.
                        let configURL = URL(fileURLWithPath: runPath).appendingPathComponent("config.json")
                        let config = (try? Data(contentsOf: configURL)).flatMap { try? JSONDecoder().decode(RunConfiguration.self, from: $0) }
                        let parts = name.split(separator: "-")
                        let baseline = config?.baseline ?? parts.first.map(String.init) ?? name
                        let seed = config.map { Int($0.trainSeed) } ?? parts.last.flatMap { Int($0.dropFirst(4)) } ?? 0
                        runs.append(ComparisonRun(baseline: baseline,
                                                  arm: Self.armName(directoryName: name, baseline: baseline, seed: seed) ?? name,
                                                  seed: seed, directory: runPath, results: nil,
                                                  failure: "not finished: no phase done yet (running, stopped or failed; see \(runPath)/log.txt)"))
                    }
                }
            } else {
                runs.append(try Self.run(at: path))
            }
        }
        guard !runs.isEmpty else { throw ValidationError("no run directories found in \(directories.joined(separator: ", "))") }
        let outDir = URL(fileURLWithPath: out ?? (directories.count == 1 && (runs.count > 1 || comparisons == 1) ? directories[0] : "."))
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        let report = ComparisonReport(runs: runs, armOrder: (recordedArmOrder + runs.map(\.arm)).uniqued())
        try report.write(to: outDir)
        print(report.markdown)
        print("\nWritten: \(outDir.appendingPathComponent("index.html").path)")
    }

    /// The ARM of a run directory `cil compare` named BASELINE-ARM-seedN, if it has that form.
    static func armName(directoryName name: String, baseline: String, seed: Int) -> String? {
        let prefix = "\(baseline)-", suffix = "-seed\(seed)"
        guard name.hasPrefix(prefix), name.hasSuffix(suffix), name.count > prefix.count + suffix.count else { return nil }
        return String(name.dropFirst(prefix.count).dropLast(suffix.count))
    }

    /// The arm order recorded in a comparison directory: its arms.json (written when the
    /// comparison starts), then the arms of its comparison.json (empty without either).
    static func armOrder(ofComparison path: String) -> [String] {
        let directory = URL(fileURLWithPath: path)
        let recorded = (try? Data(contentsOf: directory.appendingPathComponent(armOrderFile)))
            .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }?["arms"] as? [String] ?? []
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("comparison.json")),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let baselines = json["baselines"] as? [[String: Any]] else { return recorded }
        return (recorded + baselines.flatMap { ($0["arms"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } }).uniqued()
    }

    /// `arms.json` in a comparison directory: `{"arms": [...]}`, the experiment's arm
    /// order, written when `cil compare` starts.
    static let armOrderFile = "arms.json"

    /// One run directory as a comparison run; its arm is named from its branches.
    static func run(at path: String) throws -> ComparisonRun {
        guard let results = ComparisonPlan.loadResults(path) else {
            throw ValidationError("\(path) has no readable results.json (not a cil run directory, or not started)")
        }
        let c = results.config
        let arm = c.branchMode == .single ? "single-\(c.branch1)" : "dual-\(c.branch1)-\(c.branch2)"
        return ComparisonRun(baseline: c.baseline, arm: arm, seed: Int(c.trainSeed), directory: path, results: results,
                             failure: results.complete ? nil : "not finished: \(results.phases.count) phases done (running, stopped or failed)")
    }
}
