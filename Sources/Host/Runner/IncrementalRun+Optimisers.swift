import CILSDK

/// The optimisers of a phase and their schedules (docs/ALGORITHMS.md §1.7, §3.3, §5.3).
struct PhaseOptimisers {
    /// Epochs of the phase.
    let epochs: Int
    /// The phase's learning rate, which the schedule scales epoch by epoch.
    let baseLR: Float
    let sgd: SGD
    /// The network step of a batch (docs/ALGORITHMS.md §4).
    let step: TrainingStep
    /// Each optimiser group's learning rate before the schedule's factor.
    let groupBase: [Float]
    /// The schedule's factor of the network's learning rates, per epoch.
    let networkSchedule: any LearningRateSchedule
    /// α's optimiser, in a phase that learns α.
    let alpha: AlphaOptimiser?
}

/// α's optimiser, its schedule and the balanced set its steps run on (docs/ALGORITHMS.md §5).
struct AlphaOptimiser {
    let learner: AlphaLearner
    let schedule: MultiStepSchedule
    /// Training-split positions, in the order the α pass visits them.
    let balanced: [Int]
}

extension IncrementalRun {
    /// Step 3 of a phase: the network's optimiser over its groups, the training step
    /// and the schedule; from phase 1 in dual mode, when the baseline learns α and the
    /// fusion learning rate is not 0, α's optimiser and its balanced set. Otherwise α,
    /// if the network has one, is made a constant.
    func makeOptimisers(_ data: PhaseData, network: AggregatedNetwork, old: AggregatedNetwork?,
                        memory: ExemplarMemory) -> PhaseOptimisers {
        let p = data.phase
        let policy = baseline.trainingPolicy
        // `--phase0-from FILE`: phase 0's network is given, so phase 0 has no epochs
        // (its start and end, herding and evaluation run as usual).
        let epochs = p > 0 ? config.epochs : config.phaseZeroWeights?.use == .trained ? 0 : config.epochsFirst
        let baseLR = p == 0 ? config.baseLR1 : config.baseLR2
        let groups = OptimizerGroups.make(for: network, learningRate: baseLR, weightDecay: config.weightDecay,
                                          mode: config.mode, momentum: config.momentum)
        let sgd = SGD(groups: groups)
        let networkSchedule: any LearningRateSchedule = config.schedule == .cosine
            ? CosineSchedule(base: 1, tMax: epochs)
            : MultiStepSchedule(base: 1, milestones: config.milestones(epochs: epochs), gamma: config.lrFactor)
        var alpha: AlphaOptimiser?
        if p > 0, network.plastic != nil, policy.learnsAlpha, config.fusionLR > 0 {
            let learner = AlphaLearner(network: network, learningRate: config.fusionLR, policy: config.alphaGradient,
                                       decayStaysInGradient: config.mode == .faithful)
            alpha = AlphaOptimiser(learner: learner,
                                   schedule: MultiStepSchedule(base: config.fusionLR, milestones: config.milestones(epochs: epochs),
                                                               gamma: config.lrFactor),
                                   balanced: balancedSet(data, memory: memory))
        }
        if network.plastic != nil, !policy.learnsAlpha || config.fusionLR == 0 {
            for a in network.alphas { a.requiresGrad = false }
        }
        return PhaseOptimisers(
            epochs: epochs, baseLR: baseLR, sgd: sgd,
            step: TrainingStep(network: network, reference: old, optimizer: sgd, gradientClamp: policy.gradientClamp,
                               timer: clock),
            groupBase: groups.map(\.learningRate), networkSchedule: networkSchedule, alpha: alpha)
    }

    /// The balanced set of phase p ≥ 1 (docs/ALGORITHMS.md §5.1): faithful, the original's
    /// draws with replacement from the new classes, then every old exemplar; corrected,
    /// equally many images of every seen class.
    func balancedSet(_ data: PhaseData, memory: ExemplarMemory) -> [Int] {
        var rng = generator(phase: data.phase, purpose: 3)
        let newPositions = data.newClasses.map { trainPositions[$0] }
        let nbProtos = config.budget == .dynamic ? config.budgetPerClass : config.budgetTotal / 100
        if config.mode == .faithful {
            return BalancedSubset.faithful(newClassPositions: newPositions.flatMap { $0 }, nbCl: data.counts.new,
                                           nbProtos: nbProtos, oldExemplars: data.oldExemplars, rng: &rng)
        }
        return BalancedSubset.classBalanced(newClassPositions: newPositions,
                                            oldClasses: Array(incremental.order.classes[0..<data.counts.old]),
                                            memory: memory,
                                            perClass: incremental.budget.perClass(phase: data.phase - 1, plan: incremental.plan),
                                            rng: &rng)
    }
}
