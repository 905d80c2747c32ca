import Foundation

/// Files for the `cil data` / `cil protocol` command tests, written by the tests:
/// CIFAR-100 records, tar.gz archives in the official layout, tiny PNGs, and a
/// local HTTP server on 127.0.0.1.
enum DataFixtures {
    /// A fresh temporary directory (the caller removes it).
    static func temporaryDirectory(_ label: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// CIFAR-100 records (coarse = fine / 5) for the fine labels.
    static func records(_ labels: [Int]) -> [UInt8] {
        labels.enumerated().flatMap { i, l in [UInt8(l / 5), UInt8(l)] + (0 ..< 3072).map { UInt8(truncatingIfNeeded: i * 11 + $0) } }
    }

    /// DIR/cifar-100-binary with the four official files.
    @discardableResult
    static func cifarFolder(in dir: String, train: [Int], test: [Int]) throws -> String {
        let folder = (dir as NSString).appendingPathComponent("cifar-100-binary")
        try write(records(train), to: folder + "/train.bin")
        try write(records(test), to: folder + "/test.bin")
        try write(Array(((0 ..< 100).map { "fine\($0)" }.joined(separator: "\n") + "\n").utf8), to: folder + "/fine_label_names.txt")
        try write(Array(((0 ..< 20).map { "coarse\($0)" }.joined(separator: "\n") + "\n").utf8), to: folder + "/coarse_label_names.txt")
        return folder
    }

    /// `tar -czf archive -C dir entries...`.
    static func tar(_ archive: String, in dir: String, _ entries: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["tar", "-czf", archive, "-C", dir] + entries
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    /// The MD5 of a file, from coreutils' md5sum (independent of cil's own MD5).
    static func md5sum(_ path: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["md5sum", path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return String(text.prefix(32))
    }

    /// Files and folders in `dir`, hidden ones included.
    static func contents(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    // MARK: PNG

    /// An 8-bit RGB PNG (stored, uncompressed deflate blocks) of `width`×`height`
    /// whose pixel (x, y) is `color(x, y)`.
    static func png(width: Int, height: Int, _ color: (Int, Int) -> (UInt8, UInt8, UInt8)) -> [UInt8] {
        var raw: [UInt8] = []
        for y in 0 ..< height {
            raw.append(0)                                          // filter: none
            for x in 0 ..< width { let c = color(x, y); raw += [c.0, c.1, c.2] }
        }
        var zlib: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65535, raw.count - offset)
            let last: UInt8 = offset + n == raw.count ? 1 : 0
            zlib += [last, UInt8(n & 255), UInt8(n >> 8), UInt8(~n & 255), UInt8((~n >> 8) & 255)]
            zlib += raw[offset ..< offset + n]
            offset += n
        } while offset < raw.count
        var a: UInt32 = 1, b: UInt32 = 0
        for v in raw { a = (a + UInt32(v)) % 65521; b = (b + a) % 65521 }
        zlib += be32((b << 16) | a)
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return be32(UInt32(data.count)) + body + be32(crc32(body))
        }
        let header = be32(UInt32(width)) + be32(UInt32(height)) + [8, 2, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", zlib) + chunk("IEND", [])
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 255), UInt8((v >> 8) & 255), UInt8(v & 255)] }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0 ..< 8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
        }
        return ~crc
    }
}

/// `python3` serving a directory on 127.0.0.1 (a free port), plus `/error` (HTTP
/// 500) and `/truncated` (promises 100000 bytes, sends 1000 and hangs up).
final class LocalHTTPServer {
    let process = Process()
    let port: Int
    private let input = Pipe()

    /// The server exits when its stdin closes (the test process released it or
    /// died), so it never outlives the test even if signals are blocked.
    static let script = """
    import functools, http.server, os, sys, threading
    def watch_stdin():
        sys.stdin.read()
        os._exit(0)
    threading.Thread(target=watch_stdin, daemon=True).start()
    class H(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
        def do_GET(self):
            if self.path == '/error':
                self.send_error(500, 'server exploded')
                return
            if self.path == '/truncated':
                self.send_response(200)
                self.send_header('Content-Length', '100000')
                self.end_headers()
                self.wfile.write(b'x' * 1000)
                self.wfile.flush()
                self.close_connection = True
                return
            super().do_GET()
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(H, directory=sys.argv[1]))
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """

    init(directory: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, directory]
        let out = Pipe()
        process.standardInput = input
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line += byte
        }
        let parsed = Int(String(decoding: line, as: UTF8.self))
        port = parsed ?? -1
        if parsed == nil {
            stop()
            throw CocoaError(.fileReadUnknown)
        }
    }

    /// Stops this test's own server process: closes its stdin (it exits on EOF) and,
    /// in case that is not enough, sends SIGKILL to its process id (SIGTERM may be
    /// blocked in processes spawned from test threads).
    func stop() {
        try? input.fileHandleForWriting.close()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)/\(path)" }

    deinit { stop() }
}
