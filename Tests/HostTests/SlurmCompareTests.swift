import Foundation
import Testing

/// `cil compare --slurm`: the generated job arrays (always, with `--dry-run`, their
/// tasks executed by bash here as Slurm would), and, with `CIL_TEST_SLURM=1`, a
/// real cluster (`.ci/slurm-cluster.sh` starts a one-node one): a grid submitted,
/// waited for and collected, and a cancelled array task detected and resumed.
@Suite("cil compare --slurm", .serialized)
struct SlurmCompareTests {
    /// A tiny protocol (6 classes, 2 + 2 + 2, one epoch per phase): seconds per run.
    static func experiment(arms: String = "plain:  {branch_mode: single, branch_1: free}\n  manets: {branch_mode: dual, branch_1: ss, branch_2: free}",
                           seeds: String = "[1993, 7]", classes: Int = 6, epochs: Int = 1) -> String {
        TinyProtocol.yaml(classes: classes, epochs: epochs) + """
        baselines: [lucir]
        arms:
          \(arms)
        seeds: \(seeds)

        """
    }

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cil-slurm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The arguments of each task of a generated script, by task index.
    static func tasks(of script: String) -> [Int: [String]] {
        var out: [Int: [String]] = [:]
        var index: Int?
        for line in script.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if let paren = line.firstIndex(of: ")"), let i = Int(line[..<paren]) { index = i; continue }
            if line.hasPrefix("args=("), let i = index {
                // Arguments are single-quoted without embedded quotes here.
                out[i] = line.split(separator: "'").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
                index = nil
            }
        }
        return out
    }

    /// Runs array task `task` of a generated script with bash, as Slurm would.
    static func runTask(_ script: URL, task: Int) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path]
        var env = ProcessInfo.processInfo.environment
        env["SLURM_ARRAY_TASK_ID"] = "\(task)"
        env["SLURM_ARRAY_JOB_ID"] = "0"
        env["SLURM_CPUS_PER_TASK"] = "1"
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test func dryRunWritesTheJobArraysAndResubmissionSkipsFinishedCells() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("experiment.yaml")
        try Data(Self.experiment().utf8).write(to: file)
        let out = dir.appendingPathComponent("cmp")
        let slurm = out.appendingPathComponent("slurm")
        let args = ["compare", file.path, "--out", out.path, "--slurm", "--dry-run", "--partition", "debug", "--time", "00:05:00",
                    "--cpus-per-task", "2", "--mem", "1G", "--sbatch-option=--qos=low"]
        let result = try CommandRunner.run(args)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("2 phase-0 tasks, 4 arm tasks, 0 finished cells skipped"), "\(result.stderr)")

        let arms = try String(contentsOf: slurm.appendingPathComponent("arms.sbatch"), encoding: .utf8)
        let phase0 = try String(contentsOf: slurm.appendingPathComponent("phase0.sbatch"), encoding: .utf8)
        let submit = try String(contentsOf: slurm.appendingPathComponent("submit.sh"), encoding: .utf8)
        for line in ["#SBATCH --array=0-3", "#SBATCH --output=\(slurm.path)/logs/%A_%a.out", "#SBATCH --open-mode=append",
                     "#SBATCH --requeue", "#SBATCH --partition=debug", "#SBATCH --time=00:05:00", "#SBATCH --cpus-per-task=2",
                     "#SBATCH --mem=1G", "#SBATCH --qos=low", "#SBATCH --kill-on-invalid-dep=yes"] {
            #expect(arms.contains(line + "\n"), "arms.sbatch lacks \(line):\n\(arms)")
        }
        #expect(phase0.contains("#SBATCH --array=0-1\n") && phase0.contains("#SBATCH --requeue\n"), "\(phase0)")
        let executable = CommandRunner.executable.resolvingSymlinksInPath().path
        #expect(arms.contains("exec '\(executable)' \"${args[@]}\" \"--threads=${SLURM_CPUS_PER_TASK:-1}\""), "\(arms)")

        // One arm task per arm and seed; the non-first arms start from the first arm's phase 0.
        let runs = out.appendingPathComponent("runs").path
        let armTasks = Self.tasks(of: arms)
        let expected = [(0, "plain", 1993), (1, "manets", 1993), (2, "plain", 7), (3, "manets", 7)]
        #expect(armTasks.count == 4)
        for (i, arm, seed) in expected {
            let a = armTasks[i] ?? []
            #expect(a.first == "run" && a.contains("--baseline=lucir") && a.contains("--seed=\(seed)") && a.contains("--num-classes=6"), "\(a)")
            #expect(a.contains("--out=\(runs)/lucir-\(arm)-seed\(seed)"), "\(a)")
            #expect(a.contains("--phase0-from=\(runs)/lucir-plain-seed\(seed)") == (arm == "manets"), "\(a)")
            #expect(!a.contains { $0.hasPrefix("--stop-after-phase") })
        }
        // One phase-0 task per baseline and seed: the first arm, stopping after phase 0.
        let p0Tasks = Self.tasks(of: phase0)
        #expect(p0Tasks.count == 2)
        for (i, seed) in [(0, 1993), (1, 7)] {
            let a = p0Tasks[i] ?? []
            #expect(a.contains("--out=\(runs)/lucir-plain-seed\(seed)") && a.contains("--stop-after-phase=0") && a.contains("--branch-mode=single"), "\(a)")
        }
        // The arm array waits for the phase-0 array.
        #expect(submit.contains("phase0=$(sbatch --parsable '\(slurm.path)/phase0.sbatch')"), "\(submit)")
        #expect(submit.contains("arms=$(sbatch --parsable --dependency=afterok:${phase0} '\(slurm.path)/arms.sbatch')"), "\(submit)")
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: slurm.appendingPathComponent("jobs.json"))) as! [String: Any]
        #expect((record["cells"] as! [Any]).count == 4)

        // The scripts run under bash as Slurm runs them: phase 0 of seed 1993 only,
        // then the MANets arm from it.
        #expect(try Self.runTask(slurm.appendingPathComponent("phase0.sbatch"), task: 0) == 0)
        let plain = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(runs)/lucir-plain-seed1993/results.json"))) as! [String: Any]
        #expect((plain["phases"] as! [Any]).count == 1 && plain["complete"] as? Bool == false)
        #expect(try Self.runTask(slurm.appendingPathComponent("arms.sbatch"), task: 1) == 0)
        let manets = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(runs)/lucir-manets-seed1993/results.json"))) as! [String: Any]
        #expect((manets["phases"] as! [Any]).count == 3 && manets["complete"] as? Bool == true)
        let events = try String(contentsOfFile: "\(runs)/lucir-manets-seed1993/events.jsonl", encoding: .utf8)
        #expect(events.contains("phase0_adopted"))

        // Resubmitting: the finished cell is skipped, seed 1993's phase 0 is not trained again.
        let again = try CommandRunner.run(args)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("1 phase-0 tasks, 3 arm tasks, 1 finished cells skipped"), "\(again.stderr)")
        let armTasks2 = Self.tasks(of: try String(contentsOf: slurm.appendingPathComponent("arms.sbatch"), encoding: .utf8))
        #expect(armTasks2.count == 3)
        #expect(!armTasks2.values.contains { $0.contains("--out=\(runs)/lucir-manets-seed1993") })
        let p0Tasks2 = Self.tasks(of: try String(contentsOf: slurm.appendingPathComponent("phase0.sbatch"), encoding: .utf8))
        #expect(p0Tasks2.count == 1 && p0Tasks2[0]?.contains("--out=\(runs)/lucir-plain-seed7") == true, "\(p0Tasks2)")

        // Collecting a never-submitted grid: the finished cell is reported, the others listed as not submitted.
        let collected = try CommandRunner.run(["compare", "--collect", out.path])
        #expect(collected.status == 1)
        #expect(collected.stdout.contains("| lucir | manets | 1 |"), "\(collected.stdout)")
        #expect(collected.stdout.contains("lucir / plain / seed 1993") && collected.stdout.contains("not submitted (only a --dry-run); 1 phase finished"), "\(collected.stdout)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("comparison.json").path))
        // `cil report DIR` reads the same record and writes into DIR.
        try FileManager.default.removeItem(at: out.appendingPathComponent("comparison.json"))
        let report = try CommandRunner.run(["report", out.path])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.contains("not submitted (only a --dry-run)"), "\(report.stdout)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("comparison.json").path))
    }

    @Test func clearErrorsWithoutSlurm() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("experiment.yaml")
        try Data(Self.experiment().utf8).write(to: file)
        let out = dir.appendingPathComponent("cmp").path
        let noSbatch = try CommandRunner.run(["compare", file.path, "--out", out, "--slurm"], environment: ["PATH": dir.path])
        #expect(noSbatch.status != 0)
        #expect(noSbatch.stderr.contains("sbatch was not found") && noSbatch.stderr.contains("--slurm") && noSbatch.stderr.contains("--dry-run"), "\(noSbatch.stderr)")
        let dryRunAlone = try CommandRunner.run(["compare", file.path, "--out", out, "--dry-run"])
        #expect(dryRunAlone.status != 0 && dryRunAlone.stderr.contains("--dry-run needs --slurm"), "\(dryRunAlone.stderr)")
        let notSlurm = try CommandRunner.run(["compare", "--collect", dir.path])
        #expect(notSlurm.status != 0 && notSlurm.stderr.contains("jobs.json"), "\(notSlurm.stderr)")
    }
}
