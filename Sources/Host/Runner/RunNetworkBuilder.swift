import CILSDK
import Foundation

/// The network of a run, phase by phase: the plugins that shape it (the baseline's
/// head, the branch types) and the structure after any phase, which depends only on
/// the configuration and the class counts. `IncrementalRun` trains it; `cil export`
/// rebuilds it from a checkpoint without loading the dataset.
final class RunNetworkBuilder {
    let config: RunConfiguration
    /// New classes of each phase.
    let classesPerPhase: [Int]
    let baseline: any Baseline
    let branchTypes: (stable: any BranchType, plastic: (any BranchType)?)
    /// How crash reports name the plugins: "baseline plugin 'NAME' (FILE)", ...
    let pluginNames: (baseline: String, branches: String)

    init(config: RunConfiguration, catalog: PluginCatalog, classesPerPhase: [Int]) throws {
        self.config = config
        self.classesPerPhase = classesPerPhase
        let setting = RunSetting(dataset: config.dataset, classesPerPhase: classesPerPhase, mode: config.mode, seed: config.trainSeed)
        let baselineType = try catalog.baseline(named: config.baseline)
        baseline = try baselineType.init(options: try PluginOptions(plugin: config.baseline, specs: baselineType.options,
                                                                     given: config.baselineOptions), setting: setting)
        let stableType = try catalog.branchType(named: config.branch1)
        let stable = try stableType.init(options: try PluginOptions(plugin: config.branch1, specs: stableType.options, given: config.branch1Options))
        var plastic: (any BranchType)?
        if config.branchMode == .dual {
            let plasticType = try catalog.branchType(named: config.branch2)
            plastic = try plasticType.init(options: try PluginOptions(plugin: config.branch2, specs: plasticType.options, given: config.branch2Options))
        }
        branchTypes = (stable, plastic)
        let branches = [Self.describe(.branchType, config.branch1, catalog)]
            + (config.branchMode == .dual ? [Self.describe(.branchType, config.branch2, catalog)] : [])
        pluginNames = (Self.describe(.baseline, config.baseline, catalog), branches.joined(separator: " or "))
    }

    /// "KIND plugin 'NAME' (FILE)".
    static func describe(_ kind: PluginKind, _ name: String, _ catalog: PluginCatalog) -> String {
        let file = catalog.entries(of: kind).first { $0.info.name == name }?.path
        return "\(kind.rawValue) plugin '\(name)'" + (file.map { " (\($0))" } ?? "")
    }

    /// The network of phase 0, freshly initialised.
    func makeNetwork() throws -> AggregatedNetwork {
        var rng = config.generator(phase: 0, purpose: 1)
        let backbone = config.backbone.make(rng: &rng)
        let head = try PluginCrashReport.during(.init(pluginNames.baseline, in: "its head")) {
            try baseline.makeHead(featureDimension: backbone.featureDimension, classCount: classesPerPhase[0], rng: &rng)
        }
        return AggregatedNetwork(backbone: backbone, head: head, branchMode: config.branchMode)
    }

    /// Grows the phase-(p−1) network into phase p's structure: head rows for the new
    /// classes, and at phase 1 the branches.
    func advanceStructure(_ network: AggregatedNetwork, toPhase p: Int) throws {
        var rng = config.generator(phase: p, purpose: 2)
        network.head.expand(by: classesPerPhase[p], rng: &rng)
        if p == 1 {
            try PluginCrashReport.during(.init(pluginNames.branches, in: "deriving the branches (phase 1)")) {
                try network.deriveBranches(stable: branchTypes.stable, plastic: branchTypes.plastic, rng: &rng)
            }
        }
    }

    /// The network after `phase`, rebuilt and filled from its checkpoint.
    func restore(from checkpoint: Checkpoint, file: String) throws -> AggregatedNetwork {
        let network = try makeNetwork()
        if checkpoint.header.phase >= 1 {
            for p in 1...checkpoint.header.phase { try advanceStructure(network, toPhase: p) }
        }
        try checkpoint.restore(into: network, file: file)
        return network
    }
}

extension RunConfiguration {
    /// A generator for `purpose` in `phase`, independent of every other draw.
    func generator(phase: Int, purpose: UInt64) -> RandomGenerator {
        var mix = RandomGenerator(seed: trainSeed ^ (UInt64(phase + 1) &* 0x9E37_79B9_7F4A_7C15))
        return mix.fork(stream: purpose)
    }
}
