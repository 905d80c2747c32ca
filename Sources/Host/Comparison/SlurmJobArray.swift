import Foundation

/// Resources asked of Slurm for every array task (`#SBATCH` lines).
struct SlurmResources: Codable, Equatable {
    var partition: String?
    var time: String?
    /// CPUs per task; the task's `cil run` uses as many engine threads.
    var cpusPerTask: Int = 1
    var mem: String?
    /// Further `sbatch` options, each written verbatim as `#SBATCH OPTION`.
    var extra: [String] = []
}

/// One `sbatch` job array: task i runs `tasks[i]`'s command. The script maps
/// `SLURM_ARRAY_TASK_ID` to a cell with a bash `case`, so it is self-contained:
/// Slurm keeps a copy at submission, and a requeued (preempted) task runs the
/// same `cil run` again, which resumes after the run's last finished phase.
/// Output of task i of job A goes to `logDirectory/A_i.out`, appended across restarts.
struct SlurmJobArray {
    struct Task {
        /// The cell this task computes (for the comment and the record).
        var run: ComparisonRun
        /// `cil run ...` arguments (without the executable and `--threads`).
        var arguments: [String]
    }

    var name: String
    /// What the array does, one line for the script's header.
    var purpose: String
    var executable: String
    var tasks: [Task]
    var logDirectory: URL
    var workingDirectory: String
    var resources: SlurmResources
    /// Cancel pending tasks whose dependency can never be satisfied (a failed phase 0).
    var killOnInvalidDependency = false

    /// The log file of array task `task` of job `jobID`.
    static func logPath(logDirectory: String, jobID: String, task: Int) -> String {
        (logDirectory as NSString).appendingPathComponent("\(jobID)_\(task).out")
    }

    /// `text` quoted for bash (single quotes; a quote inside as '\'').
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The batch script.
    var script: String {
        precondition(!tasks.isEmpty, "a job array needs at least one task")
        var lines = [
            "#!/bin/bash",
            "# Written by `cil compare --slurm`: \(purpose).",
            "# Array task i runs case i below: a `cil run`, which resumes its run",
            "# directory after the last finished phase (so --requeue is safe).",
            "#SBATCH --job-name=\(name)",
            "#SBATCH --array=0-\(tasks.count - 1)",
            "#SBATCH --output=\(logDirectory.path)/%A_%a.out",
            "#SBATCH --open-mode=append",
            "#SBATCH --requeue",
            "#SBATCH --chdir=\(workingDirectory)",
            "#SBATCH --cpus-per-task=\(resources.cpusPerTask)",
        ]
        if let p = resources.partition { lines.append("#SBATCH --partition=\(p)") }
        if let t = resources.time { lines.append("#SBATCH --time=\(t)") }
        if let m = resources.mem { lines.append("#SBATCH --mem=\(m)") }
        if killOnInvalidDependency { lines.append("#SBATCH --kill-on-invalid-dep=yes") }
        for option in resources.extra { lines.append("#SBATCH \(option)") }
        lines += ["", "set -euo pipefail", "case \"${SLURM_ARRAY_TASK_ID:?not started as a Slurm array task}\" in"]
        for (i, task) in tasks.enumerated() {
            lines.append("  \(i)) # \(task.run.baseline) / \(task.run.arm) / seed \(task.run.seed)")
            lines.append("     args=(\(task.arguments.map(Self.quoted).joined(separator: " "))) ;;")
        }
        lines += [
            "  *) echo \"cil: no cell for array task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;",
            "esac",
            "echo \"cil: job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ), restart ${SLURM_RESTART_COUNT:-0}\"",
            "exec \(Self.quoted(executable)) \"${args[@]}\" \"--threads=${SLURM_CPUS_PER_TASK:-1}\"",
            "",
        ]
        return lines.joined(separator: "\n")
    }
}

/// `submit.sh`: submits the arrays exactly as `cil compare --slurm` does, the arm
/// array held until every phase-0 task finished successfully (`afterok`). Written
/// with `--dry-run` too, so the jobs can be submitted by hand.
enum SlurmSubmitScript {
    static func text(phaseZeroScript: String?, armsScript: String) -> String {
        var lines = ["#!/bin/bash",
                     "# Written by `cil compare --slurm`: submits the phase-0 array, then the arm array after it.",
                     "set -euo pipefail"]
        if let phaseZeroScript {
            lines += ["phase0=$(sbatch --parsable \(SlurmJobArray.quoted(phaseZeroScript)))",
                      "phase0=${phase0%%;*}",
                      "arms=$(sbatch --parsable --dependency=afterok:${phase0} \(SlurmJobArray.quoted(armsScript)))",
                      "echo \"phase 0: job ${phase0}; arms: job ${arms%%;*}\""]
        } else {
            lines += ["arms=$(sbatch --parsable \(SlurmJobArray.quoted(armsScript)))",
                      "echo \"arms: job ${arms%%;*}\""]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
