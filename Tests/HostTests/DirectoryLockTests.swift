import Foundation
import Testing

/// One cil process at a time in a run or comparison directory (`flock` on `DIR/.lock`,
/// which holds the holder's pid), through the real binary: a second `cil run` on a
/// directory in use is refused, naming the holder's pid, and changes nothing; the
/// directory of a run killed by SIGKILL is free at once, and the same command resumes;
/// in `cil compare`, an arm whose directory another process holds fails with the
/// lock's message while the other arms finish; a second `cil compare` of a directory in
/// use is refused. docs/RELIABILITY.md lists these with the other faults.
@Suite("directory lock", .serialized)
struct DirectoryLockTests {
    /// The tiny run of the reliability tests with 3 epochs in each later phase, so that
    /// it is still training for a few seconds once phase 0 is checkpointed.
    static func arguments(out: String) -> [String] {
        RunReliabilityTests.arguments(out: out, extra: ["--epochs", "3"])
    }

    /// The refusal `cil run` and `cil compare` print for a directory held by `pid`.
    static func inUse(_ kind: String, _ dir: URL, pid: Int32) -> String {
        "the \(kind) \(dir.path) is in use by another cil process (pid \(pid)); wait for it to end or stop it, or use another --out"
    }

    /// Every file and directory under `dir` (recursively, or only its own entries), with
    /// its modification time and bytes: equal snapshots mean nothing was written.
    struct Entry: Equatable {
        let modified: Date?
        let bytes: Data?
    }

    static func snapshot(_ dir: URL, recursive: Bool = true) -> [String: Entry] {
        let fm = FileManager.default
        let names = recursive ? (fm.enumerator(atPath: dir.path)?.allObjects as? [String] ?? [])
                              : ((try? fm.contentsOfDirectory(atPath: dir.path)) ?? [])
        var out: [String: Entry] = [:]
        for name in names {
            let path = dir.appendingPathComponent(name).path
            out[name] = Entry(modified: (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                              bytes: fm.contents(atPath: path))
        }
        return out
    }

    /// How many events named `name` the run directory's log holds.
    static func events(_ name: String, in dir: URL) throws -> Int {
        let log = try String(contentsOf: dir.appendingPathComponent("events.jsonl"), encoding: .utf8)
        return log.split(separator: "\n").filter { $0.contains("\"event\":\"\(name)\"") }.count
    }

    /// Waits (up to `seconds`) until `url` exists or `process` ends; whether it exists.
    static func wait(for url: URL, while process: Process, seconds: Double = 120) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !FileManager.default.fileExists(atPath: url.path) && process.isRunning && Date() < deadline { usleep(10_000) }
        return FileManager.default.fileExists(atPath: url.path)
    }

    /// Runs `cil arguments...` like `CommandRunner.run`, but gives up after `seconds`:
    /// then the process is killed and the test fails (a comparison waiting forever
    /// for an arm would otherwise hang the test run).
    static func run(_ arguments: [String], within seconds: Double = 300) throws -> CommandRunner.Output {
        let scratch = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout"), errURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = CommandRunner.executable
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning {
            Issue.record("cil \(arguments.prefix(2).joined(separator: " ")) was still running after \(Int(seconds)) s; killed")
            Self.signal(process, SIGKILL)
        }
        process.waitUntilExit()
        return CommandRunner.Output(status: process.terminationStatus,
                                    stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                                    stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    /// Signals a process this test started, only while it has not been reaped.
    static func signal(_ process: Process, _ sig: Int32) {
        if process.isRunning { kill(process.processIdentifier, sig) }
    }

    @Test func aSecondRunIsRefusedAndAKilledRunsDirectoryIsFreeAtOnce() throws {
        let dir = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let arguments = Self.arguments(out: dir.path)
        let first = try KillResumeTests.start(arguments)
        defer { Self.signal(first, SIGKILL); first.waitUntilExit() }
        let expected = "Error: " + Self.inUse("run directory", dir, pid: first.processIdentifier) + "\n"

        // While the first trains (phase 0 done, phase 1 going).
        try #require(Self.wait(for: dir.appendingPathComponent("checkpoints/phase-0.ckpt"), while: first))
        let second = try CommandRunner.run(arguments)
        #expect(second.status == 1, "stdout: \(second.stdout)")
        #expect(second.stderr == expected)
        #expect(second.stdout.isEmpty)
        try #require(first.isRunning, "the first run ended before the second was refused (or was not refused)")

        // Stopped, the first keeps the lock and the directory holds still: the refused
        // run changes nothing in it.
        kill(first.processIdentifier, SIGSTOP)
        let before = Self.snapshot(dir)
        #expect(before[".lock"] != nil && before["config.json"] != nil && before["events.jsonl"] != nil)
        let third = try CommandRunner.run(arguments)
        #expect(third.status == 1)
        #expect(third.stderr == expected)
        let after = Self.snapshot(dir)
        #expect(Set(after.keys) == Set(before.keys))
        for (name, entry) in before where after[name] != entry {
            Issue.record("the refused run changed \(name)")
        }
        #expect(try Self.events("start", in: dir) == 1)
        #expect(try Self.events("created", in: dir) == 1)

        // SIGKILL (a stopped process gets it too): the lock goes with the process, so
        // the same command, started at once, resumes after phase 0 and finishes.
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        #expect(first.terminationReason == .uncaughtSignal && first.terminationStatus == SIGKILL)
        let resumed = try CommandRunner.run(arguments)
        #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
        #expect(resumed.stdout.contains("average incremental accuracy"), "\(resumed.stdout)")
        #expect(RunCommandTests.phases(try RunCommandTests.results(dir)).count == 3)
        #expect(try Self.events("resume", in: dir) >= 1)
        #expect(try Self.events("start", in: dir) == 2)
        #expect(try Self.events("finished", in: dir) == 1)
    }

    /// The comparison of the lock tests: iCaRL plain (the group's first arm, which
    /// trains phase 0) and on MANets (which adopts it), the tiny protocol.
    static let experiment = TinyProtocol.yaml(epochsFirst: 1) + """
        baselines: [icarl]
        arms:
          plain:  {branch_mode: single, branch_1: free}
          manets: {branch_mode: dual, branch_1: ss, branch_2: free}
        seeds: [1993]

        """

    /// Writes `text` as the experiment file in `dir`; returns its path.
    static func experimentFile(_ text: String, in dir: URL) throws -> String {
        let file = dir.appendingPathComponent("experiment.yaml")
        try Data(text.utf8).write(to: file)
        return file.path
    }

    /// One arm's directory locked by this test process (as a `cil run` of its own
    /// would hold it), first the arm that trains the shared phase 0, then the one
    /// that adopts it: that arm fails with the lock's message and is left untouched,
    /// the other finishes, and the exit status is 1.
    @Test(arguments: ["plain", "manets"])
    func anArmWhoseDirectoryIsInUseFailsAndTheOthersFinish(locked: String) throws {
        let dir = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try Self.experimentFile(Self.experiment, in: dir)
        let out = dir.appendingPathComponent("cmp")
        let lockedDir = out.appendingPathComponent("runs/icarl-\(locked)-seed1993")
        try FileManager.default.createDirectory(at: lockedDir, withIntermediateDirectories: true)
        let fd = open(lockedDir.appendingPathComponent(".lock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        try #require(fd >= 0)
        defer { close(fd) }
        try #require(flock(fd, LOCK_EX | LOCK_NB) == 0)
        let pid = Array("\(getpid())\n".utf8)
        try #require(write(fd, pid, pid.count) == pid.count)

        let result = try Self.run(["compare", file, "--out", out.path, "--jobs", "2"])
        let message = Self.inUse("run directory", lockedDir, pid: getpid())
        #expect(result.status == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("FAILED icarl / \(locked) / seed 1993: \(message)\n"), "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("comparison.json"))) as! [String: Any]
        let failures = json["failures"] as! [[String: Any]]
        #expect(failures.count == 1 && failures.first?["arm"] as? String == locked, "\(failures)")
        #expect(failures.first?["reason"] as? String == message)
        let other = locked == "plain" ? "manets" : "plain"
        let results = try RunCommandTests.results(out.appendingPathComponent("runs/icarl-\(other)-seed1993"))
        #expect(results["complete"] as? Bool == true)
        #expect(RunCommandTests.phases(results).count == 3)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: lockedDir.path)) ?? []) == [".lock"],
                "the comparison wrote into a directory in use")
        let markdown = try String(contentsOf: out.appendingPathComponent("comparison.md"), encoding: .utf8)
        #expect(markdown.contains("is in use by another cil process (pid \(getpid()))"), "\(markdown)")
    }

    /// A second `cil compare` of a comparison directory in use (the first stopped with
    /// SIGSTOP once it has started, so that it holds still) is refused and changes
    /// nothing there; once the first has finished, the directory is free again.
    @Test func aSecondComparisonOfADirectoryInUseIsRefused() throws {
        let dir = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try Self.experimentFile(TinyProtocol.yaml(epochsFirst: 1)
            + "baselines: [icarl]\narms:\n  plain: {branch_mode: single, branch_1: free}\nseeds: [1993]\n", in: dir)
        let out = dir.appendingPathComponent("cmp")
        let arguments = ["compare", file, "--out", out.path]
        let first = try KillResumeTests.start(arguments)
        defer { Self.signal(first, SIGCONT); first.waitUntilExit() }
        // arms.json is written once the comparison holds its directory.
        try #require(Self.wait(for: out.appendingPathComponent("arms.json"), while: first))
        kill(first.processIdentifier, SIGSTOP)
        let before = Self.snapshot(out, recursive: false)
        let second = try Self.run(arguments)
        #expect(second.status == 1, "stdout: \(second.stdout)")
        #expect(second.stderr == "Error: " + Self.inUse("comparison directory", out, pid: first.processIdentifier) + "\n")
        #expect(second.stdout.isEmpty)
        // runs/ belongs to the first comparison's arm, which goes on while it is stopped.
        let after = Self.snapshot(out, recursive: false)
        #expect(Set(after.keys) == Set(before.keys))
        for (name, entry) in before where name != "runs" && after[name] != entry {
            Issue.record("the refused comparison changed \(name)")
        }

        kill(first.processIdentifier, SIGCONT)
        first.waitUntilExit()
        #expect(first.terminationReason == .exit && first.terminationStatus == 0)
        let again = try Self.run(arguments)
        #expect(again.status == 0, "stderr: \(again.stderr)")
        #expect(again.stdout.contains("| icarl | plain |"), "\(again.stdout)")
    }
}
