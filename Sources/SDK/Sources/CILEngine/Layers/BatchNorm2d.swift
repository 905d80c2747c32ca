/// torch.nn.BatchNorm2d: affine (γ = 1, β = 0 initially), running statistics
/// (mean 0, var 1 initially) with momentum 0.1 and eps 1e-5. In training mode it
/// normalises with batch statistics and updates the running buffers; in evaluation
/// mode it uses the buffers.
public final class BatchNorm2d: Layer {
    public let gamma: Tensor
    public let beta: Tensor
    public let runningMean: Tensor
    public let runningVar: Tensor
    public let momentum: Float
    public let eps: Float
    public var isTraining = true

    public init(_ channels: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        gamma = Tensor(shape: [channels], repeating: 1, requiresGrad: true)
        beta = Tensor(shape: [channels], repeating: 0, requiresGrad: true)
        runningMean = Tensor(shape: [channels], repeating: 0)
        runningVar = Tensor(shape: [channels], repeating: 1)
        self.momentum = momentum
        self.eps = eps
    }

    public var localParameters: [(String, Tensor)] { [("weight", gamma), ("bias", beta)] }
    public var localBuffers: [(String, Tensor)] { [("running_mean", runningMean), ("running_var", runningVar)] }

    /// A deep copy: parameters (with their trainability), buffers and mode.
    public func cloned() -> BatchNorm2d {
        let c = BatchNorm2d(gamma.count, momentum: momentum, eps: eps)
        c.gamma.assign(gamma); c.gamma.requiresGrad = gamma.requiresGrad
        c.beta.assign(beta); c.beta.requiresGrad = beta.requiresGrad
        c.runningMean.assign(runningMean)
        c.runningVar.assign(runningVar)
        c.isTraining = isTraining
        return c
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.batchNorm(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                         training: isTraining, momentum: momentum, eps: eps)
    }

    /// relu(self(x)) when `relu` is true, in one op (one pass fewer each way).
    public func callAsFunction(_ x: Tensor, relu: Bool) -> Tensor {
        Tensor.batchNorm(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                         training: isTraining, momentum: momentum, eps: eps, relu: relu)
    }

    /// relu(self(x) + residual) in one op (residual: x's shape): one forward pass, and a
    /// backward that writes the masked gradient once for the residual (see
    /// `Tensor.batchNorm(_:gamma:beta:runningMean:runningVar:training:momentum:eps:relu:residual:)`).
    public func callAsFunction(_ x: Tensor, addingReLU residual: Tensor) -> Tensor {
        Tensor.batchNorm(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                         training: isTraining, momentum: momentum, eps: eps, relu: true, residual: residual)
    }
}
