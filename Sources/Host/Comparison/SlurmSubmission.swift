import Foundation

/// `cil compare --slurm`: hands a comparison's unfinished cells to Slurm as two
/// job arrays written into `DIR/slurm/`:
///
/// - `phase0.sbatch`: one task per phase-0 group and seed (`ComparisonPlan`) whose
///   shared phase 0 is not trained yet: the group's first cell with `cil run
///   --stop-after-phase=0`;
/// - `arms.sbatch`: one task per unfinished cell (arm and seed), each `cil run` on
///   its own run directory (the group's other cells with `--phase0-from` the first's),
///   submitted with `--dependency=afterok:<phase-0 job>` when there is one.
///
/// Finished cells (complete results.json) are skipped, so resubmitting the same
/// grid submits only what is missing; an interrupted cell resumes after its last
/// finished phase. `submit.sh` holds the same sbatch calls; job ids go to `jobs.json`.
struct SlurmSubmission {
    let plan: ComparisonPlan
    let resources: SlurmResources
    /// Absolute path of the `cil` executable the tasks run.
    let executable: String
    /// Only write the scripts (and the record), submit nothing.
    let dryRun: Bool

    struct Outcome {
        var phaseZeroJob: String?
        var armsJob: String?
        var phaseZeroTasks: Int
        var armTasks: Int
        var scripts: [String]
    }

    var slurmDirectory: URL { plan.directory.appendingPathComponent("slurm") }
    var logDirectory: URL { slurmDirectory.appendingPathComponent("logs") }

    /// The phase-0 and arm arrays for the cells not finished yet (nil when empty).
    func arrays() -> (phaseZero: SlurmJobArray?, arms: SlurmJobArray?, finished: Int) {
        let cells = plan.cells()
        let open = cells.filter { !ComparisonPlan.isFinished($0.run.directory) }
        var phaseZero: [SlurmJobArray.Task] = []
        for cell in cells where cell.first && open.contains(where: { $0.groupKey == cell.groupKey })
            && !FileManager.default.fileExists(atPath: ComparisonPlan.phaseZeroCheckpoint(of: cell.run.directory).path) {
            phaseZero.append(.init(run: cell.run, arguments: cell.arguments + ["--stop-after-phase=0"]))
        }
        let arms = open.map { cell in
            SlurmJobArray.Task(run: cell.run, arguments: cell.arguments + (cell.phaseZeroSource.map { ["--phase0-from=\($0.path)"] } ?? []))
        }
        func array(_ name: String, _ purpose: String, _ tasks: [SlurmJobArray.Task], kill: Bool) -> SlurmJobArray? {
            tasks.isEmpty ? nil : SlurmJobArray(name: name, purpose: purpose, executable: executable, tasks: tasks,
                                                logDirectory: logDirectory, workingDirectory: FileManager.default.currentDirectoryPath,
                                                resources: resources, killOnInvalidDependency: kill)
        }
        return (array("cil-phase0", "the shared phase 0 of each phase-0 group and seed (\(plan.directory.path))", phaseZero, kill: false),
                array("cil-arms", "every unfinished arm and seed (\(plan.directory.path))", arms, kill: !phaseZero.isEmpty),
                cells.count - open.count)
    }

    /// The script files of a submission in `DIR/slurm/`.
    var phaseZeroURL: URL { slurmDirectory.appendingPathComponent("phase0.sbatch") }
    var armsURL: URL { slurmDirectory.appendingPathComponent("arms.sbatch") }
    var submitURL: URL { slurmDirectory.appendingPathComponent("submit.sh") }

    /// Writes the scripts and the record; submits them unless `dryRun`.
    func submit(log: (String) -> Void) throws -> Outcome {
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: plan.directory.appendingPathComponent("runs"), withIntermediateDirectories: true)
        var record = currentRecord()
        if !dryRun { try checkNothingActive(record) }

        let (phaseZero, arms, finished) = arrays()
        var outcome = Outcome(phaseZeroTasks: phaseZero?.tasks.count ?? 0, armTasks: arms?.tasks.count ?? 0, scripts: [])
        guard let arms else {
            log("every cell of \(plan.directory.path) is finished; nothing to submit")
            try record.write(to: plan.directory)
            return outcome
        }
        outcome.scripts = try writeScripts(phaseZero: phaseZero, arms: arms)
        var submission = SlurmRecord.Submission(
            time: ISO8601DateFormatter().string(from: Date()), dry_run: dryRun,
            phase0: phaseZero.map { SlurmRecord.JobArray(job_id: nil, script: phaseZeroURL.path, tasks: $0.tasks.map(\.run.directory)) },
            arms: SlurmRecord.JobArray(job_id: nil, script: armsURL.path, tasks: arms.tasks.map(\.run.directory)))
        if dryRun {
            record.submissions.append(submission)
            try record.write(to: plan.directory)
            log("dry run: wrote \(outcome.scripts.joined(separator: ", ")) (\(outcome.phaseZeroTasks) phase-0 tasks, \(outcome.armTasks) arm tasks, \(finished) finished cells skipped); submit with \(submitURL.path)")
            return outcome
        }
        defer {
            // Whatever was submitted is recorded, even when a later sbatch fails.
            if submission.phase0?.job_id != nil || submission.arms?.job_id != nil {
                record.submissions.append(submission)
                try? record.write(to: plan.directory)
            }
        }
        try submitArrays(&submission, outcome: &outcome, finished: finished, log: log)
        return outcome
    }

    /// The comparison's record (a new one if it has none yet) with the plan's arms and cells.
    func currentRecord() -> SlurmRecord {
        var record = (try? SlurmRecord.load(from: plan.directory))
            ?? SlurmRecord(arm_order: [], cells: [], log_directory: logDirectory.path)
        record.arm_order = plan.experiment.arms.map(\.name)
        record.log_directory = logDirectory.path
        record.cells = plan.cells().map { cell in
            SlurmRecord.Cell(baseline: cell.run.baseline, arm: cell.run.arm, seed: cell.run.seed, directory: cell.run.directory,
                             phase0_directory: (cell.phaseZeroSource?.path) ?? cell.run.directory)
        }
        return record
    }

    /// Refuses to submit while a job submitted before is pending or running, so that no cell runs twice.
    func checkNothingActive(_ record: SlurmRecord) throws {
        let previous = record.submissions.filter { !$0.dry_run }.flatMap { [$0.phase0?.job_id, $0.arms?.job_id].compactMap { $0 } }
        let active = SlurmTools.active(previous)
        guard active.isEmpty else {
            throw SlurmError.busy("jobs \(active.joined(separator: ", ")) of \(plan.directory.path) are still pending or running; "
                + "wait for them (or scancel them) before resubmitting, so that no cell runs twice")
        }
    }

    /// Writes phase0.sbatch (or removes an old one when no phase 0 is left), arms.sbatch
    /// and submit.sh; returns their paths.
    func writeScripts(phaseZero: SlurmJobArray?, arms: SlurmJobArray) throws -> [String] {
        if let phaseZero {
            try writeAtomically(Data(phaseZero.script.utf8), to: phaseZeroURL)
        } else {
            try? FileManager.default.removeItem(at: phaseZeroURL)
        }
        try writeAtomically(Data(arms.script.utf8), to: armsURL)
        try writeAtomically(Data(SlurmSubmitScript.text(phaseZeroScript: phaseZero == nil ? nil : phaseZeroURL.path, armsScript: armsURL.path).utf8), to: submitURL)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: submitURL.path)
        return (phaseZero == nil ? [] : [phaseZeroURL.path]) + [armsURL.path, submitURL.path]
    }

    /// sbatch of the phase-0 array (if any), then of the arm array after it (afterok);
    /// each job id goes into `submission` and `outcome` as soon as it is known.
    func submitArrays(_ submission: inout SlurmRecord.Submission, outcome: inout Outcome, finished: Int,
                      log: (String) -> Void) throws {
        if submission.phase0 != nil {
            let id = try SlurmTools.submit(script: phaseZeroURL.path, dependency: nil)
            submission.phase0?.job_id = id
            outcome.phaseZeroJob = id
            log("submitted job \(id): phase 0 of \(outcome.phaseZeroTasks) baseline/seed groups (\(phaseZeroURL.path))")
        }
        let id = try SlurmTools.submit(script: armsURL.path, dependency: outcome.phaseZeroJob.map { "afterok:\($0)" })
        submission.arms?.job_id = id
        outcome.armsJob = id
        log("submitted job \(id): \(outcome.armTasks) arm tasks\(outcome.phaseZeroJob.map { ", after job \($0) (afterok)" } ?? "") (\(armsURL.path)); \(finished) finished cells skipped")
    }
}
