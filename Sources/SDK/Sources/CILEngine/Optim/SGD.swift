/// A set of parameters sharing one learning rate, weight decay and momentum.
public struct ParameterGroup {
    public var parameters: [Tensor]
    public var learningRate: Float
    public var weightDecay: Float
    public var momentum: Float
    /// A label for logs ("branch1", "fc1", ...).
    public var name: String

    public init(name: String = "", parameters: [Tensor], learningRate: Float, weightDecay: Float = 0,
                momentum: Float = 0.9) {
        self.name = name
        self.parameters = parameters
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.momentum = momentum
    }
}

/// torch.optim.SGD with momentum, dampening 0, no Nesterov, per-group learning
/// rate and weight decay. For each parameter that has a gradient:
/// d = g + wd·p; buf = d on its first step, else momentum·buf + d; p ← p − lr·buf.
/// A parameter whose `grad` is nil is skipped entirely (no decay, no buffer change).
/// All arithmetic is float32, as in PyTorch.
public final class SGD {
    public var groups: [ParameterGroup]
    private var buffers: [ObjectIdentifier: Tensor] = [:]

    public init(groups: [ParameterGroup]) {
        self.groups = groups
    }

    /// Applies one update to every parameter with a gradient.
    public func step() {
        for group in groups {
            let lr = group.learningRate, wd = group.weightDecay, mom = group.momentum
            for p in group.parameters {
                guard let grad = p.grad else { continue }
                precondition(grad.count == p.count, "SGD: gradient \(grad.shape) for parameter \(p.shape)")
                let key = ObjectIdentifier(p)
                let pp = p.storage.pointer, gp = grad.storage.pointer
                if let buf = buffers[key] {
                    let bp = buf.storage.pointer
                    for i in 0..<p.count {
                        let d = gp[i] + wd * pp[i]
                        bp[i] = mom * bp[i] + d
                        pp[i] = pp[i] - lr * bp[i]
                    }
                } else {
                    let buf = Tensor(uninitializedShape: p.shape)
                    let bp = buf.storage.pointer
                    for i in 0..<p.count {
                        let d = gp[i] + wd * pp[i]
                        bp[i] = d
                        pp[i] = pp[i] - lr * d
                    }
                    buffers[key] = buf
                }
            }
        }
    }

    /// Zeroes the gradients in place, keeping the tensors (PyTorch 1.2's
    /// `zero_grad()`): a parameter that has had a gradient keeps receiving weight
    /// decay and momentum even when a later step gives it none.
    public func zeroGrad() {
        for g in groups { for p in g.parameters { p.grad?.fill(0) } }
    }

    /// Drops the gradients (PyTorch ≥ 2.0's `zero_grad(set_to_none=True)`): such
    /// parameters are skipped by the next step unless they get a new gradient.
    public func clearGrad() {
        for g in groups { for p in g.parameters { p.grad = nil } }
    }

    /// The momentum buffer of `parameter`, if it has taken a step.
    public func momentumBuffer(of parameter: Tensor) -> Tensor? { buffers[ObjectIdentifier(parameter)] }

    /// Replaces the momentum buffer of `parameter` (nil: as if it never stepped), to
    /// restore an optimizer saved mid-training. The buffer must have the parameter's shape.
    public func setMomentumBuffer(_ buffer: Tensor?, of parameter: Tensor) {
        if let buffer {
            precondition(buffer.shape == parameter.shape, "SGD: momentum buffer \(buffer.shape) for parameter \(parameter.shape)")
            buffers[ObjectIdentifier(parameter)] = buffer
        } else {
            buffers[ObjectIdentifier(parameter)] = nil
        }
    }

    /// Sets every group's learning rate to `base[i]` (one per group).
    public func setLearningRates(_ rates: [Float]) {
        precondition(rates.count == groups.count, "setLearningRates: \(rates.count) rates for \(groups.count) groups")
        for i in groups.indices { groups[i].learningRate = rates[i] }
    }
}
