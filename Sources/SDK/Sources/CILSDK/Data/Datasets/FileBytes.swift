#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Whole-file reads straight into a byte array (one copy, from the kernel), with
/// errors that name the file.
public enum FileBytes {
    /// The contents of `path`. Throws `DataError.missingFile` if it does not exist
    /// (`what` says what the file is for) and `DataError.unreadable` otherwise.
    public static func read(_ path: String, what: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError.missingFile(path: path, what: what, tried: [path])
        }
        if isDirectory.boolValue { throw DataError.unreadable(path: path, reason: "it is a directory") }
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw DataError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { throw DataError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(info.st_size)
        var failure: String?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var done = 0
            while done < size {
                let n = systemRead(fd, buffer.baseAddress! + done, size - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    break
                }
                if n == 0 { failure = "file shrank while reading (\(done) of \(size) bytes)"; break }
                done += n
            }
            initialized = failure == nil ? size : 0
        }
        if let failure { throw DataError.unreadable(path: path, reason: failure) }
        return bytes
    }

    /// The lines of a text file, trimmed, without empty lines.
    public static func lines(_ path: String, what: String) throws -> [String] {
        let bytes = try read(path, what: what)
        return String(decoding: bytes, as: UTF8.self)
            .split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }
}

/// POSIX read(2) (named apart from `FileBytes.read`).
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}
