import CILSDK
import Foundation

/// Runs the arms of a comparison, each as its own `cil run` process (a crashing
/// plugin fails its arm, not the comparison), up to `jobs` at a time. The cells of a
/// phase-0 group (`ComparisonPlan`: the arms of a baseline and seed, and of every
/// baseline with the same phase-0 recipe) share phase 0: the first trains it, the
/// others start from its checkpoint (`--phase0-from`) once it exists. The first arms are started
/// before the others, so that no slot waits for a phase 0 that has not begun. Each
/// `cil run` locks its own run directory (`DirectoryLock`); reading another arm's
/// phase 0 takes no lock, so an arm may adopt it while that arm trains on.
struct ComparisonScheduler {
    let plan: ComparisonPlan
    let jobs: Int

    typealias Job = ComparisonPlan.Cell

    /// What the scheduler knows while it runs: the jobs not started, the processes
    /// running, the runs ended, and which phase-0 groups' first cells have ended.
    private struct State {
        var pending: [Job] = []
        var running: [(job: Job, process: Process, log: URL)] = []
        var finished: [ComparisonRun] = []
        var firstDone: Set<String> = []
    }

    /// Runs every job; returns the runs with their results or failures.
    func run(log: (String) -> Void) throws -> [ComparisonRun] {
        var state = initialState()
        let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / max(jobs, 1))
        try FileManager.default.createDirectory(at: plan.directory.appendingPathComponent("runs"), withIntermediateDirectories: true)
        while !state.pending.isEmpty || !state.running.isEmpty {
            try startWhatMayStart(&state, threads: threads, log: log)
            usleep(200_000)
            collectEnded(&state, log: log)
        }
        return state.finished
    }

    /// The cells to run, first cells (which train a phase 0) first: every other cell
    /// waits for one. A cell finished by an earlier invocation is reported, not launched again.
    private func initialState() -> State {
        var state = State()
        var cells: [Job] = []
        for cell in plan.cells() {
            guard let results = ComparisonPlan.loadResults(cell.run.directory), results.complete else { cells.append(cell); continue }
            var run = cell.run
            run.results = results
            state.finished.append(run)
            if cell.first { state.firstDone.insert(cell.groupKey) }
        }
        state.pending = cells.filter(\.first) + cells.filter { !$0.first }
        return state
    }

    /// The group's phase-0 source once its checkpoint exists.
    private func phaseZeroReady(_ job: Job) -> URL? {
        guard let first = job.phaseZeroSource else { return nil }
        return FileManager.default.fileExists(atPath: ComparisonPlan.phaseZeroCheckpoint(of: first.path).path) ? first : nil
    }

    /// Starts pending jobs while slots are free: a first cell at once, another cell
    /// once its group's phase 0 exists (or its first cell ended without one).
    private func startWhatMayStart(_ state: inout State, threads: Int, log: (String) -> Void) throws {
        var i = 0
        while state.running.count < jobs, i < state.pending.count {
            var job = state.pending[i]
            let source = phaseZeroReady(job)
            guard job.first || source != nil || state.firstDone.contains(job.groupKey) else { i += 1; continue }
            state.pending.remove(at: i)
            // A run directory another process holds (a `cil run` of its own, or an arm
            // of an earlier comparison still going) fails its arm with the lock's
            // message, before anything in it is touched (its log.txt included). The
            // group's other cells then go on as after any failed first cell.
            if let inUse = DirectoryLock.inUse(URL(fileURLWithPath: job.run.directory), kind: "run directory") {
                var run = job.run
                run.results = ComparisonPlan.loadResults(run.directory)
                run.failure = inUse.description
                log("FAILED \(run.baseline) / \(run.arm) / seed \(run.seed): \(inUse)")
                if job.first { state.firstDone.insert(job.groupKey) }
                state.finished.append(run)
                continue
            }
            // `cil run` adopts it only while the run has no checkpoint of its own.
            if let source { job.arguments.append("--phase0-from=\(source.path)") }
            job.arguments.append("--threads=\(threads)")
            let (process, logURL) = try launch(job)
            log("started \(job.run.baseline) / \(job.run.arm) / seed \(job.run.seed) → \(job.run.directory)")
            state.running.append((job, process, logURL))
        }
    }

    /// Starts `job`'s `cil run`, its output appended to the run directory's log.txt.
    private func launch(_ job: Job) throws -> (Process, URL) {
        try FileManager.default.createDirectory(atPath: job.run.directory, withIntermediateDirectories: true)
        let logURL = URL(fileURLWithPath: job.run.directory).appendingPathComponent("log.txt")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logURL)
        _ = try? handle.seekToEnd()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = job.arguments
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return (process, logURL)
    }

    /// Moves the processes that ended to the finished runs, with their results or failures.
    private func collectEnded(_ state: inout State, log: (String) -> Void) {
        var ended: [ComparisonRun] = [], endedFirst: [String] = []
        state.running.removeAll { entry in
            guard !entry.process.isRunning else { return false }
            var run = entry.job.run
            run.results = ComparisonPlan.loadResults(run.directory)
            if entry.process.terminationReason == .exit && entry.process.terminationStatus == 0 {
                log("finished \(run.baseline) / \(run.arm) / seed \(run.seed)")
            } else {
                run.failure = Self.failure(of: entry.process, baseline: run.baseline, log: entry.log)
                log("FAILED \(run.baseline) / \(run.arm) / seed \(run.seed): \(run.failure!)")
            }
            if entry.job.first { endedFirst.append(entry.job.groupKey) }
            ended.append(run)
            return true
        }
        state.finished += ended
        state.firstDone.formUnion(endedFirst)
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
        let how = "cil run (baseline '\(baseline)') was killed by \(SignalName.of(status))"
        if let crash = lines.last(where: { $0.hasPrefix("cil: crashed by ") }) {
            return "\(how): \(crash.dropFirst(5)); log \(log.path)"
        }
        return "\(how); log \(log.path): \(lines.suffix(3).joined(separator: " | "))"
    }
}
