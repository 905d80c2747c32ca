/// A dense float32 tensor, row-major (C order); images and feature maps are NCHW.
///
/// A tensor is a node of the autodiff graph: an op's result remembers how to send
/// its gradient back to its inputs (`gradFn`). Leaves with `requiresGrad` (the
/// parameters) receive their gradient in `grad` when `backward()` runs on a result;
/// gradients accumulate across `backward()` calls until an optimizer zeroes them.
/// A leaf with `requiresGrad == false` (a frozen tensor) gets no gradient and no
/// op computes one for it.
public final class Tensor {
    /// Dimensions, outermost first. A scalar has `[]`.
    public let shape: [Int]
    /// The memory; shared with tensors made by `reshaped`.
    public let storage: TensorStorage
    /// Whether gradients are wanted for this tensor (leaf) or flow through it (result).
    public var requiresGrad: Bool
    /// The accumulated gradient (same shape), or nil if none has arrived.
    public var grad: Tensor?
    /// How this tensor was computed; nil for leaves and for results of no-grad code.
    public internal(set) var gradFn: GradFn?
    /// An optional label, used in error messages and parameter listings.
    public var name: String?

    /// Number of elements.
    public var count: Int { storage.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// Whether no op produced this tensor (a parameter, an input or a constant).
    public var isLeaf: Bool { gradFn == nil }

    /// Wraps existing storage; `shape` must describe exactly `storage.count` elements.
    public init(shape: [Int], storage: TensorStorage, requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(Self.elementCount(shape) == storage.count,
                     "shape \(shape) needs \(Self.elementCount(shape)) elements, storage has \(storage.count)")
        self.shape = shape
        self.storage = storage
        self.requiresGrad = requiresGrad
    }

    /// A tensor holding `values` (row-major) in `shape`.
    public convenience init(shape: [Int], _ values: [Float], requiresGrad: Bool = false) {
        precondition(values.count == Self.elementCount(shape),
                     "\(values.count) values do not fill shape \(shape)")
        self.init(shape: shape, storage: TensorStorage(values), requiresGrad: requiresGrad)
    }

    /// A tensor of `shape` with every element equal to `value`.
    public convenience init(shape: [Int], repeating value: Float, requiresGrad: Bool = false) {
        self.init(shape: shape, storage: TensorStorage(count: Self.elementCount(shape), repeating: value),
                  requiresGrad: requiresGrad)
    }

    /// A tensor of `shape` whose memory is not initialised (kernels fill it).
    public convenience init(uninitializedShape shape: [Int]) {
        self.init(shape: shape, storage: TensorStorage(uninitializedCount: Self.elementCount(shape)))
    }

    /// A zero tensor.
    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, repeating: 0, requiresGrad: requiresGrad)
    }

    /// A scalar (shape `[]`).
    public convenience init(scalar: Float, requiresGrad: Bool = false) {
        self.init(shape: [], [scalar], requiresGrad: requiresGrad)
    }

    /// Product of the dimensions.
    public static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// A copy of the elements, row-major.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: count)) }

    /// The single element of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item needs a one-element tensor, shape is \(shape)")
        return storage.pointer[0]
    }

    /// Read-only access to the elements.
    @inline(__always)
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// In-place access to the elements. Changing the values of a tensor that an op
    /// still needs for its backward pass corrupts that gradient: do it only to
    /// parameters between steps (optimizers) or to buffers.
    @inline(__always)
    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// A new leaf with a copy of the values, no graph and no gradient.
    public func copy(requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        t.storage.pointer.update(from: storage.pointer, count: count)
        t.requiresGrad = requiresGrad
        t.name = name
        return t
    }

    /// The same values as a leaf outside the graph (shares memory, no gradient).
    public func detached() -> Tensor {
        Tensor(shape: shape, storage: storage)
    }

    /// Overwrites the values with those of `other` (same element count).
    public func assign(_ other: Tensor) {
        precondition(other.count == count, "assign: \(other.shape) into \(shape)")
        storage.pointer.update(from: other.storage.pointer, count: count)
    }

    /// Sets every element to `value`.
    public func fill(_ value: Float) {
        storage.pointer.update(repeating: value, count: count)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(head)\(count > 8 ? ", ..." : "")])"
    }
}
