/// A head finetuning (`HeadFinetuning`, e.g. PODNet's class-balanced finetuning) as
/// the host runs it, batch by batch (docs/ALGORITHMS.md §6.5):
/// 1. the backbone's pooled features, without gradient, under `spec.batchNorm`
///    (`.training`: batch statistics, the running statistics updated by the batch);
/// 2. the head's scores and the spec's loss;
/// 3. backward; every gradient of the trained tensors clamped if the spec asks;
///    one SGD step (the run's momentum, the spec's constant learning rate and decay).
///
/// `run` wraps the whole finetuning: every network weight frozen except `parameters`,
/// batch norm in the spec's mode; both are restored afterwards (the head's earlier
/// rows frozen again, the network in training mode).
public struct HeadFinetuningStep {
    public let network: AggregatedNetwork
    public let spec: HeadFinetuning
    /// The head tensors that train: those whose role is in `spec.roles` (earlier
    /// phases' rows included when asked; other tensors the head froze stay frozen).
    public let parameters: [Tensor]
    public let optimizer: SGD

    public init(network: AggregatedNetwork, spec: HeadFinetuning, momentum: Float) {
        self.network = network
        self.spec = spec
        parameters = network.head.parameterRoles
            .filter { spec.roles.contains($0.role) && ($0.role == .oldClasses || $0.tensor.requiresGrad) }
            .map(\.tensor)
        optimizer = SGD(groups: [ParameterGroup(name: "finetune", parameters: parameters, learningRate: spec.learningRate,
                                                weightDecay: spec.weightDecay, momentum: momentum)])
    }

    /// Runs `body` (the finetuning's batches) with only `parameters` trainable and
    /// batch norm as the spec says.
    public func run<R>(_ body: () throws -> R) rethrows -> R {
        network.setTraining(spec.batchNorm == .training)
        defer { network.setTraining(true) }
        return try network.withFrozenWeights {
            for t in parameters { t.requiresGrad = true }
            return try body()
        }
    }

    /// Steps 1-3 on `images` [B, 3, H, W] with mapped labels `targets`, inside `run`.
    /// A non-finite loss is returned without a step (the caller stops the run).
    public func step(images: Tensor, targets: [Int], phase: Int, classes: ClassCounts) throws -> LossOutput {
        let features = withNoGrad { network.forward(images).features }
        let out = network.head.forward(features)
        optimizer.zeroGrad()
        let loss = try spec.loss(BatchContext(phase: phase, classes: classes, targets: targets,
            current: ModelOutputs(logits: out.logits, features: features, levelMaps: [], headExtras: out.extras),
            previous: nil, head: network.head))
        guard loss.total.item.isFinite else { return loss }
        loss.total.backward()
        if let clamp = spec.gradientClamp { TrainingStep.clampGradients(of: parameters, into: clamp) }
        optimizer.step()
        return loss
    }
}
