/// One lock for every storage's version and derived values: they are touched once per
/// op call (conv weights) or per write through the mutating API, never per element.
let derivedValueLock = PoolLock(())

extension TensorStorage {
    /// Names a value derived from a storage's contents: a kernel's packed or transformed
    /// copy of a weight (`name`) for one layout (`parameters`, e.g. tile size, transposed,
    /// channel counts).
    public struct DerivedKey: Hashable, Sendable {
        public let name: String
        public let parameters: [Int]

        public init(_ name: String, _ parameters: [Int] = []) {
            self.name = name
            self.parameters = parameters
        }
    }

    /// How many writes `markModified()` has recorded. Two reads that see the same version
    /// saw the same contents, provided every writer of these elements goes through
    /// `Tensor.withUnsafeMutableBufferPointer`, `assign`, `fill` or an optimizer step, or
    /// calls `markModified()` after writing through `pointer` (kernels filling a fresh
    /// result need not: nothing has been derived from it yet).
    public var version: UInt64 { derivedValueLock.withLock { _ in versionValue } }

    /// Records a write to the contents: bumps `version` and drops every derived value.
    public func markModified() {
        let dropped = derivedValueLock.withLock { _ -> [DerivedKey: (version: UInt64, value: TensorStorage)] in
            versionValue &+= 1
            let old = derivedValues
            if !old.isEmpty { derivedValues = [:] }
            return old
        }
        _ = dropped  // released outside the lock (their memory goes back to the pool)
    }

    /// The value stored under `key` if it was made from the current contents (same
    /// `version`); otherwise `make()`'s result, which is stored under `key` (replacing any
    /// older one) and kept until the next `markModified()` or until this storage dies.
    /// `make` must compute a pure function of the contents (the cached value is shared,
    /// read-only); it runs outside the lock, so two threads that miss at once both run it.
    public func derived(_ key: DerivedKey, make: () -> TensorStorage) -> TensorStorage {
        let (hit, version) = derivedValueLock.withLock { _ -> (TensorStorage?, UInt64) in
            if let entry = derivedValues[key], entry.version == versionValue { return (entry.value, versionValue) }
            return (nil, versionValue)
        }
        if let hit { return hit }
        let value = make()
        derivedValueLock.withLock { _ in
            if versionValue == version { derivedValues[key] = (version, value) }
        }
        return value
    }

    /// How many derived values are stored and still match the contents (for tests and
    /// memory reports).
    public var derivedValueCount: Int {
        derivedValueLock.withLock { _ in derivedValues.values.filter { $0.version == versionValue }.count }
    }
}
