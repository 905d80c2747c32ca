import CILSDK
import Foundation

/// A run's directory: `config.json` (the resolved configuration), `events.jsonl`
/// (an append-only log, one JSON object a line), `checkpoints/phase-N.ckpt` (the
/// state after phase N, checksummed), `checkpoints/phase-N-in-progress.ckpt` (the
/// state of unfinished phase N after its last finished epoch), `results.json`, and
/// `.lock` (locked by the process using the directory, see `DirectoryLock`). Every
/// file but the log and the lock is written atomically (temporary file, fsync,
/// rename), so a crash never leaves a half-written file that looks valid.
struct RunDirectory {
    let url: URL

    var configURL: URL { url.appendingPathComponent("config.json") }
    var eventsURL: URL { url.appendingPathComponent("events.jsonl") }
    var resultsURL: URL { url.appendingPathComponent("results.json") }
    var checkpointsURL: URL { url.appendingPathComponent("checkpoints") }

    func checkpointURL(phase: Int) -> URL { checkpointsURL.appendingPathComponent("phase-\(phase).ckpt") }
    /// The in-progress checkpoint of an unfinished phase, rewritten after each epoch
    /// and removed once the phase's own checkpoint exists.
    func inProgressURL(phase: Int) -> URL { checkpointsURL.appendingPathComponent("phase-\(phase)-in-progress.ckpt") }

    /// Creates the directory if needed (a clear error if it cannot) and locks it for
    /// the life of the process (`DirectoryLock`) before anything in it is read or
    /// written: a second process on the same directory is refused with
    /// `DirectoryLock.InUse` and changes nothing. Then creates checkpoints/ and removes
    /// stale temporary files. `note` gets the warning of a file system without locks.
    func prepare(note: (String) -> Void = { _ in }) throws {
        func create(_ dir: URL) throws {
            do {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            } catch {
                throw RunError.io("cannot create the run directory \(url.path): \(Self.obstacle(to: url) ?? error.localizedDescription)")
            }
        }
        try create(url)
        guard FileManager.default.isWritableFile(atPath: url.path) else {
            throw RunError.io("the run directory \(url.path) is not writable")
        }
        if case let .unsupported(reason) = try DirectoryLock.acquire(url, kind: "run directory") {
            note("warning: \(reason); nothing keeps another cil process out of \(url.path)")
        }
        try create(checkpointsURL)
        removeStaleTemporaryFiles()
    }

    /// Removes the temporary files (`.NAME.tmp-PID`) of atomic writes cut short by a
    /// process that no longer runs (killed, or stopped by a full disk). They are never
    /// read: only complete, renamed files count.
    func removeStaleTemporaryFiles() {
        for dir in [url, checkpointsURL] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] {
                guard name.hasPrefix("."), let range = name.range(of: ".tmp-"), let pid = Int32(name[range.upperBound...]) else { continue }
                if pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
                    unlink(dir.appendingPathComponent(name).path)
                }
            }
        }
    }

    /// Why a directory cannot be created at `url`: the nearest existing ancestor is a
    /// file, or is not writable.
    static func obstacle(to url: URL) -> String? {
        var ancestor = url.deletingLastPathComponent()
        while ancestor.path != "/" {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) {
                if !isDirectory.boolValue { return "\(ancestor.path) is a file, not a directory" }
                if !FileManager.default.isWritableFile(atPath: ancestor.path) { return "\(ancestor.path) is not writable" }
                return nil
            }
            ancestor = ancestor.deletingLastPathComponent()
        }
        return nil
    }

    /// The highest phase with a checkpoint file (not yet verified).
    func lastCheckpointedPhase() -> Int? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpointsURL.path)) ?? []
        return names.compactMap { name -> Int? in
            guard name.hasPrefix("phase-"), name.hasSuffix(".ckpt") else { return nil }
            return Int(name.dropFirst(6).dropLast(5))
        }.max()
    }

    /// Appends one event to the log (and flushes it to disk).
    func log(_ event: [String: Any]) {
        var object = event
        object["time"] = ISO8601DateFormatter().string(from: Date())
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        if !FileManager.default.fileExists(atPath: eventsURL.path) {
            _ = FileManager.default.createFile(atPath: eventsURL.path, contents: nil)
        }
        guard let handle = try? FileHandle(forWritingTo: eventsURL) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: data + Data("\n".utf8))
        try? handle.synchronize()
    }
}

/// Writes `data` to `url` atomically: a temporary file `.NAME.tmp-PID` in the same
/// directory, written completely, fsync'ed, then renamed over `url` (and the
/// directory fsync'ed), so `url` holds either its old or its new content, never a
/// part. On failure (a full disk, a file-size limit, ...) the temporary file is
/// removed and the error names `url` and the system's reason.
func writeAtomically(_ data: Data, to url: URL) throws {
    let dir = url.deletingLastPathComponent()
    let temp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
    func failure(_ what: String) -> RunError {
        let reason = String(cString: strerror(errno))
        unlink(temp.path)
        return RunError.io("cannot write \(url.path): \(what) failed: \(reason)")
    }
    let fd = open(temp.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
        throw RunError.io("cannot write \(url.path): cannot create \(temp.path): \(String(cString: strerror(errno)))")
    }
    let written = data.withUnsafeBytes { raw -> Bool in
        var done = 0
        while done < raw.count {
            let n = write(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            done += n
        }
        return true
    }
    guard written else { let error = failure("write"); close(fd); throw error }
    guard fsync(fd) == 0 else { let error = failure("fsync"); close(fd); throw error }
    guard close(fd) == 0 else { throw failure("close") }
    guard rename(temp.path, url.path) == 0 else { throw failure("rename") }
    let dirfd = open(dir.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dirfd >= 0 {
        _ = fsync(dirfd)
        close(dirfd)
    }
}

/// Errors of a run, each a complete sentence for the user.
enum RunError: Error, CustomStringConvertible {
    case io(String)
    case configuration(String)
    case diverged(String)
    case checkpoint(String)
    /// SIGINT/SIGTERM arrived; the run stopped after batch `batch` of epoch `epoch`
    /// (both 1-based) of phase `phase`.
    case interrupted(signal: Int32, phase: Int, epoch: Int, batch: Int)

    var description: String {
        switch self {
        case let .io(m), let .configuration(m), let .diverged(m), let .checkpoint(m): return m
        case let .interrupted(sig, phase, epoch, batch):
            let place = epoch == 0 ? "before phase \(phase)" : "in phase \(phase), epoch \(epoch), batch \(batch)"
            return "interrupted by \(SignalName.of(sig)) \(place)"
        }
    }
}
