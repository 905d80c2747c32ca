import Dispatch
import Synchronization

/// Runs independent items on several threads and reports the first error.
public enum ConcurrentWork {
    /// Calls `body(i)` for every `i` in `0..<count`, spread over `workers` threads
    /// (worker w takes items w, w + workers, ...). After the first error no new item
    /// starts, and that error is rethrown.
    public static func forEach(_ count: Int, workers: Int, _ body: @Sendable (Int) throws -> Void) throws {
        guard count > 0 else { return }
        let threads = max(1, min(workers, count))
        let failure = FirstError()
        DispatchQueue.concurrentPerform(iterations: threads) { w in
            var i = w
            while i < count, !failure.isSet {
                do { try body(i) } catch { failure.set(error); return }
                i += threads
            }
        }
        if let error = failure.error { throw error }
    }
}

/// The first error of a concurrent loop.
final class FirstError: Sendable {
    private let state = Mutex<(any Error)?>(nil)

    var isSet: Bool { state.withLock { $0 != nil } }
    var error: (any Error)? { state.withLock { $0 } }

    func set(_ error: any Error) {
        state.withLock { if $0 == nil { $0 = error } }
    }
}
