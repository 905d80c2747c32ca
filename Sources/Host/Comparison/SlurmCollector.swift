import Foundation

/// `cil compare --collect DIR`: the cells of a comparison submitted with
/// `--slurm` (read from `DIR/slurm/jobs.json`), each with its results when its
/// run finished, else with why not: the Slurm state of its latest array task
/// (`sacct`, or `scontrol show job` when accounting is off), that task's log file,
/// the phases finished so far and, when the arm never started, the state of the
/// phase-0 task it waited for.
struct SlurmCollector {
    let directory: URL

    /// Every cell of the record, finished or not; and the arm order.
    func runs() throws -> (runs: [ComparisonRun], armOrder: [String]) {
        let record = try SlurmRecord.load(from: directory)
        let runs = record.cells.map { cell -> ComparisonRun in
            var run = ComparisonRun(baseline: cell.baseline, arm: cell.arm, seed: cell.seed, directory: cell.directory)
            run.results = ComparisonPlan.loadResults(cell.directory)
            if run.results?.complete != true { run.failure = reason(for: cell, results: run.results, record: record) }
            return run
        }
        return (runs, record.arm_order)
    }

    /// Why a cell has no complete results, as one line.
    func reason(for cell: SlurmRecord.Cell, results: RunResults?, record: SlurmRecord) -> String {
        let done = results.map { "\($0.phases.count) phase\($0.phases.count == 1 ? "" : "s") finished" } ?? "no phase finished"
        guard let (job, task) = record.latestTask(of: cell.directory, in: \.arms) else {
            return "not submitted (only a --dry-run); \(done)"
        }
        let (state, source) = SlurmTools.state(of: "\(job)_\(task)")
        let log = SlurmJobArray.logPath(logDirectory: record.log_directory, jobID: job, task: task)
        var text = "Slurm task \(job)_\(task): \(state) (\(source)); log \(log); \(done)"
        // An arm that never ran may have waited for a phase 0 that failed.
        if results == nil, !state.hasPrefix("RUNNING"), !state.hasPrefix("COMPLETED"),
           let (p0Job, p0Task) = record.latestTask(of: cell.phase0_directory, in: \.phase0) {
            let (p0State, p0Source) = SlurmTools.state(of: "\(p0Job)_\(p0Task)")
            if !p0State.hasPrefix("COMPLETED") {
                let p0Log = SlurmJobArray.logPath(logDirectory: record.log_directory, jobID: p0Job, task: p0Task)
                text += "; its phase-0 task \(p0Job)_\(p0Task): \(p0State) (\(p0Source)); log \(p0Log)"
            }
        }
        return text
    }

    /// Writes comparison.{md,csv,json,svg} and index.html into the comparison
    /// directory; returns the report (its `failures` are the missing cells).
    func collect() throws -> ComparisonReport {
        let (runs, armOrder) = try runs()
        let report = ComparisonReport(runs: runs, armOrder: armOrder)
        try report.write(to: directory)
        return report
    }
}
