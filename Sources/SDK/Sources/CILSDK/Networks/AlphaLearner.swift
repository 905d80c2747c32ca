/// How α's gradient is handled between α steps (docs/ALGORITHMS.md §5.4).
public enum AlphaGradientPolicy: String, Sendable, Codable, CaseIterable {
    /// Never zeroed, as in the original LUCIR trainer since 2021-03: every training
    /// batch's and every balanced batch's gradient adds up over the whole run, and
    /// each α step uses the running sum.
    case accumulate
    /// Zeroed before every balanced batch (the iCaRL trainer, MAN-v1): each α step
    /// uses that batch's cross-entropy gradient only.
    case zeroPerStep = "zero-per-step"
}

/// Learns the aggregation weights α on the balanced set (docs/ALGORITHMS.md §5.2-§5.3):
/// after each training epoch, one pass over the balanced batches with the network in
/// evaluation mode (BN on running statistics), softmax cross-entropy on the logits
/// over all seen classes, and an SGD step of α alone (momentum 0.9, weight decay
/// on α, learning rate `fusion_lr` on its schedule). Float32 throughout, like the
/// original. A new learner (fresh momentum) is made every phase; α carries over.
public final class AlphaLearner {
    public let network: AggregatedNetwork
    public let policy: AlphaGradientPolicy
    /// The SGD over α (exposed so a run can save and restore its momentum).
    public let optimizer: SGD
    /// Whether each step also leaves its weight-decay term wd·α in α's gradient, as
    /// PyTorch 1.2's SGD did (it added the decay to `.grad` in place; PyTorch ≥ 1.5
    /// adds it out of place). Only visible under `accumulate`, where the gradient is
    /// kept: the faithful mode of the original's LUCIR trainer, which ran on
    /// PyTorch 1.2 (docs/ALGORITHMS.md §5.4).
    public let decayStaysInGradient: Bool

    public init(network: AggregatedNetwork, learningRate: Float, weightDecay: Float = 5e-4,
                momentum: Float = 0.9, policy: AlphaGradientPolicy, decayStaysInGradient: Bool = false) {
        precondition(network.plastic != nil, "AlphaLearner: α exists only in a dual network with derived branches")
        self.network = network
        self.policy = policy
        self.decayStaysInGradient = decayStaysInGradient
        optimizer = SGD(groups: [ParameterGroup(name: "alpha", parameters: network.alphas,
                                                learningRate: learningRate, weightDecay: weightDecay, momentum: momentum)])
    }

    /// The learning rate of the next steps (set per epoch from the schedule).
    public var learningRate: Float {
        get { optimizer.groups[0].learningRate }
        set { optimizer.groups[0].learningRate = newValue }
    }

    /// One α step on a balanced batch: images [B, 3, H, W], mapped labels.
    /// Returns the batch's cross-entropy.
    @discardableResult
    public func step(images: Tensor, labels: [Int]) -> Float {
        let wasTraining = network.isTraining
        network.setTraining(false)
        defer { network.setTraining(wasTraining) }
        if policy == .zeroPerStep { optimizer.zeroGrad() }
        let loss = network.withFrozenWeights { () -> Tensor in
            let out = network.forward(images)
            let l = Tensor.crossEntropy(logits: out.logits, targets: labels)
            l.backward()
            return l
        }
        let before = decayStaysInGradient ? network.alphas.map(\.item) : []
        optimizer.step()
        if decayStaysInGradient {
            let wd = optimizer.groups[0].weightDecay
            for (a, value) in zip(network.alphas, before) {
                a.grad?.withUnsafeMutableBufferPointer { g in g[0] += wd * value }
            }
        }
        return loss.item
    }

    /// The current α per level.
    public var values: [Float] { network.alphas.map(\.item) }
}
