import Foundation
import Testing

/// Baselines that declare the same phase-0 recipe (iCaRL's `manets` variant and
/// LUCIR) share one phase 0 in a comparison: the plan gives it one trainer per seed,
/// and a baseline run that adopts another baseline's phase 0 ends with exactly the
/// results of the same run training phase 0 itself.
@Suite("shared phase 0 across baselines", .serialized)
struct SharedPhaseZeroTests {
    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cil-shared-p0-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The Slurm plan of iCaRL, LUCIR and PODNet over two seeds: one phase-0 task per
    /// recipe and seed; LUCIR's arms start from iCaRL's phase 0, PODNet's from its own.
    /// With iCaRL's classic variant, iCaRL and LUCIR each train their own.
    @Test func planHasOnePhaseZeroPerRecipeAndSeed() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("experiment.yaml")
        try Data((TinyProtocol.yaml() + """
            baselines: [icarl, lucir, podnet]
            arms:
              plain:  {branch_mode: single, branch_1: free}
              manets: {branch_mode: dual, branch_1: ss, branch_2: free}
            seeds: [1993, 7]

            """).utf8).write(to: file)
        let out = dir.appendingPathComponent("cmp")
        let result = try CommandRunner.run(["compare", file.path, "--out", out.path, "--slurm", "--dry-run"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("4 phase-0 tasks, 12 arm tasks"), "\(result.stderr)")
        let slurm = out.appendingPathComponent("slurm")
        let runs = out.appendingPathComponent("runs").path
        let phaseZero = SlurmCompareTests.tasks(of: try String(contentsOf: slurm.appendingPathComponent("phase0.sbatch"), encoding: .utf8))
        let trainers = phaseZero.values.compactMap { $0.first { $0.hasPrefix("--out=") } }.sorted()
        #expect(trainers == ["icarl-plain-seed1993", "icarl-plain-seed7", "podnet-plain-seed1993", "podnet-plain-seed7"]
            .map { "--out=\(runs)/\($0)" }, "\(trainers)")
        let arms = SlurmCompareTests.tasks(of: try String(contentsOf: slurm.appendingPathComponent("arms.sbatch"), encoding: .utf8))
        for a in arms.values {
            let outArg = a.first { $0.hasPrefix("--out=") } ?? ""
            let name = String(outArg.dropFirst("--out=\(runs)/".count))
            let seed = name.hasSuffix("seed7") ? 7 : 1993
            let source = a.first { $0.hasPrefix("--phase0-from=") }.map { String($0.dropFirst("--phase0-from=".count)) }
            switch name {
            case "icarl-plain-seed\(seed)", "podnet-plain-seed\(seed)":
                #expect(source == nil, "\(name) trains its phase 0: \(a)")
            case "podnet-manets-seed\(seed)":
                #expect(source == "\(runs)/podnet-plain-seed\(seed)", "\(a)")
            default:
                #expect(source == "\(runs)/icarl-plain-seed\(seed)", "\(name) starts from iCaRL's phase 0: \(a)")
            }
        }

        // iCaRL's classic variant (linear head, sigmoid BCE) declares no recipe: LUCIR
        // and it each train their own phase 0.
        let classic = dir.appendingPathComponent("classic.yaml")
        try Data((TinyProtocol.yaml() + """
            baselines: [icarl, lucir]
            baseline_options:
              icarl: {variant: classic}
            arms:
              plain:  {branch_mode: single, branch_1: free}
            seeds: [1993]

            """).utf8).write(to: classic)
        let classicOut = dir.appendingPathComponent("classic")
        let second = try CommandRunner.run(["compare", classic.path, "--out", classicOut.path, "--slurm", "--dry-run"])
        #expect(second.status == 0 && second.stderr.contains("2 phase-0 tasks, 2 arm tasks"), "\(second.stderr)")
    }

    /// A local comparison of iCaRL and LUCIR trains phase 0 once (in iCaRL's plain
    /// arm); the LUCIR arm adopts it and ends with the results, phase by phase, of a
    /// LUCIR run with the same settings that trains its own phase 0, whose phase-0
    /// checkpoint holds the same network.
    @Test func adoptedPhaseZeroGivesTheResultsOfTrainingItAlone() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("experiment.yaml")
        try Data((TinyProtocol.yaml() + """
            baselines: [icarl, lucir]
            arms:
              plain:  {branch_mode: single, branch_1: free}
            seeds: [1993]

            """).utf8).write(to: file)
        let out = dir.appendingPathComponent("cmp")
        let compare = try CommandRunner.run(["compare", file.path, "--out", out.path, "--jobs", "2"])
        #expect(compare.status == 0, "\(compare.stderr)")
        let runs = out.appendingPathComponent("runs")
        let events = try String(contentsOf: runs.appendingPathComponent("lucir-plain-seed1993/events.jsonl"), encoding: .utf8)
        let adopted = events.split(separator: "\n").first { $0.contains("\"phase0_adopted\"") }.map(String.init) ?? ""
        #expect(adopted.contains("icarl-plain-seed1993") && adopted.contains("\"baseline\":\"icarl\""), "\(events)")
        let icarlEvents = try String(contentsOf: runs.appendingPathComponent("icarl-plain-seed1993/events.jsonl"), encoding: .utf8)
        #expect(!icarlEvents.contains("phase0_adopted"))

        // The same LUCIR run alone, training phase 0 itself.
        let alone = dir.appendingPathComponent("alone")
        let run = try CommandRunner.run([
            "run", "--dataset=synthetic", "--num-classes=6", "--images-per-class=30", "--test-images-per-class=10",
            "--nb-cl-fg=2", "--nb-cl=2", "--preset=quick", "--epochs-fg=2", "--epochs=1", "--batch-size=32",
            "--branch-mode=single", "--branch-1=free", "--baseline=lucir", "--seed=1993", "--quiet",
            // The threads `cil compare --jobs 2` gives each arm.
            "--threads=\(max(1, ProcessInfo.processInfo.activeProcessorCount / 2))",
            "--out=\(alone.path)"])
        #expect(run.status == 0, "\(run.stderr)")
        let config = { (url: URL) throws -> [String: Any] in
            try JSONSerialization.jsonObject(with: Data(contentsOf: url.appendingPathComponent("config.json"))) as! [String: Any]
        }
        #expect(NSDictionary(dictionary: try config(alone)).isEqual(to: try config(runs.appendingPathComponent("lucir-plain-seed1993"))),
                "the standalone run has the comparison arm's configuration")
        let phases = { (url: URL) throws -> [[String: Any]] in
            let results = try JSONSerialization.jsonObject(with: Data(contentsOf: url.appendingPathComponent("results.json"))) as! [String: Any]
            return (results["phases"] as! [[String: Any]]).map { $0.filter { !["seconds", "seconds_breakdown", "timing"].contains($0.key) } }
        }
        let shared = try phases(runs.appendingPathComponent("lucir-plain-seed1993")), own = try phases(alone)
        #expect(shared.count == 3 && own.count == 3)
        for (p, (a, b)) in zip(shared, own).enumerated() {
            #expect(NSDictionary(dictionary: a).isEqual(to: b), "phase \(p): shared \(a), alone \(b)")
        }
        // Phase 0's network and exemplars: the shared checkpoint is the standalone one
        // (the tensors and memory after the JSON header, which names the run's own config).
        let body = { (url: URL) throws -> Data in
            let data = try Data(contentsOf: url.appendingPathComponent("checkpoints/phase-0.ckpt"))
            let length = data.subdata(in: 8..<16).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
            let header = try JSONSerialization.jsonObject(with: data.subdata(in: 16..<(16 + length))) as! [String: Any]
            var tensors = Data()
            for key in ["tensors", "memory"] {
                tensors.append(try JSONSerialization.data(withJSONObject: header[key] as Any, options: [.sortedKeys]))
            }
            return tensors + data.subdata(in: (16 + length)..<(data.count - 32))
        }
        #expect(try body(runs.appendingPathComponent("icarl-plain-seed1993")) == body(alone))
    }
}
