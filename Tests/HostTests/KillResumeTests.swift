import Foundation
import FuzzSupport
import Host
import Testing

/// `cil run` killed with SIGKILL again and again, at seeded random moments and right
/// while it writes a file (aimed at the temporary file of an atomic write), resumed
/// each time by the same command: the final results equal an uninterrupted run's, and
/// at no moment does the run directory hold a checkpoint that fails verification or
/// a results.json that is not complete JSON. Seed: `CIL_KILL_SEED` (default 1).
@Suite("cil run: SIGKILL at random points", .serialized)
struct KillResumeTests {
    /// Starts `cil arguments...` with output discarded.
    static func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = CommandRunner.executable
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Names of temporary files of atomic writes in the run directory and checkpoints/.
    static func temporaryFiles(_ dir: URL) -> [String] {
        [dir, dir.appendingPathComponent("checkpoints")].flatMap { d in
            ((try? FileManager.default.contentsOfDirectory(atPath: d.path)) ?? []).filter { $0.contains(".tmp-") }
        }
    }

    /// What a reader finds in the directory now: every checkpoint verifies (its
    /// phase is the one its name says) and results.json, if any, is complete JSON.
    static func checkDirectory(_ dir: URL, after what: String) throws {
        let checkpoints = dir.appendingPathComponent("checkpoints")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? [] where name.hasSuffix(".ckpt") {
            let bytes = Array(try Data(contentsOf: checkpoints.appendingPathComponent(name)))
            let phase = Int(name.dropFirst("phase-".count).dropLast(".ckpt".count).replacingOccurrences(of: "-in-progress", with: ""))
            do {
                let parsed = try UntrustedInputs.checkpoint(bytes, path: name)
                #expect(parsed.phase == phase, "\(what): \(name) holds phase \(parsed.phase)")
            } catch {
                Issue.record("\(what): \(name) does not verify: \(error)")
            }
        }
        if let data = FileManager.default.contents(atPath: dir.appendingPathComponent("results.json").path) {
            #expect((try? JSONSerialization.jsonObject(with: data)) != nil, "\(what): results.json is not complete JSON")
        }
    }

    @Test func killedAtRandomPointsAndResumedGivesIdenticalResults() throws {
        let whole = RunCommandTests.temporaryDirectory(), killed = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: whole); try? FileManager.default.removeItem(at: killed) }
        let t0 = Date()
        let reference = try CommandRunner.run(RunReliabilityTests.arguments(out: whole.path))
        let duration = Date().timeIntervalSince(t0)
        #expect(reference.status == 0, "stderr: \(reference.stderr)")

        let seed = ProcessInfo.processInfo.environment["CIL_KILL_SEED"].flatMap { UInt64($0) } ?? 1
        var rng = Mutator(seed: seed)
        let arguments = RunReliabilityTests.arguments(out: killed.path)
        var kills = 0, aimed = 0, sawTemporary = 0
        var attempt = 0
        var finished = false
        // Alternate: a random moment in the run, then the moment a file is being
        // written (a temporary file exists); until the run finishes or 8 kills.
        while !finished && attempt < 12 {
            let aimAtWrite = attempt % 2 == 1
            // Left by the previous kill (the new process removes them): not a sign of a write.
            let stale = Set(Self.temporaryFiles(killed))
            let process = try Self.start(arguments)
            if aimAtWrite {
                // A checkpoint or results.json being written (not config.json, at the start).
                while process.isRunning {
                    if Self.temporaryFiles(killed).contains(where: { !stale.contains($0) && !$0.hasPrefix(".config.json") }) {
                        sawTemporary += 1
                        break
                    }
                    usleep(200)
                }
            } else {
                // Resumed runs have less left to do: aim within the first 60%.
                let delay = duration * (0.05 + 0.55 * Double(rng.below(1000)) / 1000)
                let deadline = Date().addingTimeInterval(delay)
                while process.isRunning && Date() < deadline { usleep(1000) }
            }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                #expect(process.terminationReason == .uncaughtSignal)
                kills += 1
                if aimAtWrite { aimed += 1 }
                try Self.checkDirectory(killed, after: "kill \(kills) (attempt \(attempt), \(aimAtWrite ? "during a write" : "at random"))")
            } else {
                process.waitUntilExit()
                #expect(process.terminationStatus == 0, "attempt \(attempt) failed with status \(process.terminationStatus)")
                finished = true
            }
            attempt += 1
            if kills >= 8 { break }
        }
        FileHandle.standardError.write(Data("kill-resume: seed \(seed), \(kills) kills (\(aimed) during a write) in \(attempt) starts\n".utf8))
        #expect(kills >= 4, "only \(kills) kills landed (the run is too quick?)")
        #expect(aimed >= 1 && sawTemporary >= 1, "no kill landed during a write")

        let resumed = try CommandRunner.run(arguments)
        #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
        #expect(Self.temporaryFiles(killed).isEmpty, "left behind: \(Self.temporaryFiles(killed))")
        try Self.checkDirectory(killed, after: "the last resume")
        let a = try RunReliabilityTests.phases(whole), b = try RunReliabilityTests.phases(killed)
        #expect(a.count == 3 && b.count == 3)
        for (x, y) in zip(a, b) {
            for key in ["acc_cnn", "acc_nme", "acc_cnn_base", "acc_nme_base", "alpha", "exemplars_per_class"] {
                #expect("\(x[key] ?? "-")" == "\(y[key] ?? "-")", "phase \(x["phase"]!) \(key)")
            }
        }
        let events = try String(contentsOf: killed.appendingPathComponent("events.jsonl"), encoding: .utf8)
        #expect(events.contains("\"event\":\"resume\""))
    }
}
