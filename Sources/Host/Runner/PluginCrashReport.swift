import Foundation
import Synchronization

/// Names the plugin whose code was running when `cil run` crashes (a signal such as
/// SIGSEGV, or the trap of a Swift `fatalError`). The training loop marks every call
/// into a plugin with a message prepared beforehand (`PluginCrashReport.Call`); the
/// handler, async-signal-safe, writes one line to stderr:
///
///     cil: crashed by SIGSEGV inside baseline plugin 'NAME' (FILE), in its loss
///
/// and then hands the signal to the handler installed before it (the Swift runtime's
/// backtracer, or the default action), so the process still dies of that signal.
/// `cil compare` quotes that line as the reason an arm failed.
enum PluginCrashReport {
    /// The signals of a crash.
    static let signals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP]

    /// One plugin call's message, allocated once and never freed (the handler may
    /// read it at any time).
    struct Call: @unchecked Sendable {
        fileprivate let text: UnsafeMutablePointer<CChar>

        /// "inside PLUGIN, in WHAT", e.g. "inside baseline plugin 'lucir' (FILE), in its loss".
        init(_ plugin: String, in what: String) {
            text = strdup("inside \(plugin), in \(what)\n")!
        }
    }

    /// The call in progress: the address of its `text`, 0 outside plugin code.
    private static let current = Atomic<Int>(0)
    /// "cil: crashed by SIGNAME " per signal number, and the actions replaced.
    nonisolated(unsafe) private static let prefixes = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: 65)
    nonisolated(unsafe) private static let previous = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)

    /// Installs the handlers (once, before training).
    static func install() {
        for sig in signals {
            prefixes[Int(sig)] = strdup("cil: crashed by \(SignalName.of(sig)) ")
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { sig in
                if let text = UnsafeMutablePointer<CChar>(bitPattern: PluginCrashReport.current.load(ordering: .sequentiallyConsistent)),
                   let prefix = PluginCrashReport.prefixes[Int(sig)] {
                    _ = write(2, prefix, strlen(prefix))
                    _ = write(2, text, strlen(text))
                }
                // Hand the signal on: the previous action, for this signal (still
                // blocked here), delivered when the handler returns.
                _ = sigaction(sig, PluginCrashReport.previous + Int(sig), nil)
                _ = raise(sig)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            _ = sigaction(sig, &action, previous + Int(sig))
        }
    }

    /// Runs `body`, a call into a plugin, marked with `call`.
    static func during<T>(_ call: Call, _ body: () throws -> T) rethrows -> T {
        let outer = current.exchange(Int(bitPattern: call.text), ordering: .sequentiallyConsistent)
        defer { current.store(outer, ordering: .sequentiallyConsistent) }
        return try body()
    }
}
