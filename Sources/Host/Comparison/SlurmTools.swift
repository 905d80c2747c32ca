import Foundation

/// Slurm's command-line tools (`sbatch`, `sacct`, `scontrol`, `squeue`), found on
/// PATH and run as child processes; their outputs are short.
enum SlurmTools {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        /// stderr, else stdout, trimmed: what the tool said.
        var message: String {
            let e = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            return e.isEmpty ? stdout.trimmingCharacters(in: .whitespacesAndNewlines) : e
        }
    }

    /// The absolute path of `tool` on PATH, or nil.
    static func find(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = (String(dir) as NSString).appendingPathComponent(tool)
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `tool arguments...`; nil when the tool is not on PATH.
    static func run(_ tool: String, _ arguments: [String]) throws -> Output? {
        guard let path = find(tool) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Submits a batch script; returns its job id. `dependency` is an sbatch
    /// `--dependency` value (e.g. `afterok:12`).
    static func submit(script: String, dependency: String?) throws -> String {
        let arguments = ["--parsable"] + (dependency.map { ["--dependency=\($0)"] } ?? []) + [script]
        guard let output = try run("sbatch", arguments) else {
            throw SlurmError.toolMissing("cil compare --slurm: sbatch was not found on PATH (is this a Slurm login node?); "
                + "add --dry-run to only write the job scripts into the comparison's slurm/ directory")
        }
        let id = output.stdout.split(separator: "\n").last.map { String($0.split(separator: ";")[0]) }?
            .trimmingCharacters(in: .whitespaces) ?? ""
        guard output.status == 0, !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw SlurmError.submission("sbatch \(arguments.joined(separator: " ")) failed (status \(output.status)): \(output.message)")
        }
        return id
    }

    /// The state of a job or array task (`12_3`), and where it was read:
    /// `sacct` when accounting is enabled, else `scontrol show job` (which knows a
    /// job until MinJobAge after its end). When neither knows it, says why.
    static func state(of job: String) -> (state: String, source: String) {
        var notes: [String] = []
        if let sacct = try? run("sacct", ["-n", "-P", "-X", "-j", job, "-o", "State"]) {
            let line = sacct.stdout.split(separator: "\n").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
            if sacct.status == 0, !line.isEmpty { return (line, "sacct") }
            notes.append("sacct: \(sacct.status == 0 ? "no record" : sacct.message)")
        } else {
            notes.append("sacct not found")
        }
        if let scontrol = try? run("scontrol", ["show", "job", job]) {
            if scontrol.status == 0, let state = field("JobState", in: scontrol.stdout) {
                let reason = field("Reason", in: scontrol.stdout).flatMap { $0 == "None" ? nil : $0 }
                return (reason.map { "\(state) (\($0))" } ?? state, "scontrol")
            }
            notes.append("scontrol: \(scontrol.message)")
        } else {
            notes.append("scontrol not found")
        }
        return ("UNKNOWN", notes.joined(separator: "; "))
    }

    /// `KEY=value` from `scontrol show` output.
    static func field(_ key: String, in text: String) -> String? {
        for token in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) where token.hasPrefix("\(key)=") {
            return String(token.dropFirst(key.count + 1))
        }
        return nil
    }

    /// Job ids among `ids` that are still pending or running (`squeue`); empty
    /// when squeue is missing or knows none of them.
    static func active(_ ids: [String]) -> [String] {
        ids.filter { id in
            guard let out = try? run("squeue", ["-h", "-j", id, "-o", "%i"]), out.status == 0 else { return false }
            return !out.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        }
    }
}
