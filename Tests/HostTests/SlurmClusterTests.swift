import Foundation
import Testing

/// `cil compare --slurm` on a real Slurm cluster (CI starts a one-node one with
/// `.ci/slurm-cluster.sh`). Enabled by `CIL_TEST_SLURM=1`; then a missing or
/// broken cluster fails the tests instead of skipping them.
@Suite("cil compare --slurm on a cluster", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["CIL_TEST_SLURM"] == "1",
                "set CIL_TEST_SLURM=1 on a machine with a running Slurm cluster (bash .ci/slurm-cluster.sh starts one)"))
struct SlurmClusterTests {
    struct ToolOutput { var status: Int32; var stdout: String; var stderr: String }

    /// Runs a Slurm tool (by name, on PATH).
    static func tool(_ name: String, _ arguments: [String]) throws -> ToolOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [name] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ToolOutput(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Fails unless `sinfo` answers and shows a node that can run jobs.
    static func requireCluster() throws {
        let sinfo = try tool("sinfo", ["-h", "-o", "%T"])
        try #require(sinfo.status == 0, "CIL_TEST_SLURM=1 but sinfo fails: \(sinfo.stderr)")
        let states = sinfo.stdout.split(separator: "\n").map(String.init)
        try #require(states.contains { $0.hasPrefix("idle") || $0.hasPrefix("mixed") || $0.hasPrefix("allocated") },
                     "CIL_TEST_SLURM=1 but no usable node: sinfo says \(states)")
    }

    /// Waits until none of `jobs` is pending or running; fails after `timeout` seconds.
    static func waitUntilDone(_ jobs: [String], timeout: TimeInterval = 600) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let queue = try tool("squeue", ["-h", "-o", "%i %T"])
            try #require(queue.status == 0, "squeue failed: \(queue.stderr)")
            let mine = queue.stdout.split(separator: "\n").filter { line in jobs.contains { line.hasPrefix("\($0)_") || line.hasPrefix("\($0) ") } }
            if mine.isEmpty { return }
            Thread.sleep(forTimeInterval: 1)
        }
        Issue.record("jobs \(jobs) still queued after \(Int(timeout)) s: \((try? tool("squeue", []).stdout) ?? "")")
        throw CancellationError()
    }

    static func json(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    /// The job ids of the latest submission recorded in jobs.json (phase 0, arms).
    static func latestJobs(_ comparison: URL) throws -> (phase0: String?, arms: String?, submissions: Int) {
        let record = try json(comparison.appendingPathComponent("slurm/jobs.json"))
        let submissions = record["submissions"] as! [[String: Any]]
        let last = submissions.last ?? [:]
        return ((last["phase0"] as? [String: Any])?["job_id"] as? String, (last["arms"] as? [String: Any])?["job_id"] as? String, submissions.count)
    }

    @Test func gridRunsOnTheClusterAndIsCollected() throws {
        try Self.requireCluster()
        let dir = try SlurmCompareTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("experiment.yaml")
        try Data(SlurmCompareTests.experiment().utf8).write(to: file)
        let out = dir.appendingPathComponent("cmp")
        let submitted = try CommandRunner.run(["compare", file.path, "--out", out.path, "--slurm", "--time", "00:10:00"])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let jobs = try Self.latestJobs(out)
        let phase0 = try #require(jobs.phase0), arms = try #require(jobs.arms)
        #expect(submitted.stdout.contains("phase-0 job \(phase0), then arm job \(arms) (4 tasks)"), "\(submitted.stdout)")
        let dependency = try Self.tool("scontrol", ["show", "job", arms])
        #expect(dependency.stdout.contains("afterok:\(phase0)") || dependency.stdout.contains("JobState=COMPLETED") || dependency.stdout.contains("JobState=RUNNING"),
                "the arm array depends on the phase-0 array: \(dependency.stdout)")
        try Self.waitUntilDone([phase0, arms])

        let collected = try CommandRunner.run(["compare", "--collect", out.path])
        #expect(collected.status == 0, "\(collected.stdout)\n\(collected.stderr)")
        let comparison = try Self.json(out.appendingPathComponent("comparison.json"))
        #expect((comparison["failures"] as! [Any]).isEmpty)
        let armsJSON = (comparison["baselines"] as! [[String: Any]])[0]["arms"] as! [[String: Any]]
        #expect(armsJSON.map { $0["name"] as! String } == ["plain", "manets"])
        var means: [String: Double] = [:]
        for arm in armsJSON {
            let name = arm["name"] as! String
            let values = try [1993, 7].map { seed in
                try Self.json(out.appendingPathComponent("runs/lucir-\(name)-seed\(seed)/results.json"))["avg_inc_acc_cnn"] as! Double
            }
            let stat = arm["avg_inc_acc_cnn"] as! [String: Any]
            #expect(stat["n"] as? Int == 2)
            #expect(abs((stat["mean"] as! Double) - (values[0] + values[1]) / 2) < 1e-12)
            means[name] = stat["mean"] as? Double
        }
        #expect(abs((armsJSON[1]["delta_avg_inc_acc_cnn"] as! Double) - (means["manets"]! - means["plain"]!)) < 1e-12)
        for seed in [1993, 7] {
            // Phase 0 came from the phase-0 job: the plain arm resumed after it, MANets adopted it.
            let plainEvents = try String(contentsOf: out.appendingPathComponent("runs/lucir-plain-seed\(seed)/events.jsonl"), encoding: .utf8)
            #expect(plainEvents.contains("\"event\":\"stopped\"") && plainEvents.contains("\"after_phase\":0,\"event\":\"resume\""), "\(plainEvents)")
            let manetsEvents = try String(contentsOf: out.appendingPathComponent("runs/lucir-manets-seed\(seed)/events.jsonl"), encoding: .utf8)
            #expect(manetsEvents.contains("phase0_adopted"))
        }
        for task in 0..<4 {
            let log = out.appendingPathComponent("slurm/logs/\(arms)_\(task).out")
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            #expect(text.contains("average incremental accuracy"), "log \(log.path): \(text)")
        }
        // Resubmitting a finished grid submits nothing.
        let again = try CommandRunner.run(["compare", file.path, "--out", out.path, "--slurm", "--time", "00:10:00"])
        #expect(again.status == 0 && again.stdout.contains("Every cell is finished"), "\(again.stdout)\n\(again.stderr)")
        #expect(try Self.latestJobs(out).submissions == 1)
    }

    @Test func cancelledArrayTaskIsReportedAndResumed() throws {
        try Self.requireCluster()
        let dir = try SlurmCompareTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (out, submit, phase0, arms, run) = try Self.submitOneCellPastPhaseOne(in: dir)

        // Cancel the arm task now that it finished phase 1 (phase 0 came from the phase-0 job).
        let cancel = try Self.tool("scancel", ["\(arms)_0"])
        #expect(cancel.status == 0, "\(cancel.stderr)")
        try Self.waitUntilDone([phase0, arms])
        let partial = try Self.json(run.appendingPathComponent("results.json"))
        try #require(partial["complete"] as? Bool == false, "the run finished before it was cancelled; the test needs a longer run")
        let finishedBefore = (partial["phases"] as! [Any]).count

        // --collect reports the cell as cancelled, with its log.
        let collected = try CommandRunner.run(["compare", "--collect", out.path])
        #expect(collected.status == 1)
        #expect(collected.stdout.contains("Slurm task \(arms)_0: CANCELLED"), "\(collected.stdout)")
        #expect(collected.stdout.contains("log \(out.path)/slurm/logs/\(arms)_0.out"), "\(collected.stdout)")
        let failures = try Self.json(out.appendingPathComponent("comparison.json"))["failures"] as! [[String: Any]]
        #expect(failures.count == 1 && failures[0]["arm"] as? String == "plain")

        // Resubmitting resumes it after its last finished phase; phase 0 is not trained again.
        let resubmitted = try CommandRunner.run(submit)
        #expect(resubmitted.status == 0, "\(resubmitted.stderr)")
        let second = try Self.latestJobs(out)
        #expect(second.submissions == 2 && second.phase0 == nil, "no phase-0 job the second time")
        let arms2 = try #require(second.arms)
        try Self.waitUntilDone([arms2])
        let final = try CommandRunner.run(["compare", "--collect", out.path])
        #expect(final.status == 0, "\(final.stdout)\n\(final.stderr)")
        let results = try Self.json(run.appendingPathComponent("results.json"))
        #expect(results["complete"] as? Bool == true && (results["phases"] as! [Any]).count == 5)
        let events = try String(contentsOf: run.appendingPathComponent("events.jsonl"), encoding: .utf8)
        #expect(events.contains("\"after_phase\":\(finishedBefore - 1),\"event\":\"resume\""), "\(events)")
        let log = try String(contentsOf: out.appendingPathComponent("slurm/logs/\(arms2)_0.out"), encoding: .utf8)
        #expect(log.contains("resuming after phase \(finishedBefore - 1)"), "\(log)")
    }
}

extension SlurmClusterTests {
    @Test func failedPhaseZeroCancelsTheArmsAndIsReported() throws {
        try Self.requireCluster()
        let dir = try SlurmCompareTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("experiment.yaml")
        // The first arm (which trains phase 0) names a branch type that does not exist.
        try Data(SlurmCompareTests.experiment(
            arms: "broken: {branch_mode: dual, branch_1: nosuchbranch, branch_2: free}\n  manets: {branch_mode: dual, branch_1: ss, branch_2: free}",
            seeds: "[1993]").utf8).write(to: file)
        let out = dir.appendingPathComponent("cmp")
        let submitted = try CommandRunner.run(["compare", file.path, "--out", out.path, "--slurm", "--time", "00:10:00"])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let jobs = try Self.latestJobs(out)
        let phase0 = try #require(jobs.phase0), arms = try #require(jobs.arms)
        try Self.waitUntilDone([phase0, arms], timeout: 300)
        let collected = try CommandRunner.run(["compare", "--collect", out.path])
        #expect(collected.status == 1)
        // The MANets arm never ran: cancelled for its failed phase 0, whose log names the cause.
        #expect(collected.stdout.contains("Slurm task \(arms)_1: CANCELLED"), "\(collected.stdout)")
        #expect(collected.stdout.contains("its phase-0 task \(phase0)_0: FAILED"), "\(collected.stdout)")
        let log = try String(contentsOf: out.appendingPathComponent("slurm/logs/\(phase0)_0.out"), encoding: .utf8)
        #expect(log.contains("nosuchbranch"), "\(log)")
    }
}

extension SlurmClusterTests {
    /// What preemption does to a `--requeue` job: Slurm stops the task (SIGTERM) and
    /// starts it again; the same `cil run` resumes after its last finished phase.
    @Test func requeuedTaskResumesFromItsLastFinishedPhase() throws {
        try Self.requireCluster()
        let dir = try SlurmCompareTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (out, _, phase0, arms, run) = try Self.submitOneCellPastPhaseOne(in: dir)
        let requeue = try Self.tool("scontrol", ["requeue", "\(arms)_0"])
        #expect(requeue.status == 0, "\(requeue.stderr)")
        // A requeued job waits for a begin time (about two minutes); start it now.
        Thread.sleep(forTimeInterval: 2)
        let start = try Self.tool("scontrol", ["update", "JobId=\(arms)_0", "StartTime=now"])
        #expect(start.status == 0, "\(start.stderr)")
        try Self.waitUntilDone([phase0, arms], timeout: 300)

        let results = try Self.json(run.appendingPathComponent("results.json"))
        #expect(results["complete"] as? Bool == true && (results["phases"] as! [Any]).count == 5)
        let log = try String(contentsOf: out.appendingPathComponent("slurm/logs/\(arms)_0.out"), encoding: .utf8)
        #expect(log.contains("restart 1") && log.contains("interrupted by SIGTERM"), "\(log)")
        let events = try String(contentsOf: run.appendingPathComponent("events.jsonl"), encoding: .utf8)
        let resumes = events.split(separator: "\n").filter { $0.contains("\"event\":\"resume\"") }
        #expect(resumes.count == 2 && !resumes[1].contains("\"after_phase\":0,"), "after phase 0 (the phase-0 job), then after a later phase: \(resumes)")
        let collected = try CommandRunner.run(["compare", "--collect", out.path])
        #expect(collected.status == 0, "\(collected.stdout)")
    }
}

extension SlurmClusterTests {
    /// Submits one LUCIR plain cell (10 classes, 5 phases of 3 epochs: long enough to
    /// be interrupted between phases) and waits until its arm task finished phase 1.
    /// Returns the comparison directory, the submit command, the phase-0 and arm job
    /// ids and the cell's run directory.
    static func submitOneCellPastPhaseOne(in dir: URL) throws
        -> (out: URL, submit: [String], phase0: String, arms: String, run: URL) {
        let file = dir.appendingPathComponent("experiment.yaml")
        try Data(SlurmCompareTests.experiment(arms: "plain: {branch_mode: single, branch_1: free}", seeds: "[1993]",
                                              classes: 10, epochs: 3).utf8).write(to: file)
        let out = dir.appendingPathComponent("cmp")
        let submit = ["compare", file.path, "--out", out.path, "--slurm", "--time", "00:10:00"]
        let submitted = try CommandRunner.run(submit)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let jobs = try latestJobs(out)
        let phase0 = try #require(jobs.phase0), arms = try #require(jobs.arms)
        let run = out.appendingPathComponent("runs/lucir-plain-seed1993")
        let checkpoint = run.appendingPathComponent("checkpoints/phase-1.ckpt").path
        let deadline = Date().addingTimeInterval(300)
        while !FileManager.default.fileExists(atPath: checkpoint), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.2)
        }
        try #require(FileManager.default.fileExists(atPath: checkpoint), "phase 1 never finished")
        return (out, submit, phase0, arms, run)
    }
}
