import Foundation
import Host
import Testing

/// `cil run` under faults: SIGTERM stops after the current batch and the
/// same command resumes to identical results; a diverging loss names where it
/// happened and keeps the earlier phases; an unwritable run directory, a corrupt or
/// truncated checkpoint and an unknown option are clear errors with a non-zero exit.
/// docs/RELIABILITY.md lists the fault matrix these tests belong to.
@Suite("cil run reliability", .serialized)
struct RunReliabilityTests {
    /// 6 classes: 2 in phase 0, then 2 per phase (3 phases); a small backbone and
    /// 1-2 epochs, so a whole run takes a few seconds.
    static func arguments(out: String, extra: [String] = []) -> [String] {
        ["run", "--dataset", "synthetic", "--num-classes", "6", "--images-per-class", "40", "--test-images-per-class", "10",
         "--nb-cl-fg", "2", "--nb-cl", "2", "--preset", "quick", "--epochs-fg", "1", "--epochs", "2",
         "--lr-fg", "0.1", "--lr", "0.05", "--batch-size", "16", "--backbone", "resnet20", "--baseline", "icarl",
         "--branch-mode", "single", "--branch-1", "free", "--out", out, "--quiet", "--threads", "2"] + extra
    }

    static func temporaryDirectory() -> URL { RunCommandTests.temporaryDirectory() }

    static func phases(_ dir: URL) throws -> [[String: Any]] {
        RunCommandTests.phases(try RunCommandTests.results(dir))
    }

    /// Files left by an interrupted atomic write (`.NAME.tmp-PID`).
    static func temporaryFiles(in dir: URL) -> [String] {
        let names = (FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String]) ?? []
        return names.filter { $0.contains(".tmp-") }
    }

    /// SIGTERM once phase 0 is checkpointed: exit 143, one line saying the run stopped
    /// with the command to resume, an `interrupted` event, no half-written file; the
    /// same command then finishes with the results of an uninterrupted run.
    @Test func sigtermStopsCleanlyAndTheSameCommandResumes() throws {
        let whole = Self.temporaryDirectory(), stopped = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: whole); try? FileManager.default.removeItem(at: stopped) }
        let reference = try CommandRunner.run(Self.arguments(out: whole.path))
        #expect(reference.status == 0, "stderr: \(reference.stderr)")

        let arguments = Self.arguments(out: stopped.path)
        let process = Process()
        process.executableURL = CommandRunner.executable
        process.arguments = arguments
        let err = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        let checkpoint = stopped.appendingPathComponent("checkpoints/phase-0.ckpt")
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: checkpoint.path) && Date() < deadline && process.isRunning {
            usleep(10_000)
        }
        kill(process.processIdentifier, SIGTERM)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 143,
                "status \(process.terminationStatus) (\(process.terminationReason)); stderr: \(stderr)")
        let lines = stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(stderr)")
        #expect(stderr.contains("run stopped: interrupted by SIGTERM") && stderr.contains("phase 1"), "\(stderr)")
        #expect(stderr.contains("resume with: ") && stderr.hasSuffix(arguments.joined(separator: " ") + "\n"), "\(stderr)")
        #expect(Self.temporaryFiles(in: stopped).isEmpty, "\(Self.temporaryFiles(in: stopped))")
        #expect(try Self.phases(stopped).count == 1)
        let events = try String(contentsOf: stopped.appendingPathComponent("events.jsonl"), encoding: .utf8)
        #expect(events.contains("\"event\":\"interrupted\"") && events.contains("\"signal\":\"SIGTERM\""))

        let resumed = try CommandRunner.run(arguments)
        #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
        let a = try Self.phases(whole), b = try Self.phases(stopped)
        #expect(a.count == 3 && b.count == 3)
        for (x, y) in zip(a, b) {
            for key in ["acc_cnn", "acc_nme", "acc_cnn_base", "acc_nme_base", "exemplars_per_class"] {
                #expect("\(x[key] ?? "-")" == "\(y[key] ?? "-")", "phase \(x["phase"]!) \(key)")
            }
        }
    }

    /// A huge learning rate after phase 0 makes the loss NaN/∞: the run fails naming
    /// phase, epoch and batch, and results.json still holds phase 0.
    @Test func divergenceNamesWhereAndKeepsEarlierPhases() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try CommandRunner.run(Self.arguments(out: dir.path, extra: ["--lr", "1e30"]))
        #expect(out.status != 0)
        #expect(out.stderr.contains("phase 1") && out.stderr.contains("epoch") && out.stderr.contains("batch"), "\(out.stderr)")
        #expect(out.stderr.contains("the loss became"), "\(out.stderr)")
        let phases = try Self.phases(dir)
        #expect(phases.count == 1 && phases.first?["phase"] as? Int == 0)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("checkpoints/phase-0.ckpt").path))
        let events = try String(contentsOf: dir.appendingPathComponent("events.jsonl"), encoding: .utf8)
        #expect(events.contains("\"event\":\"diverged\""))
    }

    /// --out where no directory can be created: under a read-only directory, or (as
    /// root, whom permissions do not stop) inside a regular file.
    @Test func unwritableOutputDirectoryIsAClearError() throws {
        let dir = Self.temporaryDirectory()
        defer {
            chmod(dir.path, 0o755)
            try? FileManager.default.removeItem(at: dir)
        }
        let target: URL, blocker: URL
        if getuid() == 0 {
            blocker = dir.appendingPathComponent("a-file")
            try Data("not a directory".utf8).write(to: blocker)
            target = blocker.appendingPathComponent("run")
        } else {
            blocker = dir.appendingPathComponent("read-only")
            try FileManager.default.createDirectory(at: blocker, withIntermediateDirectories: true)
            chmod(blocker.path, 0o555)
            defer { chmod(blocker.path, 0o755) }
            target = blocker.appendingPathComponent("run")
        }
        let out = try CommandRunner.run(Self.arguments(out: target.path))
        #expect(out.status != 0)
        #expect(out.stderr.contains(target.path), "\(out.stderr)")
        #expect(out.stderr.contains(getuid() == 0 ? "\(blocker.path) is a file" : "\(blocker.path) is not writable"), "\(out.stderr)")
        #expect(!out.stderr.contains("NSCocoaErrorDomain"), "\(out.stderr)")
    }

    /// A finished run whose phase-0 checkpoint is altered (one byte) or truncated, with
    /// results.json and the later checkpoints gone: re-running refuses it, naming the file.
    @Test func corruptOrTruncatedCheckpointIsRefused() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let arguments = Self.arguments(out: dir.path, extra: ["--epochs", "1"])
        let first = try CommandRunner.run(arguments)
        #expect(first.status == 0, "stderr: \(first.stderr)")
        let checkpoint = dir.appendingPathComponent("checkpoints/phase-0.ckpt")
        let original = try Data(contentsOf: checkpoint)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("results.json"))
        for p in 1...2 { try FileManager.default.removeItem(at: dir.appendingPathComponent("checkpoints/phase-\(p).ckpt")) }

        var flipped = original
        flipped[original.count / 2] ^= 0x01
        let truncated = original.prefix(original.count * 2 / 3)
        for (fault, bytes) in [("one byte flipped", flipped), ("truncated", Data(truncated))] {
            try bytes.write(to: checkpoint)
            let out = try CommandRunner.run(arguments)
            #expect(out.status != 0, "\(fault)")
            #expect(out.stderr.contains("corrupt or truncated (checksum mismatch)") && out.stderr.contains(checkpoint.path),
                    "\(fault): \(out.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("results.json").path), "\(fault)")
        }
    }

    /// swift-argument-parser's answer to an unknown option: it names the option and
    /// points to `cil run --help`; exit status 64 (EX_USAGE).
    @Test func unknownOptionIsNamed() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try CommandRunner.run(Self.arguments(out: dir.path, extra: ["--no-such-option"]))
        #expect(out.status == 64)
        #expect(out.stderr.contains("Unknown option '--no-such-option'") && out.stderr.contains("cil run --help"), "\(out.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("config.json").path))
    }

    /// The bytes of a checkpoint file with its JSON header text changed by `edit`
    /// (the length field and the checksum recomputed, so only the content differs).
    static func editedCheckpoint(_ file: [UInt8], _ edit: (String) -> String) -> [UInt8] {
        let length = file[8 ..< 16].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = Array(edit(String(decoding: file[16 ..< 16 + length], as: UTF8.self)).utf8)
        var body = Array(file[0 ..< 8])
        body += (0 ..< 8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) }
        body += header
        body += file[(16 + length) ..< (file.count - 32)]
        return UntrustedInputs.checksummed(body)
    }

    /// A checkpoint written by another SDK version (its header says so, its checksum
    /// is valid) is refused naming both versions; a valid checkpoint of another
    /// configuration dropped into a run directory is refused too.
    @Test func checkpointFromAnotherSDKOrConfigurationIsRefused() throws {
        let dir = Self.temporaryDirectory(), other = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir); try? FileManager.default.removeItem(at: other) }
        let arguments = Self.arguments(out: dir.path, extra: ["--epochs", "1"])
        let first = try CommandRunner.run(arguments)
        #expect(first.status == 0, "stderr: \(first.stderr)")
        let checkpoint = dir.appendingPathComponent("checkpoints/phase-0.ckpt")
        let original = Array(try Data(contentsOf: checkpoint))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("results.json"))
        for p in 1...2 { try FileManager.default.removeItem(at: dir.appendingPathComponent("checkpoints/phase-\(p).ckpt")) }

        let foreign = Self.editedCheckpoint(original) { header in
            guard let start = header.range(of: "\"sdkVersion\":\""),
                  let end = header[start.upperBound...].firstIndex(of: "\"") else { return header }
            return header.replacingCharacters(in: start.upperBound ..< end, with: "0.0.0-elsewhere")
        }
        #expect(foreign != original)
        try Data(foreign).write(to: checkpoint)
        let refused = try CommandRunner.run(arguments)
        #expect(refused.status == 1, "stderr: \(refused.stderr)")
        #expect(refused.stderr.contains("checkpoint \(checkpoint.path) was written by SDK 0.0.0-elsewhere, this cil runs SDK "),
                "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("results.json").path))

        // The original checkpoint (epochs 1) in a run directory of epochs 2.
        try FileManager.default.createDirectory(at: other.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        try Data(original).write(to: other.appendingPathComponent("checkpoints/phase-0.ckpt"))
        let mismatched = try CommandRunner.run(Self.arguments(out: other.path, extra: ["--epochs", "2"]))
        #expect(mismatched.status == 1, "stderr: \(mismatched.stderr)")
        #expect(mismatched.stderr.contains("checkpoints/phase-0.ckpt was written by another configuration"), "\(mismatched.stderr)")
    }

    /// `cil run` on a truncated CIFAR-100 file, or with an unknown branch type: a
    /// clear error naming the cause, exit status 1 (not a crash), nothing trained.
    @Test func badDatasetOrBranchTypeIsAClearError() throws {
        let data = try DataFixtures.temporaryDirectory("cil-run-data")
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: data); try? FileManager.default.removeItem(at: dir) }
        let folder = try DataFixtures.cifarFolder(in: data, train: [1, 2, 3], test: [1])
        try DataFixtures.write(Array(DataFixtures.records([1, 2, 3]).prefix(2 * 3074 + 10)), to: folder + "/train.bin")
        let truncated = try CommandRunner.run(["run", "--dataset", "cifar100", "--data-dir", folder, "--preset", "quick",
                                               "--out", dir.path, "--quiet"])
        #expect(truncated.status == 1, "stderr: \(truncated.stderr)")
        #expect(truncated.stderr.contains("\(folder)/train.bin is truncated") && truncated.stderr.contains("byte offset 6148"),
                "\(truncated.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("checkpoints/phase-0.ckpt").path))

        let branch = try CommandRunner.run(Self.arguments(out: dir.appendingPathComponent("b").path, extra: ["--branch-1", "nosuch"]))
        #expect(branch.status == 1, "stderr: \(branch.stderr)")
        #expect(branch.stderr.contains("unknown branch type 'nosuch'") && branch.stderr.contains("free"), "\(branch.stderr)")
    }
}
