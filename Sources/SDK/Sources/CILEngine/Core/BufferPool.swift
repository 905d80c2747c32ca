import Synchronization
#if CIL_TSAN
import Foundation
#endif

/// A size-bucketed cache of float buffers, so that a training step does not pay
/// page faults for fresh multi-megabyte allocations on every op (DESIGN.md 4).
///
/// Buffers are bucketed by capacity rounded up to a power of two (minimum 64
/// floats); a released buffer is kept for reuse while the pool holds less than
/// `maxCachedBytes`. Thread-safe.
public final class BufferPool: Sendable {
    /// The process-wide pool used by `TensorStorage`.
    public static let shared = BufferPool(maxCachedBytes: 1 << 30)

    // Free buffers are kept as addresses (UInt), which are Sendable.
    private struct State {
        var free: [Int: [UInt]] = [:]
        var cachedBytes = 0
    }
    private let state = PoolLock(State())
    private let maxCachedBytes: Int

    public init(maxCachedBytes: Int) {
        self.maxCachedBytes = maxCachedBytes
    }

    /// Capacity (in floats) of the bucket that serves a request for `count` floats.
    @inline(__always)
    static func bucket(for count: Int) -> Int {
        let n = max(count, 64)
        return 1 << (Int.bitWidth - (n - 1).leadingZeroBitCount)
    }

    /// An uninitialised buffer of at least `count` floats, and its capacity.
    func acquire(count: Int) -> (UnsafeMutablePointer<Float>, Int) {
        let capacity = Self.bucket(for: count)
        let reused: UInt? = state.withLock { s in
            guard var list = s.free[capacity], let p = list.popLast() else { return nil }
            s.free[capacity] = list
            s.cachedBytes -= capacity * MemoryLayout<Float>.size
            return p
        }
        if let address = reused, let p = UnsafeMutablePointer<Float>(bitPattern: address) { return (p, capacity) }
        let p = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
        return (p, capacity)
    }

    /// Returns a buffer obtained from `acquire`.
    func release(_ pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        let bytes = capacity * MemoryLayout<Float>.size
        let address = UInt(bitPattern: pointer)
        let limit = maxCachedBytes
        let kept = state.withLock { s -> Bool in
            guard s.cachedBytes + bytes <= limit else { return false }
            s.free[capacity, default: []].append(address)
            s.cachedBytes += bytes
            return true
        }
        if !kept { pointer.deallocate() }
    }

    /// Frees every cached buffer.
    public func purge() {
        let all = state.withLock { s -> [UInt] in
            let list = s.free.values.flatMap { $0 }
            s.free = [:]
            s.cachedBytes = 0
            return list
        }
        for address in all { UnsafeMutablePointer<Float>(bitPattern: address)?.deallocate() }
    }

    /// Bytes currently held in the cache (not in use by tensors).
    public var cachedBytes: Int { state.withLock { $0.cachedBytes } }
}

#if CIL_TSAN
/// The pool's lock in ThreadSanitizer builds (`.ci/sanitizers.sh` passes
/// `-DCIL_TSAN`): TSan does not see `Synchronization.Mutex` on Linux (its lock is
/// not instrumented, so every buffer handed from one thread to another through the
/// pool is reported as a race); an `NSLock` (a pthread mutex, which TSan intercepts)
/// makes the hand-off visible. Other builds use `Mutex`.
final class PoolLock<State>: @unchecked Sendable {
    private let lock = NSLock()
    private var state: State

    init(_ state: State) { self.state = state }

    func withLock<R>(_ body: (inout State) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&state)
    }
}
#else
typealias PoolLock = Mutex
#endif
