import CILSDK
import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Downloads a URL into a file while hashing it, with progress on stderr.
///
/// The file is written as the bytes arrive (nothing is held in memory) and hashed
/// with the checksum's algorithm on the way. An HTTP status outside 200-299 or a
/// transport error is an error; the caller owns the file and deletes it on failure.
enum ArchiveDownload {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Downloads `url` into `file` (created or truncated) and returns the hex digest
    /// of the bytes with `algorithm` and the byte count.
    static func fetch(_ url: URL, to file: String, algorithm: Checksum.Algorithm,
                      progress: ProgressReporter) throws -> (digest: String, bytes: Int64) {
        guard FileManager.default.createFile(atPath: file, contents: nil),
              let handle = FileHandle(forWritingAtPath: file) else {
            throw Failure(description: "cannot create \(file)")
        }
        defer { try? handle.close() }
        let delegate = Receiver(handle: handle, digest: algorithm.makeDigest(), progress: progress)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 60
        let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
        session.dataTask(with: url).resume()
        delegate.finished.wait()
        session.finishTasksAndInvalidate()
        let outcome = delegate.outcome()
        if let status = outcome.status, !(200 ..< 300).contains(status) {
            throw Failure(description: "the server answered HTTP \(status) for \(url.absoluteString)")
        }
        if outcome.expected > 0 && outcome.received != outcome.expected {
            throw Failure(description: "download of \(url.absoluteString) ended after \(outcome.received) of \(outcome.expected) bytes"
                                       + (outcome.error.map { " (\($0))" } ?? ""))
        }
        if let error = outcome.error { throw Failure(description: "download of \(url.absoluteString) failed: \(error)") }
        progress.finish(received: outcome.received)
        return (outcome.digest, outcome.received)
    }

    /// The URLSession delegate: writes and hashes each chunk, remembers the outcome.
    private final class Receiver: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        // Accessed from URLSession's delegate queue (serial), then read after `finished`.
        private let lock = NSLock()
        private let handle: FileHandle
        private var digest: any StreamingDigest
        private let progress: ProgressReporter
        private var status: Int?
        private var expected: Int64 = -1
        private var received: Int64 = 0
        private var failure: String?
        let finished = DispatchSemaphore(value: 0)

        init(handle: FileHandle, digest: any StreamingDigest, progress: ProgressReporter) {
            self.handle = handle
            self.digest = digest
            self.progress = progress
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
            lock.lock()
            let code = (response as? HTTPURLResponse)?.statusCode
            status = code
            expected = response.expectedContentLength
            lock.unlock()
            if let code, !(200 ..< 300).contains(code) {
                completionHandler(.cancel)
            } else {
                completionHandler(.allow)
            }
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            lock.lock()
            defer { lock.unlock() }
            // Nothing is kept from an error page or after a failure.
            guard failure == nil, (200 ..< 300).contains(status ?? 200) else { return }
            do {
                try handle.write(contentsOf: data)
            } catch {
                failure = "cannot write the download: \(error)"
                dataTask.cancel()
                return
            }
            data.withUnsafeBytes { digest.update($0) }
            received += Int64(data.count)
            progress.update(received: received, expected: expected)
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
            lock.lock()
            if failure == nil, let error {
                let code = status ?? 200
                // A cancel after a bad status is reported as that status.
                if (200 ..< 300).contains(code) { failure = error.localizedDescription }
            }
            lock.unlock()
            finished.signal()
        }

        func outcome() -> (status: Int?, error: String?, expected: Int64, received: Int64, digest: String) {
            lock.lock()
            defer { lock.unlock() }
            return (status, failure, expected, received, Checksum.hex(digest.finalize()))
        }
    }
}

/// Download progress on stderr: a rewritten line on a terminal, else a line every
/// 10% (or every 16 MB when the size is unknown), so logs stay short.
final class ProgressReporter: @unchecked Sendable {
    private let label: String
    private let interactive = isatty(STDERR_FILENO) != 0
    private var lastStep = -1
    private var lastDraw = Date.distantPast

    init(label: String) { self.label = label }

    func update(received: Int64, expected: Int64) {
        if expected > 0 {
            let percent = Int(received * 100 / expected)
            if interactive {
                guard Date().timeIntervalSince(lastDraw) > 0.2 || received == expected else { return }
                lastDraw = Date()
                write("\r\(label): \(percent)% (\(Self.megabytes(received)) of \(Self.megabytes(expected)))")
            } else if percent / 10 > lastStep {
                lastStep = percent / 10
                write("\(label): \(percent)% (\(Self.megabytes(received)) of \(Self.megabytes(expected)))\n")
            }
        } else {
            let step = Int(received >> 24)
            guard step > lastStep else { return }
            lastStep = step
            write(interactive ? "\r\(label): \(Self.megabytes(received))" : "\(label): \(Self.megabytes(received))\n")
        }
    }

    func finish(received: Int64) {
        if interactive { write("\r\(label): done, \(Self.megabytes(received))\n") }
    }

    func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func megabytes(_ bytes: Int64) -> String {
        String(format: "%.1f MB", Double(bytes) / 1_000_000)
    }
}
