import Foundation
import Testing

/// `cil compare` with a baseline plugin that crashes the process inside its loss
/// (SIGSEGV, and Swift's fatalError trap): that arm fails, its reason names the
/// plugin, its library file and where it crashed; the other arms finish and the
/// reports are written; exit status 1.
@Suite("cil compare: a crashing plugin", .serialized)
struct ComparisonCrashTests {
    static func experiment(crash: String) -> String {
        TinyProtocol.yaml(epochsFirst: 1) + """
        baselines: [crashing-fixture, icarl]
        baseline_options:
          crashing-fixture: {crash: \(crash), crash-phase: 1}
        arms:
          plain: {branch_mode: single, branch_1: free}
        seeds: [1993]

        """
    }

    /// The signal of a Swift trap (`fatalError`): ud2 on x86-64, brk on arm64.
    #if arch(arm64)
    static let trapSignal = "SIGTRAP"
    #else
    static let trapSignal = "SIGILL"
    #endif

    @Test(arguments: [("segv", "SIGSEGV"), ("trap", trapSignal)])
    func crashingPluginFailsItsArmByNameAndTheComparisonGoesOn(crash: String, signal: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let plugins = try dir.subdirectory("plugins")
        let library = plugins.appendingPathComponent("libCILPluginCrashing.so")
        try FileManager.default.copyItem(at: try PluginFixtures.builtLibrary("libCILTestFixtureCrashing.so"), to: library)
        let file = dir.file("experiment.yaml")
        try Data(Self.experiment(crash: crash).utf8).write(to: file)
        let out = dir.file("cmp")
        let result = try CommandRunner.run(["compare", file.path, "--out", out.path, "--plugin-dir", plugins.path])
        #expect(result.status == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("FAILED crashing-fixture / plain / seed 1993"), "\(result.stderr)")
        #expect(result.stderr.contains("finished icarl / plain / seed 1993"), "\(result.stderr)")

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("comparison.json"))) as! [String: Any]
        let failures = json["failures"] as! [[String: Any]]
        #expect(failures.count == 1)
        let reason = failures.first?["reason"] as? String ?? ""
        #expect(reason.contains("cil run (baseline 'crashing-fixture') was killed by \(signal)"), "\(reason)")
        #expect(reason.contains("crashed by \(signal) inside baseline plugin 'crashing-fixture' (\(library.resolvingSymlinksInPath().path)), in its loss (phase 1)")
                || reason.contains("crashed by \(signal) inside baseline plugin 'crashing-fixture' (\(library.path)), in its loss (phase 1)"), "\(reason)")
        let markdown = try String(contentsOf: out.appendingPathComponent("comparison.md"), encoding: .utf8)
        #expect(markdown.contains("crashing-fixture"), "\(markdown)")
        // The plot has a panel for icarl only: the crashed baseline has no finished arm to draw.
        let svg = try String(contentsOf: out.appendingPathComponent("comparison.svg"), encoding: .utf8)
        #expect(svg.contains(">icarl</text>") && !svg.contains(">crashing-fixture</text>"), "\(svg)")
        // The crashed arm kept its phase 0; icarl's arm finished every phase.
        let crashed = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("runs/crashing-fixture-plain-seed1993/results.json"))) as! [String: Any]
        #expect((crashed["phases"] as? [Any])?.count == 1)
        let icarl = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("runs/icarl-plain-seed1993/results.json"))) as! [String: Any]
        #expect((icarl["phases"] as? [Any])?.count == 3)
    }
}
