import Foundation
import RealCIFARSupport
import Testing

/// Checks that fit in a test run: phase 0 learns on the real CIFAR-100 (a small
/// subset, two short epochs), and the `faithful` and `corrected` modes differ only
/// where docs/ALGORITHMS.md §8 says they do.
@Suite("Fidelity", .serialized)
struct FidelityTests {
    /// On the real CIFAR-100 (`RealCIFAR`: found through CIL_DATA, skipped without it).
    @Test("phase 0 on real CIFAR-100 learns far above chance (10 classes, 200 images each, 2 epochs)",
          .enabled(if: RealCIFAR.enabled, RealCIFAR.skipNote))
    func realCIFARPhaseZeroLearns() throws {
        let data = try RealCIFAR.requireFolder()
        let dir = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try CommandRunner.run([
            "run", "--dataset", "cifar100", "--data-dir", data, "--classes-per-phase", "10",
            "--train-images-per-class", "200", "--eval-images-per-class", "100", "--epochs-fg", "2",
            "--preset", "quick", "--batch-size", "32", "--baseline", "lucir", "--branch-mode", "single",
            "--branch-1", "free", "--threads", "2", "--quiet", "--out", dir.path])
        #expect(out.status == 0, "\(out.stderr)")
        let phase = try #require(RunCommandTests.phases(RunCommandTests.results(dir)).first)
        let cnn = phase["acc_cnn"] as? Double ?? 0, nme = phase["acc_nme"] as? Double ?? 0
        // Chance is 0.10 on 10 classes; this budget reaches about 0.35.
        #expect(cnn >= 0.25, "CNN accuracy \(cnn) after two epochs on 10 real classes")
        #expect(nme >= 0.20, "NME accuracy \(nme) after two epochs on 10 real classes")
    }

    /// One iCaRL arm on one branch, quick preset (whose scheduler stepping is the
    /// same in both modes): the modes may differ only in the NME classifier's
    /// flipped copy (docs/ALGORITHMS.md §7: the RGB→BGR "flip"), which never feeds back
    /// into training. So every phase's CNN accuracy is identical and the NME ones are
    /// not. LUCIR on one branch has no mode-dependent path either: its loss (CE,
    /// less-forget, margin ranking) is the same in both modes, and without α there is
    /// no balanced subset or α-gradient policy.
    @Test("single branch: faithful and corrected give the same CNN and differ only in NME",
          arguments: ["icarl", "lucir"])
    func modesDifferOnlyInTheNMEFlip(baseline: String) throws {
        let (faithful, corrected) = try Self.runBothModes(baseline: baseline)
        #expect(faithful.count == 3 && corrected.count == 3)
        for (f, c) in zip(faithful, corrected) {
            #expect(f["acc_cnn"] as? Double == c["acc_cnn"] as? Double, "phase \(f["phase"]!): the CNN path must not depend on the mode")
        }
        let nmeDiffers = zip(faithful, corrected).contains { ($0["acc_nme"] as? Double) != ($1["acc_nme"] as? Double) }
        #expect(nmeDiffers, "the NME class means use the BGR swap (faithful) or a mirror (corrected)")
    }

    /// PODNet's NCA loss is one of the places where the modes differ: the faithful
    /// loss (docs/ALGORITHMS.md §6.3) subtracts the margin from every class's
    /// similarity, where it cancels, and leaves the true class in the denominator as
    /// exp(0); the corrected one (§8) subtracts it from the true class only. So its CNN
    /// accuracy changes from phase 0 on: the mode reaches the plugin. (The synthetic
    /// classes are easy enough for both to reach 100% accuracy, so the training loss
    /// is what is compared.)
    @Test("PODNet: the NCA margin makes faithful and corrected differ from phase 0")
    func podnetModesDifferInTheNCAMargin() throws {
        let (faithful, corrected) = try Self.runBothModes(baseline: "podnet")
        let loss = { (phases: [[String: Any]]) in phases.first?["epoch_losses"] as? [Double] ?? [] }
        #expect(!loss(faithful).isEmpty && loss(faithful).count == loss(corrected).count)
        #expect(loss(faithful) != loss(corrected), "phase 0's training loss should depend on the NCA margin's mode")
    }

    /// One arm on one branch (synthetic data, quick preset), run in faithful then
    /// corrected mode; the phases of each (with `epoch_losses`, the mean training loss
    /// of each epoch from events.jsonl, added), after checking config.json records the mode.
    static func runBothModes(baseline: String) throws -> (faithful: [[String: Any]], corrected: [[String: Any]]) {
        var runs: [[[String: Any]]] = []
        for mode in ["faithful", "corrected"] {
            let dir = RunCommandTests.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let out = try CommandRunner.run(RunCommandTests.arguments(baseline: baseline, mode: "single", out: dir.path,
                                                                      extra: ["--mode", mode]))
            #expect(out.status == 0, "\(out.stderr)")
            let results = try RunCommandTests.results(dir)
            let config = try #require(results["config"] as? [String: Any])
            #expect(config["mode"] as? String == mode, "config.json records the mode")
            var phases = RunCommandTests.phases(results)
            let events = try String(contentsOf: dir.appendingPathComponent("events.jsonl"), encoding: .utf8)
            for line in events.split(separator: "\n") {
                guard let event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      event["event"] as? String == "epoch", let p = event["phase"] as? Int, let loss = event["loss"] as? Double,
                      phases.indices.contains(p) else { continue }
                phases[p]["epoch_losses"] = (phases[p]["epoch_losses"] as? [Double] ?? []) + [loss]
            }
            runs.append(phases)
        }
        return (runs[0], runs[1])
    }
}
