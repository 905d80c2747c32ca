import Foundation

/// Reads environment variables (one place, so tests can see which ones matter).
enum ProcessEnvironment {
    static func value(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name]
    }
}
