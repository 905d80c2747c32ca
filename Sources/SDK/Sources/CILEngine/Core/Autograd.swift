/// One recorded op: its inputs and a closure mapping the gradient of its result to
/// gradients of its inputs (nil for inputs that do not require a gradient).
public final class GradFn {
    /// A short op name, for debugging ("conv2d", "add", ...).
    public let name: String
    private(set) var inputs: [Tensor]
    private(set) var backward: (Tensor) -> [Tensor?]
    /// Set once `backward()` has run through this op and dropped its saved tensors.
    private(set) var isReleased = false

    init(name: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }

    /// Drops the saved inputs and closure (their memory goes back to the pool).
    func release() {
        inputs = []
        backward = { _ in [] }
        isReleased = true
    }
}

/// Whether ops record the graph. Off inside `withNoGrad`.
public enum GradMode {
    @TaskLocal static var enabled = true

    /// Whether ops currently record gradients.
    public static var isEnabled: Bool { enabled }
}

/// Runs `body` without recording the graph (inference, evaluation, imprinting).
/// Results made inside have no `gradFn` and `requiresGrad == false`.
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$enabled.withValue(false) { try body() }
}

extension Tensor {
    /// Builds an op's result, recording `backward` when any input needs a gradient:
    /// the way to add an op of your own. `storage` holds the forward values;
    /// `backward` receives the result's gradient and returns one gradient (or nil)
    /// per input, each with that input's element count. It runs without recording,
    /// and must not capture the result itself (capture a handle on `storage`).
    public static func result(_ name: String, shape: [Int], storage: TensorStorage, inputs: [Tensor],
                       backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        let out = Tensor(shape: shape, storage: storage)
        if GradMode.enabled, inputs.contains(where: { $0.requiresGrad }) {
            out.requiresGrad = true
            out.gradFn = GradFn(name: name, inputs: inputs, backward: backward)
        }
        return out
    }

    /// Reverse-mode differentiation: adds d(sum(gradient * self))/dp to `p.grad` for
    /// every leaf p that requires a gradient. `gradient` defaults to ones (for a
    /// scalar loss, dLoss/dp). The graph is released afterwards.
    public func backward(_ gradient: Tensor? = nil) {
        precondition(requiresGrad, "backward() on a tensor that does not require a gradient")
        let seed = gradient ?? Tensor(shape: shape, repeating: 1)
        precondition(seed.shape == shape, "backward: gradient shape \(seed.shape) vs \(shape)")

        // Topological order (iterative DFS, so deep graphs do not overflow the stack).
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            if !visited.insert(ObjectIdentifier(t)).inserted { continue }
            stack.append((t, true))
            if let fn = t.gradFn {
                precondition(!fn.isReleased,
                             "backward() through '\(fn.name)' a second time: the graph was released by the first backward()")
                for input in fn.inputs where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                    stack.append((input, false))
                }
            }
        }

        withNoGrad {
            // Backward closures may return aliases (add's gradient is its input's
            // gradient), so an accumulator is updated in place only once this loop
            // has made it its own (`owned`); a leaf's .grad is always a fresh copy.
            var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
            var owned = Set<ObjectIdentifier>()
            for t in order.reversed() {
                let key = ObjectIdentifier(t)
                guard let g = grads.removeValue(forKey: key) else { continue }
                guard let fn = t.gradFn else {
                    if let existing = t.grad {
                        existing.addInPlace(g)
                    } else {
                        t.grad = g.copy().reshapedRaw(t.shape)
                    }
                    continue
                }
                precondition(!fn.isReleased,
                             "backward() through '\(fn.name)' a second time: the graph was released by the first backward()")
                let inputGrads = fn.backward(g)
                for (input, ig) in zip(fn.inputs, inputGrads) {
                    guard input.requiresGrad, let ig else { continue }
                    precondition(ig.count == input.count,
                                 "\(fn.name) backward produced gradient \(ig.shape) for input \(input.shape)")
                    let inputKey = ObjectIdentifier(input)
                    if let acc = grads[inputKey] {
                        if owned.contains(inputKey) {
                            acc.addInPlace(ig)
                        } else {
                            grads[inputKey] = acc.adding(ig).reshapedRaw(input.shape)
                            owned.insert(inputKey)
                        }
                    } else {
                        grads[inputKey] = ig.shape == input.shape ? ig : ig.reshapedRaw(input.shape)
                    }
                }
                fn.release()
            }
        }
    }

    /// Adds `other` element-wise into self (same element count). No graph.
    func addInPlace(_ other: Tensor) {
        precondition(other.count == count)
        let d = storage.pointer, s = other.storage.pointer
        Parallel.forChunks(count, grain: 1 << 15) { r in
            for i in r { d[i] += s[i] }
        }
    }

    /// self + other as a new tensor, no graph.
    func adding(_ other: Tensor) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let a = storage.pointer, b = other.storage.pointer, o = out.storage.pointer
        Parallel.forChunks(count, grain: 1 << 15) { r in
            for i in r { o[i] = a[i] + b[i] }
        }
        return out
    }

    /// The same storage under another shape, no graph.
    func reshapedRaw(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, storage: storage)
    }
}
