import CILSDK
import Foundation

extension IncrementalRun {
    /// Step 6a of a phase: herd each new class with the model as its training ended
    /// (docs/ALGORITHMS.md §1.5), into the exemplar memory. `again`: replace that
    /// herding, with the model as the phase ends, after a phase end that changed the
    /// model's features (PODNet's finetuning in training mode, §6.5).
    func herdNewClasses(_ data: PhaseData, network: AggregatedNetwork, memory: inout ExemplarMemory,
                        again: Bool = false) throws {
        let target = incremental.budget.perClass(phase: data.phase, plan: incremental.plan)
        for dataClass in data.newClasses {
            let herding = try clock.measure(.herding) {
                let features = try trainingFeatures(of: network, label: incremental.order.mappedLabels[dataClass])
                return Herding.rank(features: features, target: target)
            }
            if again {
                try memory.replace(dataClass, positions: trainPositions[dataClass], herding: herding)
            } else {
                try memory.record(dataClass, positions: trainPositions[dataClass], herding: herding)
            }
        }
    }

    /// Step 6b: the baseline's phase-end work (e.g. PODNet's class-balanced finetuning
    /// of its head, `finetuneHead`). Returns whether it changed the backbone's
    /// evaluation-mode features (a finetuning with batch norm in training mode moves
    /// the running statistics), in which case the phase's classes are herded again.
    func endPhase(_ data: PhaseData, network: AggregatedNetwork, memory: ExemplarMemory) throws -> Bool {
        let p = data.phase
        var movedStatistics = false
        try clock.measure(.headFinetuning) {
            try PluginCrashReport.during(.init(pluginNames.baseline, in: "its phase end (phase \(p))")) {
                try baseline.phaseDidEnd(PhaseEndContext(phase: p, classes: data.counts, head: network.head) { spec in
                    try self.finetuneHead(network, phase: p, counts: data.counts, memory: memory, spec: spec)
                    if spec.batchNorm == .training, spec.epochs > 0 { movedStatistics = true }
                })
            }
        }
        return movedStatistics
    }

    /// Trains the head tensors of `spec.roles` alone on the exemplars of every seen
    /// class (each class its current exemplars, so classes are equally represented),
    /// shuffled, under the train transform (`HeadFinetuningStep`: backbone weights
    /// frozen, batch norm as `spec.batchNorm` says, gradients clamped if asked,
    /// constant learning rate; docs/ALGORITHMS.md §6.5).
    func finetuneHead(_ network: AggregatedNetwork, phase p: Int, counts: ClassCounts, memory: ExemplarMemory,
                      spec: HeadFinetuning) throws {
        let positions = exemplarPositions(memory: memory, labels: 0..<counts.seen, afterPhase: p).flatMap { $0 }
        let step = HeadFinetuningStep(network: network, spec: spec, momentum: config.momentum)
        let loader = BatchLoader(split: dataset.train, transform: dataset.preprocessing.train)
        var rng = generator(phase: p, purpose: 5)
        try step.run {
            for _ in 0..<spec.epochs {
                for chunk in BatchSampler.shuffled(positions, batchSize: spec.batchSize, rng: &rng) {
                    let batch = try clock.measure(.dataLoading) { try loader.batch(chunk, rng: &rng) }
                    let loss = try step.step(images: batch.images, targets: mapped(batch.labels), phase: p, classes: counts)
                    guard loss.total.item.isFinite else {
                        throw RunError.diverged("the head finetuning loss became \(loss.total.item) in phase \(p)")
                    }
                }
            }
        }
    }

    /// Step 6c: the phase's result (docs/ALGORITHMS.md §7): CNN and NME accuracy on
    /// the seen and the phase-0 classes, α, and the phase's wall time and its breakdown.
    func evaluate(_ data: PhaseData, network: AggregatedNetwork, memory: ExemplarMemory, alphaTrace: [[Float]],
                  startedAt: Date) throws -> PhaseResult {
        let p = data.phase, counts = data.counts
        let perClass = incremental.budget.perClass(phase: p, plan: incremental.plan)
        let evaluator = Evaluator(dataset: dataset, order: incremental.order, mode: config.mode, batchSize: config.evalBatchSize,
                                  clock: clock)
        let seenClasses = incremental.seenClasses(phase: p)
        let accuracies = try evaluator.evaluate(
            network, seen: counts.seen, base: incremental.plan.counts(phase: 0).seen,
            exemplars: exemplarPositions(memory: memory, labels: 0..<counts.seen, afterPhase: p),
            testPositions: seenClasses.flatMap { testPositions[$0] })
        let seconds = Date().timeIntervalSince(startedAt)
        return PhaseResult(
            phase: p, classes_seen: counts.seen, acc_cnn: accuracies.cnn, acc_nme: accuracies.nme,
            acc_cnn_base: accuracies.cnnBase, acc_nme_base: accuracies.nmeBase,
            alpha: network.plastic == nil ? [] : network.alphas.map(\.item), alpha_per_epoch: alphaTrace,
            seconds: seconds, exemplars_per_class: perClass, seconds_breakdown: clock.breakdown(total: seconds))
    }

    /// Step 6d: the phase's checkpoint (atomic, checksummed), then results.json; the
    /// in-progress file of the phase goes. A failed write says what is kept.
    func saveFinishedPhase(_ p: Int, network: AggregatedNetwork, memory: ExemplarMemory, results: [PhaseResult]) throws {
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
    }

    func writeResults(_ phases: [PhaseResult]) throws {
        let results = RunResults(config: config, phases: phases, totalPhases: phaseCount)
        try writeAtomically(try JSONEncoder.cil.encode(results), to: directory.resultsURL)
    }
}
