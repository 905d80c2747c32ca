import Foundation
import Synchronization

/// SIGINT/SIGTERM during `cil run`: the handler only records the signal (an atomic
/// store, async-signal-safe) and restores the default action, so a second signal
/// ends the process at once. The training loop polls `requested` after every batch
/// and stops with `RunError.interrupted`; what is on disk (config, finished phases'
/// checkpoints, results.json) is always complete, as every file is written atomically.
enum Interruption {
    /// The signal received (0: none).
    private static let received = Atomic<Int32>(0)

    /// Installs the handlers for SIGINT and SIGTERM, and unblocks both signals on the
    /// calling thread: a process may inherit them blocked (a test runner spawning
    /// `cil` does), and a blocked signal would never reach the handler.
    static func install() {
        var set = sigset_t()
        sigemptyset(&set)
        for sig in [SIGINT, SIGTERM] {
            _ = signal(sig) { sig in
                Interruption.received.store(sig, ordering: .sequentiallyConsistent)
                _ = signal(sig, SIG_DFL)
            }
            sigaddset(&set, sig)
        }
        _ = pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// The signal that asked the run to stop, if any.
    static var requested: Int32? {
        let sig = received.load(ordering: .sequentiallyConsistent)
        return sig == 0 ? nil : sig
    }

    /// Throws `RunError.interrupted` if a signal arrived.
    static func check(phase: Int, epoch: Int, batch: Int) throws {
        if let sig = requested { throw RunError.interrupted(signal: sig, phase: phase, epoch: epoch, batch: batch) }
    }

    /// The exit status of a process stopped by `sig`: 128 + the signal number.
    static func exitStatus(for sig: Int32) -> Int32 { 128 + sig }

    /// The command line of this process, quoted for a POSIX shell.
    static var commandLine: String {
        CommandLine.arguments.map(shellQuoted).joined(separator: " ")
    }

    static func shellQuoted(_ word: String) -> String {
        let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
        if !word.isEmpty, word.unicodeScalars.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
