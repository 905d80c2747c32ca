import Foundation
import Host
import Testing

/// A run stopped inside a phase resumes after that phase's last finished epoch, from
/// `checkpoints/phase-N-in-progress.ckpt`, and ends with exactly the results of an
/// uninterrupted run: accuracies, α and α after every epoch (so the network, both
/// optimizers' momentum and the batch generator were all restored).
@Suite("cil run: resuming inside a phase", .serialized)
struct MidPhaseResumeTests {
    /// A MANets run (ss + free, LUCIR, α learned) with 3 epochs in each later phase.
    static func arguments(out: String) -> [String] { TinyProtocol.manetsRun(out: out, epochs: 3) }

    static func inProgressFiles(_ dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("checkpoints").path)) ?? [])
            .filter { $0.hasSuffix("-in-progress.ckpt") }
    }

    @Test func stoppedMidPhaseResumesAfterItsLastEpoch() throws {
        let whole = RunReliabilityTests.temporaryDirectory(), stopped = RunReliabilityTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: whole); try? FileManager.default.removeItem(at: stopped) }
        let reference = try CommandRunner.run(Self.arguments(out: whole.path))
        #expect(reference.status == 0, "stderr: \(reference.stderr)")
        #expect(Self.inProgressFiles(whole).isEmpty, "a finished run keeps \(Self.inProgressFiles(whole))")

        let arguments = Self.arguments(out: stopped.path)
        let process = Process()
        process.executableURL = CommandRunner.executable
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        process.standardError = err
        try process.run()
        // Phase 1 has saved its first epoch: stop it there.
        let inProgress = stopped.appendingPathComponent("checkpoints/phase-1-in-progress.ckpt")
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: inProgress.path) && Date() < deadline && process.isRunning { usleep(2_000) }
        kill(process.processIdentifier, SIGTERM)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(stderr.contains("phase 0 is kept") && stderr.contains("phase 1 resumes after epoch "), "\(stderr)")
        #expect(process.terminationStatus == 143, "the run finished before it could be stopped inside phase 1")
        #expect(FileManager.default.fileExists(atPath: inProgress.path))
        #expect(try RunReliabilityTests.phases(stopped).count == 1)

        let resumed = try CommandRunner.run(arguments)
        #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
        let events = try String(contentsOf: stopped.appendingPathComponent("events.jsonl"), encoding: .utf8)
        #expect(events.contains("\"after_epoch\":1"), "no resume after epoch 1 in the log")
        #expect(Self.inProgressFiles(stopped).isEmpty, "left behind: \(Self.inProgressFiles(stopped))")
        let a = try RunReliabilityTests.phases(whole), b = try RunReliabilityTests.phases(stopped)
        #expect(a.count == 3 && b.count == 3)
        for (x, y) in zip(a, b) {
            for key in ["acc_cnn", "acc_nme", "acc_cnn_base", "acc_nme_base", "alpha", "alpha_per_epoch", "exemplars_per_class"] {
                #expect("\(x[key] ?? "-")" == "\(y[key] ?? "-")", "phase \(x["phase"]!) \(key)")
            }
        }
        // The phase's time counts the interrupted attempt too.
        let seconds = b.compactMap { $0["seconds"] as? Double }
        #expect(seconds.count == 3 && seconds.allSatisfy { $0 > 0 })
    }

    /// A damaged in-progress file is ignored with a notice and the phase restarts
    /// from its beginning; the run still ends with an uninterrupted run's results.
    @Test func damagedInProgressFileRestartsThePhase() throws {
        let whole = RunReliabilityTests.temporaryDirectory(), damaged = RunReliabilityTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: whole); try? FileManager.default.removeItem(at: damaged) }
        let reference = try CommandRunner.run(Self.arguments(out: whole.path) + ["--stop-after-phase", "1"])
        #expect(reference.status == 0, "stderr: \(reference.stderr)")
        let first = try CommandRunner.run(Self.arguments(out: damaged.path) + ["--stop-after-phase", "0"])
        #expect(first.status == 0, "stderr: \(first.stderr)")
        let file = damaged.appendingPathComponent("checkpoints/phase-1-in-progress.ckpt")
        try Data("CILCKPT1 not really".utf8).write(to: file)
        let resumed = try CommandRunner.run(Self.arguments(out: damaged.path) + ["--stop-after-phase", "1"])
        #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
        let events = try String(contentsOf: damaged.appendingPathComponent("events.jsonl"), encoding: .utf8)
        #expect(events.contains("\"event\":\"in_progress_ignored\"") && events.contains("checkpoint \(file.path)"), "\(events)")
        #expect(!events.contains("\"after_epoch\""))
        let a = try RunReliabilityTests.phases(whole), b = try RunReliabilityTests.phases(damaged)
        #expect(a.count == 2 && b.count == 2)
        for (x, y) in zip(a, b) {
            for key in ["acc_cnn", "acc_nme", "alpha", "alpha_per_epoch"] {
                #expect("\(x[key] ?? "-")" == "\(y[key] ?? "-")", "phase \(x["phase"]!) \(key)")
            }
        }
    }
}
