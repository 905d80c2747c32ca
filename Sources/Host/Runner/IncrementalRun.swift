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

    init(config: RunConfiguration, directory: RunDirectory, catalog: PluginCatalog, progress: RunProgress) throws {
        self.config = config
        self.directory = directory
        self.progress = progress
        dataset = try DatasetCatalog.load(DatasetCatalog.Request(
            name: config.dataset, dataDirectory: config.dataDir,
            synthetic: .init(numClasses: config.syntheticClasses ?? 100, imagesPerClass: config.syntheticImagesPerClass,
                             testImagesPerClass: config.syntheticTestImagesPerClass, seed: config.dataSeed)))
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

    // MARK: - Data of a phase

    /// Mapped labels of dataset classes.
    func mapped(_ dataClasses: [Int]) -> [Int] { dataClasses.map { incremental.order.mappedLabels[$0] } }

    /// Exemplar positions of every mapped label 0..<count after `phase`.
    func exemplarPositions(memory: ExemplarMemory, labels: Range<Int>, afterPhase phase: Int) -> [[Int]] {
        let perClass = incremental.budget.perClass(phase: phase, plan: incremental.plan)
        return labels.map { memory.exemplars(of: incremental.order.classes[$0], perClass: perClass) }
    }

    // MARK: - The loop

    /// Runs (or resumes) every phase, or only up to phase `stopAfterPhase`;
    /// returns the results (incomplete when it stopped early).
    func run(stopAfterPhase: Int? = nil) throws -> RunResults {
        var network: AggregatedNetwork
        var memory = ExemplarMemory()
        var results: [PhaseResult] = []
        var start = 0
        if let last = directory.lastCheckpointedPhase() {
            let url = directory.checkpointURL(phase: last)
            let checkpoint = try Checkpoint.load(from: url)
            guard checkpoint.header.configuration == config else {
                throw RunError.checkpoint("checkpoint \(url.path) was written by another configuration")
            }
            let trainCount = dataset.train.count
            if let bad = checkpoint.header.memory.entries.first(where: { $0.value.positions.contains { $0 >= trainCount } }) {
                throw RunError.checkpoint("checkpoint \(url.path): exemplars of class \(bad.key) lie outside the training split (\(trainCount) images)")
            }
            network = try restore(from: checkpoint, file: url.path)
            memory = checkpoint.header.memory
            results = checkpoint.header.results
            start = last + 1
            progress.note("resuming after phase \(last) from \(url.path)")
            directory.log(["event": "resume", "after_phase": last])
        } else {
            network = try makeNetwork()
            if let weights = config.phaseZeroWeights {
                try weights.load(into: network)
                let what = weights.use == .trained ? "phase 0's network is" : "phase 0 starts from"
                progress.note("\(what) \(weights.file) (sha256 \(weights.sha256.prefix(12))...)")
                directory.log(["event": "phase0_weights", "use": weights.use.rawValue, "file": weights.file, "sha256": weights.sha256])
            }
        }
        // In-progress files of finished phases (e.g. left when a shared phase 0 was adopted).
        for q in 0..<start { try? FileManager.default.removeItem(at: directory.inProgressURL(phase: q)) }
        let end = min(phaseCount, (stopAfterPhase ?? phaseCount) + 1)
        for p in start..<max(start, end) {
            try Interruption.check(phase: p, epoch: 0, batch: 0)
            let resume = p == start ? try inProgressCheckpoint(phase: p) : nil
            let t0 = Date().addingTimeInterval(-(resume?.header.inProgress?.seconds ?? 0))
            let old: AggregatedNetwork? = p == 0 ? nil : network.frozenCopy()
            if p > 0 { try advanceStructure(network, toPhase: p) }
            let alphaTrace = try train(phase: p, network: network, old: old, memory: &memory,
                                       progressState: InProgressState(results: results, startedAt: t0, resume: resume))
            let counts = incremental.plan.counts(phase: p)
            let perClass = incremental.budget.perClass(phase: p, plan: incremental.plan)
            let evaluator = Evaluator(dataset: dataset, order: incremental.order, mode: config.mode, batchSize: config.evalBatchSize)
            let seenClasses = incremental.seenClasses(phase: p)
            let accuracies = try evaluator.evaluate(
                network, seen: counts.seen, base: incremental.plan.counts(phase: 0).seen,
                exemplars: exemplarPositions(memory: memory, labels: 0..<counts.seen, afterPhase: p),
                testPositions: seenClasses.flatMap { testPositions[$0] })
            let result = PhaseResult(
                phase: p, classes_seen: counts.seen, acc_cnn: accuracies.cnn, acc_nme: accuracies.nme,
                acc_cnn_base: accuracies.cnnBase, acc_nme_base: accuracies.nmeBase,
                alpha: network.plastic == nil ? [] : network.alphas.map(\.item), alpha_per_epoch: alphaTrace,
                seconds: Date().timeIntervalSince(t0), exemplars_per_class: perClass)
            results.append(result)
            let checkpoint = Checkpoint(phase: p, configuration: config, network: network, memory: memory, results: results)
            do {
                try writeAtomically(try checkpoint.encoded(), to: directory.checkpointURL(phase: p))
            } catch let RunError.io(message) {
                let kept = p == 0 ? "no phase is kept" : p == 1 ? "phase 0 is kept in \(directory.url.path)"
                    : "phases 0-\(p - 1) are kept in \(directory.url.path)"
                throw RunError.io("\(message); phase \(p) is lost, \(kept); once the disk has room, the same command resumes")
            }
            try? FileManager.default.removeItem(at: directory.inProgressURL(phase: p))
            do {
                try writeResults(results)
            } catch let RunError.io(message) {
                throw RunError.io("\(message); phase \(p) is checkpointed in \(directory.url.path); once the disk has room, the same command resumes")
            }
            directory.log(["event": "phase_end", "phase": p, "acc_cnn": result.acc_cnn, "acc_nme": result.acc_nme,
                           "acc_cnn_base": result.acc_cnn_base, "alpha": result.alpha.map(Double.init), "seconds": result.seconds])
            progress.phaseDone(result, of: phaseCount)
        }
        return RunResults(config: config, phases: results, totalPhases: phaseCount)
    }

    func writeResults(_ phases: [PhaseResult]) throws {
        let results = RunResults(config: config, phases: phases, totalPhases: phaseCount)
        try writeAtomically(try JSONEncoder.cil.encode(results), to: directory.resultsURL)
    }

    /// Phase p: imprinting, the epochs (network steps, then α steps), exemplar
    /// selection and the baseline's phase-end work. Returns α after each epoch.
    /// With `progressState.resume`, the network and optimizers continue from that
    /// checkpoint's epoch instead (the phase-start work is redone first, on the same
    /// pre-training network, so the baseline's phase state is the same).
    func train(phase p: Int, network: AggregatedNetwork, old: AggregatedNetwork?, memory: inout ExemplarMemory,
               progressState: InProgressState) throws -> [[Float]] {
        let counts = incremental.plan.counts(phase: p)
        let newClasses = incremental.classes(phase: p)
        let oldLabels = 0..<counts.old
        let oldExemplars = p == 0 ? [] : exemplarPositions(memory: memory, labels: oldLabels, afterPhase: p - 1).flatMap { $0 }
        let positions = newClasses.flatMap { trainPositions[$0] } + oldExemplars
        let trainLoader = BatchLoader(split: dataset.train, transform: dataset.preprocessing.train)
        let testLoader = BatchLoader(split: dataset.train, transform: dataset.preprocessing.test)
        let policy = baseline.trainingPolicy

        // Phase start: the baseline's work (imprinting) on the pre-training network.
        let featuresOf: (Int) throws -> Tensor = { label in
            let dataClass = self.incremental.order.classes[label]
            network.setTraining(false)
            defer { network.setTraining(true) }
            return try withNoGrad {
                var rng = RandomGenerator(seed: 0)
                var parts: [Tensor] = []
                for chunk in BatchSampler.sequential(self.trainPositions[dataClass], batchSize: self.config.evalBatchSize) {
                    parts.append(network.forward(try testLoader.batch(chunk, rng: &rng).images).features)
                }
                return Tensor.concatenate(parts, axis: 0)
            }
        }
        try PluginCrashReport.during(.init(pluginNames.baseline, in: "its phase start (phase \(p))")) {
            try baseline.phaseWillStart(PhaseStartContext(phase: p, classes: counts, head: network.head,
                                                          trainingFeatures: featuresOf, seed: config.trainSeed &+ UInt64(p)))
        }
        let lossCall = PluginCrashReport.Call(pluginNames.baseline, in: "its loss (phase \(p))")
        let lossTermCall = pluginNames.lossTerm.map { PluginCrashReport.Call($0, in: "its loss term (phase \(p))") }

        // Optimisers and schedules (docs/ALGORITHMS.md §1.7, §3.3, §5.3).
        // `--phase0-from FILE`: phase 0's network is given, so phase 0 has no epochs
        // (its start and end, herding and evaluation run as usual).
        let epochs = p > 0 ? config.epochs : config.phaseZeroWeights?.use == .trained ? 0 : config.epochsFirst
        let baseLR = p == 0 ? config.baseLR1 : config.baseLR2
        let groups = OptimizerGroups.make(for: network, learningRate: baseLR, weightDecay: config.weightDecay,
                                          mode: config.mode, momentum: config.momentum)
        let sgd = SGD(groups: groups)
        let step = TrainingStep(network: network, reference: old, optimizer: sgd, gradientClamp: policy.gradientClamp)
        let groupBase = groups.map(\.learningRate)
        let networkSchedule: any LearningRateSchedule = config.schedule == .cosine
            ? CosineSchedule(base: 1, tMax: epochs)
            : MultiStepSchedule.cifar(base: 1, epochs: epochs, gamma: config.lrFactor)
        var alphaLearner: AlphaLearner?
        var balanced: [Int] = []
        if p > 0, network.plastic != nil, policy.learnsAlpha, config.fusionLR > 0 {
            alphaLearner = AlphaLearner(network: network, learningRate: config.fusionLR, policy: config.alphaGradient,
                                        decayStaysInGradient: config.mode == .faithful)
            var rng = generator(phase: p, purpose: 3)
            let newPositions = newClasses.map { trainPositions[$0] }
            let nbProtos = config.budget == .dynamic ? config.budgetPerClass : config.budgetTotal / 100
            if config.mode == .faithful {
                balanced = BalancedSubset.faithful(newClassPositions: newPositions.flatMap { $0 }, nbCl: counts.new,
                                                   nbProtos: nbProtos, oldExemplars: oldExemplars, rng: &rng)
            } else {
                balanced = BalancedSubset.classBalanced(newClassPositions: newPositions,
                                                        oldClasses: Array(incremental.order.classes[0..<counts.old]),
                                                        memory: memory,
                                                        perClass: incremental.budget.perClass(phase: p - 1, plan: incremental.plan),
                                                        rng: &rng)
            }
        }
        if network.plastic != nil, !policy.learnsAlpha || config.fusionLR == 0 {
            for a in network.alphas { a.requiresGrad = false }
        }
        let alphaSchedule = MultiStepSchedule.cifar(base: config.fusionLR, epochs: epochs, gamma: config.lrFactor)

        var alphaTrace: [[Float]] = []
        var rng = generator(phase: p, purpose: 4)
        var firstEpoch = 0
        if let resume = progressState.resume {
            let state = try restoreInProgress(resume, network: network, sgd: sgd, alphaLearner: alphaLearner)
            rng.state = state.generator
            alphaTrace = state.alphaTrace
            firstEpoch = min(state.epochsDone, epochs)
            progress.note("resuming phase \(p) after epoch \(firstEpoch) of \(epochs) from \(directory.inProgressURL(phase: p).path)")
            directory.log(["event": "resume", "phase": p, "after_epoch": firstEpoch])
        }
        network.setTraining(true)
        for epoch in firstEpoch..<epochs {
            let factor = networkSchedule.learningRate(epoch: epoch, stepping: config.stepping)
            sgd.setLearningRates(groupBase.map { $0 * factor })
            let batches = BatchSampler.shuffled(positions, batchSize: config.batchSize, rng: &rng)
            progress.epochStarted(phase: p, phases: phaseCount, epoch: epoch, epochs: epochs, images: positions.count,
                                  learningRate: baseLR * factor)
            var lossSum = 0.0
            for (b, chunk) in batches.enumerated() {
                let batch = try trainLoader.batch(chunk, rng: &rng)
                let targets = mapped(batch.labels)
                let loss = try step.loss(images: batch.images, targets: targets, phase: p, classes: counts) { context in
                    var loss = try PluginCrashReport.during(lossCall) { try baseline.loss(context) }
                    if let lossTerm, let lossTermCall {
                        let extra = try PluginCrashReport.during(lossTermCall) {
                            try lossTerm(logits: context.current.logits, features: context.current.features, targets: targets,
                                         phase: p, oldClasses: counts.old, oldLogits: context.previous?.logits,
                                         oldFeatures: context.previous?.features)
                        }
                        loss.total = loss.total + extra * config.lossTermWeight
                        loss.components[lossTerm.plugin] = extra.item
                    }
                    return loss
                }
                let value = loss.total.item
                guard value.isFinite else {
                    throw RunError.diverged("the loss became \(value) in phase \(p), epoch \(epoch + 1), batch \(b + 1) (\(config.baseline)); the results of the phases before are kept in \(directory.url.path)")
                }
                step.apply(loss)
                lossSum += Double(value)
                progress.batchDone(images: chunk.count, loss: value)
                try Interruption.check(phase: p, epoch: epoch + 1, batch: b + 1)
            }
            if let learner = alphaLearner {
                learner.learningRate = alphaSchedule.learningRate(epoch: epoch, stepping: config.stepping)
                for chunk in BatchSampler.sequential(balanced, batchSize: config.testBatchSize) {
                    let batch = try trainLoader.batch(chunk, rng: &rng)
                    learner.step(images: batch.images, labels: mapped(batch.labels))
                }
            }
            let alphas = network.plastic == nil ? [] : network.alphas.map(\.item)
            let before = alphaTrace.last ?? progressState.results.last?.alpha_per_epoch.last
            for k in AlphaExcursion.leaving(before: before, now: alphas) {
                progress.warn("α of level \(k + 1) left [0, 1] after epoch \(epoch + 1) of phase \(p): \(alphas[k]) (it is not clamped)")
                directory.log(["event": "alpha_outside_unit_interval", "phase": p, "epoch": epoch + 1, "level": k + 1,
                               "alpha": Double(alphas[k])])
            }
            alphaTrace.append(alphas)
            let meanLoss = lossSum / Double(max(batches.count, 1))
            progress.epochDone(meanLoss: meanLoss, alphas: alphas)
            directory.log(["event": "epoch", "phase": p, "epoch": epoch + 1, "loss": meanLoss,
                           "lr": Double(baseLR * factor), "alpha": alphas.map(Double.init)])
            saveInProgress(phase: p, epochsDone: epoch + 1, network: network, memory: memory, sgd: sgd,
                           alphaLearner: alphaLearner, generator: rng, alphaTrace: alphaTrace, state: progressState)
        }

        // Exemplars: herd each new class once, with the phase's final model
        // (docs/ALGORITHMS.md §1.5).
        let target = incremental.budget.perClass(phase: p, plan: incremental.plan)
        for dataClass in newClasses {
            let features = try featuresOf(incremental.order.mappedLabels[dataClass])
            let herding = Herding.rank(features: features, target: target)
            try memory.record(dataClass, positions: trainPositions[dataClass], herding: herding)
        }

        // The baseline's phase-end work (e.g. PODNet's class-balanced finetuning).
        let finalMemory = memory
        try PluginCrashReport.during(.init(pluginNames.baseline, in: "its phase end (phase \(p))")) {
            try baseline.phaseDidEnd(PhaseEndContext(phase: p, classes: counts, head: network.head) { spec in
                try self.finetuneHead(network, phase: p, counts: counts, memory: finalMemory, spec: spec)
            })
        }
        return alphaTrace
    }

    /// Trains the head alone on the exemplars of every seen class (each class its
    /// current exemplars, so classes are equally represented), backbone frozen.
    func finetuneHead(_ network: AggregatedNetwork, phase p: Int, counts: ClassCounts, memory: ExemplarMemory,
                      spec: HeadFinetuning) throws {
        let positions = exemplarPositions(memory: memory, labels: 0..<counts.seen, afterPhase: p).flatMap { $0 }
        let headParams = network.head.parameterRoles.filter { $0.role != .oldClasses && $0.tensor.requiresGrad }.map(\.tensor)
        let sgd = SGD(groups: [ParameterGroup(name: "finetune", parameters: headParams, learningRate: spec.learningRate,
                                              weightDecay: spec.weightDecay, momentum: config.momentum)])
        let loader = BatchLoader(split: dataset.train, transform: dataset.preprocessing.train)
        var rng = generator(phase: p, purpose: 5)
        try network.withFrozenWeights {
            for t in headParams { t.requiresGrad = true }
            for _ in 0..<spec.epochs {
                for chunk in BatchSampler.shuffled(positions, batchSize: spec.batchSize, rng: &rng) {
                    let batch = try loader.batch(chunk, rng: &rng)
                    let features = withNoGrad { network.forward(batch.images).features }
                    let out = network.head.forward(features)
                    sgd.zeroGrad()
                    let loss = try spec.loss(BatchContext(phase: p, classes: counts, targets: mapped(batch.labels),
                        current: ModelOutputs(logits: out.logits, features: features, levelMaps: [], headExtras: out.extras),
                        previous: nil, head: network.head))
                    guard loss.total.item.isFinite else {
                        throw RunError.diverged("the head finetuning loss became \(loss.total.item) in phase \(p)")
                    }
                    loss.total.backward()
                    sgd.step()
                }
            }
        }
    }
}
