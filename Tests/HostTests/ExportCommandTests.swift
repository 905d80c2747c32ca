import CILSDK
import Foundation
import Testing

/// PyTorch weights in and out: `cil export` (a finished phase as a state dict with
/// metadata, and a probe), `cil run --phase0-from FILE` (phase 0 taken from a file,
/// then herding, evaluation and the checkpoint as usual) and `--init-from FILE`
/// (phase 0 trains from a file's weights), the file's SHA-256 in the configuration.
/// With CIL_TORCH_PYTHON and CIL_AAN_DIR set, the exports are also loaded into the
/// original code's models by Examples/pytorch/load_in_original.py.
@Suite("cil export and PyTorch weights", .serialized)
struct ExportCommandTests {
    /// 6 classes, 2 + 2 + 2, ResNet-20, LUCIR; dual ss + free or single free.
    static func arguments(mode: String, out: String, extra: [String] = []) -> [String] {
        ["run", "--dataset", "synthetic", "--num-classes", "6", "--images-per-class", "30", "--test-images-per-class", "10",
         "--nb-cl-fg", "2", "--nb-cl", "2", "--preset", "quick", "--epochs-fg", "1", "--epochs", "1",
         "--lr-fg", "0.1", "--lr", "0.05", "--batch-size", "16", "--backbone", "resnet20", "--baseline", "lucir",
         "--branch-mode", mode, "--branch-1", mode == "dual" ? "ss" : "free", "--out", out, "--quiet", "--threads", "2"] + extra
    }

    /// A finished dual run and a finished single-branch run, made once.
    static let runs: (dual: URL, single: URL)? = {
        let dual = RunCommandTests.temporaryDirectory(), single = RunCommandTests.temporaryDirectory()
        guard (try? CommandRunner.run(arguments(mode: "dual", out: dual.path)))?.status == 0,
              (try? CommandRunner.run(arguments(mode: "single", out: single.path)))?.status == 0 else { return nil }
        return (dual, single)
    }()

    static func finishedRuns() throws -> (dual: URL, single: URL) {
        try #require(runs, "the tiny runs failed")
    }

    static func export(_ run: URL, phase: Int, to dir: URL, probe: Bool = true, extra: [String] = []) throws -> (model: String, probe: String) {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let model = dir.appendingPathComponent("phase\(phase).safetensors").path
        let probePath = dir.appendingPathComponent("phase\(phase)-probe.safetensors").path
        let out = try CommandRunner.run(["export", run.path, "--phase", "\(phase)", "--out", model, "--threads", "2"]
                                        + (probe ? ["--probe", probePath] : []) + extra)
        #expect(out.status == 0, "stderr: \(out.stderr)")
        return (model, probePath)
    }

    static func sha256(_ path: String) throws -> String {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var digest = SHA256()
        bytes.withUnsafeBytes { digest.update($0) }
        return digest.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func config(_ run: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("config.json"))) as! [String: Any]
    }

    // MARK: - cil export

    @Test func exportsEveryFinishedPhaseWithMetadataAndProbe() throws {
        let (dual, single) = try Self.finishedRuns()
        let dir = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for phase in 0...2 {
            let (model, probe) = try Self.export(dual, phase: phase, to: dir)
            let f = try SafeTensorsFile(contentsOfFile: model)
            let m = f.metadata
            #expect(m["phase"] == "\(phase)" && m["baseline"] == "lucir" && m["branch_mode"] == "dual" && m["branch_1"] == "ss"
                    && m["branch_2"] == "free" && m["backbone"] == "resnet20" && m["classes_seen"] == "\(2 * phase + 2)"
                    && m["phase0_classes"] == "2" && m["mode"] == "faithful" && m["cil_version"] != nil && m["head"] == "CosineHead",
                    "\(m)")
            #expect(m["layout"] == (phase == 0 ? "plain" : "dual"))
            if phase == 0 {
                #expect(f.info("conv1.weight")?.shape == [16, 3, 3, 3] && f.info("fc.weight")?.shape == [2, 64] && f.info("fc.sigma") != nil)
            } else {
                #expect(f.info("b1_model.conv1.mtl_weight")?.shape == [16, 3, 1, 1])
                #expect(f.info("b1_model.fc.fc1.weight")?.shape == [2 * phase, 64] && f.info("b1_model.fc.fc2.weight")?.shape == [2, 64])
                #expect(f.info("b2_model.fc.weight")?.shape == [2, 64] && f.info("b2_model.layer3.2.bn2.running_var") != nil)
                #expect(f.info("fusion_vars.2")?.shape == [1] && f.info("fusion_vars.3") == nil)
                #expect(f.names.allSatisfy { ["b1_model", "b2_model", "fusion_vars"].contains(String($0.prefix { $0 != "." })) })
            }
            let p = try SafeTensorsFile(contentsOfFile: probe)
            #expect(p.info("images")?.shape == [8, 3, 32, 32] && p.info("logits")?.shape == [8, 2 * phase + 2]
                    && p.info("features")?.shape == [8, 64])
            #expect(p.metadata["probe_seed"] == "0" && p.metadata["phase"] == "\(phase)")
        }
        let (singleModel, _) = try Self.export(single, phase: 1, to: dir, probe: false)
        let s = try SafeTensorsFile(contentsOfFile: singleModel)
        #expect(s.metadata["layout"] == "plain" && s.info("fc.fc1.weight")?.shape == [2, 64] && s.info("conv1.weight") != nil
                && s.info("conv1.mtl_weight") == nil && s.info("fusion_vars.0") == nil)
    }

    @Test func probeSeedAndCountAreHonoured() throws {
        let (dual, _) = try Self.finishedRuns()
        let dir = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try Self.export(dual, phase: 1, to: dir.appendingPathComponent("a"), extra: ["--probe-images", "3"])
        let b = try Self.export(dual, phase: 1, to: dir.appendingPathComponent("b"), extra: ["--probe-images", "3"])
        let c = try Self.export(dual, phase: 1, to: dir.appendingPathComponent("c"), extra: ["--probe-images", "3", "--probe-seed", "7"])
        let pa = try SafeTensorsFile(contentsOfFile: a.probe), pb = try SafeTensorsFile(contentsOfFile: b.probe)
        let pc = try SafeTensorsFile(contentsOfFile: c.probe)
        #expect(pa.info("images")?.shape == [3, 3, 32, 32])
        #expect(try pa.floats("images") == pb.floats("images") && pa.floats("logits") == pb.floats("logits"))
        #expect(try pa.floats("images") != pc.floats("images"))
        #expect(try Self.sha256(a.model) == Self.sha256(b.model), "the same phase exports the same bytes")
    }

    @Test func refusesMissingDirectoriesUnfinishedPhasesAndBadPhases() throws {
        let (dual, _) = try Self.finishedRuns()
        let dir = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("m.safetensors").path
        let missing = try CommandRunner.run(["export", dir.appendingPathComponent("nothing").path, "--phase", "0", "--out", out])
        #expect(missing.status != 0 && missing.stderr.contains("nothing: no such run directory"), "\(missing.stderr)")
        let notRun = try CommandRunner.run(["export", dir.path, "--phase", "0", "--out", out])
        #expect(notRun.status != 0 && notRun.stderr.contains("is not a cil run directory (it has no config.json)"), "\(notRun.stderr)")
        let unfinished = try CommandRunner.run(["export", dual.path, "--phase", "3", "--out", out])
        #expect(unfinished.status != 0 && unfinished.stderr.contains("phase 3 is not finished; finished phases: 0, 1, 2"), "\(unfinished.stderr)")
        let negative = try CommandRunner.run(["export", dual.path, "--phase=-1", "--out", out])
        #expect(negative.status != 0 && negative.stderr.contains("--phase must be 0 or more, got -1"), "\(negative.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    // MARK: - cil run --phase0-from FILE, --init-from FILE

    @Test func phase0FromFileIsPhaseZerosNetwork() throws {
        let (dual, _) = try Self.finishedRuns()
        let dir = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, _) = try Self.export(dual, phase: 0, to: dir, probe: false)
        let run = dir.appendingPathComponent("from-file")
        let out = try CommandRunner.run(Self.arguments(mode: "dual", out: run.path, extra: ["--phase0-from", model]))
        #expect(out.status == 0, "stderr: \(out.stderr)")
        // Phase 0's network is the file's: exported again, every value is the same.
        let (again, _) = try Self.export(run, phase: 0, to: dir.appendingPathComponent("again"), probe: false)
        let a = try SafeTensorsFile(contentsOfFile: model), b = try SafeTensorsFile(contentsOfFile: again)
        #expect(a.names == b.names)
        for name in a.names where a.info(name)?.dtype == .f32 { #expect(try a.floats(name) == b.floats(name), "\(name)") }
        // The same network on the same data: the same phase-0 accuracy as the run it came from.
        let original = RunCommandTests.phases(try RunCommandTests.results(dual))[0]
        let loaded = RunCommandTests.phases(try RunCommandTests.results(run))
        #expect(loaded.count == 3)
        #expect(loaded[0]["acc_cnn"] as? Double == original["acc_cnn"] as? Double)
        #expect(loaded[0]["acc_nme"] as? Double == original["acc_nme"] as? Double)
        let weights = try #require(try Self.config(run)["phaseZeroWeights"] as? [String: Any])
        let digest = try Self.sha256(model)
        #expect(weights["use"] as? String == "phase0-from" && weights["sha256"] as? String == digest)
        let events = try String(contentsOf: run.appendingPathComponent("events.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(events.contains { $0["event"] as? String == "phase0_weights" && $0["use"] as? String == "phase0-from" })
        #expect(!events.contains { $0["event"] as? String == "epoch" && $0["phase"] as? Int == 0 }, "phase 0 has no epochs")
        #expect(events.contains { $0["event"] as? String == "epoch" && $0["phase"] as? Int == 1 })
    }

    @Test func phase0FromFileOfAnotherStructureIsRefusedNamingTheFile() throws {
        let (dual, _) = try Self.finishedRuns()
        let dir = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (phase1, _) = try Self.export(dual, phase: 1, to: dir, probe: false)
        let out = try CommandRunner.run(Self.arguments(mode: "dual", out: dir.appendingPathComponent("r").path, extra: ["--phase0-from", phase1]))
        #expect(out.status != 0)
        #expect(out.stderr.contains("--phase0-from: \(phase1) does not fit the network"), "\(out.stderr)")
        #expect(out.stderr.contains("the file holds a dual (MANets) network"))
        #expect(out.stderr.contains("missing tensor fc.weight (expected shape [2, 64], F32)"))
        let garbage = dir.appendingPathComponent("garbage.safetensors")
        try Data("not a safetensors file".utf8).write(to: garbage)
        let bad = try CommandRunner.run(Self.arguments(mode: "dual", out: dir.appendingPathComponent("g").path, extra: ["--init-from", garbage.path]))
        #expect(bad.status != 0 && bad.stderr.contains("--init-from: \(garbage.path): the header length"), "\(bad.stderr)")
        let absent = try CommandRunner.run(Self.arguments(mode: "dual", out: dir.appendingPathComponent("h").path,
                                                          extra: ["--phase0-from", dir.appendingPathComponent("absent.safetensors").path]))
        #expect(absent.status != 0 && absent.stderr.contains("--phase0-from \(dir.appendingPathComponent("absent.safetensors").path): missing file"), "\(absent.stderr)")
        let both = try CommandRunner.run(Self.arguments(mode: "dual", out: dir.appendingPathComponent("i").path,
                                                        extra: ["--phase0-from", phase1, "--init-from", phase1]))
        #expect(both.status != 0 && both.stderr.contains("give one"), "\(both.stderr)")
    }

    /// A resume with another file is refused; the same content elsewhere is accepted;
    /// once phase 0 is finished the file is no longer needed.
    @Test func theFilesDigestGuardsTheResume() throws {
        let (dual, single) = try Self.finishedRuns()
        let dir = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, _) = try Self.export(dual, phase: 0, to: dir, probe: false)
        let (other, _) = try Self.export(single, phase: 0, to: dir.appendingPathComponent("single"), probe: false)
        let run = dir.appendingPathComponent("run")
        let first = try CommandRunner.run(Self.arguments(mode: "dual", out: run.path, extra: ["--init-from", model, "--stop-after-phase", "0"]))
        #expect(first.status == 0, "stderr: \(first.stderr)")
        let refused = try CommandRunner.run(Self.arguments(mode: "dual", out: run.path, extra: ["--init-from", other]))
        #expect(refused.status != 0 && refused.stderr.contains("holds a run with a different configuration (phaseZeroWeights"), "\(refused.stderr)")
        let moved = dir.appendingPathComponent("moved.safetensors")
        try FileManager.default.moveItem(atPath: model, toPath: moved.path)
        let goneArguments = Self.arguments(mode: "dual", out: run.path, extra: ["--init-from", model, "--stop-after-phase", "1"])
        let gone = try CommandRunner.run(goneArguments.filter { $0 != "--quiet" })
        #expect(gone.status == 0, "stderr: \(gone.stderr)")
        #expect(gone.stderr.contains("cannot be read") && gone.stderr.contains("so the run continues without it"), "\(gone.stderr)")
        let resume = Self.arguments(mode: "dual", out: run.path, extra: ["--init-from", moved.path]).filter { $0 != "--quiet" }
        let resumed = try CommandRunner.run(resume)
        #expect(resumed.status == 0 && resumed.stderr.contains("resuming after phase 1"), "\(resumed.stderr)")
        #expect(RunCommandTests.phases(try RunCommandTests.results(run)).count == 3)
    }

    /// With no learning rate and no weight decay, phase 0 trained from a file keeps
    /// the file's weights (only the batch-norm statistics move).
    @Test func initFromStartsPhaseZeroFromTheFile() throws {
        let (dual, _) = try Self.finishedRuns()
        let dir = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, _) = try Self.export(dual, phase: 0, to: dir, probe: false)
        let run = dir.appendingPathComponent("init")
        let out = try CommandRunner.run(Self.arguments(mode: "dual", out: run.path,
                                                       extra: ["--init-from", model, "--lr-fg", "0", "--weight-decay", "0", "--stop-after-phase", "0"]))
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let weights = try #require(try Self.config(run)["phaseZeroWeights"] as? [String: Any])
        let digest = try Self.sha256(model)
        #expect(weights["use"] as? String == "init-from" && weights["sha256"] as? String == digest)
        let (after, _) = try Self.export(run, phase: 0, to: dir.appendingPathComponent("after"), probe: false)
        let a = try SafeTensorsFile(contentsOfFile: model), b = try SafeTensorsFile(contentsOfFile: after)
        for name in a.names where name.hasSuffix(".weight") || name.hasSuffix(".bias") || name == "fc.sigma" {
            #expect(try a.floats(name) == b.floats(name), "\(name)")
        }
        #expect(try a.floats("bn1.running_mean") != b.floats("bn1.running_mean"), "phase 0 trained (in training mode)")
    }

    @Test func runHelpDocumentsBothOptions() throws {
        let help = try CommandRunner.run(["run", "--help"])
        #expect(help.stdout.contains("--phase0-from <path>") && help.stdout.contains("--init-from <file>"))
        #expect(help.stdout.contains(".safetensors"))
        let export = try CommandRunner.run(["export", "--help"])
        #expect(export.status == 0 && export.stdout.contains("--probe-images"))
    }

    @Test func compareRefusesPhase0FromAmongItsRunOptions() throws {
        let dir = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try CommandRunner.run(["compare", "--baselines", "lucir", "--out", dir.appendingPathComponent("c").path,
                                         "--", "--phase0-from", dir.appendingPathComponent("m.safetensors").path])
        #expect(out.status != 0 && out.stderr.contains("give -- --init-from FILE"), "\(out.stderr)")
    }

    // MARK: - In the original code (optional)

    /// Examples/pytorch/load_in_original.py on phase 0-2 of the dual run and phase 1
    /// of the single one: strict loading into the original's models, same logits.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CIL_TORCH_PYTHON"] != nil
                   && ProcessInfo.processInfo.environment["CIL_AAN_DIR"] != nil))
    func exportsLoadIntoTheOriginalCode() throws {
        let env = ProcessInfo.processInfo.environment
        let (dual, single) = try Self.finishedRuns()
        let dir = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) { root.deleteLastPathComponent() }
        let script = root.appendingPathComponent("Examples/pytorch/load_in_original.py").path
        for (run, phase) in [(dual, 0), (dual, 1), (dual, 2), (single, 1)] {
            let (model, probe) = try Self.export(run, phase: phase, to: dir.appendingPathComponent("\(run.lastPathComponent)-\(phase)"))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: env["CIL_TORCH_PYTHON"]!)
            process.arguments = [script, "--aan-dir", env["CIL_AAN_DIR"]!, model, probe]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(text)")
        }
    }
}
