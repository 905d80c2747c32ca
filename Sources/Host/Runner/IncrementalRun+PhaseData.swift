import CILSDK

/// What phase p trains on (docs/ALGORITHMS.md §1.3): every training image of the new
/// classes and the exemplars of the old classes kept after phase p − 1.
struct PhaseData {
    let phase: Int
    let counts: ClassCounts
    /// Dataset classes new in the phase.
    let newClasses: [Int]
    /// Training-split positions of the old classes' exemplars.
    let oldExemplars: [Int]
    /// Training-split positions of the phase: the new classes' images, then the exemplars.
    let positions: [Int]
    /// The training split with the training transform (network steps and α steps).
    let loader: BatchLoader
}

extension IncrementalRun {
    /// Step 1 of a phase: its data.
    func prepareData(phase p: Int, memory: ExemplarMemory) -> PhaseData {
        let counts = incremental.plan.counts(phase: p)
        let newClasses = incremental.classes(phase: p)
        let oldExemplars = p == 0 ? [] : exemplarPositions(memory: memory, labels: 0..<counts.old, afterPhase: p - 1).flatMap { $0 }
        return PhaseData(phase: p, counts: counts, newClasses: newClasses, oldExemplars: oldExemplars,
                         positions: newClasses.flatMap { trainPositions[$0] } + oldExemplars,
                         loader: BatchLoader(split: dataset.train, transform: dataset.preprocessing.train))
    }

    /// Mapped labels of dataset classes.
    func mapped(_ dataClasses: [Int]) -> [Int] { dataClasses.map { incremental.order.mappedLabels[$0] } }

    /// Exemplar positions of every mapped label 0..<count after `phase`.
    func exemplarPositions(memory: ExemplarMemory, labels: Range<Int>, afterPhase phase: Int) -> [[Int]] {
        let perClass = incremental.budget.perClass(phase: phase, plan: incremental.plan)
        return labels.map { memory.exemplars(of: incremental.order.classes[$0], perClass: perClass) }
    }

    /// Pooled features [n, D] of every training image of mapped label `label`, as
    /// imprinting and herding see them: the test transform, evaluation mode, no gradient.
    func trainingFeatures(of network: AggregatedNetwork, label: Int) throws -> Tensor {
        let dataClass = incremental.order.classes[label]
        let loader = BatchLoader(split: dataset.train, transform: dataset.preprocessing.test)
        network.setTraining(false)
        defer { network.setTraining(true) }
        return try withNoGrad {
            var rng = RandomGenerator(seed: 0)
            var parts: [Tensor] = []
            for chunk in BatchSampler.sequential(trainPositions[dataClass], batchSize: config.evalBatchSize) {
                let batch = try clock.measure(.dataLoading) { try loader.batch(chunk, rng: &rng) }
                parts.append(network.forward(batch.images).features)
            }
            return Tensor.concatenate(parts, axis: 0)
        }
    }
}
