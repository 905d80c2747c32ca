import Foundation
import Host
import Testing

/// The per-phase wall-time breakdown end to end (docs/PERFORMANCE.md, "Where the time
/// goes"): results.json's `seconds_breakdown` of a real run, the `phase_end` events,
/// `cil report`'s table, results.json and in-progress checkpoints of older cil versions
/// (without it), and the breakdown carried across a resume inside a phase.
@Suite("cil run: where the time goes", .serialized)
struct TimeBreakdownTests {
    static let parts = ["training_steps", "reference_forward", "alpha_pass", "imprinting", "head_finetuning", "herding",
                        "class_means", "evaluation", "data_loading", "checkpoints", "other"]

    /// The tiny MANets LUCIR arm (α learned, 2 epochs in later phases).
    static func arguments(out: String) -> [String] { TinyProtocol.manetsRun(out: out, epochs: 2) }

    static func breakdown(_ phase: [String: Any]) -> [String: Double] { phase["seconds_breakdown"] as? [String: Double] ?? [:] }

    @Test func everyPhaseHasDisjointPartsThatSumToItsSeconds() throws {
        let dir = RunReliabilityTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try CommandRunner.run(Self.arguments(out: dir.path))
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let phases = try RunReliabilityTests.phases(dir)
        #expect(phases.count == 3)
        let events = try String(contentsOf: dir.appendingPathComponent("events.jsonl"), encoding: .utf8)
            .split(separator: "\n").compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["event"] as? String == "phase_end" }
        #expect(events.count == 3)
        for (phase, event) in zip(phases, events) {
            let p = phase["phase"] as! Int, seconds = phase["seconds"] as! Double, b = Self.breakdown(phase)
            #expect(Set(b.keys) == Set(Self.parts), "phase \(p): \(b)")
            #expect(b.values.allSatisfy { $0 >= 0 }, "phase \(p): \(b)")
            #expect(abs(b.values.reduce(0, +) - seconds) <= 1e-9 * max(1, seconds), "phase \(p): \(b) against \(seconds) s")
            // Work every phase of this arm does.
            for part in ["training_steps", "herding", "class_means", "evaluation", "data_loading", "checkpoints"] {
                #expect(b[part]! > 0, "phase \(p): \(part) \(b)")
            }
            // The reference model and the α pass exist after phase 0 only, imprinting has
            // nothing to do in phase 0, and LUCIR has no phase-end finetuning.
            for part in ["reference_forward", "alpha_pass"] {
                #expect(p == 0 ? b[part]! == 0 : b[part]! > 0, "phase \(p): \(part) \(b)")
            }
            #expect(p == 0 ? b["imprinting"]! < 0.01 * seconds : b["imprinting"]! > 0, "phase \(p): \(b)")
            #expect(b["head_finetuning"]! < 0.01 * seconds, "phase \(p): \(b)")
            #expect(event["seconds_breakdown"] as? [String: Double] == b, "phase \(p): the phase_end event")
        }
    }

    /// results.json of a real run with the breakdowns set to known values (and, for the
    /// older files, removed), re-rendered by `cil report`.
    @Test func reportShowsWhereTheTimeGoesAndReadsOlderResults() throws {
        let dir = RunReliabilityTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let runDir = dir.appendingPathComponent("run"), reportDir = dir.appendingPathComponent("report")
        let run = try CommandRunner.run(Self.arguments(out: runDir.path) + ["--stop-after-phase", "1"])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let resultsURL = runDir.appendingPathComponent("results.json")
        var results = try RunCommandTests.results(runDir)
        var phases = RunCommandTests.phases(results)
        #expect(phases.count == 2)
        for p in phases.indices {
            phases[p]["seconds_breakdown"] = ["training_steps": 6.0, "reference_forward": p == 0 ? 0.0 : 2.0, "herding": 1.0,
                                              "alpha_pass": 0.0, "other": 1.0]
            phases[p]["seconds"] = p == 0 ? 8.0 : 10.0
        }
        results["phases"] = phases
        try JSONSerialization.data(withJSONObject: results).write(to: resultsURL)
        let report = try CommandRunner.run(["report", runDir.path, "--out", reportDir.path])
        #expect(report.status == 0, "\(report.stderr)")
        let table = ["| lucir / dual-ss-free / seed 1993 (unfinished) | total, s | training steps | reference forward | herding | other |",
                     "|---|---|---|---|---|---|",
                     "| phase 0 (2 classes) | 8.0 | 6.0 (75.0%) | 0.0 (0.0%) | 1.0 (12.5%) | 1.0 (12.5%) |",
                     "| phase 1 (4 classes) | 10.0 | 6.0 (60.0%) | 2.0 (20.0%) | 1.0 (10.0%) | 1.0 (10.0%) |"]
        let markdown = try String(contentsOf: reportDir.appendingPathComponent("comparison.md"), encoding: .utf8)
        #expect(markdown.contains("## Where the time goes\n\nWall seconds of each phase by part"), "\(markdown)")
        #expect(markdown.contains(table.joined(separator: "\n")), "\(markdown)")
        #expect(report.stdout.contains(table.joined(separator: "\n")))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: reportDir.appendingPathComponent("comparison.json"))) as! [String: Any]
        let partial = (json["partial_runs"] as! [[String: Any]]).first!
        #expect((partial["seconds_breakdown_per_phase"] as? [[String: Double]])?[1]["reference_forward"] == 2)

        // The same results.json as an older cil wrote it: no breakdown anywhere.
        for p in phases.indices { phases[p]["seconds_breakdown"] = nil }
        results["phases"] = phases
        try JSONSerialization.data(withJSONObject: results).write(to: resultsURL)
        let old = try CommandRunner.run(["report", runDir.path, "--out", reportDir.path])
        #expect(old.status == 0, "\(old.stderr)")
        #expect(old.stdout.contains("| lucir / dual-ss-free / seed 1993 |") && !old.stdout.contains("Where the time goes"), "\(old.stdout)")
        let oldJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: reportDir.appendingPathComponent("comparison.json"))) as! [String: Any]
        #expect((oldJSON["partial_runs"] as! [[String: Any]]).first?["seconds_breakdown_per_phase"] == nil)
        // And the run resumes from it, writing phase 2 with its breakdown.
        let resumed = try CommandRunner.run(Self.arguments(out: runDir.path))
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let after = try RunReliabilityTests.phases(runDir)
        #expect(after.count == 3 && Self.breakdown(after[2]).count == Self.parts.count)
    }

    // MARK: - In-progress checkpoints

    /// A checkpoint file with its JSON header changed by `change` (length and checksum redone).
    static func rewritingHeader(_ file: [UInt8], _ change: (String) -> String) -> [UInt8] {
        let length = file[8..<16].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = String(decoding: file[16..<(16 + length)], as: UTF8.self)
        let newHeader = Array(change(header).utf8)
        var body = Array(file[0..<8])
        body += (0..<8).map { UInt8(truncatingIfNeeded: newHeader.count >> (8 * $0)) }
        body += newHeader + file[(16 + length)..<(file.count - 32)]
        return UntrustedInputs.checksummed(body)
    }

    /// The header as the cil before the breakdown wrote it: no `secondsBreakdown` in the
    /// in-progress state, no `seconds_breakdown` in the finished phases' results.
    static func withoutBreakdowns(_ header: String) -> String {
        header.replacingOccurrences(of: #",?"seconds_?[bB]reakdown":\{[^}]*\}"#, with: "", options: .regularExpression)
            .replacingOccurrences(of: "{,", with: "{")
    }

    /// The header with the in-progress state's time moved back by 1000 s, all of it training steps.
    static func withThousandSecondsMore(_ header: String) -> String {
        let carried = header.replacingOccurrences(of: #""secondsBreakdown":\{[^}]*\}"#, with: #""secondsBreakdown":{"training_steps":1000}"#,
                                                  options: .regularExpression)
        let start = carried.range(of: #""inProgress":{"#)!.upperBound
        let seconds = carried.range(of: #""seconds":[-0-9.eE+]+"#, options: .regularExpression, range: start..<carried.endIndex)!
        let value = Double(carried[seconds].dropFirst(#""seconds":"#.count))!
        return carried.replacingCharacters(in: seconds, with: "\"seconds\":\(value + 1000)")
    }

    /// Stopped inside phase 1: the in-progress file carries the breakdown; the same file
    /// without it (as the cil before wrote it) still loads and resumes; and a resumed
    /// phase reports the whole phase, the interrupted attempt's parts included.
    @Test func inProgressCheckpointsCarryTheBreakdownAndOlderOnesStillLoad() throws {
        let carried = RunReliabilityTests.temporaryDirectory(), older = RunReliabilityTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: carried); try? FileManager.default.removeItem(at: older) }
        let arguments = TinyProtocol.manetsRun(out: carried.path, epochs: 3)
        let process = try KillResumeTests.start(arguments)
        let inProgress = "checkpoints/phase-1-in-progress.ckpt"
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: carried.appendingPathComponent(inProgress).path) && Date() < deadline
            && process.isRunning { usleep(2_000) }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 143, "the run finished before it could be stopped inside phase 1")

        let file = Array(try Data(contentsOf: carried.appendingPathComponent(inProgress)))
        let state = try #require(try UntrustedInputs.inProgressSeconds(file, path: inProgress))
        let b = try #require(state.breakdown)
        #expect(Set(b.keys) == Set(Self.parts))
        #expect(abs(b.values.reduce(0, +) - state.seconds) <= 1e-9 * max(1, state.seconds), "\(b) against \(state.seconds) s")
        #expect(b["training_steps"]! > 0 && b["reference_forward"]! > 0, "\(b)")

        // The older format: no breakdown; it loads, with the same elapsed time.
        let oldFile = Self.rewritingHeader(file, Self.withoutBreakdowns)
        #expect(!String(decoding: oldFile, as: UTF8.self).contains("reakdown"))
        let oldState = try #require(try UntrustedInputs.inProgressSeconds(oldFile, path: inProgress))
        #expect(oldState.breakdown == nil && oldState.seconds == state.seconds)
        #expect(try UntrustedInputs.checkpoint(oldFile, path: inProgress).phase == 1)

        // Resumed from each: the older file's time becomes `other`; the carried 1000 s
        // of training steps are in the phase's breakdown and its seconds.
        try FileManager.default.removeItem(at: older)
        try FileManager.default.copyItem(at: carried, to: older)
        try Data(oldFile).write(to: older.appendingPathComponent(inProgress))
        try Data(Self.rewritingHeader(file, Self.withThousandSecondsMore)).write(to: carried.appendingPathComponent(inProgress))
        let resumedOld = try CommandRunner.run(TinyProtocol.manetsRun(out: older.path, epochs: 3))
        #expect(resumedOld.status == 0, "stderr: \(resumedOld.stderr)")
        let resumedCarried = try CommandRunner.run(arguments)
        #expect(resumedCarried.status == 0, "stderr: \(resumedCarried.stderr)")
        for dir in [older, carried] {
            let events = try String(contentsOf: dir.appendingPathComponent("events.jsonl"), encoding: .utf8)
            #expect(events.contains("\"after_epoch\":"), "no resume inside phase 1 in \(dir.path)")
        }
        let a = try RunReliabilityTests.phases(older), c = try RunReliabilityTests.phases(carried)
        #expect(a.count == 3 && c.count == 3)
        let oldPhase1 = Self.breakdown(a[1]), carriedPhase1 = Self.breakdown(c[1])
        let oldSeconds = a[1]["seconds"] as! Double, carriedSeconds = c[1]["seconds"] as! Double
        #expect(abs(oldPhase1.values.reduce(0, +) - oldSeconds) <= 1e-9 * max(1, oldSeconds))
        #expect(oldPhase1["other"]! >= state.seconds - 1e-6, "\(oldPhase1): the older attempt's \(state.seconds) s are other")
        #expect(carriedSeconds > 1000 + state.seconds - 1e-6)
        #expect(carriedPhase1["training_steps"]! > 1000, "\(carriedPhase1)")
        #expect(carriedPhase1["training_steps"]! < carriedSeconds, "\(carriedPhase1)")
        #expect(abs(carriedPhase1.values.reduce(0, +) - carriedSeconds) <= 1e-9 * carriedSeconds)
        // Timing changes nothing the run computes.
        for (x, y) in zip(a, c) {
            for key in ["acc_cnn", "acc_nme", "acc_cnn_base", "acc_nme_base", "alpha", "alpha_per_epoch", "exemplars_per_class"] {
                #expect("\(x[key] ?? "-")" == "\(y[key] ?? "-")", "phase \(x["phase"]!) \(key)")
            }
        }
    }
}
