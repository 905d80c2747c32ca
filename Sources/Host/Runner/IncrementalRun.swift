import CILSDK
import Foundation

/// One arm of a comparison: a baseline on a network (plain or MANets) through every
/// phase of the protocol (docs/ALGORITHMS.md §4). The host owns the loop; the
/// baseline plugin supplies the head, phase hooks and the loss, the branch-type
/// plugins the blocks.
///
/// Every random choice of phase p comes from generators seeded by (trainSeed, p), so
/// a run resumed after phase p-1 computes exactly what an uninterrupted run does.
final class IncrementalRun {
    let config: RunConfiguration
    let directory: RunDirectory
    let dataset: ImageDataset
    let incremental: IncrementalProtocol
    /// The network's structure phase by phase, and the plugins that shape it.
    let builder: RunNetworkBuilder
    let baseline: any Baseline
    let branchTypes: (stable: any BranchType, plastic: (any BranchType)?)
    /// The C loss term added to the baseline's loss, if any.
    let lossTerm: ForeignLossTerm?
    let progress: RunProgress
    /// Training-split positions of each dataset class (after the per-class cap).
    let trainPositions: [[Int]]
    /// Test-split positions of each dataset class (after the per-class cap).
    let testPositions: [[Int]]
    /// How crash reports name the plugins: "baseline plugin 'NAME' (FILE)", ...
    let pluginNames: (baseline: String, branches: String, lossTerm: String?)
    /// The wall-time breakdown of the phase being run (`PhaseClock`), replaced at
    /// each phase's start; it observes only.
    private(set) var clock = PhaseClock()

    init(config: RunConfiguration, directory: RunDirectory, catalog: PluginCatalog, progress: RunProgress) throws {
        self.config = config
        self.directory = directory
        self.progress = progress
        let loaded = try DatasetCatalog.load(DatasetCatalog.Request(
            name: config.dataset, dataDirectory: config.dataDir,
            synthetic: .init(numClasses: config.syntheticClasses ?? 100, imagesPerClass: config.syntheticImagesPerClass,
                             testImagesPerClass: config.syntheticTestImagesPerClass, seed: config.dataSeed)))
        // The baseline's own pipeline, if it declares one, for every image of the run.
        dataset = try config.preprocessing.map { try loaded.with(preprocessing: $0) } ?? loaded
        let plan: PhasePlan
        if let counts = config.classesPerPhase {
            plan = try PhasePlan(numClasses: dataset.numClasses, classesPerPhase: counts)
        } else {
            plan = try PhasePlan.incremental(numClasses: dataset.numClasses, nbClFg: config.nbClFg, nbCl: config.nbCl)
        }
        incremental = try IncrementalProtocol(order: try ClassOrder.seeded(config.classOrderSeed, count: dataset.numClasses),
                                              plan: plan, budget: config.exemplarBudget)
        builder = try RunNetworkBuilder(config: config, catalog: catalog, classesPerPhase: plan.classesPerPhase)
        baseline = builder.baseline
        branchTypes = builder.branchTypes
        lossTerm = try config.lossTerm.map { try catalog.lossTerm(named: $0) }
        let cap = { (positions: [[Int]], limit: Int?) -> [[Int]] in
            positions.map { list in limit.map { Array(list.prefix($0)) } ?? list }
        }
        trainPositions = cap(dataset.train.indicesByClass(numClasses: dataset.numClasses), config.trainImagesPerClass)
        testPositions = cap(dataset.test.indicesByClass(numClasses: dataset.numClasses), config.testImagesPerClass)
        pluginNames = (builder.pluginNames.baseline, builder.pluginNames.branches,
                       config.lossTerm.map { RunNetworkBuilder.describe(.lossTerm, $0, catalog) })
    }

    var phaseCount: Int { incremental.plan.phaseCount }

    /// A generator for `purpose` in `phase`, independent of every other draw.
    func generator(phase: Int, purpose: UInt64) -> RandomGenerator { config.generator(phase: phase, purpose: purpose) }

    // MARK: - Network structure (RunNetworkBuilder)

    func makeNetwork() throws -> AggregatedNetwork { try builder.makeNetwork() }
    func advanceStructure(_ network: AggregatedNetwork, toPhase p: Int) throws { try builder.advanceStructure(network, toPhase: p) }
    func restore(from checkpoint: Checkpoint, file: String) throws -> AggregatedNetwork { try builder.restore(from: checkpoint, file: file) }

    // MARK: - The loop

    /// What carries over from one phase to the next.
    struct RunState {
        var network: AggregatedNetwork
        var memory: ExemplarMemory
        var results: [PhaseResult]
        /// The first phase not finished yet.
        var nextPhase: Int
    }

    /// Runs (or resumes) every phase, or only up to phase `stopAfterPhase`;
    /// returns the results (incomplete when it stopped early).
    func run(stopAfterPhase: Int? = nil) throws -> RunResults {
        var state = try startingState()
        let start = state.nextPhase
        // In-progress files of finished phases (e.g. left when a shared phase 0 was adopted).
        for q in 0..<start { try? FileManager.default.removeItem(at: directory.inProgressURL(phase: q)) }
        let end = min(phaseCount, (stopAfterPhase ?? phaseCount) + 1)
        for p in start..<max(start, end) {
            try runPhase(p, resuming: p == start, state: &state)
        }
        return RunResults(config: config, phases: state.results, totalPhases: phaseCount)
    }

    /// Phase p as a pipeline (docs/ALGORITHMS.md §4, "A phase"): the network grown to
    /// the phase's structure, its data, the baseline's phase start, the optimisers, the
    /// epochs (network steps, then the α pass), and the end of the phase: herding, the
    /// baseline's phase end (e.g. finetuning; herding again if it moved the batch-norm
    /// statistics), evaluation and the checkpoint. With
    /// `resuming`, an in-progress checkpoint of the phase, if there is one, gives the
    /// epochs already done (the steps before the epochs are redone on the same
    /// pre-training network, so the baseline's phase state is the same).
    func runPhase(_ p: Int, resuming: Bool, state: inout RunState) throws {
        try Interruption.check(phase: p, epoch: 0, batch: 0)
        let resume = resuming ? try inProgressCheckpoint(phase: p) : nil
        let startedAt = Date().addingTimeInterval(-(resume?.header.inProgress?.seconds ?? 0))
        // An in-progress file of an older cil has no breakdown: its time is then all `other`.
        clock = PhaseClock(carrying: resume?.header.inProgress?.secondsBreakdown)
        let network = state.network
        let old: AggregatedNetwork? = p == 0 ? nil : network.frozenCopy()
        if p > 0 { try advanceStructure(network, toPhase: p) }

        let data = prepareData(phase: p, memory: state.memory)
        try startPhase(data, network: network)
        let loss = phaseLoss(phase: p)
        let optimisers = makeOptimisers(data, network: network, old: old, memory: state.memory)
        let alphaTrace = try trainEpochs(data, optimisers, loss: loss, network: network, memory: state.memory,
                                         progressState: InProgressState(results: state.results, startedAt: startedAt, resume: resume))

        try herdNewClasses(data, network: network, memory: &state.memory)
        if try endPhase(data, network: network, memory: state.memory) {
            try herdNewClasses(data, network: network, memory: &state.memory, again: true)
            directory.log(["event": "herded_again", "phase": p, "reason": "the phase end moved the batch-norm statistics"])
        }
        let result = try evaluate(data, network: network, memory: state.memory, alphaTrace: alphaTrace, startedAt: startedAt)
        state.results.append(result)
        try saveFinishedPhase(p, network: network, memory: state.memory, results: state.results)
        directory.log(["event": "phase_end", "phase": p, "acc_cnn": result.acc_cnn, "acc_nme": result.acc_nme,
                       "acc_cnn_base": result.acc_cnn_base, "alpha": result.alpha.map(Double.init), "seconds": result.seconds,
                       "seconds_breakdown": result.seconds_breakdown ?? [:]])
        progress.phaseDone(result, of: phaseCount)
    }

    /// Where the run starts: after its last checkpointed phase (a checkpoint of this
    /// configuration whose exemplars lie in the training split), or at phase 0 with a
    /// fresh network, filled from `--init-from` / `--phase0-from FILE` if given.
    func startingState() throws -> RunState {
        guard let last = directory.lastCheckpointedPhase() else {
            let network = try makeNetwork()
            if let weights = config.phaseZeroWeights {
                try weights.load(into: network)
                let what = weights.use == .trained ? "phase 0's network is" : "phase 0 starts from"
                progress.note("\(what) \(weights.file) (sha256 \(weights.sha256.prefix(12))...)")
                directory.log(["event": "phase0_weights", "use": weights.use.rawValue, "file": weights.file, "sha256": weights.sha256])
            }
            return RunState(network: network, memory: ExemplarMemory(), results: [], nextPhase: 0)
        }
        let url = directory.checkpointURL(phase: last)
        let checkpoint = try Checkpoint.load(from: url)
        guard checkpoint.header.configuration == config else {
            throw RunError.checkpoint("checkpoint \(url.path) was written by another configuration")
        }
        let trainCount = dataset.train.count
        if let bad = checkpoint.header.memory.entries.first(where: { $0.value.positions.contains { $0 >= trainCount } }) {
            throw RunError.checkpoint("checkpoint \(url.path): exemplars of class \(bad.key) lie outside the training split (\(trainCount) images)")
        }
        let network = try restore(from: checkpoint, file: url.path)
        progress.note("resuming after phase \(last) from \(url.path)")
        directory.log(["event": "resume", "after_phase": last])
        return RunState(network: network, memory: checkpoint.header.memory, results: checkpoint.header.results, nextPhase: last + 1)
    }
}
