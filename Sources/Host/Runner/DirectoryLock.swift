import Foundation
import Synchronization

/// One cil process at a time in a directory: an exclusive `flock(2)` on `DIR/.lock`,
/// taken without waiting and held for the life of the process. The file holds the
/// holder's pid, which the refused process names. The descriptor is never closed,
/// so the kernel drops the lock only when the holder ends, however it ends: the
/// directory of a run killed by SIGKILL is free at once, while a stopped (SIGSTOP)
/// holder keeps it. The descriptor is close-on-exec, so the processes a holder starts
/// (the arms of `cil compare`) do not inherit its lock.
///
/// `cil run` locks its run directory, a local `cil compare` its comparison directory;
/// readers (`cil report`, `--phase0-from`, `cil compare --collect`) take no lock. On a
/// network file system the lock is as good as the file system's `flock`; where it has
/// none (`ENOLCK`, `ENOSYS`, `EOPNOTSUPP`), `acquire` says so and nothing is locked.
enum DirectoryLock {
    /// The lock file inside the locked directory.
    static let fileName = ".lock"

    /// The refusal: another process holds the lock of `directory`.
    struct InUse: Error, CustomStringConvertible {
        /// What the directory is to the user ("run directory", "comparison directory").
        let kind: String
        let directory: String
        /// The holder's pid as its lock file records it (nil if it recorded none).
        let pid: Int32?

        var description: String {
            "the \(kind) \(directory) is in use by another cil process\(pid.map { " (pid \($0))" } ?? ""); "
                + "wait for it to end or stop it, or use another --out"
        }
    }

    /// What `acquire` got.
    enum Outcome: Equatable {
        case held
        /// The file system refused `flock` itself; the reason names the file and the error.
        case unsupported(String)
    }

    /// Locks `directory` (which exists) until the process ends. Locking a directory
    /// this process already holds does nothing. Throws `InUse` when another process
    /// holds it and `RunError.io` when the lock file cannot be opened; creates
    /// `.lock` if it is missing, and writes this process's pid into it only once the
    /// lock is held.
    @discardableResult
    static func acquire(_ directory: URL, kind: String) throws -> Outcome {
        let path = directory.appendingPathComponent(fileName).path
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        // A lock file another user created: flock needs no write access (the pid stays theirs).
        if fd < 0 && errno == EACCES { fd = open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else {
            throw RunError.io("cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        let id = fileID(fd)
        if held.withLock({ $0.contains(id) }) {
            close(fd)
            return .held
        }
        switch attempt(fd, LOCK_EX) {
        case .locked:
            held.withLock { _ = $0.insert(id) }
            let text = Array("\(getpid())\n".utf8)
            if ftruncate(fd, 0) == 0 { _ = pwrite(fd, text, text.count, 0) }
            return .held
        case let .inUse(pid):
            close(fd)
            throw InUse(kind: kind, directory: directory.path, pid: pid)
        case let .failed(code):
            close(fd)
            return .unsupported("cannot lock \(path): \(String(cString: strerror(code)))")
        }
    }

    /// Whether another process holds the lock of `directory`, without keeping it:
    /// a shared lock taken and released at once (nil: free, never locked, or held by
    /// this process). A check, not a reservation: the caller's own `acquire`, or the
    /// process it starts, is what decides.
    static func inUse(_ directory: URL, kind: String) -> InUse? {
        let fd = open(directory.appendingPathComponent(fileName).path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if held.withLock({ $0.contains(fileID(fd)) }) { return nil }
        guard case let .inUse(pid) = attempt(fd, LOCK_SH) else { return nil }
        return InUse(kind: kind, directory: directory.path, pid: pid)
    }

    // MARK: - Implementation

    /// The lock files this process holds (device and inode, so two spellings of one
    /// path are one lock).
    private static let held = Mutex<Set<[UInt64]>>([])

    private static func fileID(_ fd: Int32) -> [UInt64] {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return [] }
        return [UInt64(info.st_dev), UInt64(info.st_ino)]
    }

    private enum Attempt {
        case locked
        case inUse(pid: Int32?)
        case failed(errno: Int32)
    }

    /// `flock(fd, operation | LOCK_NB)`. When it is held elsewhere, the holder's pid
    /// is read from the file; an empty file or a pid that no longer runs means a
    /// holder that has not written its pid yet or has just ended, so this retries for
    /// up to half a second before reporting what the file says.
    private static func attempt(_ fd: Int32, _ operation: Int32) -> Attempt {
        for _ in 0..<50 {
            if flock(fd, operation | LOCK_NB) == 0 { return .locked }
            let code = errno
            if code == EINTR { continue }
            guard code == EWOULDBLOCK else { return .failed(errno: code) }
            if let pid = recordedPID(fd), kill(pid, 0) == 0 || errno == EPERM { return .inUse(pid: pid) }
            usleep(10_000)
        }
        return .inUse(pid: recordedPID(fd))
    }

    /// The pid written in the lock file, if it holds one.
    private static func recordedPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Int32(text).flatMap { $0 > 0 ? $0 : nil }
    }
}
