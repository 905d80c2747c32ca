import Foundation
import Testing

/// `cil compare` end to end on a tiny synthetic protocol: all outputs written with
/// numbers consistent with the runs, phase 0 shared between the arms of a baseline,
/// and a failing arm reported while the others finish; `cil report` re-renders.
@Suite("cil compare", .serialized)
struct CompareCommandTests {
    static let experiment = TinyProtocol.yaml() + """
        baselines: [lucir]
        baseline_options:
          lucir: {K: 1}
        arms:
          plain:  {branch_mode: single, branch_1: free}
          manets: {branch_mode: dual, branch_1: ss, branch_2: free}
          broken: {branch_mode: dual, branch_1: nosuchbranch, branch_2: free}
        seeds: [1993]

        """

    @Test func comparisonWritesConsistentOutputsAndSurvivesAFailingArm() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cil-compare-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("experiment.yaml")
        try Data(Self.experiment.utf8).write(to: file)
        let out = dir.appendingPathComponent("cmp")
        let result = try CommandRunner.run(["compare", file.path, "--out", out.path, "--jobs", "2"])
        #expect(result.status == 1, "a failed arm makes the exit status 1; stderr: \(result.stderr)")
        #expect(result.stderr.contains("FAILED lucir / broken / seed 1993"), "\(result.stderr)")
        for name in ["comparison.md", "comparison.csv", "comparison.json", "comparison.svg", "index.html"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), "missing \(name)")
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("comparison.json"))) as! [String: Any]
        let baselines = json["baselines"] as! [[String: Any]]
        #expect(baselines.count == 1)
        let arms = baselines[0]["arms"] as! [[String: Any]]
        #expect(arms.map { $0["name"] as! String } == ["plain", "manets"])
        var means: [String: Double] = [:]
        for arm in arms {
            let name = arm["name"] as! String
            let results = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("runs/lucir-\(name)-seed1993/results.json"))) as! [String: Any]
            let stat = arm["avg_inc_acc_cnn"] as! [String: Any]
            #expect(abs((stat["mean"] as! Double) - (results["avg_inc_acc_cnn"] as! Double)) < 1e-12)
            means[name] = stat["mean"] as? Double
            // The per-phase tables: one seed, so each is that run's own value; the
            // classes added after phase 0 follow from the all-class and base-class figures.
            let phases = results["phases"] as! [[String: Any]]
            let base = Double(phases[0]["classes_seen"] as! Int)
            let later = arm["acc_cnn_later_per_phase"] as! [Any]
            for (p, phase) in phases.enumerated() {
                #expect((arm["acc_nme_per_phase"] as! [Double])[p] == phase["acc_nme"] as! Double)
                #expect((arm["acc_cnn_base_per_phase"] as! [Double])[p] == phase["acc_cnn_base"] as! Double)
                #expect((arm["seconds_per_phase"] as! [Double])[p] == phase["seconds"] as! Double)
                let seen = Double(phase["classes_seen"] as! Int)
                if p == 0 {
                    #expect(later[0] is NSNull)
                } else {
                    let expected = ((phase["acc_cnn"] as! Double) * seen - (phase["acc_cnn_base"] as! Double) * base) / (seen - base)
                    #expect(abs((later[p] as! Double) - expected) < 1e-12)
                    #expect((0...1).contains(expected))
                }
            }
        }
        let markdown = try String(contentsOf: out.appendingPathComponent("comparison.md"), encoding: .utf8)
        for title in ["NME accuracy", "CNN accuracy on the phase-0 classes", "CNN accuracy on the classes added after phase 0", "wall time, s"] {
            #expect(markdown.contains("## Per phase (\(title)"), "\(title) missing from comparison.md")
        }
        // The settings section states every resolved value of each arm, as its
        // config.json has it (TinyProtocol: quick preset, batch 32, 2 / 1 epochs).
        #expect(markdown.contains("## Settings"), "\(markdown)")
        #expect(markdown.contains("| lucir | plain | resnet32 | single free | 2 / 1 | 0.1 / 0.1 | cosine | 0, 0 | 0.0005 | 0.9 | 32 / 100 / 128 | 0.0 | zero-per-step | dynamic 5 per class | corrected | K=1 |"),
                "\(markdown)")
        #expect(markdown.contains("| lucir | manets | resnet32 | dual ss + free | 2 / 1 | 0.1 / 0.1 | cosine | 0, 0 | 0.0005 | 0.9 | 32 / 100 / 128 | 0.001 | zero-per-step |"),
                "\(markdown)")
        let settings = json["settings"] as! [[String: Any]]
        #expect(settings.map { $0["arm"] as! String } == ["plain", "manets"])
        let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(html.contains("<h2>Settings</h2>") && html.contains("<td>dual ss + free</td>"))
        let delta = arms[1]["delta_avg_inc_acc_cnn"] as! Double
        #expect(abs(delta - (means["manets"]! - means["plain"]!)) < 1e-12)
        let failures = json["failures"] as! [[String: Any]]
        #expect(failures.count == 1 && failures[0]["arm"] as? String == "broken")
        #expect((failures[0]["reason"] as? String ?? "").contains("nosuchbranch"))

        // Per-baseline options reach the runs.
        let config = try String(contentsOf: out.appendingPathComponent("runs/lucir-plain-seed1993/config.json"), encoding: .utf8)
        #expect(config.contains("\"K\" : \"1\""), "\(config)")

        // Identical protocol: the MANets arm started from the plain arm's phase 0.
        let events = try String(contentsOf: out.appendingPathComponent("runs/lucir-manets-seed1993/events.jsonl"), encoding: .utf8)
        #expect(events.contains("phase0_adopted"))
        let p0 = { (arm: String) throws -> Double in
            let r = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("runs/lucir-\(arm)-seed1993/results.json"))) as! [String: Any]
            return ((r["phases"] as! [[String: Any]])[0]["acc_cnn"] as! Double)
        }
        #expect(try p0("plain") == p0("manets"))

        let csv = try String(contentsOf: out.appendingPathComponent("comparison.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 3)
        let svg = try String(contentsOf: out.appendingPathComponent("comparison.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("polyline") && svg.contains("manets"))

        // cil report re-renders the same table from the run directories.
        let reportDir = dir.appendingPathComponent("report")
        let report = try CommandRunner.run(["report", out.path, "--out", reportDir.path])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(FileManager.default.fileExists(atPath: reportDir.appendingPathComponent("comparison.svg").path))
        #expect(report.stdout.contains("| lucir | plain |") && report.stdout.contains("| lucir | manets |"), "\(report.stdout)")
        let rerendered = try JSONSerialization.jsonObject(with: Data(contentsOf: reportDir.appendingPathComponent("comparison.json"))) as! [String: Any]
        let rerenderedArms = (rerendered["baselines"] as! [[String: Any]])[0]["arms"] as! [[String: Any]]
        #expect(Set(rerenderedArms.map { $0["name"] as! String }) == ["plain", "manets"])
        // The experiment's first arm stays the reference (run directories sort manets first).
        #expect(rerenderedArms.map { $0["name"] as! String } == ["plain", "manets"])
        // Also while the comparison is still going (no comparison.json yet): the order
        // comes from arms.json, written when it started.
        try FileManager.default.removeItem(at: out.appendingPathComponent("comparison.json"))
        let midway = try CommandRunner.run(["report", out.path, "--out", reportDir.path])
        #expect(midway.status == 0, "\(midway.stderr)")
        let midwayArms = ((try JSONSerialization.jsonObject(with: Data(contentsOf: reportDir.appendingPathComponent("comparison.json")))
            as! [String: Any])["baselines"] as! [[String: Any]])[0]["arms"] as! [[String: Any]]
        #expect(midwayArms.map { $0["name"] as! String } == ["plain", "manets"])
        #expect((rerendered["failures"] as! [[String: Any]]).count == 1)

        // A run that never finished, of a baseline whose name contains "-": named from
        // its config.json, not by splitting the directory name at each "-".
        let unfinished = out.appendingPathComponent("runs/my-lucir-variant-plain-seed1993")
        try FileManager.default.createDirectory(at: unfinished, withIntermediateDirectories: true)
        var variantConfig = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("runs/lucir-plain-seed1993/config.json"))) as! [String: Any]
        variantConfig["baseline"] = "my-lucir-variant"
        try JSONSerialization.data(withJSONObject: variantConfig).write(to: unfinished.appendingPathComponent("config.json"))
        let again = try CommandRunner.run(["report", out.path, "--out", reportDir.path])
        #expect(again.status == 0, "\(again.stderr)")
        let failures2 = (try JSONSerialization.jsonObject(with: Data(contentsOf: reportDir.appendingPathComponent("comparison.json"))) as! [String: Any])["failures"] as! [[String: Any]]
        let variant = failures2.first { $0["directory"] as? String == unfinished.path }
        #expect(variant?["baseline"] as? String == "my-lucir-variant" && variant?["arm"] as? String == "plain"
                && variant?["seed"] as? Int == 1993, "\(failures2)")

        // A run stopped after some phases (results.json not complete): its finished
        // phases are reported, per phase, outside the summary tables.
        let stopped = out.appendingPathComponent("runs/lucir-stopped-seed1993")
        try FileManager.default.createDirectory(at: stopped, withIntermediateDirectories: true)
        var partial = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("runs/lucir-manets-seed1993/results.json"))) as! [String: Any]
        let donePhases = Array((partial["phases"] as! [[String: Any]]).prefix(2))
        partial["phases"] = donePhases
        partial["complete"] = false
        try JSONSerialization.data(withJSONObject: partial).write(to: stopped.appendingPathComponent("results.json"))
        try FileManager.default.copyItem(at: out.appendingPathComponent("runs/lucir-manets-seed1993/config.json"),
                                         to: stopped.appendingPathComponent("config.json"))
        let third = try CommandRunner.run(["report", out.path, "--out", reportDir.path])
        #expect(third.status == 0, "\(third.stderr)")
        let json3 = try JSONSerialization.jsonObject(with: Data(contentsOf: reportDir.appendingPathComponent("comparison.json"))) as! [String: Any]
        let partialRuns = json3["partial_runs"] as! [[String: Any]]
        #expect(partialRuns.count == 1)
        #expect(partialRuns.first?["acc_cnn_per_phase"] as? [Double] == donePhases.map { $0["acc_cnn"] as! Double })
        #expect((partialRuns.first?["alpha_per_phase"] as? [[Double]])?.last?.isEmpty == false, "a dual run's α per level")
        let arms3 = (json3["baselines"] as! [[String: Any]])[0]["arms"] as! [[String: Any]]
        #expect(arms3.map { $0["name"] as! String } == ["plain", "manets"], "the stopped run is not a summary row")
        let markdown3 = try String(contentsOf: reportDir.appendingPathComponent("comparison.md"), encoding: .utf8)
        #expect(markdown3.contains("## Phases finished by runs that have not finished"))
        #expect(markdown3.contains("| lucir / stopped / seed 1993 | "), "\(markdown3)")
    }

    /// `dataset auto` given after `--` in the `--flag=VALUE` form (which wins over the
    /// file's `dataset:`) is resolved once by `cil compare`, which says what it chose.
    /// Three seeds: comparison.json's paired differences are the per-seed differences
    /// of the runs' own results.json figures, with the Student-t interval of n = 3
    /// (t_{0.975, 2} = 4.302652730), and comparison.md carries the verdicts.
    @Test func threeSeedsGivePairedDifferencesWithIntervals() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cil-paired-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("experiment.yaml")
        try Data((TinyProtocol.yaml(classes: 4) + """
            baselines: [lucir]
            arms:
              plain:  {branch_mode: single, branch_1: free}
              manets: {branch_mode: dual, branch_1: ss, branch_2: free}
            seeds: [1, 2, 3]

            """).utf8).write(to: file)
        let out = dir.appendingPathComponent("cmp")
        let result = try CommandRunner.run(["compare", file.path, "--out", out.path, "--jobs", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        let figure = { (arm: String, seed: Int, key: String) throws -> Double in
            let r = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("runs/lucir-\(arm)-seed\(seed)/results.json"))) as! [String: Any]
            return r[key] as! Double
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("comparison.json"))) as! [String: Any]
        let arms = (json["baselines"] as! [[String: Any]])[0]["arms"] as! [[String: Any]]
        #expect(arms[0]["paired"] == nil, "the reference arm has no paired differences")
        let paired = try #require(arms[1]["paired"] as? [String: Any])
        #expect(paired["seeds"] as? [Int] == [1, 2, 3])
        for (key, higherIsBetter) in [("avg_inc_acc_cnn", true), ("avg_inc_acc_nme", true), ("forgetting_cnn", false)] {
            let d = try [1, 2, 3].map { try figure("manets", $0, key) - figure("plain", $0, key) }
            let mean = d.reduce(0, +) / 3
            let std = (d.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 2).squareRoot()
            let half = 4.302652730 * std / 3.0.squareRoot()
            let stat = try #require(paired[key] as? [String: Any])
            #expect(abs((stat["mean"] as! Double) - mean) < 1e-12 && abs((stat["std"] as! Double) - std) < 1e-12, "\(key)")
            #expect(abs((stat["low"] as! Double) - (mean - half)) < 1e-8 && abs((stat["high"] as! Double) - (mean + half)) < 1e-8, "\(key)")
            let verdict = mean - half > 0 ? (higherIsBetter ? "better" : "worse")
                : mean + half < 0 ? (higherIsBetter ? "worse" : "better") : "no detectable difference"
            #expect(stat["verdict"] as? String == verdict, "\(key): \(stat)")
        }
        #expect((paired["acc_cnn_per_phase"] as? [Any])?.count == 2)
        let markdown = try String(contentsOf: out.appendingPathComponent("comparison.md"), encoding: .utf8)
        #expect(markdown.contains("## Paired differences") && markdown.contains("| lucir | manets | 3 |"), "\(markdown)")
        let svg = try String(contentsOf: out.appendingPathComponent("comparison.svg"), encoding: .utf8)
        #expect(svg.contains("<polygon") && svg.contains("Δ CNN (points)"), "the ± 1 std bands and the Δ row")
    }

    /// `seed_varies: training`: every run has the class order of the experiment's
    /// `seed`, each seed is the training seed, and the report says so. A value that is
    /// not one of the two is refused, naming the file and the allowed values.
    @Test func seedVariesTrainingKeepsTheClassOrder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cil-seedvaries-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let body = """
            baselines: [lucir]
            arms:
              plain:  {branch_mode: single, branch_1: free}
              manets: {branch_mode: dual, branch_1: ss, branch_2: free}
            seeds: [1, 2]
            seed: 7

            """
        let file = dir.appendingPathComponent("experiment.yaml")
        try Data((TinyProtocol.yaml(classes: 4) + body + "seed_varies: training\n").utf8).write(to: file)
        let out = dir.appendingPathComponent("cmp")
        let result = try CommandRunner.run(["compare", file.path, "--out", out.path, "--jobs", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        for arm in ["plain", "manets"] {
            for seed in [1, 2] {
                let config = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("runs/lucir-\(arm)-seed\(seed)/config.json"))) as! [String: Any]
                #expect(config["classOrderSeed"] as? Int == 7 && config["trainSeed"] as? Int == seed, "\(arm) seed \(seed): \(config)")
            }
        }
        let markdown = try String(contentsOf: out.appendingPathComponent("comparison.md"), encoding: .utf8)
        #expect(markdown.contains("class order of seed 7 for every run, training seed varied"), "\(markdown)")
        #expect(markdown.contains("| lucir | manets | 2 |"), "both seeds paired")

        let bad = dir.appendingPathComponent("bad.yaml")
        try Data((TinyProtocol.yaml(classes: 4) + body + "seed_varies: classes\n").utf8).write(to: bad)
        let refused = try CommandRunner.run(["compare", bad.path, "--out", dir.appendingPathComponent("bad").path])
        #expect(refused.status != 0 && refused.stderr.contains("bad.yaml") && refused.stderr.contains("order-and-training, training"),
                "\(refused.stderr)")
    }

    @Test func datasetAutoAfterTheSeparatorIsResolvedOnce() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cil-compare-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("experiment.yaml")
        try Data((TinyProtocol.yaml(epochsFirst: 1) + "baselines: [icarl]\narms:\n  plain: {branch_mode: single, branch_1: free}\nseeds: [1993]\n").utf8).write(to: file)
        let out = dir.appendingPathComponent("cmp")
        let result = try CommandRunner.run(["compare", file.path, "--out", out.path, "--",
                                            "--dataset=auto", "--data-dir=\(dir.path)/no-cifar-here"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("cil compare: CIFAR-100 was not found"), "\(result.stderr)")
        let config = try String(contentsOf: out.appendingPathComponent("runs/icarl-plain-seed1993/config.json"), encoding: .utf8)
        #expect(config.contains("\"dataset\" : \"synthetic\""), "\(config)")
    }

    @Test func malformedExperimentFileIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cil-compare-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("bad.yaml")
        try Data("baselines: lucir\n".utf8).write(to: file)
        let result = try CommandRunner.run(["compare", file.path, "--out", dir.appendingPathComponent("out").path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("bad.yaml") && result.stderr.contains("'baselines' must be a list"), "\(result.stderr)")
    }
}
