import ArgumentParser
import CILSDK
import Dispatch
import Foundation
import Synchronization

/// `cil data fetch cifar100 [--to DIR]`: downloads the official CIFAR-100 binary
/// archive, verifies its checksum, unpacks it and checks every record, then moves
/// `cifar-100-binary/` into DIR.
///
/// Nothing half-written is ever visible: the archive is downloaded to a hidden
/// temporary file in DIR, checked, unpacked into a hidden temporary folder in DIR,
/// checked again, and only then renamed into place (an atomic rename on the same
/// file system). On any failure, or on Ctrl-C, the temporary files are removed.
struct DataFetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download, verify and unpack a dataset (cifar100).",
        discussion: """
        The default source is \(Self.officialURL) with the MD5 checksum \(Self.officialChecksum), \
        the value the CIFAR page (https://www.cs.toronto.edu/~kriz/cifar.html) publishes for the binary \
        version. It was taken from copies of that page and from independent CIFAR loaders, not from the \
        page itself (the workbench was written without internet access). Override with --url / --checksum \
        or CIL_CIFAR100_URL / CIL_CIFAR100_CHECKSUM (for a mirror, or a local server in tests).
        """
    )

    static let officialURL = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
    static let officialChecksum = "md5:03b5dce01913d631647c71ecec9e9cb8"

    @Argument(help: "The dataset to fetch: cifar100.")
    var dataset: String

    @Option(help: "Directory that receives cifar-100-binary/ (default: $CIL_DATA, else ./data).")
    var to: String?

    @Option(help: "Archive URL (default: the official one, or $CIL_CIFAR100_URL).")
    var url: String?

    @Option(help: "Expected checksum, md5:<hex> or sha256:<hex> (default: the official MD5, or $CIL_CIFAR100_CHECKSUM).")
    var checksum: String?

    @Flag(help: "Replace an existing cifar-100-binary/ folder.")
    var force = false

    @Flag(name: .customLong("keep-archive"), help: "Keep the verified archive as DIR/cifar-100-binary.tar.gz.")
    var keepArchive = false

    func validate() throws {
        guard dataset == "cifar100" else {
            throw ValidationError("cannot fetch '\(dataset)': only cifar100 can be downloaded (imagefolder data must be prepared by hand; synthetic data is generated)")
        }
        if let text = checksumText, Checksum(text) == nil {
            throw ValidationError("checksum '\(text)' (from \(checksum != nil ? "--checksum" : "CIL_CIFAR100_CHECKSUM")): expected md5:<32 hex digits> or sha256:<64 hex digits>")
        }
        if let text = urlText {
            guard let u = URL(string: text), let scheme = u.scheme?.lowercased(), ["http", "https"].contains(scheme), u.host != nil else {
                throw ValidationError("URL '\(text)' (from \(url != nil ? "--url" : "CIL_CIFAR100_URL")): expected an http(s):// URL")
            }
        }
    }

    private var environment: [String: String] { ProcessInfo.processInfo.environment }
    private var urlText: String? { url ?? environment["CIL_CIFAR100_URL"] }
    private var checksumText: String? { checksum ?? environment["CIL_CIFAR100_CHECKSUM"] }

    func run() throws {
        let target = ((to ?? environment[DataLocation.environmentVariable] ?? "data") as NSString).expandingTildeInPath
        let source = URL(string: urlText ?? Self.officialURL)!
        let expected = Checksum(checksumText ?? Self.officialChecksum)!
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("--to \(target): cannot create the directory (\(error.localizedDescription))")
        }
        let final = (target as NSString).appendingPathComponent(CIFAR100.folderName)
        if fm.fileExists(atPath: final) && !force {
            let data = try Self.existingData(at: final)
            print("cifar100: already present at \(final) (\(data.train.count) train, \(data.test.count) test images); pass --force to download again")
            return
        }

        let tag = "\(getpid())-\(UInt32.random(in: 0 ... UInt32.max))"
        let archive = (target as NSString).appendingPathComponent(".cifar-100-binary.tar.gz.partial-\(tag)")
        let staging = (target as NSString).appendingPathComponent(".cifar-100-binary.unpacking-\(tag)")
        TemporaryPaths.shared.register(archive)
        TemporaryPaths.shared.register(staging)
        TemporaryPaths.shared.installSignalHandlers()
        defer { TemporaryPaths.shared.removeAll() }

        try Self.download(source, to: archive, expected: expected)
        let (unpacked, data) = try Self.unpack(archive, into: staging, source: source)
        try Self.moveIntoPlace(unpacked, final: final, tag: tag)
        if keepArchive {
            let kept = (target as NSString).appendingPathComponent("cifar-100-binary.tar.gz")
            try? fm.removeItem(atPath: kept)
            try fm.moveItem(atPath: archive, toPath: kept)
        }
        print("cifar100: ready at \(final) (\(data.train.count) train, \(data.test.count) test images)")
    }

    /// The CIFAR-100 folder already at `final`, or an error saying to pass --force.
    static func existingData(at final: String) throws -> ImageDataset {
        do {
            return try CIFAR100.load(directory: final)
        } catch {
            throw FetchError("\(final) exists but is not a valid CIFAR-100 folder (\(error)); pass --force to replace it")
        }
    }

    /// Downloads `source` into `archive` and checks its checksum.
    static func download(_ source: URL, to archive: String, expected: Checksum) throws {
        FileHandle.standardError.write(Data("cil: downloading \(source.absoluteString)\n".utf8))
        let (digest, bytes) = try ArchiveDownload.fetch(source, to: archive, algorithm: expected.algorithm,
                                                        progress: ProgressReporter(label: "cifar-100-binary.tar.gz"))
        guard digest == expected.hex else {
            throw FetchError("checksum mismatch for \(source.absoluteString): expected \(expected), got \(expected.algorithm.rawValue):\(digest) (\(bytes) bytes); nothing was kept")
        }
        FileHandle.standardError.write(Data("cil: \(bytes) bytes, \(expected.algorithm.rawValue) verified; unpacking\n".utf8))
    }

    /// Unpacks `archive` into the new folder `staging`; returns its cifar-100-binary/
    /// folder, once it holds every file and they read as CIFAR-100, and the data.
    static func unpack(_ archive: String, into staging: String, source: URL) throws -> (folder: String, data: ImageDataset) {
        let fm = FileManager.default
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: false)
        try untar(archive, into: staging)
        let unpacked = (staging as NSString).appendingPathComponent(CIFAR100.folderName)
        guard fm.fileExists(atPath: unpacked) else {
            let found = (try? fm.contentsOfDirectory(atPath: staging)) ?? []
            throw FetchError("the archive from \(source.absoluteString) holds no \(CIFAR100.folderName)/ folder (it holds: \(found.isEmpty ? "nothing" : found.joined(separator: ", ")))")
        }
        for name in ["train.bin", "test.bin", "fine_label_names.txt", "coarse_label_names.txt"] {
            let path = (unpacked as NSString).appendingPathComponent(name)
            guard fm.fileExists(atPath: path) else {
                throw FetchError("the archive from \(source.absoluteString) lacks \(CIFAR100.folderName)/\(name)")
            }
        }
        do {
            return (unpacked, try CIFAR100.load(directory: unpacked))
        } catch {
            throw FetchError("the unpacked archive is not valid CIFAR-100 data: \(error)")
        }
    }

    /// `tar -xzf archive -C directory`.
    static func untar(_ archive: String, into directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tar", "-xzf", archive, "-C", directory]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch { throw FetchError("cannot run tar: \(error.localizedDescription)") }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FetchError("tar could not unpack the archive (exit \(process.terminationStatus)): \(String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    /// Renames `unpacked` to `final`; an existing `final` (--force) is moved aside
    /// first and deleted only after the new folder is in place.
    static func moveIntoPlace(_ unpacked: String, final: String, tag: String) throws {
        let fm = FileManager.default
        var aside: String?
        if fm.fileExists(atPath: final) {
            let old = (final as NSString).deletingLastPathComponent + "/.cifar-100-binary.replaced-\(tag)"
            try fm.moveItem(atPath: final, toPath: old)
            aside = old
        }
        do {
            try fm.moveItem(atPath: unpacked, toPath: final)
        } catch {
            if let aside { try? fm.moveItem(atPath: aside, toPath: final) }
            throw FetchError("cannot move the data into \(final): \(error.localizedDescription)")
        }
        if let aside { try? fm.removeItem(atPath: aside) }
    }
}

/// A fetch failure; printed as the command's error.
struct FetchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Temporary files and folders of a fetch, removed on exit, on failure and on
/// SIGINT / SIGTERM.
final class TemporaryPaths: Sendable {
    static let shared = TemporaryPaths()
    private let paths = Mutex<[String]>([])
    private let sources = Mutex<[DispatchSourceSignal]>([])

    func register(_ path: String) { paths.withLock { $0.append(path) } }

    func removeAll() {
        let list = paths.withLock { p -> [String] in defer { p.removeAll() }; return p }
        for p in list { try? FileManager.default.removeItem(atPath: p) }
    }

    /// On SIGINT / SIGTERM: remove the temporary paths, then exit with 128 + signal.
    func installSignalHandlers() {
        sources.withLock { sources in
            guard sources.isEmpty else { return }
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler {
                    TemporaryPaths.shared.removeAll()
                    FileHandle.standardError.write(Data("\ncil: interrupted; temporary files removed\n".utf8))
                    exit(128 + sig)
                }
                source.resume()
                sources.append(source)
            }
        }
    }
}
