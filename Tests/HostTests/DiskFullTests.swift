import Foundation
import Host
import Testing

/// `cil run` when the disk fills up during phase 1: a clear error naming the file and
/// the system's reason, exit status 1, phase 0's checkpoint and results intact, no
/// temporary file left, and the same command resumes to the results of an
/// uninterrupted run once there is room. The disk is really full: a small tmpfs (as
/// root, where mounting is allowed); the file-size limit (RLIMIT_FSIZE, EFBIG) test
/// runs everywhere.
///
/// The arm is MANets (dual), so that phase 1's checkpoint (two branches) is about
/// twice phase 0's (the plain network): room for phase 0 is no room for phase 1.
@Suite("cil run: disk full", .serialized)
struct DiskFullTests {
    static func arguments(out: String) -> [String] { TinyProtocol.manetsRun(out: out, epochs: 1) }

    /// Whether this process may mount a tmpfs (root in a container that allows it).
    static let canMountTmpfs: Bool = {
        guard getuid() == 0 else { return false }
        let probe = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: probe) }
        guard (try? PluginFixtures.run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe.path]))?.status == 0 else { return false }
        _ = try? PluginFixtures.run("/bin/umount", [probe.path])
        return true
    }()

    /// A finished reference run: its directory and its phase-0 checkpoint's size.
    static func reference() throws -> (dir: URL, checkpointBytes: Int) {
        let dir = RunCommandTests.temporaryDirectory()
        let out = try CommandRunner.run(arguments(out: dir.path))
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let size = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("checkpoints/phase-0.ckpt").path)[.size] as! Int
        let size1 = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("checkpoints/phase-1.ckpt").path)[.size] as! Int
        #expect(size1 > size * 3 / 2, "phase 1's checkpoint (\(size1) bytes) should be much larger than phase 0's (\(size))")
        return (dir, size)
    }

    /// What must hold after the failed write of phase 1's checkpoint.
    static func checkFailure(_ out: CommandRunner.Output, run: URL, reason: String) throws {
        let file = run.appendingPathComponent("checkpoints/phase-1.ckpt").path
        #expect(out.status == 1, "status \(out.status); stderr: \(out.stderr)")
        #expect(out.stderr.contains("cannot write \(file): write failed: \(reason)"), "\(out.stderr)")
        #expect(out.stderr.contains("phase 0 is kept in \(run.path)") && out.stderr.contains("the same command resumes"), "\(out.stderr)")
        #expect(!FileManager.default.fileExists(atPath: file))
        #expect(KillResumeTests.temporaryFiles(run).isEmpty, "left behind: \(KillResumeTests.temporaryFiles(run))")
        let phase0 = Array(try Data(contentsOf: run.appendingPathComponent("checkpoints/phase-0.ckpt")))
        #expect(try UntrustedInputs.checkpoint(phase0, path: "phase-0.ckpt").phase == 0)
        #expect(try RunReliabilityTests.phases(run).count == 1)
    }

    /// The resumed run's results equal the reference's, phase by phase.
    static func checkSameResults(_ a: URL, _ b: URL) throws {
        let x = try RunReliabilityTests.phases(a), y = try RunReliabilityTests.phases(b)
        #expect(x.count == 3 && y.count == 3)
        for (p, q) in zip(x, y) {
            for key in ["acc_cnn", "acc_nme", "acc_cnn_base", "acc_nme_base", "alpha"] {
                #expect("\(p[key] ?? "-")" == "\(q[key] ?? "-")", "phase \(p["phase"]!) \(key)")
            }
        }
    }

    @Test(.enabled(if: DiskFullTests.canMountTmpfs, "mounting a tmpfs needs root and a container that allows mount(2); fileSizeLimitIsAClearErrorAndTheRunResumes covers the fallback"))
    func fullDiskIsAClearErrorAndTheRunResumes() throws {
        let (reference, checkpointBytes) = try Self.reference()
        defer { try? FileManager.default.removeItem(at: reference) }
        let mountPoint = RunCommandTests.temporaryDirectory()
        // Room for phase 0 (checkpoint, config, log, results) but not for phase 1's checkpoint.
        let size = (checkpointBytes * 3 / 2 + 128 * 1024 + 4095) / 4096 * 4096
        let mounted = try PluginFixtures.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", mountPoint.path])
        try #require(mounted.status == 0, "mount: \(mounted.output)")
        defer {
            _ = try? PluginFixtures.run("/bin/umount", [mountPoint.path])
            try? FileManager.default.removeItem(at: mountPoint)
        }
        let run = mountPoint.appendingPathComponent("run")
        let full = try CommandRunner.run(Self.arguments(out: run.path))
        try Self.checkFailure(full, run: run, reason: "No space left on device")

        // Free space: the same command resumes after phase 0 and finishes.
        let grown = try PluginFixtures.run("/bin/mount", ["-o", "remount,size=64m", mountPoint.path])
        try #require(grown.status == 0, "remount: \(grown.output)")
        let resumed = try CommandRunner.run(Self.arguments(out: run.path))
        #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
        let events = try String(contentsOf: run.appendingPathComponent("events.jsonl"), encoding: .utf8)
        #expect(events.contains("\"after_phase\":0"), "\(events)")
        try Self.checkSameResults(reference, run)
    }

    /// The same under a file-size limit (`prlimit --fsize`): the write fails with
    /// EFBIG ("File too large"), which cil reports instead of dying of SIGXFSZ.
    @Test func fileSizeLimitIsAClearErrorAndTheRunResumes() throws {
        let (reference, checkpointBytes) = try Self.reference()
        defer { try? FileManager.default.removeItem(at: reference) }
        let dir = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("run")
        let limit = checkpointBytes + checkpointBytes / 4
        let limited = try PluginFixtures.run("/usr/bin/env", ["prlimit", "--fsize=\(limit)", CommandRunner.executable.path]
                                             + Self.arguments(out: run.path))
        try Self.checkFailure(CommandRunner.Output(status: limited.status, stdout: "", stderr: limited.output), run: run,
                              reason: "File too large")
        let resumed = try CommandRunner.run(Self.arguments(out: run.path))
        #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
        try Self.checkSameResults(reference, run)
    }
}
