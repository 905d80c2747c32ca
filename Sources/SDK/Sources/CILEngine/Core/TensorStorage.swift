/// The contiguous float32 memory behind one or more tensors (a reshape shares it).
///
/// Memory comes from `BufferPool.shared` and goes back to it when the storage dies.
public final class TensorStorage: @unchecked Sendable {
    /// First element. Valid for `count` floats.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of floats in use.
    public let count: Int
    private let capacity: Int

    /// Uninitialised storage of `count` floats.
    public init(uninitializedCount count: Int) {
        (pointer, capacity) = BufferPool.shared.acquire(count: count)
        self.count = count
    }

    /// Storage of `count` floats, all equal to `value`.
    public convenience init(count: Int, repeating value: Float) {
        self.init(uninitializedCount: count)
        pointer.update(repeating: value, count: count)
    }

    /// Storage holding a copy of `values`.
    public convenience init(_ values: [Float]) {
        self.init(uninitializedCount: values.count)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit {
        BufferPool.shared.release(pointer, capacity: capacity)
    }
}
