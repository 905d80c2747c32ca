import Dispatch
import Foundation
import Synchronization

/// Data-parallel loops over the engine's worker threads.
public enum Parallel {
    private static let threadCount = Atomic<Int>(ProcessInfo.processInfo.activeProcessorCount)

    /// Threads used by the engine's kernels (GEMM blocks, im2col, element-wise ops,
    /// BN). Defaults to the number of active CPUs; `Engine.configure(threads:)` sets it.
    public static var threads: Int {
        get { threadCount.load(ordering: .relaxed) }
        set { threadCount.store(max(1, newValue), ordering: .relaxed) }
    }

    /// Runs `body(range)` over `0..<count` split into contiguous chunks, in
    /// parallel when the work is large enough. `grain` is the smallest number of
    /// items worth a chunk of its own.
    @inline(__always)
    public static func forChunks(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let workers = min(threads, max(1, count / max(grain, 1)))
        if workers <= 1 {
            body(0..<count)
            return
        }
        let chunk = (count + workers - 1) / workers
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let lo = w * chunk
                let hi = min(count, lo + chunk)
                if lo < hi { box.value(lo..<hi) }
            }
        }
    }

    /// Runs `body(i)` for every `i` in `0..<count`, spread over the workers.
    @inline(__always)
    public static func forEach(_ count: Int, grain: Int = 1, _ body: (Int) -> Void) {
        forChunks(count, grain: grain) { r in
            for i in r { body(i) }
        }
    }
}

/// Carries a non-Sendable value into a parallel loop whose iterations touch
/// disjoint memory. Only for use inside the engine's kernels.
@usableFromInline
struct UncheckedBox<T>: @unchecked Sendable {
    @usableFromInline let value: T
    @usableFromInline init(_ value: T) { self.value = value }
}
