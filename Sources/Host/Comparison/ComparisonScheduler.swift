import CILSDK
import Foundation

/// Runs the arms of a comparison, each as its own `cil run` process (a crashing
/// plugin fails its arm, not the comparison), up to `jobs` at a time. Arms of one
/// baseline and seed share phase 0: the first arm trains it, the others start from
/// its checkpoint (`--phase0-from`) once it exists.
struct ComparisonScheduler {
    let experiment: Experiment
    let directory: URL
    let jobs: Int
    let pluginDirs: [String]
    let extraArguments: [String]

    struct Job {
        var run: ComparisonRun
        var arguments: [String]
        var first: Bool
        var groupKey: String
    }

    /// The run directory of one arm.
    func runDirectory(baseline: String, arm: String, seed: Int) -> URL {
        directory.appendingPathComponent("runs").appendingPathComponent("\(baseline)-\(arm)-seed\(seed)")
    }

    func plannedJobs() -> [Job] {
        var out: [Job] = []
        for baseline in experiment.baselines {
            for seed in experiment.seeds {
                for (i, arm) in experiment.arms.enumerated() {
                    let dir = runDirectory(baseline: baseline, arm: arm.name, seed: seed)
                    var args = ["run"] + RunArguments.make(experiment.common + arm.options)
                        + ["--baseline=\(baseline)", "--seed=\(seed)", "--out=\(dir.path)"] + extraArguments
                        + (experiment.baselineOptions[baseline] ?? []).map { "--baseline-option=\($0.0)=\($0.1)" }
                    for d in pluginDirs { args.append("--plugin-dir=\(d)") }
                    out.append(Job(run: ComparisonRun(baseline: baseline, arm: arm.name, seed: seed, directory: dir.path),
                                   arguments: args, first: i == 0, groupKey: "\(baseline)/\(seed)"))
                }
            }
        }
        return out
    }

    /// Runs every job; returns the runs with their results or failures.
    func run(log: (String) -> Void) throws -> [ComparisonRun] {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var pending = plannedJobs()
        var running: [(job: Job, process: Process, log: URL)] = []
        var finished: [ComparisonRun] = []
        var firstDone: [String: Bool] = [:]
        let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / max(jobs, 1))
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("runs"), withIntermediateDirectories: true)

        func phaseZeroReady(_ job: Job) -> URL? {
            guard let first = pending.first(where: { $0.groupKey == job.groupKey && $0.first })?.run.directory
                    ?? running.first(where: { $0.job.groupKey == job.groupKey && $0.job.first })?.job.run.directory
                    ?? finished.first(where: { "\($0.baseline)/\($0.seed)" == job.groupKey && $0.arm == experiment.arms[0].name })?.directory
            else { return nil }
            let ckpt = URL(fileURLWithPath: first).appendingPathComponent("checkpoints/phase-0.ckpt")
            return FileManager.default.fileExists(atPath: ckpt.path) ? URL(fileURLWithPath: first) : nil
        }

        while !pending.isEmpty || !running.isEmpty {
            // Start what may start.
            var i = 0
            while running.count < jobs, i < pending.count {
                var job = pending[i]
                let source = job.first ? nil : phaseZeroReady(job)
                let mayStart = job.first || source != nil || firstDone[job.groupKey] == true
                if !mayStart { i += 1; continue }
                pending.remove(at: i)
                if let source, !FileManager.default.fileExists(atPath: URL(fileURLWithPath: job.run.directory).appendingPathComponent("config.json").path) {
                    job.arguments.append("--phase0-from=\(source.path)")
                }
                job.arguments.append("--threads=\(threads)")
                try FileManager.default.createDirectory(atPath: job.run.directory, withIntermediateDirectories: true)
                let logURL = URL(fileURLWithPath: job.run.directory).appendingPathComponent("log.txt")
                _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
                let handle = try FileHandle(forWritingTo: logURL)
                _ = try? handle.seekToEnd()
                let process = Process()
                process.executableURL = executable
                process.arguments = job.arguments
                process.standardOutput = handle
                process.standardError = handle
                try process.run()
                log("started \(job.run.baseline) / \(job.run.arm) / seed \(job.run.seed) → \(job.run.directory)")
                running.append((job, process, logURL))
            }
            usleep(200_000)
            // Collect what ended.
            running.removeAll { entry in
                guard !entry.process.isRunning else { return false }
                var run = entry.job.run
                let status = entry.process.terminationStatus
                if entry.process.terminationReason == .exit && status == 0 {
                    run.results = Self.loadResults(run.directory)
                    log("finished \(run.baseline) / \(run.arm) / seed \(run.seed)")
                } else {
                    run.failure = Self.failure(of: entry.process, baseline: run.baseline, log: entry.log)
                    run.results = Self.loadResults(run.directory)
                    log("FAILED \(run.baseline) / \(run.arm) / seed \(run.seed): \(run.failure!)")
                }
                if entry.job.first { firstDone[entry.job.groupKey] = true }
                finished.append(run)
                return true
            }
        }
        return finished
    }

    /// Why an arm's `cil run` failed, for the report: how it ended and, after a
    /// crash, the run's own line naming the plugin whose code was running
    /// (`cil: crashed by SIGNAL inside ... plugin 'NAME' (FILE), in ...`), else the
    /// last lines of its log.
    static func failure(of process: Process, baseline: String, log: URL) -> String {
        let status = process.terminationStatus
        let lines = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n")
        guard process.terminationReason == .uncaughtSignal else {
            return "cil run exited with status \(status); log \(log.path): \(lines.suffix(3).joined(separator: " | "))"
        }
        let how = "cil run (baseline '\(baseline)') was killed by \(PluginCrashReport.name(of: status))"
        if let crash = lines.last(where: { $0.hasPrefix("cil: crashed by ") }) {
            return "\(how): \(crash.dropFirst(5)); log \(log.path)"
        }
        return "\(how); log \(log.path): \(lines.suffix(3).joined(separator: " | "))"
    }

    static func loadResults(_ directory: String) -> RunResults? {
        guard let data = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent("results.json")) else { return nil }
        return try? JSONDecoder().decode(RunResults.self, from: data)
    }
}
