import Foundation

/// A fresh temporary directory, removed when the value is released.
final class TestDirectory {
    let path: String

    init(_ label: String = "cil-data-test") throws {
        let base = FileManager.default.temporaryDirectory.path
        path = (base as NSString).appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// `path/relative`.
    func file(_ relative: String) -> String { (path as NSString).appendingPathComponent(relative) }

    /// Writes `bytes` to `relative`, creating folders.
    @discardableResult
    func write(_ bytes: [UInt8], to relative: String) throws -> String {
        let full = file(relative)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        return full
    }

    @discardableResult
    func write(_ text: String, to relative: String) throws -> String {
        try write(Array(text.utf8), to: relative)
    }
}

/// Paths of the repository (the first ancestor of this file with a Package.swift).
enum Repository {
    static var root: String {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir.path }
            dir = dir.deletingLastPathComponent()
        }
        return FileManager.default.currentDirectoryPath
    }

    /// `Tests/Vectors/<name>`.
    static func vector(_ name: String) -> String {
        (root as NSString).appendingPathComponent("Tests/Vectors/\(name)")
    }

    /// `Tests/Vectors/pytorch/<name>`, a PyTorch reference vector (see that folder's
    /// README.md); throws an error naming the path if the file is missing.
    static func pytorchVector(_ name: String) throws -> String {
        let path = vector("pytorch/\(name)")
        guard FileManager.default.fileExists(atPath: path) else {
            throw RepositoryFileMissing(path: path, what: "reference vector file")
        }
        return path
    }

    static func json(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return object
    }
}

/// A file the repository should hold is missing.
struct RepositoryFileMissing: Error, CustomStringConvertible {
    let path: String
    let what: String
    var description: String { "\(what) missing: \(path) (it is part of the repository)" }
}
