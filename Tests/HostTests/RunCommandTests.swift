import Foundation
import Testing

/// `cil run` end to end on a tiny synthetic protocol: results, resume after SIGKILL,
/// refusal of a directory holding another configuration, and every baseline in both
/// branch modes learning above chance in every phase.
@Suite("cil run", .serialized)
struct RunCommandTests {
    /// 6 classes: 2 in phase 0, then 2 per phase (3 phases); tiny budgets.
    static func arguments(baseline: String, mode: String, out: String, extra: [String] = []) -> [String] {
        ["run", "--dataset", "synthetic", "--num-classes", "6", "--images-per-class", "40", "--test-images-per-class", "20",
         "--nb-cl-fg", "2", "--nb-cl", "2", "--preset", "quick", "--epochs-fg", "6", "--epochs", "3",
         "--lr-fg", "0.1", "--lr", "0.05", "--batch-size", "32", "--nb-protos", "10", "--baseline", baseline, "--branch-mode", mode,
         "--branch-1", mode == "dual" ? "ss" : "free", "--out", out, "--quiet", "--threads", "2"] + extra
    }

    static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cil-run-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func results(_ dir: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: dir.appendingPathComponent("results.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func phases(_ results: [String: Any]) -> [[String: Any]] { results["phases"] as? [[String: Any]] ?? [] }

    @Test(arguments: ["icarl", "lucir", "podnet"], ["single", "dual"])
    func baselineLearnsAboveChanceInEveryPhase(baseline: String, mode: String) throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try CommandRunner.run(Self.arguments(baseline: baseline, mode: mode, out: dir.path))
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let results = try Self.results(dir)
        let phases = Self.phases(results)
        #expect(phases.count == 3)
        for p in phases {
            let seen = p["classes_seen"] as! Int
            let acc = p["acc_cnn"] as! Double, nme = p["acc_nme"] as! Double
            // Above chance in every phase: both metrics beat chance, the better one by 1.5x.
            #expect(acc > 1 / Double(seen), "\(baseline) \(mode) phase \(p["phase"]!): CNN \(acc) with \(seen) classes")
            #expect(nme > 1 / Double(seen), "\(baseline) \(mode) phase \(p["phase"]!): NME \(nme) with \(seen) classes")
            #expect(max(acc, nme) > 1.5 / Double(seen), "\(baseline) \(mode) phase \(p["phase"]!): CNN \(acc), NME \(nme) with \(seen) classes")
            for key in ["acc_cnn_base", "acc_nme_base", "alpha", "seconds"] { #expect(p[key] != nil, "missing \(key)") }
            if mode == "dual", p["phase"] as! Int > 0 {
                // PODNet: its rebuffi32 (4 levels) and POD-AANets' fixed α = 0.5.
                let alpha = p["alpha"] as! [Double]
                #expect(alpha.count == (baseline == "podnet" ? 4 : 3))
                if baseline == "podnet" { #expect(alpha.allSatisfy { $0 == 0.5 }, "podnet α \(alpha)") }
            }
        }
        let config = results["config"] as! [String: Any]
        #expect(config["mode"] as? String == "faithful" && config["baseline"] as? String == baseline)
        let avg = phases.map { $0["acc_cnn"] as! Double }.reduce(0, +) / 3
        #expect(abs((results["avg_inc_acc_cnn"] as! Double) - avg) < 1e-9)
        let forgetting = (phases[0]["acc_cnn_base"] as! Double) - (phases[2]["acc_cnn_base"] as! Double)
        #expect(abs((results["forgetting_cnn"] as! Double) - forgetting) < 1e-9)
    }

    /// `--backbone rebuffi32` (PODNet's CIFAR network) runs plain and on MANets, where
    /// its four levels get four α.
    @Test(arguments: ["single", "dual"])
    func rebuffi32BackboneRuns(mode: String) throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try CommandRunner.run(Self.arguments(baseline: "podnet", mode: mode, out: dir.path,
                                                       extra: ["--backbone", "rebuffi32", "--epochs-fg", "1", "--epochs", "1"]))
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let results = try Self.results(dir)
        #expect((results["config"] as? [String: Any])?["backbone"] as? String == "rebuffi32")
        let phases = Self.phases(results)
        #expect(phases.count == 3)
        for p in phases where mode == "dual" && p["phase"] as! Int > 0 {
            #expect((p["alpha"] as? [Double])?.count == 4)
        }
    }

    /// PODNet's defaults resolved into config.json: its network (rebuffi32 on
    /// CIFAR-style data), its data pipeline, and in faithful mode outside the quick
    /// preset its trainer's stepping, `step(epoch)` at the end of epoch e, so the
    /// cosine learning rates of 3 epochs are η(0), η(0), η(1) = 0.1, 0.1, 0.075. LUCIR
    /// keeps the MANets stepping and the dataset's pipeline (no `preprocessing` key).
    @Test func podnetResolvesItsBackbonePipelineAndStepping() throws {
        func run(_ baseline: String, _ extra: [String]) throws -> (config: [String: Any], rates: [Double]) {
            let dir = Self.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let out = try CommandRunner.run(Self.arguments(baseline: baseline, mode: "single", out: dir.path,
                                                           extra: ["--preset", "paper", "--epochs-fg", "3", "--lr-fg", "0.1",
                                                                   "--batch-size", "32", "--stop-after-phase", "0"] + extra))
            #expect(out.status == 0, "stderr: \(out.stderr)")
            let config = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json"))) as! [String: Any]
            let events = try String(contentsOf: dir.appendingPathComponent("events.jsonl"), encoding: .utf8)
            let rates = events.split(separator: "\n").compactMap { line -> Double? in
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      obj["event"] as? String == "epoch" else { return nil }
                return obj["lr"] as? Double
            }
            return (config, rates)
        }
        let podnet = try run("podnet", [])
        #expect(podnet.config["backbone"] as? String == "rebuffi32")
        #expect(podnet.config["preprocessing"] as? String == "podnet-cifar")
        #expect(podnet.config["stepping"] as? String == "lagging" && podnet.config["schedule"] as? String == "cosine")
        #expect(podnet.rates.count == 3)
        for (rate, expected) in zip(podnet.rates, [0.1, 0.1, 0.1 * (1 + cos(Double.pi / 3)) / 2]) {
            #expect(abs(rate - expected) < 1e-6, "podnet rates \(podnet.rates)")
        }
        let overridden = try run("podnet", ["--backbone", "resnet32", "--mode", "corrected"])
        #expect(overridden.config["backbone"] as? String == "resnet32" && overridden.config["stepping"] as? String == "corrected")
        #expect(overridden.config["preprocessing"] as? String == "podnet-cifar", "the pipeline is the method's in both modes")
        let lucir = try run("lucir", [])
        #expect(lucir.config["backbone"] as? String == "resnet32" && lucir.config["stepping"] as? String == "faithful")
        #expect(lucir.config["preprocessing"] == nil)
    }

    /// PODNet's finetuning leaves batch norm in training mode in faithful mode, so the
    /// host herds the phase's classes again after it (logged); corrected mode finetunes
    /// in evaluation mode and herds once; LUCIR has no finetuning.
    @Test func podnetFaithfulFinetuningHerdsAgain() throws {
        func events(_ baseline: String, _ mode: String) throws -> String {
            let dir = Self.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let out = try CommandRunner.run(Self.arguments(baseline: baseline, mode: "single", out: dir.path,
                                                           extra: ["--mode", mode, "--epochs-fg", "1", "--epochs", "1",
                                                                   "--baseline-option", baseline == "podnet" ? "finetune-epochs=1" : "lambda-base=5"]))
            #expect(out.status == 0, "stderr: \(out.stderr)")
            return try String(contentsOf: dir.appendingPathComponent("events.jsonl"), encoding: .utf8)
        }
        let faithful = try events("podnet", "faithful")
        #expect(faithful.contains("\"event\":\"herded_again\"") && faithful.contains("\"phase\":1") , "\(faithful)")
        #expect(!faithful.contains("\"event\":\"herded_again\",\"phase\":0"))
        #expect(faithful.components(separatedBy: "\"event\":\"herded_again\"").count - 1 == 2, "phases 1 and 2")
        #expect(!(try events("podnet", "corrected")).contains("herded_again"))
        #expect(!(try events("lucir", "faithful")).contains("herded_again"))
    }

    /// A PODNet directory made with another network (as every PODNet directory made
    /// before PODNet declared rebuffi32) is refused with the difference named and
    /// what to do.
    @Test func podnetDirectoryWithTheOldNetworkIsRefusedClearly() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let extra = ["--epochs-fg", "1", "--epochs", "1", "--stop-after-phase", "0"]
        let first = try CommandRunner.run(Self.arguments(baseline: "podnet", mode: "single", out: dir.path, extra: extra + ["--backbone", "resnet32"]))
        #expect(first.status == 0, "stderr: \(first.stderr)")
        let second = try CommandRunner.run(Self.arguments(baseline: "podnet", mode: "single", out: dir.path, extra: extra))
        #expect(second.status != 0 && second.status < 128)
        let text = second.stderr.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("holds a run with a different configuration (backbone: resnet32 in the directory, rebuffi32 now)"), "\(text)")
        #expect(text.contains("backbone now follows baseline 'podnet''s training policy"), "\(text)")
        #expect(text.contains("start the run in another --out"), "\(text)")
    }

    /// The retired `fixed-alpha` option is refused naming the plugin and the option.
    @Test func podnetFixedAlphaIsRefused() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try CommandRunner.run(Self.arguments(baseline: "podnet", mode: "dual", out: dir.path,
                                                       extra: ["--baseline-option", "fixed-alpha=true"]))
        #expect(out.status != 0 && out.status < 128)
        #expect(out.stderr.contains("plugin 'podnet' has no option 'fixed-alpha'; its options are: ") && out.stderr.contains("learn-alpha"),
                "\(out.stderr)")
    }

    /// `cil run --help` offers rebuffi32, and an unknown backbone is refused naming it.
    @Test func backboneChoicesIncludeRebuffi32() throws {
        let help = try CommandRunner.run(["run", "--help"])
        let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")  // undo the wrapping
        #expect(help.status == 0 && text.contains("rebuffi32 (PODNet's CIFAR ResNet-32"), "\(help.stdout)")
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try CommandRunner.run(Self.arguments(baseline: "podnet", mode: "single", out: dir.path, extra: ["--backbone", "rebuffi20"]))
        #expect(out.status != 0 && out.status < 128, "must fail cleanly, status \(out.status)")
        #expect(out.stderr.contains("--backbone rebuffi20: expected resnet32, resnet20, resnet18, resnet34 or rebuffi32"), "\(out.stderr)")
    }

    /// The original code's method flags set the options the baseline maps them to
    /// (`Baseline.originalFlags`) and are ignored by a baseline that maps none.
    @Test(arguments: [("lucir", ["lambda-base": "7.0", "K": "3"]), ("icarl", ["T": "3.0"])])
    func originalFlagsSetTheBaselinesOwnOptions(baseline: String, expected: [String: String]) throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try CommandRunner.run(Self.arguments(baseline: baseline, mode: "single", out: dir.path,
                                                       extra: ["--the_lambda", "7", "--K", "3", "--icarl_T", "3", "--epochs-fg", "1",
                                                               "--stop-after-phase", "0"]))
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json"))) as! [String: Any]
        #expect(config["baselineOptions"] as? [String: String] == expected, "\(config["baselineOptions"] ?? "none")")
    }

    /// Without --out, the run directory is the folder the original code names for the
    /// settings (logs/{dataset}_nfg…_ncls…_nproto…_{baseline}_{mode}_b1…_b2…_{fixed|dynamic}_{ckpt_label}),
    /// announced when the run starts; the same command resumes it. The original's
    /// ImageNet names are accepted as image-folder datasets.
    @Test func withoutOutTheRunDirectoryIsNamedAsTheOriginalNamesIt() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var arguments = Self.arguments(baseline: "lucir", mode: "dual", out: "unused", extra: ["--ckpt_label=Exp_01", "--epochs-fg", "1", "--stop-after-phase", "0"])
        let outIndex = try #require(arguments.firstIndex(of: "--out"))
        arguments.removeSubrange(outIndex ... outIndex + 1)
        let first = try CommandRunner.run(arguments, directory: dir)
        #expect(first.status == 0, "stderr: \(first.stderr)")
        let name = "logs/synthetic_nfg2_ncls2_nproto10_lucir_dual_b1ss_b2free_dynamic_Exp_01"
        #expect(first.stderr.contains("the run directory is \(name)"), "\(first.stderr)")
        let checkpoint = dir.appendingPathComponent("\(name)/checkpoints/phase-0.ckpt").path
        let written = try FileManager.default.attributesOfItem(atPath: checkpoint)[.modificationDate] as? Date
        #expect(written != nil)
        // The same command again finds the directory and resumes: phase 0 is not trained again.
        let again = try CommandRunner.run(arguments, directory: dir)
        #expect(again.status == 0 && again.stderr.contains("the run directory is \(name)"), "\(again.stderr)")
        #expect(try FileManager.default.attributesOfItem(atPath: checkpoint)[.modificationDate] as? Date == written)

        // --dataset imagenet_sub is the image-folder dataset: without a data directory,
        // the error is the image folder's, not an unknown dataset.
        let imagenet = try CommandRunner.run(["run", "--dataset=imagenet_sub", "--data_dir=\(dir.path)/none", "--out", dir.appendingPathComponent("x").path],
                                             directory: dir)
        #expect(imagenet.status != 0 && !imagenet.stderr.contains("expected one of"), "\(imagenet.stderr)")
    }

    /// Killed with SIGKILL during phase 1, the same command finishes with the same
    /// results as an uninterrupted run.
    @Test func resumeAfterSIGKILLGivesIdenticalResults() throws {
        let whole = Self.temporaryDirectory(), killed = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: whole); try? FileManager.default.removeItem(at: killed) }
        let reference = try CommandRunner.run(Self.arguments(baseline: "lucir", mode: "dual", out: whole.path))
        #expect(reference.status == 0, "stderr: \(reference.stderr)")

        // Start the same run and kill it once phase 0 is checkpointed.
        let process = Process()
        process.executableURL = CommandRunner.executable
        process.arguments = Self.arguments(baseline: "lucir", mode: "dual", out: killed.path)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let checkpoint = killed.appendingPathComponent("checkpoints/phase-0.ckpt")
        let deadline = Date().addingTimeInterval(300)
        while !FileManager.default.fileExists(atPath: checkpoint.path) && Date() < deadline && process.isRunning {
            usleep(20_000)
        }
        usleep(300_000)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the run finished before it could be killed")

        let resumed = try CommandRunner.run(Self.arguments(baseline: "lucir", mode: "dual", out: killed.path))
        #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
        let a = Self.phases(try Self.results(whole)), b = Self.phases(try Self.results(killed))
        #expect(a.count == 3 && b.count == 3)
        for (x, y) in zip(a, b) {
            for key in ["acc_cnn", "acc_nme", "acc_cnn_base", "acc_nme_base"] {
                #expect(x[key] as? Double == y[key] as? Double, "phase \(x["phase"]!) \(key)")
            }
            #expect(x["alpha"] as? [Double] == y["alpha"] as? [Double])
        }
        let events = try String(contentsOf: killed.appendingPathComponent("events.jsonl"), encoding: .utf8)
        #expect(events.contains("\"event\":\"resume\""))
    }

    /// A directory holding another configuration is refused, naming what differs.
    @Test func anotherConfigurationIsRefused() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try CommandRunner.run(Self.arguments(baseline: "icarl", mode: "single", out: dir.path, extra: ["--epochs-fg", "1", "--epochs", "1"]))
        #expect(first.status == 0, "stderr: \(first.stderr)")
        let second = try CommandRunner.run(Self.arguments(baseline: "icarl", mode: "single", out: dir.path, extra: ["--epochs-fg", "1", "--epochs", "2"]))
        #expect(second.status != 0)
        #expect(second.stderr.contains("different configuration") && second.stderr.contains("epochs"), "\(second.stderr)")
    }

    /// The quick preset steps its schedule the conventional way, so a one-epoch
    /// phase trains with a non-zero learning rate; the paper preset keeps the shift.
    @Test func quickPresetOneEpochPhasesTrain() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try CommandRunner.run(Self.arguments(baseline: "icarl", mode: "single", out: dir.path,
                                                       extra: ["--epochs-fg", "1", "--epochs", "1"]))
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let config = try String(contentsOf: dir.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(config.contains("\"stepping\" : \"corrected\""), "\(config)")
        let events = try String(contentsOf: dir.appendingPathComponent("events.jsonl"), encoding: .utf8)
        let rates = events.split(separator: "\n").compactMap { line -> Double? in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  obj["event"] as? String == "epoch" else { return nil }
            return obj["lr"] as? Double
        }
        #expect(rates.count == 3 && rates.allSatisfy { $0 > 0 }, "learning rates \(rates)")
    }

    /// A seed outside NumPy's range is refused with the flag named (not a crash).
    @Test func negativeSeedIsRefused() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try CommandRunner.run(Self.arguments(baseline: "lucir", mode: "single", out: dir.path, extra: ["--seed=-1"]))
        #expect(out.status != 0 && out.status < 128, "must fail cleanly, status \(out.status)")
        #expect(out.stderr.contains("--seed -1"), "\(out.stderr)")
    }

    /// Unknown plugins are refused before anything runs, listing the available ones.
    @Test func unknownBaselineListsTheAvailableOnes() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try CommandRunner.run(Self.arguments(baseline: "nosuch", mode: "single", out: dir.path))
        #expect(out.status != 0)
        #expect(out.stderr.contains("unknown baseline 'nosuch'") && out.stderr.contains("icarl, lucir, podnet"), "\(out.stderr)")
    }
}
