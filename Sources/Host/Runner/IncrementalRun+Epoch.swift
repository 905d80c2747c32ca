import CILSDK
import Foundation

/// The loss of a phase's batches: the baseline's, plus the weighted C loss term if the
/// run has one (its value also among the components), each call marked for crash reports.
struct PhaseLoss {
    let baseline: any Baseline
    let lossTerm: ForeignLossTerm?
    let lossTermWeight: Float
    let baselineCall: PluginCrashReport.Call
    let lossTermCall: PluginCrashReport.Call?

    func callAsFunction(_ context: BatchContext) throws -> LossOutput {
        var loss = try PluginCrashReport.during(baselineCall) { try baseline.loss(context) }
        if let lossTerm, let lossTermCall {
            let extra = try PluginCrashReport.during(lossTermCall) {
                try lossTerm(logits: context.current.logits, features: context.current.features, targets: context.targets,
                             phase: context.phase, oldClasses: context.classes.old, oldLogits: context.previous?.logits,
                             oldFeatures: context.previous?.features)
            }
            loss.total = loss.total + extra * lossTermWeight
            loss.components[lossTerm.plugin] = extra.item
        }
        return loss
    }
}

extension IncrementalRun {
    /// The loss of phase p's batches (the crash-report messages are made once per phase).
    func phaseLoss(phase p: Int) -> PhaseLoss {
        PhaseLoss(baseline: baseline, lossTerm: lossTerm, lossTermWeight: config.lossTermWeight,
                  baselineCall: PluginCrashReport.Call(pluginNames.baseline, in: "its loss (phase \(p))"),
                  lossTermCall: pluginNames.lossTerm.map { PluginCrashReport.Call($0, in: "its loss term (phase \(p))") })
    }

    /// Step 4 of a phase, with step 5 after each epoch: the epochs, each the network
    /// steps (`trainEpoch`), the α pass (`alphaPass`), the α check, a report and an
    /// in-progress checkpoint. Resuming, the checkpoint's epochs are skipped and the
    /// network, optimisers and batch generator continue from it. Returns α after each epoch.
    func trainEpochs(_ data: PhaseData, _ optimisers: PhaseOptimisers, loss: PhaseLoss, network: AggregatedNetwork,
                     memory: ExemplarMemory, progressState: InProgressState) throws -> [[Float]] {
        let p = data.phase, epochs = optimisers.epochs
        var alphaTrace: [[Float]] = []
        var rng = generator(phase: p, purpose: 4)
        var firstEpoch = 0
        if let resume = progressState.resume {
            let state = try restoreInProgress(resume, network: network, sgd: optimisers.sgd, alphaLearner: optimisers.alpha?.learner)
            rng.state = state.generator
            alphaTrace = state.alphaTrace
            firstEpoch = min(state.epochsDone, epochs)
            progress.note("resuming phase \(p) after epoch \(firstEpoch) of \(epochs) from \(directory.inProgressURL(phase: p).path)")
            directory.log(["event": "resume", "phase": p, "after_epoch": firstEpoch])
        }
        network.setTraining(true)
        for epoch in firstEpoch..<epochs {
            let (factor, meanLoss) = try trainEpoch(epoch, data, optimisers, loss: loss, rng: &rng)
            if let alpha = optimisers.alpha { try alphaPass(alpha, epoch: epoch, data: data, rng: &rng) }
            let alphas = network.plastic == nil ? [] : network.alphas.map(\.item)
            warnOfAlphaExcursions(phase: p, epoch: epoch, before: alphaTrace.last ?? AlphaExcursion.latest(in: progressState.results),
                                  now: alphas)
            alphaTrace.append(alphas)
            progress.epochDone(meanLoss: meanLoss, alphas: alphas)
            var event: [String: Any] = ["event": "epoch", "phase": p, "epoch": epoch + 1, "loss": meanLoss,
                                        "lr": Double(optimisers.baseLR * factor), "alpha": alphas.map(Double.init)]
            if let alpha = optimisers.alpha { event["alpha_lr"] = Double(alpha.learner.learningRate) }
            directory.log(event)
            clock.measure(.checkpoints) {
                saveInProgress(phase: p, epochsDone: epoch + 1, network: network, memory: memory, sgd: optimisers.sgd,
                               alphaLearner: optimisers.alpha?.learner, generator: rng, alphaTrace: alphaTrace, state: progressState)
            }
        }
        return alphaTrace
    }

    /// The network steps of one epoch (docs/ALGORITHMS.md §4): the epoch's learning
    /// rates, then one shuffled pass over the phase's data, stopping the run on a
    /// non-finite loss. Returns the schedule's factor and the mean loss.
    func trainEpoch(_ epoch: Int, _ data: PhaseData, _ optimisers: PhaseOptimisers, loss: PhaseLoss,
                    rng: inout RandomGenerator) throws -> (factor: Float, meanLoss: Double) {
        let p = data.phase
        let factor = optimisers.networkSchedule.learningRate(epoch: epoch, stepping: config.stepping)
        optimisers.sgd.setLearningRates(optimisers.groupBase.map { $0 * factor })
        let batches = BatchSampler.shuffled(data.positions, batchSize: config.batchSize, rng: &rng)
        progress.epochStarted(phase: p, phases: phaseCount, epoch: epoch, epochs: optimisers.epochs, images: data.positions.count,
                              learningRate: optimisers.baseLR * factor)
        var lossSum = 0.0
        for (b, chunk) in batches.enumerated() {
            let batch = try clock.measure(.dataLoading) { try data.loader.batch(chunk, rng: &rng) }
            let value = try clock.measure(.trainingSteps) {
                let output = try optimisers.step.loss(images: batch.images, targets: mapped(batch.labels), phase: p,
                                                      classes: data.counts, lossFunction: loss.callAsFunction)
                let value = output.total.item
                guard value.isFinite else {
                    throw RunError.diverged("the loss became \(value) in phase \(p), epoch \(epoch + 1), batch \(b + 1) (\(config.baseline)); the results of the phases before are kept in \(directory.url.path)")
                }
                optimisers.step.apply(output)
                return value
            }
            lossSum += Double(value)
            progress.batchDone(images: chunk.count, loss: value)
            try Interruption.check(phase: p, epoch: epoch + 1, batch: b + 1)
        }
        return (factor, lossSum / Double(max(batches.count, 1)))
    }
}
