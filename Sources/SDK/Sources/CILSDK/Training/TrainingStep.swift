/// One optimiser step of the network on a training batch, as the host's inner loop
/// runs it (docs/ALGORITHMS.md §4):
///
/// 1. zero the network optimiser's gradients (α's are not in it: under the
///    `accumulate` α policy the training batches' α gradient adds up);
/// 2. forward the batch through the network being trained, and through the frozen
///    reference model of the previous phase (no gradient), if any;
/// 3. the loss (the baseline's, plus any extra term) on both outputs;
/// 4. backward; clamp every gradient of the optimiser's tensors when the baseline
///    asks for it; step the optimiser.
///
/// The step is split into `loss` (1-3) and `apply` (4) so the caller can check the
/// value (a non-finite loss stops a run before any weight changes). The lock-step
/// tests drive this type with batches from the original code.
public struct TrainingStep {
    /// The network being trained (training mode is the caller's choice).
    public let network: AggregatedNetwork
    /// The previous phase's frozen model, nil in phase 0.
    public let reference: AggregatedNetwork?
    /// The network optimiser (no α in it).
    public let optimizer: SGD
    /// Every gradient of the optimiser's tensors is clamped to this range before the
    /// step (PODNet's hooks), or left alone when nil.
    public let gradientClamp: ClosedRange<Float>?
    /// Times the reference model's forward pass (`TimedWork.referenceForward`), if set;
    /// it observes only, the step computes the same with or without it.
    public let timer: (any WorkTimer)?

    public init(network: AggregatedNetwork, reference: AggregatedNetwork?, optimizer: SGD,
                gradientClamp: ClosedRange<Float>? = nil, timer: (any WorkTimer)? = nil) {
        self.network = network
        self.reference = reference
        self.optimizer = optimizer
        self.gradientClamp = gradientClamp
        self.timer = timer
    }

    /// Steps 1-3 on `images` [B, 3, H, W] with mapped labels `targets`: zeroes the
    /// gradients, runs both models and returns `lossFunction`'s loss (not yet
    /// backpropagated).
    public func loss(images: Tensor, targets: [Int], phase: Int, classes: ClassCounts,
                     lossFunction: (BatchContext) throws -> LossOutput) rethrows -> LossOutput {
        optimizer.zeroGrad()
        let current = network.forward(images)
        let previous = reference.map { model in timed(.referenceForward) { withNoGrad { model.forward(images) } } }
        return try lossFunction(BatchContext(phase: phase, classes: classes, targets: targets, current: current,
                                             previous: previous, head: network.head))
    }

    /// `body`, timed as `work` by `timer` when there is one.
    func timed<T>(_ work: TimedWork, _ body: () throws -> T) rethrows -> T {
        guard let timer else { return try body() }
        return try timer.measure(work, body)
    }

    /// Step 4: backward from `loss.total`, the clamp, the optimiser step.
    public func apply(_ loss: LossOutput) {
        loss.total.backward()
        if let clamp = gradientClamp {
            for group in optimizer.groups { Self.clampGradients(of: group.parameters, into: clamp) }
        }
        optimizer.step()
    }

    /// Clamps every element of each tensor's gradient into `range` (PODNet's
    /// `register_hook(lambda grad: torch.clamp(grad, -5., 5.))`); tensors without a
    /// gradient are left alone.
    public static func clampGradients(of tensors: [Tensor], into range: ClosedRange<Float>) {
        for t in tensors {
            t.grad?.withUnsafeMutableBufferPointer { v in
                for i in v.indices { v[i] = min(max(v[i], range.lowerBound), range.upperBound) }
            }
        }
    }
}
