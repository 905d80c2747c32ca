import CILSDK

extension IncrementalRun {
    /// Step 5 of a phase, after each epoch's network steps (docs/ALGORITHMS.md §5.2):
    /// α's learning rate for the epoch, then one α step per batch of the balanced set,
    /// in its order, with the training transform.
    func alphaPass(_ alpha: AlphaOptimiser, epoch: Int, data: PhaseData, rng: inout RandomGenerator) throws {
        alpha.learner.learningRate = alpha.schedule.learningRate(epoch: epoch, stepping: config.stepping)
        for chunk in BatchSampler.sequential(alpha.balanced, batchSize: config.testBatchSize) {
            let batch = try clock.measure(.dataLoading) { try data.loader.batch(chunk, rng: &rng) }
            _ = clock.measure(.alphaPass) { alpha.learner.step(images: batch.images, labels: mapped(batch.labels)) }
        }
    }

    /// A warning and an event for each level whose α has just left [0, 1]
    /// (`AlphaExcursion`): α after epoch `epoch` of phase p is `now`, and was `before`.
    func warnOfAlphaExcursions(phase p: Int, epoch: Int, before: [Float]?, now alphas: [Float]) {
        for k in AlphaExcursion.leaving(before: before, now: alphas) {
            progress.warn("α of level \(k + 1) left [0, 1] after epoch \(epoch + 1) of phase \(p): \(alphas[k]) (it is not clamped)")
            directory.log(["event": "alpha_outside_unit_interval", "phase": p, "epoch": epoch + 1, "level": k + 1,
                           "alpha": Double(alphas[k])])
        }
    }
}
