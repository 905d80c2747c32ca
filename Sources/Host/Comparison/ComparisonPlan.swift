import CILSDK
import Foundation

/// The cells of a comparison (baselines × seeds × arms) and the `cil run` command
/// of each: one plan for the local scheduler and for Slurm job arrays alike. A cell's
/// seed is its run's training seed (also its class-order seed unless the experiment
/// has `seed_varies: training`).
///
/// The cells of one seed whose baselines have the same phase-0 key form a group that
/// shares phase 0 (every arm of a baseline, and every baseline declaring the same
/// `Baseline.phaseZeroRecipe`, e.g. iCaRL and LUCIR): the group's first cell trains it
/// in its own run directory, every other cell starts from it (`--phase0-from` that
/// directory, `Cell.phaseZeroSource`).
struct ComparisonPlan {
    let experiment: Experiment
    /// The comparison directory (absolute); runs go to `runs/BASELINE-ARM-seedN`.
    let directory: URL
    let pluginDirs: [String]
    /// `cil run` options given after `--`, shared by every run.
    let extraArguments: [String]
    /// Each baseline's phase-0 key (`PhaseZeroRecipe.key`); a baseline missing here
    /// shares phase 0 only between its own arms.
    var phaseZeroKeys: [String: String] = [:]

    /// The phase-0 keys of an experiment's baselines with their experiment options.
    static func recipeKeys(of experiment: Experiment, catalog: PluginCatalog) -> [String: String] {
        var keys: [String: String] = [:]
        for baseline in experiment.baselines {
            let options = Dictionary((experiment.baselineOptions[baseline] ?? []).map { ($0.0, $0.1) }) { _, last in last }
            keys[baseline] = PhaseZeroRecipe.key(baseline: baseline, options: options, catalog: catalog)
        }
        return keys
    }

    /// One cell of the grid: a run directory and the arguments of `cil run`
    /// (without the executable, `--phase0-from` and `--threads`).
    struct Cell {
        var run: ComparisonRun
        var arguments: [String]
        var groupKey: String
        /// The run directory of the group's first cell, whose phase 0 this cell starts
        /// from; nil for the first cell itself.
        var phaseZeroSource: URL?
        /// Whether this is its group's first cell (the one that trains phase 0).
        var first: Bool { phaseZeroSource == nil }
    }

    /// The run directory of one arm.
    func runDirectory(baseline: String, arm: String, seed: Int) -> URL {
        directory.appendingPathComponent("runs").appendingPathComponent("\(baseline)-\(arm)-seed\(seed)")
    }

    /// The names under which an experiment's options may give the class-order seed.
    static let classOrderSeedKeys: Set<String> = ["seed", "random-seed", "random_seed"]

    /// The `cil run` seed options of one seed of the experiment: `--seed` (class order
    /// and training), or with `seed_varies: training` the experiment's fixed class-order
    /// seed (its `seed` option, else 1993) and `--train-seed`.
    func seedArguments(_ seed: Int) -> [String] {
        switch experiment.seedVaries {
        case .orderAndTraining:
            return ["--seed=\(seed)"]
        case .training:
            let order = experiment.common.last { Self.classOrderSeedKeys.contains($0.0) }?.1 ?? "1993"
            return ["--seed=\(order)", "--train-seed=\(seed)"]
        }
    }

    /// Every cell, by baseline, then seed, then arm in the experiment's order.
    func cells() -> [Cell] {
        var out: [Cell] = []
        var trainer: [String: URL] = [:]
        let common = experiment.common.filter { !Self.classOrderSeedKeys.contains($0.0) }
        for baseline in experiment.baselines {
            for seed in experiment.seeds {
                for arm in experiment.arms {
                    let dir = runDirectory(baseline: baseline, arm: arm.name, seed: seed)
                    var args = ["run"] + RunArguments.make(common + arm.options)
                        + ["--baseline=\(baseline)"] + seedArguments(seed) + ["--out=\(dir.path)"] + extraArguments
                        + (experiment.baselineOptions[baseline] ?? []).map { "--baseline-option=\($0.0)=\($0.1)" }
                    for d in pluginDirs { args.append("--plugin-dir=\(d)") }
                    let group = "\(phaseZeroKeys[baseline] ?? "baseline \(baseline)")/seed \(seed)"
                    let source = trainer[group]
                    if source == nil { trainer[group] = dir }
                    out.append(Cell(run: ComparisonRun(baseline: baseline, arm: arm.name, seed: seed, directory: dir.path),
                                    arguments: args, groupKey: group, phaseZeroSource: source))
                }
            }
        }
        return out
    }

    /// The phase-0 checkpoint of a run directory.
    static func phaseZeroCheckpoint(of runDirectory: String) -> URL {
        RunDirectory(url: URL(fileURLWithPath: runDirectory)).checkpointURL(phase: 0)
    }

    /// The results of a run directory, if it wrote any.
    static func loadResults(_ directory: String) -> RunResults? {
        guard let data = FileManager.default.contents(atPath: RunDirectory(url: URL(fileURLWithPath: directory)).resultsURL.path)
        else { return nil }
        return try? JSONDecoder().decode(RunResults.self, from: data)
    }

    /// Whether a run directory holds complete results (every phase finished).
    static func isFinished(_ directory: String) -> Bool {
        loadResults(directory)?.complete == true
    }
}
