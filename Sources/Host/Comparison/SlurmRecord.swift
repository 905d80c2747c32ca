import Foundation

/// `DIR/slurm/jobs.json`: what `cil compare --slurm` planned and submitted for a
/// comparison directory, so that `--collect DIR` needs nothing else. Every
/// submission is kept (a resubmission appends one); a cell's latest task is the
/// one whose Slurm state and log `--collect` reports.
struct SlurmRecord: Codable {
    struct Cell: Codable {
        var baseline: String
        var arm: String
        var seed: Int
        var directory: String
        /// The run directory that trains this cell's phase 0 (its group's first arm).
        var phase0_directory: String
    }

    /// One job array: its job id (nil for a dry run) and the run directory of each task.
    struct JobArray: Codable {
        var job_id: String?
        var script: String
        var tasks: [String]
    }

    struct Submission: Codable {
        var time: String
        var dry_run: Bool
        var phase0: JobArray?
        var arms: JobArray?
    }

    var arm_order: [String]
    var cells: [Cell]
    var log_directory: String
    var submissions: [Submission] = []

    static func url(in comparison: URL) -> URL {
        comparison.appendingPathComponent("slurm/jobs.json")
    }

    static func load(from comparison: URL) throws -> SlurmRecord {
        let url = url(in: comparison)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw SlurmError.noRecord("\(url.path) not found: \(comparison.path) is not a comparison submitted with `cil compare --slurm`")
        }
        do {
            return try JSONDecoder().decode(SlurmRecord.self, from: data)
        } catch {
            throw SlurmError.noRecord("\(url.path) is not a cil Slurm record: \(error)")
        }
    }

    func write(to comparison: URL) throws {
        try writeAtomically(try JSONEncoder.cil.encode(self), to: Self.url(in: comparison))
    }

    /// The latest submitted (not dry-run) task that ran `directory` in `array`.
    func latestTask(of directory: String, in array: KeyPath<Submission, JobArray?>) -> (jobID: String, task: Int)? {
        for submission in submissions.reversed() where !submission.dry_run {
            if let job = submission[keyPath: array], let id = job.job_id, let i = job.tasks.firstIndex(of: directory) {
                return (id, i)
            }
        }
        return nil
    }
}

/// Errors of `cil compare --slurm` / `--collect`, each a sentence for the user.
enum SlurmError: Error, CustomStringConvertible {
    case noRecord(String)
    case toolMissing(String)
    case submission(String)
    case busy(String)

    var description: String {
        switch self {
        case let .noRecord(m), let .toolMissing(m), let .submission(m), let .busy(m): return m
        }
    }
}
