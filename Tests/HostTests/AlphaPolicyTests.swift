import Foundation
import Testing

/// How α's gradient is chosen (`--alpha-grad`), and what a run does when α leaves
/// [0, 1]: a warning at that epoch, `alpha_outside_unit_interval` in results.json,
/// an event in the log, and a mark in the comparison report.
@Suite("α policy and α outside [0, 1]", .serialized)
struct AlphaPolicyTests {
    static func config(_ dir: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: dir.appendingPathComponent("config.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// A tiny dual LUCIR run stopped after phase 0 records the resolved policy.
    static func resolvedPolicy(_ extra: [String]) throws -> String? {
        let dir = RunReliabilityTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try CommandRunner.run(TinyProtocol.manetsRun(out: dir.path, epochs: 1) + ["--stop-after-phase", "0"] + extra)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        return try config(dir)["alphaGradient"] as? String
    }

    @Test func defaultZeroesAlphasGradientForEveryBaseline() throws {
        #expect(try Self.resolvedPolicy([]) == "zero-per-step")
        #expect(try Self.resolvedPolicy(["--mode", "corrected"]) == "zero-per-step")
    }

    @Test func originalTakesTheBaselinesDeclaredTrainerBehaviour() throws {
        #expect(try Self.resolvedPolicy(["--alpha-grad", "original"]) == "accumulate")
        #expect(try Self.resolvedPolicy(["--alpha-grad", "original", "--baseline", "icarl"]) == "zero-per-step")
        #expect(try Self.resolvedPolicy(["--alpha-grad", "accumulate", "--baseline", "icarl"]) == "accumulate")
    }

    @Test func unknownPolicyIsRefusedNamingTheFlag() throws {
        let dir = RunReliabilityTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try CommandRunner.run(TinyProtocol.manetsRun(out: dir.path, epochs: 1) + ["--alpha-grad", "sometimes"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--alpha-grad sometimes: expected auto, original, accumulate or zero-per-step"), "\(result.stderr)")
    }

    /// A huge α learning rate with the accumulated gradient throws α out of [0, 1].
    @Test func alphaLeavingTheUnitIntervalIsWarnedRecordedAndMarked() throws {
        let dir = RunReliabilityTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("run")
        let result = try CommandRunner.run(TinyProtocol.manetsRun(out: run.path, epochs: 2)
                                           + ["--alpha-grad", "accumulate", "--fusion-lr", "5"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("cil: warning: α of level"), "no warning in: \(result.stderr)")
        let results = try RunCommandTests.results(run)
        let excursions = results["alpha_outside_unit_interval"] as? [[String: Any]] ?? []
        #expect(!excursions.isEmpty, "results.json has no alpha_outside_unit_interval entries")
        // Every recorded value really is outside [0, 1], and matches alpha_per_epoch.
        let phases = RunCommandTests.phases(results)
        for e in excursions {
            let (p, epoch, level) = (e["phase"] as! Int, e["epoch"] as! Int, e["level"] as! Int)
            let value = (e["alpha"] as! NSNumber).doubleValue
            #expect(value < 0 || value > 1, "recorded α \(value) is inside [0, 1]")
            let trace = phases[p]["alpha_per_epoch"] as! [[NSNumber]]
            #expect(abs(trace[epoch - 1][level - 1].doubleValue - value) < 1e-6)
        }
        let log = try String(contentsOf: run.appendingPathComponent("events.jsonl"), encoding: .utf8)
        #expect(log.contains("\"event\":\"alpha_outside_unit_interval\""))
        // The live warnings and events are the recorded excursions, one each, including
        // one in the first epoch after phase 0 (which has no α to compare with).
        let warnings = result.stderr.components(separatedBy: "cil: warning: α of level").count - 1
        let events = log.components(separatedBy: "\"event\":\"alpha_outside_unit_interval\"").count - 1
        #expect(warnings == excursions.count, "\(warnings) warnings for \(excursions.count) excursions: \(result.stderr)")
        #expect(events == excursions.count, "\(events) events for \(excursions.count) excursions")
        let report = try CommandRunner.run(["report", run.path, "--out", dir.appendingPathComponent("report").path])
        #expect(report.status == 0, "stderr: \(report.stderr)")
        let md = try String(contentsOf: dir.appendingPathComponent("report/comparison.md"), encoding: .utf8)
        #expect(md.contains("† α left [0, 1]"), "no mark in:\n\(md)")
    }

    /// The default (zeroed gradient, the quick preset's α rate) keeps α inside.
    @Test func defaultRunHasNoExcursion() throws {
        let dir = RunReliabilityTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try CommandRunner.run(TinyProtocol.manetsRun(out: dir.path, epochs: 2))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let excursions = try RunCommandTests.results(dir)["alpha_outside_unit_interval"] as? [Any]
        #expect(excursions?.isEmpty == true)
        #expect(!result.stderr.contains("warning: α"))
    }
}
