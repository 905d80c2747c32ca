import Foundation
import Testing

/// `--preset paper` is dataset-aware: on image folders it gives the ImageNet-Subset
/// settings (ResNet-18, 90 epochs, lr 0.05 with a cosine schedule, α's MultiStep at
/// epochs·0.333 and ·0.667, weight decay 1e-4, balanced batch 50, the dynamic budget of
/// 20 per class, the `fixed` plastic branch, λ_base 10), and every flag still overrides
/// it. Each run here is stopped with SIGTERM once it has started, after config.json is
/// written: a ResNet-18 phase 0 would take minutes even on one image per class.
@Suite("presets", .serialized)
struct PresetTests {
    /// config.json of a `cil run` on a 100-class image folder (one 8×8 image per class
    /// and split) with `extra` flags, stopped once started.
    static func imageFolderConfig(_ extra: [String]) throws -> [String: Any] {
        let dir = try OriginalCommandLinesTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("images")
        try OriginalCommandLinesTests.imageFolderFixture(at: data)
        let arguments = ["run", "--dataset", "imagefolder", "--data-dir", data.path, "--out", "run",
                         "--epochs-fg", "1", "--batch-size", "2"] + extra
        let out = try OriginalCommandLinesTests.startThenStop(arguments, in: dir, runDirectory: "run")
        #expect(out.status == 128 + SIGTERM, "status \(out.status); \(out.stderr)")
        return try OriginalCommandLinesTests.config(dir.appendingPathComponent("run"))
    }

    static func number(_ c: [String: Any], _ key: String) -> Double? { (c[key] as? NSNumber)?.doubleValue }

    static func close(_ a: Double?, _ b: Double) -> Bool { a.map { abs($0 - b) <= 1e-6 * abs(b) } ?? false }

    @Test func paperOnImageFoldersGivesTheImageNetSubsetSettings() throws {
        let c = try Self.imageFolderConfig(["--baseline", "lucir"])
        #expect(c["preset"] as? String == "paper")
        #expect(c["backbone"] as? String == "resnet18")
        #expect(c["epochs"] as? Int == 90 && c["epochsFirst"] as? Int == 1)
        #expect(Self.close(Self.number(c, "baseLR1"), 0.05) && Self.close(Self.number(c, "baseLR2"), 0.05))
        #expect(c["schedule"] as? String == "cosine")
        #expect((c["milestoneFractions"] as? [Double]) == [0.333, 0.667])
        #expect(Self.close(Self.number(c, "weightDecay"), 1e-4))
        #expect(Self.close(Self.number(c, "fusionLR"), 1e-5))
        #expect(c["testBatchSize"] as? Int == 50 && c["evalBatchSize"] as? Int == 128)
        #expect(c["budget"] as? String == "dynamic" && c["budgetPerClass"] as? Int == 20)
        #expect(c["branchMode"] as? String == "dual" && c["branch1"] as? String == "ss" && c["branch2"] as? String == "fixed")
        #expect((c["baselineOptions"] as? [String: String]) == ["lambda-base": "10.0"])
        #expect(c["stepping"] as? String == "faithful")
    }

    /// A baseline that maps no `--the_lambda` (iCaRL) gets no option from the preset.
    @Test func thePresetsMethodFlagReachesOnlyTheBaselinesThatTakeIt() throws {
        let c = try Self.imageFolderConfig(["--baseline", "icarl"])
        #expect((c["baselineOptions"] as? [String: String]) == [:])
        #expect(c["branch2"] as? String == "fixed")
    }

    @Test func everyFlagOverridesThePreset() throws {
        let c = try Self.imageFolderConfig(["--baseline", "lucir", "--branch-2", "free", "--lr", "0.1", "--schedule", "multistep",
                                            "--budget", "fixed", "--weight-decay", "5e-4", "--test-batch-size", "100",
                                            "--epochs", "60", "--baseline-option", "lambda-base=3"])
        #expect(c["branch2"] as? String == "free")
        #expect(Self.close(Self.number(c, "baseLR2"), 0.1) && Self.close(Self.number(c, "baseLR1"), 0.05))
        #expect(c["schedule"] as? String == "multistep" && c["budget"] as? String == "fixed")
        #expect(Self.close(Self.number(c, "weightDecay"), 5e-4) && c["testBatchSize"] as? Int == 100 && c["epochs"] as? Int == 60)
        // The option given wins over the preset's --the_lambda, and so does the flag.
        #expect((c["baselineOptions"] as? [String: String]) == ["lambda-base": "3"])
        let flag = try Self.imageFolderConfig(["--baseline", "lucir", "--the_lambda", "5"])
        #expect((flag["baselineOptions"] as? [String: String]) == ["lambda-base": "5.0"])
    }

    /// The quick preset is the same on every kind of data.
    @Test func quickIsNotDatasetAware() throws {
        let c = try Self.imageFolderConfig(["--preset", "quick", "--baseline", "lucir"])
        #expect((c["milestoneFractions"] as? [Double]) == [0.5, 0.75])
        #expect(c["branch2"] as? String == "free" && (c["baselineOptions"] as? [String: String]) == [:])
        #expect(c["epochs"] as? Int == 4 && c["testBatchSize"] as? Int == 100)
    }

    /// The milestones config.json records are the ones both schedules step at: a tiny
    /// MANets run of 4-epoch phases (quick preset: milestones [int(0.5·4), int(0.75·4)]
    /// = [2, 3], stepped the conventional way) logs the network's and α's learning
    /// rate of every epoch of phase 1.
    @Test func bothSchedulesStepAtTheRecordedMilestones() throws {
        let dir = RunReliabilityTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try CommandRunner.run(TinyProtocol.manetsRun(out: dir.path, epochs: 4)
                                           + ["--schedule", "multistep", "--stop-after-phase", "1"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let config = try OriginalCommandLinesTests.config(dir)
        #expect((config["milestoneFractions"] as? [Double]) == [0.5, 0.75] && config["stepping"] as? String == "corrected")
        let events = try String(contentsOf: dir.appendingPathComponent("events.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let phase1 = events.filter { $0["event"] as? String == "epoch" && $0["phase"] as? Int == 1 }
        let lr = phase1.compactMap { Self.number($0, "lr") }, alphaLR = phase1.compactMap { Self.number($0, "alpha_lr") }
        let factors = [1, 1, 0.1, 0.01]
        #expect(lr.count == 4 && zip(lr, factors).allSatisfy { Self.close($0, 0.05 * $1) }, "network lr \(lr)")
        #expect(alphaLR.count == 4 && zip(alphaLR, factors).allSatisfy { Self.close($0, 1e-3 * $1) }, "α lr \(alphaLR)")
    }
}
