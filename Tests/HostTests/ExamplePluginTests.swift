import Foundation
import Testing

/// The out-of-tree examples of Examples/ (built by Examples/build-examples.sh, as CI
/// does before the tests), loaded by the unchanged host: `wa` (a baseline),
/// `lowrank` (a branch type) and the C loss term `entropy`, and a tiny synthetic
/// comparison of `wa` plain vs MANets with a `lowrank` plastic branch.
@Suite("example plugins", .serialized)
struct ExamplePluginTests {
    /// The package root: the nearest directory above this file holding Package.swift.
    static let root: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            dir.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    }()

    static let weightAligningDir = root.appendingPathComponent("Examples/WeightAligning/.build/release")
    static let lowRankDir = root.appendingPathComponent("Examples/LowRankBranch/.build/release")
    static let cLossTermDir = root.appendingPathComponent("Examples/CLossTerm")

    /// The example plugin directories, failing the test (not skipping it) when a
    /// library has not been built.
    static func exampleDirectories() throws -> (wa: URL, lowRank: URL, cLossTerm: URL) {
        let libraries = [
            weightAligningDir.appendingPathComponent("libCILPluginWA.so"),
            lowRankDir.appendingPathComponent("libCILPluginLowRank.so"),
            cLossTermDir.appendingPathComponent("libCILPluginEntropy.so"),
        ]
        let missing = libraries.filter { !FileManager.default.fileExists(atPath: $0.path) }
        try #require(missing.isEmpty, """
            example plugin libraries missing (\(missing.map(\.path).joined(separator: ", "))): \
            run Examples/build-examples.sh first (CI runs it before the tests)
            """)
        return (weightAligningDir, lowRankDir, cLossTermDir)
    }

    @Test func examplePluginsLoad() throws {
        let dirs = try Self.exampleDirectories()
        let out = try CommandRunner.run(["plugins", "--plugin-dir", dirs.wa.path, "--plugin-dir", dirs.lowRank.path,
                                         "--plugin-dir", dirs.cLossTerm.path, "--json"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        #expect(out.stderr.isEmpty, "stderr: \(out.stderr)")
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [[String: Any]])
        func entry(_ kind: String, _ name: String) -> [String: Any]? {
            entries.first { $0["kind"] as? String == kind && $0["name"] as? String == name }
        }
        let wa = try #require(entry("baseline", "wa"), "\(out.stdout)")
        #expect((wa["path"] as? String ?? "").hasSuffix("libCILPluginWA.so"))
        let waOptions = (wa["options"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(waOptions == ["T", "kd_weight", "align"])
        let lowRank = try #require(entry("branch type", "lowrank"), "\(out.stdout)")
        #expect((lowRank["path"] as? String ?? "").hasSuffix("libCILPluginLowRank.so"))
        let rank = (lowRank["options"] as? [[String: Any]] ?? []).first { $0["name"] as? String == "rank" }
        #expect(rank?["type"] as? String == "int" && rank?["default"] as? String == "4", "\(String(describing: rank))")
        let entropy = try #require(entry("loss term", "entropy"), "\(out.stdout)")
        #expect((entropy["path"] as? String ?? "").hasSuffix("libCILPluginEntropy.so"))
        let functions = (entropy["functions"] as? [[String: Any]]) ?? []
        #expect(functions.count == 1 && functions.first?["name"] as? String == "entropy", "\(functions)")
    }

    static let experiment = TinyProtocol.yaml() + """
        baselines: [wa]
        arms:
          plain:   {branch_mode: single, branch_1: free}
          lowrank: {branch_mode: dual, branch_1: ss, branch_2: lowrank}
        seeds: [1993]

        """

    @Test func weightAligningComparesPlainAndLowRank() throws {
        let dirs = try Self.exampleDirectories()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cil-examples-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("experiment.yaml")
        try Data(Self.experiment.utf8).write(to: file)
        let out = dir.appendingPathComponent("cmp")
        let result = try CommandRunner.run(["compare", file.path, "--out", out.path, "--jobs", "2",
                                            "--plugin-dir", dirs.wa.path, "--plugin-dir", dirs.lowRank.path])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("comparison.json"))) as? [String: Any])
        #expect((json["failures"] as? [Any])?.isEmpty == true, "\(json["failures"] ?? "")")
        let baselines = json["baselines"] as? [[String: Any]] ?? []
        #expect(baselines.count == 1)
        let arms = baselines.first?["arms"] as? [[String: Any]] ?? []
        #expect(arms.map { $0["name"] as? String ?? "?" } == ["plain", "lowrank"])
        for arm in ["plain", "lowrank"] {
            let results = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("runs/wa-\(arm)-seed1993/results.json"))) as? [String: Any])
            let phases = results["phases"] as? [[String: Any]] ?? []
            #expect(phases.count == 3, "\(arm): \(phases.count) phases")
            let accuracy = results["avg_inc_acc_cnn"] as? Double ?? -1
            #expect(accuracy >= 0 && accuracy <= 1, "\(arm): \(accuracy)")
        }
    }

    /// The C loss term, run by the host: `cil run --loss-term entropy` adds it to the
    /// baseline's loss; its value is logged and the run finishes.
    @Test func cLossTermRunsInATraining() throws {
        let dirs = try Self.exampleDirectories()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("cil-lossterm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try CommandRunner.run([
            "run", "--dataset", "synthetic", "--num-classes", "4", "--images-per-class", "20", "--test-images-per-class", "10",
            "--nb-cl-fg", "2", "--nb-cl", "2", "--preset", "quick", "--epochs-fg", "1", "--epochs", "1", "--batch-size", "16",
            "--baseline", "lucir", "--branch-mode", "single", "--branch-1", "free", "--backbone", "resnet20",
            "--loss-term", "entropy", "--loss-term-weight", "0.5", "--plugin-dir", dirs.cLossTerm.path,
            "--out", out.path, "--quiet",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let config = try String(contentsOf: out.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(config.contains("\"lossTerm\" : \"entropy\""), "\(config)")
        let results = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("results.json"))) as? [String: Any]
        #expect((results?["phases"] as? [Any])?.count == 2)
        // An unknown loss term is refused, listing the available ones.
        let unknown = try CommandRunner.run(["run", "--dataset", "synthetic", "--num-classes", "4", "--nb-cl-fg", "2", "--nb-cl", "2",
                                             "--loss-term", "nosuch", "--plugin-dir", dirs.cLossTerm.path, "--out", out.path + "-x"])
        #expect(unknown.status != 0 && unknown.stderr.contains("unknown loss term 'nosuch'") && unknown.stderr.contains("entropy"),
                "\(unknown.stderr)")
    }
}
